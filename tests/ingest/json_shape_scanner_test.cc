#include "ingest/json_shape_scanner.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "core/cpu_features.h"
#include "simdjson.h"

namespace sitepulse {
namespace {

// The scanner reads up to 32 bytes past a line; tests give it 64 zeros.
std::string Padded(const std::string& line) { return line + std::string(64, '\0'); }

// s with the first `from` replaced by `to` (which must be there).
std::string Replaced(const std::string& s, const std::string& from, const std::string& to) {
  const size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return at == std::string::npos ? s : s.substr(0, at) + to + s.substr(at + from.size());
}

// (path, value) per scalar: the path is the keys of the open objects joined by '.', "[]" for an
// array element.
using Pairs = std::vector<std::pair<std::string, std::string>>;

struct Recorder {
  Pairs* out;
  std::vector<std::string> path;
  std::string Join(std::string_view key) const {
    std::string s;
    for (const std::string& p : path) s += p + ".";
    return s + (key.empty() ? std::string("[]") : std::string(key));
  }
  bool Open(std::string_view key, bool array) {
    path.push_back(key.empty() ? "[]" : std::string(key) + (array ? "[]" : ""));
    return true;
  }
  void Close() { path.pop_back(); }
  bool Scalar(std::string_view key, const ScalarValue& v, size_t) {
    out->emplace_back(Join(key), std::string(v.text));
    return true;
  }
};

bool ScanPairs(JsonShapeScanner& s, const std::string& line, Pairs* out) {
  const std::string buf = Padded(line);
  out->clear();
  Recorder r{out, {}};
  const bool ok = s.Scan(buf.data(), line.size(), r);
  if (ok) {
    EXPECT_TRUE(r.path.empty()) << line;
  }
  return ok;
}

// simdjson's DOM parser: the whole document parsed and every string unescaped.
bool ValidJson(const std::string& line) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  return parser.parse(line).get(doc) == simdjson::SUCCESS && doc.is_object();
}

// A line long enough that its quotes fall in several 32- and 64-byte blocks, and its values
// straddle block edges.
const char kLine[] =
    R"({"time_iso8601":"2025-01-01T00:00:00.000Z","remote_addr":"10.86.16.215",)"
    R"("host":"site-00040.example.com","request":"GET /api/v1/items?id=42 HTTP/1.1",)"
    R"("status":"200","body_bytes_sent":46431,"request_time":"0.047","ok":true,)"
    "\"http_user_agent\":\"Mozilla/5.0 (X11; Linux x86_64) caf\\u00e9 \xc3\xa9t\xc3\xa9\"}";

const Pairs kPairs = {{"time_iso8601", "2025-01-01T00:00:00.000Z"},
                      {"remote_addr", "10.86.16.215"},
                      {"host", "site-00040.example.com"},
                      {"request", "GET /api/v1/items?id=42 HTTP/1.1"},
                      {"status", "200"},
                      {"body_bytes_sent", "46431"},
                      {"request_time", "0.047"},
                      {"ok", "true"},
                      {"http_user_agent", "Mozilla/5.0 (X11; Linux x86_64) caf\\u00e9 \xc3\xa9t\xc3\xa9"}};

// Caddy's access log as it writes it: the request nested, headers as arrays, an escaped quote
// in a response header (Alt-Svc), numbers and a literal.
const char kCaddy[] =
    R"({"level":"info","ts":1735689600.000074,"logger":"http.log.access","msg":"handled request",)"
    R"("request":{"remote_ip":"10.0.149.220","remote_port":"53412","proto":"HTTP/2.0","method":"GET",)"
    R"("host":"shop.example.com","uri":"/cart","headers":{"User-Agent":["curl/8.5.0"],)"
    R"("Accept":["*/*"]},"tls":{"resumed":false,"version":772,"server_name":"shop.example.com"}},)"
    R"("bytes_read":0,"user_id":"","duration":0.044096,"size":16706,"status":200,)"
    R"("resp_headers":{"Server":["Caddy"],"Alt-Svc":["h3=\":443\"; ma=2592000"],"Vary":[]}})";

class JsonShapeScannerTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override { SetUseAvx512ForTesting(GetParam()); }
  void TearDown() override { SetUseAvx512ForTesting(true); }
};

// Every value of a flat line comes back, in order, with its exact (raw) bytes.
TEST_P(JsonShapeScannerTest, ScansEveryMemberOfALongLine) {
  JsonShapeScanner s;
  Pairs got;
  ASSERT_TRUE(ScanPairs(s, kLine, &got));
  EXPECT_EQ(got, kPairs);
  EXPECT_TRUE(s.had_escapes());
  const std::string plain = Replaced(kLine, "\\u00e9", "e");
  ASSERT_TRUE(ScanPairs(s, plain, &got));
  EXPECT_FALSE(s.had_escapes());
}

// Nested objects and arrays: every scalar with its path; an escaped quote is part of a string.
TEST_P(JsonShapeScannerTest, ScansNestedObjectsArraysAndEscapes) {
  JsonShapeScanner s;
  Pairs got;
  ASSERT_TRUE(ScanPairs(s, kCaddy, &got));
  const Pairs want = {{"level", "info"},
                      {"ts", "1735689600.000074"},
                      {"logger", "http.log.access"},
                      {"msg", "handled request"},
                      {"request.remote_ip", "10.0.149.220"},
                      {"request.remote_port", "53412"},
                      {"request.proto", "HTTP/2.0"},
                      {"request.method", "GET"},
                      {"request.host", "shop.example.com"},
                      {"request.uri", "/cart"},
                      {"request.headers.User-Agent[].[]", "curl/8.5.0"},
                      {"request.headers.Accept[].[]", "*/*"},
                      {"request.tls.resumed", "false"},
                      {"request.tls.version", "772"},
                      {"request.tls.server_name", "shop.example.com"},
                      {"bytes_read", "0"},
                      {"user_id", ""},
                      {"duration", "0.044096"},
                      {"size", "16706"},
                      {"status", "200"},
                      {"resp_headers.Server[].[]", "Caddy"},
                      {"resp_headers.Alt-Svc[].[]", R"(h3=\":443\"; ma=2592000)"}};
  EXPECT_EQ(got, want);
  // Arrays of arrays, objects in arrays, empty containers, spaces everywhere JSON allows them.
  ASSERT_TRUE(ScanPairs(s, R"( { "a" : [ [ 1 , { "b" : null } ] , [ ] , { } ] , "c" : { } } )", &got));
  EXPECT_EQ(got, (Pairs{{"a[].[].[]", "1"}, {"a[].[].[].b", "null"}}));
  // Too deep for the walk: simdjson's.
  std::string deep = R"({"a":)";
  for (size_t i = 0; i < JsonShapeScanner::kMaxDepth; ++i) deep += "[";
  deep += "1";
  for (size_t i = 0; i < JsonShapeScanner::kMaxDepth; ++i) deep += "]";
  deep += "}";
  EXPECT_FALSE(ScanPairs(s, deep, &got));
  ASSERT_TRUE(ValidJson(deep));
}

