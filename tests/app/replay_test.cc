// `sitepulse replay`: the same events as `run`, scoring against labels, --compare, the CI gates
// and the report's shape. A real browser opens the report in tests/integration (Chromium).
#include <gtest/gtest.h>

#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "app/replay_score.h"
#include "tests/app/test_util.h"

namespace sitepulse {
namespace {

using testing::ReadFile;
using testing::RunCommand;
using testing::TempDir;

const std::string kBin = SITEPULSE_BINARY;
const std::string kGolden = SITEPULSE_SOURCE_DIR "/tests/data/golden";

void Generate(const TempDir& dir) {
  auto gen = RunCommand(std::string(SITEPULSE_LOGGEN) + " $(cat " + kGolden + "/nginx_multi/loggen.args) --out " +
                            dir / "access.log" + " --error-out " + dir / "error.log",
                        dir);
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
}

std::string Inputs(const TempDir& dir) {
  return " --input file:" + dir / "access.log" + " --input 'file:" + dir / "error.log" +
         "?kind=error&preset=error_text'";
}

TEST(ReplayTest, EventsAreRunsEventsOnTheGoldenInput) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(Generate(dir));
  const std::string cfg = kGolden + "/nginx_multi/config.yaml";
  auto r = RunCommand(kBin + " replay --config " + cfg + Inputs(dir) + " --report " + dir / "r.html" +
                          " --events " + dir / "events.jsonl" + " --threads 2",
                      dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(dir / "events.jsonl"), ReadFile(kGolden + "/nginx_multi/expected_anomalies.jsonl"));
}

TEST(ReplayTest, ComparedWithItselfNothingDiffers) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(Generate(dir));
  const std::string cfg = kGolden + "/nginx_multi/config.yaml";
  auto r = RunCommand(kBin + " replay --config " + cfg + " --compare " + cfg + Inputs(dir) +
                          " --report " + dir / "r.html" + " --json " + dir / "s.json",
                      dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string html = ReadFile(dir / "r.html");
  EXPECT_EQ(html.find("class=\"diff\""), std::string::npos);
  EXPECT_NE(html.find("A fired"), std::string::npos);
  EXPECT_NE(html.find("B fired"), std::string::npos);
  // And a tighter threshold differs, marked.
  std::ofstream(dir / "tight.yaml") << ReadFile(cfg) << "";
  std::string tight = ReadFile(cfg);
  const size_t at = tight.find("threshold:");
  ASSERT_NE(at, std::string::npos);
  tight.replace(at, tight.find('\n', at) - at, "threshold: 0.01");
  std::ofstream(dir / "tight.yaml") << tight;
  auto t = RunCommand(kBin + " replay --config " + cfg + " --compare " + dir / "tight.yaml" + Inputs(dir) +
                          " --report " + dir / "t.html",
                      dir);
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_NE(ReadFile(dir / "t.html").find("class=\"diff\""), std::string::npos);
  EXPECT_NE(ReadFile(dir / "t.html").find("class=\"firing-b\""), std::string::npos)
      << "B's alerts on the charts";
}

// B differs from A only in its detectors: one pass evaluates both over the same windows, and
// B's events are exactly what `run` says with B. B with another resolution: two passes, said.
TEST(ReplayTest, CompareInOnePassSaysWhatRunWithBSays) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(Generate(dir));
  const std::string cfg = kGolden + "/nginx_multi/config.yaml";
  std::string b = ReadFile(cfg);
  for (const char* from : {"threshold: 0.5", "threshold: 0.05"}) {
    const size_t at = b.find(from);
    ASSERT_NE(at, std::string::npos);
    b.replace(at, std::string(from).size(), "threshold: 0.02");
  }
  b.insert(b.find("sites:"),
           "  - {name: p99_learned, type: baseline, metric: p99, window: 1m, learn_for: 20m}\n");
  std::ofstream(dir / "b.yaml") << b;
  auto r = RunCommand(kBin + " replay --config " + cfg + " --compare " + dir / "b.yaml" + Inputs(dir) +
                          " --report " + dir / "r.html" + " --json " + dir / "s.json" +
                          " --events " + dir / "a.jsonl" + " --compare-events " + dir / "b.jsonl",
                      dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(ReadFile(dir / "s.json").find("\"passes\":\"one pass, both configurations"),
            std::string::npos)
      << ReadFile(dir / "s.json");
  EXPECT_EQ(ReadFile(dir / "a.jsonl"), ReadFile(kGolden + "/nginx_multi/expected_anomalies.jsonl"));
  auto run_b = RunCommand(kBin + " run --config " + dir / "b.yaml" + Inputs(dir) + " --output file:" +
                              dir / "run-b.jsonl",
                          dir);
  ASSERT_EQ(run_b.exit_code, 0) << run_b.err;
  const std::string b_events = ReadFile(dir / "run-b.jsonl");
  EXPECT_NE(b_events, ReadFile(dir / "a.jsonl"));
  EXPECT_EQ(ReadFile(dir / "b.jsonl"), b_events);

  std::string coarse = ReadFile(cfg);
  coarse.replace(coarse.find("resolution: 10s"), 15, "resolution: 30s");
  std::ofstream(dir / "coarse.yaml") << coarse;
  auto two = RunCommand(kBin + " replay --config " + cfg + " --compare " + dir / "coarse.yaml" +
                            Inputs(dir) + " --report " + dir / "c.html" + " --json " + dir / "c.json",
                        dir);
  ASSERT_EQ(two.exit_code, 0) << two.err;
  EXPECT_NE(ReadFile(dir / "c.json").find("two passes (B differs from A in windows.resolution"),
            std::string::npos)
      << ReadFile(dir / "c.json");
  EXPECT_NE(ReadFile(dir / "c.html").find("read in two passes"), std::string::npos);
}

TEST(ReplayTest, TheGatesExitFourWhenNotMet) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(Generate(dir));
  const std::string cfg = kGolden + "/nginx_multi/config.yaml";
  // The golden run pages on shop (latency) and api (errors); label those two, then one more on a
  // site nothing fires for.
  const std::string events = ReadFile(kGolden + "/nginx_multi/expected_anomalies.jsonl");
  std::ofstream labels(dir / "labels.jsonl");
  for (const std::string& line : testing::Lines(events)) {
    auto a = AnomalyFromJson(line);
    if (!a.ok() || a->state != AlertState::kFiring || a->severity != "page") continue;
    labels << "{\"site\":\"" << a->site << "\",\"start\":\"" << FormatRfc3339(a->started_at)
           << "\",\"end\":\"" << FormatRfc3339(a->at + 60 * kNanosPerSecond) << "\",\"kind\":\"x\"}\n";
  }
  labels.close();
  const std::string base = kBin + " replay --config " + cfg + Inputs(dir) + " --report " + dir / "r.html" +
                           " --labels " + dir / "labels.jsonl";
  EXPECT_EQ(RunCommand(base + " --fail-under recall=1.0 --max-false-pages 0", dir).exit_code, 0);
  std::ofstream(dir / "labels.jsonl", std::ios::app)
      << "{\"site\":\"auth.example.com\",\"start\":\"2025-01-01T00:10:00Z\",\"end\":\"2025-01-01T00:20:00Z\",\"kind\":\"missed\"}\n";
  auto missed = RunCommand(base + " --fail-under recall=1.0", dir);
  EXPECT_EQ(missed.exit_code, 4) << missed.err;
  EXPECT_NE(missed.err.find("recall"), std::string::npos);
  EXPECT_EQ(RunCommand(base + " --fail-under recall=0.5", dir).exit_code, 0);
}

