#include "app/heal_cli.h"

#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fcntl.h>

#include <deque>
#include <future>
#include <mutex>
#include <optional>

#include "app/heal_config.h"
#include "app/http_endpoint.h"
#include "core/json_writer.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/strings.h"
#include "heal/deploy_marker.h"
#include "heal/healer.h"
#include "heal/ledger.h"
#include "ingest/kafka_line_reader.h"
#include "sinks/sink_registry.h"

namespace sitepulse {
namespace {

constexpr const char* kHealHelp =
    "usage: sitepulse heal --config HEAL.yaml --ledger PATH [--input URI]... [--deploys URI]...\n"
    "                      [--audit URI] [--listen ADDR] [--clock wall|event] [--exit-at-end]\n"
    "       sitepulse heal pause|resume|status --ledger PATH\n"
    "\n"
    "  --config FILE   heal rules and guardrails (docs/heal.md; `sitepulse check` validates it)\n"
    "  --ledger PATH   the SQLite ledger: decisions, steps, pause and breaker state (required)\n"
    "  --input URI     anomaly events as JSON lines: file:PATH, a PATH, - (default), or\n"
    "                  kafka://HOST:PORT/TOPIC?group=G (default group sitepulse-heal)\n"
    "  --deploys URI   deploy markers {site,version,previous_version,at} as JSON lines: files\n"
    "                  are read before the events, a kafka:// topic alongside them\n"
    "  --audit URI     every decision step also as a JSON line (file:PATH, stdout, or\n"
    "                  kafka://HOST:PORT/TOPIC keyed by site)\n"
    "  --listen H:P    serve /metrics, /healthz, /readyz, POST /deploys (deploy markers, one\n"
    "                  per line) and POST /approve/ID (rules with approval: required)\n"
    "  --clock C       event: time from the events' `at` (replays decide the same); wall\n"
    "                  (default): the wall clock, for live use\n"
    "  --exit-at-end   at the end of the inputs (Kafka: the end offsets), wait for running\n"
    "                  actions and exit (pending verifications stay in the ledger)\n"
    "\n"
    "pause stops every action (decisions are still recorded as skipped_paused); resume\n"
    "clears the pause and every rule suspended for a site; status prints the ledger's state.\n";

std::atomic<bool> g_heal_stop{false};
bool g_exit_at_end = false;  // Kafka inputs end at the end offsets (set before they open)
extern "C" void OnHealSignal(int) { g_heal_stop.store(true); }

int64_t WallNow() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int Fail(const std::string& msg) {
  std::fprintf(stderr, "sitepulse heal: %s\n", msg.c_str());
  return 2;
}

// Where heal reads JSON lines: a file, stdin or a Kafka topic. NextLine waits at most
// `wait_ms` for one (-1: until one comes or the input ends); Done says the line was handled
// (a Kafka offset may then be committed).
class LineInput {
 public:
  enum class Got { kLine, kNone, kEnd };
  virtual ~LineInput() = default;
  virtual Got NextLine(std::string* line, int wait_ms) = 0;
  virtual void Done() {}
  virtual const std::string& name() const = 0;
  virtual uint64_t line_number() const = 0;
  static absl::StatusOr<std::unique_ptr<LineInput>> Open(const std::string& uri);
};

class KafkaLines : public LineInput {
 public:
  explicit KafkaLines(std::unique_ptr<KafkaLineReader> r) : r_(std::move(r)) {}
  Got NextLine(std::string* line, int wait_ms) override {
    switch (r_->Next(line, wait_ms < 0 ? 1000 : wait_ms)) {
      case KafkaLineReader::Got::kLine:
        ++n_;
        return Got::kLine;
      case KafkaLineReader::Got::kEnd:
        return Got::kEnd;
      default:
        return Got::kNone;
    }
  }
  void Done() override { r_->Done(); }
  const std::string& name() const override { return r_->name(); }
  uint64_t line_number() const override { return n_; }

