#include "detect/detectors/baseline.h"

#include "detect/detectors/learned.h"

namespace sitepulse {
namespace {

std::vector<DetectorOption> Options() {
  using T = DetectorOption::Type;
  std::vector<DetectorOption> own = {
      MetricOption(),
      WindowOption(),
      MinRequestsOption(),
      {"direction", T::kText, 0, 0, false,
       [](DetectorSpec* s, const OptionValue& v) {
         if (v.text == "rise") s->direction = Direction::kRise;
         else if (v.text == "drop") s->direction = Direction::kDrop;
         else if (v.text == "both") s->direction = Direction::kBoth;
         else return std::string("must be rise, drop or both");
         return std::string();
       }},
      {"min_change", T::kNumber, 0.0, 1000.0, false,
       [](DetectorSpec* s, const OptionValue& v) {
         s->min_change = v.number;
         return std::string();
       }},
  };
  for (const DetectorOption& o : LearnedBaselineOptions()) own.push_back(o);
  return WithCommonOptions(std::move(own));
}

}  // namespace

const DetectorKind& BaselineKind() {
  static const DetectorKind kind = {
      .type = DetectorType::kBaseline,
      .name = "baseline",
      .doc = "a window metric against its learned baseline (level, spread, daily and weekly seasons)",
      .options = Options(),
      .required = {"metric"},
      .defaults =
          [](DetectorSpec* s) {
            s->direction = Direction::kRise;
            s->for_duration = 2 * 60 * kNanosPerSecond;
          },
      .windowed = true,
      .volume_gated = true,
      .hold = WindowedHold,
      .for_other = [](const DetectorSpec& s) { return !IsLatencyMetric(s.metric); },
      .learns = true,
      .make = [](const DetectorSpec& s, DetectorEnv&) -> std::unique_ptr<Detector> {
        return std::make_unique<LearnedDetector>(s, s.metric);
      },
      .series = true,
      // An exported metric with no configuration: a change either way is an anomaly (NAB).
      .series_defaults = [](DetectorSpec* s) { s->direction = Direction::kBoth; },
  };
  return kind;
}

}  // namespace sitepulse
