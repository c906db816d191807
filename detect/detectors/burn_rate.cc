#include "detect/detectors/burn_rate.h"

#include <algorithm>
#include <memory>
#include <optional>

#include "absl/strings/str_format.h"
#include "core/duration.h"
#include "core/strings.h"
#include "detect/burn_rate.h"

namespace sitepulse {
namespace {

std::string Percent(double share) { return absl::StrFormat("%.10g%%", share * 100); }

class BurnRateDetector : public Detector {
 public:
  BurnRateDetector(const DetectorSpec& spec, DurationNs resolution)
      : Detector(spec), burn_(spec, resolution) {
    // One alert per severity among the pairs, in the order they first appear (each names the
    // first pair of its severity).
    std::vector<int32_t> firsts;
    for (size_t i = 0; i < spec.pairs.size(); ++i) {
      const auto same = [&](int32_t f) {
        return spec.pairs[static_cast<size_t>(f)].severity == spec.pairs[i].severity;
      };
      if (std::none_of(firsts.begin(), firsts.end(), same)) {
        firsts.push_back(static_cast<int32_t>(i));
      }
    }
    if (!firsts.empty()) primary_.severity_pair = firsts[0];
    if (firsts.size() > 1) {
      second_.emplace();
      second_->severity_pair = firsts[1];
    }
  }

  void OnBucket(EventTime end, const BucketCounters& c, const DenseSketch& latency,
                const SketchMapping& mapping) override {
    uint64_t good, total;
    if (spec_->sli == Sli::kAvailability) {
      total = c.requests;
      good = total - std::min(total, c.errors_5xx);
    } else {
      total = latency.count();
      good = latency.CountAtMost(mapping.Bin(spec_->latency_threshold_s));
    }
    burn_.Add(end, good, total);
  }

  void Evaluate(const DetectorInput& in, DetectorEnv& env) override {
    // No long window at its request floor and no alert active: judging would move nothing (an
    // inactive alert stays so on a false condition), so it is skipped, the rings expired as
    // judging expires them. A young or quiet site's closes end here.
    // Judging and the floor read every ring (each pair's two), so all are expired first.
    burn_.ExpireAll(in.now);
    if (!env.judge_every_close && !Busy() && !AnyAtFloor()) return;
    const DetectorOutcome o = Judge(primary_);
    if (second_) Emit(in, Judge(*second_), env, *second_, spec_->name, SuffixOf(*second_));
    Emit(in, o, env, primary_, spec_->name, SuffixOf(primary_));
  }

  bool Busy() const override {
    return Detector::Busy() ||
           (second_ && second_->machine.phase() != AlertPhase::kInactive);
  }

  void SaveRecords(StateWriter& w, bool /*include_open*/) const override {
    if (second_) {
      const AlertStateMachine& m = second_->machine;
      w.Word("second").Int(static_cast<int>(m.phase())).Int(m.started_at()).Int(m.last_true())
          .Word(second_->incident_id());
      w.EndLine();
    }
    w.Word("burn");
    burn_.Save(w);
    w.EndLine();
  }

  absl::Status LoadRecord(const std::string& word, StateReader& r, DetectorEnv& env) override {
    if (word == "burn") {
      if (!burn_.Load(r)) return StateDamaged(r, "burn-rate state");
      return absl::OkStatus();
    }
    if (word != "second") return Detector::LoadRecord(word, r, env);
    int64_t phase, started, last_true;
    std::string id;
    if (!second_ || !r.Int(&phase) || phase < 0 || phase > 2 || !r.Time(&started) ||
        !r.Time(&last_true) || !r.Word(&id)) {
      return StateDamaged(r, "second alert");
    }
    second_->set_incident_id(std::move(id));
    second_->machine.Restore(static_cast<AlertPhase>(phase), started, last_true);
    return absl::OkStatus();
  }

 protected:
  std::string_view MetricName() const override { return "burn_rate"; }
  DurationNs EventWindow(const DetectorOutcome& o) const override {
    return o.window > 0 ? o.window : spec_->window;
  }
  std::string Summary(std::string_view site, const DetectorOutcome& o,
                      AlertState state) const override;

 private:
  // The burn_rate's second alert (the ticket) is its own incident: name:severity (Emit joins
  // them only when it fires; a string made here at every close cost an allocation).
  std::string_view SuffixOf(const Alert& a) const {
    const std::string& severity = SeverityOf(a);
    return severity == spec_->severity ? std::string_view() : std::string_view(severity);
  }
  // The rings expired as of the close judged (BurnState::ExpireAll).
  DetectorOutcome Judge(const Alert& alert) const;
  // Whether some pair's long window holds min_requests.
  bool AnyAtFloor() const {
    const uint64_t floor = std::max<uint64_t>(spec_->min_requests, 1);
    for (size_t i = 0; i < spec_->pairs.size(); ++i) {
      if (burn_.LongRequests(i) >= floor) return true;
    }
    return false;
  }

