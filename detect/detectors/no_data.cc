#include "detect/detectors/no_data.h"

#include "core/duration.h"
#include "core/strings.h"

namespace sitepulse {
namespace {

class NoDataDetector : public Detector {
 public:
  using Detector::Detector;

  void Evaluate(const DetectorInput& in, DetectorEnv& env) override {
    const DetectorSpec& spec = *spec_;
    DetectorOutcome o;
    o.value = in.last_data_end == INT64_MIN ? 0 : static_cast<double>(in.now - in.last_data_end) / 1e9;
    o.threshold = static_cast<double>(spec.no_data_after) / 1e9;
    o.condition = in.last_data_end != INT64_MIN && in.now - in.last_data_end >= spec.no_data_after;
    Emit(in, o, env, primary_, spec.name);
  }

 protected:
  std::string_view MetricName() const override { return "silence_s"; }
  DurationNs EventWindow(const DetectorOutcome&) const override { return spec_->no_data_after; }
  AlertState StateOf(bool firing, const DetectorOutcome&) const override {
    return firing ? AlertState::kNoData : AlertState::kResolved;
  }
  std::string Summary(std::string_view site, const DetectorOutcome& o,
                      AlertState state) const override {
    if (state == AlertState::kNoData) {
      return StrCat(site, " has sent no requests or error-log lines for ",
                    FormatDuration(static_cast<DurationNs>(o.value) * kNanosPerSecond),
                    " (alert after ", FormatDuration(spec_->no_data_after), ")");
    }
    return StrCat(site, " sends data again");
  }
};

}  // namespace

const DetectorKind& NoDataKind() {
  static const DetectorKind kind = {
      .type = DetectorType::kNoData,
      .name = "no_data",
      .doc = "a site that sent no requests or error-log lines for a while",
      .options = WithCommonOptions({
          {"after", DetectorOption::Type::kDuration, 0, 0, false,
           [](DetectorSpec* s, const OptionValue& v) {
             if (v.duration < kNanosPerSecond) return std::string("must be at least 1s");
             s->no_data_after = v.duration;
             return std::string();
           }},
      }),
      .idle_while_data_within = [](const DetectorSpec& s) { return s.no_data_after; },
      .hold = [](const DetectorSpec& s, DurationNs) { return s.no_data_after + s.keep_firing_for; },
      .for_other = [](const DetectorSpec&) { return false; },
      .make = [](const DetectorSpec& s, DetectorEnv&) -> std::unique_ptr<Detector> {
        return std::make_unique<NoDataDetector>(s);
      },
  };
  return kind;
}

}  // namespace sitepulse
