#include "ingest/field_values.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>

namespace sitepulse {
namespace {

// The padded conversions (8 bytes at a time) give exactly what the scanning ones give: the same
// verdict, the same value to the bit, the same "had a decimal point", whatever follows the value
// in the buffer (digits and dots included).
TEST(FieldValuesTest, PaddedConversionsAgreeWithScanningOnes) {
  std::mt19937_64 rng(11);
  const std::string alphabet = "0123456789..........-+eE x\xff/";
  const std::string padding_chars("0123456789. \"\0", 14);
  size_t decimals_ok = 0, unsigned_ok = 0, total = 0;
  auto check = [&](const std::string& s) {
    char buf[64];
    std::memcpy(buf, s.data(), s.size());
    for (size_t i = s.size(); i < sizeof(buf); ++i) {
      buf[i] = padding_chars[rng() % padding_chars.size()];
    }
    const std::string_view v(buf, s.size());
    double a = -1, b = -1;
    bool pa = false, pb = false;
    const bool ra = DecimalFromPadded(v, &a, &pa);
    const bool rb = DecimalFromString(s, &b, &pb);
    ASSERT_EQ(ra, rb) << "'" << s << "'";
    if (ra) {
      ++decimals_ok;
      ASSERT_EQ(std::memcmp(&a, &b, sizeof(a)), 0) << "'" << s << "' " << a << " vs " << b;
      ASSERT_EQ(pa, pb) << "'" << s << "'";
    }
    uint64_t ua = 1, ub = 2;
    const bool qa = UnsignedFromPadded(v, &ua);
    const bool qb = UnsignedFromString(s, &ub);
    ASSERT_EQ(qa, qb) << "'" << s << "'";
    if (qa) {
      ++unsigned_ok;
      ASSERT_EQ(ua, ub) << "'" << s << "'";
    }
    ++total;
  };
  // Every string of up to 3 characters from a small alphabet, then random ones up to 12.
  const std::string small = "09.-x";
  for (size_t n = 0; n <= 3; ++n) {
    size_t count = 1;
    for (size_t i = 0; i < n; ++i) count *= small.size();
    for (size_t k = 0; k < count; ++k) {
      std::string s;
      for (size_t i = 0, x = k; i < n; ++i, x /= small.size()) s += small[x % small.size()];
      check(s);
    }
  }
  for (int i = 0; i < 200000; ++i) {
    const size_t n = rng() % 13;
    std::string s;
    const bool digits_only = rng() % 3 == 0;
    for (size_t k = 0; k < n; ++k) {
      s += digits_only ? static_cast<char>('0' + rng() % 10) : alphabet[rng() % alphabet.size()];
    }
    if (rng() % 4 == 0 && n > 1) s[rng() % n] = '.';
    check(s);
  }
  // Typical values and the edges of the word.
  for (const char* s : {"0.047", "12.5", ".5", "5.", "00000000", "99999999", "9999999.9",
                        "0.000001", "1.2.3", "46431", "12345678", "123456789", "0", "-"}) {
    check(s);
  }
  EXPECT_GT(decimals_ok, 20000u) << total;
  EXPECT_GT(unsigned_ok, 20000u) << total;
}

}  // namespace
}  // namespace sitepulse
