#include "ingest/field_values.h"

#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <random>
#include <string>

namespace sitepulse {
namespace {

// The inline decimal conversion (mantissa / power of ten, in extended precision above 2^53)
// gives exactly what from_chars gives, to the bit, for the numbers logs hold: up to 19 digits,
// epoch seconds with micro- and nanoseconds (Caddy's ts as Go writes it), mantissas on both sides
// of 2^53, and values exactly halfway between two doubles (where the wide path must give up).
TEST(FieldValuesTest, DecimalFastPathEqualsFromChars) {
  std::mt19937_64 rng(7);
  size_t fast = 0, wide = 0;
  for (int i = 0; i < 400000; ++i) {
    std::string s;
    const size_t digits = 1 + rng() % 19;
    for (size_t k = 0; k < digits; ++k) s += static_cast<char>('0' + rng() % 10);
    if (rng() % 4 != 0) {
      const size_t at = 1 + rng() % s.size();
      s = s.substr(0, at) + "." + s.substr(at);
    }
    if (i % 3 == 0) s = "17356896" + std::to_string(rng() % 100) + "." + std::to_string(rng() % 1000000);
    if (i % 7 == 0) s = std::to_string((uint64_t{1} << 53) - 2 + rng() % 5) + (rng() % 2 ? "" : ".0");
    if (i % 5 == 0) {  // Go's shortest float for epoch seconds: 16 to 19 digits
      char buf[40];
      const double ts = 1.7e9 + static_cast<double>(rng() % 100000000) / 1000.0 +
                        static_cast<double>(rng() % 1000000) / 1e9;
      const auto r = std::to_chars(buf, buf + sizeof(buf), ts);
      s.assign(buf, r.ptr);
    }
    if (i % 11 == 0) {
      // Exactly halfway between two doubles: 2^54 + 2 (odd multiple of the spacing 4 / 2), as an
      // integer and scaled by powers of ten that keep it exact.
      s = std::to_string((uint64_t{1} << 54) + 2 + 4 * (rng() % 1000));
    }
    double a = -1, b = -1;
    bool pa = false, pb = false;
    const bool ra = DecimalFromString(s, &a, &pa);
    const bool rb = DecimalFromStringSlow(s, &b, &pb);
    ASSERT_EQ(ra, rb) << s;
    if (!ra) continue;
    ASSERT_EQ(std::memcmp(&a, &b, sizeof(a)), 0) << s << " " << a << " vs " << b;
    ASSERT_EQ(pa, pb) << s;
    fast += s.size() <= 20;
    uint64_t m = 0;
    for (char c : s) {
      if (c != '.') m = m * 10 + static_cast<uint64_t>(c - '0');
    }
    wide += s.size() <= 20 && m > (uint64_t{1} << 53);
  }
  EXPECT_GT(fast, 300000u);
  EXPECT_GT(wide, 50000u);
}

// Where a mantissa above 2^53 divided in extended precision lands exactly halfway between two
// doubles, rounding that result to double can be wrong (the extended rounding already moved the
// value onto the tie): the wide path must give up there, and the conversion still equal
// from_chars. Random 19-digit decimals find such cases, including ones where the plain double
// rounding is wrong (so the check is needed, not decoration).
TEST(FieldValuesTest, WideMantissaGivesUpWhereDoubleRoundingWouldErr) {
  std::mt19937_64 rng(19);
  size_t ties = 0, naive_wrong = 0;
  for (int i = 0; i < 2000000 && naive_wrong < 20; ++i) {
    const uint64_t m = (uint64_t{1} << 53) + rng() % (uint64_t{9} * 1000000000000000000ull);
    const int frac = 1 + static_cast<int>(rng() % 18);
    long double p = 1;
    for (int k = 0; k < frac; ++k) p *= 10;
    const long double q = static_cast<long double>(m) / p;
    const double d = static_cast<double>(q);
    if (static_cast<long double>(d) == q) continue;
    const double other = q > d ? std::nextafter(d, HUGE_VAL) : std::nextafter(d, -HUGE_VAL);
    if (q != (static_cast<long double>(d) + static_cast<long double>(other)) / 2) continue;
    ++ties;
    const std::string digits = std::to_string(m);
    const size_t point = digits.size() - static_cast<size_t>(frac);
    const std::string s = (point == 0 ? std::string("0") : digits.substr(0, point)) + "." +
                          digits.substr(point);
    double want = 0, got = 0, wide = 0;
    bool pa, pb;
    ASSERT_TRUE(DecimalFromStringSlow(s, &want, &pa)) << s;
    EXPECT_FALSE(DecimalFromWideMantissa(m, frac, &wide)) << s;
    ASSERT_TRUE(DecimalFromString(s, &got, &pb)) << s;
    ASSERT_EQ(std::memcmp(&got, &want, sizeof(got)), 0) << s;
    naive_wrong += d != want;
  }
  EXPECT_GT(ties, 20u);
  EXPECT_GT(naive_wrong, 0u);
}

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