 private:
  std::unique_ptr<KafkaLineReader> r_;
  uint64_t n_ = 0;
};

class FileLines : public LineInput {
 public:
  static absl::StatusOr<std::unique_ptr<LineInput>> OpenFile(const std::string& uri) {
    std::string path = uri;
    if (path.rfind("file:", 0) == 0) path = path.substr(5);
    int fd = path == "-" ? 0 : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return absl::NotFoundError(StrCat("cannot open ", uri, ": ", std::strerror(errno)));
    auto in = std::make_unique<FileLines>();
    in->fd_ = fd;
    in->name_ = path == "-" ? "stdin" : path;
    return std::unique_ptr<LineInput>(std::move(in));
  }
  ~FileLines() override {
    if (fd_ > 0) ::close(fd_);
  }
  Got NextLine(std::string* line, int wait_ms) override {
    while (true) {
      if (const size_t nl = buf_.find('\n', pos_); nl != std::string::npos) {
        line->assign(buf_, pos_, nl - pos_);
        pos_ = nl + 1;
        ++line_number_;
        return Got::kLine;
      }
      if (ended_) {
        if (pos_ < buf_.size()) {  // a last line without its newline
          line->assign(buf_, pos_, std::string::npos);
          pos_ = buf_.size();
          ++line_number_;
          return Got::kLine;
        }
        return Got::kEnd;
      }
      buf_.erase(0, pos_);
      pos_ = 0;
      if (buf_.size() > (1 << 20)) {  // an event line over 1 MiB: dropped, counted by the caller
        buf_.clear();
        line->clear();
        return Got::kLine;
      }
      pollfd p{fd_, POLLIN, 0};
      const int n = poll(&p, 1, wait_ms);
      if (n == 0) return Got::kNone;
      if (n < 0 && errno == EINTR) return Got::kNone;
      char chunk[65536];
      const ssize_t got = ::read(fd_, chunk, sizeof(chunk));
      if (got <= 0) {
        ended_ = true;
        continue;
      }
      buf_.append(chunk, static_cast<size_t>(got));
    }
  }
  const std::string& name() const override { return name_; }
  uint64_t line_number() const override { return line_number_; }

