// Where anomaly events go: the interface every sink kind implements. The kinds (stdout and
// files, Kafka topics, Alertmanager, webhooks) are listed in sinks/sink_registry.h, which turns
// an output URI into one of them.
#pragma once

#include <string>

#include "core/anomaly.h"

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

}  // namespace sitepulse
