// What one detector concluded at one bucket close, and the sentences a person reads in the
// anomaly event ("p99 latency of shop.example.com is 812.0 ms over 5m, 4.3x its learned
// baseline of 190.0 ms"), shared by the kinds in detect/detectors/.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/anomaly.h"
#include "detect/threshold_detector.h"

namespace sitepulse {

struct DetectorOutcome {
  bool condition = false;
  bool silent = false;  // the window held no requests and no error-log lines
  double value = 0;
  double threshold = 0;
  std::optional<double> baseline;
  bool warm = true;  // learned kinds: the baseline has enough history to judge (else no bound)
  // burn_rate: the pair reported (its long window is the event's window).
  DurationNs window = 0;
  DurationNs short_window = 0;
  double short_value = 0;
};

// "shop.example.com sent no requests over 5m: the p99 latency alert ends without a verdict"
std::string SilentWindowSummary(const DetectorSpec& spec, std::string_view site, Metric m);

// A learned baseline's verdict on metric `m` (baseline, traffic_drop, error_spike).
std::string LearnedSummary(const DetectorSpec& spec, std::string_view site, Metric m,
                           const DetectorOutcome& o, AlertState state);

}  // namespace sitepulse
