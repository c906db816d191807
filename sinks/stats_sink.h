// One JSON line per site per closed bucket: counts and latency quantiles, for dashboards and
// accuracy checks. Fields: site, start, end (RFC 3339 UTC, the bucket is [start, end)), count,
// errors_4xx, errors_5xx, bytes, error_lines, p50, p90, p95, p99, p999 (seconds; null when the
// bucket has no latency samples).
#pragma once

#include <array>
#include <memory>

#include <optional>
#include <string_view>

#include "core/bucket_counters.h"
#include "core/time.h"
#include "sinks/jsonl_writer.h"

namespace sitepulse {

// One closed bucket of one site, as written (the engine's view, with its quantiles read out).
struct BucketStats {
  std::string_view site;
  EventTime start = 0;
  EventTime end = 0;
  const BucketCounters* counters = nullptr;
  // p50, p90, p95, p99, p999 in seconds; none when the bucket has no latency samples.
  std::optional<std::array<double, 5>> quantiles;
};
inline constexpr std::array<double, 5> kStatsQuantiles = {0.5, 0.9, 0.95, 0.99, 0.999};

std::string BucketStatsToJson(const BucketStats& bucket);

class StatsSink {
 public:
  explicit StatsSink(std::unique_ptr<JsonlWriter> writer) : writer_(std::move(writer)) {}
  void Write(const BucketStats& bucket) { writer_->WriteLine(BucketStatsToJson(bucket)); }
  bool Flush() { return writer_->Flush(); }

 private:
  std::unique_ptr<JsonlWriter> writer_;
};

}  // namespace sitepulse
