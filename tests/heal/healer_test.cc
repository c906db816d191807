// The heal decision engine against its guarantees (docs/heal.md), with a real SQLite ledger in a
// temporary directory, event time injected, and a runner that records what it was asked to run.
#include "heal/healer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <mutex>

#include "core/strings.h"
#include "heal/placeholders.h"

namespace sitepulse {
namespace {

namespace fs = std::filesystem;
constexpr EventTime kT0 = 1'700'000'000LL * kNanosPerSecond;
constexpr DurationNs kMin = 60 * kNanosPerSecond;

class RecordingRunner : public ActionRunner {
 public:
  ActionResult RunExec(const std::vector<std::string>& argv, DurationNs) override {
    std::lock_guard<std::mutex> lock(mu);
    calls.push_back(argv);
    ActionResult r;
    r.ok = !fail.count(argv.empty() ? "" : argv[0]);
    r.status = r.ok ? 0 : 1;
    return r;
  }
  std::vector<std::vector<std::string>> Calls() {
    std::lock_guard<std::mutex> lock(mu);
    return calls;
  }
  std::mutex mu;
  std::vector<std::vector<std::string>> calls;
  std::set<std::string> fail;  // programs that exit 1
};

class CaptureSink : public AnomalySink {
 public:
  explicit CaptureSink(std::vector<Anomaly>* out) : out_(out) {}
  void Publish(const Anomaly& a) override { out_->push_back(a); }
  bool Flush() override { return true; }
  std::string name() const override { return "capture"; }

 private:
  std::vector<Anomaly>* out_;
};

Anomaly Event(const std::string& site, AlertState state, EventTime started, EventTime at,
              const std::string& detector = "p99_latency_high") {
  Anomaly a;
  a.site = site;
  a.detector = detector;
  a.state = state;
  a.severity = "page";
  a.metric = "p99";
  a.started_at = started;
  a.at = at;
  a.id = MakeIncidentId(site, detector, started);
  return a;
}

HealRule Rollback() {
  HealRule r;
  r.name = "rollback";
  r.match.detector = "p99_latency_high";
  r.action.kind = HealAction::Kind::kExec;
  r.action.exec.argv = {"rollback", "{site}", "{incident}"};
  r.undo.kind = HealAction::Kind::kExec;
  r.undo.exec.argv = {"undo-rollback", "{site}"};
  r.verify_for = 5 * kMin;
  r.cooldown = 0;
  return r;
}

class HealerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / StrCat("heal_test_", ::testing::UnitTest::GetInstance()->current_test_info()->name(), "_", getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    config_.rules = {Rollback()};
    OpenLedger();
  }
  void TearDown() override {
    healer_.reset();
    ledger_.reset();
    fs::remove_all(dir_);
  }
  void OpenLedger() {
    healer_.reset();
    ledger_.reset();
    ledger_ = std::move(*Ledger::Open((dir_ / "ledger.db").string()));
  }
  Healer& H() {
    if (healer_ == nullptr) {
      Healer::Outputs out;
      out.escalate.push_back(std::make_unique<CaptureSink>(&escalations_));
      healer_ = std::make_unique<Healer>(config_, ledger_.get(), &runner_, std::move(out), &metrics_,
                                         /*event_clock=*/true);
      healer_->Recover(kT0);
    }
    return *healer_;
  }
  void Send(const Anomaly& a) {
    H().OnEvent(a, a.at);
    H().Drain(a.at);
  }
  std::vector<std::string> Outcomes(const Anomaly& a, const std::string& rule = "rollback") {
    std::vector<std::string> out;
    const std::optional<LedgerDecision> d = ledger_->Find(rule, a.id);
    if (!d) return out;
    for (const LedgerStep& s : ledger_->Steps(d->id)) out.push_back(s.outcome);
    return out;
  }

