#include "app/pipeline.h"

#include <pthread.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <deque>
#include <functional>
#include <cstdio>
#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "core/strings.h"
#include "app/engine_set.h"
#include "app/parse_lane.h"
#include "app/run_warnings.h"
#include "core/batch_queue.h"
#include "core/json_writer.h"
#include "core/status_macros.h"
#include "ingest/file_source.h"
#include "ingest/kafka_source.h"
#include "ingest/kafka_state_store.h"
#include "sinks/sink_registry.h"
#include "sinks/dead_letter_sink.h"
#include "sinks/stats_sink.h"

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

namespace {

// CPU time of the calling thread, in seconds.
double ThreadCpuSeconds() {
  timespec ts;
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0;
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// CPU seconds spent by threads of one role, added in as each finishes.
struct CpuTally {
  std::atomic<int64_t> ns{0};
  void Add(double seconds) {
    ns.fetch_add(static_cast<int64_t>(seconds * 1e9), std::memory_order_relaxed);
  }
  double seconds() const { return static_cast<double>(ns.load()) * 1e-9; }
};

// The pipeline's own counters, declared in one block (the registry owns them).
struct PipelineStats {
  explicit PipelineStats(MetricsRegistry* m) : registry(m) {
    lines = m->GetCounter("sitepulse_lines_total", "Lines read from all inputs");
    parsed = m->GetCounter("sitepulse_lines_parsed_total", "Lines parsed into records");
    for (int r = 0; r < kNumRejectReasons; ++r) {
      rejected[r] = m->GetCounter("sitepulse_lines_rejected_total", "Lines rejected, by reason",
                                  {{"reason", std::string(RejectReasonName(static_cast<RejectReason>(r)))}});
    }
    late = m->GetCounter("sitepulse_events_dropped_total",
                         "Parsed events not counted in any window, by reason",
                         {{"reason", "late"}});
    bytes = m->GetCounter("sitepulse_bytes_read_total", "Bytes read from all inputs");
    dead_letters = m->GetCounter("sitepulse_dead_letters_total", "Rejected lines written to the dead-letter sink");
    buckets = m->GetCounter("sitepulse_buckets_closed_total", "Per-site buckets closed");
    batches = m->GetCounter("sitepulse_batches_total", "Input batches applied in order");
    sites = m->GetGauge("sitepulse_sites_active", "Sites with state (including __other__)");
    over_cap = m->GetGauge("sitepulse_sites_over_cap",
                           "Distinct site names folded into __other__ past limits.max_sites "
                           "(HyperLogLog estimate)");
    promoted = m->GetGauge("sitepulse_sites_promoted",
                           "Site names past limits.max_sites that earned a place by their traffic");
    split = m->GetGauge("sitepulse_sites_split_across_partitions",
                        "Sites whose lines came from more than one Kafka partition (state topic: "
                        "the input must be keyed by site)");
    warming = m->GetGauge("sitepulse_baselines_warming",
                          "(site, detector) learned baselines still warming up: no verdict yet");
    templates = m->GetGauge("sitepulse_error_templates",
                            "Error-message templates known (new_error_template), over all sites");
    templates_over_cap = m->GetGauge(
        "sitepulse_error_templates_over_cap",
        "New error-message templates not tracked: their site had max_templates already");
    watermark = m->GetGauge("sitepulse_watermark_seconds", "Event-time watermark, Unix seconds");
    work_depth = m->GetGauge("sitepulse_queue_depth", "Batches waiting in a pipeline queue", {{"queue", "parse"}});
    done_depth = m->GetGauge("sitepulse_queue_depth", "Batches waiting in a pipeline queue", {{"queue", "apply"}});
    input_errors = m->GetCounter("sitepulse_input_errors_total", "Read errors that ended an input early");
    bad_bytes = m->GetCounter("sitepulse_fields_dropped_total",
                              "Requests kept without an unusable optional value, by field",
                              {{"field", "bytes"}});
    warnings = m->GetGauge("sitepulse_warnings", "Warnings raised (see the run's stderr and summary)");
  }
  Counter* AnomalyCounter(const Anomaly& a) {
    return registry->GetCounter("sitepulse_anomalies_total", "Anomaly events, by detector and state",
                                {{"detector", a.detector}, {"state", std::string(AlertStateName(a.state))}});
  }
  MetricsRegistry* registry;
  Counter* lines;
  Counter* parsed;
  Counter* rejected[kNumRejectReasons];
  Counter* late;
  Counter* bytes;
  Counter* dead_letters;
  Counter* buckets;
  Counter* batches;
  Gauge* sites;
  Gauge* over_cap;
  Gauge* promoted;
  Gauge* warming;
  Gauge* templates;
  Gauge* templates_over_cap;
  Gauge* split;
  Gauge* watermark;
  Gauge* work_depth;
  Gauge* done_depth;
  Counter* input_errors;
  Counter* bad_bytes;
  Gauge* warnings;
};

// Receives what the engine produces and hands it to the sinks; counts on the way.
class SinkFanout : public WindowEngineListener {
 public:
  void OnBucketClosed(const ClosedBucketView& bucket) override {
    stats_counter->buckets->Add();
    if (stats) {
      BucketStats row{bucket.site, bucket.start, bucket.end, bucket.counters, std::nullopt};
      if (!bucket.latency->empty()) {
        std::array<double, 5> q;
        for (size_t i = 0; i < q.size(); ++i) q[i] = bucket.latency->Quantile(*bucket.mapping, kStatsQuantiles[i]);
        row.quantiles = q;
      }
      stats->Write(row);
    }
    if (site_gauges_max > 0) UpdateSiteGauges(bucket);
  }
  void OnAnomaly(const Anomaly& anomaly) override {
    stats_counter->AnomalyCounter(anomaly)->Add();
    for (auto& sink : outputs) sink->Publish(anomaly);
  }
  void UpdateSiteGauges(const ClosedBucketView& b) {
    auto it = site_gauges.find(std::string(b.site));
    if (it == site_gauges.end()) {
      if (site_gauges.size() >= site_gauges_max) return;
      MetricsRegistry* m = stats_counter->registry;
      const MetricLabels l = {{"site", std::string(b.site)}};
      it = site_gauges
               .emplace(std::string(b.site),
                        std::array<Gauge*, 3>{
                            m->GetGauge("sitepulse_site_p99_seconds", "p99 latency of the site's last closed bucket", l),
                            m->GetGauge("sitepulse_site_error_ratio", "5xx share of the site's last closed bucket", l),
                            m->GetGauge("sitepulse_site_requests_per_second", "Request rate of the site's last closed bucket", l)})
               .first;
    }
    const double seconds = static_cast<double>(b.end - b.start) / 1e9;
    it->second[0]->Set(b.latency->empty() ? 0 : b.latency->Quantile(*b.mapping, 0.99));
    it->second[1]->Set(b.counters->requests == 0 ? 0
                                                 : static_cast<double>(b.counters->errors_5xx) /
                                                       static_cast<double>(b.counters->requests));
    it->second[2]->Set(static_cast<double>(b.counters->requests) / seconds);
  }
  bool SinksHealthy() const {
    for (const auto& s : outputs) {
      if (!s->healthy()) return false;
    }
    return true;
  }
  std::vector<std::unique_ptr<AnomalySink>> outputs;
  std::unique_ptr<StatsSink> stats;
  PipelineStats* stats_counter = nullptr;
  size_t site_gauges_max = 0;
  std::map<std::string, std::array<Gauge*, 3>> site_gauges;
};

int64_t WallNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

absl::StatusOr<RunSummary> RunPipeline(const PipelineOptions& options, std::atomic<bool>* stop) {
  const auto t0 = std::chrono::steady_clock::now();
  const double coordinator_cpu0 = ThreadCpuSeconds();
  CpuTally reader_cpu, lanes_cpu;
  RunSummary summary;
  summary.threads = options.threads;
  PipelineStats stats(options.metrics);
  PipelineHealth local_health;
  PipelineHealth& health = options.health != nullptr ? *options.health : local_health;

  // Open everything first: a typo in a path fails before any work is done.
  FileSource::Options source_options;
  source_options.batch_bytes = options.batch_bytes;
  source_options.max_line_bytes = options.max_line_bytes;
  std::vector<std::unique_ptr<FileSource>> sources;
  std::vector<FormatSpec> formats;
  std::unique_ptr<KafkaSource> kafka;
  std::unique_ptr<KafkaStateStore> state_store;
  for (const PipelineInput& in : options.inputs) {
    if (in.uri.scheme == "kafka") {
      if (options.inputs.size() != 1) {
        return absl::UnimplementedError("a Kafka input cannot be combined with other inputs yet");
      }
      SP_ASSIGN_OR_RETURN(KafkaSourceOptions ko, KafkaOptionsFromUri(in.uri.target, in.uri.Param("group")));
      ko.properties = options.kafka_properties;
      ko.exit_at_end = options.exit_at_end;
      if (!options.state_topic.empty()) {
        KafkaStateStoreOptions so;
        so.brokers = ko.brokers;
        so.topic = options.state_topic;
        so.properties = options.kafka_properties;
        SP_ASSIGN_OR_RETURN(state_store, KafkaStateStore::Open(so));
      }
      if (state_store) {
        ko.load_state = [store = state_store.get()](const std::string& key) { return store->Get(key); };
      }
      SP_ASSIGN_OR_RETURN(kafka, KafkaSource::Open(ko));
      formats.push_back(in.format);
      continue;
    }
    if (in.uri.scheme != "file" && in.uri.scheme != "stdin") {
      return absl::UnimplementedError(StrCat(
          "input '", in.uri.ToString(), "': scheme '", in.uri.scheme,
          "' is not supported (use file:PATH, a path, - for stdin, or kafka://HOST:PORT/TOPIC)"));
    }
    SP_ASSIGN_OR_RETURN(auto src,
                        FileSource::Open(in.uri.scheme == "stdin" ? "-" : in.uri.target,
                                         source_options));
    sources.push_back(std::move(src));
    formats.push_back(in.format);
  }
  if (!options.state_topic.empty() && !kafka) {
    return absl::InvalidArgumentError(
        StrCat("state topic ", options.state_topic,
               ": a state topic needs a Kafka input (use state.file for files)"));
  }
  SinkFanout fanout;
  fanout.stats_counter = &stats;
  fanout.site_gauges_max = options.site_gauges;
  for (const OutputSpec& o : options.outputs) {
    SP_ASSIGN_OR_RETURN(auto sink, MakeAnomalySink(o, options.metrics));
    fanout.outputs.push_back(std::move(sink));
  }
  if (options.stats) {
    SP_ASSIGN_OR_RETURN(auto w, JsonlWriter::Open(*options.stats));
    fanout.stats = std::make_unique<StatsSink>(std::move(w));
  }
  std::unique_ptr<DeadLetterSink> dlq;
  if (options.dlq && options.dlq->scheme == "kafka") {
    SP_ASSIGN_OR_RETURN(auto producer, KafkaProducer::Open(options.dlq->target, options.kafka_properties,
                                                           "dlq:kafka:" + options.dlq->target,
                                                           options.metrics));
    dlq = std::make_unique<DeadLetterSink>(std::move(producer));
  } else if (options.dlq) {
    SP_ASSIGN_OR_RETURN(auto w, JsonlWriter::Open(*options.dlq));
    dlq = std::make_unique<DeadLetterSink>(std::move(w));
  }

  if (options.on_opened) {
    if (absl::Status st = options.on_opened(); !st.ok()) return st;
  }

  const int lanes = std::max(1, options.threads);
  // With a state topic each Kafka partition has its own engine, handed over on rebalances.
  // One lane more than the threads: the coordinator's own (TimeGate batches).
  EngineSet engines(options.engine, &fanout,
                    state_store ? EngineSet::Mode::kPerPartition : EngineSet::Mode::kShared,
                    lanes + 1);
  for (size_t i = 0; i < sources.size(); ++i) engines.Open(static_cast<int>(i));
  if (!options.state_file.empty()) {
    if (FILE* f = std::fopen(options.state_file.c_str(), "rb")) {
      // Line by line: a large state is never held whole in memory next to the restored one.
      const absl::Status st = engines.shared().LoadState([f](std::string* line) {
        line->clear();
        int c;
        while ((c = std::getc(f)) != EOF && c != '\n') line->push_back(static_cast<char>(c));
        return c != EOF || !line->empty();
      });
      std::fclose(f);
      if (!st.ok()) {
        return absl::FailedPreconditionError(
            StrCat("state file ", options.state_file, ": ", st.message()));
      }
      std::fprintf(stderr, "sitepulse: restored %zu sites from %s\n", engines.site_count(),
                   options.state_file.c_str());
    }
  }
  // Writes the snapshot next to its final name, then renames it over: never half a file.
  // Kafka: offsets are committed only up to what the last written snapshot covers (closed
  // buckets), so a restart from the snapshot and the committed offsets neither loses nor
  // counts twice: replayed events of closed buckets are late and dropped, the others refill the
  // open buckets, which the snapshot leaves out.
  EventTime snapshot_closed_before = INT64_MAX;
  // Kafka: the partitions this consumer owns now.
  std::set<int> owned_partitions;
  // Per-partition engines: what the last snapshot of each covers (bounds its commits).
  std::map<int, EventTime> snapshot_bound;
  // Kafka: the offsets waiting for their buckets to close before they may be committed
  // (at-least-once: see docs/kafka.md).
  struct PendingOffset {
    int64_t next_offset;
    EventTime max_bucket;  // newest bucket the events up to next_offset went into
  };
  std::map<int, std::deque<PendingOffset>> uncommitted;
  // Event time per input (a file, a Kafka partition; app/time_gate.h). A Kafka offset is never
  // committed past a line its gate still holds: after a restart it is read and judged again.
  std::map<int, TimeGate> gates;
  auto commit_limit = [&gates](int pid) {
    auto it = gates.find(pid);
    return it == gates.end() ? INT64_MAX : it->second.min_held_offset();
  };
  // Per partition: the offset after the last message applied, and the newest offset before which
  // every message sits in a closed bucket (committed, or covered by a loaded state).
  std::map<int, int64_t> applied_offset, closed_offset;
  Counter* state_errors = options.metrics->GetCounter(
      "sitepulse_state_errors_total", "State snapshots that could not be written or read");
  auto save_state = [&]() -> bool {
    if (options.state_file.empty() && !state_store) return true;
    if (kafka) {
      // What the snapshot calls evaluated must have reached the sinks: a restart does not
      // produce it again.
      for (auto& sink : fanout.outputs) {
        if (!sink->Drained()) return true;  // not yet: the next interval tries again
      }
      if (dlq && !dlq->Drained()) return true;
    }
    if (state_store) {
      // One value per owned partition: the sites whose lines come from it, without open
      // buckets, and the offset up to which every line sits in a closed bucket.
      for (int pid : owned_partitions) {
        const EventTime closed_before = engines.closed_before(pid);
        int64_t resume = closed_offset.count(pid) ? closed_offset[pid] : -1;
        if (auto q = uncommitted.find(pid); q != uncommitted.end()) {
          for (const PendingOffset& e : q->second) {
            if (e.max_bucket >= closed_before || e.next_offset > commit_limit(pid)) break;
            resume = e.next_offset;
          }
        }
        const absl::Status st = state_store->Put(
            kafka->StateKey(pid),
            FramePartitionState(resume, engines.Save(pid, /*include_open=*/false)));
        if (!st.ok()) {
          state_errors->Add();
          std::fprintf(stderr, "sitepulse: %s\n", std::string(st.message()).c_str());
          return false;
        }
        snapshot_bound[pid] = closed_before;
      }
      return true;
    }
    const EventTime closed_before = engines.shared().closed_before();
    const std::string tmp = options.state_file + ".tmp";
    FILE* f = std::fopen(tmp.c_str(), "wb");
    bool ok = f != nullptr;
    if (ok) {
      engines.shared().SaveState(/*include_open=*/!kafka, [&](const std::string& piece) {
        ok = ok && std::fwrite(piece.data(), 1, piece.size(), f) == piece.size();
      });
      ok = std::fclose(f) == 0 && ok;
    }
    ok = ok && std::rename(tmp.c_str(), options.state_file.c_str()) == 0;
    if (!ok) {
      std::fprintf(stderr, "sitepulse: cannot write state file %s: %s\n",
                   options.state_file.c_str(), strerror(errno));
    } else {
      snapshot_closed_before = closed_before;
    }
    return ok;
  };
  if (kafka && !options.state_file.empty()) {
    snapshot_closed_before = engines.shared().closed_before();
  }
  auto last_state_save = std::chrono::steady_clock::now();

  // The batch pool bounds memory and gives backpressure: two batches per lane in flight, plus
  // one being read and one being applied.
  const size_t pool_size = static_cast<size_t>(2 * lanes + 2);
  std::vector<std::unique_ptr<Batch>> pool;
  BatchQueue<Batch> free_batches(pool_size), work(pool_size + lanes), done(pool_size + lanes);
  for (size_t i = 0; i < pool_size; ++i) {
    pool.push_back(std::make_unique<Batch>());
    free_batches.Push(pool.back().get());
  }

  ParseLane::Options lane_options;
  lane_options.resolution = options.engine.resolution;
  lane_options.max_line_bytes = options.max_line_bytes;
  lane_options.max_sites = options.engine.max_sites;
  lane_options.sketch_alpha = options.engine.sketch_alpha;
  auto note_templates = [&lane_options](const std::vector<DetectorSpec>& specs) {
    for (const DetectorSpec& d : specs) {
      if (d.type != DetectorType::kNewErrorTemplate || !d.enabled) continue;
      lane_options.template_min_level = lane_options.error_templates
                                            ? std::min(lane_options.template_min_level, d.min_level)
                                            : d.min_level;
      lane_options.error_templates = true;
    }
  };
  note_templates(options.engine.detectors);
  for (const auto& [site, specs] : options.engine.site_detectors) note_templates(specs);
  lane_options.lateness = options.engine.lateness;
  lane_options.max_jump = options.max_jump;
  lane_options.max_clock_skew = options.max_clock_skew;
  TimeGateOptions gate_options;
  gate_options.max_jump = options.max_jump;
  gate_options.confirm_lines = options.confirm_lines;
  gate_options.lateness = options.engine.lateness;
  gate_options.resolution = options.engine.resolution;

  // The consumer's own numbers, published by the reader thread about once a second (they must
  // move while the coordinator is stalled): lag per partition in messages and in seconds,
  // max.poll.interval overruns, lost assignments, offset gaps, pauses.
  Gauge* max_poll = nullptr;
  Gauge* lost = nullptr;
  Gauge* gaps = nullptr;
  Gauge* pauses = nullptr;
  Gauge* paused = nullptr;
  if (kafka) {
    pauses = options.metrics->GetGauge(
        "sitepulse_kafka_pauses", "Times reading was paused because the pipeline was full");
    paused = options.metrics->GetGauge("sitepulse_kafka_paused",
                                       "1 while reading is paused (the pipeline is full)");
    gaps = options.metrics->GetGauge(
        "sitepulse_kafka_offset_gaps",
        "Forward jumps in a partition's offsets: messages the client did not deliver");
    lost = options.metrics->GetGauge(
        "sitepulse_kafka_partitions_lost",
        "Times the group took this consumer's partitions away (session or poll timeout)");
    max_poll = options.metrics->GetGauge(
        "sitepulse_kafka_max_poll_exceeded",
        "Times this consumer exceeded max.poll.interval.ms (its partitions were reassigned)");
  }
  auto publish_lag = [&] {
    if (!kafka) return;
    for (const KafkaSource::PartitionLag& l : kafka->Lag()) {
      options.metrics
          ->GetGauge("sitepulse_kafka_consumer_lag_messages",
                     "Messages between the consumer's position and the partition's end",
                     {{"partition", l.partition}})
          ->Set(static_cast<double>(l.messages));
      options.metrics
          ->GetGauge("sitepulse_kafka_consumer_lag_seconds",
                     "Age of the last message read while the partition has a backlog (0: caught up)",
                     {{"partition", l.partition}})
          ->Set(l.seconds);
    }
    max_poll->Set(static_cast<double>(kafka->max_poll_exceeded()));
    gaps->Set(static_cast<double>(kafka->offset_gaps()));
    pauses->Set(static_cast<double>(kafka->pauses()));
    paused->Set(kafka->paused() ? 1 : 0);
    lost->Set(static_cast<double>(kafka->partitions_lost()));
  };
  health.inputs_open.store(true);
  health.last_progress_ns.store(SteadyNowNs());
  std::atomic<uint64_t> next_seq_id{0};

  // File and stdin inputs: the next batch, read in turn from each input (one batch each, so
  // event time advances together), numbered for the coordinator; nullptr once every input has
  // ended. Serialised: whoever reads holds read_mu.
  std::mutex read_mu;
  uint64_t read_seq = 0;
  std::vector<size_t> active;
  for (size_t i = 0; i < sources.size(); ++i) active.push_back(i);
  size_t next_active = 0;
  auto read_next = [&]() -> Batch* {
    std::lock_guard<std::mutex> lock(read_mu);
    if (active.empty()) return nullptr;
    if (next_active >= active.size()) next_active = 0;
    const size_t i = active[next_active];
    Batch* b = free_batches.Pop();
    b->ResetForReader();
    b->input = static_cast<int>(i);
    b->seq = read_seq++;
    const bool stopping = stop != nullptr && stop->load(std::memory_order_relaxed);
    if (sources[i]->streaming()) b->wall_now = WallNowNs();
    if (stopping || !sources[i]->Next(b)) {
      b->size = 0;
      b->end_of_input = true;
    }
    // The input's last batch (its last data, or an empty one) ends it.
    if (b->end_of_input) {
      active.erase(active.begin() + static_cast<std::ptrdiff_t>(next_active));
    } else {
      ++next_active;
    }
    return b;
  };
  // When every core runs a lane, the lanes read for themselves: a reader thread would take its
  // time slices from a lane anyway, and each hand-off costs a wake-up. With a core to spare, a
  // reader thread keeps the kernel's copy off the lanes. Kafka always has its reader thread (the
  // consumer's poll). A lane may wait for a free batch while it holds read_mu: only the
  // coordinator returns batches, and it never takes read_mu.
  const bool lanes_read =
      !kafka && (options.reader == PipelineOptions::Reader::kLanes ||
                 (options.reader == PipelineOptions::Reader::kAuto &&
                  lanes >= static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))));
  summary.lanes_read = lanes_read;

