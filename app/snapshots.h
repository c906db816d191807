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
// Threading: the coordinator only.
#pragma once

#include <chrono>

#include "absl/status/status.h"
#include "app/engine_set.h"
#include "app/kafka_checkpointer.h"
#include "app/pipeline.h"
#include "app/pipeline_sinks.h"

namespace sitepulse {

class Snapshots {
 public:
  // `checkpointer`: null without a Kafka input.
  Snapshots(const PipelineOptions& options, EngineSet* engines, PipelineSinks* sinks,
            KafkaCheckpointer* checkpointer, bool state_topic);

  // Loads the state file if there is one (a missing file is a first start).
  absl::Status Restore();
  // Writes a snapshot now; false when it could not be written. With Kafka it waits (returns
  // true, writing nothing) until the sinks delivered what the snapshot would call evaluated.
  bool Save();
  // Save() when state_interval has passed since the last one; false when that failed.
  bool SaveIfDue();

 private:
  bool SaveFile();

  const PipelineOptions& options_;
  EngineSet* engines_;
  PipelineSinks* sinks_;
  KafkaCheckpointer* checkpointer_;
  bool state_topic_;
  std::chrono::steady_clock::time_point last_save_ = std::chrono::steady_clock::now();
};

}  // namespace sitepulse
