// What a Kafka run may commit, and when: the commit points, the hand-over of a partition's state
// on revoke, taking a partition's state over on assign, and idle partitions.
//
// At-least-once (docs/kafka.md): an offset is committed only once every message before it sits
// in a closed, evaluated bucket whose anomalies every sink has delivered, that the last snapshot
// (if any) covers, and that no event-time gate still holds. With a state topic (per-partition
// engines) a revoked partition's whole state, open buckets included, is handed to the next owner
// with the offset after its last applied message.
//
// Also here: KafkaConsumerGauges, the consumer's own numbers (lag, pauses, lost assignments),
// published by the reader thread so that they move while the coordinator is stalled.
//
// Threading: KafkaCheckpointer is the coordinator's; KafkaConsumerGauges::Publish the reader's.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <set>

#include "app/engine_set.h"
#include "app/pipeline.h"
#include "app/pipeline_sinks.h"
#include "app/time_gate.h"
#include "ingest/batch.h"
#include "ingest/kafka_source.h"
#include "ingest/kafka_state_store.h"

namespace sitepulse {

class KafkaConsumerGauges {
 public:
  KafkaConsumerGauges(KafkaSource* kafka, MetricsRegistry* metrics);
  void Publish();  // no-op without a Kafka input

 private:
  KafkaSource* kafka_;
  MetricsRegistry* metrics_;
  Gauge* max_poll_ = nullptr;
  Gauge* lost_ = nullptr;
  Gauge* gaps_ = nullptr;
  Gauge* pauses_ = nullptr;
  Gauge* paused_ = nullptr;
};

class KafkaCheckpointer {
 public:
  // `gates`: the coordinator's event-time gate per partition (nothing is committed past a line
  // one still holds). All pointers outlive this.
  KafkaCheckpointer(const PipelineOptions& options, KafkaSource* kafka, KafkaStateStore* store,
                    EngineSet* engines, PipelineSinks* sinks, const std::map<int, TimeGate>* gates);

  // Control batches from the source.
  void OnAssigned(const Batch& b);
  void OnEof(int pid) { at_end_[pid] = true; }
  // A partition revoked (with a state topic: its state handed over) or lost; its engine and
  // everything known of its offsets are dropped.
  // `keep_engine`: the partition stays open in the shared engine (it is about to be rolled
  // back to a snapshot, see Snapshots::OnPartitionGone).
  void OnRevoked(int pid, bool keep_engine = false);
  void OnLost(int pid, bool keep_engine = false);
  // After any batch: idle partitions, and a commit about once a second.
  void Tick();
  // A data batch of `b->partition` was applied: its commit points wait for their buckets.
  void OnApplied(const Batch& b) { OnApplied(b, true); }
  // `events`: the batch carried input with an event time. One that did not (every line
  // rejected) neither wakes an idle partition nor keeps a quiet one from becoming idle: a
  // partition that speaks only garbage must not hold the watermark of every other one.
  void OnApplied(const Batch& b, bool events);

  // Commits what may be committed (see the header comment); `sync` waits for the sinks and the
  // broker (the final commit and hand-overs), else only looks.
  void Commit(bool sync);
  // State topic: one snapshot per owned partition (closed buckets only) with the offset up to
  // which every line sits in them. False when one could not be written.
  bool SavePartitionStates();
  // State file (shared engine): what the last snapshot covers bounds the commits.
  void SetSharedSnapshotBound(EventTime closed_before) { snapshot_closed_before_ = closed_before; }
  bool cooperative() const { return kafka_->cooperative(); }
  // Commits go here instead of to the consumer (stage 1 of a two-stage run: in a transaction).
  using Committer = std::function<void(const std::vector<std::pair<int, int64_t>>& offsets, bool sync)>;
  void SetCommitter(Committer c) { committer_ = std::move(c); }
  // Partition snapshots with their open buckets, up to the last message applied (stage 2 of a
  // two-stage run: the stage-1 watermarks it keeps are those of that offset, so a restore never
  // closes a bucket whose records it has yet to read again).
  void SnapshotOpenBuckets() { snapshot_open_ = true; }

 private:
  struct PendingOffset {
    int64_t next_offset;
    EventTime max_bucket;  // newest bucket the events up to next_offset went into
  };
  int64_t CommitLimit(int pid) const;
  void TakeOver(const Batch& b);
  void HandOver(int pid);
  void Forget(int pid, bool keep_engine);
  void CheckIdle();
  void MaybeCommit();

  const PipelineOptions& options_;
  KafkaSource* kafka_;
  KafkaStateStore* store_;
  EngineSet* engines_;
  PipelineSinks* sinks_;
  const std::map<int, TimeGate>* gates_;
  Counter* state_errors_;
  Gauge* commits_;
  Gauge* commit_errors_;

  // The partitions this consumer owns now.
  std::set<int> owned_;
  // What the last snapshot covers: of the shared engine (state file), of each partition's engine
  // (state topic).
  EventTime snapshot_closed_before_ = INT64_MAX;
  std::map<int, EventTime> snapshot_bound_;
  // The offsets waiting for their buckets to close before they may be committed.
  std::map<int, std::deque<PendingOffset>> uncommitted_;
  // Per partition: the offset after the last message applied, and the newest offset before which
  // every message sits in a closed bucket (committed, or covered by a loaded state).
  std::map<int, int64_t> applied_offset_, closed_offset_;
  std::map<int, int64_t> last_input_ns_;  // when it last delivered messages (steady clock)
  std::map<int, bool> idle_;
  std::map<int, bool> at_end_;  // read to its end, nothing since: may become idle
  std::chrono::steady_clock::time_point last_commit_ = std::chrono::steady_clock::now();
  Committer committer_;
  bool snapshot_open_ = false;
};

}  // namespace sitepulse
