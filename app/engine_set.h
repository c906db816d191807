// The window engines of one run, and the map from parse lanes' site ids to theirs.
//
// Shared mode: one engine; every input (a file, a Kafka partition) is one of its partitions and
// the watermark is the minimum over them. Sites may arrive on any input (files, Kafka topics not
// keyed by site).
//
// Per-partition mode (Kafka topics keyed by site, with a state topic): one engine per Kafka
// partition, each with its own event time, like a Kafka Streams task. A partition's engine is
// its whole state: it is saved when the partition is revoked and loaded by the partition's next
// owner, which continues exactly where the previous one stopped, whatever event time its own
// other partitions are at. A site seen on two partitions (a producer that does not key by site)
// is counted in split_sites() and kept apart per partition.
//
// Threading: the pipeline's coordinator only.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "detect/window_engine.h"

namespace sitepulse {

class EngineSet {
 public:
  enum class Mode { kShared, kPerPartition };
  EngineSet(WindowEngineOptions options, WindowEngineListener* listener, Mode mode, int lanes,
            AnomalyListener* compare_listener = nullptr);

  Mode mode() const { return mode_; }
  // Input `id` (a file input's index, a Kafka partition id) starts, or starts again.
  void Open(int id);
  bool IsOpen(int id) const { return partition_of_.count(id) > 0; }
  // Lane `lane` assigned ids to `new_sites` (in id order) while folding `delta`, a batch of `id`.
  // `overflow_names`: names of lane site ids kOverflowSite | i (the lane's table was full).
  void Apply(int id, int lane, const std::vector<std::string>& new_sites, const BucketDelta& delta,
             const std::vector<std::string>& overflow_names = {});
  // Only the names part of Apply: a batch the coordinator parses again (TimeGate) drops the
  // lane's delta, but the lane keeps the ids it gave these names.
  void RegisterSites(int id, int lane, const std::vector<std::string>& new_sites);
  // The newest event time input `id` delivered to its engine (INT64_MIN: none).
  EventTime max_time(int id) const;
  void End(int id);
  void SetIdle(int id, bool idle);
  // Every bucket of `id`'s engine starting before this is closed (INT64_MIN: none yet).
  EventTime closed_before(int id) const;
  bool idle(int id) const;  // judged idle (SetIdle)
  const WindowEngine& engine(int id) const;
  WindowEngine& mutable_engine(int id) { return *SlotOf(id).engine; }
  // Two-stage runs, stage 1: WindowEngine::SkipPublishedBefore for `id`'s engine.
  void SkipPublishedBefore(int id, EventTime before);

  // Per-partition mode: the partition's engine as a snapshot (WindowEngine::SaveState), and its
  // replacement by one (a fresh engine that LoadState fills); Drop forgets the partition.
  std::string Save(int id, bool include_open) const;
  absl::Status Load(int id, std::string_view state);
  void Drop(int id);

  // A configuration reload: every engine's detectors (WindowEngine::Reconfigure), and those of
  // engines made later.
  void Reconfigure(const std::vector<DetectorSpec>& detectors,
                   const absl::flat_hash_map<std::string, std::vector<DetectorSpec>>& site_detectors);
  const WindowEngineOptions& options() const { return options_; }

  // Shared mode: the engine (file snapshots), and a fresh one in its place (a snapshot that
  // failed to load half-way). Before any input opened.
  WindowEngine& shared() { return *shared_.engine; }
  void ResetShared();

  uint64_t late_events() const;
  uint64_t baselines_warming() const;
  uint64_t sites_over_cap() const;
  uint64_t sites_promoted() const;
  uint64_t error_templates() const;
  uint64_t error_templates_over_cap() const;
  size_t site_count() const;
  EventTime watermark() const;  // the oldest engine's
  uint64_t split_sites() const { return split_sites_; }
  // Sites of one engine (per-partition mode), for log lines.
  size_t site_count(int id) const;

 private:
  // An engine and, per lane, lane site id -> engine site id (UINT32_MAX: not interned yet).
  struct Slot {
    std::unique_ptr<WindowEngine> engine;
    std::vector<std::vector<uint32_t>> site_of_lane;
    std::vector<std::vector<uint32_t>> generation_of_lane;  // the engine site's, when looked up
  };
  // The total of one engine counter over every engine.
  template <typename Count>
  Count Sum(Count (WindowEngine::*count)() const) const;
  Slot& SlotOf(int id);
  const Slot& SlotOf(int id) const;
  Slot NewSlot() const;

  WindowEngineOptions options_;
  WindowEngineListener* listener_;
  AnomalyListener* compare_listener_;
  Mode mode_;
  std::vector<std::vector<std::string>> lane_names_;  // every name a lane gave an id, by id
  Slot shared_;                       // shared mode
  std::map<int, Slot> slots_;         // per-partition mode
  std::map<int, int> partition_of_;   // input id -> partition in its engine
  std::map<int, bool> idle_;          // per-partition mode: inputs judged idle
  EventTime newest_ = INT64_MIN;      // per-partition mode: newest event time applied
  absl::flat_hash_map<std::string, int> home_;  // per-partition mode: site -> its partition
  uint64_t split_sites_ = 0;
  uint64_t dropped_late_ = 0;  // late events of engines dropped, so the total never goes back
};

}  // namespace sitepulse
