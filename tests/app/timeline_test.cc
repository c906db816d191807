// `sitepulse timeline` over a real run: events from `sitepulse run`, decisions from
// `sitepulse heal` (event clock), impact from the stats.
#include <gtest/gtest.h>

#include <fstream>
#include <sys/stat.h>

#include "simdjson.h"
#include "tests/app/test_util.h"

namespace sitepulse {
namespace {

using testing::Lines;
using testing::ReadFile;
using testing::RunCommand;
using testing::TempDir;

TEST(TimelineTest, APostmortemDraftCitesEveryLineAndCountsTheImpact) {
  TempDir dir;
  auto gen = RunCommand(std::string(SITEPULSE_LOGGEN) +
                            " --format nginx --sites 3 --rps 10 --duration 40m --seed 9"
                            " --incident errors,1,15m,8m --out " + dir / "access.log",
                        dir);
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  auto run = RunCommand(std::string(SITEPULSE_BINARY) + " run --config " + SITEPULSE_SOURCE_DIR +
                            "/configs/nginx.yaml --input " + dir / "access.log" + " --output file:" +
                            dir / "events.jsonl --stats file:" + dir / "stats.jsonl",
                        dir);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::ofstream(dir / "act.sh") << "#!/bin/sh\nexit 0\n";
  chmod((dir / "act.sh").c_str(), 0755);
  std::ofstream(dir / "heal.yaml") << "rules:\n  - name: restart\n    match: {detector: error_rate_high}\n"
                                      "    action: {exec: [" << dir / "act.sh" << ", '{site}']}\n"
                                      "    verify_for: 30m\n";
  auto heal = RunCommand(std::string(SITEPULSE_BINARY) + " heal --config " + dir / "heal.yaml" +
                             " --ledger " + dir / "ledger.db" + " --input " + dir / "events.jsonl" +
                             " --clock event --exit-at-end",
                         dir);
  ASSERT_EQ(heal.exit_code, 0) << heal.err;
  std::string incident;
  for (const std::string& line : Lines(ReadFile(dir / "events.jsonl"))) {
    if (line.find("\"error_rate_high\"") != std::string::npos) {
      incident = line.substr(line.find("\"id\":\"") + 6, 16);
      break;
    }
  }
  ASSERT_FALSE(incident.empty()) << ReadFile(dir / "events.jsonl");
  const std::string base = std::string(SITEPULSE_BINARY) + " timeline --ledger " + dir / "ledger.db" +
                           " --events " + dir / "events.jsonl" + " --stats " + dir / "stats.jsonl" +
                           " --incident " + incident;
  auto md = RunCommand(base, dir);
  ASSERT_EQ(md.exit_code, 0) << md.err;
  for (const char* section : {"## Summary", "## Impact", "## Detection", "## Resolution",
                              "## Action items", "## Timeline (UTC)", "time to detect",
                              "time to mitigate", "heal rule restart", "verified"}) {
    EXPECT_NE(md.out.find(section), std::string::npos) << section << "\n" << md.out;
  }
  // Every timeline row names its source.
  const std::string table = md.out.substr(md.out.find("## Timeline"));
  int rows = 0;
  for (const std::string& row : Lines(table)) {
    if (row.rfind("| 20", 0) != 0) continue;
    ++rows;
    EXPECT_TRUE(row.find("| event ") != std::string::npos || row.find("| ledger step ") != std::string::npos) << row;
  }
  EXPECT_GE(rows, 5);

  auto js = RunCommand(base + " --format json", dir);
  ASSERT_EQ(js.exit_code, 0) << js.err;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(js.out).get(doc), simdjson::SUCCESS) << js.out;
  simdjson::dom::element inc;
  ASSERT_EQ(doc["incidents"].at(0).get(inc), simdjson::SUCCESS) << js.out;
  int64_t ttd = -1, ttm = -1;
  uint64_t requests = 0, errors = 0;
  EXPECT_EQ(inc["time_to_detect_s"].get_int64().get(ttd), simdjson::SUCCESS);
  EXPECT_EQ(inc["time_to_mitigate_s"].get_int64().get(ttm), simdjson::SUCCESS);
  EXPECT_EQ(inc["requests"].get_uint64().get(requests), simdjson::SUCCESS);
  EXPECT_EQ(inc["errors_5xx"].get_uint64().get(errors), simdjson::SUCCESS);
  EXPECT_GT(ttd, 0);
  EXPECT_GT(ttm, 0);
  // 25% 5xx during the injected incident on one site at 10 requests/s.
  EXPECT_GT(requests, 0u);
  EXPECT_GT(static_cast<double>(errors), 0.1 * static_cast<double>(requests));
}

}  // namespace
}  // namespace sitepulse
