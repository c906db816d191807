#include "app/replay.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "app/config_reload.h"
#include "app/heal_config.h"
#include "heal/deploy_marker.h"
#include "app/replay_report.h"
#include "app/replay_score.h"
#include "app/run_options.h"
#include "core/json_writer.h"
#include "core/strings.h"
#include "heal/healer.h"

namespace sitepulse {
namespace {

constexpr const char* kReplayHelp =
    "usage: sitepulse replay --config A.yaml [--compare B.yaml] --input URI... [--labels L.jsonl]\n"
    "                        --report report.html [--json summary.json] [--events FILE]\n"
    "                        [--compare-events FILE] [--deploys DEPLOYS.jsonl]\n"
    "                        [--heal HEAL.yaml] [--threads N] [--progress auto|always|never]\n"
    "                        [--fail-under recall=R] [--max-false-pages N] [--max-charts N]\n"
    "\n"
    "Runs the configuration over the inputs with the same engine as `run` (events identical),\n"
    "scores it against known incidents (--labels: {site,start,end,kind} JSON lines), and writes\n"
    "a self-contained HTML report (and a JSON summary; --events: A's anomaly events as JSON\n"
    "lines). --heal runs those heal rules in shadow mode on A's events and shows what they\n"
    "would have done. --compare evaluates B over the same inputs, in the same pass when B\n"
    "differs only in its detectors (--compare-events: B's events), and shows both side by\n"
    "side. --deploys marks deploys on the charts ({site,version,previous_version,at} lines,\n"
    "as heal reads them). Exit 4 when --fail-under or --max-false-pages is not met.\n"
    "Progress: on a terminal one status line on stderr (auto); always: JSON lines (CI logs).\n";

int Fail(const std::string& msg) {
  std::fprintf(stderr, "sitepulse replay: %s\n", msg.c_str());
  return 2;
}

struct ReplayArgs {
  std::string config, compare, labels, report, json, threads, events, heal, compare_events, deploys;
  std::string progress = "auto";
  std::vector<std::string> inputs;
  std::optional<double> min_recall;
  std::optional<uint64_t> max_false_pages;
  size_t max_charts = 50;
};

std::optional<int> Parse(const std::vector<std::string>& args, ReplayArgs* a) {
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& f = args[i];
    if (f == "--help" || f == "-h") {
      std::fputs(kReplayHelp, stdout);
      return 0;
    }
    if (i + 1 >= args.size()) return Fail(StrCat("'", f, "' needs a value\n\n", kReplayHelp));
    const std::string v = args[++i];
    uint64_t n = 0;
    double r = 0;
    if (f == "--config") a->config = v;
    else if (f == "--compare") a->compare = v;
    else if (f == "--input") a->inputs.push_back(v);
    else if (f == "--labels") a->labels = v;
    else if (f == "--report") a->report = v;
    else if (f == "--json") a->json = v;
    else if (f == "--events") a->events = v;
    else if (f == "--compare-events") a->compare_events = v;
    else if (f == "--deploys") a->deploys = v;
    else if (f == "--heal") a->heal = v;
    else if (f == "--progress" && (v == "auto" || v == "always" || v == "never")) a->progress = v;
    else if (f == "--threads") a->threads = v;
    else if (f == "--fail-under" && v.rfind("recall=", 0) == 0 && absl::SimpleAtod(v.substr(7), &r) && r >= 0 && r <= 1) a->min_recall = r;
    else if (f == "--max-false-pages" && absl::SimpleAtoi(v, &n)) a->max_false_pages = n;
    else if (f == "--max-charts" && absl::SimpleAtoi(v, &n)) a->max_charts = n;
    else return Fail(StrCat("bad argument '", f, " ", v, "'\n\n", kReplayHelp));
  }
  if (a->config.empty() || a->inputs.empty() || a->report.empty()) {
    return Fail(StrCat("--config, --input and --report are required\n\n", kReplayHelp));
  }
  if ((a->min_recall || a->max_false_pages) && a->labels.empty()) {
    return Fail("--fail-under and --max-false-pages need --labels");
  }
  return std::nullopt;
}

std::string FileHash(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const uint64_t h = Fnv1a64(ss.str());  // identifies the file, not a security hash
  char buf[20];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) {
    if (!l.empty()) out.push_back(l);
  }
  return out;
}

