// What one detector concluded at one bucket close, and the sentence a person reads in the
// anomaly event ("p99 latency of shop.example.com is 812.0 ms over 5m, 4.3x its learned
// baseline of 190.0 ms").
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
  // burn_rate: the pair reported (its long window is the event's window).
  DurationNs window = 0;
  DurationNs short_window = 0;
  double short_value = 0;
};

// The event's `metric`: the window metric, or "burn_rate" / "silence_s".
std::string_view DetectorMetricName(const DetectorSpec& spec);

std::string DetectorSummary(const DetectorSpec& spec, std::string_view site,
                            const DetectorOutcome& o, AlertState state);

}  // namespace sitepulse
