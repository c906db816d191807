#include "ingest/flat_json_scanner.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "core/cpu_features.h"

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

using Pairs = std::vector<std::pair<std::string, std::string>>;

bool ScanPairs(FlatJsonScanner& s, const std::string& line, Pairs* out) {
  const std::string buf = Padded(line);
  out->clear();
  return s.Scan(buf.data(), line.size(), [&](std::string_view k, const FlatValue& v) {
    out->emplace_back(std::string(k), std::string(v.text));
    return true;
  });
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

class FlatJsonScannerTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override { SetUseAvx512ForTesting(GetParam()); }
  void TearDown() override { SetUseAvx512ForTesting(true); }
};

// The escape in the user agent sends the line away; without it the line is flat and every
// member comes back, in order, with its exact bytes.
TEST_P(FlatJsonScannerTest, ScansEveryMemberOfALongLine) {
  FlatJsonScanner s;
  Pairs got;
  EXPECT_FALSE(ScanPairs(s, kLine, &got)) << "a backslash is simdjson's business";
  const std::string line = Replaced(kLine, "\\u00e9", "e");
  Pairs want = kPairs;
  want.back().second = "Mozilla/5.0 (X11; Linux x86_64) cafe \xc3\xa9t\xc3\xa9";
  ASSERT_TRUE(ScanPairs(s, line, &got));
  EXPECT_EQ(got, want);
}

// The learned template matches a line of the same shape with other values (a line whose values
// move every quote to another block) and reports those values.
TEST_P(FlatJsonScannerTest, MatchesALearnedShapeWithOtherValues) {
  const std::string first = Replaced(kLine, "\\u00e9", "e");
  FlatJsonScanner s;
  Pairs got;
  ASSERT_TRUE(ScanPairs(s, first, &got));
  ASSERT_TRUE(s.Learn(Padded(first).data()));

  const std::string second =
      Replaced(Replaced(first, "site-00040.example.com", "a-much-longer-site-name-00041.example.com"),
               "46431", "7");
  const std::string buf = Padded(second);
  FlatValue slots[FlatJsonScanner::kMaxMembers];
  ASSERT_TRUE(s.MatchValues(buf.data(), second.size(), slots));
  // Every string and number value, in order; "true" is part of the template.
  std::vector<std::string> want;
  for (const auto& [key, value] : kPairs) {
    if (value != "true") want.push_back(value);
  }
  want[2] = "a-much-longer-site-name-00041.example.com";
  want[5] = "7";
  want[7] = "Mozilla/5.0 (X11; Linux x86_64) cafe \xc3\xa9t\xc3\xa9";
  ASSERT_EQ(s.num_slots(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(slots[i].text, want[i]) << i;
  EXPECT_EQ(slots[5].type, FlatValue::kNumber);
  EXPECT_EQ(slots[4].type, FlatValue::kString);
  // A change in a key, or in the quote or colon after it, is another shape.
  int changes = 0;
  for (const auto& [key, value] : kPairs) {
    const size_t at = second.find("\"" + key + "\":");
    ASSERT_NE(at, std::string::npos) << key;
    for (size_t i = at + 1; i <= at + key.size() + 2; ++i) {
      std::string changed = second;
      changed[i] = 'Q';
      const std::string cbuf = Padded(changed);
      EXPECT_FALSE(s.MatchValues(cbuf.data(), changed.size(), slots)) << "byte " << i << ": " << changed;
      ++changes;
    }
  }
  EXPECT_GT(changes, 100);
}

// A backslash, a control character or a stray quote anywhere in the line (every block, every
// position inside a value) keeps the line off the fast path; invalid UTF-8 too.
TEST_P(FlatJsonScannerTest, RefusesABadByteAtEveryPosition) {
  const std::string line = Replaced(kLine, "\\u00e9", "e");
  FlatJsonScanner s;
  Pairs got;
  ASSERT_TRUE(ScanPairs(s, line, &got));
  int refused = 0;
  for (size_t i = 1; i + 1 < line.size(); ++i) {
    for (char c : {'\\', '\x01', '\x1f', '\t'}) {
      std::string bad = line;
      bad[i] = c;
      EXPECT_FALSE(ScanPairs(s, bad, &got)) << "byte " << static_cast<int>(c) << " at " << i;
      ++refused;
    }
  }
  EXPECT_GT(refused, 4 * 250);
  const std::string bad_utf8 = Replaced(line, "\xc3\xa9t", "\xff\xa9t");
  EXPECT_FALSE(ScanPairs(s, bad_utf8, &got));
}

INSTANTIATE_TEST_SUITE_P(BothPasses, FlatJsonScannerTest, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? std::string("Avx512IfPresent") : std::string("Avx2");
                         });

}  // namespace
}  // namespace sitepulse
