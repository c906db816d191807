#include "ingest/format.h"

#include "core/strings.h"


namespace sitepulse {

bool ParseLatencyUnit(std::string_view s, LatencyUnit* out) {
  if (s == "auto") *out = LatencyUnit::kAuto;
  else if (s == "s") *out = LatencyUnit::kSeconds;
  else if (s == "ms") *out = LatencyUnit::kMillis;
  else if (s == "us") *out = LatencyUnit::kMicros;
  else if (s == "ns") *out = LatencyUnit::kNanos;
  else return false;
  return true;
}

bool ParseEpochUnit(std::string_view s, EpochUnit* out) {
  if (s == "auto") *out = EpochUnit::kAuto;
  else if (s == "s") *out = EpochUnit::kSeconds;
  else if (s == "ms") *out = EpochUnit::kMillis;
  else if (s == "us") *out = EpochUnit::kMicros;
  else if (s == "ns") *out = EpochUnit::kNanos;
  else return false;
  return true;
}

std::vector<std::string_view> PresetNames() {
  return {"nginx",      "caddy",      "envoy",      "ecs",        "json",
          "combined",   "json_error", "caddy_error", "error_text"};
}

absl::StatusOr<FormatSpec> FormatFromPreset(std::string_view preset) {
  FormatSpec f;
  f.preset = std::string(preset);
  if (preset == "nginx") {
    // A JSON log_format with nginx's variable names as keys.
    f.site_paths = {"host", "server_name", "http_host", "vhost"};
    f.time_paths = {"time_iso8601", "time_local", "msec", "time", "@timestamp", "timestamp"};
    f.status_paths = {"status"};
    f.latency_paths = {"request_time"};
    f.bytes_paths = {"body_bytes_sent", "bytes_sent"};
    f.latency_unit = LatencyUnit::kSeconds;
  } else if (preset == "caddy") {
    // Caddy's structured access log (http.log.access): ts in epoch seconds, duration in seconds.
    f.site_paths = {"request.host"};
    f.time_paths = {"ts"};
    f.status_paths = {"status"};
    f.latency_paths = {"duration"};
    f.bytes_paths = {"size"};
    f.latency_unit = LatencyUnit::kSeconds;
  } else if (preset == "envoy") {
    // Envoy's JSON access log with the default command operators: duration in milliseconds.
    f.site_paths = {"authority", ":authority", "upstream_host"};
    f.time_paths = {"start_time"};
    f.status_paths = {"response_code"};
    f.latency_paths = {"duration"};
    f.bytes_paths = {"bytes_sent"};
    f.latency_unit = LatencyUnit::kMillis;
  } else if (preset == "ecs") {
    // Elastic Common Schema: event.duration is in nanoseconds.
    f.site_paths = {"url.domain", "host.name", "service.name"};
    f.time_paths = {"@timestamp"};
    f.status_paths = {"http.response.status_code"};
    f.latency_paths = {"event.duration"};
    f.bytes_paths = {"http.response.body.bytes", "http.response.bytes"};
    f.latency_unit = LatencyUnit::kNanos;
  } else if (preset == "json") {
    // No defaults: every path comes from the config.
  } else if (preset == "combined") {
    f.syntax = Syntax::kCombined;
    f.latency_unit = LatencyUnit::kAuto;
    f.latency_required = false;
  } else if (preset == "json_error") {
    f.kind = RecordKind::kError;
    f.site_paths = {"site", "host", "server_name", "service.name", "host.name"};
    f.time_paths = {"time", "ts", "@timestamp", "timestamp"};
    f.level_paths = {"level", "log.level", "severity"};
    f.message_paths = {"message", "msg", "error.message"};
  } else if (preset == "caddy_error") {
    // Caddy's own error log (logger http.log.error): the request that failed is nested, as in
    // the access log; ts in epoch seconds; msg the error.
    f.kind = RecordKind::kError;
    f.site_paths = {"request.host"};
    f.time_paths = {"ts"};
    f.level_paths = {"level"};
    f.message_paths = {"msg"};
  } else if (preset == "error_text") {
    f.kind = RecordKind::kError;
    f.syntax = Syntax::kErrorText;
  } else {
    return absl::InvalidArgumentError(StrCat("unknown preset '", preset, "' (known: ",
                                                   StrJoin(PresetNames(), ", "), ")"));
  }
  return f;
}

}  // namespace sitepulse
