// Log formats: which syntax a line has (JSON, combined text, error-log text) and, for JSON, where
// each field lives. Presets cover the common producers; explicit dotted paths cover the rest.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/record.h"
#include "core/time.h"

namespace sitepulse {

enum class Syntax { kJson, kCombined, kErrorText };

enum class LatencyUnit { kAuto, kSeconds, kMillis, kMicros, kNanos };
bool ParseLatencyUnit(std::string_view s, LatencyUnit* out);
bool ParseEpochUnit(std::string_view s, EpochUnit* out);

struct FormatSpec {
  std::string preset;  // for messages
  RecordKind kind = RecordKind::kAccess;
  Syntax syntax = Syntax::kJson;
  // JSON field paths; each logical field lists alternatives, the first present wins. A path is
  // dotted for nesting ("http.response.status_code") and also matches a flat key of that name.
  std::vector<std::string> site_paths;
  std::vector<std::string> time_paths;
  std::vector<std::string> status_paths;
  std::vector<std::string> latency_paths;
  std::vector<std::string> bytes_paths;
  std::vector<std::string> level_paths;
  std::vector<std::string> message_paths;  // error logs: the message text (optional)
  LatencyUnit latency_unit = LatencyUnit::kSeconds;  // kAuto: combined text only
  EpochUnit time_unit = EpochUnit::kAuto;
  bool latency_required = true;  // JSON access logs; combined has it optional
  std::string default_site;      // used when a line names no site (empty: missing_site)
  size_t max_site_bytes = 255;
  // JSON only: the flat-object fast path (FlatJsonScanner) before simdjson. Off only in tests
  // that compare the two.
  bool json_fast_path = true;
};

// Known presets: nginx, caddy, envoy, ecs, json (no field defaults), combined, json_error,
// error_text (Apache and nginx error logs). kind=error presets: json_error, error_text.
absl::StatusOr<FormatSpec> FormatFromPreset(std::string_view preset);
std::vector<std::string_view> PresetNames();

}  // namespace sitepulse
