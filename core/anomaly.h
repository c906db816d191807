// The anomaly event: what sitepulse publishes to alerting and self-healing consumers. Schema v1,
// one JSON object per event; firing and resolved events of one incident share `id`.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/time.h"

namespace sitepulse {

inline constexpr int kAnomalySchemaVersion = 1;

enum class AlertState { kFiring, kResolved, kNoData };
std::string_view AlertStateName(AlertState s);

struct Anomaly {
  std::string id;
  std::string site;
  std::string detector;
  AlertState state = AlertState::kFiring;
  std::string severity;
  std::string metric;
  double value = 0;
  double threshold = 0;
  std::optional<double> baseline;
  int64_t window_s = 0;
  EventTime started_at = 0;
  EventTime at = 0;
  std::string summary;
  std::vector<std::pair<std::string, std::string>> labels;  // sorted by key
};

// Stable incident id: a hex digest of (site, detector, started_at). The same incident read twice
// (a restart, a replay) gets the same id, so consumers can de-duplicate.
std::string MakeIncidentId(std::string_view site, std::string_view detector, EventTime started_at);

// One line of JSON, without the trailing newline.
std::string AnomalyToJson(const Anomaly& a);

// Reads one event back, for consumers (heal, replay, timeline). Strict: malformed JSON, a
// missing or mistyped required field, an unknown state, or a `v` other than this build's
// schema version is an error naming what is wrong; unknown fields are ignored (a later
// version adds fields only with a new `v`). AnomalyToJson(*AnomalyFromJson(line)) == line for
// every line AnomalyToJson writes.
absl::StatusOr<Anomaly> AnomalyFromJson(std::string_view line);

}  // namespace sitepulse
