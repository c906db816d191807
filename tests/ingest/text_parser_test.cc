#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "ingest/combined_line_parser.h"
#include "ingest/error_text_parser.h"
#include "core/cpu_features.h"
#include "tests/ingest/parser_test_util.h"

namespace sitepulse {
namespace {

using testing::ParseLine;
using testing::ParserFor;
constexpr EventTime kS = kNanosPerSecond;

TEST(CombinedParserTest, PlainCombinedUsesDefaultSite) {
  LineParser p = ParserFor("combined", "www");
  auto r = ParseLine(p,
      R"(83.149.9.216 - - [17/May/2015:10:05:03 +0000] "GET /presentations/logstash-monitorama-2013/images/kibana-search.png HTTP/1.1" 200 203023 "http://semicomplete.com/presentations/logstash-monitorama-2013/" "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/32.0.1700.77 Safari/537.36")");
  ASSERT_TRUE(r.ok()) << RejectReasonName(r.reason);
  EXPECT_EQ(r.site, "www");
  EXPECT_EQ(r.rec.time, 1431857103 * kS);
  EXPECT_EQ(r.rec.status, 200);
  EXPECT_EQ(r.rec.bytes, 203023u);
  EXPECT_FALSE(r.rec.has_latency);
}

TEST(CombinedParserTest, VhostPortAndRequestTime) {
  LineParser p = ParserFor("combined");
  auto r = ParseLine(p,
      R"(shop.example.com:443 10.0.0.1 - alice [17/May/2015:10:05:03 +0000] "GET /a?q=\"x\" HTTP/1.1" 502 - "-" "curl/8" 1.250)");
  ASSERT_TRUE(r.ok()) << RejectReasonName(r.reason);
  EXPECT_EQ(r.site, "shop.example.com");
  EXPECT_EQ(r.rec.status, 502);
  EXPECT_EQ(r.rec.bytes, 0u);
  ASSERT_TRUE(r.rec.has_latency);
  EXPECT_DOUBLE_EQ(r.rec.latency_s, 1.25);
  // Apache %D: integer microseconds.
  r = ParseLine(p, R"(a.example.com 10.0.0.1 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 5 "-" "x" 250000)");
  ASSERT_TRUE(r.ok());
  EXPECT_DOUBLE_EQ(r.rec.latency_s, 0.25);
  // key=value request time, as in many nginx formats.
  r = ParseLine(p, R"(a.example.com 10.0.0.1 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 5 "-" "x" rt=0.010)");
  ASSERT_TRUE(r.ok());
  EXPECT_DOUBLE_EQ(r.rec.latency_s, 0.010);
}

TEST(CombinedParserTest, CommonLogFormatWithoutRefererAndAgent) {
  LineParser p = ParserFor("combined", "www");
  auto r = ParseLine(p, R"(127.0.0.1 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.0" 304 -)");
  ASSERT_TRUE(r.ok()) << RejectReasonName(r.reason);
  EXPECT_EQ(r.rec.status, 304);
}

TEST(CombinedParserTest, HostileLines) {
  LineParser p = ParserFor("combined", "www");
  const std::string ok_tail = R"( "GET / HTTP/1.1" 200 5 "-" "x")";
  EXPECT_EQ(ParseLine(p, "").reason, RejectReason::kEmptyLine);
  EXPECT_EQ(ParseLine(p, "garbage").reason, RejectReason::kMalformedLine);
  EXPECT_EQ(ParseLine(p, "1.2.3.4 - - [17/May/2015:10:05:03 +0000]").reason,
            RejectReason::kMalformedLine);
  EXPECT_EQ(ParseLine(p, "1.2.3.4 - - [yesterday]" + ok_tail).reason, RejectReason::kBadTime);
  EXPECT_EQ(ParseLine(p, R"(1.2.3.4 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 700 5 "-" "x")").reason,
            RejectReason::kBadStatus);
  {
    // A bad optional field keeps the request: counted without its bytes.
    auto r = ParseLine(p, R"(1.2.3.4 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 1.5 "-" "x")");
    EXPECT_EQ(r.reason, RejectReason::kCount);
    EXPECT_TRUE(r.rec.bad_bytes);
    EXPECT_EQ(r.rec.bytes, 0u);
    EXPECT_EQ(r.rec.status, 200);
  }
  EXPECT_EQ(ParseLine(p, R"(1.2.3.4 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1 200 5)").reason,
            RejectReason::kMalformedLine);  // unterminated request
  EXPECT_EQ(ParseLine(p, "1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"GET /\xff HTTP/1.1\" 200 5").reason,
            RejectReason::kInvalidUtf8);
  // A negative request time is a bad latency, as in JSON (it was silently "no latency").
  EXPECT_EQ(ParseLine(p, R"(1.2.3.4 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 5 "-" "x" -3.0)").reason,
            RejectReason::kBadLatency);
  EXPECT_EQ(ParseLine(p, R"(1.2.3.4 - - [30/Feb/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 5 "-" "x")").reason,
            RejectReason::kBadTime);
  EXPECT_EQ(ParseLine(p, R"(1.2.3.4 - - [17/May/2015:10:05:03 +9900] "GET / HTTP/1.1" 200 5 "-" "x")").reason,
            RejectReason::kBadTime);
  LineParser no_default = ParserFor("combined");
  EXPECT_EQ(ParseLine(no_default, "1.2.3.4 - - [17/May/2015:10:05:03 +0000]" + ok_tail).reason,
            RejectReason::kMissingSite);
}

// ../shared/data/apache_combined_2015.log: 10,000 real lines. One of them (line 8899) really is
// cut short (its user agent has no closing quote); every other line parses.
TEST(CombinedParserTest, RealApacheLog) {
  std::ifstream in(SITEPULSE_SHARED_DATA "/apache_combined_2015.log");
  ASSERT_TRUE(in) << "missing ../shared/data/apache_combined_2015.log";
  LineParser p = ParserFor("combined", "www");
  std::string line;
  int n = 0, ok = 0, statuses_5xx = 0;
  std::vector<int> bad_lines;
  while (std::getline(in, line)) {
    ++n;
    auto r = ParseLine(p, line);
    if (r.ok()) {
      ++ok;
      statuses_5xx += r.rec.status >= 500;
      EXPECT_GE(r.rec.time, 1431820800 * kS);  // 17 May 2015
      EXPECT_LT(r.rec.time, 1432166400 * kS);  // 21 May 2015
    } else {
      bad_lines.push_back(n);
      EXPECT_EQ(r.reason, RejectReason::kMalformedLine);
    }
  }
  EXPECT_EQ(n, 10000);
  EXPECT_EQ(ok, 9999);
  EXPECT_EQ(bad_lines, std::vector<int>{8899});
  EXPECT_GT(statuses_5xx, 0);
}

TEST(ErrorTextParserTest, ApacheAndNginx) {
  LineParser p = ParserFor("error_text", "www");
  auto r = ParseLine(p,
      "[Sun May 17 10:05:03.123456 2015] [proxy:error] [pid 1234:tid 5678] [client 1.2.3.4:5] AH00898: Error reading");
  ASSERT_TRUE(r.ok()) << RejectReasonName(r.reason);
  EXPECT_EQ(r.rec.kind, RecordKind::kError);
  EXPECT_EQ(r.rec.level, LogLevel::kError);
  EXPECT_EQ(r.site, "www");
  EXPECT_EQ(r.rec.time, 1431857103 * kS + 123456000);
  r = ParseLine(p, "[Sun May 17 10:05:03 2015] [warn] [client 1.2.3.4] File does not exist");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.rec.level, LogLevel::kWarn);
  r = ParseLine(p,
      "2015/05/17 10:05:03 [crit] 99#0: *7 connect() failed, client: 1.2.3.4, server: shop.example.com, "
      "request: \"GET / HTTP/1.1\", upstream: \"http://10.0.0.2:80/\", host: \"shop.example.com:8443\"");
  ASSERT_TRUE(r.ok()) << RejectReasonName(r.reason);
  EXPECT_EQ(r.rec.level, LogLevel::kCrit);
  EXPECT_EQ(r.site, "shop.example.com");
  r = ParseLine(p, "2015/05/17 10:05:03 [error] 99#0: *7 no host here, server: api.example.com");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.site, "api.example.com");
  EXPECT_EQ(ParseLine(p, "2015/05/17 10:05:03 [shouting] 99#0: x").reason, RejectReason::kBadLevel);
}

// The message, for error-message templates: after the bracketed fields (Apache) or the pid,
// thread and connection numbers (nginx), without the context nginx and Apache append.
TEST(ErrorTextParserTest, MessageWithoutItsContext) {
  LineParser p = ParserFor("error_text", "www");
  auto r = ParseLine(p,
      "[Sun May 17 10:05:03.123456 2015] [proxy:error] [pid 1234:tid 5678] [client 1.2.3.4:5] "
      "AH00898: Error reading from remote server returned by /api, referer: http://x/");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.message, "AH00898: Error reading from remote server returned by /api");
  r = ParseLine(p, "[Sun May 17 10:05:03 2015] [warn] [client 1.2.3.4] File does not exist: /x");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.message, "File does not exist: /x");
  r = ParseLine(p,
      "2015/05/17 10:05:03 [crit] 99#0: *7 connect() failed (111: refused) while connecting to "
      "upstream, client: 1.2.3.4, server: shop.example.com, request: \"GET / HTTP/1.1\"");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.message, "connect() failed (111: refused) while connecting to upstream");
  r = ParseLine(p, "2015/05/17 10:05:03 [emerg] 1#1: bind() to 0.0.0.0:80 failed (98: in use)");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.message, "bind() to 0.0.0.0:80 failed (98: in use)");
}

