// Scoring a replay against known incidents (labels), the way docs/replay.md defines it:
// an incident {site, start, end, kind} is detected by the first firing event on its site whose
// started_at falls in [start - 1 bucket, end]; a page (a firing event of severity page) whose
// span overlaps no incident window of its site is a false page. Per detector and overall:
// fired, pages, pages per day, median alert duration, detected, missed, false pages, median and
// worst time to detect (firing `at` minus the incident's start, never below 0).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/anomaly.h"
#include "core/time.h"

namespace sitepulse {

struct Label {
  std::string site, kind;
  EventTime start = 0, end = 0;
};

// The side files of a replay (labels, deploys) are read whole: at most this many bytes and
// entries, else a clear error (a wrong path given to --labels must not eat the machine).
inline constexpr uintmax_t kMaxSideFileBytes = uintmax_t{256} << 20;
inline constexpr size_t kMaxSideFileEntries = 1'000'000;
// An error naming `path` when it is larger than kMaxSideFileBytes.
absl::Status CheckSideFile(const std::string& path, const char* what);

// JSON lines {"site","start","end","kind"} (start/end RFC 3339); errors name the line.
absl::StatusOr<std::vector<Label>> ReadLabels(const std::string& path);

// One incident as the events tell it.
struct ReplayIncident {
  std::string id, site, detector, severity;
  EventTime started_at = 0, fired_at = 0;
  EventTime ended_at = 0;  // resolved/no_data `at`, or the end of the input
  bool resolved = false;
};

std::vector<ReplayIncident> IncidentsOf(const std::vector<Anomaly>& events, EventTime input_end);

struct Score {
  std::string detector;  // "" for the overall line
  uint64_t fired = 0, pages = 0;
  double pages_per_day = 0;
  double median_alert_s = 0;  // over resolved incidents
  uint64_t detected = 0, missed = 0, false_pages = 0;
  double median_ttd_s = 0, worst_ttd_s = 0;
  double recall() const { return detected + missed == 0 ? 1 : static_cast<double>(detected) / static_cast<double>(detected + missed); }
};

struct ReplayScore {
  std::vector<Score> detectors;  // sorted by name
  Score overall;
};

// `detectors`: every configured detector name (one line each, even when it never fired);
// `span_s`: seconds of input (for pages per day).
ReplayScore ScoreReplay(const std::vector<ReplayIncident>& incidents, const std::vector<Label>& labels,
                        const std::vector<std::string>& detectors, DurationNs bucket, double span_s);

}  // namespace sitepulse
