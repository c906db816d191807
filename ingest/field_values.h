// Conversions shared by the JSON and text parsers: status codes, latencies with units, byte
// counts, written as numbers or as strings ("200", "0.123", "-").
#pragma once

#include <cmath>
#include <cstdint>
#include <string_view>

#include "ingest/format.h"

namespace sitepulse {

inline constexpr double kMaxLatencySeconds = 1e6;  // beyond: bad_latency, not a sample

bool StatusFromString(std::string_view s, uint16_t* out);
inline bool StatusFromNumber(uint64_t v, uint16_t* out) {
  if (v < 100 || v > 599) return false;
  *out = static_cast<uint16_t>(v);
  return true;
}
// Accepts decimal numbers; returns false for anything else (including negatives).
bool DecimalFromString(std::string_view s, double* out);
bool DecimalFromStringSlow(std::string_view s, double* out, bool* had_point);
// mantissa / 10^frac_digits correctly rounded, for a mantissa above 2^53 (a double cannot hold
// it): one division in x87 extended precision (64-bit significand, both operands exact), then
// rounded to double; false in the rare case that double rounding could be wrong (the extended
// result is exactly halfway between two doubles) or off x86-64.
bool DecimalFromWideMantissa(uint64_t mantissa, int frac_digits, double* out);
// The same; *had_point tells whether it was written with a decimal point.
inline bool DecimalFromString(std::string_view s, double* out, bool* had_point) {
  // Fast path for the usual "123" / "0.123" / "1735689600.000074" (Caddy's ts): an integer
  // mantissa of at most 2^53 (exact in a double) divided by an exact power of ten is correctly
  // rounded (one IEEE division), so it equals what from_chars gives. Up to 19 digits
  // ("1735689600.0000737", Go's shortest float for epoch seconds) the wide path.
  static constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8, 1e9,
                                      1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18};
  if (s.empty() || s.size() > 20) return DecimalFromStringSlow(s, out, had_point);
  uint64_t mantissa = 0;
  int digits = 0, frac_digits = -1;
  for (char c : s) {
    if (c >= '0' && c <= '9') {
      mantissa = mantissa * 10 + static_cast<uint64_t>(c - '0');
      ++digits;
      if (frac_digits >= 0) ++frac_digits;
    } else if (c == '.' && frac_digits < 0) {
      frac_digits = 0;
    } else {
      return DecimalFromStringSlow(s, out, had_point);
    }
  }
  if (digits == 0 || digits > 19 || frac_digits == 0) return DecimalFromStringSlow(s, out, had_point);
  const int frac = frac_digits < 0 ? 0 : frac_digits;
  *had_point = frac_digits > 0;
  if (mantissa <= (uint64_t{1} << 53)) {
    *out = static_cast<double>(mantissa) / kPow10[frac];
    return true;
  }
  if (DecimalFromWideMantissa(mantissa, frac, out)) return true;
  return DecimalFromStringSlow(s, out, had_point);
}
inline bool UnsignedFromString(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}
// The same two conversions for a value with at least 8 readable bytes from s.data() (a value
// inside a padded line): up to 8 characters are checked and converted in one 64-bit word, with
// no loop over the digits (the method of simdjson and fast_float). Same results as above.
namespace swar {
inline constexpr uint64_t kZeros = 0x3030303030303030ull;
// True if each of the 8 bytes of w is an ASCII digit.
inline bool AllDigits(uint64_t w) {
  return (((w + 0x4646464646464646ull) | (w - kZeros)) & 0x8080808080808080ull) == 0;
}
// The value of 8 ASCII digits, the first (most significant) in the lowest byte.
inline uint64_t EightDigits(uint64_t w) {
  w -= kZeros;
  w = (w * 10) + (w >> 8);
  return (((w & 0x000000FF000000FFull) * (100 + (1000000ull << 32))) +
          (((w >> 16) & 0x000000FF000000FFull) * (1 + (10000ull << 32)))) >>
         32;
}
// The first n (1..8) bytes of w as a number, if they are all digits: the bytes are moved up and
// the word filled from below with '0's (leading zeros do not change the value).
inline bool Digits(uint64_t w, size_t n, uint64_t* out) {
  if (n < 8) {
    const unsigned shift = static_cast<unsigned>(8 * (8 - n));
    w = (w << shift) | (kZeros >> (64 - shift));
  }
  if (!AllDigits(w)) return false;
  *out = EightDigits(w);
  return true;
}
inline uint64_t Load8(const char* p) {
  uint64_t w;
  __builtin_memcpy(&w, p, sizeof(w));
  return w;
}
}  // namespace swar