  BurnState burn_;
  // Pairs of a second severity (inline: Busy reads it at every close).
  std::optional<Alert> second_;
};

DetectorOutcome BurnRateDetector::Judge(const Alert& alert) const {
  const DetectorSpec& spec = *spec_;
  const std::string& severity = SeverityOf(alert);
  DetectorOutcome o;
  bool first = true;
  for (size_t i = 0; i < spec.pairs.size(); ++i) {
    const BurnPair& p = spec.pairs[i];
    if (p.severity != severity) continue;
    const double long_rate = burn_.LongRate(i);
    const double short_rate = burn_.ShortRate(i);
    const uint64_t requests = burn_.LongRequests(i);
    const bool enough = requests >= std::max<uint64_t>(spec.min_requests, 1) &&
                        static_cast<double>(requests) * (1 - spec.objective) * p.factor >= spec.min_bad;
    const bool firing = enough && long_rate > p.factor && short_rate > p.factor;
    // Report the pair that fires (or the first one): its long window, rate and factor.
    if (firing || first) {
      o.value = long_rate;
      o.short_value = short_rate;
      o.threshold = p.factor;
      o.window = p.long_window;
      o.short_window = p.short_window;
      first = false;
    }
    if (firing) {
      o.condition = true;
      break;
    }
  }
  return o;
}

std::string BurnRateDetector::Summary(std::string_view site, const DetectorOutcome& o,
                                      AlertState state) const {
  const DetectorSpec& spec = *spec_;
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

std::vector<DetectorOption> Options() {
  using T = DetectorOption::Type;
  return WithCommonOptions({
      {"sli", T::kText, 0, 0, false,
       [](DetectorSpec* s, const OptionValue& v) {
         if (v.text == "availability") s->sli = Sli::kAvailability;
         else if (v.text == "latency") s->sli = Sli::kLatency;
         else return std::string("must be availability or latency");
         return std::string();
       }},
      // A percentage: 99.9 for 99.9%.
      {"objective", T::kNumber, 50.0, 99.9999, false,
       [](DetectorSpec* s, const OptionValue& v) {
         s->objective = v.number / 100;
         return std::string();
       }},
      {"min_bad", T::kNumber, 0.0, 1e9, false,
       [](DetectorSpec* s, const OptionValue& v) {
         s->min_bad = v.number;
         return std::string();
       }},
      {"latency_threshold", T::kDuration, 0, 0, false,
       [](DetectorSpec* s, const OptionValue& v) {
         s->latency_threshold_s = static_cast<double>(v.duration) / 1e9;
         return std::string();
       }},
      {"pairs", T::kBurnPairs, 0, 0, false,
       [](DetectorSpec* s, const OptionValue& v) {
         s->pairs = v.pairs;
         return std::string();
       }},
      MinRequestsOption(),
  });
}

}  // namespace

const DetectorKind& BurnRateKind() {
  static const DetectorKind kind = {
      .type = DetectorType::kBurnRate,
      .name = "burn_rate",
      .doc = "an SLO's error budget burning too fast over two windows (SRE Workbook pairs)",
      .options = Options(),
      .required = {"objective"},
      .also_required = [](const DetectorSpec& s, const std::vector<std::string>& given) {
        if (s.sli != Sli::kLatency ||
            std::find(given.begin(), given.end(), "latency_threshold") != given.end()) {
          return std::string();
        }
        return std::string("missing required key 'latency_threshold' (sli: latency)");
      },
      .defaults =
          [](DetectorSpec* s) {
            s->pairs = DefaultBurnPairs();
            s->min_requests = 100;
          },
      .reads_buckets = true,
      .hold =
          [](const DetectorSpec& s, DurationNs) {
            DurationNs hold = 0;
            for (const BurnPair& p : s.pairs) {
              hold = std::max(hold, p.long_window + s.keep_firing_for + s.for_duration);
            }
            return hold;
          },
      .for_other = [](const DetectorSpec& s) { return s.sli == Sli::kAvailability; },
      .make = [](const DetectorSpec& s, DetectorEnv& env) -> std::unique_ptr<Detector> {
        return std::make_unique<BurnRateDetector>(s, env.resolution);
      },
  };
  return kind;
}

}  // namespace sitepulse