  fs::path dir_;
  HealConfig config_;
  std::unique_ptr<Ledger> ledger_;
  RecordingRunner runner_;
  MetricsRegistry metrics_;
  std::vector<Anomaly> escalations_;
  std::unique_ptr<Healer> healer_;
};

using Steps = std::vector<std::string>;

TEST_F(HealerTest, OneActionPerIncidentWhateverTheDuplicates) {
  const Anomaly fire = Event("shop.example.com", AlertState::kFiring, kT0, kT0 + kMin);
  Send(fire);
  Send(fire);
  Send(fire);
  ASSERT_EQ(runner_.Calls().size(), 1u);
  EXPECT_EQ(runner_.Calls()[0], (std::vector<std::string>{"rollback", "shop.example.com", fire.id}));
  EXPECT_EQ(Outcomes(fire), (Steps{"running", "acted"}));
  EXPECT_EQ(metrics_.CounterSum("sitepulse_heal_duplicate_events_total"), 2u);
}

TEST_F(HealerTest, TheDetectorsResolvedEventVerifiesTheAction) {
  const Anomaly fire = Event("shop.example.com", AlertState::kFiring, kT0, kT0 + kMin);
  Send(fire);
  Anomaly resolved = fire;
  resolved.state = AlertState::kResolved;
  resolved.at = kT0 + 4 * kMin;
  Send(resolved);
  EXPECT_EQ(Outcomes(fire), (Steps{"running", "acted", "verified"}));
  EXPECT_TRUE(escalations_.empty());
}

TEST_F(HealerTest, NoResolutionWithinVerifyForUndoesAndEscalates) {
  const Anomaly fire = Event("shop.example.com", AlertState::kFiring, kT0, kT0 + kMin);
  Send(fire);
  H().Tick(kT0 + 7 * kMin);  // verify_for (5m) after the decision has passed
  H().Drain(kT0 + 7 * kMin);
  EXPECT_EQ(Outcomes(fire), (Steps{"running", "acted", "failed_verify", "running", "undone", "escalated"}));
  ASSERT_EQ(runner_.Calls().size(), 2u);
  EXPECT_EQ(runner_.Calls()[1], (std::vector<std::string>{"undo-rollback", "shop.example.com"}));
  ASSERT_EQ(escalations_.size(), 1u);
  EXPECT_EQ(escalations_[0].detector, "heal/rollback");
  EXPECT_NE(escalations_[0].summary.find("a person is needed"), std::string::npos);
}

TEST_F(HealerTest, AFailedActionEscalatesAtOnce) {
  runner_.fail.insert("rollback");
  const Anomaly fire = Event("shop.example.com", AlertState::kFiring, kT0, kT0 + kMin);
  Send(fire);
  EXPECT_EQ(Outcomes(fire), (Steps{"running", "action_failed", "escalated"}));
  EXPECT_EQ(escalations_.size(), 1u);
}

TEST_F(HealerTest, CooldownAndMaxAttemptsPerSite) {
  config_.rules[0].cooldown = 30 * kMin;
  config_.rules[0].max_attempts = 2;
  config_.rules[0].verify_for = 5 * kMin;
  config_.rules[0].reopen_window = kMin;  // recurrences here are not the action's failure
  std::vector<Anomaly> fires;
  // Incidents 10 minutes apart on one site, each resolved quickly.
  for (int i = 0; i < 6; ++i) {
    const EventTime t = kT0 + i * 10 * kMin;
    fires.push_back(Event("shop.example.com", AlertState::kFiring, t, t + kMin));
    Send(fires.back());
    Anomaly r = fires.back();
    r.state = AlertState::kResolved;
    r.at = t + 2 * kMin;
    Send(r);
  }
  EXPECT_EQ(Outcomes(fires[0]).back(), "verified");
  EXPECT_EQ(Outcomes(fires[1]), (Steps{"skipped_cooldown"}));
  EXPECT_EQ(Outcomes(fires[2]), (Steps{"skipped_cooldown"}));
  EXPECT_EQ(Outcomes(fires[3]).back(), "verified");       // 30 minutes after the first
  EXPECT_EQ(Outcomes(fires[4]), (Steps{"skipped_cooldown"}));
  config_.rules[0].cooldown = 0;
  // A second incident right away is now stopped by max_attempts (2 within 24h).
  healer_.reset();
  const Anomaly more = Event("shop.example.com", AlertState::kFiring, kT0 + 70 * kMin, kT0 + 71 * kMin);
  Send(more);
  EXPECT_EQ(Outcomes(more), (Steps{"skipped_max_attempts"}));
  EXPECT_EQ(runner_.Calls().size(), 2u);
}

TEST_F(HealerTest, TheBreakerStopsAStormAndEscalatesOnce) {
  config_.breaker_max_sites = 5;
  for (int i = 0; i < 20; ++i) {
    Send(Event(StrCat("site", i, ".example.com"), AlertState::kFiring, kT0 + i * kNanosPerSecond,
               kT0 + kMin + i * kNanosPerSecond));
  }
  EXPECT_EQ(runner_.Calls().size(), 5u);
  ASSERT_EQ(escalations_.size(), 1u);
  EXPECT_EQ(escalations_[0].detector, "heal/breaker");
  EXPECT_EQ(metrics_.CounterSum("sitepulse_heal_decisions_total", "outcome", "skipped_breaker"), 15u);
}

TEST_F(HealerTest, ASecondIncidentWhileTheFirstIsBeingVerifiedWaits) {
  const Anomaly first = Event("shop.example.com", AlertState::kFiring, kT0, kT0 + kMin);
  const Anomaly second = Event("shop.example.com", AlertState::kFiring, kT0 + 2 * kMin, kT0 + 3 * kMin);
  const Anomaly elsewhere = Event("api.example.com", AlertState::kFiring, kT0 + 2 * kMin, kT0 + 3 * kMin);
  Send(first);
  Send(second);
  Send(elsewhere);
  EXPECT_EQ(Outcomes(second), (Steps{"skipped_in_flight"}));
  EXPECT_EQ(Outcomes(elsewhere), (Steps{"running", "acted"}));
  EXPECT_EQ(runner_.Calls().size(), 2u);
}

TEST_F(HealerTest, ShadowModeDecidesButNeverActs) {
  config_.shadow = true;
  const Anomaly fire = Event("shop.example.com", AlertState::kFiring, kT0, kT0 + kMin);
  Send(fire);
  EXPECT_EQ(Outcomes(fire), (Steps{"shadow"}));
  EXPECT_TRUE(runner_.Calls().empty());
}

TEST_F(HealerTest, PauseSurvivesARestartAndStillRecords) {
  ASSERT_TRUE(ledger_->SetState("paused", "now").ok());
  OpenLedger();  // a restart
  const Anomaly fire = Event("shop.example.com", AlertState::kFiring, kT0, kT0 + kMin);
  Send(fire);
  EXPECT_EQ(Outcomes(fire), (Steps{"skipped_paused"}));
  EXPECT_TRUE(runner_.Calls().empty());
}

TEST_F(HealerTest, HostileSiteNamesNeverReachACommand) {
  for (const char* site : {"x;touch p", "$(id)", "../..", "a b", "shop.example.com\n--force"}) {
    const Anomaly fire = Event(site, AlertState::kFiring, kT0, kT0 + kMin);
    Send(fire);
    EXPECT_EQ(Outcomes(fire), (Steps{"skipped_site_pattern"})) << site;
  }
  EXPECT_TRUE(runner_.Calls().empty());
}

// Even with a site_pattern that lets anything through, a value is one argv element: the real
// runner hands "$(id)" and "x;touch p" to the program as text, no shell runs them.
TEST_F(HealerTest, ValuesAreArgvElementsNotShellWords) {
  ActionRunner real;
  const fs::path marker = dir_ / "p";
  const ActionResult r = real.RunExec({"/bin/echo", "$(id)", StrCat("x;touch ", marker.string())},
                                      10 * kNanosPerSecond);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.output, StrCat("$(id) x;touch ", marker.string(), "\n"));
  EXPECT_FALSE(fs::exists(marker));
}

