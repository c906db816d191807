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

namespace sitepulse {

class AnomalySink {
 public:
  virtual ~AnomalySink() = default;
  virtual void Publish(const Anomaly& anomaly) = 0;
  // Blocks until every published event is acknowledged or failed; false if any failed.
  virtual bool Flush() = 0;
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
absl::StatusOr<std::unique_ptr<AnomalySink>> MakeAnomalySink(const OutputSpec& spec,
                                                             MetricsRegistry* metrics);

}  // namespace sitepulse
