// The pipeline of one run: a reader thread cuts inputs into batches, N parse lanes fold them into
// bucket deltas, and the coordinator (the calling thread) applies the deltas to the window engine
// in input order, writes rejects to the dead-letter sink and anomalies to the outputs. Batches
// come from a fixed pool: a slow stage blocks the ones before it, nothing is dropped.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "app/parse_lane.h"
#include "core/record.h"
#include "core/metrics.h"
#include "core/uri.h"
#include "detect/window_engine.h"
#include "ingest/format.h"
#include "sinks/output_spec.h"

namespace sitepulse {

// Live reload (app/config_reload.h): detectors another thread accepted, which the coordinator
// takes before it applies its next batch (so every line is judged by exactly one configuration).
class DetectorReloads {
 public:
  virtual ~DetectorReloads() = default;
  // The newest accepted detectors not applied yet; false when there are none (cheap).
  virtual bool Take(std::vector<DetectorSpec>* detectors,
                    absl::flat_hash_map<std::string, std::vector<DetectorSpec>>* site_detectors) = 0;
};

struct PipelineInput {
  Uri uri;
  FormatSpec format;
  // Stage 2 of a two-stage run (?kind=partials): the records of stage 1, not log lines.
  bool partials = false;
};

// What /readyz reads. Written by the pipeline, read by the HTTP endpoint's threads.
struct PipelineHealth {
  std::atomic<bool> inputs_open{false};
  std::atomic<bool> finished{false};
  std::atomic<int64_t> last_progress_ns{0};  // steady clock, when the coordinator last applied a batch
  std::atomic<bool> backlog{false};          // batches waiting for the coordinator
  std::atomic<bool> sinks_healthy{true};
};

struct PipelineOptions {
  std::vector<PipelineInput> inputs;
  std::vector<OutputSpec> outputs;
  std::optional<Uri> stats;
  std::optional<Uri> dlq;
  // Stage 1 of a two-stage run (docs/kafka.md, "Two stages"): no detectors; every closed
  // bucket goes to this topic as a partial record, in Kafka transactions with the input offsets.
  std::optional<Uri> partials;
  int threads = 1;  // parse lanes
  // Who reads file and stdin inputs: a reader thread hands batches to the lanes, or each lane
  // reads its next batch itself (in turn, under a lock). By default the lanes read when there
  // is no core to spare for a reader (as many lanes as cores). Kafka always has a reader thread.
  enum class Reader { kAuto, kThread, kLanes };
  Reader reader = Reader::kAuto;
  size_t batch_bytes = 1 << 20;
  size_t max_line_bytes = 1 << 20;
  // Event time (TimeGate, docs/formats.md): a line more than max_jump ahead of its input is
  // held until confirm_lines more lines confirm the jump; live inputs reject lines more than
  // max_clock_skew ahead of the wall clock.
  DurationNs max_jump = 3600 * kNanosPerSecond;
  uint32_t confirm_lines = 16;
  DurationNs max_clock_skew = 300 * kNanosPerSecond;
  WindowEngineOptions engine;
  // Per-site gauges (p99, error rate, request rate of the last closed bucket) for at most this
  // many sites; 0 turns them off.
  size_t site_gauges = 0;
  // Kafka inputs: librdkafka properties passed through, and whether to stop at the end offsets
  // seen at start (a backfill).
  std::vector<std::pair<std::string, std::string>> kafka_properties;
  bool exit_at_end = false;
  // A Kafka partition without messages for this long (wall clock) stops holding the watermark.
  DurationNs idle_timeout = 30 * kNanosPerSecond;
  // Snapshots of windows, alerts and learned baselines (docs/detectors.md): restored at start
  // when the file exists, written every state_interval and at the end. With a state file the
  // end of a file input is a pause, not an end: open buckets are kept for the next run.
  std::string state_file;
  // Kafka inputs: snapshots per partition in this compacted topic instead (on the input's
  // brokers), loaded when a partition is assigned and written when it is revoked, so a
  // rebalance hands a partition's sites to the next owner.
  std::string state_topic;
  // Kafka inputs without a state file or topic keep the shared engine's snapshots in this
  // compacted topic by default (docs/kafka.md "Crash-safe by default"), keyed
  // GROUP/engine:TOPICS; `--state none` (state_none) opts out.
  std::string default_state_topic = "sitepulse-state";
  bool state_none = false;
  DurationNs state_interval = 60 * kNanosPerSecond;
  // Latency detectors are configured: a run where no line has a latency is warned about.
  bool needs_latency = false;
  // The error-log detectors (names, "" when none): a run without an error-log input is warned
  // about.
  std::string error_log_detectors;
  // Called once every input and sink is open, before any work: the CLI binds --listen here, so
  // a run that cannot start never holds the port.
  std::function<absl::Status()> on_opened;
  DetectorReloads* reloads = nullptr;  // optional: `run --config` takes reloads
  // `replay --compare` in one pass: engine.compare_detectors' events go here (coordinator
  // thread), not to the outputs.
  AnomalyListener* compare_listener = nullptr;
  // Every closed site-bucket, as the stats sink sees it (coordinator thread): replay keeps the
  // series it charts this way instead of writing and reading back a stats file.
  std::function<void(const ClosedBucketView&)> on_bucket;
  MetricsRegistry* metrics = nullptr;  // required
  PipelineHealth* health = nullptr;    // optional
};

// The run's counters, read from the metrics registry at the end; the exit summary prints them.
// lines == parsed + rejected + held, always; held is 0 but for a Kafka run stopped while an
// event-time gate held lines (their offsets are not committed: a restart reads them again).
struct RunSummary {
  uint64_t lines = 0;
  uint64_t parsed = 0;
  uint64_t rejected = 0;
  uint64_t rejected_by_reason[kNumRejectReasons] = {};
  uint64_t late = 0;
  uint64_t held = 0;  // lines an event-time gate still held at the end (Kafka only)
  uint64_t anomalies = 0;
  uint64_t firing = 0;
  uint64_t resolved = 0;
  uint64_t sites = 0;
  uint64_t sites_over_cap = 0;   // distinct names folded into __other__ (estimate)
  uint64_t sites_promoted = 0;   // names past the cap that earned a place by their traffic
  uint64_t baselines_warming = 0;  // learned baselines without a verdict yet (warming up)
  uint64_t error_templates = 0;    // new_error_template: templates known, over all sites
  uint64_t error_templates_over_cap = 0;  // new templates not tracked (max_templates reached)
  uint64_t buckets = 0;
  uint64_t bytes = 0;
  uint64_t dead_letters = 0;
  uint64_t sink_errors = 0;          // sinks that could not deliver everything
  uint64_t events_undelivered = 0;   // anomaly events failed or dropped by HTTP sinks
  uint64_t sink_retries = 0;
  uint64_t input_errors = 0;
  int threads = 0;
  bool lanes_read = false;  // the lanes read file inputs themselves (no reader thread)
  // CPU time by role: parse lanes (with their reading when lanes_read), the reader thread, and
  // the coordinator (the calling thread: windows, detectors, sinks).
  double cpu_seconds_lanes = 0;
  double cpu_seconds_reader = 0;
  double cpu_seconds_coordinator = 0;
  double seconds = 0;
  uint64_t bad_bytes_fields = 0;  // requests kept without an unusable bytes value
  // (code, sentence) of each warning raised (app/run_warnings.h).
  std::vector<std::pair<std::string, std::string>> warnings;

  std::string ToJson() const;
};

// What the parse lanes need to know (resolution, limits, event time, whether and from which
// level to extract error templates).
ParseLane::Options LaneOptions(const PipelineOptions& options);
// Stage 2 of a two-stage run: the input is partial records (?kind=partials).
bool ReadsPartials(const PipelineOptions& options);

// Runs to the end of every input (or until *stop becomes true), closes every bucket, flushes
// the sinks. Errors: inputs or outputs that cannot be opened.
absl::StatusOr<RunSummary> RunPipeline(const PipelineOptions& options, std::atomic<bool>* stop);

}  // namespace sitepulse
