#include "detect/detector_summary.h"

#include "absl/strings/str_format.h"
#include "core/duration.h"
#include "core/strings.h"

namespace sitepulse {

std::string SilentWindowSummary(const DetectorSpec& spec, std::string_view site, Metric m) {
  return StrCat(site, " sent no requests over ", FormatDuration(spec.window), ": the ",
                MetricDescription(m), " alert ends without a verdict");
}

std::string LearnedSummary(const DetectorSpec& spec, std::string_view site, Metric m,
                           const DetectorOutcome& o, AlertState state) {
  if (state == AlertState::kNoData) return SilentWindowSummary(spec, site, m);
  const std::string what = MetricDescription(m);
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
