#include "core/time.h"

#include <cmath>
#include <cstdio>

namespace sitepulse {
namespace {

bool Digits(std::string_view s, size_t pos, size_t n, int64_t* out) {
  if (pos + n > s.size()) return false;
  int64_t v = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

int MonthFromAbbrev(std::string_view m) {
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int i = 0; i < 12; ++i) {
    if (m == kMonths[i]) return i + 1;
  }
  return 0;
}

int64_t DaysInMonth(int64_t y, int64_t mo) {
  static constexpr int8_t kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (mo == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))) return 29;
  return kDays[mo - 1];
}

// A UTC offset of hh:mm: RFC 3339 and ISO 8601 allow at most 18 hours (every real zone is
// within -12:00..+14:00); anything beyond is a broken line, not a time.
bool ValidOffset(int64_t oh, int64_t om) { return om <= 59 && oh * 60 + om <= 18 * 60; }

bool ComposeUtc(int64_t y, int64_t mo, int64_t d, int64_t h, int64_t mi, int64_t s, int64_t frac_ns,
                int64_t offset_s, EventTime* out, DateCache* cache = nullptr) {
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 60) return false;
  // Nanoseconds since the epoch fit in int64_t from 1678 to 2261 only.
  if (y < 1678 || y > 2261) return false;
  if (d > DaysInMonth(y, mo)) return false;  // 2025-02-30 is no date, not 2025-03-02
  const int64_t key = y * 10000 + mo * 100 + d;
  int64_t days;
  if (cache != nullptr && cache->key == key) {
    days = cache->days;
  } else {
    days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
    if (cache != nullptr) *cache = {key, days};
  }
  const int64_t secs = days * 86400 + h * 3600 + mi * 60 + s - offset_s;
  *out = secs * kNanosPerSecond + frac_ns;
  return true;
}

// Parses ".123456789" at pos; returns ns and advances pos. Accepts no fraction.
bool Fraction(std::string_view s, size_t* pos, int64_t* ns) {
  *ns = 0;
  if (*pos >= s.size() || (s[*pos] != '.' && s[*pos] != ',')) return true;
  ++*pos;
  int64_t scale = 100'000'000;
  size_t n = 0;
  while (*pos < s.size() && s[*pos] >= '0' && s[*pos] <= '9') {
    if (scale > 0) {
      *ns += (s[*pos] - '0') * scale;
      scale /= 10;
    }
    ++*pos;
    ++n;
  }
  return n > 0;
}

EpochUnit ResolveUnit(double magnitude, EpochUnit unit) {
  if (unit != EpochUnit::kAuto) return unit;
  return magnitude < 1e11   ? EpochUnit::kSeconds
         : magnitude < 1e14 ? EpochUnit::kMillis
         : magnitude < 1e17 ? EpochUnit::kMicros
                            : EpochUnit::kNanos;
}

int64_t NanosPerUnit(EpochUnit unit) {
  switch (unit) {
    case EpochUnit::kSeconds: return kNanosPerSecond;
    case EpochUnit::kMillis: return 1'000'000;
    case EpochUnit::kMicros: return 1'000;
    default: return 1;
  }
}

}  // namespace

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? static_cast<unsigned>(-3) : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool ParseRfc3339(std::string_view s, EventTime* out, DateCache* cache) {
  int64_t y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (s.size() < 20) return false;
  const bool same_minute = cache != nullptr && cache->minute_format == 1 &&
                           __builtin_memcmp(s.data(), cache->minute, 17) == 0;
  if (same_minute) {
    if (!Digits(s, 17, 2, &sec)) return false;
  } else if (!Digits(s, 0, 4, &y) || s[4] != '-' || !Digits(s, 5, 2, &mo) || s[7] != '-' ||
      !Digits(s, 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !Digits(s, 11, 2, &h) || s[13] != ':' || !Digits(s, 14, 2, &mi) || s[16] != ':' ||
      !Digits(s, 17, 2, &sec)) {
    return false;
  }
  size_t pos = 19;
  int64_t frac = 0;
  if (!Fraction(s, &pos, &frac)) return false;
  if (pos >= s.size()) return false;
  int64_t offset = 0;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    int64_t oh, om;
    const int sign = s[pos] == '-' ? -1 : 1;
    if (!Digits(s, pos + 1, 2, &oh)) return false;
    size_t mpos = pos + 3;
    if (mpos < s.size() && s[mpos] == ':') ++mpos;
    if (!Digits(s, mpos, 2, &om) || !ValidOffset(oh, om)) return false;
    offset = sign * (oh * 3600 + om * 60);
    pos = mpos + 2;
  } else {
    return false;
  }
  if (pos != s.size()) return false;
  if (same_minute) {
    if (sec > 60) return false;
    *out = (cache->minute_secs + sec - offset) * kNanosPerSecond + frac;
    return true;
  }
  if (!ComposeUtc(y, mo, d, h, mi, sec, frac, offset, out, cache)) return false;
  if (cache != nullptr) {
    __builtin_memcpy(cache->minute, s.data(), 17);
    cache->minute_secs = cache->days * 86400 + h * 3600 + mi * 60;
    cache->minute_format = 1;
  }
  return true;
}

