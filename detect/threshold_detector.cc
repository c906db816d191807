#include "detect/threshold_detector.h"

#include <cmath>

#include "core/strings.h"
#include "absl/strings/str_format.h"
#include "core/duration.h"
#include "detect/detector_kind.h"

namespace sitepulse {

namespace {
struct MetricInfo {
  Metric metric;
  std::string_view name;
  double quantile;  // < 0: not a latency metric
};
constexpr MetricInfo kMetrics[] = {
    {Metric::kP50, "p50", 0.50},         {Metric::kP90, "p90", 0.90},
    {Metric::kP95, "p95", 0.95},         {Metric::kP99, "p99", 0.99},
    {Metric::kP999, "p999", 0.999},      {Metric::kErrorRate, "error_rate", -1},
    {Metric::kRequestRate, "request_rate", -1}, {Metric::kErrorLogRate, "error_log_rate", -1},
};

}  // namespace

std::string FormatMetricValue(Metric m, double v) {
  if (IsLatencyMetric(m)) {
    if (v < 1) return absl::StrFormat("%.1f ms", v * 1e3);
    return absl::StrFormat("%.3f s", v);
  }
  if (m == Metric::kErrorRate) return absl::StrFormat("%.2f%%", v * 100);
  return absl::StrFormat("%.2f/s", v);
}

namespace {
std::string_view MetricPhrase(Metric m) {
  switch (m) {
    case Metric::kErrorRate: return "5xx error rate";
    case Metric::kRequestRate: return "request rate";
    case Metric::kErrorLogRate: return "error-log rate";
    default: return "latency";
  }
}
}  // namespace

// The names live in the kind table (detect/detector_kind.h).
std::string_view DetectorTypeName(DetectorType t) { return KindOf(t).name; }

bool ParseDetectorType(std::string_view s, DetectorType* out) {
  const DetectorKind* kind = FindDetectorKind(s);
  if (kind == nullptr) return false;
  *out = kind->type;
  return true;
}

std::vector<BurnPair> DefaultBurnPairs() {
  constexpr DurationNs kMin = 60 * kNanosPerSecond;
  return {{60 * kMin, 5 * kMin, 14.4, "page"},
          {360 * kMin, 30 * kMin, 6, "page"},
          {3 * 24 * 60 * kMin, 360 * kMin, 1, "ticket"}};
}

std::string_view MetricName(Metric m) { return kMetrics[static_cast<int>(m)].name; }

bool ParseMetric(std::string_view s, Metric* out) {
  for (const MetricInfo& i : kMetrics) {
    if (i.name == s) {
      *out = i.metric;
      return true;
    }
  }
  return false;
}

bool IsLatencyMetric(Metric m) { return kMetrics[static_cast<int>(m)].quantile >= 0; }

std::optional<double> LatencyQuantile(Metric m) {
  const double q = kMetrics[static_cast<int>(m)].quantile;
  if (q < 0) return std::nullopt;
  return q;
}

double WindowView::LatencyQuantile(double q) const {
  if (source != nullptr) return source->WindowQuantile(slot, q);
  return latency == nullptr ? std::nan("") : latency->Quantile(*mapping, q);
}

Evaluation EvaluateThreshold(const DetectorSpec& spec, const WindowView& w) {
  Evaluation e;
  const uint64_t floor = spec.min_requests < 1 ? 1 : spec.min_requests;
  // error_log_rate also judges sites that only have error logs: its volume counts both.
  const uint64_t volume =
      spec.metric == Metric::kErrorLogRate ? w.requests + w.error_log_lines : w.requests;
  if (volume < floor) return e;
  switch (spec.metric) {
    case Metric::kErrorRate:
      e.value = w.requests == 0 ? 0 : static_cast<double>(w.errors_5xx) / static_cast<double>(w.requests);
      break;
    case Metric::kRequestRate:
      e.value = w.covered_s > 0 ? static_cast<double>(w.requests) / w.covered_s : 0;
      break;
    case Metric::kErrorLogRate:
      e.value = w.covered_s > 0 ? static_cast<double>(w.error_log_lines) / w.covered_s : 0;
      break;
    default: {
      const double q = w.LatencyQuantile(*LatencyQuantile(spec.metric));
      // Requests without latency: nothing to judge, and no NaN for an event to carry (a p99
      // alert resolved over such requests sent "value": null, which its readers refuse).
      if (std::isnan(q)) return e;
      e.value = q;
    }
  }
  e.evaluable = true;
  e.condition = spec.above ? e.value > spec.threshold : e.value < spec.threshold;
  return e;
}

std::string MetricDescription(Metric m) {
  return IsLatencyMetric(m) ? StrCat(MetricName(m), " latency") : std::string(MetricPhrase(m));
}

std::string ThresholdSummary(const DetectorSpec& spec, std::string_view site, double value,
                             bool firing) {
  std::string what = IsLatencyMetric(spec.metric)
                         ? StrCat(MetricName(spec.metric), " latency")
                         : std::string(MetricPhrase(spec.metric));
  if (firing) {
    return StrCat(what, " of ", site, " is ", FormatMetricValue(spec.metric, value), " over ",
                        FormatDuration(spec.window), ", ", spec.above ? "above" : "below", " the ",
                        FormatMetricValue(spec.metric, spec.threshold), " threshold");
  }
  return StrCat(what, " of ", site, " is back to ", FormatMetricValue(spec.metric, value),
                      " over ", FormatDuration(spec.window), " (threshold ",
                      FormatMetricValue(spec.metric, spec.threshold), ")");
}

}  // namespace sitepulse
