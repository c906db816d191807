// Anomalies to a real Alertmanager (Debian's prometheus-alertmanager, started by
// scripts/alertmanager.sh; scripts/test.sh starts it for the integration tests).
#include <gtest/gtest.h>

#include <cstdlib>

#include "httplib.h"
#include "simdjson.h"
#include "tests/integration/live_process.h"

namespace sitepulse {
namespace {

using testing::Eventually;
using testing::LiveSitepulse;
using testing::ReadFile;
using testing::RunCommand;
using testing::SplitAtTime;
using testing::TempDir;

int AmPort() {
  const char* p = std::getenv("SITEPULSE_AM_PORT");
  return p != nullptr ? std::atoi(p) : 9093;
}

struct AmAlert {
  std::string alertname, site, severity, env, summary, starts_at, state;
};

// Active alerts in Alertmanager.
std::vector<AmAlert> ActiveAlerts() {
  httplib::Client cli("127.0.0.1", AmPort());
  auto res = cli.Get("/api/v2/alerts?active=true&silenced=true&inhibited=true");
  std::vector<AmAlert> out;
  if (!res || res->status != 200) return out;
  simdjson::dom::parser parser;
  simdjson::dom::array arr;
  if (parser.parse(res->body).get(arr) != simdjson::SUCCESS) return out;
  for (simdjson::dom::element e : arr) {
    AmAlert a;
    auto str = [](simdjson::simdjson_result<simdjson::dom::element> x, const char* k) {
      std::string_view v;
      return x[k].get(v) == simdjson::SUCCESS ? std::string(v) : std::string();
    };
    a.alertname = str(e["labels"], "alertname");
    a.site = str(e["labels"], "site");
    a.severity = str(e["labels"], "severity");
    a.env = str(e["labels"], "env");
    a.summary = str(e["annotations"], "summary");
    simdjson::dom::element copy = e;
    a.starts_at = str(simdjson::simdjson_result<simdjson::dom::element>(std::move(copy)), "startsAt");
    a.state = str(e["status"], "state");
    out.push_back(a);
  }
  return out;
}

const AmAlert* Find(const std::vector<AmAlert>& alerts, const std::string& name, const std::string& site) {
  for (const AmAlert& a : alerts) {
    if (a.alertname == name && a.site == site) return &a;
  }
  return nullptr;
}

class AlertmanagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    httplib::Client cli("127.0.0.1", AmPort());
    auto res = cli.Get("/-/ready");
    ASSERT_TRUE(res && res->status == 200)
        << "no Alertmanager on 127.0.0.1:" << AmPort() << " (scripts/alertmanager.sh start)";
    // A 5xx burst on api.example.com from 00:10 to 00:20, forty minutes in all.
    auto gen = RunCommand(std::string(SITEPULSE_LOGGEN) +
                              " --format nginx --sites 2 --rps 10 --duration 40m --seed 5"
                              " --incident errors,1,10m,10m --out " + dir_ / "access.log",
                          dir_);
    ASSERT_EQ(gen.exit_code, 0) << gen.err;
    // Each test gets its own site label value space through `env`, so runs do not see each
    // other's alerts.
    env_ = std::to_string(::getpid()) + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::ofstream(dir_ / "config.yaml")
        << "format: {preset: nginx}\n"
           "windows: {resolution: 10s, lateness: 30s}\n"
           "outputs:\n"
           "  - uri: alertmanager+http://127.0.0.1:" << AmPort() << "\n"
           "    labels: {env: \"" << env_ << "\"}\n"
           "    generator_url: http://sitepulse.example/\n"
           "    resend_interval: 1s\n"
           "    backoff: 100ms\n"
           "    max_retries: 100\n"
           "  - file:" << dir_ / "events.jsonl" << "\n"
           "detectors:\n"
           "  - {name: error_rate_high, metric: error_rate, threshold: 0.05, window: 2m, for: 1m,"
           " keep_firing_for: 1m, min_requests: 50, severity: page, labels: {team: web}}\n";
  }
  std::vector<AmAlert> Mine() {
    std::vector<AmAlert> out;
    for (const AmAlert& a : ActiveAlerts()) {
      if (a.env == env_) out.push_back(a);
    }
    return out;
  }
  TempDir dir_;
  std::string env_;
};