TEST_F(HealerTest, AnActionCutByACrashIsUnknownNeverRunAgain) {
  LedgerDecision d;
  d.rule = "rollback";
  d.site = "shop.example.com";
  d.incident = MakeIncidentId(d.site, "p99_latency_high", kT0);
  d.detector = "p99_latency_high";
  d.severity = "page";
  d.started_at = kT0;
  d.decided_at = kT0 + kMin;
  d.outcome = "running";  // the intent was written, the result never came
  ASSERT_TRUE(ledger_->Decide(d).ok());
  OpenLedger();
  H();  // Recover
  const Anomaly again = Event("shop.example.com", AlertState::kFiring, kT0, kT0 + 2 * kMin);
  Send(again);  // the same incident delivered again after the restart
  EXPECT_EQ(Outcomes(again), (Steps{"unknown_outcome", "escalated"}));
  EXPECT_TRUE(runner_.Calls().empty());
  EXPECT_EQ(escalations_.size(), 1u);
}

TEST_F(HealerTest, SmartRollbackOnlyAfterADeployAndWithItsVersion) {
  config_.rules[0].deploy_within = 15 * kMin;
  config_.rules[0].action.exec.argv = {"rollback", "{site}", "{deploy.previous_version}"};
  const Anomaly a = Event("a.example.com", AlertState::kFiring, kT0, kT0 + kMin);
  Send(a);
  EXPECT_EQ(Outcomes(a), (Steps{"skipped_no_deploy"}));
  H().OnDeploy({"b.example.com", "v42", "v41", kT0 - 5 * kMin});
  const Anomaly b = Event("b.example.com", AlertState::kFiring, kT0, kT0 + kMin);
  Send(b);
  ASSERT_EQ(runner_.Calls().size(), 1u);
  EXPECT_EQ(runner_.Calls()[0], (std::vector<std::string>{"rollback", "b.example.com", "v41"}));
}