// The learned shape matches a line of the same shape with other values (a line whose values
// move every quote to another block) and reports those values.
TEST_P(JsonShapeScannerTest, MatchesALearnedShapeWithOtherValues) {
  const std::string first = kLine;
  JsonShapeScanner s;
  Pairs got;
  ASSERT_TRUE(ScanPairs(s, first, &got));
  const int learned = s.Learn(Padded(first).data());
  ASSERT_GE(learned, 0);

  const std::string second =
      Replaced(Replaced(Replaced(first, "site-00040.example.com", "a-much-longer-site-name-00041.example.com"),
                        "46431", "7"),
               "caf\\u00e9", "cafe");
  const std::string buf = Padded(second);
  ScalarValue slots[JsonShapeScanner::kMaxMembers];
  int shape = -1;
  ASSERT_TRUE(s.MatchValues(buf.data(), second.size(), slots, &shape));
  EXPECT_EQ(shape, learned);
  // Every string and number value, in order; "true" is part of the shape.
  std::vector<std::string> want;
  for (const auto& [key, value] : kPairs) {
    if (value != "true") want.push_back(value);
  }
  want[2] = "a-much-longer-site-name-00041.example.com";
  want[5] = "7";
  want[7] = "Mozilla/5.0 (X11; Linux x86_64) cafe \xc3\xa9t\xc3\xa9";
  ASSERT_EQ(s.num_slots(shape), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(slots[i].text, want[i]) << i;
  EXPECT_EQ(slots[5].type, ScalarValue::kNumber);
  EXPECT_EQ(slots[4].type, ScalarValue::kString);
  // A change in a key, or in the quote or colon after it, is another shape.
  int changes = 0;
  for (const auto& [key, value] : kPairs) {
    const size_t at = second.find("\"" + key + "\":");
    ASSERT_NE(at, std::string::npos) << key;
    for (size_t i = at + 1; i <= at + key.size() + 2; ++i) {
      std::string changed = second;
      changed[i] = 'Q';
      const std::string cbuf = Padded(changed);
      EXPECT_FALSE(s.MatchValues(cbuf.data(), changed.size(), slots, &shape)) << "byte " << i << ": " << changed;
      ++changes;
    }
  }
  EXPECT_GT(changes, 100);
}

// Several shapes are kept, the most recently matched tried first; a ninth evicts the one matched
// longest ago.
TEST_P(JsonShapeScannerTest, KeepsSeveralShapes) {
  JsonShapeScanner s;
  Pairs got;
  ScalarValue slots[JsonShapeScanner::kMaxMembers];
  auto variant = [](size_t k) {  // k extra headers: another shape each
    std::string headers;
    for (size_t i = 0; i < k; ++i) headers += R"(,"X-H)" + std::to_string(i) + R"(":["v"])";
    return Replaced(kCaddy, R"("Accept":["*/*"])", R"("Accept":["*/*"])" + headers);
  };
  std::vector<int> learned;
  for (size_t k = 0; k < JsonShapeScanner::kMaxShapes; ++k) {
    ASSERT_TRUE(ScanPairs(s, variant(k), &got));
    learned.push_back(s.Learn(Padded(variant(k)).data()));
  }
  for (size_t k = 0; k < JsonShapeScanner::kMaxShapes; ++k) {
    const std::string line = Replaced(variant(k), "shop.example.com\",\"uri", "api.example.com\",\"uri");
    const std::string buf = Padded(line);  // the values point into it
    int shape = -1;
    ASSERT_TRUE(s.MatchValues(buf.data(), line.size(), slots, &shape)) << k;
    EXPECT_EQ(shape, learned[k]);
    EXPECT_EQ(slots[8].text, "api.example.com");
  }
  // Shape 0 was matched longest ago: a ninth shape takes its place.
  const std::string ninth = variant(JsonShapeScanner::kMaxShapes);
  ASSERT_TRUE(ScanPairs(s, ninth, &got));
  EXPECT_EQ(s.Learn(Padded(ninth).data()), learned[0]);
  int shape = -1;
  EXPECT_FALSE(s.MatchValues(Padded(variant(0)).data(), variant(0).size(), slots, &shape));
  EXPECT_TRUE(s.MatchValues(Padded(variant(1)).data(), variant(1).size(), slots, &shape));
  EXPECT_TRUE(s.MatchValues(Padded(ninth).data(), ninth.size(), slots, &shape));
}

// One changed or inserted byte anywhere (every block, every position inside a value): the
// scanner accepts the line only if it is valid JSON (simdjson's DOM parser, which unescapes every
// string, says so), and a line of the learned shape that it matches is valid too.
TEST_P(JsonShapeScannerTest, AcceptsOnlyValidJsonAtEveryPosition) {
  for (const std::string& line : {std::string(kLine), std::string(kCaddy)}) {
    JsonShapeScanner s;
    Pairs got;
    ASSERT_TRUE(ScanPairs(s, line, &got));
    ASSERT_GE(s.Learn(Padded(line).data()), 0);
    ScalarValue slots[JsonShapeScanner::kMaxMembers];
    int accepted = 0, refused = 0;
    for (size_t i = 0; i < line.size(); ++i) {
      for (char c : {'\\', '"', '\x01', '\x1f', '\t', 'u', '/', '0', '{', ']', ',', ':', '\xff'}) {
        for (const std::string& bad : {line.substr(0, i) + c + line.substr(i + 1),
                                       line.substr(0, i) + c + line.substr(i)}) {
          const bool valid = ValidJson(bad);
          JsonShapeScanner fresh;
          const bool scanned = ScanPairs(fresh, bad, &got);
          if (scanned) {
            EXPECT_TRUE(valid) << "accepted invalid JSON: " << bad;
          } else if (c != '\t') {  // tabs are valid JSON the scanner leaves to simdjson
            EXPECT_FALSE(valid && bad.find('\t') == std::string::npos && bad.size() < 4096)
                << "refused valid JSON: " << bad;
          }
          int shape = -1;
          if (s.MatchValues(Padded(bad).data(), bad.size(), slots, &shape)) {
            EXPECT_TRUE(valid) << "matched invalid JSON: " << bad;
          }
          (scanned ? accepted : refused)++;
        }
      }
    }
    EXPECT_GT(accepted, 500);
    EXPECT_GT(refused, 3000);
  }
}

INSTANTIATE_TEST_SUITE_P(BothPasses, JsonShapeScannerTest, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? std::string("Avx512IfPresent") : std::string("Avx2");
                         });

}  // namespace
}  // namespace sitepulse