inline bool UnsignedFromPadded(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 8) return UnsignedFromString(s, out);
  return swar::Digits(swar::Load8(s.data()), s.size(), out);
}

inline bool DecimalFromPadded(std::string_view s, double* out, bool* had_point) {
  static constexpr double kPow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7};
  const size_t n = s.size();
  if (n < 2 || n > 8) return DecimalFromString(s, out, had_point);
  const uint64_t w = swar::Load8(s.data());
  // Bytes equal to '.' among the first n: the classic "has a zero byte" test on w ^ "........".
  const uint64_t x = w ^ 0x2E2E2E2E2E2E2E2Eull;
  uint64_t dots = (x - 0x0101010101010101ull) & ~x & 0x8080808080808080ull;
  dots &= n == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * n)) - 1;
  uint64_t mantissa;
  if (dots == 0) {
    if (!swar::Digits(w, n, &mantissa)) return DecimalFromString(s, out, had_point);
    *out = static_cast<double>(mantissa);
    *had_point = false;
    return true;
  }
  // The lowest flagged byte is the first '.' (a borrow can only flag bytes above it); the
  // digits around it are joined into one word. A second '.' fails the digit check.
  const size_t d = static_cast<size_t>(__builtin_ctzll(dots)) / 8;
  const size_t frac = n - d - 1;
  if (frac == 0) return DecimalFromString(s, out, had_point);  // "12.": the slow path decides
  const uint64_t below = d == 0 ? 0 : w & ((uint64_t{1} << (8 * d)) - 1);
  const uint64_t joined = below | ((w >> (8 * (d + 1))) << (8 * d));
  if (!swar::Digits(joined, n - 1, &mantissa)) return DecimalFromString(s, out, had_point);
  *out = static_cast<double>(mantissa) / kPow10[frac];
  *had_point = true;
  return true;
}

// Converts a latency in `unit` to seconds; false if negative, non-finite or absurd. kAuto treats
// a value written with a decimal point as seconds and an integer as microseconds (Apache %D).
inline bool LatencyToSeconds(double v, LatencyUnit unit, bool had_decimal_point, double* seconds) {
  if (!std::isfinite(v) || v < 0) return false;
  switch (unit) {
    case LatencyUnit::kAuto: v = had_decimal_point ? v : v * 1e-6; break;
    case LatencyUnit::kSeconds: break;
    case LatencyUnit::kMillis: v *= 1e-3; break;
    case LatencyUnit::kMicros: v *= 1e-6; break;
    case LatencyUnit::kNanos: v *= 1e-9; break;
  }
  if (v > kMaxLatencySeconds) return false;
  *seconds = v;
  return true;
}
// A site name must be non-empty, short, and free of control characters, spaces, quotes and
// backslashes.
bool IsValidSite(std::string_view s, size_t max_bytes);
// The same, for a name followed by at least 32 readable bytes (a line in a padded buffer).
bool IsValidSitePadded(std::string_view s, size_t max_bytes);
// The same, for a string value of a line JsonShapeScanner indexed (no control characters
// anywhere in it, no unescaped quote inside a string): only spaces and DEL are left to rule out,
// and backslashes where the line had any (the caller checks).
bool IsValidFlatSite(std::string_view s, size_t max_bytes);

}  // namespace sitepulse
