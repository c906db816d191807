// Event time end to end (issue: never silently blind): one line from the future changes nothing
// but its own fate, lateness is judged per line whatever the batch size, a real gap is kept, and
// a live input refuses lines from beyond the wall clock. Real binaries on generated and real logs.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <fstream>
#include <random>

#include "absl/strings/escaping.h"
#include "simdjson.h"
#include "tests/app/test_util.h"

namespace sitepulse {
namespace {

using testing::LastLine;
using testing::Lines;
using testing::ReadFile;
using testing::RunCommand;
using testing::TempDir;

const std::string kBin = SITEPULSE_BINARY;
const std::string kLoggen = SITEPULSE_LOGGEN;
const std::string kShared = SITEPULSE_SHARED_DATA;

uint64_t SummaryField(const std::string& err, const std::string& key) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  const std::string line = LastLine(err);
  if (parser.parse(line).get(doc) != simdjson::SUCCESS) {
    ADD_FAILURE() << "summary is not JSON: " << line;
    return 0;
  }
  uint64_t v = 0;
  if (key.rfind("rejected_by_reason.", 0) == 0) {
    (void)doc["rejected_by_reason"][key.substr(19)].get(v);  // absent: 0
    return v;
  }
  EXPECT_EQ(doc[key].get(v), simdjson::SUCCESS) << key << " in " << line;
  return v;
}

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += l + "\n";
  return out;
}

