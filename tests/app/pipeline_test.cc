// End-to-end tests of the pipeline: golden files, thread-count invariance, the accounting of every
// line, and the dead-letter sink. These run the real binaries (sitepulse, loggen) on files.
#include "app/pipeline.h"

#include <gtest/gtest.h>

#include "absl/strings/escaping.h"

#include <filesystem>
#include <fstream>

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
const std::string kGolden = SITEPULSE_SOURCE_DIR "/tests/data/golden";

// The exit summary: last stderr line, a JSON object.
struct Summary {
  uint64_t lines = 0, parsed = 0, rejected = 0, late = 0, anomalies = 0, dead_letters = 0;
  uint64_t reasons_total = 0;
};

Summary ParseSummary(const std::string& stderr_text) {
  const std::string line = LastLine(stderr_text);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  Summary s;
  EXPECT_EQ(parser.parse(line).get(doc), simdjson::SUCCESS) << "summary is not JSON: " << line;
  if (doc.type() != simdjson::dom::element_type::OBJECT) return s;
  EXPECT_EQ(doc["lines"].get(s.lines), simdjson::SUCCESS);
  EXPECT_EQ(doc["parsed"].get(s.parsed), simdjson::SUCCESS);
  EXPECT_EQ(doc["rejected"].get(s.rejected), simdjson::SUCCESS);
  EXPECT_EQ(doc["late"].get(s.late), simdjson::SUCCESS);
  EXPECT_EQ(doc["anomalies"].get(s.anomalies), simdjson::SUCCESS);
  EXPECT_EQ(doc["dead_letters"].get(s.dead_letters), simdjson::SUCCESS);
  double seconds;
  EXPECT_EQ(doc["seconds"].get(seconds), simdjson::SUCCESS);
  simdjson::dom::object reasons;
  EXPECT_EQ(doc["rejected_by_reason"].get(reasons), simdjson::SUCCESS);
  for (auto kv : reasons) s.reasons_total += kv.value.get_uint64().value_unsafe();
  return s;
}

