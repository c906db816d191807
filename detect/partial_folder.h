// Stage 1 of a two-stage run (docs/kafka.md, "Two stages"): a window engine without detectors
// folds the lines of one input partition into buckets; this listener turns every bucket it
// closes into a partial record (core/partial_record.h) for stage 2, keyed by site. The
// watermark record that follows a close (Watermark) tells stage 2 how far the partition has got.
//
// Threading: the owning engine's (the coordinator thread).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/partial_record.h"
#include "detect/window_engine.h"

namespace sitepulse {

class PartialFolder : public WindowEngineListener {
 public:
  // `emit(site, record)` receives each encoded bucket record, in close order.
  using Emit = std::function<void(std::string_view site, std::string record)>;
  PartialFolder(DurationNs resolution, double sketch_alpha, Emit emit);

  void OnAnomaly(const Anomaly&) override {}  // stage 1 runs no detectors
  void OnBucketClosed(const ClosedBucketView& bucket) override;

  // How far `engine`'s partition is published: every bucket it closed has been emitted, and
  // before `resumed_from` a previous owner published them (its commit said so); INT64_MAX once
  // the partition `ended` (no more input: every bucket was closed and emitted).
  static EventTime PublishedBefore(const WindowEngine& engine, EventTime resumed_from, bool ended);
  // The watermark record of a partition (topic, partition of `partitions`) published up to
  // `published_before`; `late` is how many lines it judged late since its previous record.
  static PartialWatermark Watermark(std::string topic, int partition, int partitions,
                                    EventTime published_before, bool idle, uint64_t late);

  uint64_t records() const { return records_; }
  uint64_t bytes() const { return bytes_; }

 private:
  DurationNs resolution_;
  double sketch_alpha_;
  Emit emit_;
  PartialBucket scratch_;
  uint64_t records_ = 0, bytes_ = 0;
};

}  // namespace sitepulse