 private:
  int fd_ = -1;
  std::string name_;
  std::string buf_;
  size_t pos_ = 0;
  bool ended_ = false;
  uint64_t line_number_ = 0;
};

absl::StatusOr<std::unique_ptr<LineInput>> LineInput::Open(const std::string& uri) {
  if (uri.rfind("kafka://", 0) != 0) return FileLines::OpenFile(uri);
  absl::StatusOr<Uri> u = ParseUri(uri);
  if (!u.ok()) return u.status();
  std::vector<std::pair<std::string, std::string>> params = u->params;
  if (u->Param("group") == nullptr) params.emplace_back("group", "sitepulse-heal");
  absl::StatusOr<KafkaSourceOptions> o = KafkaOptionsFromUri(u->target, params);
  if (!o.ok()) return o.status();
  o->exit_at_end = g_exit_at_end;
  absl::StatusOr<std::unique_ptr<KafkaLineReader>> r = KafkaLineReader::Open(*o);
  if (!r.ok()) return r.status();
  return std::unique_ptr<LineInput>(new KafkaLines(std::move(*r)));
}

int Admin(const std::string& verb, const std::vector<std::string>& args) {
  std::string ledger_path;
  for (size_t i = 2; i < args.size(); ++i) {
    if (args[i] == "--ledger" && i + 1 < args.size()) ledger_path = args[++i];
    else return Fail(StrCat("heal ", verb, ": unknown argument '", args[i], "'\n\n", kHealHelp));
  }
  if (ledger_path.empty()) return Fail(StrCat("heal ", verb, ": --ledger PATH is required"));
  absl::StatusOr<std::unique_ptr<Ledger>> ledger = Ledger::Open(ledger_path);
  if (!ledger.ok()) return Fail(std::string(ledger.status().message()));
  Ledger& l = **ledger;
  if (verb == "pause") {
    if (!l.SetState("paused", FormatRfc3339(WallNow())).ok()) return Fail("cannot write the ledger");
    std::printf("heal paused (ledger %s): no action runs until `heal resume`\n", ledger_path.c_str());
    return 0;
  }
  if (verb == "resume") {
    l.DeleteState("paused").IgnoreError();
    for (const std::string& key : l.StateKeys("suspended/")) l.DeleteState(key).IgnoreError();
    std::printf("heal resumed (ledger %s)\n", ledger_path.c_str());
    return 0;
  }
  // status: one JSON object.
  std::string out;
  JsonObjectWriter w(&out);
  const std::optional<std::string> paused = l.GetState("paused");
  w.Bool("paused", paused.has_value());
  if (paused) w.String("paused_since", *paused);
  w.Bool("breaker_open", l.GetState("breaker_open").has_value());
  std::string suspended = "[";
  for (const std::string& key : l.StateKeys("suspended/")) {
    if (suspended.size() > 1) suspended += ",";
    AppendJsonString(key.substr(10), &suspended);
  }
  w.Raw("suspended", suspended + "]");
  std::string outcomes;
  JsonObjectWriter ow(&outcomes);
  for (const auto& [o, n] : l.OutcomeCounts()) ow.Int(o, n);
  ow.Close();
  w.Raw("steps_by_outcome", outcomes);
  w.Int("awaiting_verification", static_cast<int64_t>(l.WithOutcome({"acted"}).size()));
  w.Int("running", static_cast<int64_t>(l.WithOutcome({"running"}).size()));
  w.Close();
  std::printf("%s\n", out.c_str());
  return 0;
}

struct HealArgs {
  std::string config, ledger;
  std::vector<std::string> inputs, deploys;
  std::string audit, listen;
  bool event_clock = false;
  bool exit_at_end = false;
};


// Requests that came in on --listen, handed to the healer's thread (the only one that decides).
struct HealControl {
  std::mutex mu;
  std::deque<LedgerDeploy> deploys;
  struct Approval {
    int64_t id = 0;
    std::promise<absl::Status> done;
  };
  std::deque<std::unique_ptr<Approval>> approvals;

  // On the healer's thread, between events.
  void Serve(Healer& healer, EventTime now) {
    std::deque<LedgerDeploy> d;
    std::deque<std::unique_ptr<Approval>> a;
    {
      std::lock_guard<std::mutex> lock(mu);
      d.swap(deploys);
      a.swap(approvals);
    }
    for (const LedgerDeploy& deploy : d) healer.OnDeploy(deploy);
    for (auto& approval : a) approval->done.set_value(healer.Approve(approval->id, now));
  }

  std::vector<HttpEndpoint::PostRoute> Routes() {
    return {
        {"/deploys",
         [this](const std::string& body, const std::vector<std::string>&) -> std::pair<int, std::string> {
           std::vector<LedgerDeploy> got;
           for (const std::string& line : Lines(body)) {
             if (line.empty()) continue;
             absl::StatusOr<LedgerDeploy> d = DeployFromJson(line);
             if (!d.ok()) return {400, StrCat(d.status().message(), "\n")};
             got.push_back(*d);
           }
           std::lock_guard<std::mutex> lock(mu);
           deploys.insert(deploys.end(), got.begin(), got.end());
           return {202, StrCat(got.size(), " deploy markers\n")};
         }},
        {R"(/approve/(\d{1,18}))",
         [this](const std::string&, const std::vector<std::string>& captures) -> std::pair<int, std::string> {
           auto approval = std::make_unique<Approval>();
           approval->id = std::stoll(captures.at(0));
           std::future<absl::Status> result = approval->done.get_future();
           {
             std::lock_guard<std::mutex> lock(mu);
             approvals.push_back(std::move(approval));
           }
           if (result.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
             return {503, "heal is busy; try again\n"};
           }
           const absl::Status st = result.get();
           if (!st.ok()) return {409, StrCat(st.message(), "\n")};
           return {200, "approved: the action runs now\n"};
         }},
    };
  }

