#include "detect/series_scorer.h"

#include <algorithm>
#include <cmath>

namespace sitepulse {

using series_internal::kLikelihoodFires;

double SeriesScorer::Score(EventTime t, double v) {
  if (spec_.type == DetectorType::kThreshold) {
    return (spec_.above ? v > spec_.threshold : v < spec_.threshold) ? 1 : 0;
  }
  const BaselineVerdict verdict = model_.Observe(t, v, spec_.baseline);
  const double z = spec_.direction == Direction::kRise   ? verdict.z
                   : spec_.direction == Direction::kDrop ? -verdict.z
                                                        : std::fabs(verdict.z);
  // The evidence learns from every row, warm or not.
  const double evidence =
      mode_ == ScoreMode::kDeviation ? 0 : evidence_.Score(v, verdict.warm, z);
  if (!verdict.warm) return 0;
  double score;
  double fires;
  if (mode_ == ScoreMode::kDeviation) {
    score = series_internal::ScoreOf(z, spec_.sensitivity);
    const double change = std::fabs(v - verdict.expected);
    if (change < spec_.min_change * std::fabs(verdict.expected) || v < spec_.min_value) {
      score = std::min(score, 0.49);  // the condition needs the relative change too
    }
    fires = 0.5;
  } else {
    score = evidence;
    fires = kLikelihoodFires;
  }
  // Only the row where the condition starts (or starts again after keep_firing_for) is a new
  // detection: while it holds, scores are damped below the firing level.
  const bool was_active = machine_.phase() == AlertPhase::kFiring;
  const AlertTransition tr = machine_.Step(score >= fires, t, alert_options_);
  if (was_active && tr != AlertTransition::kFire) {
    score = fires == 0.5 ? std::min(score, 0.49) * 0.5 : std::min(score, kLikelihoodFires) * 0.5;
  }
  return score;
}

}  // namespace sitepulse
