#include "app/cli.h"

#include <csignal>
#include <cstdio>
#include <thread>

#include "absl/strings/numbers.h"
#include "core/strings.h"
#include "app/config.h"
#include "app/config_reload.h"
#include "app/http_endpoint.h"
#include "app/pipeline.h"
#include "app/heal_cli.h"
#include "app/heal_config.h"
#include "app/replay.h"
#include "app/run_options.h"
#include "app/series.h"
#include "app/timeline.h"
#include "core/log.h"
#include "detect/detector_kind.h"

#ifndef SITEPULSE_VERSION
#define SITEPULSE_VERSION "0.0.0"
#endif

namespace sitepulse {
namespace {

constexpr const char* kMainHelp =
    "sitepulse: per-site latency, error and traffic anomalies from web access and error logs\n"
    "\n"
    "usage: sitepulse <command> [options]\n"
    "\n"
    "commands:\n"
    "  run     read logs, keep windows, run detectors, publish anomaly events\n"
    "  check   validate a configuration file\n"
    "  series  run one detector over a timestamp,value CSV (exported metrics, NAB)\n"
    "  heal    act on anomaly events with guardrails, verify, undo, escalate (docs/heal.md)\n"
    "  timeline  a postmortem draft of an incident from the events, the heal ledger, the stats\n"
    "  replay  backtest a configuration on history: score, compare, an HTML report (docs/replay.md)\n"
    "\n"
    "  sitepulse <command> --help   options of a command\n"
    "  sitepulse --version          print the version\n";

constexpr const char* kRunHelp =
    "usage: sitepulse run [--config FILE] [--input URI]... [--output URI]... [--stats URI]\n"
    "                     [--dlq URI] [--threads N]\n"
    "\n"
    "  --config FILE   YAML configuration (see configs/); without it, built-in defaults and no\n"
    "                  detectors\n"
    "  --input URI     file:PATH, a bare PATH, - for stdin, or\n"
    "                  kafka://HOST:PORT[,HOST:PORT]/TOPIC[,TOPIC]?group=G; optional ?kind=access|error\n"
    "                  &preset=NAME&site=NAME override the config. Repeatable; replaces the\n"
    "                  config's inputs. Presets: nginx caddy envoy ecs json combined json_error\n"
    "                  error_text\n"
    "  --output URI    where anomaly events go: stdout, file:PATH (JSON lines),\n"
    "                  kafka://HOST:PORT/TOPIC (keyed by site), alertmanager+http(s)://HOST:PORT,\n"
    "                  webhook+http(s)://HOST:PORT/PATH.\n"
    "                  Repeatable; replaces the config's outputs. Default: stdout\n"
    "  --stats URI     one JSON line per site per closed bucket (counts, p50..p999)\n"
    "  --dlq URI       rejected lines with their reason and raw bytes (JSON lines)\n"
    "  --threads N     parse lanes (default: the config's pipeline.threads, else every core)\n"
    "  --listen H:P    serve /metrics, /healthz, /readyz (config: listen; default off for files,\n"
    "                  127.0.0.1:9468 with a Kafka input; --listen off turns it off)\n"
    "                  With --config, SIGHUP and POST /-/reload there reload its detectors:\n"
    "                  and sites: (checked first; unchanged detectors keep their state;\n"
    "                  docs/configuration.md, \"Reloading a running configuration\")\n"
    "  --state FILE    snapshots of windows, alerts and learned baselines (config: state.file):\n"
    "                  restored at start if FILE exists, written every state.interval (1m) and\n"
    "                  at the end; the end of a file input then pauses (open buckets are kept)\n"
    "  --state kafka:TOPIC  Kafka inputs: the same, per partition, in a compacted topic on the\n"
    "                  input's brokers (config: state.topic); it also hands a partition's state\n"
    "                  to its next owner when the consumer group rebalances\n"
    "                  Kafka without --state: the windows' snapshots are kept in the topic\n"
    "                  sitepulse-state (key GROUP/engine:TOPICS) while one instance owns every\n"
    "                  partition, so a crash loses nothing on any topic; --state none opts out\n"
    "  --exit-at-end   Kafka: stop at the end offsets seen at start (a backfill), close the\n"
    "                  buckets, emit, commit, exit 0\n"
    "  --partials kafka://HOST:PORT/TOPIC[?id=NAME]  stage 1 of a two-stage run (a topic not\n"
    "                  keyed by site): no detectors; every closed bucket goes to TOPIC as a\n"
    "                  partial record keyed by site, in Kafka transactions with the input\n"
    "                  offsets (id: the transactional id's suffix, stable per instance).\n"
    "                  Stage 2 reads them: --input 'kafka://HOST:PORT/TOPIC?kind=partials'\n"
    "                  (docs/kafka.md, \"Two stages\")\n"
    "  --strict        exit 3 when a warning was raised (most lines rejected, no latency for a\n"
    "                  latency detector, every line on a placeholder site, a file truncated\n"
    "                  under the reader, sites folded past the cap, future lines, many late)\n"
    "  --log-level L   debug, info (default), warning or error: what goes to stderr\n"
    "\n"
    "With file and stdin inputs the run closes every bucket at the end of input, evaluates the\n"
    "detectors, flushes the sinks and exits 0. The last line on stderr is a JSON summary.\n";

// run --help: the fixed text, then the detector kinds from their table.
std::string RunHelpText() {
  std::string out = kRunHelp;
  out += "\nDetector kinds (a detector's `type:`; their keys: sitepulse check --kinds):\n";
  for (const DetectorKind* k : DetectorKinds()) {
    out += StrCat("  ", k->name, std::string(k->name.size() < 20 ? 20 - k->name.size() : 1, ' '),
                  k->doc, "\n");
  }
  return out;
}

constexpr const char* kCheckHelp =
    "usage: sitepulse check --config FILE\n"
    "       sitepulse check --kinds\n"
    "\n"
    "Validates FILE (a run config, or a heal file: docs/heal.md). Exit 0 when it is valid;\n"
    "exit 1 with every error printed as\n"
    "FILE:LINE: key.path: what is wrong\n"
    "--kinds lists the detector kinds with their keys (required ones marked *).\n";

// check --kinds: every kind of the table with its keys.
void PrintKinds() {
  for (const DetectorKind* k : DetectorKinds()) {
    std::string keys;
    for (const DetectorOption& o : k->options) {
      const bool required = std::find(k->required.begin(), k->required.end(), o.key) != k->required.end();
      keys += StrCat(keys.empty() ? "" : ", ", o.key, required ? "*" : "");
    }
    std::printf("%s: %s\n  keys: name*, type, %s\n", std::string(k->name).c_str(),
                std::string(k->doc).c_str(), keys.c_str());
  }
}

std::atomic<bool> g_stop{false};
constexpr const char* kDefaultKafkaListen = "127.0.0.1:9468";
extern "C" void OnSignal(int) { g_stop.store(true); }

int Usage(const char* msg, const char* help) {
  std::fprintf(stderr, "sitepulse: %s\n\n%s", msg, help);
  return 2;
}

// Pulls "--flag value" or "--flag=value" from args[i]; advances i.
bool FlagValue(const std::vector<std::string>& args, size_t* i, const std::string& flag,
               std::string* value) {
  const std::string& a = args[*i];
  if (a == flag) {
    if (*i + 1 >= args.size()) return false;
    *value = args[++*i];
    return true;
  }
  if (a.rfind(flag + "=", 0) == 0) {
    *value = a.substr(flag.size() + 1);
    return true;
  }
  return false;
}

int Check(const std::vector<std::string>& args) {
  std::string config_path;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--help" || args[i] == "-h") {
      std::fputs(kCheckHelp, stdout);
      return 0;
    }
    if (args[i] == "--kinds") {
      PrintKinds();
      return 0;
    }
    if (!FlagValue(args, &i, "--config", &config_path)) {
      return Usage(StrCat("check: unknown argument '", args[i], "'").c_str(), kCheckHelp);
    }
  }
  if (config_path.empty()) return Usage("check: --config FILE is required", kCheckHelp);
  // A heal file (top-level heal: or rules:) is checked as one.
  std::string text;
  std::vector<ConfigError> read_errors;
  if (ReadConfigText(config_path, &text, &read_errors) && LooksLikeHealConfig(text)) {
    const HealConfigResult h = ParseHealConfigString(text, config_path);
    if (!h.ok()) {
      std::fputs(h.FormatErrors().c_str(), stderr);
      return 1;
    }
    std::printf("%s: ok (heal file: %zu rules, mode %s)\n", config_path.c_str(),
                h.config.rules.size(), h.config.shadow ? "shadow" : "enforce");
    return 0;
  }
  ConfigResult r = LoadConfig(config_path);
  if (!r.ok()) {
    std::fputs(r.FormatErrors().c_str(), stderr);
    return 1;
  }
  std::printf("%s: ok (%zu inputs, %zu detectors, %zu site overrides)\n", config_path.c_str(),
              r.config.inputs.size(), r.config.detectors.size(), r.config.site_detectors.size());
  return 0;
}

