#include "detect/detector_summary.h"

#include <cmath>

#include "absl/strings/str_format.h"
#include "core/duration.h"
#include "core/strings.h"

namespace sitepulse {

std::string_view DetectorMetricName(const DetectorSpec& spec) {
  switch (spec.type) {
    case DetectorType::kBurnRate: return "burn_rate";
    case DetectorType::kNoData: return "silence_s";
    case DetectorType::kTrafficDrop: return MetricName(Metric::kRequestRate);
    case DetectorType::kErrorSpike: return MetricName(Metric::kErrorLogRate);
    case DetectorType::kNewErrorTemplate: return "new_error_template";
    default: return MetricName(spec.metric);
  }
}

namespace {

std::string Percent(double share) { return absl::StrFormat("%.10g%%", share * 100); }

std::string BurnSummary(const DetectorSpec& spec, std::string_view site, const DetectorOutcome& o,
                        AlertState state) {
  const std::string slo =
      spec.sli == Sli::kAvailability
          ? StrCat(Percent(spec.objective), " availability SLO")
          : StrCat(Percent(spec.objective), " latency SLO (", FormatMetricValue(Metric::kP99, spec.latency_threshold_s), ")");
  if (state == AlertState::kFiring) {
    // At burn rate b, a 30-day budget lasts 30 / b days.
    const double days = o.value > 0 ? 30.0 / o.value : INFINITY;
    return StrCat(site, " is burning the error budget of its ", slo, " ",
                  absl::StrFormat("%.1f", o.value), "x too fast over ",
                  FormatDuration(o.window), " (", absl::StrFormat("%.1f", o.short_value),
                  "x over ", FormatDuration(o.short_window), "; alert above ",
                  absl::StrFormat("%.4g", o.threshold), "x): a 30-day budget would last ",
                  days >= 1 ? absl::StrFormat("%.1f days", days)
                            : absl::StrFormat("%.1f hours", days * 24));
  }
  if (state == AlertState::kNoData) {
    return StrCat(site, " sends no requests: the ", slo, " burn alert ends without a verdict");
  }
  return StrCat("error budget burn of ", site, " (", slo, ") is back to ",
                absl::StrFormat("%.1f", o.value), "x over ", FormatDuration(o.window),
                " (alert above ", absl::StrFormat("%.4g", o.threshold), "x)");
}

}  // namespace

std::string DetectorSummary(const DetectorSpec& spec, std::string_view site,
                            const DetectorOutcome& o, AlertState state) {
  switch (spec.type) {
    case DetectorType::kThreshold:
      if (state == AlertState::kNoData) break;
      return ThresholdSummary(spec, site, o.value, state == AlertState::kFiring);
    case DetectorType::kBurnRate:
      return BurnSummary(spec, site, o, state);
    case DetectorType::kNoData:
      if (state == AlertState::kNoData) {
        return StrCat(site, " has sent no requests or error-log lines for ",
                      FormatDuration(static_cast<DurationNs>(o.value) * kNanosPerSecond),
                      " (alert after ", FormatDuration(spec.no_data_after), ")");
      }
      return StrCat(site, " sends data again");
    default:
      break;
  }
  const Metric m = spec.type == DetectorType::kTrafficDrop ? Metric::kRequestRate
                   : spec.type == DetectorType::kErrorSpike ? Metric::kErrorLogRate
                                                            : spec.metric;
  const std::string what = MetricDescription(m);
  if (state == AlertState::kNoData) {
    return StrCat(site, " sent no requests over ", FormatDuration(spec.window), ": the ", what,
                  " alert ends without a verdict");
  }
  if (spec.type == DetectorType::kThreshold) return "";
  const double base = o.baseline.value_or(0);
  std::string rel;
  if (base > 0 && o.value >= base) {
    rel = absl::StrFormat("%.1fx", o.value / base);
  } else if (base > 0) {
    rel = absl::StrFormat("%.0f%% below", (1 - o.value / base) * 100);
  }
  if (state == AlertState::kFiring) {
    return StrCat(what, " of ", site, " is ", FormatMetricValue(m, o.value), " over ",
                  FormatDuration(spec.window), ", ", rel.empty() ? "off" : rel,
                  " its learned baseline of ",
                  FormatMetricValue(m, base), " (alert ", o.value >= base ? "above " : "below ",
                  FormatMetricValue(m, o.threshold), ")");
  }
  return StrCat(what, " of ", site, " is back to ", FormatMetricValue(m, o.value), " over ",
                FormatDuration(spec.window), " (learned baseline ", FormatMetricValue(m, base), ")");
}

}  // namespace sitepulse
