#include "core/anomaly.h"

#include <cstdio>

#include "core/json_writer.h"

namespace sitepulse {

std::string_view AlertStateName(AlertState s) {
  switch (s) {
    case AlertState::kFiring: return "firing";
    case AlertState::kResolved: return "resolved";
    case AlertState::kNoData: return "no_data";
  }
  return "unknown";
}

std::string MakeIncidentId(std::string_view site, std::string_view detector, EventTime started_at) {
  // FNV-1a 64 over a length-prefixed encoding: stable across builds, platforms and versions
  // (std::hash and absl::Hash are not).
  uint64_t h = 1469598103934665603ULL;
  auto mix = [&h](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ULL;
    }
    h ^= 0xff;
    h *= 1099511628211ULL;
  };
  mix(site);
  mix(detector);
  mix(std::to_string(started_at));
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
  return std::string(buf, 16);
}

std::string AnomalyToJson(const Anomaly& a) {
  std::string out;
  out.reserve(512);
  JsonObjectWriter w(&out);
  w.Int("v", kAnomalySchemaVersion)
      .String("id", a.id)
      .String("site", a.site)
      .String("detector", a.detector)
      .String("state", AlertStateName(a.state))
      .String("severity", a.severity)
      .String("metric", a.metric)
      .Number("value", a.value)
      .Number("threshold", a.threshold);
  if (a.baseline) w.Number("baseline", *a.baseline);
  w.Int("window_s", a.window_s);
  w.Key("started_at");
  AppendJsonString(FormatRfc3339(a.started_at), &out);
  w.Key("at");
  AppendJsonString(FormatRfc3339(a.at), &out);
  w.String("summary", a.summary);
  std::string labels;
  JsonObjectWriter lw(&labels);
  for (const auto& [k, v] : a.labels) lw.String(k, v);
  lw.Close();
  w.Raw("labels", labels);
  w.Close();
  return out;
}

}  // namespace sitepulse
