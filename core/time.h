// Event time: nanoseconds since the Unix epoch (UTC) as a plain int64, plus the parsers for the
// timestamp spellings found in web logs (RFC 3339, nginx/Apache time_local, epoch numbers) and the
// RFC 3339 formatter used by every JSON output. Parsers never allocate and never throw.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sitepulse {

using EventTime = int64_t;  // ns since 1970-01-01T00:00:00Z
using DurationNs = int64_t;

inline constexpr int64_t kNanosPerSecond = 1'000'000'000;

// Unit of an epoch number in a log line. kAuto guesses by magnitude: below 1e11 seconds, below
// 1e14 milliseconds, below 1e17 microseconds, otherwise nanoseconds (good from 1973 to 5138).
enum class EpochUnit { kAuto, kSeconds, kMillis, kMicros, kNanos };

// Days since the epoch for a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d);

// Remembers the last civil date converted, so parsing a stream of timestamps of the same day skips
// the calendar arithmetic. One per parser (not thread-safe); optional everywhere.
struct DateCache {
  int64_t key = -1;  // y * 10000 + m * 100 + d
  int64_t days = 0;
  // RFC 3339: the last "YYYY-MM-DDTHH:MM:" seen, validated, and its seconds since the epoch;
  // lines of the same minute then parse only their seconds, fraction and offset.
  // (time_local: "dd/Mon/yyyy:HH:MM:", 18 bytes, tagged apart.)
  char minute[18] = {};
  int64_t minute_secs = 0;
  uint8_t minute_format = 0;  // 0: none, 1: RFC 3339, 2: time_local
};

// "2024-01-15T10:20:30Z", "2024-01-15T10:20:30.123456+01:00", "2024-01-15 10:20:30.5Z" (space
// separator accepted). Returns false on anything else.
bool ParseRfc3339(std::string_view s, EventTime* out, DateCache* cache = nullptr);

// nginx $time_local / Apache %t: "17/May/2015:10:05:03 +0000" (brackets already stripped).
bool ParseTimeLocal(std::string_view s, EventTime* out, DateCache* cache = nullptr);

// Apache error log: "Wed Oct 11 14:32:52.123456 2000" or without the fraction. Taken as UTC.
bool ParseApacheErrorTime(std::string_view s, EventTime* out);

// nginx error log: "2024/01/15 10:20:30". Taken as UTC.
bool ParseNginxErrorTime(std::string_view s, EventTime* out);

// Epoch number to event time. Returns false for negative, non-finite or absurd values.
bool EpochToEventTime(double value, EpochUnit unit, EventTime* out);
bool EpochToEventTime(int64_t value, EpochUnit unit, EventTime* out);

// Any of the string forms above (RFC 3339, time_local, or a decimal epoch number).
bool ParseTimeString(std::string_view s, EpochUnit unit, EventTime* out,
                     DateCache* cache = nullptr);

// RFC 3339 in UTC; whole seconds print without a fraction, others with milliseconds.
std::string FormatRfc3339(EventTime t);
void AppendRfc3339(EventTime t, std::string* out);

// Plausible event times: 1990-01-01 .. 2200-01-01. Outside is a bad_time rejection, so one absurd
// timestamp cannot drag the watermark decades ahead.
bool IsPlausibleEventTime(EventTime t);

}  // namespace sitepulse
