#include "detect/detectors/traffic_drop.h"

#include "detect/detectors/learned.h"

namespace sitepulse {
namespace {

void Defaults(DetectorSpec* s) {
  s->metric = Metric::kRequestRate;
  s->direction = Direction::kDrop;
  s->sensitivity = 3;
  s->min_change = 0.5;
  s->min_requests = 100;  // the baseline must expect at least this many per window
  s->for_duration = 2 * 60 * kNanosPerSecond;
}

std::vector<DetectorOption> Options() {
  std::vector<DetectorOption> own = {
      WindowOption(),
      MinRequestsOption(),
      // The share of the baseline that must be gone.
      {"drop", DetectorOption::Type::kNumber, 0.01, 1.0, false,
       [](DetectorSpec* s, const OptionValue& v) {
         s->min_change = v.number;
         return std::string();
       }},
  };
  for (const DetectorOption& o : LearnedBaselineOptions()) own.push_back(o);
  return WithCommonOptions(std::move(own));
}

}  // namespace

const DetectorKind& TrafficDropKind() {
  static const DetectorKind kind = {
      .type = DetectorType::kTrafficDrop,
      .name = "traffic_drop",
      .doc = "the request rate fell below a share of its learned baseline",
      .options = Options(),
      .defaults = Defaults,
      .windowed = true,
      .idle_until_covered = true,
      .hold = WindowedHold,
      .for_other = [](const DetectorSpec&) { return false; },
      .learns = true,
      .make = [](const DetectorSpec& s, DetectorEnv&) -> std::unique_ptr<Detector> {
        return std::make_unique<LearnedDetector>(s, Metric::kRequestRate);
      },
      .series = true,
      .series_defaults =
          [](DetectorSpec* s) {
            s->direction = Direction::kDrop;
            s->min_change = 0.5;
            s->sensitivity = 3;
          },
  };
  return kind;
}

}  // namespace sitepulse