TEST(GoldenTest, CombinedErrorsAndLatency) {
  TempDir dir;
  const std::string g = kGolden + "/combined_errors";
  auto r = RunCommand(kBin + " run --config " + g + "/config.yaml --input file:" + g +
                          "/access.log --output file:" + dir / "anomalies.jsonl" +
                          " --dlq file:" + dir / "dlq.jsonl --threads 2",
                      dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string expected = ReadFile(g + "/expected_anomalies.jsonl");
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(ReadFile(dir / "anomalies.jsonl"), expected);
  // Dead letters, with the source path normalised.
  std::string dlq;
  for (std::string line : Lines(ReadFile(dir / "dlq.jsonl"))) {
    const std::string src = "\"source\":\"" + g + "/access.log\"";
    const size_t pos = line.find(src);
    ASSERT_NE(pos, std::string::npos) << line;
    line.replace(pos, src.size(), "\"source\":\"SOURCE\"");
    dlq += line + "\n";
  }
  EXPECT_EQ(dlq, ReadFile(g + "/expected_dlq.jsonl"));
  const Summary s = ParseSummary(r.err);
  EXPECT_EQ(s.lines, 1190u);
  EXPECT_EQ(s.lines, s.parsed + s.rejected);
  EXPECT_EQ(s.rejected, s.reasons_total);
  EXPECT_EQ(s.dead_letters, s.rejected);
  EXPECT_EQ(s.anomalies, 4u);
}

// Writes access.log and error.log of the nginx_multi golden case into `dir`.
void GenerateNginxMulti(const TempDir& dir) {
  auto gen = RunCommand(kLoggen + " $(cat " + kGolden + "/nginx_multi/loggen.args) --out " +
                            dir / "access.log" + " --error-out " + dir / "error.log",
                        dir);
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
}

// Generated input (loggen is deterministic for a seed): access + error logs, four sites, three
// incidents, two decoys. Pages for each incident, nothing for the decoys.
TEST(GoldenTest, NginxAccessAndErrorLogsWithDecoys) {
  TempDir dir;
  const std::string g = kGolden + "/nginx_multi";
  ASSERT_NO_FATAL_FAILURE(GenerateNginxMulti(dir));
  auto r = RunCommand(kBin + " run --config " + g + "/config.yaml --input file:" +
                          dir / "access.log" + " --input 'file:" + dir / "error.log" +
                          "?kind=error&preset=error_text' --output file:" +
                          dir / "anomalies.jsonl",
                      dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string got = ReadFile(dir / "anomalies.jsonl");
  EXPECT_EQ(got, ReadFile(g + "/expected_anomalies.jsonl"));
  EXPECT_EQ(got.find("auth.example.com"), std::string::npos) << "a decoy paged";
  const Summary s = ParseSummary(r.err);
  EXPECT_EQ(s.lines, s.parsed + s.rejected);
  EXPECT_GT(s.rejected, 0u);
  EXPECT_EQ(s.late, 0u);
}

// The anomalies and the stats are identical for every lane count (and batch size), whether a
// reader thread or the lanes themselves read the two inputs.
TEST(ThreadInvarianceTest, SameOutputForEveryLaneCount) {
  TempDir dir;
  const std::string g = kGolden + "/nginx_multi";
  ASSERT_NO_FATAL_FAILURE(GenerateNginxMulti(dir));
  std::string first_anomalies, first_stats;
  for (const std::string reader : {"thread", "lanes"}) {
    // A small batch size makes hundreds of batches, so lanes really interleave.
    const std::string cfg = dir / ("config-" + reader + ".yaml");
    {
      std::ofstream out(cfg);
      out << ReadFile(g + "/config.yaml") << "pipeline:\n  batch_bytes: 64KiB\n  reader: " << reader
          << "\n";
    }
    for (int threads : {1, 2, 3, 4, 8}) {
      SCOPED_TRACE(reader + " reads, " + std::to_string(threads) + " lanes");
      const std::string tag = reader + std::to_string(threads);
      const std::string a = dir / ("a" + tag), st = dir / ("s" + tag);
      auto r = RunCommand(kBin + " run --config " + cfg + " --input file:" + dir / "access.log" +
                              " --input 'file:" + dir / "error.log" +
                              "?kind=error&preset=error_text' --output file:" + a +
                              " --stats file:" + st + " --threads " + std::to_string(threads),
                          dir);
      ASSERT_EQ(r.exit_code, 0) << r.err;
      EXPECT_NE(LastLine(r.err).find(reader == "lanes" ? "\"lanes_read\":true" : "\"lanes_read\":false"),
                std::string::npos)
          << LastLine(r.err);
      const std::string anomalies = ReadFile(a), stats = ReadFile(st);
      ASSERT_FALSE(anomalies.empty());
      ASSERT_GT(Lines(stats).size(), 1000u);
      if (first_anomalies.empty()) {
        first_anomalies = anomalies;
        first_stats = stats;
      } else {
        EXPECT_EQ(anomalies, first_anomalies);
        EXPECT_EQ(stats, first_stats);
      }
    }
  }
}

TEST(PipelineTest, EveryHostileLineIsCountedAndDeadLettered) {
  TempDir dir;
  std::string input;
  const std::string good =
      R"({"time_iso8601":"2025-01-01T00:00:01Z","host":"a","status":"200","request_time":"0.1"})";
  input += good + "\n";
  input += "\n";                                                  // empty
  input += "{\"host\":\"a\",\"status\":200\n";                     // truncated
  input += std::string("\x00\x01\xff\xfe\x80garbage", 12) + "\n";  // binary
  input += R"({"time_iso8601":"2025-01-01T00:00:01Z","host":"a","status":"200","request_time":-1})" "\n";
  input += R"({"time_iso8601":"2025-01-01T00:00:01Z","host":"a","status":"999","request_time":"0.1"})" "\n";
  input += std::string(5000, 'x') + "\n";                         // over max_line_bytes (4 KiB)
  input += std::string(200000, '{') + "\n";                       // over the whole buffer
  input += good;                                                  // no final newline
  {
    std::ofstream(dir / "in.log", std::ios::binary) << input;
    std::ofstream(dir / "c.yaml") << "limits:\n  max_line_bytes: 4KiB\npipeline:\n  batch_bytes: 64KiB\n";
  }
  auto r = RunCommand(kBin + " run --config " + dir / "c.yaml" + " --input " + dir / "in.log" +
                          " --dlq file:" + dir / "dlq.jsonl --threads 2",
                      dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Summary s = ParseSummary(r.err);
  EXPECT_EQ(s.lines, 9u);
  EXPECT_EQ(s.parsed, 2u);
  EXPECT_EQ(s.rejected, 7u);
  const auto dlq = Lines(ReadFile(dir / "dlq.jsonl"));
  ASSERT_EQ(dlq.size(), 7u);
  const char* reasons[] = {"empty_line", "malformed_json", "invalid_utf8", "bad_latency",
                           "bad_status", "line_too_long", "line_too_long"};
  const int line_numbers[] = {2, 3, 4, 5, 6, 7, 8};
  simdjson::dom::parser parser;
  for (size_t i = 0; i < dlq.size(); ++i) {
    simdjson::dom::element e;
    ASSERT_EQ(parser.parse(dlq[i]).get(e), simdjson::SUCCESS) << dlq[i];
    EXPECT_EQ(std::string_view(e["reason"].get_string().value_unsafe()), reasons[i]) << dlq[i];
    EXPECT_EQ(e["line"].get_uint64().value_unsafe(), static_cast<uint64_t>(line_numbers[i]));
  }
  // Every dead letter gives back its exact bytes: a JSON string when they are UTF-8, base64
  // otherwise (0xFF must not come back as "\u00ff", which reads as "ÿ").
  const std::string lines[] = {"", "{\"host\":\"a\",\"status\":200",
                               std::string("\x00\x01\xff\xfe\x80garbage", 12)};
  for (size_t i = 0; i < 3; ++i) {
    simdjson::dom::element e;
    ASSERT_EQ(parser.parse(dlq[i]).get(e), simdjson::SUCCESS);
    std::string_view text;
    std::string raw;
    if (e["raw"].get_string().get(text) == simdjson::SUCCESS) {
      raw = std::string(text);
      EXPECT_EQ(e["raw_base64"].error(), simdjson::NO_SUCH_FIELD);
    } else {
      ASSERT_EQ(e["raw_base64"].get_string().get(text), simdjson::SUCCESS) << dlq[i];
      ASSERT_TRUE(absl::Base64Unescape(absl::string_view(text.data(), text.size()), &raw));
    }
    EXPECT_EQ(raw, lines[i]) << dlq[i];
  }
  EXPECT_NE(dlq[2].find("\"raw_base64\":\"AAH//oBnYXJiYWdl\""), std::string::npos) << dlq[2];
  EXPECT_NE(dlq[6].find("\"length\":200001"), std::string::npos) << dlq[6];
  EXPECT_NE(dlq[6].find("\"truncated\":true"), std::string::npos) << dlq[6];
}

// An input that fails to read (here a directory) is reported once and counted once, and the
// other input is still read to its end, whoever reads (a reader thread or the lanes).
TEST(PipelineTest, AReadErrorIsReportedOnceWhoeverReads) {
  TempDir dir;
  std::filesystem::create_directories(dir / "not-a-file");
  {
    std::ofstream out(dir / "access.log");
    for (int i = 0; i < 2000; ++i) {
      out << "{\"time_iso8601\":\"2025-01-01T00:00:" << (10 + i % 40)
          << ".000Z\",\"host\":\"a.example.com\",\"status\":\"200\",\"request_time\":\"0.010\"}\n";
    }
  }
  for (const std::string reader : {"thread", "lanes"}) {
    SCOPED_TRACE(reader);
    const std::string cfg = dir / ("config-" + reader + ".yaml");
    std::ofstream(cfg) << "pipeline:\n  batch_bytes: 4KiB\n  reader: " << reader << "\n";
    auto r = RunCommand(kBin + " run --config " + cfg + " --input " + dir / "not-a-file" +
                            " --input " + dir / "access.log" + " --threads 2",
                        dir);
    EXPECT_EQ(r.exit_code, 1) << r.err;  // an input that could not be read fails the run
    size_t reports = 0;
    for (const std::string& line : Lines(r.err)) reports += line.find("read error on") != std::string::npos;
    EXPECT_EQ(reports, 1u) << r.err;
    const std::string summary = LastLine(r.err);
    EXPECT_NE(summary.find("\"input_errors\":1,"), std::string::npos) << summary;
    EXPECT_NE(summary.find("\"lines\":2000,"), std::string::npos) << summary;
  }
}

TEST(PipelineTest, StdinInputAndStatsLines) {
  TempDir dir;
  const std::string g = kGolden + "/combined_errors";
  auto r = RunCommand("cat " + g + "/access.log | " + kBin +
                          " run --input '-?preset=combined' --stats file:" + dir / "stats.jsonl",
                      dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto stats = Lines(ReadFile(dir / "stats.jsonl"));
  ASSERT_GT(stats.size(), 100u);
  simdjson::dom::parser parser;
  uint64_t total = 0;
  for (const std::string& line : stats) {
    simdjson::dom::element e;
    ASSERT_EQ(parser.parse(line).get(e), simdjson::SUCCESS);
    std::string_view start, end;
    ASSERT_EQ(e["start"].get(start), simdjson::SUCCESS);
    ASSERT_EQ(e["end"].get(end), simdjson::SUCCESS);
    EXPECT_LT(start, end);
    total += e["count"].get_uint64().value_unsafe();
    double p50, p99;
    ASSERT_EQ(e["p50"].get(p50), simdjson::SUCCESS) << line;
    ASSERT_EQ(e["p99"].get(p99), simdjson::SUCCESS) << line;
    EXPECT_LE(p50, p99);
  }
  EXPECT_EQ(total, ParseSummary(r.err).parsed);
}

}  // namespace
}  // namespace sitepulse
