// Conversions shared by the JSON and text parsers: status codes, latencies with units, byte
// counts, written as numbers or as strings ("200", "0.123", "-").
#pragma once

#include <cstdint>
#include <string_view>

#include "ingest/format.h"

namespace sitepulse {

inline constexpr double kMaxLatencySeconds = 1e6;  // beyond: bad_latency, not a sample

bool StatusFromString(std::string_view s, uint16_t* out);
bool StatusFromNumber(uint64_t v, uint16_t* out);
// Accepts decimal numbers; returns false for anything else (including negatives).
bool DecimalFromString(std::string_view s, double* out);
// The same; *had_point tells whether it was written with a decimal point.
bool DecimalFromString(std::string_view s, double* out, bool* had_point);
bool UnsignedFromString(std::string_view s, uint64_t* out);
// Converts a latency in `unit` to seconds; false if negative, non-finite or absurd. kAuto treats
// a value written with a decimal point as seconds and an integer as microseconds (Apache %D).
bool LatencyToSeconds(double v, LatencyUnit unit, bool had_decimal_point, double* seconds);
// A site name must be non-empty, short, and free of control characters, spaces, quotes and
// backslashes.
bool IsValidSite(std::string_view s, size_t max_bytes);
// The same, for a name followed by at least 32 readable bytes (a line in a padded buffer).
bool IsValidSitePadded(std::string_view s, size_t max_bytes);

}  // namespace sitepulse
