#include "detect/detectors/learned.h"

#include <algorithm>
#include <cmath>

namespace sitepulse {

LearnedDetector::LearnedDetector(const DetectorSpec& spec, Metric metric)
    : Detector(spec), metric_(metric) {
  if (spec.score != ScoreMode::kDeviation) {
    evidence_ = std::make_unique<EvidenceScorer>(spec.score, spec.evidence);
  }
}

void LearnedDetector::Evaluate(const DetectorInput& in, DetectorEnv& env) {
  Emit(in, Judge(*in.window, in.now, env), env, primary_, spec_->name);
}

DetectorOutcome LearnedDetector::Judge(const WindowView& view, EventTime now, DetectorEnv& env) {
  const DetectorSpec& spec = *spec_;
  DetectorOutcome o;
  o.silent = view.requests + view.error_log_lines == 0;
  double value;
  if (spec.type == DetectorType::kTrafficDrop) {
    // A drop must be judged on windows with few or no requests: evaluable once the site has
    // existed for a whole window; the request floor applies to the baseline instead.
    if (view.covered_s * 1e9 < static_cast<double>(spec.window)) return o;
    value = static_cast<double>(view.requests) / view.covered_s;
  } else {
    const Evaluation e = EvaluateThreshold(spec, view);
    if (!e.evaluable) return o;
    value = e.value;
  }
  const bool was_warm = baseline_.warm();
  const BaselineVerdict v = baseline_.Observe(now, value, spec.baseline);
  const double directed_z = spec.direction == Direction::kRise   ? v.z
                            : spec.direction == Direction::kDrop ? -v.z
                                                                 : std::fabs(v.z);
  // The evidence learns from every evaluable window, warm or not (as `series` from every row).
  const double evidence = evidence_ ? evidence_->Score(value, v.warm, directed_z) : 0;

  if (v.warm && !was_warm) --env.baselines_warming;
  o.value = value;
  o.baseline = v.expected;
  o.warm = v.warm;
  if (!v.warm) return o;
  const double change = spec.min_change * std::fabs(v.expected);
  // deviation: `sensitivity` deviations; likelihood, context: the combined evidence at its
  // firing level, on the watched side of the baseline. Either way the relative change too.
  const bool strong_up = evidence_ ? evidence >= series_internal::kLikelihoodFires && value > v.expected
                                   : v.z >= spec.sensitivity;
  const bool strong_down = evidence_ ? evidence >= series_internal::kLikelihoodFires && value < v.expected
                                     : v.z <= -spec.sensitivity;
  const bool rise = strong_up && value - v.expected >= change && value >= spec.min_value;
  const bool drop = strong_down && v.expected - value >= change;
  // With evidence the spread does not decide: the line on the value axis is the relative change.
  const double band = evidence_ ? 0 : spec.sensitivity * v.spread;
  switch (spec.direction) {
    case Direction::kRise:
      o.condition = rise;
      o.threshold = std::max(v.expected + band, v.expected + change);
      break;
    case Direction::kDrop:
      o.condition = drop;
      o.threshold = std::min(v.expected - band, v.expected - change);
      break;
    case Direction::kBoth:
      o.condition = rise || drop;
      o.threshold = value >= v.expected
                        ? std::max(v.expected + band, v.expected + change)
                        : std::min(v.expected - band, v.expected - change);
      break;
  }
  if (spec.type == DetectorType::kTrafficDrop) {
    // A quiet site's "drop" from 0.02/s to 0 pages nobody: the baseline must carry the floor.
    const double expected_requests = v.expected * static_cast<double>(spec.window) / 1e9;
    if (expected_requests < static_cast<double>(std::max<uint64_t>(spec.min_requests, 1))) {
      o.condition = false;
    }
  }
  return o;
}

void LearnedDetector::Release(DetectorEnv& env) {
  if (!baseline_.warm()) --env.baselines_warming;
}

void LearnedDetector::SaveRecords(StateWriter& w, bool /*include_open*/) const {
  w.Word("baseline");
  baseline_.Save(w);
  w.EndLine();
  if (evidence_) {
    w.Word("evidence");
    evidence_->Save(w);
    w.EndLine();
  }
}

absl::Status LearnedDetector::LoadRecord(const std::string& word, StateReader& r,
                                         DetectorEnv& env) {
  if (word == "evidence" && evidence_) {
    if (!evidence_->Load(r)) return StateDamaged(r, "evidence");
    return absl::OkStatus();
  }
  if (word != "baseline") return Detector::LoadRecord(word, r, env);
  if (!baseline_.Load(r)) return StateDamaged(r, "baseline");
  if (baseline_.warm()) --env.baselines_warming;
  return absl::OkStatus();
}

}  // namespace sitepulse