void Write(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// 12,000 nginx JSON lines of three sites with a latency incident.
std::vector<std::string> Generated(const TempDir& dir) {
  auto gen = RunCommand(kLoggen + " --format nginx --sites 3 --rps 10 --duration 400s --seed 5 "
                                  "--incident latency,0,100s,200s --out " + dir / "gen.log",
                        dir);
  EXPECT_EQ(gen.exit_code, 0) << gen.err;
  return Lines(ReadFile(dir / "gen.log"));
}

constexpr const char* kConfig =
    "format:\n  preset: nginx\nwindows:\n  resolution: 10s\n  lateness: 30s\n"
    "detectors:\n  - name: p99_high\n    metric: p99\n    threshold: 0.5\n    window: 1m\n"
    "    for: 30s\n    keep_firing_for: 1m\n    min_requests: 10\n    severity: page\n";

struct RunOutput {
  std::string anomalies, stats, dlq, err;
  int exit_code = -1;
};

RunOutput RunSitepulse(const TempDir& dir, const std::string& input, const std::string& extra_config,
              const std::string& tag, int threads = 2) {
  Write(dir / ("c" + tag + ".yaml"), std::string(kConfig) + extra_config);
  auto r = RunCommand(kBin + " run --config " + dir / ("c" + tag + ".yaml") + " --input file:" +
                          input + " --output file:" + dir / ("a" + tag) + " --stats file:" +
                          dir / ("s" + tag) + " --dlq file:" + dir / ("d" + tag) +
                          " --threads " + std::to_string(threads),
                      dir);
  return {ReadFile(dir / ("a" + tag)), ReadFile(dir / ("s" + tag)), ReadFile(dir / ("d" + tag)),
          r.err, r.exit_code};
}

// One line dated 2100 (a server with a broken clock) in the middle, or first, of a 12,001-line
// stream: it alone is rejected as future_time, and every stat and anomaly is what the stream
// without it gives. Before, the watermark jumped to 2100 and 8,651 later lines were late.
TEST(EventTimeTest, OneLineFromTheFutureChangesNothingButItself) {
  TempDir dir;
  std::vector<std::string> lines = Generated(dir);
  ASSERT_GT(lines.size(), 3000u);
  Write(dir / "clean.log", Join(lines));
  const RunOutput clean = RunSitepulse(dir, dir / "clean.log", "", "clean");
  ASSERT_EQ(clean.exit_code, 0) << clean.err;
  ASSERT_FALSE(clean.anomalies.empty());
  for (const size_t at : {lines.size() / 2, size_t{0}}) {
    SCOPED_TRACE("future line at " + std::to_string(at));
    std::string future = lines[at];
    const size_t year = future.find("\"2025-");
    ASSERT_NE(year, std::string::npos);
    future.replace(year + 1, 4, "2100");
    std::vector<std::string> with = lines;
    with.insert(with.begin() + static_cast<std::ptrdiff_t>(at), future);
    const std::string tag = std::to_string(at);
    Write(dir / ("future" + tag + ".log"), Join(with));
    const RunOutput r = RunSitepulse(dir, dir / ("future" + tag + ".log"), "", "f" + tag);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(SummaryField(r.err, "late"), SummaryField(clean.err, "late"));
    EXPECT_EQ(SummaryField(r.err, "rejected_by_reason.future_time"), 1u);
    EXPECT_EQ(SummaryField(r.err, "lines"), with.size());
    EXPECT_EQ(r.stats, clean.stats);
    EXPECT_EQ(r.anomalies, clean.anomalies);
    // The dead letter has the line's exact bytes and its line number.
    const auto dlq = Lines(r.dlq);
    ASSERT_EQ(dlq.size(), 1u);
    EXPECT_NE(dlq[0].find("\"reason\":\"future_time\""), std::string::npos) << dlq[0];
    EXPECT_NE(dlq[0].find("\"line\":" + std::to_string(at + 1) + ","), std::string::npos) << dlq[0];
    simdjson::dom::parser parser;
    std::string_view raw;
    ASSERT_EQ(parser.parse(dlq[0])["raw"].get(raw), simdjson::SUCCESS);
    EXPECT_EQ(std::string(raw), future);
  }
}

// A real gap (the server was off for two days) is confirmed by the lines after it: nothing is
// rejected and both days are counted.
TEST(EventTimeTest, AGapConfirmedByLaterLinesIsKept) {
  TempDir dir;
  std::vector<std::string> lines = Generated(dir);
  std::vector<std::string> later = lines;
  for (std::string& l : later) {
    const size_t at = l.find("\"2025-01-01T");
    ASSERT_NE(at, std::string::npos);
    l.replace(at + 1, 10, "2025-01-03");
  }
  std::vector<std::string> both = lines;
  both.insert(both.end(), later.begin(), later.end());
  Write(dir / "gap.log", Join(both));
  const RunOutput r = RunSitepulse(dir, dir / "gap.log", "", "gap");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(SummaryField(r.err, "rejected"), 0u);
  EXPECT_EQ(SummaryField(r.err, "parsed"), both.size());
  EXPECT_NE(r.stats.find("\"2025-01-03T00:0"), std::string::npos);
  EXPECT_NE(r.stats.find("\"2025-01-01T00:0"), std::string::npos);
}

// Inserts, after each line i that `broken_after(i)` picks, a copy dated `year`: a clock broken
// on some of a server's lines. Every copy must be rejected as future_time, and the stats,
// anomalies and late count must equal the stream's without them.
void ExpectBrokenClockRejected(const std::function<bool(size_t)>& broken_after, const char* year) {
  TempDir dir;
  std::vector<std::string> lines = Generated(dir);
  Write(dir / "clean.log", Join(lines));
  const RunOutput clean = RunSitepulse(dir, dir / "clean.log", "", "clean");
  std::vector<std::string> with;
  size_t broken = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    with.push_back(lines[i]);
    if (broken_after(i)) {
      std::string f = lines[i];
      f.replace(f.find("\"2025-") + 1, 4, year);
      with.push_back(f);
      ++broken;
    }
  }
  Write(dir / "broken.log", Join(with));
  const RunOutput r = RunSitepulse(dir, dir / "broken.log", "", "broken");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(SummaryField(r.err, "rejected_by_reason.future_time"), broken);
  EXPECT_EQ(SummaryField(r.err, "late"), SummaryField(clean.err, "late"));
  EXPECT_EQ(r.stats, clean.stats);
  EXPECT_EQ(r.anomalies, clean.anomalies);
}

// A clock broken on every other line (a second server behind the same log) is no jump. A rule of
// "16 ahead before 16 behind" confirmed such a clock (on a 3,644-line stream with 899 broken
// lines it made 2,628 lines late).
TEST(EventTimeTest, AClockBrokenOnHalfTheLinesNeverConfirms) {
  ExpectBrokenClockRejected([](size_t i) { return i >= 1000 && i < 3000; }, "2100");
}

// A few lines of a broken clock interleaved with the stream (fewer than confirm_lines in a row).
TEST(EventTimeTest, InterleavedBrokenClockLinesAreRejected) {
  ExpectBrokenClockRejected([](size_t i) { return i % 500 == 250; }, "2031");
}

