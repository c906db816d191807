// Where anomaly events go. The file/stdout sink writes each event as one JSON line; other sink
// kinds (Kafka, Alertmanager, webhooks) implement the same interface.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "core/anomaly.h"
#include "core/uri.h"
#include "sinks/jsonl_writer.h"

namespace sitepulse {

class AnomalySink {
 public:
  virtual ~AnomalySink() = default;
  virtual void Publish(const Anomaly& anomaly) = 0;
  // Blocks until every published event is acknowledged or failed; false if any failed.
  virtual bool Flush() = 0;
  virtual std::string name() const = 0;
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

absl::StatusOr<std::unique_ptr<AnomalySink>> MakeAnomalySink(const Uri& uri);

}  // namespace sitepulse
