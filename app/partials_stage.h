// Stage 1 of a two-stage run (docs/kafka.md, "Two stages"): the glue between the per-partition
// engines (no detectors), the PartialFolder that turns their closed buckets into partial
// records, and the transactional PartialsProducer.
//
//  - Publish(): after every batch, a watermark record (broadcast to every partials partition)
//    for each owned partition whose published point, idleness or late count moved.
//  - Commit(): the checkpointer's commit. One transaction holds the partials, the watermarks
//    and, for every owned partition, its commit offset with the point before which its buckets
//    are published as the offset's metadata ("sitepulse-partials 1 <ns>").
//  - OnAssigned(): a partition taken over skips the lines of buckets its previous owner
//    published (read again from the commit, they would be counted twice).
// A transaction that cannot commit, or partitions lost without a hand-over, end the process
// (exit status 2): the open transaction is aborted by the broker, and the partitions are read
// again from their commits by the next owner, so nothing is lost and nothing counted twice.
//
// Threading: the coordinator's.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "app/engine_set.h"
#include "core/metrics.h"
#include "detect/partial_folder.h"
#include "ingest/batch.h"
#include "ingest/kafka_source.h"
#include "sinks/partials_producer.h"

namespace sitepulse {

class PartialsStage {
 public:
  PartialsStage(PartialsProducer* producer, KafkaSource* kafka, DurationNs resolution,
                double sketch_alpha, MetricsRegistry* metrics);

  WindowEngineListener* listener() { return &folder_; }

  void OnAssigned(EngineSet* engines, const Batch& b);
  void OnData(const Batch& b);  // the first offset read of a partition
  void OnEnded(int pid) { parts_[pid].ended = true; }
  void OnGone(int pid) { parts_.erase(pid); }
  // Lost without a hand-over: ends the process (see above).
  [[noreturn]] void OnLost(int pid);

  // `now_ns` (steady clock): every watermark is sent again at least every kHeartbeatNs, so a
  // stage-2 engine that starts without state (or from an older offset) hears from idle stage-1
  // partitions too.
  void Publish(const EngineSet& engines, int64_t now_ns);
  static constexpr int64_t kHeartbeatNs = 5'000'000'000;
  void Commit(const EngineSet& engines, const std::vector<std::pair<int, int64_t>>& offsets);

  static std::string Metadata(EventTime published_before);
  // INT64_MIN when absent or not ours.
  static EventTime ParseMetadata(std::string_view metadata);

 private:
  struct Part {
    int64_t offset = -1;  // the offset to commit (the first one read until a commit point)
    EventTime published_before = INT64_MIN;  // at least what the commit it started from said
    EventTime sent = INT64_MIN;              // the watermark last published
    bool sent_idle = false;
    uint64_t late_sent = 0;
    bool ended = false;
    int64_t sent_at_ns = INT64_MIN;
  };
  EventTime PublishedBefore(const EngineSet& engines, int pid, const Part& p) const;
  int PartitionsOf(const std::string& topic);

  PartialsProducer* producer_;
  KafkaSource* kafka_;
  PartialFolder folder_;
  std::map<int, Part> parts_;
  std::map<std::string, int> topic_partitions_;
  int64_t last_now_ns_ = 0;
  Gauge* records_;
  Gauge* bytes_;
  Gauge* transactions_;
};

}  // namespace sitepulse