  static std::vector<std::string> Lines(const std::string& s) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i <= s.size()) {
      const size_t nl = s.find('\n', i);
      out.push_back(s.substr(i, nl == std::string::npos ? std::string::npos : nl - i));
      if (nl == std::string::npos) break;
      i = nl + 1;
    }
    return out;
  }
};

// The flags; a return value to exit with when they are wrong (or --help).
std::optional<int> ParseHealArgs(const std::vector<std::string>& args, HealArgs* a) {
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& f = args[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= args.size()) return false;
      *out = args[++i];
      return true;
    };
    std::string v;
    if (f == "--help" || f == "-h") {
      std::fputs(kHealHelp, stdout);
      return 0;
    } else if (f == "--config" && value(&a->config)) {
    } else if (f == "--ledger" && value(&a->ledger)) {
    } else if (f == "--input" && value(&v)) {
      a->inputs.push_back(v);
    } else if (f == "--deploys" && value(&v)) {
      a->deploys.push_back(v);
    } else if (f == "--audit" && value(&a->audit)) {
    } else if (f == "--listen" && value(&a->listen)) {
    } else if (f == "--clock" && value(&v) && (v == "wall" || v == "event")) {
      a->event_clock = v == "event";
    } else if (f == "--exit-at-end") {
      a->exit_at_end = true;
    } else {
      return Fail(StrCat("unknown or incomplete argument '", f, "'\n\n", kHealHelp));
    }
  }
  if (a->config.empty() || a->ledger.empty()) {
    return Fail(StrCat("--config and --ledger are required\n\n", kHealHelp));
  }
  if (a->inputs.empty()) a->inputs.push_back("-");
  return std::nullopt;
}

absl::StatusOr<Healer::Outputs> OpenOutputs(const HealConfig& config, const std::string& audit,
                                            MetricsRegistry* metrics) {
  Healer::Outputs outputs;
  for (const Uri& u : config.escalate) {
    OutputSpec spec;
    spec.uri = u;
    absl::StatusOr<std::unique_ptr<AnomalySink>> sink = MakeAnomalySink(spec, metrics);
    if (!sink.ok()) return absl::InvalidArgumentError(StrCat("escalate: ", sink.status().message()));
    outputs.escalate.push_back(std::move(*sink));
  }
  if (!audit.empty()) {
    absl::StatusOr<Uri> u = ParseUri(audit);
    if (!u.ok()) return absl::InvalidArgumentError(StrCat("--audit: ", u.status().message()));
    if (u->scheme == "kafka") {
      absl::StatusOr<std::unique_ptr<KafkaProducer>> p =
          KafkaProducer::Open(u->target, {}, "audit:kafka:" + u->target, metrics);
      if (!p.ok()) return absl::InvalidArgumentError(StrCat("--audit: ", p.status().message()));
      outputs.audit_kafka = std::move(*p);
      return outputs;
    }
    absl::StatusOr<std::unique_ptr<JsonlWriter>> w = JsonlWriter::Open(*u);
    if (!w.ok()) return absl::InvalidArgumentError(StrCat("--audit: ", w.status().message()));
    outputs.audit = std::move(*w);
  }
  return outputs;
}

struct HealCounts {
  uint64_t events = 0, bad = 0, deploys = 0;
};

