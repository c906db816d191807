#include "detect/detectors/threshold.h"

#include "core/strings.h"

namespace sitepulse {
namespace {

class ThresholdDetector : public Detector {
 public:
  using Detector::Detector;

  void Evaluate(const DetectorInput& in, DetectorEnv& env) override {
    const WindowView& view = *in.window;
    DetectorOutcome o;
    o.silent = view.requests + view.error_log_lines == 0;
    const Evaluation e = EvaluateThreshold(*spec_, view);
    o.condition = e.evaluable && e.condition;
    o.value = e.value;
    o.threshold = spec_->threshold;
    Emit(in, o, env, primary_, spec_->name);
  }

 protected:
  std::string Summary(std::string_view site, const DetectorOutcome& o,
                      AlertState state) const override {
    if (state == AlertState::kNoData) return SilentWindowSummary(*spec_, site, spec_->metric);
    return ThresholdSummary(*spec_, site, o.value, state == AlertState::kFiring);
  }
};

std::vector<DetectorOption> Options() {
  using T = DetectorOption::Type;
  return WithCommonOptions({
      MetricOption(),
      {"op", T::kText, 0, 0, false,
       [](DetectorSpec* s, const OptionValue& v) {
         if (v.text == "above" || v.text == ">") s->above = true;
         else if (v.text == "below" || v.text == "<") s->above = false;
         else return std::string("must be above or below");
         return std::string();
       }},
      {"threshold", T::kNumber, 0.0, 1e12, false,
       [](DetectorSpec* s, const OptionValue& v) {
         s->threshold = v.number;
         return std::string();
       }},
      WindowOption(),
      MinRequestsOption(),
  });
}

}  // namespace

const DetectorKind& ThresholdKind() {
  static const DetectorKind kind = {
      .type = DetectorType::kThreshold,
      .name = "threshold",
      .doc = "a window metric above (or below) a fixed value",
      .options = Options(),
      .required = {"metric", "threshold"},
      .windowed = true,
      .volume_gated = true,
      .judged_by_threshold = true,
      .hold = WindowedHold,
      .for_other = [](const DetectorSpec& s) { return !IsLatencyMetric(s.metric); },
      .make = [](const DetectorSpec& s, DetectorEnv&) -> std::unique_ptr<Detector> {
        return std::make_unique<ThresholdDetector>(s);
      },
      .series = true,
  };
  return kind;
}

}  // namespace sitepulse
