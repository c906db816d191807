// The outputs of one run: the anomaly sinks (fanned out from the engine's listener), the stats
// sink (a row per closed site-bucket), per-site gauges, and the dead-letter sink. Opened before
// any work, so a bad output fails the run before it reads a line.
//
// Threading: the coordinator only (the sinks' own delivery threads are theirs).
#pragma once

#include <array>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "app/pipeline.h"
#include "app/pipeline_stats.h"
#include "sinks/anomaly_sink.h"
#include "sinks/dead_letter_sink.h"
#include "sinks/stats_sink.h"

namespace sitepulse {

// Receives what the engine produces and hands it to the sinks; counts on the way.
class SinkFanout : public WindowEngineListener {
 public:
  void OnBucketClosed(const ClosedBucketView& bucket) override;
  void OnAnomaly(const Anomaly& anomaly) override;
  bool SinksHealthy() const;

  std::vector<std::unique_ptr<AnomalySink>> outputs;
  std::unique_ptr<StatsSink> stats;
  PipelineStats* stats_counter = nullptr;
  size_t site_gauges_max = 0;
  std::function<void(const ClosedBucketView&)> on_bucket;  // optional

 private:
  void UpdateSiteGauges(const ClosedBucketView& b);
  std::map<std::string, std::array<Gauge*, 3>> site_gauges_;
};

struct PipelineSinks {
  static absl::StatusOr<std::unique_ptr<PipelineSinks>> Open(const PipelineOptions& options,
                                                             PipelineStats* stats);
  // Every anomaly and dead letter handed over so far has been delivered; with `wait`, after
  // waiting for the sinks (Flush), else only looking (Drained). Stops at the first that has not.
  bool Delivered(bool wait);
  // Waits until the anomaly sinks and the dead-letter sink delivered what they hold (or gave
  // up); false when one could not.
  bool FlushDelivery();

  SinkFanout fanout;
  std::unique_ptr<DeadLetterSink> dlq;  // null: no dead-letter sink configured
};

}  // namespace sitepulse