// Deploy markers first: decisions look a site's last deploy up by time.
absl::Status ReadDeploys(const std::vector<std::string>& uris, Healer& healer, HealCounts* n) {
  for (const std::string& uri : uris) {
    if (uri.rfind("kafka://", 0) == 0) continue;  // a topic is read alongside the events
    absl::StatusOr<std::unique_ptr<LineInput>> in = LineInput::Open(uri);
    if (!in.ok()) return in.status();
    std::string line;
    while ((*in)->NextLine(&line, -1) == LineInput::Got::kLine) {
      if (line.empty()) continue;
      absl::StatusOr<LedgerDeploy> d = DeployFromJson(line);
      if (!d.ok()) {
        ++n->bad;
        SP_LOG(kWarning, "heal", "%s:%llu: %s", (*in)->name(),
               static_cast<unsigned long long>((*in)->line_number()), d.status().message());
        continue;
      }
      healer.OnDeploy(*d);
      ++n->deploys;
    }
  }
  return absl::OkStatus();
}

// Deploy topics: what has arrived so far (no waiting).
void PollDeploys(std::vector<std::unique_ptr<LineInput>>& topics, Healer& healer, HealCounts* n) {
  std::string line;
  for (auto& t : topics) {
    while (t->NextLine(&line, 0) == LineInput::Got::kLine) {
      absl::StatusOr<LedgerDeploy> d = DeployFromJson(line);
      if (d.ok()) {
        healer.OnDeploy(*d);
        ++n->deploys;
      } else {
        ++n->bad;
        SP_LOG(kWarning, "heal", "%s: %s", t->name(), d.status().message());
      }
      t->Done();
    }
  }
}

// Every input to its end (or a stop); returns the clock's last reading.
EventTime ReadEvents(const HealArgs& a, std::vector<std::unique_ptr<LineInput>>& inputs,
                     std::vector<std::unique_ptr<LineInput>>& deploy_topics, Healer& healer,
                     HealControl& control, HealCounts* n) {
  EventTime now = a.event_clock ? INT64_MIN : WallNow();
  // With --listen, requests are served between events: wait for input at most 200 ms.
  const int wait_ms = a.event_clock && a.listen.empty() ? -1 : a.listen.empty() ? 1000 : 200;
  for (auto& in : inputs) {
    std::string line;
    while (!g_heal_stop.load()) {
      control.Serve(healer, now == INT64_MIN ? 0 : now);
      const LineInput::Got got = in->NextLine(&line, wait_ms);
      if (got == LineInput::Got::kEnd) break;
      if (!a.event_clock) now = WallNow();
      if (got == LineInput::Got::kNone) {
        healer.Tick(now);
        continue;
      }
      if (line.empty()) continue;
      absl::StatusOr<Anomaly> ev = AnomalyFromJson(line);
      if (!ev.ok()) {
        ++n->bad;
        SP_LOG(kWarning, "heal", "%s:%llu: not an anomaly event: %s", in->name(),
               static_cast<unsigned long long>(in->line_number()), ev.status().message());
        in->Done();
        continue;
      }
      ++n->events;
      if (a.event_clock) now = std::max(now, ev->at);
      control.Serve(healer, now);  // a deploy posted just before this event counts for it
      PollDeploys(deploy_topics, healer, n);
      healer.OnEvent(*ev, now);
      in->Done();  // recorded in the ledger: a Kafka offset may be committed
    }
  }
  return now == INT64_MIN ? 0 : now;
}

void PrintSummary(const HealCounts& n, const Healer& healer, const MetricsRegistry& metrics) {
  std::string summary;
  JsonObjectWriter w(&summary);
  w.Uint("events", n.events).Uint("deploys", n.deploys).Uint("bad_lines", n.bad)
      .Uint("awaiting_verification", healer.awaiting());
  std::string outcomes;
  JsonObjectWriter ow(&outcomes);
  for (std::string_view o : HealOutcomes()) {
    const uint64_t count = metrics.CounterSum("sitepulse_heal_decisions_total", "outcome", std::string(o));
    if (count > 0) ow.Uint(std::string(o), count);
  }
  ow.Close();
  w.Raw("steps_by_outcome", outcomes);
  w.Close();
  std::fprintf(stderr, "%s\n", summary.c_str());
  if (n.bad > 0 && n.events == 0) {
    SP_LOG(kWarning, "heal", "no line of the inputs was an anomaly event (%llu rejected)",
           static_cast<unsigned long long>(n.bad));
  }
}

}  // namespace