// Out-of-order input (lines displaced by up to 80 s) gives byte-identical stats, anomalies and
// late counts for every batch size from 4 KiB to 16 MiB and every lane count: whether a line
// is late depends on its own time, never on where a batch boundary fell. Before, disorder inside
// a batch was always accepted and across a boundary dropped.
TEST(EventTimeTest, LatenessDoesNotDependOnBatchSizeOrLanes) {
  TempDir dir;
  std::vector<std::string> lines = Generated(dir);
  std::mt19937 rng(7);
  // Shuffle blocks of 2,400 lines (80 s at 30 lines/s): local disorder beyond the lateness.
  for (size_t b = 0; b + 2400 <= lines.size(); b += 2400) {
    std::shuffle(lines.begin() + static_cast<std::ptrdiff_t>(b),
                 lines.begin() + static_cast<std::ptrdiff_t>(b + 2400), rng);
  }
  Write(dir / "shuffled.log", Join(lines));
  RunOutput first;
  uint64_t first_late = 0;
  for (const std::string bytes : {"4KiB", "64KiB", "1MiB", "16MiB"}) {
    for (int threads : {1, 3}) {
      SCOPED_TRACE(bytes + ", " + std::to_string(threads) + " lanes");
      const RunOutput r = RunSitepulse(dir, dir / "shuffled.log", "pipeline:\n  batch_bytes: " + bytes + "\n",
                              bytes + std::to_string(threads), threads);
      ASSERT_EQ(r.exit_code, 0) << r.err;
      const uint64_t late = SummaryField(r.err, "late");
      if (first.stats.empty()) {
        first = r;
        first_late = late;
        EXPECT_GT(late, 0u);  // the disorder is real: some lines are beyond 30 s of lateness
        EXPECT_FALSE(r.anomalies.empty());
      } else {
        EXPECT_EQ(late, first_late);
        EXPECT_EQ(r.stats, first.stats);
        EXPECT_EQ(r.anomalies, first.anomalies);
      }
    }
  }
}

// The shared real Apache log (slightly out of order): the same late count for every batch size
// (it was 10 with 1 MiB batches and 0 with 16 MiB).
TEST(EventTimeTest, RealApacheLogLateCountIsTheSameForEveryBatchSize) {
  TempDir dir;
  std::string first_stats;
  uint64_t first_late = UINT64_MAX;
  for (const std::string bytes : {"4KiB", "1MiB", "16MiB"}) {
    Write(dir / "c.yaml", "format:\n  preset: combined\n  site: www.example.com\npipeline:\n"
                          "  batch_bytes: " + bytes + "\n");
    auto r = RunCommand(kBin + " run --config " + dir / "c.yaml" + " --input file:" + kShared +
                            "/apache_combined_2015.log --stats file:" + dir / "s",
                        dir);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const uint64_t late = SummaryField(r.err, "late");
    if (first_late == UINT64_MAX) {
      first_late = late;
      first_stats = ReadFile(dir / "s");
    } else {
      EXPECT_EQ(late, first_late) << bytes;
      EXPECT_EQ(ReadFile(dir / "s"), first_stats) << bytes;
    }
  }
}

