// How `sitepulse series` scores one exported metric row by row (docs/detectors.md): a threshold
// crossed, or a learned baseline's deviation, optionally weighed by the evidence of
// evidence_scorer.h (the same the live learned detectors weigh with `score: context`).
//
// Threading: one scorer per series, used by one thread.
#pragma once

#include "core/time.h"
#include "detect/alert_state_machine.h"
#include "detect/baseline_model.h"
#include "detect/evidence_scorer.h"
#include "detect/threshold_detector.h"

namespace sitepulse {
class SeriesScorer {
 public:
  // deviation: the baseline's deviation score; likelihood: how unusual recent deviations are;
  // context: that, sequence surprise, mean shift and new extremes together.
  SeriesScorer(const DetectorSpec& spec, ScoreMode mode, const SeriesTuning& tuning = {})
      : spec_(spec),
        mode_(mode),
        evidence_(mode == ScoreMode::kDeviation ? ScoreMode::kLikelihood : mode, tuning),
        alert_options_{0, spec.keep_firing_for} {}
  // The score in [0, 1] of the next row (rows in the order given).
  double Score(EventTime t, double v);

 private:
  DetectorSpec spec_;
  ScoreMode mode_;
  EvidenceScorer evidence_;  // unused in deviation mode
  BaselineModel model_;
  // Only the row where the condition starts (or starts again after keep_firing_for without it)
  // is a new detection, as for alerts: while it holds, scores are damped below 0.5.
  AlertStateMachine machine_;
  AlertStateMachine::Options alert_options_;
};

}  // namespace sitepulse
