#include "ingest/json_line_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "tests/ingest/parser_test_util.h"

namespace sitepulse {
namespace {

using testing::ParseLine;
using testing::ParserFor;
constexpr EventTime kS = kNanosPerSecond;

TEST(JsonPresetTest, Nginx) {
  LineParser p = ParserFor("nginx");
  auto r = ParseLine(p,
      R"({"time_iso8601":"2025-01-01T00:00:01+00:00","remote_addr":"10.0.0.1","host":"shop.example.com",)"
      R"("request":"GET / HTTP/1.1","status":"503","body_bytes_sent":"1234","request_time":"0.250",)"
      R"("upstream_response_time":"-","http_user_agent":"curl/8"})");
  ASSERT_TRUE(r.ok()) << RejectReasonName(r.reason);
  EXPECT_EQ(r.site, "shop.example.com");
  EXPECT_EQ(r.rec.time, 1735689601 * kS);
  EXPECT_EQ(r.rec.status, 503);
  EXPECT_DOUBLE_EQ(r.rec.latency_s, 0.25);
  EXPECT_EQ(r.rec.bytes, 1234u);
  // Numbers instead of strings, time_local instead of ISO.
  r = ParseLine(p, R"({"time_local":"01/Jan/2025:00:00:01 +0000","host":"a","status":200,)"
                   R"("request_time":0.004,"body_bytes_sent":0})");
  ASSERT_TRUE(r.ok()) << RejectReasonName(r.reason);
  EXPECT_EQ(r.rec.time, 1735689601 * kS);
  EXPECT_DOUBLE_EQ(r.rec.latency_s, 0.004);
}

TEST(JsonPresetTest, Caddy) {
  LineParser p = ParserFor("caddy");
  auto r = ParseLine(p,
      R"({"level":"info","ts":1735689601.5,"logger":"http.log.access","msg":"handled request",)"
      R"("request":{"remote_ip":"127.0.0.1","proto":"HTTP/2.0","method":"GET","host":"caddy.example.com",)"
      R"("uri":"/","headers":{"User-Agent":["curl/8"],"Host":["x"]}},"bytes_read":0,)"
      R"("user_id":"","duration":0.0012,"size":5321,"status":200,"resp_headers":{"Server":["Caddy"]}})");
  ASSERT_TRUE(r.ok()) << RejectReasonName(r.reason);
  EXPECT_EQ(r.site, "caddy.example.com");
  EXPECT_EQ(r.rec.time, 1735689601 * kS + 500'000'000);
  EXPECT_DOUBLE_EQ(r.rec.latency_s, 0.0012);
  EXPECT_EQ(r.rec.bytes, 5321u);
}

// A number of more than 19 digits whose integer part is 0 is read right without the fast path
// too: Debian 12's simdjson (3.0.1) reads "0.0777...762743" (76 digits) as 2.05e-58 and
// "0.95000000000000000000" as 0.0277 (simdjson#2093), which the fuzzer found; the parser reads
// such numbers from their text. Both paths agree, on the latency and on Caddy's epoch seconds.
TEST(JsonParserTest, LongNumbersReadTheSameWithAndWithoutTheFastPath) {
  FormatSpec slow = *FormatFromPreset("caddy");
  slow.json_fast_path = false;
  LineParser fast = ParserFor("caddy");
  LineParser without(slow);
  auto line = [](std::string_view ts, std::string_view duration) {
    return std::string(R"({"level":"info","ts":)") + std::string(ts) +
           R"(,"logger":"http.log.access","msg":"handled request","request":{"remote_ip":"10.0.0.1",)"
           R"("proto":"HTTP/2.0","method":"GET","host":"api.example.com","uri":"/"},"bytes_read":0,)"
           R"("duration":)" + std::string(duration) + R"(,"size":100,"status":200})";
  };
  const std::string long_zero =
      "0.0777777777777777777777777777777777777777777777777777777777777777777777762743";
  const std::string cases[][3] = {
      {"1735689600.5", long_zero, "0.07777777777777778"},
      {"1735689600.5", "0.95000000000000000000", "0.95"},
      {"1735689600.500000000000000000000", "0.25", "0.25"},
      {"1735689600.5", "-0.95000000000000000000", ""},  // negative: rejected by both
  };
  for (const auto& c : cases) {
    const std::string l = line(c[0], c[1]);
    for (int round = 0; round < 3; ++round) {  // the fast path learns the shape, then uses it
      const auto a = ParseLine(fast, l);
      const auto b = ParseLine(without, l);
      ASSERT_EQ(a.ok(), b.ok()) << l;
      if (c[2].empty()) {
        EXPECT_FALSE(b.ok()) << l;
        continue;
      }
      ASSERT_TRUE(b.ok()) << RejectReasonName(b.reason) << ": " << l;
      EXPECT_EQ(b.rec.latency_s, std::stod(c[2])) << l;
      EXPECT_EQ(a.rec.latency_s, b.rec.latency_s) << l;
      EXPECT_EQ(b.rec.time, 1735689600 * kS + 500'000'000) << l;
      EXPECT_EQ(a.rec.time, b.rec.time) << l;
    }
  }
}

TEST(JsonPresetTest, Envoy) {
  LineParser p = ParserFor("envoy");
  auto r = ParseLine(p,
      R"({"start_time":"2025-01-01T00:00:01.000Z","method":"POST","path":"/api","protocol":"HTTP/1.1",)"
      R"("response_code":502,"response_flags":"UF","bytes_received":10,"bytes_sent":91,)"
      R"("duration":1500,"upstream_service_time":null,"x_forwarded_for":null,"authority":"envoy.example.com"})");
  ASSERT_TRUE(r.ok()) << RejectReasonName(r.reason);
  EXPECT_EQ(r.site, "envoy.example.com");
  EXPECT_EQ(r.rec.status, 502);
  EXPECT_DOUBLE_EQ(r.rec.latency_s, 1.5);  // milliseconds
  EXPECT_EQ(r.rec.bytes, 91u);
}

TEST(JsonPresetTest, EcsNestedAndFlat) {
  LineParser p = ParserFor("ecs");
  auto r = ParseLine(p,
      R"({"@timestamp":"2025-01-01T00:00:01.000Z","event":{"dataset":"nginx.access","duration":2500000},)"
      R"("url":{"domain":"ecs.example.com","path":"/"},"http":{"request":{"method":"GET"},)"
      R"("response":{"status_code":404,"body":{"bytes":77}}}})");
  ASSERT_TRUE(r.ok()) << RejectReasonName(r.reason);
  EXPECT_EQ(r.site, "ecs.example.com");
  EXPECT_EQ(r.rec.status, 404);
  EXPECT_DOUBLE_EQ(r.rec.latency_s, 0.0025);  // nanoseconds
  EXPECT_EQ(r.rec.bytes, 77u);
  // The same document with dotted keys, as some shippers write it.
  r = ParseLine(p, R"({"@timestamp":"2025-01-01T00:00:01Z","event.duration":1000000000,)"
                   R"("url.domain":"flat.example.com","http.response.status_code":200})");
  ASSERT_TRUE(r.ok()) << RejectReasonName(r.reason);
  EXPECT_EQ(r.site, "flat.example.com");
  EXPECT_DOUBLE_EQ(r.rec.latency_s, 1.0);
}

TEST(JsonPresetTest, ExplicitFieldPaths) {
  FormatSpec f = *FormatFromPreset("json");
  f.site_paths = {"svc.name"};
  f.time_paths = {"t"};
  f.status_paths = {"resp.code"};
  f.latency_paths = {"lat_us"};
  f.latency_unit = LatencyUnit::kMicros;
  f.time_unit = EpochUnit::kMillis;
  LineParser p(f);
  auto r = ParseLine(p, R"({"svc":{"name":"custom"},"t":1735689601000,"resp":{"code":201},"lat_us":1500})");
  ASSERT_TRUE(r.ok()) << RejectReasonName(r.reason);
  EXPECT_EQ(r.site, "custom");
  EXPECT_EQ(r.rec.time, 1735689601 * kS);
  EXPECT_EQ(r.rec.status, 201);
  EXPECT_DOUBLE_EQ(r.rec.latency_s, 0.0015);
}

TEST(JsonPresetTest, JsonErrorLogLevels) {
  LineParser p = ParserFor("json_error");
  auto r = ParseLine(p, R"({"time":"2025-01-01T00:00:01Z","level":"ERROR","site":"a","msg":"x"})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.rec.kind, RecordKind::kError);
  EXPECT_EQ(r.rec.level, LogLevel::kError);
  r = ParseLine(p, R"({"time":1735689601,"level":50,"site":"a"})");  // pino "error"
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.rec.level, LogLevel::kError);
  r = ParseLine(p, R"({"time":1735689601,"level":"loud","site":"a"})");
  EXPECT_EQ(r.reason, RejectReason::kBadLevel);
  r = ParseLine(p, R"({"time":1735689601,"site":"a"})");
  EXPECT_EQ(r.reason, RejectReason::kMissingLevel);
}

// Every status from 100 to 599 converts (the flat path's three-digit shortcut included, on the
// second and later lines of one shape); others are bad_status.
TEST(JsonPresetTest, StatusCodesThroughTheFlatPath) {
  LineParser p = ParserFor("nginx");
  auto line = [](const std::string& status) {
    return R"({"time_iso8601":"2025-01-01T00:00:01Z","host":"a","status":")" + status +
           R"(","request_time":"0.1","body_bytes_sent":"5"})";
  };
  for (int code = 100; code <= 599; ++code) {
    auto r = ParseLine(p, line(std::to_string(code)));
    ASSERT_TRUE(r.ok()) << code;
    EXPECT_EQ(r.rec.status, code);
  }
  for (const char* bad : {"099", "600", "9a9", "20", "2000", "-20"}) {
    EXPECT_EQ(ParseLine(p, line(bad)).reason, RejectReason::kBadStatus) << bad;
  }
}