// One configuration over the inputs, as `run` would do it; its events and (for A) its stats.
struct Pass {
  ReplayRun run;
  RunSummary summary;
  DurationNs resolution = 0;
};

// What the report charts, bounded (app/replay_series.h): per site the metrics of every closed
// bucket, per (site, detector) of A a learned band and pending spans, and the time span.
// The pipeline's coordinator thread calls both hooks.
class SeriesCollector : public EvaluationObserver {
 public:
  explicit SeriesCollector(size_t cap) : cap_(cap) {}
  void AddBucket(const ClosedBucketView& b) {
    const double seconds = static_cast<double>(b.end - b.start) / 1e9;
    StatsPoint p;
    p.start = b.start;
    const auto requests = static_cast<double>(b.counters->requests);
    if (requests > 0) p.error_rate = static_cast<float>(static_cast<double>(b.counters->errors_5xx) / requests);
    p.request_rate = static_cast<float>(requests / seconds);
    p.error_log_rate = static_cast<float>(static_cast<double>(b.counters->error_log_lines()) / seconds);
    if (!b.latency->empty()) p.p99 = static_cast<float>(b.latency->Quantile(*b.mapping, 0.99));
    from = std::min(from, b.start);
    to = std::max(to, b.end);
    by_site[ToAbsl(b.site)].Add(p, cap_);  // buckets close in time order
  }
  void OnEvaluation(std::string_view site, const DetectorSpec& spec, EventTime now,
                    const DetectorOutcome& o, AlertPhase phase) override {
    auto& per_site = traces[ToAbsl(site)];
    auto it = per_site.find(spec.name);
    if (it == per_site.end()) it = per_site.emplace(spec.name, DetectorTrace{}).first;
    DetectorTrace& t = it->second;
    if (o.baseline && o.warm) {
      t.band.Add({now - resolution_, static_cast<float>(*o.baseline), static_cast<float>(o.threshold)}, cap_);
    }
    const bool pending = phase == AlertPhase::kPending;
    if (pending && t.pending_since == INT64_MIN) {
      t.pending_since = now;
    } else if (!pending && t.pending_since != INT64_MIN) {
      if (t.pending.size() < DetectorTrace::kMaxPendingSpans) t.pending.emplace_back(t.pending_since, now);
      else ++t.pending_not_kept;
      t.pending_since = INT64_MIN;
    }
  }
  void set_resolution(DurationNs r) { resolution_ = r; }

  absl::flat_hash_map<std::string, BoundedSeries<StatsPoint>> by_site;
  absl::flat_hash_map<std::string, std::map<std::string, DetectorTrace>> traces;
  EventTime from = INT64_MAX, to = INT64_MIN;

 private:
  size_t cap_;
  DurationNs resolution_ = 0;
};

// Progress while a pass runs: bytes done of total, lines/s, event time reached, ETA. On a
// terminal one line rewritten at most 10 times a second; `always`: a JSON line a second.
class Progress {
 public:
  Progress(const std::string& mode, const std::string& name, uint64_t total_bytes,
           const MetricsRegistry* metrics)
      : json_(mode == "always"), on_(mode == "always" || (mode == "auto" && isatty(2))),
        name_(name), total_(total_bytes), metrics_(metrics) {
    if (on_) thread_ = std::thread([this] { Loop(); });
  }
  ~Progress() {
    if (!on_) return;
    stop_.store(true);
    thread_.join();
    Print();  // where the pass ended
    if (!json_) std::fputs("\n", stderr);
  }