// --listen / listen: and the Kafka default: the endpoint is bound only once every input and
// sink opened (RunPipeline calls what this returns), so a run that fails to start never takes
// the port. A busy default port is a warning, not a failure; an explicit address must work.
std::function<absl::Status()> BindWhenOpened(const std::string& listen,
                                             const std::vector<PipelineInput>& inputs, Config* cfg,
                                             MetricsRegistry* metrics, PipelineHealth* health,
                                             std::unique_ptr<HttpEndpoint>* endpoint,
                                             std::vector<HttpEndpoint::PostRoute> posts) {
  Config& c = *cfg;
  if (!listen.empty()) c.listen = listen == "off" ? "" : listen;
  // Kafka mode is a long-running service: the endpoint is on by default there (loopback).
  bool default_listen = false;
  if (listen.empty() && c.listen.empty()) {
    for (const PipelineInput& in : inputs) {
      if (in.uri.scheme == "kafka") default_listen = true;
    }
    if (default_listen) c.listen = kDefaultKafkaListen;
  }
  return [address = c.listen, default_listen, metrics, health, endpoint,
          posts = std::move(posts)]() -> absl::Status {
    if (address.empty()) return absl::OkStatus();
    HttpEndpoint::Options http;
    http.listen = address;
    http.posts = posts;
    *endpoint = std::make_unique<HttpEndpoint>(http, metrics, health);
    if (absl::Status st = (*endpoint)->Start(); !st.ok()) {
      if (!default_listen) return st;
      SP_LOG(kWarning, "cli", "%s; running without /metrics (set --listen)",
                   std::string(st.message()).c_str());
      endpoint->reset();
    } else {
      const std::string host = address.substr(0, address.rfind(':'));
      SP_LOG(kInfo, "cli", "serving /metrics, /healthz, /readyz on %s:%d",
                   host.c_str(), (*endpoint)->port());
    }
    return absl::OkStatus();
  };
}

