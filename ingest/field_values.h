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
// The same; *had_point tells whether it was written with a decimal point.
inline bool DecimalFromString(std::string_view s, double* out, bool* had_point) {
  // Fast path for the usual "123" / "0.123": an integer mantissa of at most 15 digits divided by
  // an exact power of ten is correctly rounded, so it equals what from_chars gives.
  static constexpr double kPow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7,
                                      1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
  if (s.empty() || s.size() > 16) return DecimalFromStringSlow(s, out, had_point);
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
  if (digits == 0 || digits > 15 || frac_digits == 0) return DecimalFromStringSlow(s, out, had_point);
  *out = static_cast<double>(mantissa) / kPow10[frac_digits < 0 ? 0 : frac_digits];
  *had_point = frac_digits > 0;
  return true;
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
// The same, for a name inside a line FlatJsonScanner indexed (no control characters, quotes or
// backslashes anywhere in it): only spaces and DEL are left to rule out.
bool IsValidFlatSite(std::string_view s, size_t max_bytes);

}  // namespace sitepulse
