// Where anomaly events go. The file/stdout sink writes each event as one JSON line; other sink
// kinds (Kafka, Alertmanager, webhooks) implement the same interface.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "core/anomaly.h"
#include "core/metrics.h"
#include "core/uri.h"
#include "sinks/output_spec.h"
#include "sinks/jsonl_writer.h"
#include "sinks/kafka_producer.h"

namespace sitepulse {

class AnomalySink {
 public:
  virtual ~AnomalySink() = default;
  virtual void Publish(const Anomaly& anomaly) = 0;
  // Blocks until every published event is acknowledged or failed; false if any failed.
  virtual bool Flush() = 0;
  // Like Flush, without waiting: true if everything published so far is already delivered. The
  // Kafka source's periodic commits ask this, so a slow sink holds commits back without
  // stalling consumption.
  virtual bool Drained() { return Flush(); }
  virtual std::string name() const = 0;
  // False while deliveries are failing (readiness reports it).
  virtual bool healthy() const { return true; }
};

class JsonlAnomalySink : public AnomalySink {
 public:
  explicit JsonlAnomalySink(std::unique_ptr<JsonlWriter> writer) : writer_(std::move(writer)) {}
  void Publish(const Anomaly& anomaly) override { writer_->WriteLine(AnomalyToJson(anomaly)); }
  bool Flush() override { return writer_->Flush(); }
  std::string name() const override { return writer_->name(); }

 private:
  std::unique_ptr<JsonlWriter> writer_;
};

// stdout, file:PATH, alertmanager+http(s)://HOST:PORT, webhook+http(s)://HOST:PORT/PATH.
// Anomaly events to a Kafka topic: keyed by site, idempotent producer, delivered = a successful
// delivery report.
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

// stdout, file:PATH, kafka://HOST:PORT/TOPIC,
absl::StatusOr<std::unique_ptr<AnomalySink>> MakeAnomalySink(const OutputSpec& spec,
                                                             MetricsRegistry* metrics);

}  // namespace sitepulse