int HealMain(const std::vector<std::string>& args) {
  if (args.size() >= 2 && (args[1] == "pause" || args[1] == "resume" || args[1] == "status")) {
    return Admin(args[1], args);
  }
  HealArgs a;
  if (std::optional<int> exit = ParseHealArgs(args, &a)) return *exit;
  g_exit_at_end = a.exit_at_end;
  HealConfigResult c = LoadHealConfig(a.config);
  if (!c.ok()) {
    std::fputs(c.FormatErrors().c_str(), stderr);
    return 1;
  }
  absl::StatusOr<std::unique_ptr<Ledger>> ledger = Ledger::Open(a.ledger);
  if (!ledger.ok()) return Fail(std::string(ledger.status().message()));
  MetricsRegistry metrics;
  absl::StatusOr<Healer::Outputs> outputs = OpenOutputs(c.config, a.audit, &metrics);
  if (!outputs.ok()) return Fail(std::string(outputs.status().message()));
  std::vector<std::unique_ptr<LineInput>> inputs;
  for (const std::string& uri : a.inputs) {
    absl::StatusOr<std::unique_ptr<LineInput>> in = LineInput::Open(uri);
    if (!in.ok()) return Fail(std::string(in.status().message()));
    inputs.push_back(std::move(*in));
  }
  ActionRunner runner;
  Healer healer(c.config, ledger->get(), &runner, std::move(*outputs), &metrics, a.event_clock);
  std::signal(SIGINT, OnHealSignal);
  std::signal(SIGTERM, OnHealSignal);
  HealCounts n;
  if (absl::Status st = ReadDeploys(a.deploys, healer, &n); !st.ok()) return Fail(std::string(st.message()));
  healer.Recover(a.event_clock ? 0 : WallNow());
  HealControl control;
  PipelineHealth health;
  health.inputs_open.store(true);
  std::unique_ptr<HttpEndpoint> endpoint;
  if (!a.listen.empty()) {
    HttpEndpoint::Options eo;
    eo.listen = a.listen;
    eo.posts = control.Routes();
    endpoint = std::make_unique<HttpEndpoint>(eo, &metrics, &health);
    if (absl::Status st = endpoint->Start(); !st.ok()) return Fail(std::string(st.message()));
    SP_LOG(kInfo, "heal", "serving /metrics, /healthz, /readyz, POST /deploys, POST /approve/ID on %s",
           a.listen.substr(0, a.listen.rfind(':')) + ":" + std::to_string(endpoint->port()));
  }
  std::vector<std::unique_ptr<LineInput>> deploy_topics;
  for (const std::string& uri : a.deploys) {
    if (uri.rfind("kafka://", 0) != 0) continue;
    absl::StatusOr<std::unique_ptr<LineInput>> t = LineInput::Open(uri);
    if (!t.ok()) return Fail(std::string(t.status().message()));
    deploy_topics.push_back(std::move(*t));
  }
  EventTime now = ReadEvents(a, inputs, deploy_topics, healer, control, &n);
  // The inputs ended: wall clock without --exit-at-end keeps verifying (and serving approvals)
  // until nothing waits.
  while (!a.exit_at_end && !a.event_clock && !g_heal_stop.load() &&
         (healer.awaiting() > 0 || healer.in_flight() > 0 || healer.awaiting_approval() > 0)) {
    usleep(200000);
    now = WallNow();
    control.Serve(healer, now);
    healer.Tick(now);
  }
  health.finished.store(true);
  healer.Drain(now);
  healer.Tick(now);
  PrintSummary(n, healer, metrics);
  return 0;
}

}  // namespace sitepulse