 private:
  void Loop() {
    while (!stop_.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(json_ ? 1000 : 100));
      if (!stop_.load()) Print();
    }
  }
  void Print() {
    {
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
      const double bytes = static_cast<double>(metrics_->CounterSum("sitepulse_bytes_read_total"));
      const double lines = static_cast<double>(metrics_->CounterSum("sitepulse_lines_total"));
      const double rate = secs > 0 ? bytes / secs : 0;
      const double eta = rate > 0 && static_cast<double>(total_) > bytes ? (static_cast<double>(total_) - bytes) / rate : 0;
      const double wm = watermark_->value();
      const std::string reached = wm > 0 ? FormatRfc3339(static_cast<EventTime>(wm * 1e9)) : "-";
      if (json_) {
        std::fprintf(stderr, "{\"progress\":\"%s\",\"bytes\":%.0f,\"total_bytes\":%llu,\"lines_per_s\":%.0f,\"event_time\":\"%s\",\"eta_s\":%.0f}\n",
                     name_.c_str(), bytes, static_cast<unsigned long long>(total_), secs > 0 ? lines / secs : 0,
                     reached.c_str(), eta);
      } else {
        std::fprintf(stderr, "\r%s: %5.1f%% of %.0f MB, %.0f lines/s, at %s, ETA %.0f s   ", name_.c_str(),
                     total_ > 0 ? 100 * bytes / static_cast<double>(total_) : 0, static_cast<double>(total_) / 1e6,
                     secs > 0 ? lines / secs : 0, reached.c_str(), eta);
      }
    }
  }
  const std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();
  bool json_, on_;
  std::string name_;
  uint64_t total_;
  const MetricsRegistry* metrics_;
  Gauge* watermark_ = const_cast<MetricsRegistry*>(metrics_)->GetGauge("sitepulse_watermark_seconds", "Event-time watermark, Unix seconds");
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

uint64_t InputBytes(const std::vector<PipelineInput>& inputs) {
  uint64_t total = 0;
  for (const PipelineInput& in : inputs) {
    std::error_code ec;
    if (in.uri.scheme == "file") total += std::filesystem::file_size(in.uri.target, ec);
  }
  return total;
}

// B's events in a one-pass compare (the coordinator's thread).
class EventCollector : public AnomalyListener {
 public:
  void OnAnomaly(const Anomaly& a) override { events.push_back(a); }
  std::vector<Anomaly> events;
};

struct LoadedConfig {
  std::string name, path;
  Config config;
};

absl::StatusOr<LoadedConfig> Load(const std::string& name, const std::string& path) {
  ConfigResult c = LoadConfig(path);
  if (!c.ok()) return absl::InvalidArgumentError(c.FormatErrors());
  c.config.state_file.clear();  // a backtest never reads or writes the live state
  c.config.state_topic.clear();
  return LoadedConfig{name, path, std::move(c.config)};
}