// A detector that reads latency is configured (a run without latencies is then warned about).
int Run(const std::vector<std::string>& args) {
  std::string config_path, stats, dlq, threads_arg, listen;
  std::vector<std::string> inputs, outputs;
  bool exit_at_end = false;
  bool strict = false;
  std::string state_file, partials;
  for (size_t i = 1; i < args.size(); ++i) {
    std::string v;
    if (args[i] == "--help" || args[i] == "-h") {
      std::fputs(RunHelpText().c_str(), stdout);
      return 0;
    }
    if (args[i] == "--strict") strict = true;
    else if (FlagValue(args, &i, "--config", &v)) config_path = v;
    else if (FlagValue(args, &i, "--input", &v)) inputs.push_back(v);
    else if (FlagValue(args, &i, "--output", &v)) outputs.push_back(v);
    else if (FlagValue(args, &i, "--stats", &v)) stats = v;
    else if (FlagValue(args, &i, "--dlq", &v)) dlq = v;
    else if (FlagValue(args, &i, "--threads", &v)) threads_arg = v;
    else if (FlagValue(args, &i, "--listen", &v)) listen = v;
    else if (args[i] == "--exit-at-end") exit_at_end = true;
    else if (FlagValue(args, &i, "--state", &v)) state_file = v;
    else if (FlagValue(args, &i, "--partials", &v)) partials = v;
    else if (FlagValue(args, &i, "--log-level", &v)) {
      LogSeverity level;
      if (!ParseLogSeverity(v, &level)) {
        return Usage("run: --log-level must be debug, info, warning or error", RunHelpText().c_str());
      }
      SetLogLevel(level);
    }
    else return Usage(StrCat("run: unknown or incomplete argument '", args[i], "'").c_str(), RunHelpText().c_str());
  }

  ConfigResult r;
  if (!config_path.empty()) {
    r = LoadConfig(config_path);
    if (!r.ok()) {
      std::fputs(r.FormatErrors().c_str(), stderr);
      return 1;
    }
  }
  Config& c = r.config;
  RunOverrides overrides;
  overrides.inputs = inputs;
  overrides.outputs = outputs;
  overrides.stats = stats;
  overrides.dlq = dlq;
  overrides.threads = threads_arg;
  overrides.state_file = state_file;
  overrides.exit_at_end = exit_at_end;
  overrides.partials = partials;
  absl::StatusOr<PipelineOptions> built = BuildPipelineOptions(c, overrides);
  if (!built.ok()) {
    if (absl::IsInvalidArgument(built.status())) {
      return Usage(StrCat("run: ", built.status().message()).c_str(), RunHelpText().c_str());
    }
    std::fprintf(stderr, "sitepulse: %s\n", std::string(built.status().message()).c_str());
    return 1;
  }
  PipelineOptions& opt = *built;
  auto fail = [](const std::string& msg) {
    std::fprintf(stderr, "sitepulse: %s\n", msg.c_str());
    return 1;
  };
  MetricsRegistry metrics;
  PipelineHealth health;
  opt.metrics = &metrics;
  opt.health = &health;
  // Live reload (SIGHUP, POST /-/reload) of the configuration file, if there is one.
  std::unique_ptr<ConfigReloader> reloader;
  std::unique_ptr<ReloadOnSighup> on_sighup;
  if (!config_path.empty()) {
    reloader = std::make_unique<ConfigReloader>(config_path, overrides, c, LaneOptions(opt),
                                                &metrics);
    opt.reloads = reloader.get();
    on_sighup = std::make_unique<ReloadOnSighup>(reloader.get());
  }
  std::unique_ptr<HttpEndpoint> endpoint;
  opt.on_opened = BindWhenOpened(listen, opt.inputs, &c, &metrics, &health, &endpoint,
                                 {ReloadRoute(reloader.get())});
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  auto summary = RunPipeline(opt, &g_stop);
  endpoint.reset();
  on_sighup.reset();
  if (!summary.ok()) return fail(std::string(summary.status().message()));
  std::fprintf(stderr, "%s\n", summary->ToJson().c_str());
  if (summary->sink_errors > 0 || summary->input_errors > 0) return 1;
  return strict && !summary->warnings.empty() ? 3 : 0;
}

}  // namespace

int RunCli(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::fputs(kMainHelp, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version" || args[0] == "version") {
    std::printf("sitepulse %s\n", SITEPULSE_VERSION);
    return 0;
  }
  if (args[0] == "run") return Run(args);
  if (args[0] == "check") return Check(args);
  if (args[0] == "series") return SeriesMain(args);
  if (args[0] == "heal") return HealMain(args);
  if (args[0] == "timeline") return TimelineMain(args);
  if (args[0] == "replay") return ReplayMain(args);
  return Usage(StrCat("unknown command '", args[0], "'").c_str(), kMainHelp);
}

}  // namespace sitepulse
