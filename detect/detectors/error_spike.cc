#include "detect/detectors/error_spike.h"

#include "detect/detectors/learned.h"

namespace sitepulse {
namespace {

void Defaults(DetectorSpec* s) {
  s->metric = Metric::kErrorLogRate;
  s->direction = Direction::kRise;
  s->min_change = 2;  // factor 3
  s->min_value = 0.05;
  s->for_duration = 60 * kNanosPerSecond;
}

std::vector<DetectorOption> Options() {
  using T = DetectorOption::Type;
  std::vector<DetectorOption> own = {
      WindowOption(),
      MinRequestsOption(),
      // How many times the baseline.
      {"factor", T::kNumber, 1.0, 1e6, false,
       [](DetectorSpec* s, const OptionValue& v) {
         s->min_change = v.number - 1;
         return std::string();
       }},
      {"min_rate", T::kNumber, 0.0, 1e12, false,
       [](DetectorSpec* s, const OptionValue& v) {
         s->min_value = v.number;
         return std::string();
       }},
  };
  for (const DetectorOption& o : LearnedBaselineOptions()) own.push_back(o);
  return WithCommonOptions(std::move(own));
}

}  // namespace

const DetectorKind& ErrorSpikeKind() {
  static const DetectorKind kind = {
      .type = DetectorType::kErrorSpike,
      .name = "error_spike",
      .doc = "the error-log rate rose to several times its learned baseline",
      .options = Options(),
      .defaults = Defaults,
      .windowed = true,
      .volume_gated = true,
      .hold = WindowedHold,
      .for_other = [](const DetectorSpec&) { return true; },
      .learns = true,
      .make = [](const DetectorSpec& s, DetectorEnv&) -> std::unique_ptr<Detector> {
        return std::make_unique<LearnedDetector>(s, Metric::kErrorLogRate);
      },
      .series = true,
      .series_defaults = [](DetectorSpec* s) { s->min_change = 2; },
  };
  return kind;
}

}  // namespace sitepulse