// A live input (stdin) refuses a line from beyond the wall clock at once, without holding it.
TEST(EventTimeTest, LiveInputRejectsLinesAheadOfTheWallClock) {
  TempDir dir;
  const std::string now_line =
      R"({"time_iso8601":"2025-06-01T00:00:00Z","host":"a","status":"200","request_time":"0.1"})";
  const std::string future_line =
      R"({"time_iso8601":"2100-06-01T00:00:00Z","host":"a","status":"200","request_time":"0.1"})";
  Write(dir / "in.log", now_line + "\n" + future_line + "\n" + now_line + "\n");
  Write(dir / "c.yaml", kConfig);
  auto r = RunCommand("cat " + dir / "in.log" + " | " + kBin + " run --config " + dir / "c.yaml" +
                          " --input - --dlq file:" + dir / "d",
                      dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(SummaryField(r.err, "rejected_by_reason.future_time"), 1u);
  EXPECT_EQ(SummaryField(r.err, "parsed"), 2u);
  EXPECT_NE(ReadFile(dir / "d").find("2100-06-01"), std::string::npos);
}

// Never silent: each warning code is raised by the input that should raise it, printed on stderr
// and listed in the summary; --strict turns it into exit code 3 (0 without --strict).
TEST(WarningsTest, EachCodeIsRaisedAndStrictExitsThree) {
  TempDir dir;
  std::vector<std::string> lines = Generated(dir);
  Write(dir / "good.log", Join(lines));
  Write(dir / "c.yaml", kConfig);
  struct Case {
    std::string code, input, extra_args, message = "";
  };
  // An Apache error log read as nginx JSON error lines: everything rejected.
  std::string junk;
  for (int i = 0; i < 50; ++i) junk += "[Sun May 17 10:05:03 2015] [error] [client 1.2.3.4] boom\n";
  Write(dir / "junk.log", junk);
  // Combined text without a request time or vhost, with a latency detector configured.
  Write(dir / "combined.log", ReadFile(kShared + "/apache_combined_2015.log").substr(0, 200000));
  Write(dir / "combined.yaml", std::string(kConfig) + "\n");
  // Two future lines, and 30 sites over a cap of 10.
  std::vector<std::string> future = lines;
  future[100].replace(future[100].find("\"2025-") + 1, 4, "2099");
  Write(dir / "future.log", Join(future));
  std::string many_sites;
  for (int i = 0; i < 30; ++i) {
    many_sites += R"({"time_iso8601":"2025-01-01T00:00:0)" + std::to_string(i % 10) +
                  R"(Z","host":"s)" + std::to_string(i) + R"(.example","status":"200","request_time":"0.1"})" "\n";
  }
  Write(dir / "sites.log", many_sites);
  Write(dir / "cap.yaml", std::string(kConfig) + "limits:\n  max_sites: 10\n");
  const std::vector<Case> cases = {
      {"most_lines_rejected", "file:" + dir / "junk.log", "--config " + dir / "c.yaml"},
      {"no_latency", "'file:" + dir / "combined.log" + "?preset=combined&site=www'", "--config " + dir / "combined.yaml"},
      {"placeholder_site", "'file:" + dir / "combined.log" + "?preset=combined'",
       "--config " + std::string(SITEPULSE_SOURCE_DIR) + "/configs/combined.yaml --output file:/dev/null"},
      {"future_lines", "file:" + dir / "future.log", "--config " + dir / "c.yaml"},
      {"sites_over_cap", "file:" + dir / "sites.log", "--config " + dir / "cap.yaml"},
      {"many_late", "file:" + kShared + "/apache_combined_2015.log",
       "--config " + std::string(SITEPULSE_SOURCE_DIR) + "/configs/combined.yaml --output file:/dev/null"},
      // A shipped config (error-log detectors included) over an access log alone; then with an
      // error-log input that holds no line.
      {"no_error_log", "file:" + dir / "good.log",
       "--config " + std::string(SITEPULSE_SOURCE_DIR) + "/configs/nginx.yaml --output file:/dev/null",
       "no input is an error log, so error_log_spike, new_error_message can never fire"},
      {"no_error_log", "file:" + dir / "good.log",
       "--config " + std::string(SITEPULSE_SOURCE_DIR) + "/configs/nginx.yaml --output file:/dev/null "
       "--input 'file:" + dir / "empty.log" + "?kind=error&preset=error_text'",
       "the error-log input(s) gave no error-log line"},
  };
  Write(dir / "empty.log", "");
  for (const Case& c : cases) {
    SCOPED_TRACE(c.code);
    auto plain = RunCommand(kBin + " run " + c.extra_args + " --input " + c.input, dir);
    EXPECT_EQ(plain.exit_code, 0) << plain.err;
    EXPECT_NE(plain.err.find("warning [" + c.code + "]" + (c.message.empty() ? "" : ": " + c.message)),
              std::string::npos) << plain.err;
    EXPECT_NE(LastLine(plain.err).find("\"code\":\"" + c.code + "\""), std::string::npos)
        << LastLine(plain.err);
    auto strict = RunCommand(kBin + " run --strict " + c.extra_args + " --input " + c.input, dir);
    EXPECT_EQ(strict.exit_code, 3) << strict.err;
  }
  // A clean run raises nothing, and --strict exits 0.
  auto clean = RunCommand(kBin + " run --strict --config " + dir / "c.yaml" + " --input file:" +
                              dir / "good.log" + " --output file:/dev/null",
                          dir);
  EXPECT_EQ(clean.exit_code, 0) << clean.err;
  EXPECT_NE(LastLine(clean.err).find("\"warnings\":[]"), std::string::npos) << LastLine(clean.err);
  EXPECT_EQ(clean.err.find("warning ["), std::string::npos) << clean.err;
}

// Lines of nginx JSON for `site` at second `t` of 2025-01-01 (t < 86400).
std::string NginxLine(const std::string& site, int t, int status, double latency) {
  char ts[32];
  std::snprintf(ts, sizeof(ts), "2025-01-01T%02d:%02d:%02dZ", t / 3600, t / 60 % 60, t % 60);
  char lat[32];
  std::snprintf(lat, sizeof(lat), "%.3f", latency);
  return std::string(R"({"time_iso8601":")") + ts + R"(","host":")" + site + R"(","status":")" +
         std::to_string(status) + R"(","request_time":")" + lat + "\"}";
}