  std::thread reader;
  if (kafka) {
    reader = std::thread([&] {
      pthread_setname_np(pthread_self(), "sp-reader");
      // Reader for Kafka: poll until the source is finished (exit-at-end or a stop request).
      const std::function<Batch*()> get = [&] {
        Batch* b = free_batches.Pop();
        b->ResetForReader();
        b->input = 0;
        b->wall_now = WallNowNs();
        return b;
      };
      // A short wait is ordinary backpressure (lanes busy); only a pipeline full for half a
      // second pauses the partitions (a pause makes librdkafka drop and fetch again).
      const std::function<Batch*()> try_get = [&]() -> Batch* {
        Batch* b = free_batches.PopFor(500'000);
        if (b != nullptr) {
          b->ResetForReader();
          b->input = 0;
          b->wall_now = WallNowNs();
        }
        return b;
      };
      const std::function<void(Batch*)> put = [&](Batch* b) {
        b->seq = next_seq_id.fetch_add(1);
        work.Push(b);
      };
      auto last_publish = std::chrono::steady_clock::now();
      while (kafka->Poll(get, try_get, put, stop != nullptr && stop->load(std::memory_order_relaxed))) {
        if (std::chrono::steady_clock::now() - last_publish > std::chrono::milliseconds(500)) {
          publish_lag();
          last_publish = std::chrono::steady_clock::now();
        }
      }
      publish_lag();
      for (int l = 0; l < lanes; ++l) work.Push(nullptr);
      // The group must keep this consumer until the last commit: the sinks may take a while to
      // deliver (max.poll.interval.ms would otherwise expire and the commit be refused).
      reader_cpu.Add(ThreadCpuSeconds());  // the poll loop; what follows is waiting
      while (!kafka->final_commit_done()) kafka->KeepAlive();
    });
  } else if (!lanes_read) {
    reader = std::thread([&] {
      pthread_setname_np(pthread_self(), "sp-reader");
      while (Batch* b = read_next()) work.Push(b);
      for (int l = 0; l < lanes; ++l) work.Push(nullptr);
      reader_cpu.Add(ThreadCpuSeconds());
    });
  }
  std::vector<std::thread> lane_threads;
  for (int l = 0; l < lanes; ++l) {
    lane_threads.emplace_back([&, l] {
      pthread_setname_np(pthread_self(), ("sp-lane-" + std::to_string(l)).c_str());
      ParseLane lane(l, formats, lane_options);
      while (Batch* b = lanes_read ? read_next() : work.Pop()) {
        lane.Process(b);
        done.Push(b);
      }
      lanes_cpu.Add(ThreadCpuSeconds());
      done.Push(nullptr);
    });
  }

  // Coordinator: apply batches strictly in sequence order.
  std::vector<uint64_t> lines_before(formats.size(), 0);
  // Event time per input (a file, a Kafka partition): most batches need only the check below;
  // the others are parsed again here, line by line through the input's gate.
  ParseLane gate_lane(lanes, formats, lane_options);
  auto gate_of = [&](int id) -> TimeGate& {
    auto [it, inserted] = gates.try_emplace(id, gate_options);
    if (inserted) it->second.Advance(engines.max_time(id));  // restored from a snapshot
    return it->second;
  };
  auto judge_event_time = [&](Batch* b, int id, uint64_t line_base) {
    TimeGate& gate = gate_of(id);
    // Steady means the gate knows the input's time (max_time() is set).
    const bool jumps = b->needs_gate ||
                       (b->first_time != INT64_MIN && gate.steady() &&
                        b->first_time > gate.max_time() &&
                        b->first_time - gate.max_time() > options.max_jump);
    if (gate.steady() && !jumps) {
      gate.Advance(b->delta.max_time);
      return;
    }
    engines.RegisterSites(id, b->lane, b->new_sites);  // the lane keeps the ids it gave them
    b->ResetForLane();
    gate_lane.Process(b, &gate, line_base);
  };
  std::map<uint64_t, Batch*> pending;
  uint64_t next_seq = 0;
  auto last_commit = std::chrono::steady_clock::now();
  Gauge* kafka_commits = nullptr;
  Gauge* kafka_commit_errors = nullptr;
  if (kafka) {
    kafka_commits = options.metrics->GetGauge(
        "sitepulse_kafka_commits", "Offset commits the broker acknowledged (Kafka inputs)");
    kafka_commit_errors = options.metrics->GetGauge(
        "sitepulse_kafka_commit_errors", "Offset commits that failed (Kafka inputs)");
  }
  std::map<int, int64_t> last_input_ns;  // source partition -> when it last delivered messages
  std::map<int, bool> idle;
  std::map<int, bool> at_end;  // read to its end, nothing since: may become idle
  auto check_idle = [&] {
    const int64_t now = SteadyNowNs();
    for (int pid : owned_partitions) {
      auto it = last_input_ns.find(pid);
      const int64_t last = it == last_input_ns.end() ? now : it->second;
      if (it == last_input_ns.end()) last_input_ns[pid] = now;
      // Idle means "read to the end and quiet since", never "unreachable": while the broker is
      // away, partitions keep holding the watermark, so nothing is closed under their feet.
      const bool is_idle = at_end[pid] && now - last > options.idle_timeout;
      if (idle[pid] != is_idle) {
        idle[pid] = is_idle;
        engines.SetIdle(pid, is_idle);
      }
    }
  };
  auto commit_done = [&](bool sync) {
    if (!kafka) return;
    // Only what sits in closed, evaluated buckets, and only after every sink has delivered the
    // anomalies those buckets produced.
    // The final commit waits for the sinks; periodic ones only look (never stall consumption).
    for (auto& sink : fanout.outputs) {
      if (!(sync ? sink->Flush() : sink->Drained())) return;  // undelivered: commit nothing yet
    }
    if (dlq && !(sync ? dlq->Flush() : dlq->Drained())) return;  // rejected lines not safe yet
    std::vector<std::pair<int, int64_t>> offsets;
    for (auto& [pid, q] : uncommitted) {
      // Only what sits in closed buckets that the last snapshot (if any) covers.
      EventTime bound = engines.closed_before(pid);
      if (engines.mode() == EngineSet::Mode::kShared) {
        bound = std::min(bound, snapshot_closed_before);
      } else {
        auto it = snapshot_bound.find(pid);
        bound = it == snapshot_bound.end() ? INT64_MIN : std::min(bound, it->second);
      }
      int64_t commit = -1;
      const int64_t limit = commit_limit(pid);
      while (!q.empty() && q.front().max_bucket < bound && q.front().next_offset <= limit) {
        commit = q.front().next_offset;
        q.pop_front();
      }
      if (commit >= 0) {
        offsets.emplace_back(pid, commit);
        closed_offset[pid] = commit;
      }
    }
    kafka->Commit(offsets, sync);
    kafka_commits->Set(static_cast<double>(kafka->commits()));
    kafka_commit_errors->Set(static_cast<double>(kafka->commit_errors()));
  };
  // A partition assigned: take over the state its previous owner (or this consumer before a
  // restart) left; the source already starts reading it where that state ends.
  auto take_over = [&](const Batch& b) {
    if (b.state_error) state_errors->Add();
    if (b.state.empty()) return;
    const absl::Status st = engines.Load(b.partition, b.state);
    const size_t sites = engines.site_count(b.partition);
    if (!st.ok()) {
      state_errors->Add();
      std::fprintf(stderr, "sitepulse: %s: its state is not usable, starting it empty: %s\n",
                   kafka->PartitionName(b.partition).c_str(), std::string(st.message()).c_str());
      return;
    }
    if (b.state_offset >= 0) closed_offset[b.partition] = applied_offset[b.partition] = b.state_offset;
    std::fprintf(stderr, "sitepulse: restored %zu sites of %s from state topic %s (from offset %lld)\n",
                 sites, kafka->PartitionName(b.partition).c_str(), state_store->topic().c_str(),
                 static_cast<long long>(b.state_offset));
  };
  // A partition revoked: finish what is owned. With a state topic everything read is handed
  // over, open buckets included, with the offset after the last line applied: the next owner
  // starts exactly there, and that offset is committed. With cooperative rebalancing nothing is
  // committed here: librdkafka before 2.10 (Debian 12 ships 2.0) turns an ILLEGAL_GENERATION
  // answer to a commit made during a cooperative rebalance into a lost assignment
  // (confluentinc/librdkafka#4059). Without a state topic, what sits in closed buckets is
  // committed and the next owner reads the rest again.
  auto hand_over = [&](int pid) {
    // Eager rebalancing (the default): the revoke comes before the group moves on, so a commit
    // here is valid. Cooperative: no commit (see above).
    const bool may_commit = !kafka->cooperative();
    if (!state_store) {
      if (may_commit) commit_done(/*sync=*/true);  // what sits in closed, delivered buckets
      return;
    }
    // Anomalies of what is handed over must be out: the next owner does not produce them again.
    bool delivered = true;
    for (auto& sink : fanout.outputs) delivered = sink->Flush() && delivered;
    if (dlq) delivered = dlq->Flush() && delivered;
    if (!delivered) {
      state_errors->Add();
      std::fprintf(stderr, "sitepulse: %s: sinks did not deliver; not handing over its state\n",
                   kafka->PartitionName(pid).c_str());
      return;
    }
    const int64_t next = applied_offset.count(pid) ? applied_offset[pid] : -1;
    const absl::Status st = state_store->Put(
        kafka->StateKey(pid), FramePartitionState(next, engines.Save(pid, /*include_open=*/true)));
    if (!st.ok()) {
      state_errors->Add();
      std::fprintf(stderr, "sitepulse: %s: handing over its state failed: %s\n",
                   kafka->PartitionName(pid).c_str(), std::string(st.message()).c_str());
      return;
    }
    if (may_commit && next >= 0) {
      kafka->Commit({{pid, next}}, /*sync=*/true);  // the state covers everything before it
      if (auto q = uncommitted.find(pid); q != uncommitted.end()) q->second.clear();
    }
    std::fprintf(stderr, "sitepulse: %s: %zu sites handed over, up to offset %lld\n",
                 kafka->PartitionName(pid).c_str(), engines.site_count(pid),
                 static_cast<long long>(next));
  };
  // A Kafka partition ends or is handed over: lines its gate still holds are decided now, in
  // the control batch (which has no data of its own).
  auto settle_gate = [&](Batch* b) {
    auto g = gates.find(b->partition);
    if (g == gates.end() || g->second.steady()) return;
    b->end_of_input = true;
    gate_lane.Process(b, &g->second, 0);
    engines.Apply(b->partition, b->lane, b->new_sites, b->delta, b->overflow_names);
    stats.parsed->Add(b->parsed);
    for (int r = 0; r < kNumRejectReasons; ++r) {
      if (b->rejected_by_reason[r] > 0) stats.rejected[r]->Add(b->rejected_by_reason[r]);
    }
    if (dlq) {
      for (const OwnedReject& r : b->owned_rejects) {
        dlq->Write({r.reason, kafka->PartitionName(b->partition), r.line, r.offset, r.bytes.size(),
                    r.bytes});
      }
      stats.dead_letters->Add(b->owned_rejects.size());
    }
  };
  uint64_t split_reported = 0;
  int lanes_done = 0;
  // Never silent: what makes a run blind or wrong is warned about once, as it shows.
  RunWarnings warnings;
  RunCounts seen;  // what only the batches tell (requests, latencies, default-site lines)
  RunWarningContext warning_context;
  warning_context.needs_latency = options.needs_latency;
  warning_context.max_sites = options.engine.max_sites;
  for (size_t i = 0; i < options.inputs.size(); ++i) {
    // An input whose site comes from the config, not the URI: a placeholder.
    if (!formats[i].default_site.empty() && options.inputs[i].uri.Param("site") == nullptr) {
      warning_context.placeholder = formats[i].default_site;
    }
  }
  auto check_warnings = [&](bool final_check) {
    RunCounts c = seen;
    c.lines = stats.lines->value();
    for (int r = 0; r < kNumRejectReasons; ++r) c.rejected_by_reason[r] = stats.rejected[r]->value();
    c.parsed = stats.parsed->value();
    c.late = stats.late->value();
    c.sites = engines.site_count();
    c.sites_over_cap = engines.sites_over_cap();
    CheckRunWarnings(c, warning_context, final_check, &warnings);
    stats.warnings->Set(static_cast<double>(warnings.list().size()));
  };
  while (lanes_done < lanes || !pending.empty()) {
    if (lanes_done < lanes) {
      Batch* b = done.Pop();
      if (b == nullptr) {
        ++lanes_done;
        continue;
      }
      pending.emplace(b->seq, b);
    }
    while (!pending.empty() && pending.begin()->first == next_seq) {
      Batch* b = pending.begin()->second;
      pending.erase(pending.begin());
      ++next_seq;
      const size_t in = static_cast<size_t>(b->input);
      if (b->control != Batch::Control::kNone) {
        // Kafka assignment changes. A partition's watermark counts from its assignment.
        if (b->control == Batch::Control::kTick) {
          // Idle input: commits still happen.
        } else if (b->control == Batch::Control::kEof) {
          at_end[b->partition] = true;
        } else if (b->control == Batch::Control::kAssign) {
          engines.Open(b->partition);
          owned_partitions.insert(b->partition);
          if (state_store) {
            take_over(*b);
            snapshot_bound[b->partition] = engines.closed_before(b->partition);
          }
        } else if (b->control == Batch::Control::kEnd) {
          if (engines.IsOpen(b->partition)) {
            settle_gate(b);
            engines.End(b->partition);
          }
          gates.erase(b->partition);
        } else if (engines.IsOpen(b->partition)) {
          // Revoked (handed over) or lost: this consumer no longer owns the partition's sites.
          // Handed over, its held lines are decided first (the state carries no held lines);
          // lost, they are read again by the next owner (their offsets were not committed).
          if (b->control == Batch::Control::kRevoke) {
            settle_gate(b);
            hand_over(b->partition);
          }
          engines.Drop(b->partition);
          gates.erase(b->partition);  // held lines are read again by the next owner
          uncommitted.erase(b->partition);
          owned_partitions.erase(b->partition);
          applied_offset.erase(b->partition);
          closed_offset.erase(b->partition);
          snapshot_bound.erase(b->partition);
        }
        if (b->control == Batch::Control::kRevoke) kafka->RevokeHandled();
        if (kafka) check_idle();
        if (kafka && std::chrono::steady_clock::now() - last_commit > std::chrono::seconds(1)) {
          commit_done(false);
          last_commit = std::chrono::steady_clock::now();
        }
        free_batches.Push(b);
        continue;
      }

      if (kafka && !engines.IsOpen(b->partition)) engines.Open(b->partition);
      judge_event_time(b, kafka ? b->partition : b->input, kafka ? 0 : lines_before[in]);
      const uint64_t oversized = b->oversized.size();
      stats.lines->Add(b->lines + oversized);
      stats.parsed->Add(b->parsed);
      for (int r = 0; r < kNumRejectReasons; ++r) {
        if (b->rejected_by_reason[r] > 0) stats.rejected[r]->Add(b->rejected_by_reason[r]);
      }
      if (oversized > 0) stats.rejected[static_cast<int>(RejectReason::kLineTooLong)]->Add(oversized);
      uint64_t bytes = b->size;
      for (const MessageView& m : b->messages) bytes += m.size;
      for (const OversizedLine& o : b->oversized) bytes += o.length;
      stats.bytes->Add(bytes);
      const std::string source = kafka ? kafka->PartitionName(b->partition) : sources[in]->name();
      if (dlq) {
        for (const RejectedLine& r : b->rejects) {
          if (r.message != UINT32_MAX) {
            const MessageView& m = b->messages[r.message];
            dlq->Write({r.reason, source, 0, static_cast<uint64_t>(m.offset), r.length,
                        std::string_view(m.data + r.offset, r.length)});
            continue;
          }
          dlq->Write({r.reason, source, lines_before[in] + r.line_index + 1,
                      b->input_offset + r.offset, r.length,
                      std::string_view(b->data.data() + r.offset, r.length)});
        }
        for (size_t k = 0; k < oversized; ++k) {
          const OversizedLine& o = b->oversized[k];
          dlq->Write({RejectReason::kLineTooLong, source, lines_before[in] + b->lines + k + 1,
                      o.offset, o.length, o.head});
        }
        for (const OwnedReject& r : b->owned_rejects) {
          dlq->Write({r.reason, source, r.line, r.offset, r.bytes.size(), r.bytes});
        }
        stats.dead_letters->Add(b->rejects.size() + oversized + b->owned_rejects.size());
      }
      lines_before[in] += b->lines + b->oversized.size();
      seen.access += b->access_lines;
      seen.latency += b->latency_lines;
      seen.default_site += b->default_site_lines;
      if (b->bad_bytes_fields > 0) stats.bad_bytes->Add(b->bad_bytes_fields);

      const uint64_t late_before = engines.late_events();
      if (kafka) {
        if (!engines.IsOpen(b->partition)) engines.Open(b->partition);
        // Input makes the partition active again.
        engines.Apply(b->partition, b->lane, b->new_sites, b->delta, b->overflow_names);
        last_input_ns[b->partition] = SteadyNowNs();
        idle[b->partition] = false;
        at_end[b->partition] = false;
        check_idle();
        for (const auto& [next_offset, newest_bucket] : b->checkpoints) {
          uncommitted[b->partition].push_back({next_offset, newest_bucket});
        }
        if (!b->checkpoints.empty()) applied_offset[b->partition] = b->checkpoints.back().first;
        if (std::chrono::steady_clock::now() - last_commit > std::chrono::seconds(1)) {
          commit_done(false);
          last_commit = std::chrono::steady_clock::now();
        }
      } else {
        engines.Apply(b->input, b->lane, b->new_sites, b->delta, b->overflow_names);
      }
      if (b->end_of_input && !kafka) {
        if (!sources[in]->error().empty()) {
          stats.input_errors->Add();
          std::fprintf(stderr, "sitepulse: %s\n", sources[in]->error().c_str());
        }
        if (!sources[in]->warning().empty()) warnings.Raise("file_truncated", sources[in]->warning());
        // With a state file the end of the input is a pause: open buckets wait in the snapshot.
        if (options.state_file.empty()) engines.End(b->input);
      }
      if ((!options.state_file.empty() || state_store) &&
          std::chrono::steady_clock::now() - last_state_save >
              std::chrono::nanoseconds(options.state_interval)) {
        if (!save_state()) stats.input_errors->Add();
        last_state_save = std::chrono::steady_clock::now();
      }
      stats.late->Add(engines.late_events() - late_before);
      stats.batches->Add();
      check_warnings(false);
      stats.sites->Set(static_cast<double>(engines.site_count()));
      if (engines.split_sites() != split_reported) {
        if (split_reported == 0) {
          std::fprintf(stderr,
                       "sitepulse: a site's lines arrive on two partitions: with a state topic "
                       "the input must be keyed by site (sitepulse_sites_split_across_partitions)\n");
        }
        split_reported = engines.split_sites();
        stats.split->Set(static_cast<double>(split_reported));
      }
      stats.over_cap->Set(static_cast<double>(engines.sites_over_cap()));
      stats.promoted->Set(static_cast<double>(engines.sites_promoted()));
      stats.warming->Set(static_cast<double>(engines.baselines_warming()));
      stats.templates->Set(static_cast<double>(engines.error_templates()));
      stats.templates_over_cap->Set(static_cast<double>(engines.error_templates_over_cap()));
      if (const EventTime w = engines.watermark(); w > INT64_MIN && w < INT64_MAX) {
        stats.watermark->Set(static_cast<double>(w) / 1e9);
      }
      stats.work_depth->Set(static_cast<double>(work.ApproxSize()));
      stats.done_depth->Set(static_cast<double>(done.ApproxSize()));
      health.last_progress_ns.store(SteadyNowNs(), std::memory_order_relaxed);
      health.backlog.store(done.ApproxSize() > 0 || !pending.empty(), std::memory_order_relaxed);
      health.sinks_healthy.store(fanout.SinksHealthy(), std::memory_order_relaxed);
      free_batches.Push(b);
    }
  }
  // The reader last: with Kafka it polls until the final commit below.
  for (std::thread& t : lane_threads) t.join();
  health.inputs_open.store(false);

  for (auto& sink : fanout.outputs) {
    if (!sink->Flush()) {
      ++summary.sink_errors;
      std::fprintf(stderr, "sitepulse: delivering anomalies to %s failed\n", sink->name().c_str());
    }
  }
  if (fanout.stats && !fanout.stats->Flush()) ++summary.sink_errors;
  if (dlq && !dlq->Flush()) ++summary.sink_errors;
  health.sinks_healthy.store(fanout.SinksHealthy());
  // The last snapshot after the sinks delivered, before the last commit (which it bounds).
  if (!save_state()) ++summary.sink_errors;
  commit_done(true);
  if (kafka) kafka->FinalCommitDone();
  if (reader.joinable()) reader.join();
  if (kafka && kafka->failed()) stats.input_errors->Add();
  health.finished.store(true);

  // The summary is what the registry says.
  const MetricsRegistry& m = *options.metrics;
  summary.lines = stats.lines->value();
  summary.parsed = stats.parsed->value();
  for (int r = 0; r < kNumRejectReasons; ++r) {
    summary.rejected_by_reason[r] = stats.rejected[r]->value();
    summary.rejected += summary.rejected_by_reason[r];
  }
  summary.late = stats.late->value();
  summary.bytes = stats.bytes->value();
  summary.dead_letters = stats.dead_letters->value();
  summary.input_errors = stats.input_errors->value();
  summary.buckets = stats.buckets->value();
  summary.anomalies = m.CounterSum("sitepulse_anomalies_total");
  summary.firing = m.CounterSum("sitepulse_anomalies_total", "state", "firing");
  summary.resolved = m.CounterSum("sitepulse_anomalies_total", "state", "resolved");
  summary.sink_retries = m.CounterSum("sitepulse_sink_retries_total");
  summary.events_undelivered = m.CounterSum("sitepulse_sink_events_total", "result", "failed") +
                               m.CounterSum("sitepulse_sink_events_total", "result", "dropped");
  summary.sites = engines.site_count();
  for (const auto& [id, gate] : gates) summary.held += gate.held();
  summary.sites_over_cap = engines.sites_over_cap();
  summary.sites_promoted = engines.sites_promoted();
  summary.baselines_warming = engines.baselines_warming();
  summary.error_templates = engines.error_templates();
  summary.error_templates_over_cap = engines.error_templates_over_cap();
  check_warnings(true);
  summary.warnings = warnings.list();
  summary.bad_bytes_fields = stats.bad_bytes->value();
  summary.cpu_seconds_coordinator = ThreadCpuSeconds() - coordinator_cpu0;
  summary.cpu_seconds_reader = reader_cpu.seconds();
  summary.cpu_seconds_lanes = lanes_cpu.seconds();
  summary.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return summary;
}

}  // namespace sitepulse
