// Stage 2 of a two-stage run (docs/kafka.md, "Two stages"): reads partial records
// (core/partial_record.h) into a window engine that runs the detectors. Stage 1 broadcasts each
// watermark record to every partials partition, after the bucket records it covers; so, as a
// Flink operator takes the minimum over its input channels, a stage-1 partition has got as far
// as its watermark in the partials partition that lags most. Each (partials partition read,
// stage-1 topic, stage-1 partition) is one engine partition, registered (with every other
// partition of that topic) on the first watermark record naming the topic; one not heard from
// yet holds every bucket open, as a silent input does in a single run. The engine runs with
// lateness 0: a bucket closes once every one of them has passed it.
//
// Threading: the owning engine's (the coordinator thread).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "detect/window_engine.h"

namespace sitepulse {

class PartialMerger {
 public:
  explicit PartialMerger(WindowEngine* engine) : engine_(engine) {}

  // After the engine was loaded from a snapshot: takes back the engine partitions this merger's
  // kind registered (keyed "partials SOURCE TOPIC PARTITIONS PARTITION" and "placeholder
  // SOURCE"), so each stage-1 partition goes on from the watermark the snapshot kept (records
  // before the snapshot's offset are not read again).
  void Adopt();

  // A partials partition this instance reads: until its first watermark record it holds every
  // bucket open (the records it has not delivered yet may be for any of them).
  void AddSource(int source);

  // One record, read from partials partition `source` (added first). `count_late`: add the late lines a
  // watermark record carries (every partials partition carries every watermark; exactly one
  // should count them: partition 0). An error names what is wrong with the record (nothing of
  // it was applied).
  // `bucket_start` (optional): set to a bucket record's start (INT64_MIN for a watermark).
  absl::Status Apply(int source, std::string_view record, bool count_late,
                     EventTime* bucket_start = nullptr);
  // A partials partition no longer read (revoked): it stops holding buckets open.
  void RemoveSource(int source);

  // Stage-1 partitions known (registered through their topics' watermark records).
  size_t partitions() const { return partitions_.size(); }
  // What holds every bucket open: sources without a watermark yet, and stage-1 partitions
  // registered but not heard from (neither a watermark nor idle).
  size_t waiting() const;
  uint64_t buckets() const { return buckets_; }
  uint64_t watermarks() const { return watermarks_; }

 private:
  WindowEngine* engine_;
  // (source, topic, stage-1 partition) -> engine partition; and how many partitions each
  // (source, topic) has registered.
  absl::flat_hash_map<std::tuple<int, std::string, int32_t>, int> partitions_;
  absl::flat_hash_map<std::pair<int, std::string>, int32_t> topics_;
  // Per source: the engine partition that holds the close until its first watermark record.
  absl::flat_hash_map<int, int> placeholders_;
  uint64_t buckets_ = 0, watermarks_ = 0;
};

}  // namespace sitepulse
