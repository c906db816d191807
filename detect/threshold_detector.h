// Static-threshold detectors on window metrics (latency quantiles, 5xx error rate, request rate,
// error-log rate). The spec is immutable configuration; evaluation is a pure function of a window.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/record.h"
#include "core/time.h"
#include "detect/baseline_model.h"
#include "detect/evidence_scorer.h"
#include "detect/latency_sketch.h"

namespace sitepulse {

enum class Metric { kP50, kP90, kP95, kP99, kP999, kErrorRate, kRequestRate, kErrorLogRate };
std::string_view MetricName(Metric m);
bool ParseMetric(std::string_view s, Metric* out);
bool IsLatencyMetric(Metric m);
std::optional<double> LatencyQuantile(Metric m);

// What a detector does with its window metric (docs/detectors.md). Each type is a kind in
// detect/detectors/, registered in detect/detector_registry.cc.
enum class DetectorType {
  kThreshold,
  kBaseline,
  kBurnRate,
  kTrafficDrop,
  kNoData,
  kErrorSpike,
  kNewErrorTemplate,
};
std::string_view DetectorTypeName(DetectorType t);
bool ParseDetectorType(std::string_view s, DetectorType* out);

enum class Direction { kRise, kDrop, kBoth };

// One multi-window burn-rate condition: both windows burn the error budget faster than `factor`.
struct BurnPair {
  DurationNs long_window = 0;
  DurationNs short_window = 0;
  double factor = 1;
  std::string severity;
  bool operator==(const BurnPair&) const = default;
};

enum class Sli { kAvailability, kLatency };

struct DetectorSpec {
  std::string name;
  DetectorType type = DetectorType::kThreshold;
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

  // baseline, traffic_drop, error_spike: a learned baseline of the window metric.
  BaselineOptions baseline;
  Direction direction = Direction::kRise;
  double sensitivity = 4;  // deviations (sigma-like) beyond the baseline that count
  double min_change = 0;   // and the value must differ from the baseline by this share of it
  double min_value = 0;    // and reach at least this (error_spike: a floor on the rate)
  // `score`: the deviation alone, or with the evidence `series` weighs (evidence_scorer.h), with
  // the constants the NAB cross-validation chose most often (docs/detection.md) and a sequence
  // context of two levels (a 2 KiB table per site).
  ScoreMode score = ScoreMode::kDeviation;
  SeriesTuning evidence = {.sequence_fires = 0.999, .shift_fires = 0.995,
                           .extreme_tolerance = 0.05, .shift_window = 48, .order = 2};

  // burn_rate: an SLO on availability (non-5xx share) or latency (share faster than the
  // threshold), alerting on multi-window burn rates (Google SRE Workbook).
  Sli sli = Sli::kAvailability;
  double objective = 0.999;          // a share, 0.999 for "99.9"
  double latency_threshold_s = 0.5;  // Sli::kLatency: a good request is at most this slow
  std::vector<BurnPair> pairs;
  // A pair fires only when its long window holds enough requests that at least this many must
  // fail to pass its factor (requests x budget x factor >= min_bad): two failures among a quiet
  // site's hundred requests are not a 20x burn worth a page.
  double min_bad = 5;

  // no_data: a site that sent nothing for this long.
  DurationNs no_data_after = 300 * kNanosPerSecond;

  // new_error_template: the first appearance of an error-message template (error_template.h)
  // on a site, among its lines at min_level and above. Templates seen in the site's first
  // learn_for (from its first such line) are learned silently; at most max_templates are kept
  // per site (later new ones are counted, not reported). Each new template is an incident of
  // its own that fires at the close of its bucket and resolves keep_firing_for later.
  LogLevel min_level = LogLevel::kError;
  DurationNs template_learn_for = 3600 * kNanosPerSecond;
  uint64_t max_templates = 1000;

  // Equal settings: a configuration reload keeps such a detector's state.
  bool operator==(const DetectorSpec&) const = default;
};

// The Workbook's defaults: page on 1h/5m at 14.4x or 6h/30m at 6x, ticket on 3d/6h at 1x.
std::vector<BurnPair> DefaultBurnPairs();

// Where a window's latency comes from when a detector reads it: the engine keeps a window's
// running sketch only while detectors read it (a quiet site's, below every min_requests, never
// is), and builds it from its closed buckets when one does.
class LatencyWindowSource {
 public:
  // Quantile q of window `slot`'s latency (NaN: no latency in it).
  virtual double WindowQuantile(size_t slot, double q) = 0;

 protected:
  ~LatencyWindowSource() = default;
};

// The numbers a threshold reads from one site's window.
struct WindowView {
  uint64_t requests = 0;
  uint64_t errors_5xx = 0;
  uint64_t error_log_lines = 0;
  double covered_s = 0;  // seconds of the window the site has existed for (rates divide by it)
  const DenseSketch* latency = nullptr;  // needed for latency metrics only
  LatencyWindowSource* source = nullptr;  // else, when set, window `slot` of this
  size_t slot = 0;
  const SketchMapping* mapping = nullptr;
  // Quantile q of the window's latency (NaN: none); asked only by latency metrics, past
  // min_requests.
  double LatencyQuantile(double q) const;
};

struct Evaluation {
  bool evaluable = false;  // enough data to judge
  bool condition = false;
  double value = 0;
};

Evaluation EvaluateThreshold(const DetectorSpec& spec, const WindowView& w);

// "812.0 ms", "5.00%", "2.40/s"
std::string FormatMetricValue(Metric m, double v);
// "p99 latency", "5xx error rate", "request rate", "error-log rate"
std::string MetricDescription(Metric m);

// "p99 latency of shop.example.com is 0.812 s over 5m, above the 0.500 s threshold"
std::string ThresholdSummary(const DetectorSpec& spec, std::string_view site, double value,
                             bool firing);

}  // namespace sitepulse