// One pipeline run over the inputs: `main`'s detectors to NAME-events.jsonl (and, with
// `series`, the series it charts); with `compare`, its detectors over the same windows too.
absl::StatusOr<std::vector<Pass>> RunOnce(LoadedConfig main, const LoadedConfig* compare,
                                          const ReplayArgs& a, const std::string& dir,
                                          SeriesCollector* series) {
  RunOverrides o;
  o.inputs = a.inputs;
  o.outputs = {StrCat("file:", dir, "/", main.name, "-events.jsonl")};
  o.threads = a.threads;
  absl::StatusOr<PipelineOptions> opt = BuildPipelineOptions(main.config, o);
  if (!opt.ok()) return opt.status();
  for (PipelineInput& in : opt->inputs) {
    if (in.uri.scheme != "kafka") continue;
    // A backtest never moves a group's offsets; without a group it reads as a group of its own
    // (from the beginning unless start= says otherwise).
    if (in.uri.Param("commit") == nullptr) in.uri.params.emplace_back("commit", "false");
    if (in.uri.Param("group") == nullptr) {
      in.uri.params.emplace_back("group", StrCat("sitepulse-replay-", getpid(), "-", main.name));
      if (in.uri.Param("start") == nullptr) in.uri.params.emplace_back("start", "earliest");
    }
  }
  if (series != nullptr) {
    opt->on_bucket = [series](const ClosedBucketView& b) { series->AddBucket(b); };
    opt->engine.observer = series;
    series->set_resolution(opt->engine.resolution);
  }
  if (opt->inputs.size() == 1 && opt->inputs[0].uri.scheme == "kafka") opt->exit_at_end = true;
  EventCollector compare_events;
  if (compare != nullptr) {
    opt->engine.compare = true;
    opt->engine.compare_detectors = compare->config.detectors;
    opt->engine.compare_site_detectors = compare->config.site_detectors;
    opt->compare_listener = &compare_events;
  }
  MetricsRegistry metrics;
  opt->metrics = &metrics;
  absl::StatusOr<RunSummary> summary;
  {
    Progress progress(a.progress, StrCat("replay ", main.name, compare ? "+" + compare->name : ""),
                      InputBytes(opt->inputs), &metrics);
    summary = RunPipeline(*opt, nullptr);
  }
  if (!summary.ok()) return summary.status();
  std::vector<Pass> passes(compare != nullptr ? 2 : 1);
  for (size_t i = 0; i < passes.size(); ++i) {
    const LoadedConfig& c = i == 0 ? main : *compare;
    Pass& p = passes[i];
    p.summary = *summary;
    p.resolution = opt->engine.resolution;
    p.run.name = c.name;
    p.run.config_path = c.path;
    p.run.config_hash = FileHash(c.path);
    p.run.detectors = c.config.detectors;
  }
  for (const std::string& line : ReadLines(StrCat(dir, "/", main.name, "-events.jsonl"))) {
    absl::StatusOr<Anomaly> e = AnomalyFromJson(line);
    if (e.ok()) passes[0].run.events.push_back(*e);
  }
  if (compare != nullptr) passes[1].run.events = std::move(compare_events.events);
  return passes;
}

// A, and B if asked for: in one pass when B differs from A only in its detectors (the same
// sites overridden, so site admission is the same), else one pass each. `how` says which.
absl::StatusOr<std::vector<Pass>> RunPasses(const ReplayArgs& a, const std::string& dir,
                                            SeriesCollector* series, std::string* how) {
  absl::StatusOr<LoadedConfig> main = Load("A", a.config);
  if (!main.ok()) return main.status();
  if (a.compare.empty()) {
    *how = "one pass";
    return RunOnce(*main, nullptr, a, dir, series);
  }
  absl::StatusOr<LoadedConfig> other = Load("B", a.compare);
  if (!other.ok()) return other.status();
  std::string key = RestartOnlyChange(main->config, other->config);
  if (key.empty()) {
    for (const auto& [site, specs] : main->config.site_detectors) {
      if (!other->config.site_detectors.contains(site)) key = "sites";
    }
    if (main->config.site_detectors.size() != other->config.site_detectors.size()) key = "sites";
  }
  if (key.empty()) {
    *how = "one pass, both configurations over the same windows";
    return RunOnce(*main, &*other, a, dir, series);
  }
  *how = StrCat("two passes (B differs from A in ", key, ", not only in its detectors)");
  absl::StatusOr<std::vector<Pass>> passes = RunOnce(*main, nullptr, a, dir, series);
  if (!passes.ok()) return passes;
  absl::StatusOr<std::vector<Pass>> second = RunOnce(*other, nullptr, a, dir, nullptr);
  if (!second.ok()) return second.status();
  passes->push_back(std::move((*second)[0]));
  return passes;
}

// The heal rules in shadow mode over the events, with the event clock and a ledger in memory.
absl::Status ShadowHeal(const std::string& path, const std::vector<Anomaly>& events,
                        ReplayReportInput* in) {
  HealConfigResult c = LoadHealConfig(path);
  if (!c.ok()) return absl::InvalidArgumentError(c.FormatErrors());
  c.config.shadow = true;
  c.config.escalate.clear();  // a backtest pages nobody
  absl::StatusOr<std::unique_ptr<Ledger>> ledger = Ledger::Open(":memory:");
  if (!ledger.ok()) return ledger.status();
  MetricsRegistry metrics;
  ActionRunner runner;
  {
    Healer healer(c.config, ledger->get(), &runner, Healer::Outputs{}, &metrics, /*event_clock=*/true);
    healer.Recover(0);
    EventTime now = INT64_MIN;
    for (const Anomaly& e : events) {
      now = std::max(now, e.at);
      healer.OnEvent(e, now);
    }
  }
  in->has_heal = true;
  in->heal_path = path;
  in->heal_decisions = (*ledger)->Decisions("", INT64_MIN, INT64_MAX);
  return absl::OkStatus();
}

