// State snapshots: a run split in two with a restart in the middle gives the same anomalies as
// one run; a snapshot from another configuration or format version is refused, clearly.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "tests/app/test_util.h"

namespace sitepulse {
namespace {

using testing::Lines;
using testing::ReadFile;
using testing::RunCommand;
using testing::TempDir;

const std::string kBin = SITEPULSE_BINARY;
const std::string kLoggen = SITEPULSE_LOGGEN;
const std::string kGolden = SITEPULSE_SOURCE_DIR "/tests/data/golden/nginx_multi";

// Splits `lines` at the first line containing `marker`.
void Split(const std::string& text, const std::string& marker, const std::string& first,
           const std::string& second) {
  const size_t at = text.find(marker);
  ASSERT_NE(at, std::string::npos) << marker;
  const size_t cut = text.rfind('\n', at) + 1;
  std::ofstream(first) << text.substr(0, cut);
  std::ofstream(second) << text.substr(cut);
}

class StateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto gen = RunCommand(kLoggen + " $(cat " + kGolden + "/loggen.args) --out " +
                              dir_ / "access.log" + " --error-out " + dir_ / "error.log",
                          dir_);
    ASSERT_EQ(gen.exit_code, 0) << gen.err;
    // The same instant in both logs: 00:45 of event time, mid-way through the incidents.
    Split(ReadFile(dir_ / "access.log"), "\"time_iso8601\":\"2025-01-01T00:45", dir_ / "a1.log",
          dir_ / "a2.log");
    Split(ReadFile(dir_ / "error.log"), "2025/01/01 00:45", dir_ / "e1.log", dir_ / "e2.log");
  }
  // sitepulse over one access and one error log, with a state file.
  testing::CommandResult Run(const std::string& access, const std::string& error,
                             const std::string& out, const std::string& state,
                             const std::string& config = kGolden + "/config.yaml") {
    return RunCommand(kBin + " run --config " + config + " --input file:" + dir_ / access +
                          " --input 'file:" + dir_ / error + "?kind=error&preset=error_text'" +
                          " --output file:" + dir_ / out + " --state " + dir_ / state,
                      dir_);
  }
  TempDir dir_;
};

TEST_F(StateTest, RunSplitInTwoWithARestartEqualsOneRun) {
  auto whole = Run("access.log", "error.log", "whole.jsonl", "whole.state");
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  auto first = Run("a1.log", "e1.log", "first.jsonl", "split.state");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  auto second = Run("a2.log", "e2.log", "second.jsonl", "split.state");
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.err.find("restored 4 sites"), std::string::npos) << second.err;
  const std::string expected = ReadFile(dir_ / "whole.jsonl");
  // Incidents on both sides of the restart: the latency one (00:20) fires and resolves before
  // it, the 5xx one (00:40-00:48) spans it, the error-log spike (01:10) comes after. Error
  // messages: learned before it; a new one (00:30) is ticketed before it and resolved after it
  // (01:00), another (01:15) is new after it, though the restarted run learns nothing again.
  ASSERT_GE(Lines(expected).size(), 9u);
  size_t new_messages = 0;
  for (const std::string& line : Lines(expected)) {
    new_messages += line.find("\"detector\":\"new_error_message\"") != std::string::npos;
  }
  EXPECT_EQ(new_messages, 3u);
  ASSERT_FALSE(ReadFile(dir_ / "first.jsonl").empty());
  ASSERT_FALSE(ReadFile(dir_ / "second.jsonl").empty());
  EXPECT_EQ(ReadFile(dir_ / "first.jsonl") + ReadFile(dir_ / "second.jsonl"), expected);
}

TEST_F(StateTest, SnapshotOfAnotherConfigurationOrVersionIsRefused) {
  auto first = Run("a1.log", "e1.log", "first.jsonl", "s.state");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  // Another bucket resolution.
  const std::string other = dir_ / "other.yaml";
  std::string config = ReadFile(kGolden + "/config.yaml");
  const size_t at = config.find("resolution: 10s");
  ASSERT_NE(at, std::string::npos);
  config.replace(at, 15, "resolution: 20s");
  std::ofstream(other) << config;
  auto refused = Run("a2.log", "e2.log", "second.jsonl", "s.state", other);
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("state file " + dir_ / "s.state" +
                             ": written with another configuration"),
            std::string::npos)
      << refused.err;
  // Another format version.
  std::string text = ReadFile(dir_ / "s.state");
  text.replace(0, text.find('\n'), "sitepulse-state 99");
  std::ofstream(dir_ / "v99.state") << text;
  auto old = Run("a2.log", "e2.log", "second.jsonl", "v99.state");
  EXPECT_NE(old.exit_code, 0);
  EXPECT_NE(old.err.find("state format version 99; this sitepulse reads version 1"),
            std::string::npos)
      << old.err;
  // A damaged file: a clear error with its line, not a crash.
  std::ofstream(dir_ / "cut.state") << ReadFile(dir_ / "s.state").substr(0, 300);
  auto cut = Run("a2.log", "e2.log", "second.jsonl", "cut.state");
  EXPECT_NE(cut.exit_code, 0);
  EXPECT_NE(cut.err.find("state line"), std::string::npos) << cut.err;
}

// With a state file, an input read to its end stops holding the others back. An error log that
// was quiet (an empty file) or of another format (every line rejected) held every bucket of the
// access log open for the whole run: no bucket closed, no incident was reported.
TEST_F(StateTest, AQuietOrForeignInputReadToItsEndDoesNotHoldTheOthersBuckets) {
  std::ofstream(dir_ / "empty.log").flush();
  std::ofstream(dir_ / "foreign.log") << "{\"not\":\"an nginx error log\"}\n"
                                      << ReadFile(dir_ / "access.log").substr(0, 20000);
  auto alone = RunCommand(kBin + " run --config " + kGolden + "/config.yaml --input file:" +
                              dir_ / "access.log" + " --output file:" + dir_ / "alone.jsonl" +
                              " --state " + dir_ / "alone.state",
                          dir_);
  ASSERT_EQ(alone.exit_code, 0) << alone.err;
  const std::string expected = ReadFile(dir_ / "alone.jsonl");
  ASSERT_GE(Lines(expected).size(), 2u) << "the access log's incidents";
  for (const std::string error : {"empty.log", "foreign.log"}) {
    auto run = Run("access.log", error, error + ".jsonl", error + ".state");
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(ReadFile(dir_ / (error + ".jsonl")), expected) << error << "\n" << run.err;
    EXPECT_EQ(run.err.find("\"buckets\":0,"), std::string::npos) << error << "\n" << run.err;
  }
}

}  // namespace
}  // namespace sitepulse
