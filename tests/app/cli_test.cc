// The command line as a user meets it: help, version, check, and clear failures.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace sitepulse