bool ParseTimeLocal(std::string_view s, EventTime* out, DateCache* cache) {
  // 17/May/2015:10:05:03 +0000
  int64_t d = 0, y = 0, h = 0, mi = 0, sec = 0, oh = 0, om = 0;
  if (s.size() < 26) return false;
  const bool same_minute = cache != nullptr && cache->minute_format == 2 &&
                           __builtin_memcmp(s.data(), cache->minute, 18) == 0;
  int mo = 0;
  if (same_minute) {
    if (!Digits(s, 18, 2, &sec)) return false;
  } else if (!Digits(s, 0, 2, &d) || s[2] != '/' || s[6] != '/' || !Digits(s, 7, 4, &y) ||
      s[11] != ':' || !Digits(s, 12, 2, &h) || s[14] != ':' || !Digits(s, 15, 2, &mi) ||
      s[17] != ':' || !Digits(s, 18, 2, &sec)) {
    return false;
  }
  if (!same_minute) {
    mo = MonthFromAbbrev(s.substr(3, 3));
    if (mo == 0) return false;
  }
  size_t pos = 20;
  int64_t frac = 0;
  if (!Fraction(s, &pos, &frac)) return false;
  if (pos + 6 != s.size() || s[pos] != ' ' || (s[pos + 1] != '+' && s[pos + 1] != '-')) {
    return false;
  }
  if (!Digits(s, pos + 2, 2, &oh) || !Digits(s, pos + 4, 2, &om) || !ValidOffset(oh, om)) {
    return false;
  }
  const int64_t offset = (s[pos + 1] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
  if (same_minute) {
    if (sec > 60) return false;
    *out = (cache->minute_secs + sec - offset) * kNanosPerSecond + frac;
    return true;
  }
  if (!ComposeUtc(y, mo, d, h, mi, sec, frac, offset, out, cache)) return false;
  if (cache != nullptr) {
    __builtin_memcpy(cache->minute, s.data(), 18);
    cache->minute_secs = cache->days * 86400 + h * 3600 + mi * 60;
    cache->minute_format = 2;
  }
  return true;
}

bool ParseApacheErrorTime(std::string_view s, EventTime* out) {
  // Wed Oct 11 14:32:52.123456 2000
  if (s.size() < 24 || s[3] != ' ' || s[7] != ' ') return false;
  const int mo = MonthFromAbbrev(s.substr(4, 3));
  if (mo == 0) return false;
  size_t pos = 8;
  int64_t d;
  if (s[pos] == ' ') ++pos;  // day padded with a space
  size_t dlen = (pos + 1 < s.size() && s[pos + 1] >= '0' && s[pos + 1] <= '9') ? 2 : 1;
  if (!Digits(s, pos, dlen, &d)) return false;
  pos += dlen;
  int64_t h, mi, sec, y;
  if (s[pos] != ' ' || !Digits(s, pos + 1, 2, &h) || s[pos + 3] != ':' ||
      !Digits(s, pos + 4, 2, &mi) || s[pos + 6] != ':' || !Digits(s, pos + 7, 2, &sec)) {
    return false;
  }
  pos += 9;
  int64_t frac = 0;
  if (!Fraction(s, &pos, &frac)) return false;
  if (pos >= s.size() || s[pos] != ' ' || !Digits(s, pos + 1, 4, &y) || pos + 5 != s.size()) {
    return false;
  }
  return ComposeUtc(y, mo, d, h, mi, sec, frac, 0, out);
}

bool ParseNginxErrorTime(std::string_view s, EventTime* out) {
  int64_t y, mo, d, h, mi, sec;
  if (s.size() != 19 || !Digits(s, 0, 4, &y) || s[4] != '/' || !Digits(s, 5, 2, &mo) ||
      s[7] != '/' || !Digits(s, 8, 2, &d) || s[10] != ' ' || !Digits(s, 11, 2, &h) ||
      s[13] != ':' || !Digits(s, 14, 2, &mi) || s[16] != ':' || !Digits(s, 17, 2, &sec)) {
    return false;
  }
  return ComposeUtc(y, mo, d, h, mi, sec, 0, 0, out);
}

bool EpochToEventTime(double value, EpochUnit unit, EventTime* out) {
  if (!std::isfinite(value) || value < 0) return false;
  const double ns = value * static_cast<double>(NanosPerUnit(ResolveUnit(value, unit)));
  if (ns > 9.0e18) return false;
  *out = static_cast<EventTime>(std::llround(ns));
  return true;
}

bool EpochToEventTime(int64_t value, EpochUnit unit, EventTime* out) {
  if (value < 0) return false;
  const int64_t mul = NanosPerUnit(ResolveUnit(static_cast<double>(value), unit));
  if (value > INT64_MAX / mul) return false;
  *out = value * mul;
  return true;
}

bool ParseTimeString(std::string_view s, EpochUnit unit, EventTime* out, DateCache* cache) {
  if (s.empty()) return false;
  if (s.size() >= 20 && s[4] == '-') return ParseRfc3339(s, out, cache);
  if (s.size() >= 26 && s[2] == '/') return ParseTimeLocal(s, out, cache);
  // A decimal epoch number written as a string ("1431857103.123").
  int64_t whole = 0;
  size_t i = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    if (whole > (INT64_MAX - 9) / 10) return false;
    whole = whole * 10 + (s[i] - '0');
  }
  if (i == 0) return false;
  if (i == s.size()) return EpochToEventTime(whole, unit, out);
  if (s[i] != '.') return false;
  // Exact integer arithmetic: whole units plus a fraction of up to 9 digits.
  int64_t frac = 0, frac_scale = 1;
  size_t frac_digits = 0;
  for (++i; i < s.size(); ++i, ++frac_digits) {
    if (s[i] < '0' || s[i] > '9') return false;
    if (frac_digits < 9) {
      frac = frac * 10 + (s[i] - '0');
      frac_scale *= 10;
    }
  }
  if (frac_digits == 0) return false;
  const int64_t per_unit = NanosPerUnit(ResolveUnit(static_cast<double>(whole), unit));
  if (whole > INT64_MAX / per_unit - 1) return false;
  *out = whole * per_unit + frac * per_unit / frac_scale;
  return true;
}