// json_error reads the message from message, msg or error.message (optional: a line without
// one, or with a message that is not a string, is still an error line). Both the flat fast
// path and simdjson (nested, escaped) give it.
TEST(JsonPresetTest, JsonErrorMessage) {
  LineParser p = ParserFor("json_error");
  for (int i = 0; i < 2; ++i) {  // the second time through the learned flat template
    auto r = ParseLine(p, R"({"time":"2025-01-01T00:00:01Z","level":"error","site":"a","msg":"db down 3"})");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.message, "db down 3");
  }
  auto r = ParseLine(p, R"({"time":1735689601,"level":"error","site":"a","error":{"message":"x \"y\""}})");
  ASSERT_TRUE(r.ok()) << RejectReasonName(r.reason);
  EXPECT_EQ(r.message, R"(x \"y\")");  // escapes stay escaped
  r = ParseLine(p, R"({"time":1735689601,"level":"error","site":"a","message":42})");
  ASSERT_TRUE(r.ok()) << RejectReasonName(r.reason);
  EXPECT_EQ(r.message, "");
  r = ParseLine(p, R"({"time":1735689601,"level":"error","site":"a"})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.message, "");
}

// Caddy's own error log (logger http.log.error), as Caddy 2 writes it: the site is the failed
// request's Host, nested as in the access log. json_error refuses it (no top-level site: the
// missing_site of issue #19); caddy_error reads it, and the access lines' level too.
TEST(JsonPresetTest, CaddyErrorLog) {
  const std::string line =
      R"({"level":"error","ts":1735689601.5241024,"logger":"http.log.error","msg":"dial tcp )"
      R"(10.0.0.7:8080: connect: connection refused","request":{"remote_ip":"203.0.113.9",)"
      R"("remote_port":"51234","proto":"HTTP/2.0","method":"GET","host":"shop.example.com",)"
      R"("uri":"/cart","headers":{"User-Agent":["curl/8.5.0"],"Accept":["*/*"]},"tls":)"
      R"({"resumed":false,"version":772,"server_name":"shop.example.com"}},"duration":0.0012,)"
      R"x("status":502,"err_id":"gk7bq4yz1","err_trace":"reverseproxy.statusError (reverseproxy.go:1299)"})x";
  LineParser generic = ParserFor("json_error");
  EXPECT_EQ(ParseLine(generic, line).reason, RejectReason::kMissingSite);
  LineParser p = ParserFor("caddy_error");
  for (int i = 0; i < 2; ++i) {
    auto r = ParseLine(p, line);
    ASSERT_TRUE(r.ok()) << RejectReasonName(r.reason);
    EXPECT_EQ(r.rec.kind, RecordKind::kError);
    EXPECT_EQ(r.site, "shop.example.com");
    EXPECT_EQ(r.rec.level, LogLevel::kError);
    EXPECT_EQ(r.rec.time, 1735689601 * kS + 524102400);
    EXPECT_EQ(r.message, "dial tcp 10.0.0.7:8080: connect: connection refused");
  }
  auto info = ParseLine(p, R"({"level":"info","ts":1735689601.5,"logger":"http.log.access",)"
                           R"("msg":"handled request","request":{"host":"a.example.com"},"status":200})");
  ASSERT_TRUE(info.ok()) << RejectReasonName(info.reason);
  EXPECT_EQ(info.rec.level, LogLevel::kInfo);
}

struct Hostile {
  const char* line;
  RejectReason reason;
};

class JsonHostileTest : public ::testing::TestWithParam<Hostile> {};

constexpr const char* kWellFormed =
    R"({"time_iso8601":"2025-01-01T00:00:01Z","host":"a","status":"200","request_time":"0.1","body_bytes_sent":"5"})";

TEST_P(JsonHostileTest, RejectedWithReason) {
  LineParser p = ParserFor("nginx");
  auto r = ParseLine(p, GetParam().line);
  EXPECT_EQ(RejectReasonName(r.reason), RejectReasonName(GetParam().reason)) << GetParam().line;
}

// The same lines after the parser has learned the usual shape from good lines (its fast path).
TEST_P(JsonHostileTest, RejectedWithReasonAfterLearning) {
  LineParser p = ParserFor("nginx");
  ASSERT_TRUE(ParseLine(p, kWellFormed).ok());
  ASSERT_TRUE(ParseLine(p, kWellFormed).ok());
  auto r = ParseLine(p, GetParam().line);
  EXPECT_EQ(RejectReasonName(r.reason), RejectReasonName(GetParam().reason)) << GetParam().line;
  EXPECT_TRUE(ParseLine(p, kWellFormed).ok());  // and it keeps working
}

// A bad optional field keeps the request (counted as bad_bytes_field by the lane): cold, through
// the flat template and through the learned walk.
TEST(JsonParserTest, BadBytesKeepTheRequest) {
  LineParser p = ParserFor("nginx");
  const std::string bad =
      R"({"time_iso8601":"2025-01-01T00:00:01Z","host":"a","status":"503","request_time":"0.1","body_bytes_sent":1.5})";
  for (int round = 0; round < 3; ++round) {
    auto r = ParseLine(p, bad);
    ASSERT_TRUE(r.ok()) << RejectReasonName(r.reason);
    EXPECT_TRUE(r.rec.bad_bytes);
    EXPECT_EQ(r.rec.bytes, 0u);
    EXPECT_EQ(r.rec.status, 503);
    auto good = ParseLine(p, kWellFormed);
    ASSERT_TRUE(good.ok());
    EXPECT_FALSE(good.rec.bad_bytes);
    EXPECT_EQ(good.rec.bytes, 5u);
  }
}

// Nested presets read learned keys by lookup (the first occurrence): a duplicate must still be
// caught, after learning too.
TEST(JsonParserTest, DuplicateKeyInANestedPresetIsAmbiguous) {
  LineParser p = ParserFor("caddy");
  auto line = [](const std::string& extra) {
    return R"({"level":"info","ts":1735689601.5,"logger":"http.log.access","msg":"handled request",)"
           R"("request":{"remote_ip":"127.0.0.1","method":"GET","host":"caddy.example.com")" + extra +
           R"(},"duration":0.0012,"size":5321,"status":200})";
  };
  ASSERT_TRUE(ParseLine(p, line("")).ok());
  ASSERT_TRUE(ParseLine(p, line("")).ok());
  EXPECT_EQ(RejectReasonName(ParseLine(p, line(R"(,"host":"victim.example.com")")).reason),
            "ambiguous_field");
  // Broken framing inside the nested object after the wanted key (fuzz/json_line_fuzz.cc): refused
  // after learning as by a fresh parser.
  EXPECT_EQ(RejectReasonName(ParseLine(p, line(R"( "x")")).reason), "malformed_json");
  LineParser fresh = ParserFor("caddy");
  EXPECT_EQ(RejectReasonName(ParseLine(fresh, line(R"( "x")")).reason), "malformed_json");
  // The same key in an unrelated object is no duplicate.
  EXPECT_TRUE(ParseLine(p, line(R"(,"tls":{"host":"x"})")).ok());
  EXPECT_TRUE(ParseLine(p, line("")).ok());
}

TEST(JsonParserTest, LearnedShapeFallsBackForDifferentLines) {
  LineParser p = ParserFor("nginx");
  ASSERT_TRUE(ParseLine(p, kWellFormed).ok());
  // Another key order, another time alternative, extra fields, a nested object: all still parse.
  auto r = ParseLine(p, R"({"status":503,"x":{"y":[1,2]},"request_time":0.5,)"
                        R"("time_local":"01/Jan/2025:00:00:02 +0000","host":"b"})");
  ASSERT_TRUE(r.ok()) << RejectReasonName(r.reason);
  EXPECT_EQ(r.site, "b");
  EXPECT_EQ(r.rec.status, 503);
  EXPECT_EQ(r.rec.time, 1735689602 * kS);
  r = ParseLine(p, kWellFormed);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.rec.time, 1735689601 * kS);
  EXPECT_EQ(r.rec.bytes, 5u);
  // A line without bytes (optional): parsed, bytes 0, then the usual shape again.
  r = ParseLine(p, R"({"time_iso8601":"2025-01-01T00:00:01Z","host":"a","status":"200","request_time":"0.1"})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.rec.bytes, 0u);
  EXPECT_TRUE(ParseLine(p, kWellFormed).ok());
}

TEST(JsonParserTest, LearnedShapeWithNestedPaths) {
  LineParser p = ParserFor("ecs");
  const std::string line =
      R"({"@timestamp":"2025-01-01T00:00:01.000Z","event":{"duration":2500000},)"
      R"("url":{"domain":"ecs.example.com"},"http":{"response":{"status_code":404,"body":{"bytes":77}}}})";
  for (int i = 0; i < 3; ++i) {
    auto r = ParseLine(p, line);
    ASSERT_TRUE(r.ok()) << i << " " << RejectReasonName(r.reason);
    EXPECT_EQ(r.site, "ecs.example.com");
    EXPECT_EQ(r.rec.status, 404);
    EXPECT_EQ(r.rec.bytes, 77u);
    EXPECT_DOUBLE_EQ(r.rec.latency_s, 0.0025);
  }
}

constexpr const char* kGood = R"("time_iso8601":"2025-01-01T00:00:01Z","request_time":"0.1")";

INSTANTIATE_TEST_SUITE_P(
    Lines, JsonHostileTest,
    ::testing::Values(
        Hostile{"", RejectReason::kEmptyLine}, Hostile{"   \t", RejectReason::kEmptyLine},
        // Broken framing after every wanted key (a key without a value): found by
        // fuzz/json_line_fuzz.cc, counted after a well-formed line while a fresh parser refused it.
        Hostile{R"x({"time_iso8601":"2025-01-01T00:00:01Z","host":"a","status":"200","request_time":"0.1","body_bytes_sent":"5","ht(KHTML, like Gecko)"})x",
                RejectReason::kMalformedJson},
        Hostile{R"({"host":"a","status":200,"time_iso8601":"2025-01-01T00:00:01Z","request_ti)",
                RejectReason::kMalformedJson},  // truncated
        Hostile{R"({"host":"a","status":200,"time_iso8601":"2025-01-01T00:00:01Z","request_time":0.1)",
                RejectReason::kMalformedJson},  // missing brace
        Hostile{R"({"host":"a","status":200,"time_iso8601":"2025-01-01T00:00:01Z","request_time":0.1} x)",
                RejectReason::kMalformedJson},  // trailing garbage
        Hostile{"[1,2,3]", RejectReason::kMalformedJson},
        Hostile{"\x01\x02\x03\x04\xff", RejectReason::kInvalidUtf8},
        Hostile{"{\"host\":\"a\xff\xfe\",\"status\":200}", RejectReason::kInvalidUtf8},
        Hostile{"not json at all", RejectReason::kMalformedJson},
        Hostile{R"({"status":200,"time_iso8601":"2025-01-01T00:00:01Z","request_time":"0.1"})",
                RejectReason::kMissingSite},
        Hostile{R"({"host":"a","status":200,"request_time":"0.1"})", RejectReason::kMissingTime},
        Hostile{R"({"host":"a","time_iso8601":"2025-01-01T00:00:01Z","request_time":"0.1"})",
                RejectReason::kMissingStatus},
        Hostile{R"({"host":"a","status":200,"time_iso8601":"2025-01-01T00:00:01Z"})",
                RejectReason::kMissingLatency},
        Hostile{R"({"host":42,"status":200,"time_iso8601":"2025-01-01T00:00:01Z","request_time":"0.1"})",
                RejectReason::kBadSite},
        Hostile{R"({"host":"a b","status":200,"time_iso8601":"2025-01-01T00:00:01Z","request_time":"0.1"})",
                RejectReason::kBadSite},
        Hostile{R"({"host":"a","status":200,"time_iso8601":"yesterday","request_time":"0.1"})",
                RejectReason::kBadTime},
        Hostile{R"({"host":"a","status":200,"time_iso8601":"1900-01-01T00:00:00Z","request_time":"0.1"})",
                RejectReason::kBadTime},
        Hostile{R"({"host":"a","status":99,"time_iso8601":"2025-01-01T00:00:01Z","request_time":"0.1"})",
                RejectReason::kBadStatus},
        Hostile{R"({"host":"a","status":600,"time_iso8601":"2025-01-01T00:00:01Z","request_time":"0.1"})",
                RejectReason::kBadStatus},
        Hostile{R"({"host":"a","status":"OK","time_iso8601":"2025-01-01T00:00:01Z","request_time":"0.1"})",
                RejectReason::kBadStatus},
        Hostile{R"({"host":"a","status":200.5,"time_iso8601":"2025-01-01T00:00:01Z","request_time":"0.1"})",
                RejectReason::kBadStatus},
        Hostile{R"({"host":"a","status":200,"time_iso8601":"2025-01-01T00:00:01Z","request_time":-0.5})",
                RejectReason::kBadLatency},
        Hostile{R"({"host":"a","status":200,"time_iso8601":"2025-01-01T00:00:01Z","request_time":"fast"})",
                RejectReason::kBadLatency},
        Hostile{R"({"host":"a","status":200,"time_iso8601":"2025-01-01T00:00:01Z","request_time":1e300})",
                RejectReason::kBadLatency},
        Hostile{R"({"host":"a","status":200,"time_iso8601":"2025-02-30T00:00:01Z","request_time":"0.1"})",
                RejectReason::kBadTime},
        Hostile{R"({"host":"a","status":200,"time_iso8601":"2025-01-01T00:00:01+99:00","request_time":"0.1"})",
                RejectReason::kBadTime},
        Hostile{R"({"host":"a","status":200,"status":500,"time_iso8601":"2025-01-01T00:00:01Z","request_time":"0.1"})",
                RejectReason::kAmbiguousField},
        Hostile{R"({"host":"a","status":200,"time_iso8601":"2025-01-01T00:00:01Z","request_time":"0.1","host":"b"})",
                RejectReason::kAmbiguousField}),
    [](const ::testing::TestParamInfo<Hostile>& p) {
      return std::to_string(p.index) + "_" + std::string(RejectReasonName(p.param.reason));
    });

TEST(JsonParserTest, NullAndDashFieldsAreAbsentNotErrors) {
  LineParser p = ParserFor("nginx");
  auto r = ParseLine(p, R"({"host":"a","status":200,"time_iso8601":"2025-01-01T00:00:01Z",)"
                        R"("request_time":"0.1","body_bytes_sent":"-"})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.rec.bytes, 0u);
  r = ParseLine(p, R"({"host":null,"server_name":"fallback","status":200,)"
                   R"("time_iso8601":"2025-01-01T00:00:01Z","request_time":"0.1"})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.site, "fallback");
}

TEST(JsonParserTest, DefaultSiteWhenLineNamesNone) {
  LineParser p = ParserFor("nginx", "default.example.com");
  auto r = ParseLine(p, R"({"status":200,"time_iso8601":"2025-01-01T00:00:01Z","request_time":"0.1"})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.site, "default.example.com");
}

TEST(JsonParserTest, CrlfLineEndings) {
  LineParser p = ParserFor("nginx");
  auto r = ParseLine(p, "{\"host\":\"a\",\"status\":200," + std::string(kGood) + "}\r");
  EXPECT_TRUE(r.ok()) << RejectReasonName(r.reason);
}


namespace differential {

// The fast path must agree with simdjson on every line: same verdict, same values. Good lines
// of several shapes, then every one of them cut short, and with each byte replaced by a character
// that matters to JSON (or one inserted), fed in a sequence so the fast path keeps learning and
// relearning shapes.
std::vector<std::string> GoodLines(const std::string& preset) {
  if (preset == "caddy") {
    return {
        R"({"level":"info","ts":1735689601.5,"logger":"http.log.access","msg":"handled request","request":{"remote_ip":"10.0.0.1","remote_port":"5341","proto":"HTTP/2.0","method":"GET","host":"shop.example.com","uri":"/a","headers":{"User-Agent":["curl/8.5.0"],"Accept":["*/*"]},"tls":{"resumed":false,"version":772}},"bytes_read":0,"user_id":"","duration":0.0012,"size":5321,"status":200,"resp_headers":{"Server":["Caddy"],"Alt-Svc":["h3=\":443\"; ma=2592000"]}})",
        R"({"level":"info","ts":1735689602,"logger":"http.log.access","request":{"host":"b.example.com","headers":{"Accept":[]}},"duration":1,"size":0,"status":"503"})",
        R"({"ts":1735689603.25,"request":{"host":"c","uri":"/\u00e9\"q\""},"duration":0.5,"status":404,"x":[{"host":"no"},[1,2]],"size":null})",
    };
  }
  if (preset == "ecs") {
    return {
        R"({"@timestamp":"2025-01-01T00:00:01.000Z","ecs":{"version":"8.11.0"},"event":{"dataset":"nginx.access","duration":2500000},"url":{"domain":"ecs.example.com","path":"/x"},"http":{"request":{"method":"GET"},"response":{"status_code":404,"body":{"bytes":77}}},"user_agent":{"original":"curl/8"}})",
        R"({"@timestamp":"2025-01-01T00:00:02Z","url.domain":"flat.example.com","http.response.status_code":200,"event.duration":1000})",
    };
  }
  return {
      kWellFormed,
      R"j({"time_iso8601":"2025-01-01T00:00:01.250Z","remote_addr":"10.0.0.1","host":"shop.example.com","request":"GET /é HTTP/1.1","status":"503","body_bytes_sent":"1234","request_time":"0.250","upstream_response_time":"-","http_user_agent":"Mozilla/5.0 (X11)"})j",
      R"({ "time_iso8601" : "2025-01-01T00:00:02Z" , "host" : "a" , "status" : 200 , "request_time" : 0.004 , "body_bytes_sent" : 0 , "ok" : true , "gone" : null })",
      R"({"time_local":"01/Jan/2025:00:00:01 +0000","host":"b","status":404,"request_time":12,"body_bytes_sent":"-","x":false})",
      R"({"time_iso8601":1735689601,"host":"c","status":"200","request_time":"0.1","body_bytes_sent":5,"n":-1.5e3})",
      R"({"time_iso8601":1735689601.5,"host":"d","status":200,"request_time":"-","server_name":"other","body_bytes_sent":"7"})",
      R"({"time_iso8601":"2025-01-01T00:00:01Z","host":null,"http_host":"e","status":200,"request_time":"0.1"})",
      R"({"time_iso8601":"2025-01-01T00:00:01Z","host":"f","status":200,"request_time":"0.1","http_user_agent":"say \"hi\" \\o/","x":{"host":"g"}})",
  };
}

