// Snapshots of a run's state (windows, alerts, learned baselines; docs/detectors.md): restored
// from the state file at start, written every state_interval and at the end. A state file is
// written next to its final name and renamed over it: never half a file. With a state topic
// (Kafka, per-partition engines) the checkpointer writes one value per partition instead.
//
// Kafka: offsets are committed only up to what the last written snapshot covers (closed
// buckets), so a restart from the snapshot and the committed offsets neither loses nor counts
// twice: replayed events of closed buckets are late and dropped, the others refill the open
// buckets, which the snapshot leaves out.
//
// Kafka without --state (docs/kafka.md "Crash-safe by default"): the same snapshots as a state
// file, kept in a compacted topic under GROUP/engine:TOPICS, while this consumer owns every
// partition it reads.
//
// Threading: the coordinator only.
#pragma once

#include <chrono>
#include <string>

#include "absl/status/status.h"
#include "app/engine_set.h"
#include "app/kafka_checkpointer.h"
#include "app/pipeline.h"
#include "app/pipeline_sinks.h"

namespace sitepulse {

class Snapshots {
 public:
  // `checkpointer`: null without a Kafka input. `engine_store`: Kafka's default state (the
  // shared engine's snapshots under `engine_key`), null otherwise.
  Snapshots(const PipelineOptions& options, EngineSet* engines, PipelineSinks* sinks,
            KafkaCheckpointer* checkpointer, bool state_topic,
            KafkaStateStore* engine_store = nullptr, std::string engine_key = "");

  // Loads the state file if there is one (a missing file is a first start). Kafka's default
  // state waits for the first assignment: nothing is committed until then.
  absl::Status Restore();
  // Kafka's default state, on every assignment (before its partitions open). The first one
  // restores the snapshot if this consumer owns every partition; the state is kept only while
  // it does (a snapshot of one member's sites is no use to another), else it is warned about
  // and the run goes on without (commits as without state).
  void OnAssigned(bool owns_every_partition);
  // A Kafka partition was revoked or lost. With the shared engine and snapshots (state file or
  // the default state), the next assignment rolls the engine back to the last snapshot: the
  // partitions are read again from their commits, which that snapshot bounds. True then (the
  // partition must not be ended in the engine meanwhile).
  bool OnPartitionGone();
  // Writes a snapshot now; false when it could not be written. With Kafka it waits (returns
  // true, writing nothing) until the sinks delivered what the snapshot would call evaluated.
  bool Save();
  // Save() when state_interval has passed since the last one; false when that failed.
  bool SaveIfDue();

 private:
  bool SaveFile();
  absl::Status LoadFile();
  void RollBack();
  bool SaveToKafka();
  void RestoreFromKafka();
  void StopKeepingKafkaState(const char* why);
  bool keeps_state() const {
    return !options_.state_file.empty() || state_topic_ || engine_state_on_;
  }

  const PipelineOptions& options_;
  EngineSet* engines_;
  PipelineSinks* sinks_;
  KafkaCheckpointer* checkpointer_;
  bool state_topic_;
  KafkaStateStore* engine_store_;
  std::string engine_key_;
  bool engine_state_decided_ = false;  // the first assignment came
  bool engine_state_on_ = false;       // snapshots are being kept in engine_store_
  bool rollback_pending_ = false;      // partitions went: roll back at the next assignment
  Counter* state_errors_ = nullptr;
  std::chrono::steady_clock::time_point last_save_ = std::chrono::steady_clock::now();
};

}  // namespace sitepulse