void AppendRfc3339(EventTime t, std::string* out) {
  int64_t secs = t / kNanosPerSecond;
  int64_t ns = t % kNanosPerSecond;
  if (ns < 0) {
    ns += kNanosPerSecond;
    --secs;
  }
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  // civil_from_days (Hinnant)
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = yoe + era * 400 + (m <= 2);
  char buf[48];
  int n;
  if (ns == 0) {
    n = std::snprintf(buf, sizeof(buf), "%04lld-%02lld-%02lldT%02lld:%02lld:%02lldZ",
                      static_cast<long long>(y), static_cast<long long>(m),
                      static_cast<long long>(d), static_cast<long long>(rem / 3600),
                      static_cast<long long>(rem / 60 % 60), static_cast<long long>(rem % 60));
  } else {
    n = std::snprintf(buf, sizeof(buf), "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03lldZ",
                      static_cast<long long>(y), static_cast<long long>(m),
                      static_cast<long long>(d), static_cast<long long>(rem / 3600),
                      static_cast<long long>(rem / 60 % 60), static_cast<long long>(rem % 60),
                      static_cast<long long>(ns / 1'000'000));
  }
  out->append(buf, static_cast<size_t>(n));
}

std::string FormatRfc3339(EventTime t) {
  std::string s;
  AppendRfc3339(t, &s);
  return s;
}

bool IsPlausibleEventTime(EventTime t) {
  constexpr EventTime kMin = 631152000LL * kNanosPerSecond;   // 1990-01-01
  constexpr EventTime kMax = 7258118400LL * kNanosPerSecond;  // 2200-01-01
  return t >= kMin && t < kMax;
}

}  // namespace sitepulse