// Detectors of the flood tests: a page on the real site's errors and latency, and a request
// rate ticket that __other__ gets too (a flood of names is itself an event).
constexpr const char* kFloodConfig =
    "format:\n  preset: nginx\nlimits:\n  max_sites: 10000\n"
    "detectors:\n"
    "  - name: error_rate_high\n    metric: error_rate\n    threshold: 0.2\n    window: 1m\n"
    "    for: 30s\n    keep_firing_for: 1m\n    min_requests: 20\n    severity: page\n"
    "  - name: p99_high\n    metric: p99\n    threshold: 1.0\n    window: 1m\n"
    "    for: 30s\n    keep_firing_for: 1m\n    min_requests: 20\n    severity: page\n"
    "  - name: request_rate_high\n    metric: request_rate\n    threshold: 100\n    window: 1m\n"
    "    for: 0s\n    keep_firing_for: 1m\n    min_requests: 1\n    severity: ticket\n";

// A real failing site: 10 requests a second from second `from` for `seconds`, 75% 503s and a
// 2.5 s p99.
void AddFailingSite(std::vector<std::string>* lines, int from, int seconds) {
  for (int t = from; t < from + seconds; ++t) {
    for (int k = 0; k < 10; ++k) {
      lines->push_back(NginxLine("shop.example.com", t, k < 7 || k == 9 ? 503 : 200, k == 9 ? 2.5 : 0.05));
    }
  }
}

// 12,000 one-request junk host names fill the 10,000 places first; then a real site fails. It
// used to land in __other__ (no detectors): 0 anomalies. Now it earns a place by its traffic
// and pages, for any batch size and lane count.
TEST(CardinalityTest, AHostFloodDoesNotSilenceARealFailingSite) {
  TempDir dir;
  std::vector<std::string> lines;
  for (int i = 0; i < 12000; ++i) lines.push_back(NginxLine("junk" + std::to_string(i) + ".example", i / 100, 200, 0.01));
  std::vector<std::string> real;
  AddFailingSite(&real, 130, 300);
  lines.insert(lines.end(), real.begin(), real.end());
  Write(dir / "flood.log", Join(lines));
  std::string first_anomalies, first_stats;
  for (const std::string bytes : {"16KiB", "1MiB"}) {
    for (int threads : {1, 2}) {
      SCOPED_TRACE(bytes + " " + std::to_string(threads));
      Write(dir / "c.yaml", std::string(kFloodConfig) + "pipeline:\n  batch_bytes: " + bytes + "\n");
      auto r = RunCommand(kBin + " run --config " + dir / "c.yaml" + " --input file:" +
                              dir / "flood.log" + " --output file:" + dir / "a --stats file:" +
                              dir / "s --threads " + std::to_string(threads),
                          dir);
      ASSERT_EQ(r.exit_code, 0) << r.err;
      const std::string anomalies = ReadFile(dir / "a");
      for (const char* detector : {"error_rate_high", "p99_high"}) {
        EXPECT_NE(anomalies.find(std::string(R"("site":"shop.example.com","detector":")") + detector +
                                 R"(","state":"firing")"),
                  std::string::npos)
            << detector << "\n" << anomalies;
      }
      EXPECT_NE(r.err.find("warning [sites_over_cap]"), std::string::npos);
      const uint64_t folded = SummaryField(r.err, "sites_over_cap");
      EXPECT_GT(folded, 1900u);  // about 2,000 names had no place (HyperLogLog estimate)
      EXPECT_LT(folded, 2100u);
      if (first_anomalies.empty()) {
        first_anomalies = anomalies;
        first_stats = ReadFile(dir / "s");
      } else {
        EXPECT_EQ(anomalies, first_anomalies);
        EXPECT_EQ(ReadFile(dir / "s"), first_stats);
      }
    }
  }
}

// Peak RSS in KiB of a command (GNU time).
uint64_t PeakRssKiB(const std::string& command, const TempDir& dir) {
  auto r = RunCommand("/usr/bin/time -f 'RSS %M' " + command, dir);
  const size_t at = r.err.rfind("RSS ");
  EXPECT_NE(at, std::string::npos) << r.err;
  return at == std::string::npos ? 0 : std::stoull(r.err.substr(at + 4));
}

