// Anomaly events as JSON lines on stdout or in a file (sinks/jsonl_writer.h). Each event is
// flushed as it is published: a consumer on the other end of a pipe (`sitepulse run | sitepulse
// heal`, `tail -f`) sees it at once, not when a buffer fills or the run ends. Events are rare
// (one per alert transition), so this costs a write per event.
#pragma once

#include <memory>
#include <string>

#include "sinks/anomaly_sink.h"
#include "sinks/jsonl_writer.h"

namespace sitepulse {

class JsonlAnomalySink : public AnomalySink {
 public:
  explicit JsonlAnomalySink(std::unique_ptr<JsonlWriter> writer) : writer_(std::move(writer)) {}
  void Publish(const Anomaly& anomaly) override {
    writer_->WriteLine(AnomalyToJson(anomaly));
    writer_->Flush();
  }
  bool Flush() override { return writer_->Flush(); }
  std::string name() const override { return writer_->name(); }

 private:
  std::unique_ptr<JsonlWriter> writer_;
};

}  // namespace sitepulse
