#include "heal/healer.h"

#include <fnmatch.h>

#include <algorithm>
#include <condition_variable>

#include "core/json_writer.h"
#include "core/log.h"
#include "core/strings.h"
#include "heal/placeholders.h"

namespace sitepulse {

const std::vector<std::string_view>& HealOutcomes() {
  static const std::vector<std::string_view> outcomes = {
      "acted",           "shadow",          "skipped_cooldown",   "skipped_max_attempts",
      "skipped_breaker", "skipped_paused",  "skipped_no_deploy",  "skipped_in_flight",
      "skipped_site_pattern", "awaiting_approval", "verified",   "failed_verify",
      "undone",          "ineffective",     "escalated",          "unknown_outcome",
      "action_failed",   "running"};
  return outcomes;
}

struct Healer::Running {
  int64_t decision = 0;
  EventTime started = 0;  // the clock when it started (event time: its decision or approval)
  std::string rule, site, incident;
  bool undo = false;
  std::string action_json;
  std::thread thread;
  ActionResult result;
};

namespace {

bool Matches(const HealMatch& m, const Anomaly& a) {
  if (!m.detector.empty() && m.detector != a.detector) return false;
  if (!m.severity.empty() && m.severity != a.severity) return false;
  if (fnmatch(m.site.c_str(), a.site.c_str(), 0) != 0) return false;
  for (const auto& [k, v] : m.labels) {
    if (std::find(a.labels.begin(), a.labels.end(), std::make_pair(k, v)) == a.labels.end()) {
      return false;
    }
  }
  return true;
}

std::string ArgvJson(const std::vector<std::string>& argv) {
  std::string out = "{\"exec\":[";
  for (size_t i = 0; i < argv.size(); ++i) {
    if (i > 0) out += ",";
    AppendJsonString(argv[i], &out);
  }
  return out + "]}";
}

std::string RequestJson(const HttpRequest& r) {
  std::string out = "{\"http\":{\"method\":";
  AppendJsonString(r.method, &out);
  out += ",\"url\":";
  AppendJsonString(r.url, &out);
  // Header values may be secrets (${TOKEN}): only their names are recorded.
  out += ",\"headers\":[";
  for (size_t i = 0; i < r.headers.size(); ++i) {
    if (i > 0) out += ",";
    AppendJsonString(r.headers[i].first, &out);
  }
  return out + "]}}";
}

// What a later step needs of the incident a decision was made for.
Anomaly AnomalyOf(const LedgerDecision& d) {
  Anomaly a;
  a.site = d.site;
  a.detector = d.detector;
  a.id = d.incident;
  a.severity = d.severity;
  a.started_at = d.started_at;
  return a;
}

std::string SuspendKey(const std::string& rule, const std::string& site) {
  return StrCat("suspended/", rule, "/", site);
}
}  // namespace

Healer::Healer(const HealConfig& config, Ledger* ledger, ActionRunner* runner, Outputs outputs,
               MetricsRegistry* metrics, bool event_clock)
    : config_(config),
      ledger_(ledger),
      runner_(runner),
      outputs_(std::move(outputs)),
      metrics_(metrics),
      event_clock_(event_clock) {
  in_flight_gauge_ = metrics_->GetGauge("sitepulse_heal_actions_in_flight", "Heal actions running now");
  breaker_gauge_ = metrics_->GetGauge("sitepulse_heal_breaker_open",
                                      "1 while the breaker stops heal from acting");
  paused_gauge_ = metrics_->GetGauge("sitepulse_heal_paused", "1 while heal is paused (kill switch)");
}

Healer::~Healer() {
  for (auto& r : running_) {
    if (r->thread.joinable()) r->thread.join();
  }
  if (outputs_.audit_kafka && !outputs_.audit_kafka->Flush(10 * kNanosPerSecond)) {
    SP_LOG(kError, "heal", "audit: not every decision reached %s", outputs_.audit_kafka->topic());
  }
}

size_t Healer::in_flight() const { return running_.size(); }

const HealRule* Healer::RuleNamed(const std::string& name) const {
  for (const HealRule& r : config_.rules) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

void Healer::Record(int64_t decision, EventTime now, const std::string& outcome,
                    const std::string& reason, const ActionResult* result,
                    const std::string& action) {
  LedgerStep s;
  s.decision = decision;
  s.at = now;
  s.outcome = outcome;
  s.reason = reason;
  s.action = action;
  if (result != nullptr) {
    s.status = result->status;
    s.output = result->output;
    s.duration_ms = result->duration_ms;
  }
  if (absl::Status st = ledger_->Step(s); !st.ok()) {
    SP_LOG(kError, "heal", "%s", st.message());
  }
  metrics_
      ->GetCounter("sitepulse_heal_decisions_total", "Heal decision steps, by outcome",
                   {{"outcome", outcome}})
      ->Add();
  if (outputs_.audit || outputs_.audit_kafka) {
    const std::optional<LedgerDecision> d = ledger_->Get(decision);
    std::string line;
    JsonObjectWriter w(&line);
    w.Int("decision", decision)
        .String("rule", d ? d->rule : "")
        .String("site", d ? d->site : "")
        .String("incident", d ? d->incident : "")
        .String("outcome", outcome)
        .String("reason", reason)
        .String("at", FormatRfc3339(now));
    if (!action.empty()) w.Raw("action", action);
    if (result != nullptr) w.Int("status", result->status).Int("duration_ms", result->duration_ms);
    w.Close();
    if (outputs_.audit) {
      outputs_.audit->WriteLine(line);
      outputs_.audit->Flush();
    }
    if (outputs_.audit_kafka) outputs_.audit_kafka->Produce(d ? d->site : "", line);
  }
}

void Healer::Escalate(const LedgerDecision& d, const std::string& what, EventTime now) {
  Anomaly a;
  a.site = d.site;
  a.detector = StrCat("heal/", d.rule);
  a.id = MakeIncidentId(d.site, a.detector, d.started_at);
  a.state = AlertState::kFiring;
  a.severity = "page";
  a.metric = "heal";
  a.started_at = d.started_at;
  a.at = now;
  a.summary = StrCat("sitepulse heal could not fix ", d.site, " (rule ", d.rule, ", incident ",
                     d.incident, " of ", d.detector, "): ", what, "; a person is needed");
  a.labels = {{"heal_rule", d.rule}, {"incident", d.incident}};
  for (auto& sink : outputs_.escalate) {
    sink->Publish(a);
    sink->Flush();
  }
  Record(d.id, now, "escalated", what);
}

std::map<std::string, std::string> Healer::Values(const HealRule& rule, const Anomaly& a,
                                                  EventTime at) {
  std::map<std::string, std::string> v = {
      {"site", a.site},         {"detector", a.detector},
      {"incident", a.id},       {"severity", a.severity},
      {"metric", a.metric},     {"value", StrCat(a.value)},
      {"threshold", StrCat(a.threshold)},
      {"started_at", FormatRfc3339(a.started_at)},
      {"at", FormatRfc3339(at)}, {"rule", rule.name}};
  if (std::optional<LedgerDeploy> d = ledger_->LastDeploy(a.site, a.started_at)) {
    v["deploy.version"] = d->version;
    v["deploy.previous_version"] = d->previous_version;
    v["deploy.at"] = FormatRfc3339(d->at);
  }
  return v;
}

void Healer::Recover(EventTime now) {
  for (const LedgerDecision& d : ledger_->WithOutcome({"running"})) {
    Record(d.id, now, "unknown_outcome",
           "an action was started and heal stopped before its result was recorded; it is not "
           "run again");
    Escalate(d, "an action's outcome is unknown (heal stopped while it ran)", now);
  }
  for (const LedgerDecision& d : ledger_->WithOutcome({"acted"})) {
    awaiting_[d.id] = {d.verify_until, d.rule, d.site, d.incident, d.decided_at};
  }
  for (const LedgerDecision& d : ledger_->WithOutcome({"awaiting_approval"})) {
    const HealRule* rule = RuleNamed(d.rule);
    approvals_[d.id] = d.decided_at + (rule != nullptr ? rule->approval_timeout : 0);
  }
  paused_gauge_->Set(ledger_->GetState("paused") ? 1 : 0);
  breaker_gauge_->Set(ledger_->GetState("breaker_open") ? 1 : 0);
}

void Healer::OnDeploy(const LedgerDeploy& d) {
  if (absl::Status st = ledger_->AddDeploy(d); !st.ok()) SP_LOG(kError, "heal", "%s", st.message());
}

void Healer::OnEvent(const Anomaly& a, EventTime now) {
  Tick(now);
  if (a.state == AlertState::kResolved) {
    OnResolved(a, now);
    return;
  }
  if (a.state != AlertState::kFiring) return;  // no_data: nobody knows; verification waits
  CheckReopen(a, now);
  bool matched = false;
  for (const HealRule& rule : config_.rules) matched = matched || Matches(rule.match, a);
  if (matched) NoteBreaker(a.site, now);
  for (const HealRule& rule : config_.rules) {
    if (Matches(rule.match, a)) Decide(rule, a, now);
  }
}

size_t Healer::RecentSites(EventTime now) {
  while (!recent_.empty() && recent_.front().first < now - config_.breaker_within) recent_.pop_front();
  std::set<std::string> sites;
  for (const auto& [t, s] : recent_) sites.insert(s);
  return sites.size();
}

void Healer::NoteBreaker(const std::string& site, EventTime now) {
  recent_.emplace_back(now, site);
  const size_t sites = RecentSites(now);
  const bool open = ledger_->GetState("breaker_open").has_value();
  if (!open && sites > config_.breaker_max_sites) {
    ledger_->SetState("breaker_open", StrCat(now)).IgnoreError();
    breaker_gauge_->Set(1);
    SP_LOG(kWarning, "heal", "breaker open: %zu sites matched rules within %lld s (max_sites %u)",
           sites, static_cast<long long>(config_.breaker_within / kNanosPerSecond),
           config_.breaker_max_sites);
    // One escalation for the whole storm, not one per site.
    Anomaly storm;
    storm.site = "__heal__";
    storm.detector = "heal/breaker";
    storm.id = MakeIncidentId("__heal__", "heal/breaker", now);
    storm.severity = "page";
    storm.metric = "heal_sites";
    storm.value = static_cast<double>(sites);
    storm.threshold = config_.breaker_max_sites;
    storm.started_at = now;
    storm.at = now;
    storm.summary = StrCat(sites, " sites needed healing within ",
                           config_.breaker_within / kNanosPerSecond,
                           " s: heal stopped acting (breaker open); this is a wider incident");
    for (auto& sink : outputs_.escalate) {
      sink->Publish(storm);
      sink->Flush();
    }
  }
}

std::pair<std::string, std::string> Healer::Guardrail(const HealRule& rule, const Anomaly& a,
                                                      EventTime now) {
  if (!std::regex_match(a.site, config_.site_regex)) {
    return {"skipped_site_pattern", StrCat("the site name does not match site_pattern ",
                                           config_.site_pattern)};
  }
  if (ledger_->GetState("paused")) return {"skipped_paused", "heal is paused (heal resume)"};
  if (ledger_->GetState(SuspendKey(rule.name, a.site))) {
    return {"skipped_paused",
            "the rule is suspended for this site after two ineffective actions (heal resume)"};
  }
  if (ledger_->GetState("breaker_open")) {
    return {"skipped_breaker", "the breaker is open: too many sites at once"};
  }
  for (const auto& r : running_) {
    if (r->rule == rule.name && r->site == a.site) {
      return {"skipped_in_flight", "an action of this rule on this site is running"};
    }
  }
  for (const auto& [id, w] : awaiting_) {
    if (w.rule == rule.name && w.site == a.site) {
      return {"skipped_in_flight", StrCat("decision ", id, " on this site awaits its verification")};
    }
  }
  if (rule.deploy_within > 0) {
    const std::optional<LedgerDeploy> d = ledger_->LastDeploy(a.site, a.started_at);
    if (!d || a.started_at - d->at > rule.deploy_within) {
      return {"skipped_no_deploy", StrCat("no deploy of the site within ",
                                          rule.deploy_within / kNanosPerSecond,
                                          " s before the incident started")};
    }
  }
  if (std::optional<EventTime> last = ledger_->LastActed(rule.name, a.site);
      last && now - *last < rule.cooldown) {
    return {"skipped_cooldown", StrCat("acted on this site ", (now - *last) / kNanosPerSecond,
                                       " s ago (cooldown ", rule.cooldown / kNanosPerSecond, " s)")};
  }
  if (ledger_->CountActed(rule.name, a.site, now - rule.max_attempts_within) >=
      static_cast<int>(rule.max_attempts)) {
    return {"skipped_max_attempts",
            StrCat(rule.max_attempts, " actions on this site within ",
                   rule.max_attempts_within / kNanosPerSecond, " s already")};
  }
  if (config_.shadow) return {"shadow", "shadow mode: decided, not acted"};
  if (rule.approval) {
    return {"awaiting_approval",
            StrCat("waiting for POST /approve/ID within ", rule.approval_timeout / kNanosPerSecond, " s")};
  }
  return {};
}

void Healer::Decide(const HealRule& rule, const Anomaly& a, EventTime now) {
  if (ledger_->Find(rule.name, a.id)) {
    metrics_->GetCounter("sitepulse_heal_duplicate_events_total",
                         "Firing events for an incident a rule has decided already")
        ->Add();
    return;
  }
  auto [outcome, reason] = Guardrail(rule, a, now);
  LedgerDecision d;
  d.rule = rule.name;
  d.site = a.site;
  d.incident = a.id;
  d.detector = a.detector;
  d.severity = a.severity;
  d.started_at = a.started_at;
  d.decided_at = now;
  // An action is recorded as running before it starts: after a crash it is never re-run.
  d.outcome = outcome.empty() ? "running" : outcome;
  d.reason = reason;
  absl::StatusOr<int64_t> id = ledger_->Decide(d);
  if (!id.ok()) {
    if (!absl::IsAlreadyExists(id.status())) SP_LOG(kError, "heal", "%s", id.status().message());
    return;
  }
  if (!outcome.empty()) {
    Record(*id, now, outcome, outcome == "awaiting_approval"
                                  ? StrCat("waiting for POST /approve/", *id, " within ",
                                           rule.approval_timeout / kNanosPerSecond, " s")
                                  : reason);
    if (outcome == "awaiting_approval") approvals_[*id] = now + rule.approval_timeout;
    return;
  }
  Start(*id, rule, rule.action, /*undo=*/false, Values(rule, a, now), now);
}

void Healer::Start(int64_t decision, const HealRule& rule, const HealAction& action, bool undo,
                   const std::map<std::string, std::string>& values, EventTime now) {
  while (running_.size() >= config_.max_concurrent) Collect(now, /*wait_one=*/true);
  auto r = std::make_unique<Running>();
  r->decision = decision;
  r->started = now;
  r->rule = rule.name;
  r->site = values.at("site");
  r->incident = values.at("incident");
  r->undo = undo;
  std::vector<std::string> argv;
  HttpRequest req;
  std::string error;
  if (action.kind == HealAction::Kind::kExec) {
    for (const std::string& t : action.exec.argv) {
      absl::StatusOr<std::string> v = ExpandPlaceholders(t, values, PlaceholderEncoding::kRaw);
      if (!v.ok()) error = std::string(v.status().message());
      argv.push_back(v.ok() ? *v : "");
    }
    r->action_json = ArgvJson(argv);
  } else {
    req.method = action.http.method;
    req.headers = action.http.headers;
    req.expect = action.http.expect;
    req.timeout = action.http.timeout;
    absl::StatusOr<std::string> url = ExpandPlaceholders(action.http.url, values, PlaceholderEncoding::kUrl);
    absl::StatusOr<std::string> body = ExpandPlaceholders(action.http.body, values, PlaceholderEncoding::kJson);
    if (!url.ok()) error = std::string(url.status().message());
    if (!body.ok()) error = std::string(body.status().message());
    req.url = url.ok() ? *url : "";
    req.body = body.ok() ? *body : "";
    r->action_json = RequestJson(req);
  }
  if (!error.empty()) {
    ActionResult failed;
    failed.error = error;
    Record(decision, now, "action_failed", StrCat(undo ? "undo: " : "", error), &failed, r->action_json);
    if (std::optional<LedgerDecision> d = ledger_->Get(decision)) Escalate(*d, error, now);
    return;
  }
  Record(decision, now, "running", undo ? "undo started" : "action started", nullptr, r->action_json);
  Running* raw = r.get();
  const DurationNs timeout = action.exec.timeout;
  r->thread = std::thread([this, raw, argv, req, timeout, kind = action.kind] {
    raw->result = kind == HealAction::Kind::kExec ? runner_->RunExec(argv, timeout) : runner_->RunHttp(req);
    std::lock_guard<std::mutex> lock(done_mu_);
    done_.push_back(raw);
    done_cv_.notify_all();
  });
  running_.push_back(std::move(r));
  in_flight_gauge_->Set(static_cast<double>(running_.size()));
  // Event time: a replay decides the same whatever the actions' wall time, so each action's
  // result is recorded at the event time it was decided (its wall duration is in the step).
  if (event_clock_) Drain(now);
}

void Healer::Collect(EventTime now, bool wait_one) {
  std::vector<Running*> done;
  {
    std::unique_lock<std::mutex> lock(done_mu_);
    if (wait_one) done_cv_.wait(lock, [this] { return !done_.empty(); });
    done.swap(done_);
  }
  for (Running* r : done) {
    r->thread.join();
    Finished(*r, now);
    running_.erase(std::find_if(running_.begin(), running_.end(),
                                [r](const auto& p) { return p.get() == r; }));
  }
  in_flight_gauge_->Set(static_cast<double>(running_.size()));
}

void Healer::Finished(Running& r, EventTime now) {
  const std::optional<LedgerDecision> d = ledger_->Get(r.decision);
  if (!d) return;
  const ActionResult& res = r.result;
  const std::string what =
      res.ok ? StrCat(r.undo ? "undo" : "action", " succeeded (status ", res.status, ")")
             : StrCat(r.undo ? "undo" : "action", " failed: ",
                      res.error.empty() ? StrCat("status ", res.status) : res.error);
  if (r.undo) {
    Record(r.decision, now, res.ok ? "undone" : "action_failed", what, &res, r.action_json);
    Escalate(*d, StrCat("the action did not resolve the incident; ", what), now);
    return;
  }
  if (!res.ok) {
    Record(r.decision, now, "action_failed", what, &res, r.action_json);
    Escalate(*d, what, now);
    return;
  }
  const HealRule* rule = RuleNamed(r.rule);
  const EventTime from = event_clock_ ? r.started : now;
  const EventTime until = from + (rule != nullptr ? rule->verify_for : 0);
  Record(r.decision, now, "acted", what, &res, r.action_json);
  ledger_->SetVerifyUntil(r.decision, until).IgnoreError();
  if (resolved_incidents_.erase(d->incident) > 0) {
    Record(r.decision, now, "verified", "the incident resolved while the action ran");
    return;
  }
  awaiting_[r.decision] = {until, d->rule, d->site, d->incident, d->decided_at};
}

void Healer::OnResolved(const Anomaly& a, EventTime now) {
  bool pending = false;
  for (auto it = awaiting_.begin(); it != awaiting_.end();) {
    if (it->second.incident == a.id) {
      Record(it->first, now, "verified",
             StrCat("the detector resolved the incident ",
                    (a.at - it->second.decided_at) / kNanosPerSecond, " s after the decision"));
      it = awaiting_.erase(it);
      continue;
    }
    ++it;
  }
  for (const auto& r : running_) pending = pending || (r->incident == a.id && !r->undo);
  if (pending) resolved_incidents_.insert(a.id);
}

void Healer::CheckReopen(const Anomaly& a, EventTime now) {
  const std::optional<LedgerDecision> d = ledger_->LastVerified(a.site, a.detector);
  if (!d || d->incident == a.id) return;
  EventTime verified_at = 0;
  for (const LedgerStep& s : ledger_->Steps(d->id)) {
    if (s.outcome == "verified") verified_at = s.at;
  }
  const HealRule* rule = RuleNamed(d->rule);
  if (rule == nullptr || a.started_at - verified_at > rule->reopen_window) return;
  Record(d->id, now, "ineffective",
         StrCat("the incident came back ", (a.started_at - verified_at) / kNanosPerSecond,
                " s after it was verified (", a.id, ")"));
  const std::vector<std::string> last = ledger_->RecentActedOutcomes(d->rule, d->site, 2);
  if (last.size() == 2 && last[0] == "ineffective" && last[1] == "ineffective") {
    ledger_->SetState(SuspendKey(d->rule, d->site), StrCat(now)).IgnoreError();
    Escalate(*d, "two actions in a row did not hold; the rule is suspended for this site", now);
  }
}

void Healer::Tick(EventTime now) {
  Collect(now);
  paused_gauge_->Set(ledger_->GetState("paused") ? 1 : 0);  // heal pause runs in another process
  for (auto it = awaiting_.begin(); it != awaiting_.end();) {
    if (it->second.until >= now) {
      ++it;
      continue;
    }
    const int64_t id = it->first;
    // With the event clock the verification failed at its deadline, not at the next event.
    const EventTime at = event_clock_ ? it->second.until : now;
    it = awaiting_.erase(it);
    const std::optional<LedgerDecision> d = ledger_->Get(id);
    if (!d) continue;
    Record(id, at, "failed_verify", "the incident did not resolve within verify_for");
    const HealRule* rule = RuleNamed(d->rule);
    if (rule != nullptr && rule->undo.kind != HealAction::Kind::kNone) {
      Start(id, *rule, rule->undo, /*undo=*/true, Values(*rule, AnomalyOf(*d), at), at);
    } else {
      Escalate(*d, "the action did not resolve the incident within verify_for", at);
    }
  }
  for (auto it = approvals_.begin(); it != approvals_.end();) {
    if (it->second >= now) {
      ++it;
      continue;
    }
    const int64_t id = it->first;
    const EventTime at = event_clock_ ? it->second : now;
    it = approvals_.erase(it);
    if (const std::optional<LedgerDecision> d = ledger_->Get(id)) {
      Escalate(*d, "nobody approved the action in time; it was not run", at);
    }
  }
  // The breaker closes once the storm is over: few sites within the window, and a whole window
  // since it opened.
  if (std::optional<std::string> since = ledger_->GetState("breaker_open")) {
    const size_t sites = RecentSites(now);
    int64_t opened = 0;
    for (char c : *since) opened = c >= '0' && c <= '9' ? opened * 10 + (c - '0') : opened;
    if (sites <= config_.breaker_max_sites && now - opened >= config_.breaker_within) {
      ledger_->DeleteState("breaker_open").IgnoreError();
      breaker_gauge_->Set(0);
      SP_LOG(kInfo, "heal", "breaker closed");
    }
  }
}

absl::Status Healer::Approve(int64_t id, EventTime now) {
  Collect(now);
  auto it = approvals_.find(id);
  const std::optional<LedgerDecision> d = ledger_->Get(id);
  if (it == approvals_.end() || !d || d->outcome != "awaiting_approval") {
    return absl::FailedPreconditionError(StrCat("decision ", id, " is not awaiting approval"));
  }
  if (now > it->second) {
    return absl::FailedPreconditionError(StrCat("decision ", id, " expired"));
  }
  if (ledger_->GetState("paused")) return absl::FailedPreconditionError("heal is paused");
  const HealRule* rule = RuleNamed(d->rule);
  if (rule == nullptr) return absl::FailedPreconditionError(StrCat("rule ", d->rule, " is gone"));
  approvals_.erase(it);
  Start(id, *rule, rule->action, /*undo=*/false, Values(*rule, AnomalyOf(*d), now), now);
  return absl::OkStatus();
}

void Healer::Drain(EventTime now) {
  while (!running_.empty()) Collect(now, /*wait_one=*/true);
}

}  // namespace sitepulse
