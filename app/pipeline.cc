#include "app/pipeline.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "app/coordinator.h"
#include "app/engine_set.h"
#include "app/kafka_checkpointer.h"
#include "app/parse_stage.h"
#include "app/partials_stage.h"
#include "app/pipeline_inputs.h"
#include "app/pipeline_sinks.h"
#include "app/pipeline_stats.h"
#include "app/snapshots.h"
#include "core/json_writer.h"
#include "core/log.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "sinks/partials_producer.h"

namespace sitepulse {

std::string RunSummary::ToJson() const {
  std::string reasons;
  JsonObjectWriter rw(&reasons);
  for (int i = 0; i < kNumRejectReasons; ++i) {
    if (rejected_by_reason[i] > 0) {
      rw.Uint(RejectReasonName(static_cast<RejectReason>(i)), rejected_by_reason[i]);
    }
  }
  rw.Close();
  std::string out;
  JsonObjectWriter w(&out);
  w.Uint("lines", lines)
      .Uint("parsed", parsed)
      .Uint("rejected", rejected)
      .Raw("rejected_by_reason", reasons)
      .Uint("late", late)
      .Uint("held", held)
      .Uint("anomalies", anomalies)
      .Uint("firing", firing)
      .Uint("resolved", resolved)
      .Uint("sites", sites)
      .Uint("sites_over_cap", sites_over_cap)
      .Uint("sites_promoted", sites_promoted)
      .Uint("baselines_warming", baselines_warming)
      .Uint("error_templates", error_templates)
      .Uint("error_templates_over_cap", error_templates_over_cap)
      .Uint("buckets", buckets)
      .Uint("bytes", bytes)
      .Uint("dead_letters", dead_letters)
      .Uint("sink_errors", sink_errors)
      .Uint("events_undelivered", events_undelivered)
      .Uint("sink_retries", sink_retries)
      .Uint("input_errors", input_errors)
      .Int("threads", threads)
      .Bool("lanes_read", lanes_read)
      .Number("cpu_seconds_lanes", cpu_seconds_lanes)
      .Number("cpu_seconds_reader", cpu_seconds_reader)
      .Number("cpu_seconds_coordinator", cpu_seconds_coordinator)
      .Number("seconds", seconds)
      .Number("lines_per_s", seconds > 0 ? static_cast<double>(lines) / seconds : 0)
      .Number("mb_per_s", seconds > 0 ? static_cast<double>(bytes) / 1e6 / seconds : 0)
      .Uint("bad_bytes_field", bad_bytes_fields);
  std::string list = "[";
  for (const auto& [code, message] : warnings) {
    if (list.size() > 1) list += ",";
    std::string item;
    JsonObjectWriter iw(&item);
    iw.String("code", code).String("message", message);
    iw.Close();
    list += item;
  }
  list += "]";
  w.Raw("warnings", list);
  w.Close();
  return out;
}

bool ReadsPartials(const PipelineOptions& options) {
  return std::any_of(options.inputs.begin(), options.inputs.end(),
                     [](const PipelineInput& in) { return in.partials; });
}

ParseLane::Options LaneOptions(const PipelineOptions& options) {
  ParseLane::Options lane;
  lane.resolution = options.engine.resolution;
  lane.max_line_bytes = options.max_line_bytes;
  lane.max_sites = options.engine.max_sites;
  lane.sketch_alpha = options.engine.sketch_alpha;
  auto note_templates = [&lane](const std::vector<DetectorSpec>& specs) {
    for (const DetectorSpec& d : specs) {
      if (d.type != DetectorType::kNewErrorTemplate || !d.enabled) continue;
      lane.template_min_level =
          lane.error_templates ? std::min(lane.template_min_level, d.min_level) : d.min_level;
      lane.error_templates = true;
    }
  };
  note_templates(options.engine.detectors);
  for (const auto& [site, specs] : options.engine.site_detectors) note_templates(specs);
  if (options.engine.compare) {
    note_templates(options.engine.compare_detectors);
    for (const auto& [site, specs] : options.engine.compare_site_detectors) note_templates(specs);
  }
  lane.lateness = options.engine.lateness;
  lane.max_jump = options.max_jump;
  lane.max_clock_skew = options.max_clock_skew;
  lane.partials = ReadsPartials(options);
  return lane;
}

namespace {

TimeGateOptions GateOptions(const PipelineOptions& options) {
  TimeGateOptions gate;
  gate.max_jump = options.max_jump;
  gate.confirm_lines = options.confirm_lines;
  gate.lateness = options.engine.lateness;
  gate.resolution = options.engine.resolution;
  return gate;
}

// The summary is what the registry says.
void FillSummary(const PipelineOptions& options, const PipelineStats& stats,
                 const EngineSet& engines, RunSummary* summary) {
  const MetricsRegistry& m = *options.metrics;
  summary->lines = stats.lines->value();
  summary->parsed = stats.parsed->value();
  for (int r = 0; r < kNumRejectReasons; ++r) {
    summary->rejected_by_reason[r] = stats.rejected[r]->value();
    summary->rejected += summary->rejected_by_reason[r];
  }
  summary->late = stats.late->value();
  summary->bytes = stats.bytes->value();
  summary->dead_letters = stats.dead_letters->value();
  summary->input_errors = stats.input_errors->value();
  summary->buckets = stats.buckets->value();
  summary->anomalies = m.CounterSum("sitepulse_anomalies_total");
  summary->firing = m.CounterSum("sitepulse_anomalies_total", "state", "firing");
  summary->resolved = m.CounterSum("sitepulse_anomalies_total", "state", "resolved");
  summary->sink_retries = m.CounterSum("sitepulse_sink_retries_total");
  summary->events_undelivered = m.CounterSum("sitepulse_sink_events_total", "result", "failed") +
                                m.CounterSum("sitepulse_sink_events_total", "result", "dropped");
  summary->sites = engines.site_count();
  summary->sites_over_cap = engines.sites_over_cap();
  summary->sites_promoted = engines.sites_promoted();
  summary->baselines_warming = engines.baselines_warming();
  summary->error_templates = engines.error_templates();
  summary->error_templates_over_cap = engines.error_templates_over_cap();
  summary->bad_bytes_fields = stats.bad_bytes->value();
}

// Stage 1: the run's windows, without detectors (the partial records carry what stage 2's
// windows need).
WindowEngineOptions Stage1EngineOptions(WindowEngineOptions o) {
  o.detectors.clear();
  o.site_detectors.clear();
  o.compare = false;
  o.compare_detectors.clear();
  o.compare_site_detectors.clear();
  o.observer = nullptr;
  return o;
}

// Stage 2: the run's engine with lateness 0 (a bucket closes once every stage-1 partition's
// watermark, which already waited for stage 1's lateness, has passed it).
WindowEngineOptions Stage2EngineOptions(WindowEngineOptions o) {
  o.lateness = 0;
  return o;
}

// The transactional id: `?id=` on the partials URI (stable across restarts: a restart aborts
// what the previous process left open at once), else the host and process.
absl::StatusOr<std::unique_ptr<PartialsProducer>> OpenPartialsProducer(const PipelineOptions& options) {
  const Uri& u = *options.partials;
  std::string id;
  if (const std::string* p = u.Param("id")) {
    id = *p;
  } else {
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    id = StrCat(host, "-", static_cast<int>(getpid()));
  }
  const std::string* group = options.inputs.front().uri.Param("group");
  return PartialsProducer::Open(u.target, options.kafka_properties,
                                StrCat("sitepulse-partials-", group ? *group : "sitepulse", "-", id));
}

// After the last batch: the sinks deliver, the last snapshot is written (it bounds the last
// commit), the last commit is made.
void Drain(PipelineSinks& sinks, Snapshots& snapshots, KafkaCheckpointer* checkpointer,
           RunSummary* summary) {
  for (auto& sink : sinks.fanout.outputs) {
    if (!sink->Flush()) {
      ++summary->sink_errors;
      SP_LOG(kError, "sinks", "delivering anomalies to %s failed", sink->name());
    }
  }
  if (sinks.fanout.stats && !sinks.fanout.stats->Flush()) ++summary->sink_errors;
  if (sinks.dlq && !sinks.dlq->Flush()) ++summary->sink_errors;
  if (!snapshots.Save()) ++summary->sink_errors;
  if (checkpointer != nullptr) checkpointer->Commit(/*sync=*/true);
}

}  // namespace

// The run as its parts: inputs and sinks opened first (nothing is bound or read before they
// are), the engines and their snapshot, the parse stage's threads, the coordinator on this
// thread, then the drain and the summary.
absl::StatusOr<RunSummary> RunPipeline(const PipelineOptions& options, std::atomic<bool>* stop) {
  const auto t0 = std::chrono::steady_clock::now();
  const double coordinator_cpu0 = ThreadCpuSeconds();
  RunSummary summary;
  summary.threads = options.threads;
  PipelineStats stats(options.metrics);
  PipelineHealth local_health;
  PipelineHealth& health = options.health != nullptr ? *options.health : local_health;

  SP_ASSIGN_OR_RETURN(std::unique_ptr<PipelineInputs> inputs, PipelineInputs::Open(options));
  SP_ASSIGN_OR_RETURN(std::unique_ptr<PipelineSinks> sinks, PipelineSinks::Open(options, &stats));
  if (options.on_opened) SP_RETURN_IF_ERROR(options.on_opened());

  KafkaSource* kafka = inputs->kafka();
  const int lanes = std::max(1, options.threads);
  // Stage 1 of a two-stage run: engines without detectors whose closed buckets go to the
  // partials topic.
  std::unique_ptr<PartialsProducer> partials_producer;
  std::unique_ptr<PartialsStage> partials;
  if (options.partials) {
    SP_ASSIGN_OR_RETURN(partials_producer, OpenPartialsProducer(options));
    partials = std::make_unique<PartialsStage>(partials_producer.get(), kafka, options.engine.resolution,
                                               options.engine.sketch_alpha, options.metrics);
  }
  // With a state topic (or in stage 1) each Kafka partition has its own engine, handed over on
  // rebalances. One lane more than the threads: the coordinator's own (TimeGate batches).
  const bool stage2 = ReadsPartials(options);
  EngineSet engines(partials ? Stage1EngineOptions(options.engine)
                    : stage2 ? Stage2EngineOptions(options.engine)
                             : options.engine,
                    partials ? partials->listener() : &sinks->fanout,
                    inputs->state_store() || partials || stage2 ? EngineSet::Mode::kPerPartition
                                                                : EngineSet::Mode::kShared,
                    lanes + 1, options.compare_listener);
  for (size_t i = 0; i < inputs->file_count(); ++i) engines.Open(static_cast<int>(i));

  const ParseLane::Options lane_options = LaneOptions(options);
  std::unique_ptr<KafkaCheckpointer> checkpointer;
  Coordinator coordinator({&options, inputs.get(), &engines, sinks.get(), &stats, nullptr, nullptr,
                           &health, partials.get(), stage2},
                          lane_options, GateOptions(options), /*gate_lane_id=*/lanes);
  if (kafka != nullptr) {
    checkpointer = std::make_unique<KafkaCheckpointer>(options, kafka, inputs->state_store(),
                                                       &engines, sinks.get(), coordinator.gates());
    if (stage2) checkpointer->SnapshotOpenBuckets();
    if (partials) {
      checkpointer->SetCommitter(
          [&partials, &engines](const std::vector<std::pair<int, int64_t>>& offsets, bool) {
            partials->Commit(engines, offsets);
          });
    }
  }
  Snapshots snapshots(options, &engines, sinks.get(), checkpointer.get(),
                      inputs->state_store() != nullptr, inputs->engine_state_store(),
                      inputs->engine_state_key());
  SP_RETURN_IF_ERROR(snapshots.Restore());
  coordinator.Attach(checkpointer.get(), &snapshots);

  KafkaConsumerGauges consumer_gauges(kafka, options.metrics);
  ParseStage stage(options, inputs.get(), lane_options, &consumer_gauges, stop);
  summary.lanes_read = stage.lanes_read();
  health.inputs_open.store(true);
  health.last_progress_ns.store(SteadyNowNs());
  stage.Start();
  coordinator.Run(stage);
  // The reader last: with Kafka it polls until the final commit below.
  stage.JoinLanes();
  health.inputs_open.store(false);

  Drain(*sinks, snapshots, checkpointer.get(), &summary);
  health.sinks_healthy.store(sinks->fanout.SinksHealthy());
  if (kafka != nullptr) kafka->FinalCommitDone();
  stage.JoinReader();
  if (kafka != nullptr && kafka->failed()) stats.input_errors->Add();
  health.finished.store(true);

  FillSummary(options, stats, engines, &summary);
  coordinator.Finish(&summary);
  summary.cpu_seconds_coordinator = ThreadCpuSeconds() - coordinator_cpu0;
  summary.cpu_seconds_reader = stage.reader_cpu_seconds();
  summary.cpu_seconds_lanes = stage.lanes_cpu_seconds();
  summary.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return summary;
}

}  // namespace sitepulse
