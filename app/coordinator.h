// The coordinator: the sequential half of a run, on the calling thread. It takes parsed batches
// from the parse stage, puts them back in input order (sequence numbers), and applies each: the
// event-time gate of its input (app/time_gate.h; a batch that jumps is parsed again here, line
// by line), the counts, the dead letters, the deltas into the window engines (which close
// buckets and run the detectors), the Kafka commit points and the periodic snapshot; then the
// gauges, /readyz's health and the run's warnings.
//
// Applying in input order is what makes results independent of the lane count and batch size.
//
// Threading: one thread (the caller of RunPipeline); it owns the engines, the gates and the
// sinks' front ends.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "app/engine_set.h"
#include "app/kafka_checkpointer.h"
#include "app/parse_lane.h"
#include "app/parse_stage.h"
#include "app/partials_stage.h"
#include "app/pipeline.h"
#include "app/pipeline_inputs.h"
#include "app/pipeline_sinks.h"
#include "app/pipeline_stats.h"
#include "app/run_warnings.h"
#include "app/snapshots.h"
#include "app/time_gate.h"
#include "detect/partial_merger.h"

namespace sitepulse {

class Coordinator {
 public:
  struct Parts {
    const PipelineOptions* options;
    PipelineInputs* inputs;
    EngineSet* engines;
    PipelineSinks* sinks;
    PipelineStats* stats;
    KafkaCheckpointer* checkpointer;  // null without Kafka
    Snapshots* snapshots;
    PipelineHealth* health;
    PartialsStage* partials = nullptr;  // stage 1 of a two-stage run
    // Stage 2 of a two-stage run: the input is partial records (one engine per partials
    // partition: its sites are its own, as on a topic keyed by site).
    bool stage2 = false;
  };
  Coordinator(const Parts& parts, const ParseLane::Options& lane_options,
              const TimeGateOptions& gate_options, int gate_lane_id);

  // The parts made after the coordinator (they read its gates).
  void Attach(KafkaCheckpointer* checkpointer, Snapshots* snapshots) {
    p_.checkpointer = checkpointer;
    p_.snapshots = snapshots;
  }
  // The gates the checkpointer must not commit past.
  const std::map<int, TimeGate>* gates() const { return &gates_; }
  // Applies every batch until each lane has finished.
  void Run(ParseStage& stage);
  // Once the run is over: the last warnings check, and the lines the gates still hold.
  void Finish(RunSummary* summary);

 private:
  void TakeReload();
  void ApplyControl(Batch* b);
  void ApplyData(Batch* b, const ParseStage& stage, bool backlog);
  // Stage 2: a batch of partial records into the merger; its commit point; bad records to the
  // dead-letter sink.
  void ApplyPartials(Batch* b);
  void WriteDeadLetters(const Batch& b, const std::string& source, size_t in);
  void PublishProgress(const ParseStage& stage, bool backlog);
  TimeGate& GateOf(int id);
  void JudgeEventTime(Batch* b, int id, uint64_t line_base);
  void SettleGate(Batch* b);
  void CheckWarnings(bool final_check);

  Parts p_;
  const PipelineOptions& options_;
  KafkaSource* kafka_;
  TimeGateOptions gate_options_;
  // Event time per input (a file, a Kafka partition): most batches need only the check in
  // JudgeEventTime; the others are parsed again here, line by line through the input's gate.
  std::map<int, TimeGate> gates_;
  ParseLane gate_lane_;
  std::vector<uint64_t> lines_before_;  // per input: its lines before the next batch
  uint64_t split_reported_ = 0;
  // Never silent: what makes a run blind or wrong is warned about once, as it shows.
  RunWarnings warnings_;
  RunCounts seen_;  // what only the batches tell (requests, latencies, default-site lines)
  RunWarningContext warning_context_;
  // Stage 2: per partials partition, what reads its records into its engine.
  std::map<int, std::unique_ptr<PartialMerger>> mergers_;
  Gauge* partials_waiting_ = nullptr;
  uint64_t bad_partials_logged_ = 0;
};

}  // namespace sitepulse