// Side files are read whole, so they are capped: a --labels or --deploys path that names a huge
// file (a log given by mistake) is a clear error naming it, before anything is read.
TEST(ReplayTest, HugeLabelsOrDeploysFilesAreRefusedByName) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(Generate(dir));
  const std::string cfg = kGolden + "/nginx_multi/config.yaml";
  std::ofstream(dir / "huge.jsonl").close();
  std::filesystem::resize_file(dir / "huge.jsonl", uintmax_t{300} << 20);  // sparse: no disk used
  for (const char* flag : {"--labels", "--deploys"}) {
    auto r = RunCommand(kBin + " replay --config " + cfg + Inputs(dir) + " --report " + dir / "r.html " +
                            flag + " " + dir / "huge.jsonl",
                        dir);
    EXPECT_EQ(r.exit_code, 2) << flag << r.err;
    EXPECT_NE(r.err.find(dir / "huge.jsonl: 314572800 bytes of"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("at most 256 MiB are read"), std::string::npos) << r.err;
  }
}

TEST(ReplayTest, TheReportIsSelfContainedWithAChartPerAlertingSite) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(Generate(dir));
  auto r = RunCommand(kBin + " replay --config " + kGolden + "/nginx_multi/config.yaml" + Inputs(dir) +
                          " --report " + dir / "r.html",
                      dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string html = ReadFile(dir / "r.html");
  EXPECT_NE(html.find("Content-Security-Policy"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("src=\"http"), std::string::npos);
  EXPECT_EQ(html.find("href=\"http"), std::string::npos);
  for (const char* site : {"shop.example.com", "api.example.com"}) {
    EXPECT_NE(html.find(std::string("<svg class=\"chart\" data-site=\"") + site), std::string::npos) << site;
  }
  EXPECT_NE(html.find("class=\"firing\""), std::string::npos);
  EXPECT_NE(html.find("class=\"threshold\""), std::string::npos);
}

// The charts carry what an SRE tunes from: a learned detector's band (baseline and the bound
// it fires past), the spans a `for:` held an alert pending, deploy markers, and links from each
// firing span to its event.
TEST(ReplayTest, ChartsShowLearnedBandsPendingSpansAndDeploys) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(Generate(dir));
  std::string cfg = ReadFile(kGolden + "/nginx_multi/config.yaml");
  cfg.insert(cfg.find("sites:"),
             "  - {name: p99_learned, type: baseline, metric: p99, window: 1m, learn_for: 10m}\n");
  std::ofstream(dir / "learned.yaml") << cfg;
  std::ofstream(dir / "deploys.jsonl")
      << "{\"site\":\"shop.example.com\",\"version\":\"v42\",\"previous_version\":\"v41\","
         "\"at\":\"2025-01-01T00:19:00Z\"}\n";
  auto r = RunCommand(kBin + " replay --config " + dir / "learned.yaml" + Inputs(dir) + " --report " +
                          dir / "r.html" + " --deploys " + dir / "deploys.jsonl",
                      dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string html = ReadFile(dir / "r.html");
  const size_t shop = html.find("<svg class=\"chart\" data-site=\"shop.example.com\"");
  ASSERT_NE(shop, std::string::npos);
  const std::string chart = html.substr(shop, html.find("</svg>", shop) - shop);
  EXPECT_NE(chart.find("class=\"band\""), std::string::npos) << "the learned p99 band";
  EXPECT_NE(chart.find("p99_learned: learned baseline"), std::string::npos);
  EXPECT_NE(chart.find("class=\"baseline\""), std::string::npos);
  // p99_latency_high has for: 3m: it was pending before it fired.
  EXPECT_NE(chart.find("class=\"pending\""), std::string::npos);
  EXPECT_NE(chart.find("p99_latency_high pending 2025-01-01T00:2"), std::string::npos) << chart;
  EXPECT_NE(chart.find("deploy v42 (from v41) at 2025-01-01T00:19:00Z"), std::string::npos);
  // Every firing span links to an event listed under its chart.
  const size_t link = chart.find("<a href=\"#ev-");
  ASSERT_NE(link, std::string::npos);
  const std::string target = chart.substr(link + 10, chart.find('"', link + 10) - link - 10);
  EXPECT_NE(html.find("id=\"" + target + "\""), std::string::npos) << target;
  // And every listed event links back to its span.
  const size_t back = html.find("<li id=\"ev-A-");
  ASSERT_NE(back, std::string::npos);
  const size_t spot = html.find("<a href=\"#spot-", back);
  ASSERT_NE(spot, std::string::npos);
  const std::string spot_id = html.substr(spot + 10, html.find('"', spot + 10) - spot - 10);
  EXPECT_NE(html.find("id=\"" + spot_id + "\""), std::string::npos) << spot_id;

  std::ofstream(dir / "bad.jsonl") << "{\"site\":\"shop.example.com\"}\n";
  auto bad = RunCommand(kBin + " replay --config " + dir / "learned.yaml" + Inputs(dir) + " --report " +
                            dir / "r2.html" + " --deploys " + dir / "bad.jsonl",
                        dir);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("bad.jsonl:1:"), std::string::npos) << bad.err;
}

