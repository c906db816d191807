// The kind table: one line per detector kind.
#include <algorithm>

#include "core/strings.h"
#include "detect/detector_kind.h"
#include "detect/detectors/baseline.h"
#include "detect/detectors/burn_rate.h"
#include "detect/detectors/error_spike.h"
#include "detect/detectors/new_error_template.h"
#include "detect/detectors/no_data.h"
#include "detect/detectors/threshold.h"
#include "detect/detectors/traffic_drop.h"

namespace sitepulse {

const std::vector<const DetectorKind*>& DetectorKinds() {
  static const std::vector<const DetectorKind*> kinds = {
      &ThresholdKind(),
      &BaselineKind(),
      &BurnRateKind(),
      &TrafficDropKind(),
      &NoDataKind(),
      &ErrorSpikeKind(),
      &NewErrorTemplateKind(),
  };
  return kinds;
}

const DetectorKind* FindDetectorKind(std::string_view name) {
  for (const DetectorKind* k : DetectorKinds()) {
    if (k->name == name) return k;
  }
  return nullptr;
}

const DetectorKind& KindOf(DetectorType type) {
  for (const DetectorKind* k : DetectorKinds()) {
    if (k->type == type) return *k;
  }
  return *DetectorKinds().front();  // every DetectorType is registered (detector_kind_test)
}

std::string DetectorKindNames() {
  std::string out;
  for (const DetectorKind* k : DetectorKinds()) {
    if (!out.empty()) out += ", ";
    out += k->name;
  }
  return out;
}

namespace {
std::string AtLeastOneSecond(DurationNs d) { return d < kNanosPerSecond ? "must be at least 1s" : ""; }
}  // namespace

std::vector<DetectorOption> WithCommonOptions(std::vector<DetectorOption> own, bool with_for) {
  using T = DetectorOption::Type;
  std::vector<DetectorOption> all;
  if (with_for) {
    all.push_back({"for", T::kDuration, 0, 0, false,
                   [](DetectorSpec* s, const OptionValue& v) {
                     s->for_duration = v.duration;
                     return std::string();
                   }});
  }
  all.push_back({"keep_firing_for", T::kDuration, 0, 0, false,
                 [](DetectorSpec* s, const OptionValue& v) {
                   s->keep_firing_for = v.duration;
                   return std::string();
                 }});
  // Before the kind's own: burn_rate's pairs take the detector's severity by default.
  all.push_back({"severity", T::kText, 0, 0, false, [](DetectorSpec* s, const OptionValue& v) {
                   if (v.text.empty()) return std::string("must not be empty");
                   s->severity = v.text;
                   return std::string();
                 }});
  all.push_back({"enabled", T::kBool, 0, 0, false, [](DetectorSpec* s, const OptionValue& v) {
                   s->enabled = v.flag;
                   return std::string();
                 }});
  all.insert(all.end(), own.begin(), own.end());
  all.push_back({"labels", T::kLabels, 0, 0, false, [](DetectorSpec* s, const OptionValue& v) {
                   s->labels = v.labels;
                   std::sort(s->labels.begin(), s->labels.end());
                   return std::string();
                 }});
  return all;
}

DetectorOption MinRequestsOption() {
  return {"min_requests", DetectorOption::Type::kCount, 0, static_cast<double>(uint64_t{1} << 40),
          false, [](DetectorSpec* s, const OptionValue& v) {
            s->min_requests = v.count;
            return std::string();
          }};
}

DetectorOption WindowOption() {
  return {"window", DetectorOption::Type::kDuration, 0, 0, /*window=*/true,
          [](DetectorSpec* s, const OptionValue& v) {
            std::string err = AtLeastOneSecond(v.duration);
            if (err.empty()) s->window = v.duration;
            return err;
          }};
}

DetectorOption MetricOption() {
  return {"metric", DetectorOption::Type::kText, 0, 0, false,
          [](DetectorSpec* s, const OptionValue& v) {
            if (ParseMetric(v.text, &s->metric)) return std::string();
            return std::string(
                "must be one of p50, p90, p95, p99, p999, error_rate, request_rate, error_log_rate");
          }};
}

DurationNs WindowedHold(const DetectorSpec& spec, DurationNs /*resolution*/) {
  return spec.window + spec.keep_firing_for + spec.for_duration;
}

std::vector<DetectorOption> LearnedBaselineOptions() {
  using T = DetectorOption::Type;
  return {
      {"sensitivity", T::kNumber, 0.5, 100.0, false,
       [](DetectorSpec* s, const OptionValue& v) {
         s->sensitivity = v.number;
         return std::string();
       }},
      {"min_spread", T::kNumber, 0.0, 1e12, false,
       [](DetectorSpec* s, const OptionValue& v) {
         s->baseline.min_spread = v.number;
         return std::string();
       }},
      {"learn_for", T::kDuration, 0, 0, false,
       [](DetectorSpec* s, const OptionValue& v) {
         s->baseline.learn_for = v.duration;
         return std::string();
       }},
      {"half_life", T::kDuration, 0, 0, false,
       [](DetectorSpec* s, const OptionValue& v) {
         std::string err = AtLeastOneSecond(v.duration);
         if (err.empty()) s->baseline.half_life = v.duration;
         return err;
       }},
      {"adapt_after", T::kDuration, 0, 0, false,
       [](DetectorSpec* s, const OptionValue& v) {
         s->baseline.adapt_after = v.duration;
         return std::string();
       }},
      {"seasonality", T::kBool, 0, 0, false,
       [](DetectorSpec* s, const OptionValue& v) {
         s->baseline.seasonality = v.flag;
         return std::string();
       }},
      {"score", T::kText, 0, 0, false,
       [](DetectorSpec* s, const OptionValue& v) {
         if (v.text == "deviation") s->score = ScoreMode::kDeviation;
         else if (v.text == "likelihood") s->score = ScoreMode::kLikelihood;
         else if (v.text == "context") s->score = ScoreMode::kContext;
         else return std::string("must be deviation, likelihood or context");
         return std::string();
       }},
  };
}

}  // namespace sitepulse
