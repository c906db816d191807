#include "detect/series_scorer.h"

#include <algorithm>
#include <cmath>

namespace sitepulse {

using namespace series_internal;  // NOLINT: this file's own helpers

double SeriesScorer::Score(EventTime t, double v) {
  double score = 0;
  if (spec_.type == DetectorType::kThreshold) {
    score = (spec_.above ? v > spec_.threshold : v < spec_.threshold) ? 1 : 0;
  } else {
    const BaselineVerdict verdict = model_.Observe(t, v);
    // Learns from every row, warm or not.
    const double sequence_score =
        mode_ == Mode::kContext ? sequence_likelihood_.Score(sequence_.Score(v)) : 0;
    const double shift_raw = mode_ == Mode::kContext ? shift_.Score(v) : -1;
    const double shift_score = shift_raw >= 0 ? shift_likelihood_.Score(shift_raw) : 0;
    const bool new_extreme = mode_ == Mode::kContext && extreme_.Observe(v);
    if (verdict.warm) {
      const double z = spec_.direction == Direction::kRise   ? verdict.z
                       : spec_.direction == Direction::kDrop ? -verdict.z
                                                            : std::fabs(verdict.z);
      score = ScoreOf(z, spec_.sensitivity);
      const double change = std::fabs(v - verdict.expected);
      if (change < spec_.min_change * std::fabs(verdict.expected) || v < spec_.min_value) {
        score = std::min(score, 0.49);  // the condition needs the relative change too
      }
      if (mode_ != Mode::kDeviation) {
        // How unusual the recent deviations are against this series' own history of them
        // (Numenta's "anomaly likelihood"): a series that always jumps gets no credit for
        // jumping; a quiet one that starts to move does.
        score = likelihood_.Score(std::max(0.0, z));
        // Three kinds of evidence, each against its own history: a value far from the
        // baseline, a value out of the series' usual sequence, a shift of the recent mean;
        // the last two fire at higher likelihoods (swept on NAB: they are noisier). A new
        // extreme fires outright.
        if (mode_ == Mode::kContext) {
          score = std::max({score, OnCommonScale(sequence_score, tuning_.sequence_fires),
                            OnCommonScale(shift_score, tuning_.shift_fires)});
          if (new_extreme) score = 1;
        }
        const bool was_active = machine_.phase() == AlertPhase::kFiring;
        const AlertTransition tr = machine_.Step(score >= kLikelihoodFires, t, alert_options_);
        if (was_active && tr != AlertTransition::kFire) score = std::min(score, kLikelihoodFires) * 0.5;
      } else {
      const bool was_active = machine_.phase() == AlertPhase::kFiring;
      const AlertTransition tr = machine_.Step(score >= 0.5, t, alert_options_);
      if (was_active && tr != AlertTransition::kFire) score = std::min(score, 0.49) * 0.5;
      }
    }
  }
  return score;
}

}  // namespace sitepulse
