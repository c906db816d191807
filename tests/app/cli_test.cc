// The command line as a user meets it: help, version, check, and clear failures.
#include <gtest/gtest.h>

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include "tests/app/test_util.h"

namespace sitepulse {
namespace {

using testing::RunCommand;
using testing::TempDir;

const std::string kBin = SITEPULSE_BINARY;

TEST(CliTest, HelpAndVersion) {
  TempDir dir;
  auto r = RunCommand(kBin + " --version", dir);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.rfind("sitepulse ", 0), 0u);
  for (const char* cmd : {" --help", " run --help", " check --help"}) {
    r = RunCommand(kBin + cmd, dir);
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_NE(r.out.find("usage: sitepulse"), std::string::npos) << cmd;
  }
  r = RunCommand(kBin + " frobnicate", dir);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown command 'frobnicate'"), std::string::npos);
}

TEST(CliTest, CheckReportsEveryErrorWithFileAndLine) {
  TempDir dir;
  std::ofstream(dir / "bad.yaml") << "windows:\n  resolution: 10 sec\nlimits:\n  max_sites: -3\n"
                                      "detectors:\n  - {name: x, metric: p99, threshold: 1, colour: red}\n";
  auto r = RunCommand(kBin + " check --config " + dir / "bad.yaml", dir);
  EXPECT_EQ(r.exit_code, 1);
  const std::string f = dir / "bad.yaml";
  EXPECT_NE(r.err.find(f + ":2: windows.resolution: bad duration"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(f + ":4: limits.max_sites:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(f + ":6: detectors[0].colour: unknown key"), std::string::npos) << r.err;
  EXPECT_EQ(testing::Lines(r.err).size(), 3u) << r.err;
  r = RunCommand(kBin + " check --config " SITEPULSE_SOURCE_DIR "/configs/demo.yaml", dir);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = RunCommand(kBin + " check --config " + dir / "missing.yaml", dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot read the config file"), std::string::npos);
}

TEST(CliTest, RunFailsClearlyOnBadConfigOrInput) {
  TempDir dir;
  std::ofstream(dir / "bad.yaml") << "detectors: 3\n";
  auto r = RunCommand(kBin + " run --config " + dir / "bad.yaml --input /dev/null", dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(":1: detectors: expected a list of detectors"), std::string::npos) << r.err;
  r = RunCommand(kBin + " run --input " + dir / "nope.log", dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot open input"), std::string::npos) << r.err;
  r = RunCommand(kBin + " run --input 'x.log?preset=klingon'", dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unknown preset 'klingon'"), std::string::npos) << r.err;
  r = RunCommand(kBin + " run --input /dev/null --threads zero", dir);
  EXPECT_EQ(r.exit_code, 2);
  r = RunCommand(kBin + " run --input /dev/null --output file:/nonexistent/dir/x", dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot open output"), std::string::npos) << r.err;
}

TEST(CliTest, EmptyInputStillEndsWithASummary) {
  TempDir dir;
  auto r = RunCommand(kBin + " run --input /dev/null", dir);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(testing::LastLine(r.err).find("\"lines\":0,\"parsed\":0,\"rejected\":0"), std::string::npos)
      << r.err;
  EXPECT_TRUE(r.out.empty());
}

// `sitepulse series` over an exported metric: one score per row, in order; nothing while the
// baseline warms up; the row where the value jumps scores at least 0.5 (its condition holds); a
// broken row is an error naming the file and the row.
TEST(CliTest, SeriesScoresEveryRowOfACsv) {
  TempDir dir;
  {
    std::ofstream csv(dir / "in.csv");
    csv << "timestamp,value\n";
    for (int i = 0; i < 300; ++i) {  // five hours, one row a minute
      char ts[32];
      std::snprintf(ts, sizeof(ts), "2024-03-01 %02d:%02d:00", i / 60, i % 60);
      csv << ts << "," << (i == 240 ? 400 : 100 + (i * 7) % 11) << "\n";
    }
  }
  auto r = RunCommand(kBin + " series --detector baseline --input " + dir / "in.csv" +
                          " --output " + dir / "out.csv",
                      dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rows = testing::Lines(testing::ReadFile(dir / "out.csv"));
  ASSERT_EQ(rows.size(), 301u);
  EXPECT_EQ(rows[0], "timestamp,value,anomaly_score");
  auto score = [&](size_t row) { return std::stod(rows[row].substr(rows[row].rfind(',') + 1)); };
  for (size_t i = 1; i <= 60; ++i) EXPECT_EQ(score(i), 0) << rows[i];  // warming up (1h)
  EXPECT_GE(score(241), 0.5) << rows[241];
  EXPECT_EQ(rows[241].substr(0, rows[241].rfind(',')), "2024-03-01 04:00:00,400");
  double quiet = 0;
  for (size_t i = 120; i <= 239; ++i) quiet = std::max(quiet, score(i));
  EXPECT_LT(quiet, 0.5);

  std::ofstream(dir / "bad.csv") << "timestamp,value\n2024-03-01 00:00:00,1\nyesterday,2\n";
  auto bad = RunCommand(kBin + " series --detector baseline --input " + dir / "bad.csv" +
                            " --output " + dir / "bad_out.csv",
                        dir);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find(dir / "bad.csv" + ":3: cannot read"), std::string::npos) << bad.err;
}

// Real exports: a repeated hour at a clock change (timestamps step back, as in a NAB file at
// row 10,151, which used to abort with "timestamps must not go back in time"), a repeated
// timestamp, blank and non-numeric values. Every usable row is scored in the given order, the
// others skipped; each kind is counted and warned about once.
TEST(CliTest, SeriesTakesRealExports) {
  TempDir dir;
  {
    std::ofstream csv(dir / "in.csv");
    csv << "timestamp,value\n";
    for (int i = 0; i < 180; ++i) {
      char ts[32];
      std::snprintf(ts, sizeof(ts), "2024-03-01 %02d:%02d:00", i / 60, i % 60);
      csv << ts << "," << 100 + i % 7 << "\n";
      if (i == 120) csv << "2024-03-01 01:30:00,101\n";  // back by half an hour
      if (i == 130) csv << ts << ",102\n";               // the same timestamp again
      if (i == 140) csv << ts << ",\n";                  // blank
      if (i == 150) csv << ts << ",n/a\n";               // not a number
    }
  }
  auto r = RunCommand(kBin + " series --detector baseline --input " + dir / "in.csv" +
                          " --output " + dir / "out.csv",
                      dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(testing::Lines(testing::ReadFile(dir / "out.csv")).size(), 1u + 180 + 2);
  EXPECT_NE(r.err.find(dir / "in.csv" + ":123: a timestamp earlier than the row before"),
            std::string::npos) << r.err;
  EXPECT_NE(r.err.find(":134: the same timestamp"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(":145: a blank or non-numeric value"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("2 rows skipped (no numeric value), 1 stepped back in time, 1 repeated a timestamp"),
            std::string::npos) << r.err;
}

// The scores `sitepulse series --score MODE` gives the rows of dir/in.csv, in order.
std::vector<double> SeriesScores(const TempDir& dir, const std::string& mode,
                                 const std::string& extra = "") {
  auto r = RunCommand(kBin + " series --detector baseline --score " + mode + extra + " --input " +
                          dir / "in.csv" + " --output " + dir / (mode + ".csv"),
                      dir);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<double> out;
  const auto rows = testing::Lines(testing::ReadFile(dir / (mode + ".csv")));
  for (size_t i = 1; i < rows.size(); ++i) {
    out.push_back(std::stod(rows[i].substr(rows[i].rfind(',') + 1)));
  }
  return out;
}

double MaxIn(const std::vector<double>& v, size_t from, size_t to) {
  return *std::max_element(v.begin() + static_cast<std::ptrdiff_t>(from),
                           v.begin() + static_cast<std::ptrdiff_t>(to));
}

// `--score context` also weighs how expected each value is after the ones before it: a series
// whose rhythm changes while its values stay in their usual range scores as an anomaly there,
// which the deviation likelihood alone does not see; the steady rhythm before never does.
TEST(CliTest, SeriesContextScoreSeesANewRhythmInTheUsualRange) {
  TempDir dir;
  {
    std::ofstream csv(dir / "in.csv");
    csv << "timestamp,value\n";
    const int before[] = {100, 140, 180, 140}, after[] = {100, 180, 100, 180};
    for (int i = 0; i < 2000; ++i) {  // one row every 5 minutes, the rhythm changes at row 1500
      const int64_t t = 1709251200 + int64_t{300} * i;
      csv << t << "," << (i < 1500 ? before[i % 4] : after[i % 4]) << "\n";
    }
  }
  const std::vector<double> context = SeriesScores(dir, "context"),
                            likelihood = SeriesScores(dir, "likelihood");
  ASSERT_EQ(context.size(), 2000u);
  ASSERT_EQ(likelihood.size(), 2000u);
  EXPECT_GE(MaxIn(context, 1500, 1520), 0.99);     // the new rhythm is an anomaly
  EXPECT_LT(MaxIn(likelihood, 1500, 1520), 0.99);  // its values alone are not
  EXPECT_LT(MaxIn(context, 1000, 1500), 0.99);     // the old rhythm, learned, never was
}

// `--score context` also sees a small sustained shift of the mean (here a fifth of the noise's
// range) that no single value shows; the noise before it never scores as an anomaly.
TEST(CliTest, SeriesContextScoreSeesASmallSustainedShift) {
  TempDir dir;
  {
    std::ofstream csv(dir / "in.csv");
    csv << "timestamp,value\n";
    uint64_t x = 12345;
    for (int i = 0; i < 2000; ++i) {  // one row every 5 minutes, +20 from row 1500 on
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      const double noise = static_cast<double>(x >> 11) / static_cast<double>(1ull << 53) * 100 - 50;
      csv << 1709251200 + int64_t{300} * i << "," << 100 + noise + (i >= 1500 ? 20 : 0) << "\n";
    }
  }
  const std::vector<double> context = SeriesScores(dir, "context"),
                            likelihood = SeriesScores(dir, "likelihood");
  ASSERT_EQ(context.size(), 2000u);
  EXPECT_GE(MaxIn(context, 1500, 1600), 0.99);     // found within 100 rows (8 h)
  EXPECT_LT(MaxIn(likelihood, 1500, 1600), 0.99);  // no single value gives it away
  EXPECT_LT(MaxIn(context, 1000, 1500), 0.99);     // the noise alone never did
}

// `--score context` scores 1 for a value beyond the range of every value before it by more than
// 5% of that range, however ordinary the recent values were; a value inside that tolerance does
// not score 1. Only the first row of the excursion is a new detection.
TEST(CliTest, SeriesContextScoreFiresOnANewExtreme) {
  TempDir dir;
  {
    std::ofstream csv(dir / "in.csv");
    csv << "timestamp,value\n";
    uint64_t x = 777;
    for (int i = 0; i < 2000; ++i) {  // uniform noise in [100, 200); 204 at row 1200, 260 at 1700
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      double v = 100 + static_cast<double>(x >> 11) / static_cast<double>(1ull << 53) * 100;
      if (i == 1200) v = 204;
      if (i == 1700 || i == 1701) v = 260;
      csv << 1709251200 + int64_t{300} * i << "," << v << "\n";
    }
  }
  const std::vector<double> context = SeriesScores(dir, "context");
  ASSERT_EQ(context.size(), 2000u);
  EXPECT_LT(context[1200], 1.0);  // within 5% of the range seen: not news by itself
  EXPECT_EQ(context[1700], 1.0);  // 60 past the old maximum
  EXPECT_LT(context[1701], 0.99);  // the same excursion, already reported
  EXPECT_LT(MaxIn(context, 1000, 1200), 0.99);
}

// --tune overrides one of the context scorer's constants (scripts/nab-cv.sh chooses them per
// fold): with a tolerance of the whole range the excursion to 260 is no new extreme; a bad name or value is
// refused with what is wrong.
TEST(CliTest, SeriesTuneOverridesAScorerConstant) {
  TempDir dir;
  {
    std::ofstream csv(dir / "in.csv");
    uint64_t x = 777;
    for (int i = 0; i < 2000; ++i) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      double v = 100 + static_cast<double>(x >> 11) / static_cast<double>(1ull << 53) * 100;
      if (i == 1700) v = 260;
      csv << 1709251200 + int64_t{300} * i << "," << v << "\n";
    }
  }
  EXPECT_EQ(SeriesScores(dir, "context")[1700], 1.0);
  EXPECT_LT(SeriesScores(dir, "context", " --tune extreme_tolerance=1")[1700], 1.0);
  for (const char* bad : {"extreme_tolerance", "order=2.5", "levels=4", "sequence_fires=1"}) {
    auto r = RunCommand(kBin + " series --detector baseline --score context --tune " + bad +
                            " --input " + dir / "in.csv" + " --output " + dir / "x.csv",
                        dir);
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_NE(r.err.find(std::string("--tune ") + bad), std::string::npos) << r.err;
  }
}

// --listen binds only once every input and sink opened: a run that cannot start (a Kafka URI
// without a topic, an output that cannot be opened) never takes the port (it used to bind first).
TEST(CliTest, AFailedStartNeverBindsThePort) {
  TempDir dir;
  std::ofstream(dir / "in.log") << R"({"time_iso8601":"2025-01-01T00:00:00Z","host":"a","status":"200","request_time":"0.1"})" "\n";
  for (const std::string& args : {std::string("--input kafka://127.0.0.1:9/"), "--input " + dir / "in.log" +
                                                                     " --output file:/nonexistent/x.jsonl"}) {
    auto r = RunCommand(kBin + " run " + args + " --listen 127.0.0.1:0", dir);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_EQ(r.err.find("serving /metrics"), std::string::npos) << r.err;
  }
  auto ok = RunCommand(kBin + " run --input " + dir / "in.log" + " --listen 127.0.0.1:0", dir);
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.err.find("serving /metrics"), std::string::npos) << ok.err;
}

}  // namespace
}  // namespace sitepulse

namespace sitepulse {
namespace {

// A live run's events reach the next process in the pipe while the run goes on (`sitepulse run
// | sitepulse heal`): nothing waits for a buffer to fill or for the input to end.
TEST(CliTest, AStreamingRunPublishesEachEventAtOnce) {
  testing::TempDir dir;
  auto gen = testing::RunCommand(std::string(SITEPULSE_LOGGEN) +
                                     " --format nginx --sites 2 --rps 10 --duration 20m --seed 3"
                                     " --incident errors,0,5m,10m --out " + dir / "access.log",
                                 dir);
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  int to_run[2], from_run[2];
  ASSERT_EQ(pipe(to_run), 0);
  ASSERT_EQ(pipe(from_run), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(to_run[0], 0);
    dup2(from_run[1], 1);
    close(to_run[1]);
    close(from_run[0]);
    execl(SITEPULSE_BINARY, SITEPULSE_BINARY, "run", "--config",
          SITEPULSE_SOURCE_DIR "/configs/nginx.yaml", "--input", "-", "--output", "stdout",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(to_run[0]);
  close(from_run[1]);
  const std::string lines = testing::ReadFile(dir / "access.log");
  ASSERT_EQ(write(to_run[1], lines.data(), lines.size()), static_cast<ssize_t>(lines.size()));
  // stdin stays open: the run is live. The error-rate page must come out now.
  std::string got;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (got.find("\"firing\"") == std::string::npos && std::chrono::steady_clock::now() < until) {
    pollfd p{from_run[0], POLLIN, 0};
    if (poll(&p, 1, 200) > 0) {
      char buf[4096];
      const ssize_t n = read(from_run[0], buf, sizeof(buf));
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
  }
  close(to_run[1]);
  close(from_run[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_NE(got.find("\"state\":\"firing\""), std::string::npos)
      << "no event while the input was open: " << got;
}

}  // namespace
}  // namespace sitepulse
