// The NAB scorer against hand-computed cases, and sitepulse's score on the real corpus
// (../shared/data/nab) kept from regressing.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/app/test_util.h"

namespace sitepulse {
namespace {

using testing::ReadFile;
using testing::RunCommand;
using testing::TempDir;

const std::string kScore = SITEPULSE_NAB_SCORE;
const std::string kSource = SITEPULSE_SOURCE_DIR;

// A corpus of one 100-row file with one window over rows 40..49 (probation: the first 15 rows).
class NabScorerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_ / "data/cat");
    std::filesystem::create_directories(dir_ / "results/cat");
    std::ofstream data(dir_ / "data/cat/f.csv");
    data << "timestamp,value\n";
    for (int i = 0; i < 100; ++i) data << Ts(i) << "," << i << "\n";
    std::ofstream(dir_ / "windows.json")
        << "{\"cat/f.csv\": [[\"" << Ts(40) << ".000000\", \"" << Ts(49) << ".000000\"]]}\n";
  }
  static std::string Ts(int i) {
    char b[32];
    std::snprintf(b, sizeof(b), "2024-01-01 %02d:%02d:00", i / 60, i % 60);
    return b;
  }
  // Scores a detector that flags exactly `rows`; returns the standard-profile line.
  std::string Score(std::initializer_list<int> rows) {
    std::ofstream r(dir_ / "results/cat/f.csv");
    r << "timestamp,value,anomaly_score\n";
    for (int i = 0; i < 100; ++i) {
      bool hit = false;
      for (int x : rows) hit = hit || x == i;
      r << Ts(i) << "," << i << "," << (hit ? 1 : 0) << "\n";
    }
    r.close();
    auto res = RunCommand(kScore + " --data " + dir_ / "data" + " --windows " +
                              dir_ / "windows.json" + " --results " + dir_ / "results",
                          dir_);
    EXPECT_EQ(res.exit_code, 0) << res.err;
    const size_t at = res.out.find("standard ");
    return at == std::string::npos ? res.out : res.out.substr(at, res.out.find('\n', at) - at);
  }
  TempDir dir_;
};

TEST_F(NabScorerTest, PerfectNullAndInBetween) {
  // At the window's left edge: the perfect score.
  EXPECT_NE(Score({40}).find("100.0"), std::string::npos);
  // Nothing: the null score.
  EXPECT_NE(Score({}).find(" 0.0"), std::string::npos);
  // Only the earliest detection in a window counts: 40 and 45 score like 40 alone.
  EXPECT_NE(Score({40, 45}).find("100.0"), std::string::npos);
  // In the middle of the window: sigmoid(-0.5) / sigmoid(-1) of the way from null to perfect,
  // (1 + 0.8483 / 0.9866) / 2 = 93.0.
  EXPECT_NE(Score({45}).find("93.0"), std::string::npos);
  // A false positive long before the window costs A_fp = 0.11: (1 - 0.11 + 1) / 2 = 94.5.
  EXPECT_NE(Score({20, 40}).find("94.5"), std::string::npos);
  // Detections in the probation period (rows 0..14) are ignored.
  EXPECT_NE(Score({3, 40}).find("100.0"), std::string::npos);
}

TEST(NabCorpusTest, SitepulseScoreOnTheNumentaBenchmark) {
  const std::string nab = SITEPULSE_SHARED_DATA "/nab";
  ASSERT_TRUE(std::filesystem::exists(nab + "/combined_windows.json")) << nab;
  TempDir dir;
  auto r = RunCommand("SITEPULSE_NAB=" + nab + " " + kSource + "/scripts/nab.sh " + kSource +
                          "/configs/nab.yaml nab --min-standard 70",
                      dir);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("NAB (44 files, 83 windows)"), std::string::npos) << r.out;
  std::printf("%s", r.out.c_str());
}

// The headline (docs/detection.md): leave-one-category-out, every constant and the threshold
// chosen on four categories and scored on the fifth. The grid's variants run the real binary.
TEST(NabCorpusTest, CrossValidatedScore) {
  const std::string nab = SITEPULSE_SHARED_DATA "/nab";
  ASSERT_TRUE(std::filesystem::exists(nab + "/combined_windows.json")) << nab;
  TempDir dir;
  const std::string build =
      std::filesystem::path(SITEPULSE_BINARY).parent_path().parent_path().string();
  auto r = RunCommand("SITEPULSE_NAB=" + nab + " SITEPULSE_BUILD=" + build + " " + kSource +
                          "/scripts/nab-cv.sh " + dir / "cv" + " --min-standard 70",
                      dir);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("(44 files, 83 windows, 108 variants)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("cross-validated"), std::string::npos) << r.out;
  std::printf("%s", r.out.c_str());
}

}  // namespace
}  // namespace sitepulse