std::vector<std::string> Corpus(const std::string& preset) {
  const std::string specials = "\"\\{}[],: x0-.eu\x01\xff";
  std::vector<std::string> corpus;
  for (const std::string& g : GoodLines(preset)) {
    corpus.push_back(g);
    for (size_t i = 0; i < g.size(); ++i) {
      corpus.push_back(g.substr(0, i));
      corpus.push_back(g);  // relearn
      for (char c : specials) {
        std::string m = g;
        m[i] = c;
        corpus.push_back(m);
        corpus.push_back(g.substr(0, i) + c + g.substr(i));
      }
    }
  }
  return corpus;
}

// Both versions of the fast path's SIMD pass (AVX-512 where the CPU has it, and AVX2) are held
// to simdjson's verdicts and values, for a flat and two nested presets.
class FastPathTest : public ::testing::TestWithParam<std::string> {};

TEST_P(FastPathTest, AgreesWithSimdjsonOnEveryLine) {
  for (bool wide : {true, false}) {
    SCOPED_TRACE(wide ? "AVX-512 pass (if the CPU has it)" : "AVX2 pass");
    SetUseAvx512ForTesting(wide);
    FormatSpec fast = *FormatFromPreset(GetParam());
    FormatSpec slow = fast;
    slow.json_fast_path = false;
    LineParser p(fast), ref(slow);
    size_t accepted = 0, rejected = 0;
    for (const std::string& line : Corpus(GetParam())) {
      const auto a = ParseLine(p, line);
      const auto b = ParseLine(ref, line);
      auto name = [](const auto& r) { return r.ok() ? std::string("ok") : std::string(RejectReasonName(r.reason)); };
      ASSERT_EQ(name(a), name(b)) << line;
      if (!b.ok()) {
        ++rejected;
        continue;
      }
      ++accepted;
      EXPECT_EQ(a.site, b.site) << line;
      EXPECT_EQ(a.rec.time, b.rec.time) << line;
      EXPECT_EQ(a.rec.status, b.rec.status) << line;
      EXPECT_EQ(a.rec.has_latency, b.rec.has_latency) << line;
      EXPECT_EQ(a.rec.latency_s, b.rec.latency_s) << line;
      EXPECT_EQ(a.rec.bytes, b.rec.bytes) << line;
    }
    // The corpus really exercises both verdicts.
    EXPECT_GT(accepted, 3000u);
    EXPECT_GT(rejected, 3000u);
  }
  SetUseAvx512ForTesting(true);
}