// Deploy markers by site, as heal reads them (heal/deploy_marker.h); a bad line is an error
// naming it.
absl::Status ReadDeploys(const std::string& path, ReplayReportInput* in) {
  std::ifstream file(path);
  if (!file) return absl::NotFoundError(StrCat("cannot read ", path));
  if (absl::Status st = CheckSideFile(path, "deploys"); !st.ok()) return st;
  size_t n = 0, kept = 0;
  for (std::string line; std::getline(file, line);) {
    ++n;
    if (line.empty()) continue;
    absl::StatusOr<LedgerDeploy> d = DeployFromJson(line);
    if (!d.ok()) return absl::InvalidArgumentError(StrCat(path, ":", n, ": ", d.status().message()));
    if (++kept > kMaxSideFileEntries) {
      return absl::InvalidArgumentError(StrCat(path, ":", n, ": more than ", kMaxSideFileEntries, " deploys"));
    }
    in->deploys[d->site].push_back(*d);
  }
  return absl::OkStatus();
}

// Without labels only what the events alone tell (nothing is known to be missed or false).
std::string ScoreJson(const Score& s, bool labels) {
  std::string out;
  JsonObjectWriter w(&out);
  w.Uint("fired", s.fired).Uint("pages", s.pages).Number("pages_per_day", s.pages_per_day)
      .Number("median_alert_s", s.median_alert_s);
  if (labels) {
    w.Uint("detected", s.detected).Uint("missed", s.missed).Uint("false_pages", s.false_pages)
        .Number("recall", s.recall()).Number("median_ttd_s", s.median_ttd_s)
        .Number("worst_ttd_s", s.worst_ttd_s);
  }
  w.Close();
  return out;
}

std::string SummaryJson(const ReplayReportInput& in) {
  std::string runs = "[";
  for (const ReplayRun& r : in.runs) {
    if (runs.size() > 1) runs += ",";
    std::string det;
    JsonObjectWriter dw(&det);
    for (const Score& s : r.score.detectors) dw.Raw(s.detector, ScoreJson(s, in.has_labels));
    dw.Close();
    std::string item;
    JsonObjectWriter w(&item);
    w.String("name", r.name).String("config", r.config_path).String("config_hash", r.config_hash)
        .Uint("events", r.events.size()).Raw("detectors", det).Raw("overall", ScoreJson(r.score.overall, in.has_labels));
    w.Close();
    runs += item;
  }
  std::string out;
  JsonObjectWriter w(&out);
  w.Int("v", 1).String("passes", in.passes).Uint("lines", in.lines).String("from", FormatRfc3339(in.from))
      .String("to", FormatRfc3339(in.to)).Uint("labels", in.labels.size()).Raw("runs", runs + "]");
  if (in.has_heal) {
    std::map<std::string, uint64_t> outcomes;
    for (const LedgerDecision& d : in.heal_decisions) ++outcomes[d.outcome];
    std::string h;
    JsonObjectWriter hw(&h);
    for (const auto& [o, n] : outcomes) hw.Uint(o, n);
    hw.Close();
    w.Raw("heal_shadow", h);
  }
  w.Close();
  return out + "\n";
}

}  // namespace

