#include "core/anomaly.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace sitepulse {
namespace {

// Every event the golden runs publish reads back into the same event: writing it again gives
// the same bytes.
TEST(AnomalyFromJsonTest, GoldenEventsRoundTrip) {
  size_t read = 0;
  for (const auto& dir : std::filesystem::directory_iterator(SITEPULSE_SOURCE_DIR "/tests/data/golden")) {
    std::ifstream in(dir.path() / "expected_anomalies.jsonl");
    std::string line;
    while (std::getline(in, line)) {
      auto a = AnomalyFromJson(line);
      ASSERT_TRUE(a.ok()) << a.status() << "\n" << line;
      EXPECT_EQ(AnomalyToJson(*a), line);
      ++read;
    }
  }
  EXPECT_GT(read, 10u);
}

TEST(AnomalyFromJsonTest, FieldsEscapesAndOptionalBaseline) {
  Anomaly a;
  a.id = MakeIncidentId("shop", "p99", 1735689600LL * kNanosPerSecond);
  a.site = "shop.example.com";
  a.detector = "p99_latency_high";
  a.state = AlertState::kNoData;
  a.severity = "page";
  a.metric = "p99";
  a.value = 1.25;
  a.threshold = 0.5;
  a.window_s = 60;
  a.started_at = 1735689600LL * kNanosPerSecond;
  a.at = a.started_at + 180 * kNanosPerSecond;
  a.summary = "quote \" backslash \\ newline \n é";
  a.labels = {{"team", "web"}, {"template", "x=\"<*>\""}};
  for (const bool with_baseline : {false, true}) {
    if (with_baseline) a.baseline = 0.25;
    const std::string line = AnomalyToJson(a);
    auto back = AnomalyFromJson(line);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(AnomalyToJson(*back), line);
    EXPECT_EQ(back->state, AlertState::kNoData);
    EXPECT_EQ(back->summary, a.summary);
    EXPECT_EQ(back->labels, a.labels);
    EXPECT_EQ(back->baseline.has_value(), with_baseline);
  }
}

TEST(AnomalyFromJsonTest, StrictAboutVersionFieldsAndState) {
  Anomaly a;
  a.id = "0123456789abcdef";
  a.site = "s";
  a.detector = "d";
  const std::string good = AnomalyToJson(a);
  ASSERT_TRUE(AnomalyFromJson(good).ok());
  auto with = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    const size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return s.replace(at, from.size(), to);
  };
  EXPECT_NE(AnomalyFromJson(with("\"v\":1", "\"v\":2")).status().message().find("unknown schema version 2"),
            std::string::npos);
  EXPECT_NE(AnomalyFromJson(with("\"v\":1,", "")).status().message().find("'v'"), std::string::npos);
  EXPECT_NE(AnomalyFromJson(with("\"state\":\"firing\"", "\"state\":\"burning\"")).status().message().find("'state'"),
            std::string::npos);
  EXPECT_NE(AnomalyFromJson(with("\"site\":\"s\"", "\"site\":7")).status().message().find("'site'"),
            std::string::npos);
  EXPECT_NE(AnomalyFromJson(with("\"at\":\"", "\"at\":\"yesterday")).status().message().find("'at'"),
            std::string::npos);
  EXPECT_FALSE(AnomalyFromJson("{\"v\":1").ok());
  EXPECT_FALSE(AnomalyFromJson("[]").ok());
  EXPECT_FALSE(AnomalyFromJson("").ok());
  // An unknown field is ignored (the version says what a reader must know).
  EXPECT_TRUE(AnomalyFromJson(with("\"summary\"", "\"extra\":[1,2],\"summary\"")).ok());
}

}  // namespace
}  // namespace sitepulse