// Runs argv with stdout and stderr on a pseudo-terminal; what the terminal received.
std::string RunOnPty(const std::vector<std::string>& argv, double* seconds) {
  int master = -1;
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
  if (pid == 0) {
    std::vector<char*> cargv;
    for (const std::string& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    execv(cargv[0], cargv.data());
    _exit(127);
  }
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(master, buf, sizeof(buf))) > 0;) out.append(buf, static_cast<size_t>(n));
  int status = 0;
  waitpid(pid, &status, 0);
  close(master);
  *seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

// Progress: on a terminal one status line rewritten in place (at most 10 times a second);
// nothing on a non-terminal by default; JSON lines with --progress always.
TEST(ReplayTest, ProgressOnATerminalAndAsJson) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(Generate(dir));
  const std::string cfg = kGolden + "/nginx_multi/config.yaml";
  double seconds = 0;
  const std::string tty = RunOnPty({kBin, "replay", "--config", cfg, "--input", "file:" + dir / "access.log",
                                    "--report", dir / "tty.html"},
                                   &seconds);
  const size_t status = tty.find("\rreplay A: ");
  ASSERT_NE(status, std::string::npos) << tty;
  const std::string line = tty.substr(status, tty.find('\r', status + 1) - status);
  for (const char* part : {"% of ", " MB, ", " lines/s, at 2025-01-01T", ", ETA "}) {
    EXPECT_NE(line.find(part), std::string::npos) << part << " in " << line;
  }
  EXPECT_NE(tty.find("100.0% of"), std::string::npos) << "the last update says where it ended";
  size_t updates = 0;
  for (size_t at = 0; (at = tty.find("\rreplay A: ", at)) != std::string::npos; ++at) ++updates;
  EXPECT_LE(static_cast<double>(updates), 10 * seconds + 2) << updates << " updates in " << seconds << " s";

  auto quiet = RunCommand(kBin + " replay --config " + cfg + " --input file:" + dir / "access.log" +
                              " --report " + dir / "q.html",
                          dir);
  ASSERT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_EQ(quiet.err.find("lines/s"), std::string::npos) << "no progress on a non-terminal";
  EXPECT_EQ(quiet.err.find("\"progress\""), std::string::npos);

  auto json = RunCommand(kBin + " replay --config " + cfg + " --input file:" + dir / "access.log" +
                             " --report " + dir / "j.html --progress always",
                         dir);
  ASSERT_EQ(json.exit_code, 0) << json.err;
  size_t progress_lines = 0;
  for (const std::string& l : testing::Lines(json.err)) {
    if (l.rfind("{\"progress\":\"replay A\"", 0) != 0) continue;
    ++progress_lines;
    for (const char* key : {"\"bytes\":", "\"total_bytes\":", "\"lines_per_s\":", "\"event_time\":\"2025-", "\"eta_s\":"}) {
      EXPECT_NE(l.find(key), std::string::npos) << key << " in " << l;
    }
  }
  EXPECT_GE(progress_lines, 1u) << json.err;
}

