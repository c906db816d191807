// Static-threshold detectors on window metrics (latency quantiles, 5xx error rate, request rate,
// error-log rate). The spec is immutable configuration; evaluation is a pure function of a window.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/time.h"
#include "detect/latency_sketch.h"

namespace sitepulse {

enum class Metric { kP50, kP90, kP95, kP99, kP999, kErrorRate, kRequestRate, kErrorLogRate };
std::string_view MetricName(Metric m);
bool ParseMetric(std::string_view s, Metric* out);
bool IsLatencyMetric(Metric m);
std::optional<double> LatencyQuantile(Metric m);

struct ThresholdSpec {
  std::string name;
  Metric metric = Metric::kP99;
  bool above = true;  // fire when value > threshold (false: value < threshold)
  double threshold = 0;
  DurationNs window = 300 * kNanosPerSecond;
  DurationNs for_duration = 0;
  DurationNs keep_firing_for = 0;
  // The window must hold at least this many requests (or error-log lines, for error_log_rate) for
  // the condition to be evaluated; below it the condition is false. Never less than 1: an empty
  // window is no data, which is the no_data detector's business, not a threshold's.
  uint64_t min_requests = 1;
  std::string severity = "page";
  bool enabled = true;
  std::vector<std::pair<std::string, std::string>> labels;  // sorted by key
};

// The numbers a threshold reads from one site's window.
struct WindowView {
  uint64_t requests = 0;
  uint64_t errors_5xx = 0;
  uint64_t error_log_lines = 0;
  double covered_s = 0;  // seconds of the window the site has existed for (rates divide by it)
  const DenseSketch* latency = nullptr;  // needed for latency metrics only
  const SketchMapping* mapping = nullptr;
};

struct Evaluation {
  bool evaluable = false;  // enough data to judge
  bool condition = false;
  double value = 0;
};

Evaluation EvaluateThreshold(const ThresholdSpec& spec, const WindowView& w);

// "p99 latency of shop.example.com is 0.812 s over 5m, above the 0.500 s threshold"
std::string ThresholdSummary(const ThresholdSpec& spec, std::string_view site, double value,
                             bool firing);

}  // namespace sitepulse
