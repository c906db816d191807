// Live reload of a running `sitepulse run` fed through a FIFO (tests/integration/
// reload_scenario.h): refused reloads keep the old configuration and say why; an accepted one,
// by POST /-/reload or by SIGHUP, applies from the next line on; no line is lost.
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>

#include "httplib.h"
#include "tests/integration/live_process.h"
#include "tests/integration/reload_scenario.h"

namespace sitepulse {
namespace {

using testing::Eventually;
using testing::LiveSitepulse;
using testing::ListenPort;
using testing::ReadFile;
using testing::ReloadScenario;
using testing::TempDir;

enum class Trigger { kPost, kSighup };

class ReloadTest : public ::testing::TestWithParam<Trigger> {};

std::string MetricsPage(httplib::Client& cli) {
  auto r = cli.Get("/metrics");
  return r ? r->body : "";
}

bool HasLine(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

TEST_P(ReloadTest, MidStreamTheNewDetectorsJudgeWhatFollowsAndNoLineIsLost) {
  TempDir dir;
  const ReloadScenario s = testing::MakeReloadScenario(dir);
  ASSERT_FALSE(::testing::Test::HasFailure());
  const std::string config = dir / "config.yaml";
  const std::string fixed = "format: {preset: nginx}\nlisten: 127.0.0.1:0\noutputs: [file:" +
                            dir / "live.jsonl" + "]\n";
  std::ofstream(config) << fixed << s.detectors_a;
  LiveSitepulse sp(dir, {"--config", config});
  ASSERT_TRUE(sp.running()) << sp.Stderr();
  sp.Write(s.before);
  int port = 0;
  ASSERT_TRUE(Eventually([&] { return (port = ListenPort(sp.Stderr())) > 0; })) << sp.Stderr();
  httplib::Client cli("127.0.0.1", port);
  ASSERT_TRUE(Eventually([&] {
    return HasLine(MetricsPage(cli), "sitepulse_lines_total " + std::to_string(s.lines_before));
  })) << "the first half was never read";
  EXPECT_TRUE(HasLine(MetricsPage(cli), "sitepulse_config_last_reload_successful 1"));

  // Refused as a whole, saying where and why; the running configuration stays.
  std::ofstream(config) << fixed << "windows: {resolution: 5s}\n" << s.detectors_b;
  auto restart_only = cli.Post("/-/reload", "", "text/plain");
  ASSERT_TRUE(restart_only);
  EXPECT_EQ(restart_only->status, 500);
  EXPECT_NE(restart_only->body.find("config.yaml:4: windows.resolution: changed, and only a restart"),
            std::string::npos)
      << restart_only->body;
  EXPECT_TRUE(HasLine(MetricsPage(cli), "sitepulse_config_last_reload_successful 0"));
  std::ofstream(config) << fixed << "detectors:\n  - {name: slow, metric: p99, treshold: 0.5}\n";
  auto invalid = cli.Post("/-/reload", "", "text/plain");
  ASSERT_TRUE(invalid);
  EXPECT_EQ(invalid->status, 500);
  EXPECT_NE(invalid->body.find("config.yaml:5"), std::string::npos) << invalid->body;
  EXPECT_NE(invalid->body.find("treshold"), std::string::npos) << invalid->body;
  EXPECT_NE(sp.Stderr().find("reload refused, the running configuration stays"), std::string::npos);

  // Accepted: B from the next line on.
  std::ofstream(config) << fixed << s.detectors_b;
  if (GetParam() == Trigger::kPost) {
    auto ok = cli.Post("/-/reload", "", "text/plain");
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 200) << ok->body;
  } else {
    ASSERT_EQ(kill(sp.pid(), SIGHUP), 0);
  }
  ASSERT_TRUE(Eventually([&] {
    return HasLine(MetricsPage(cli), "sitepulse_config_reloads_total{result=\"applied\"} 1");
  })) << sp.Stderr();
  const std::string page = MetricsPage(cli);
  EXPECT_TRUE(HasLine(page, "sitepulse_config_last_reload_successful 1"));
  EXPECT_TRUE(HasLine(page, "sitepulse_config_reloads_total{result=\"refused\"} 2"));
  sp.Write(s.after);
  ASSERT_EQ(sp.Wait(), 0) << sp.Stderr();
  EXPECT_NE(sp.Stderr().find("\"lines\":" + std::to_string(s.lines_total) + ","),
            std::string::npos)
      << "no line lost: " << testing::LastLine(sp.Stderr());
  EXPECT_EQ(testing::SortedLines(ReadFile(dir / "live.jsonl")), s.expected);
}

INSTANTIATE_TEST_SUITE_P(By, ReloadTest, ::testing::Values(Trigger::kPost, Trigger::kSighup),
                         [](const auto& info) {
                           return info.param == Trigger::kPost ? "Post" : "Sighup";
                         });

// A run without a configuration file has nothing to reload, and says so.
TEST(ReloadWithoutConfigTest, PostAnswersConflict) {
  TempDir dir;
  LiveSitepulse sp(dir, {"--listen", "127.0.0.1:0"});
  ASSERT_TRUE(sp.running()) << sp.Stderr();
  int port = 0;
  ASSERT_TRUE(Eventually([&] { return (port = ListenPort(sp.Stderr())) > 0; })) << sp.Stderr();
  httplib::Client cli("127.0.0.1", port);
  auto r = cli.Post("/-/reload", "", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 409);
  EXPECT_NE(r->body.find("--config"), std::string::npos);
  EXPECT_EQ(sp.Wait(), 0) << sp.Stderr();
}

}  // namespace
}  // namespace sitepulse