TEST_F(HealerTest, TwoIneffectiveActionsInARowSuspendTheRuleForTheSite) {
  config_.rules[0].reopen_window = 30 * kMin;
  config_.rules[0].verify_for = 2 * kMin;
  auto incident = [&](EventTime t) {
    const Anomaly fire = Event("shop.example.com", AlertState::kFiring, t, t + kMin);
    Send(fire);
    Anomaly r = fire;
    r.state = AlertState::kResolved;
    r.at = t + 2 * kMin;
    Send(r);
    return fire;
  };
  const Anomaly first = incident(kT0);
  const Anomaly second = incident(kT0 + 10 * kMin);  // back 8 minutes after verification
  const Anomaly third = incident(kT0 + 20 * kMin);   // and again: two in a row did not hold
  EXPECT_EQ(Outcomes(first), (Steps{"running", "acted", "verified", "ineffective"}));
  EXPECT_EQ(Outcomes(second), (Steps{"running", "acted", "verified", "ineffective", "escalated"}));
  EXPECT_EQ(Outcomes(third), (Steps{"skipped_paused"}));  // suspended for this site
  EXPECT_EQ(runner_.Calls().size(), 2u);
  ASSERT_EQ(escalations_.size(), 1u);
  EXPECT_NE(escalations_[0].summary.find("suspended"), std::string::npos);
  // Another site is not affected; `heal resume` clears the suspension.
  const Anomaly other = Event("other.example.com", AlertState::kFiring, kT0 + 21 * kMin, kT0 + 22 * kMin);
  Send(other);
  EXPECT_EQ(Outcomes(other), (Steps{"running", "acted"}));
}

TEST_F(HealerTest, AnApprovedActionRunsAnUnapprovedOneExpiresAndEscalates) {
  config_.rules[0].approval = true;
  config_.rules[0].approval_timeout = 10 * kMin;
  config_.rules[0].verify_for = 30 * kMin;
  const Anomaly a = Event("a.example.com", AlertState::kFiring, kT0, kT0 + kMin);
  const Anomaly b = Event("b.example.com", AlertState::kFiring, kT0, kT0 + kMin);
  Send(a);
  Send(b);
  EXPECT_TRUE(runner_.Calls().empty());
  const int64_t id_a = ledger_->Find("rollback", a.id)->id;
  EXPECT_TRUE(H().Approve(id_a, kT0 + 3 * kMin).ok());
  H().Drain(kT0 + 3 * kMin);
  EXPECT_FALSE(H().Approve(id_a, kT0 + 4 * kMin).ok());  // once
  ASSERT_EQ(runner_.Calls().size(), 1u);
  EXPECT_EQ(runner_.Calls()[0][1], "a.example.com");
  H().Tick(kT0 + 12 * kMin);  // b's approval window is over
  EXPECT_EQ(Outcomes(b), (Steps{"awaiting_approval", "escalated"}));
  EXPECT_FALSE(H().Approve(ledger_->Find("rollback", b.id)->id, kT0 + 13 * kMin).ok());
  EXPECT_EQ(runner_.Calls().size(), 1u);
}

TEST(PlaceholdersTest, OnlyKnownNamesAndEachEncodingKeepsValuesInTheirPlace) {
  EXPECT_TRUE(CheckPlaceholders("{site} {{literal}}").ok());
  EXPECT_FALSE(CheckPlaceholders("{hostname}").ok());
  EXPECT_FALSE(CheckPlaceholders("{site").ok());
  const std::map<std::string, std::string> v = {{"site", "a b/../\"x\"&y=1"}};
  EXPECT_EQ(*ExpandPlaceholders("https://h/sites/{site}/restart", v, PlaceholderEncoding::kUrl),
            "https://h/sites/a%20b%2F..%2F%22x%22%26y%3D1/restart");
  EXPECT_EQ(*ExpandPlaceholders("{{\"site\":\"{site}\"}}", v, PlaceholderEncoding::kJson),
            "{\"site\":\"a b/../\\\"x\\\"&y=1\"}");
  EXPECT_FALSE(ExpandPlaceholders("{deploy.version}", v, PlaceholderEncoding::kRaw).ok());
}

}  // namespace
}  // namespace sitepulse
