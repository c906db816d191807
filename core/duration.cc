#include "core/duration.h"

#include "core/strings.h"

namespace sitepulse {

absl::StatusOr<DurationNs> ParseDuration(std::string_view s) {
  if (s == "0") return 0;
  if (s.empty()) return absl::InvalidArgumentError("empty duration");
  DurationNs total = 0;
  size_t i = 0;
  while (i < s.size()) {
    size_t start = i;
    int64_t n = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (n > 1'000'000'000'000LL) return absl::InvalidArgumentError("duration too large");
      n = n * 10 + (s[i] - '0');
      ++i;
    }
    if (i == start) {
      return absl::InvalidArgumentError(
          StrCat("bad duration '", s, "': expected a number then a unit, like 10s or 5m"));
    }
    size_t ustart = i;
    while (i < s.size() && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z'))) ++i;
    const std::string_view unit = s.substr(ustart, i - ustart);
    int64_t mul;
    if (unit == "ns") mul = 1;
    else if (unit == "us") mul = 1'000;
    else if (unit == "ms") mul = 1'000'000;
    else if (unit == "s") mul = kNanosPerSecond;
    else if (unit == "m") mul = 60 * kNanosPerSecond;
    else if (unit == "h") mul = 3600 * kNanosPerSecond;
    else if (unit == "d") mul = 86400 * kNanosPerSecond;
    else if (unit == "w") mul = 7 * 86400 * kNanosPerSecond;
    else {
      return absl::InvalidArgumentError(StrCat(
          "bad duration '", s, "': unknown unit '", unit, "' (use ns, us, ms, s, m, h, d, w)"));
    }
    // At most INT64_MAX / 2 (146 years) in all, not only per part: a total FormatDuration
    // prints must read back (fuzz/uri_fuzz.cc found "1131314h1131314h" printing as 94276d4h,
    // whose one part was over the per-part limit).
    if (n > (INT64_MAX / 2 - total) / mul) return absl::InvalidArgumentError("duration too large");
    total += n * mul;
  }
  return total;
}

std::string FormatDuration(DurationNs d) {
  if (d == 0) return "0s";
  std::string out;
  struct Unit {
    int64_t ns;
    const char* name;
  };
  static constexpr Unit kUnits[] = {{86400 * kNanosPerSecond, "d"}, {3600 * kNanosPerSecond, "h"},
                                    {60 * kNanosPerSecond, "m"},    {kNanosPerSecond, "s"},
                                    {1'000'000, "ms"},              {1'000, "us"},
                                    {1, "ns"}};
  for (const Unit& u : kUnits) {
    if (d >= u.ns) {
      StrAppend(&out, d / u.ns, u.name);
      d %= u.ns;
    }
  }
  return out;
}

absl::StatusOr<uint64_t> ParseSize(std::string_view s) {
  size_t i = 0;
  uint64_t n = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    if (n > (1ULL << 50)) return absl::InvalidArgumentError("size too large");
    n = n * 10 + static_cast<uint64_t>(s[i] - '0');
    ++i;
  }
  if (i == 0) {
    return absl::InvalidArgumentError(
        StrCat("bad size '", s, "': expected a number then a unit, like 1MiB"));
  }
  const std::string_view unit = s.substr(i);
  uint64_t mul;
  if (unit.empty() || unit == "B") mul = 1;
  else if (unit == "KB") mul = 1000;
  else if (unit == "MB") mul = 1000 * 1000;
  else if (unit == "GB") mul = 1000 * 1000 * 1000;
  else if (unit == "KiB") mul = 1024;
  else if (unit == "MiB") mul = 1024 * 1024;
  else if (unit == "GiB") mul = 1024 * 1024 * 1024;
  else {
    return absl::InvalidArgumentError(StrCat(
        "bad size '", s, "': unknown unit '", unit, "' (use B, KB, MB, GB, KiB, MiB, GiB)"));
  }
  return n * mul;
}

}  // namespace sitepulse
