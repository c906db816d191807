// One JSON line per site per closed bucket: counts and latency quantiles, for dashboards and
// accuracy checks. Fields: site, start, end (RFC 3339 UTC, the bucket is [start, end)), count,
// errors_4xx, errors_5xx, bytes, error_lines, p50, p90, p95, p99, p999 (seconds; null when the
// bucket has no latency samples).
#pragma once

#include <memory>

#include "detect/window_engine.h"
#include "sinks/jsonl_writer.h"

namespace sitepulse {

std::string BucketStatsToJson(const ClosedBucketView& bucket);

class StatsSink {
 public:
  explicit StatsSink(std::unique_ptr<JsonlWriter> writer) : writer_(std::move(writer)) {}
  void Write(const ClosedBucketView& bucket) { writer_->WriteLine(BucketStatsToJson(bucket)); }
  bool Flush() { return writer_->Flush(); }

 private:
  std::unique_ptr<JsonlWriter> writer_;
};

}  // namespace sitepulse
