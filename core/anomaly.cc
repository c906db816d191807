#include "core/anomaly.h"

#include <cstdio>

#include "core/json_writer.h"
#include "core/strings.h"
#include "simdjson.h"

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

absl::StatusOr<Anomaly> AnomalyFromJson(std::string_view line) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(line.data(), line.size()).get(doc) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("anomaly event: not valid JSON");
  }
  simdjson::dom::object obj;
  if (doc.get(obj) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("anomaly event: not a JSON object");
  }
  auto field_error = [](std::string_view key, std::string_view what) {
    return absl::InvalidArgumentError(StrCat("anomaly event: '", key, "' ", what));
  };
  int64_t v = 0;
  if (obj["v"].get(v) != simdjson::SUCCESS) return field_error("v", "is missing or not an integer");
  if (v != kAnomalySchemaVersion) {
    return absl::InvalidArgumentError(StrCat("anomaly event: unknown schema version ", v,
                                             " (this build reads ", kAnomalySchemaVersion, ")"));
  }
  Anomaly a;
  auto text = [&](const char* key, std::string* out) -> absl::Status {
    std::string_view s;
    if (obj[key].get(s) != simdjson::SUCCESS) return field_error(key, "is missing or not a string");
    *out = std::string(s);
    return absl::OkStatus();
  };
  auto number = [&](const char* key, double* out) -> absl::Status {
    if (obj[key].get(*out) != simdjson::SUCCESS) return field_error(key, "is missing or not a number");
    return absl::OkStatus();
  };
  auto time = [&](const char* key, EventTime* out) -> absl::Status {
    std::string s;
    if (absl::Status st = text(key, &s); !st.ok()) return st;
    if (!ParseRfc3339(s, out)) return field_error(key, "is not an RFC 3339 time");
    return absl::OkStatus();
  };
  std::string state;
  for (absl::Status st : {text("id", &a.id), text("site", &a.site), text("detector", &a.detector),
                          text("state", &state), text("severity", &a.severity),
                          text("metric", &a.metric), number("value", &a.value),
                          number("threshold", &a.threshold), time("started_at", &a.started_at),
                          time("at", &a.at), text("summary", &a.summary)}) {
    if (!st.ok()) return st;
  }
  if (state == "firing") a.state = AlertState::kFiring;
  else if (state == "resolved") a.state = AlertState::kResolved;
  else if (state == "no_data") a.state = AlertState::kNoData;
  else return field_error("state", StrCat("is '", state, "' (known: firing, resolved, no_data)"));
  if (obj["window_s"].get(a.window_s) != simdjson::SUCCESS) {
    return field_error("window_s", "is missing or not an integer");
  }
  if (simdjson::dom::element b; obj["baseline"].get(b) == simdjson::SUCCESS) {
    double baseline;
    if (b.get(baseline) != simdjson::SUCCESS) return field_error("baseline", "is not a number");
    a.baseline = baseline;
  }
  simdjson::dom::object labels;
  if (obj["labels"].get(labels) != simdjson::SUCCESS) {
    return field_error("labels", "is missing or not an object");
  }
  for (auto [key, value] : labels) {
    std::string_view s;
    if (value.get(s) != simdjson::SUCCESS) return field_error("labels", "holds a value that is not a string");
    a.labels.emplace_back(std::string(key), std::string(s));
  }
  return a;
}

}  // namespace sitepulse
