// Anomaly events to a Kafka topic: keyed by site, idempotent producer, delivered = a successful
// delivery report.
#pragma once

#include <memory>
#include <string>

#include "sinks/anomaly_sink.h"
#include "sinks/kafka_producer.h"

namespace sitepulse {

class KafkaAnomalySink : public AnomalySink {
 public:
  explicit KafkaAnomalySink(std::unique_ptr<KafkaProducer> producer, DurationNs flush_deadline)
      : producer_(std::move(producer)), flush_deadline_(flush_deadline) {}
  void Publish(const Anomaly& a) override { producer_->Produce(a.site, AnomalyToJson(a)); }
  bool Flush() override { return producer_->Flush(flush_deadline_); }
  bool Drained() override { return producer_->Flush(0); }
  std::string name() const override { return "kafka:" + producer_->topic(); }

 private:
  std::unique_ptr<KafkaProducer> producer_;
  DurationNs flush_deadline_;
};

}  // namespace sitepulse
