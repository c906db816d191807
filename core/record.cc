#include "core/record.h"


#include "core/strings.h"

namespace sitepulse {

std::string_view LogLevelName(LogLevel l) {
  static constexpr std::string_view kNames[] = {"debug", "info",  "notice", "warn",
                                                "error", "crit", "alert",  "emerg"};
  return kNames[static_cast<int>(l)];
}

bool ParseLogLevel(std::string_view s, LogLevel* out) {
  struct Alias {
    std::string_view name;
    LogLevel level;
  };
  static constexpr Alias kAliases[] = {
      {"debug", LogLevel::kDebug},     {"trace", LogLevel::kDebug},   {"info", LogLevel::kInfo},
      {"information", LogLevel::kInfo}, {"notice", LogLevel::kNotice}, {"warn", LogLevel::kWarn},
      {"warning", LogLevel::kWarn},    {"error", LogLevel::kError},   {"err", LogLevel::kError},
      {"crit", LogLevel::kCrit},       {"critical", LogLevel::kCrit}, {"fatal", LogLevel::kCrit},
      {"alert", LogLevel::kAlert},     {"emerg", LogLevel::kEmerg},   {"emergency", LogLevel::kEmerg},
      {"panic", LogLevel::kEmerg},
  };
  for (const Alias& a : kAliases) {
    if (EqualsIgnoreCase(s, a.name)) {
      *out = a.level;
      return true;
    }
  }
  // Apache 2.4 trace1..trace8
  if (s.size() == 6 && EqualsIgnoreCase(s.substr(0, 5), "trace")) {
    *out = LogLevel::kDebug;
    return true;
  }
  return false;
}

std::string_view RejectReasonName(RejectReason r) {
  static constexpr std::string_view kNames[] = {
      "empty_line",     "line_too_long",  "invalid_utf8",    "malformed_json",
      "malformed_line", "missing_site",   "missing_time",    "missing_status",
      "missing_latency", "missing_level", "bad_site",        "bad_time",
      "bad_status",     "bad_latency",    "bad_bytes",       "bad_level",
      "ambiguous_field", "future_time",   "bad_partial"};
  static_assert(sizeof(kNames) / sizeof(kNames[0]) == kNumRejectReasons);
  return kNames[static_cast<int>(r)];
}

}  // namespace sitepulse