// A flood of 1,000,000 distinct names with a real failing site among them: the real site pages,
// __other__ fires its request-rate ticket, the number of names folded is estimated within 5%,
// and memory stays within what 10,000 real sites take plus a fixed amount.
TEST(CardinalityTest, AMillionNameFloodKeepsMemoryBoundedAndTheRealSitePages) {
  TempDir dir;
  {
    std::ofstream out(dir / "flood.log", std::ios::binary);
    std::vector<std::string> real;
    AddFailingSite(&real, 200, 400);
    size_t next_real = 0;
    for (int i = 0; i < 1'000'000; ++i) {
      const int t = i / 1000;  // 1,000 junk names a second for 1,000 s
      out << NginxLine("n" + std::to_string(i) + ".flood.example", t, 200, 0.01) << "\n";
      while (next_real < real.size() && real[next_real].find(NginxLine("", t, 200, 0).substr(0, 35)) == 0) {
        out << real[next_real++] << "\n";
      }
    }
    for (; next_real < real.size(); ++next_real) out << real[next_real] << "\n";
    // The same number of lines over 10,000 steady sites, for the memory comparison.
    std::ofstream steady(dir / "steady.log", std::ios::binary);
    for (int i = 0; i < 1'000'000; ++i) {
      steady << NginxLine("s" + std::to_string(i % 10000) + ".example", i / 1000, 200, 0.01) << "\n";
    }
  }
  Write(dir / "c.yaml", kFloodConfig);
  const std::string run = kBin + " run --threads 2 --config " + dir / "c.yaml" + " --output file:" + dir / "a";
  const uint64_t flood_kib = PeakRssKiB(run + " --input file:" + dir / "flood.log", dir);
  auto r = RunCommand(run + " --input file:" + dir / "flood.log", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string anomalies = ReadFile(dir / "a");
  EXPECT_NE(anomalies.find(R"("site":"shop.example.com","detector":"error_rate_high","state":"firing")"),
            std::string::npos) << anomalies.substr(0, 2000);
  EXPECT_NE(anomalies.find(R"("site":"__other__","detector":"request_rate_high","state":"firing")"),
            std::string::npos);
  const double folded = static_cast<double>(SummaryField(r.err, "sites_over_cap"));
  EXPECT_NEAR(folded, 990'000.0, 990'000.0 * 0.05);
  const uint64_t steady_kib = PeakRssKiB(run + " --input file:" + dir / "steady.log", dir);
  std::printf("peak RSS: 1M-name flood %llu KiB, 10k steady sites %llu KiB\n",
              static_cast<unsigned long long>(flood_kib), static_cast<unsigned long long>(steady_kib));
  EXPECT_LT(flood_kib, steady_kib + 64 * 1024) << "flood " << flood_kib << " KiB vs steady " << steady_kib;
}

// A site listed under `sites:` always has a place, however full the table is and however quiet
// the site: a flood fills every place first, then the listed site's one request is its own.
TEST(CardinalityTest, ASiteListedUnderSitesIsAlwaysKept) {
  TempDir dir;
  std::vector<std::string> lines;
  for (int i = 0; i < 300; ++i) lines.push_back(NginxLine("junk" + std::to_string(i) + ".example", i, 200, 0.01));
  lines.push_back(NginxLine("vip.example.com", 301, 503, 0.2));
  lines.push_back(NginxLine("quiet.example.com", 302, 503, 0.2));  // not listed: folded
  Write(dir / "in.log", Join(lines));
  Write(dir / "c.yaml", "format:\n  preset: nginx\nlimits:\n  max_sites: 100\ndetectors:\n"
                        "  - name: errors\n    metric: error_rate\n    threshold: 0.5\n    window: 1m\n"
                        "    min_requests: 1\n    severity: page\n"
                        "sites:\n  vip.example.com:\n    detectors:\n      errors: {threshold: 0.1}\n");
  auto r = RunCommand(kBin + " run --config " + dir / "c.yaml" + " --input file:" + dir / "in.log" +
                          " --stats file:" + dir / "s --output file:" + dir / "a",
                      dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string stats = ReadFile(dir / "s");
  EXPECT_NE(stats.find("\"site\":\"vip.example.com\""), std::string::npos);
  EXPECT_EQ(stats.find("\"site\":\"quiet.example.com\""), std::string::npos);
  EXPECT_NE(ReadFile(dir / "a").find(R"("site":"vip.example.com","detector":"errors","state":"firing")"),
            std::string::npos);
}

}  // namespace
}  // namespace sitepulse