TEST(ErrorTextParserTest, RejectsWhatIsNotAnErrorLine) {
  LineParser p = ParserFor("error_text", "www");
  EXPECT_EQ(ParseLine(p, "hello").reason, RejectReason::kMalformedLine);
  EXPECT_EQ(ParseLine(p, "[not a time] [error] x").reason, RejectReason::kBadTime);
}

// The indexed path (one SIMD pass over a padded line) and the scanning path (no padding) agree
// on every line: good lines of several shapes, cut at every byte, and with every byte replaced by
// or preceded by a character that matters to the format.
// Both versions of the index pass (AVX-512 where the CPU has it, and AVX2) are held to the
// scanning path.
TEST(CombinedParserTest, IndexedAndScanningPathsAgree) {
  FormatSpec f = *FormatFromPreset("combined");
  f.default_site = "default.example.com";
  CombinedLineParser indexed(f), scanning(f);
  const std::vector<std::string> good = {
      R"(a.example.com:443 10.0.0.1 - - [17/May/2015:10:05:03 +0000] "GET /x HTTP/1.1" 200 5 "-" "curl/8" 0.042)",
      R"(10.0.0.1 - frank [17/May/2015:10:05:03 +0000] "GET / HTTP/1.0" 304 -)",
      R"x(b.example.com 10.0.0.2 - - [17/May/2015:10:05:04 +0000] "POST /a\"b HTTP/1.1" 502 150 "http://r/" "Mozilla (é)" rt=1.5)x",
      R"(c.example.com 10.0.0.3 - - [17/May/2015:10:05:05 -0700] "GET / HTTP/1.1" 200 1 "-" "x" 250000)",
  };
  const std::string specials = std::string("\"\\[] -:.x0\x01\xff");
  std::vector<std::string> corpus;
  for (const std::string& g : good) {
    corpus.push_back(g);
    for (size_t i = 0; i < g.size(); ++i) {
      corpus.push_back(g.substr(0, i));
      for (char c : specials) {
        std::string m = g;
        m[i] = c;
        corpus.push_back(m);
        corpus.push_back(g.substr(0, i) + c + g.substr(i));
      }
    }
  }
  for (bool wide : {true, false}) {
    SCOPED_TRACE(wide ? "AVX-512 pass (if the CPU has it)" : "AVX2 pass");
    SetUseAvx512ForTesting(wide);
    size_t ok = 0;
    for (const std::string& line : corpus) {
      std::string padded = line + std::string(64, '\0');
      ParsedRecord a, b;
      const RejectReason ra = indexed.Parse(padded.data(), line.size(), padded.size(), &a);
      const RejectReason rb = scanning.Parse(line.data(), line.size(), line.size(), &b);
      ASSERT_EQ(static_cast<int>(ra), static_cast<int>(rb)) << line;
      if (ra != RejectReason::kCount) continue;
      ++ok;
      EXPECT_EQ(a.site, b.site) << line;
      EXPECT_EQ(a.time, b.time) << line;
      EXPECT_EQ(a.status, b.status) << line;
      EXPECT_EQ(a.bytes, b.bytes) << line;
      EXPECT_EQ(a.has_latency, b.has_latency) << line;
      EXPECT_EQ(a.latency_s, b.latency_s) << line;
    }
    EXPECT_GT(ok, 2000u);
    EXPECT_GT(corpus.size() - ok, 2000u);
  }
  SetUseAvx512ForTesting(true);
}

}  // namespace
}  // namespace sitepulse