int ReplayMain(const std::vector<std::string>& args) {
  ReplayArgs a;
  if (std::optional<int> exit = Parse(args, &a)) return *exit;
  ReplayReportInput in;
  if (!a.labels.empty()) {
    absl::StatusOr<std::vector<Label>> labels = ReadLabels(a.labels);
    if (!labels.ok()) return Fail(std::string(labels.status().message()));
    in.labels = *labels;
    in.has_labels = true;
  }
  if (!a.deploys.empty()) {
    if (absl::Status st = ReadDeploys(a.deploys, &in); !st.ok()) return Fail(std::string(st.message()));
  }
  const std::string dir = StrCat(std::filesystem::temp_directory_path().string(), "/sitepulse-replay-", getpid());
  std::filesystem::create_directories(dir);
  struct Cleanup {
    std::string d;
    ~Cleanup() { std::filesystem::remove_all(d); }
  } cleanup{dir};
  std::string how;
  SeriesCollector series(in.max_points);
  absl::StatusOr<std::vector<Pass>> ran = RunPasses(a, dir, &series, &how);
  if (!ran.ok()) return Fail(std::string(ran.status().message()));
  std::vector<Pass>& passes = *ran;
  in.passes = how;
  if (!a.events.empty()) {
    std::error_code ec;
    std::filesystem::copy_file(dir + "/A-events.jsonl", a.events,
                               std::filesystem::copy_options::overwrite_existing, ec);
    if (ec) return Fail(StrCat("cannot write ", a.events, ": ", ec.message()));
  }
  if (!a.compare_events.empty() && passes.size() > 1) {
    std::ofstream out(a.compare_events);
    for (const Anomaly& e : passes[1].run.events) out << AnomalyToJson(e) << "\n";
    if (!out) return Fail(StrCat("cannot write ", a.compare_events));
  }
  in.inputs = a.inputs;
  in.lines = passes[0].summary.lines;
  in.resolution = passes[0].resolution;
  in.max_charts = a.max_charts;
  in.from = series.from;
  in.to = series.to;
  for (auto& [site, points] : series.by_site) in.stats.emplace(site, std::move(points));
  for (auto& [site, traces] : series.traces) {
    for (auto& [name, t] : traces) {
      // Still pending at the end of the input.
      if (t.pending_since != INT64_MIN) t.pending.emplace_back(t.pending_since, series.to);
    }
    in.traces.emplace(site, std::move(traces));
  }
  if (in.from > in.to) in.from = in.to = 0;
  const double span_s = static_cast<double>(in.to - in.from) / 1e9;
  for (Pass& p : passes) {
    p.run.incidents = IncidentsOf(p.run.events, in.to);
    std::vector<std::string> names;
    for (const DetectorSpec& d : p.run.detectors) names.push_back(d.name);
    p.run.score = ScoreReplay(p.run.incidents, in.labels, names, in.resolution, span_s);
    in.runs.push_back(p.run);
  }
  if (!a.heal.empty()) {
    if (absl::Status st = ShadowHeal(a.heal, in.runs[0].events, &in); !st.ok()) {
      return Fail(std::string(st.message()));
    }
  }
  {
    std::ofstream out(a.report);
    out << RenderReplayReport(in);
    if (!out) return Fail(StrCat("cannot write ", a.report));
  }
  const std::string summary = SummaryJson(in);
  if (!a.json.empty()) {
    std::ofstream out(a.json);
    out << summary;
    if (!out) return Fail(StrCat("cannot write ", a.json));
  }
  std::fputs(summary.c_str(), stderr);
  const Score& overall = in.runs[0].score.overall;
  bool failed = false;
  if (a.min_recall && overall.recall() < *a.min_recall) {
    std::fprintf(stderr, "sitepulse replay: recall %.3f is under %.3f (%llu of %llu incidents missed)\n",
                 overall.recall(), *a.min_recall, static_cast<unsigned long long>(overall.missed),
                 static_cast<unsigned long long>(overall.detected + overall.missed));
    failed = true;
  }
  if (a.max_false_pages && overall.false_pages > *a.max_false_pages) {
    std::fprintf(stderr, "sitepulse replay: %llu false pages, more than %llu\n",
                 static_cast<unsigned long long>(overall.false_pages),
                 static_cast<unsigned long long>(*a.max_false_pages));
    failed = true;
  }
  return failed ? 4 : 0;
}

}  // namespace sitepulse