// Lines that each bring a new shape (a header name per request) send the parser from its shapes
// to simdjson for a while and back: every line, on either side of those switches, parses as
// simdjson alone parses it.
TEST(FastPathChurnTest, EveryLineANewShapeParsesAsSimdjsonDoes) {
  FormatSpec fast = *FormatFromPreset("caddy");
  FormatSpec slow = fast;
  slow.json_fast_path = false;
  LineParser p(fast), ref(slow);
  for (int i = 0; i < 2000; ++i) {
    // Runs of 100 lines of one shape between runs of 100 lines of a shape each.
    const std::string header = (i / 100) % 2 == 0 ? "X-Steady" : "X-H" + std::to_string(i);
    const std::string line =
        R"({"ts":1735689601.)" + std::to_string(100 + i % 900) +
        R"(,"request":{"host":"s)" + std::to_string(i % 7) + R"(.example.com","headers":{")" + header +
        R"(":["v"]}},"duration":0.)" + std::to_string(i % 1000) + R"(,"size":)" + std::to_string(i) +
        R"(,"status":)" + (i % 13 == 0 ? "503" : "200") + "}";
    const auto a = ParseLine(p, line);
    const auto b = ParseLine(ref, line);
    ASSERT_TRUE(a.ok() && b.ok()) << line;
    EXPECT_EQ(a.site, b.site) << line;
    EXPECT_EQ(a.rec.time, b.rec.time) << line;
    EXPECT_EQ(a.rec.status, b.rec.status) << line;
    EXPECT_EQ(a.rec.latency_s, b.rec.latency_s) << line;
    EXPECT_EQ(a.rec.bytes, b.rec.bytes) << line;
  }
}

INSTANTIATE_TEST_SUITE_P(Presets, FastPathTest, ::testing::Values("nginx", "caddy", "ecs"));

}  // namespace differential

}  // namespace
}  // namespace sitepulse