TEST_F(AlertmanagerTest, FiringThenResolved) {
  const auto [during, after] = SplitAtTime(ReadFile(dir_ / "access.log"), "2025-01-01T00:18");
  ASSERT_FALSE(after.empty());
  LiveSitepulse sp(dir_, {"--config", dir_ / "config.yaml"});
  ASSERT_TRUE(sp.running()) << sp.Stderr();
  sp.Write(during);
  ASSERT_TRUE(Eventually([&] { return Find(Mine(), "error_rate_high", "api.example.com") != nullptr; }))
      << sp.Stderr();
  const auto alerts = Mine();
  const AmAlert* a = Find(alerts, "error_rate_high", "api.example.com");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->severity, "page");
  EXPECT_EQ(a->state, "active");
  EXPECT_NE(a->summary.find("5xx error rate of api.example.com"), std::string::npos) << a->summary;
  EXPECT_EQ(a->starts_at.rfind("2025-01-01T00:1", 0), 0u) << a->starts_at;  // event time
  EXPECT_EQ(Find(alerts, "error_rate_high", "shop.example.com"), nullptr);

  sp.Write(after);
  ASSERT_EQ(sp.Wait(), 0) << sp.Stderr();
  EXPECT_TRUE(Eventually([&] { return Find(Mine(), "error_rate_high", "api.example.com") == nullptr; }))
      << "still active after its resolved event";
  const std::string summary = testing::LastLine(sp.Stderr());
  EXPECT_NE(summary.find("\"firing\":1,\"resolved\":1"), std::string::npos) << summary;
  EXPECT_NE(summary.find("\"events_undelivered\":0"), std::string::npos) << summary;
}

TEST_F(AlertmanagerTest, RestartMidRunLosesNothing) {
  const std::string log = ReadFile(dir_ / "access.log");
  const auto [part1, rest] = SplitAtTime(log, "2025-01-01T00:15");
  const auto [part2, part3] = SplitAtTime(rest, "2025-01-01T00:30");
  LiveSitepulse sp(dir_, {"--config", dir_ / "config.yaml"});
  ASSERT_TRUE(sp.running()) << sp.Stderr();
  sp.Write(part1);
  ASSERT_TRUE(Eventually([&] { return Find(Mine(), "error_rate_high", "api.example.com") != nullptr; }))
      << sp.Stderr();
  const std::string script = std::string(SITEPULSE_SOURCE_DIR) + "/scripts/alertmanager.sh ";
  // Alertmanager restarts and forgets every alert: the still-firing incident comes back through
  // the periodic re-send, without new input.
  ASSERT_EQ(std::system((script + "restart >/dev/null").c_str()), 0);
  EXPECT_TRUE(Eventually([&] { return Find(Mine(), "error_rate_high", "api.example.com") != nullptr; }))
      << "the firing alert was not re-sent after the restart";
  // Alertmanager goes away again; the incident ends meanwhile (its resolved event must wait).
  ASSERT_EQ(std::system((script + "stop >/dev/null").c_str()), 0);
  sp.Write(part2);
  std::this_thread::sleep_for(std::chrono::seconds(2));  // real outage time for retries to fail
  ASSERT_EQ(std::system((script + "start >/dev/null").c_str()), 0);
  sp.Write(part3);
  ASSERT_EQ(sp.Wait(), 0) << sp.Stderr();
  const std::string summary = testing::LastLine(sp.Stderr());
  EXPECT_NE(summary.find("\"firing\":1,\"resolved\":1"), std::string::npos) << summary;
  EXPECT_NE(summary.find("\"events_undelivered\":0"), std::string::npos) << summary;
  EXPECT_EQ(summary.find("\"sink_retries\":0,"), std::string::npos) << "no retry happened: " << summary;
  EXPECT_TRUE(Eventually([&] { return Find(Mine(), "error_rate_high", "api.example.com") == nullptr; }));
  // Every event also reached the file output: the JSON-lines twin of what Alertmanager got.
  EXPECT_EQ(testing::Lines(ReadFile(dir_ / "events.jsonl")).size(), 2u);
}

}  // namespace
}  // namespace sitepulse
