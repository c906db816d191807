#include "core/json_writer.h"

#include <gtest/gtest.h>

#include "core/anomaly.h"
#include "core/uri.h"

namespace sitepulse {
namespace {

std::string Quote(std::string_view s) {
  std::string out;
  AppendJsonString(s, &out);
  return out;
}

TEST(JsonWriterTest, EscapesControlQuotesAndInvalidUtf8) {
  EXPECT_EQ(Quote("plain"), "\"plain\"");
  EXPECT_EQ(Quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(Quote("tab\tnl\n"), "\"tab\\tnl\\n\"");
  EXPECT_EQ(Quote(std::string_view("\x01\x00", 2)), "\"\\u0001\\u0000\"");
  EXPECT_EQ(Quote("caf\xc3\xa9"), "\"caf\xc3\xa9\"");          // valid UTF-8 kept
  EXPECT_EQ(Quote("\xff\xfe"), "\"\\u00ff\\u00fe\"");          // invalid bytes escaped
  EXPECT_EQ(Quote("\xc3"), "\"\\u00c3\"");                     // truncated sequence
  EXPECT_EQ(Quote("\xed\xa0\x80"), "\"\\u00ed\\u00a0\\u0080\"");  // surrogate
}

TEST(JsonWriterTest, NumbersAreShortestAndNonFiniteIsNull) {
  std::string out;
  AppendJsonNumber(0.25, &out);
  out += ' ';
  AppendJsonNumber(1.0 / 0.0, &out);
  EXPECT_EQ(out, "0.25 null");
}

TEST(AnomalyTest, JsonCarriesEveryRequiredField) {
  Anomaly a;
  a.id = MakeIncidentId("shop", "p99", 1000);
  a.site = "shop";
  a.detector = "p99";
  a.severity = "page";
  a.metric = "p99";
  a.value = 0.75;
  a.threshold = 0.5;
  a.window_s = 60;
  a.started_at = 1431857100 * kNanosPerSecond;
  a.at = 1431857160 * kNanosPerSecond;
  a.summary = "slow";
  a.labels = {{"team", "web"}};
  EXPECT_EQ(AnomalyToJson(a),
            "{\"v\":1,\"id\":\"" + a.id +
                "\",\"site\":\"shop\",\"detector\":\"p99\",\"state\":\"firing\","
                "\"severity\":\"page\",\"metric\":\"p99\",\"value\":0.75,\"threshold\":0.5,"
                "\"window_s\":60,\"started_at\":\"2015-05-17T10:05:00Z\","
                "\"at\":\"2015-05-17T10:06:00Z\",\"summary\":\"slow\",\"labels\":{\"team\":\"web\"}}");
}

TEST(AnomalyTest, IncidentIdIsStableAndDistinct) {
  EXPECT_EQ(MakeIncidentId("a", "d", 1), MakeIncidentId("a", "d", 1));
  EXPECT_NE(MakeIncidentId("a", "d", 1), MakeIncidentId("a", "d", 2));
  EXPECT_NE(MakeIncidentId("ab", "d", 1), MakeIncidentId("a", "bd", 1));
  EXPECT_EQ(MakeIncidentId("a", "d", 1).size(), 16u);
}

TEST(UriTest, Forms) {
  auto u = ParseUri("file:/var/log/a.log?kind=error&preset=error_text");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->scheme, "file");
  EXPECT_EQ(u->target, "/var/log/a.log");
  ASSERT_NE(u->Param("preset"), nullptr);
  EXPECT_EQ(*u->Param("preset"), "error_text");
  EXPECT_EQ(ParseUri("-")->scheme, "stdin");
  EXPECT_EQ(ParseUri("stdout")->scheme, "stdout");
  EXPECT_EQ(ParseUri("logs/x.log")->target, "logs/x.log");
  EXPECT_EQ(ParseUri("kafka://127.0.0.1:9092/logs?group=g")->scheme, "kafka");
  EXPECT_FALSE(ParseUri("file:").ok());
  EXPECT_FALSE(ParseUri("a.log?novalue").ok());
}

}  // namespace
}  // namespace sitepulse