TEST(ReplayTest, HealRulesRunInShadowOverTheReplayedEvents) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(Generate(dir));
  std::ofstream(dir / "heal.yaml") << "heal:\n  escalate: [file:" << dir / "must-not-exist.jsonl" << "]\n"
                                      "rules:\n  - name: restart\n    match: {severity: page}\n"
                                      "    action: {exec: [/bin/touch, " << dir / "acted" << "]}\n";
  auto r = RunCommand(kBin + " replay --config " + kGolden + "/nginx_multi/config.yaml" + Inputs(dir) +
                          " --report " + dir / "r.html" + " --json " + dir / "s.json --heal " + dir / "heal.yaml",
                      dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string html = ReadFile(dir / "r.html");
  EXPECT_NE(html.find("<table id=\"heal\">"), std::string::npos);
  EXPECT_NE(html.find("<td>shadow</td>"), std::string::npos);
  EXPECT_NE(ReadFile(dir / "s.json").find("\"heal_shadow\":{\"shadow\":"), std::string::npos);
  EXPECT_FALSE(std::ifstream(dir / "acted").good()) << "a shadow backtest ran an action";
  EXPECT_FALSE(std::ifstream(dir / "must-not-exist.jsonl").good()) << "a backtest escalated";
}

// Hand-computed: two incidents, one detected late, one missed; one page outside any window.
TEST(ReplayScoreTest, DetectedMissedFalsePagesAndTimeToDetect) {
  const EventTime t = 1'700'000'000LL * kNanosPerSecond;
  const DurationNs m = 60 * kNanosPerSecond, bucket = 10 * kNanosPerSecond;
  std::vector<Label> labels = {{"a", "latency", t, t + 10 * m}, {"b", "errors", t, t + 10 * m}};
  std::vector<ReplayIncident> incidents = {
      // starts 5 s before the window (within one bucket): counts, detected 3 minutes in
      {"i1", "a", "p99", "page", t - 5 * kNanosPerSecond, t + 3 * m, t + 12 * m, true},
      // site b: starts after the window: a false page and no detection
      {"i2", "b", "p99", "page", t + 11 * m, t + 12 * m, t + 14 * m, true},
      // a ticket on b inside the window: detects b, never a false page
      {"i3", "b", "burn", "ticket", t + 1 * m, t + 2 * m, t + 20 * m, false},
  };
  const ReplayScore s = ScoreReplay(incidents, labels, {"p99", "burn", "quiet"}, bucket, 86400);
  ASSERT_EQ(s.detectors.size(), 3u);
  const Score& burn = s.detectors[0];
  const Score& p99 = s.detectors[1];
  const Score& quiet = s.detectors[2];
  EXPECT_EQ(p99.detector, "p99");
  EXPECT_EQ(p99.detected, 1u);
  EXPECT_EQ(p99.missed, 1u);
  EXPECT_EQ(p99.false_pages, 1u);
  EXPECT_EQ(p99.pages, 2u);
  EXPECT_DOUBLE_EQ(p99.median_ttd_s, 180);
  EXPECT_DOUBLE_EQ(p99.median_alert_s, (9 * 60 + 2 * 60) / 2.0);  // i1 9m, i2 2m
  EXPECT_EQ(burn.detected, 1u);
  EXPECT_DOUBLE_EQ(burn.worst_ttd_s, 120);
  EXPECT_EQ(burn.false_pages, 0u);
  EXPECT_EQ(quiet.fired, 0u);
  EXPECT_EQ(quiet.missed, 2u);
  EXPECT_EQ(s.overall.detected, 2u);
  EXPECT_EQ(s.overall.missed, 0u);
  EXPECT_EQ(s.overall.false_pages, 1u);
  EXPECT_DOUBLE_EQ(s.overall.pages_per_day, 2);
}

}  // namespace
}  // namespace sitepulse
