// The pipeline's own counters and clocks: the metrics every part of a run updates (the
// registry owns them), CPU time per thread role, and the wall and steady clocks.
//
// Threading: the counters and gauges are atomic (core/metrics.h); CpuTally is added to by each
// thread as it finishes.
#pragma once

#include <atomic>
#include <cstdint>

#include "core/anomaly.h"
#include "core/metrics.h"
#include "core/record.h"

namespace sitepulse {

// CPU time of the calling thread, in seconds.
double ThreadCpuSeconds();

// CPU seconds spent by threads of one role, added in as each finishes.
struct CpuTally {
  std::atomic<int64_t> ns{0};
  void Add(double seconds) {
    ns.fetch_add(static_cast<int64_t>(seconds * 1e9), std::memory_order_relaxed);
  }
  double seconds() const { return static_cast<double>(ns.load()) * 1e-9; }
};

// The pipeline's own counters, declared in one block (the registry owns them).
struct PipelineStats {
  explicit PipelineStats(MetricsRegistry* m);
  Counter* AnomalyCounter(const Anomaly& a);
  MetricsRegistry* registry;
  Counter* lines;
  Counter* parsed;
  Counter* rejected[kNumRejectReasons];
  Counter* late;
  Counter* bytes;
  Counter* dead_letters;
  Counter* buckets;
  Counter* batches;
  Gauge* sites;
  Gauge* over_cap;
  Gauge* promoted;
  Gauge* warming;
  Gauge* templates;
  Gauge* templates_over_cap;
  Gauge* split;
  Gauge* watermark;
  Gauge* work_depth;
  Gauge* done_depth;
  Counter* input_errors;
  Counter* bad_bytes;
  Gauge* warnings;
};

// Wall clock (live inputs' skew check) and steady clock (progress, idle partitions), in ns.
int64_t WallNowNs();
int64_t SteadyNowNs();

}  // namespace sitepulse
