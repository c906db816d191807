// How `sitepulse series` scores one exported metric row by row (docs/detectors.md): a threshold
// crossed, or a learned baseline's deviation, optionally weighed by how unusual it is against the
// series' own history (Numenta's anomaly likelihood), by how unexpected the value's level is in
// its sequence, by a shift of the recent mean, and by a new extreme. Here in detect/ so that the
// live detectors can use the same evidence.
//
// Threading: one scorer per series, used by one thread.
#pragma once

#include <array>
#include <cstdint>
#include <deque>

#include "absl/container/flat_hash_map.h"
#include "core/time.h"
#include "detect/alert_state_machine.h"
#include "detect/baseline_model.h"
#include "detect/threshold_detector.h"

namespace sitepulse {
// The context scorer's own constants. The defaults were chosen on the shared NAB subset;
// `sitepulse series --tune NAME=VALUE` overrides them so that scripts/nab-cv.sh can choose them
// on some categories and score the others (docs/detection.md).
struct SeriesTuning {
  double sequence_fires = 0.995;    // sequence surprise fires at this likelihood
  double shift_fires = 0.995;       // mean shift fires at this likelihood
  double extreme_tolerance = 0.05;  // a new extreme: beyond the range by this share of it
  int shift_window = 48;            // rows in the mean shift's recent window (2..1000)
  int order = 3;                    // levels of context before the one predicted (1..10)
};

namespace series_internal {
// 1 - 2^-(d/s)^2: 0 at no deviation, 0.5 at `sensitivity` deviations, towards 1 beyond.
inline double ScoreOf(double directed_z, double sensitivity) {
  if (!(directed_z > 0)) return 0;
  const double r = directed_z / sensitivity;
  return 1 - std::exp2(-r * r);
}

// Tail probability of the mean of the last 10 deviations under a normal fitted (exponentially,
// half-life 1,000 rows) to all the deviations seen so far: 1 - P(that mean or more).
class Likelihood {
 public:
  double Score(double deviation) {
    recent_[next_++ % kRecent] = deviation;
    const size_t have = std::min(next_, kRecent);
    double avg = 0;
    for (size_t i = 0; i < have; ++i) avg += recent_[i];
    avg /= static_cast<double>(have);
    ++n_;
    const double a = std::max(1.0 / static_cast<double>(n_), 1 - std::exp2(-1.0 / 1000));
    const double sd = std::sqrt(std::max(var_, 1e-6));
    const double score =
        n_ < 50 ? 0 : 1 - 0.5 * std::erfc((avg - mean_) / (sd * std::sqrt(2.0)));
    const double d = deviation - mean_;
    mean_ += a * d;
    var_ = (1 - a) * (var_ + a * d * d);
    return score;
  }

 private:
  static constexpr size_t kRecent = 10;
  double recent_[kRecent] = {};
  size_t next_ = 0;
  uint64_t n_ = 0;
  double mean_ = 0;
  double var_ = 1;
};
constexpr double kLikelihoodFires = 0.99;

// Maps a likelihood that fires at `fires` onto the common scale, where kLikelihoodFires fires:
// [0, fires] -> [0, kLikelihoodFires] and [fires, 1] -> [kLikelihoodFires, 1], so that evidence
// that needs more certainty to page can be compared (max) with the rest.
inline double OnCommonScale(double likelihood, double fires) {
  if (likelihood <= fires) return likelihood / fires * kLikelihoodFires;
  return kLikelihoodFires + (likelihood - fires) / (1 - fires) * (1 - kLikelihoodFires);
}

// A value beyond the range of every value before it by more than kTolerance of that range (what
// Numenta's NAB detector calls a spatial anomaly, with its tolerance): a new extreme is news
// whatever the recent history says. Needs two distinct values first.
class NewExtreme {
 public:
  explicit NewExtreme(double tolerance = 0.05) : kTolerance(tolerance) {}
  bool Observe(double v) {
    bool beyond = false;
    if (n_ > 0 && hi_ > lo_) {
      const double tolerance = (hi_ - lo_) * kTolerance;
      beyond = v > hi_ + tolerance || v < lo_ - tolerance;
    }
    if (n_++ == 0) lo_ = hi_ = v;
    lo_ = std::min(lo_, v);
    hi_ = std::max(hi_, v);
    return beyond;
  }

 private:
  double kTolerance;
  uint64_t n_ = 0;
  double lo_ = 0, hi_ = 0;
};

// How far the mean of the last kWindow values sits from the long-run mean of the values before
// them, in standard errors: a sustained shift that single values, each within the spread, hide.
// Negative until the long run has enough values.
class MeanShift {
 public:
  explicit MeanShift(int window = 48) : kWindow(static_cast<size_t>(window)) {}
  double Score(double v) {
    window_.push_back(v);
    sum_ += v;
    if (window_.size() > kWindow) {
      // The value leaving the window joins the long run (exponential, half-life ~1,400 rows).
      const double old = window_.front();
      window_.pop_front();
      sum_ -= old;
      ++n_;
      const double a = std::max(1.0 / static_cast<double>(n_), 1.0 / kLongRun);
      const double d = old - mean_;
      mean_ += a * d;
      var_ = (1 - a) * (var_ + a * d * d);
    }
    if (n_ <= kMinLongRun) return -1;
    const double w = static_cast<double>(kWindow);
    const double standard_error = std::sqrt(std::max(var_, 1e-12) / w);
    return std::fabs(sum_ / w - mean_) / standard_error;
  }

 private:
  size_t kWindow;
  static constexpr double kLongRun = 2000;
  static constexpr uint64_t kMinLongRun = 50;
  std::deque<double> window_;
  double sum_ = 0;
  uint64_t n_ = 0;
  double mean_ = 0, var_ = 0;
};

// How unexpected a value is after the few before it. Values fall into kLevels equal levels of
// the range seen so far (min to max); a table counts, for every run of kOrder levels, which
// level came next. The surprise of a value is 1 - P(its level | the kOrder before it), P
// estimated from the counts (plus a small prior). A series that repeats its shapes becomes
// predictable; a new shape (a step, a new rhythm, a level never seen) is a surprise even when
// the value itself is unremarkable.
class SequenceSurprise {
 public:
  explicit SequenceSurprise(int order = 3) : kOrder(order) {}
  double Score(double v) {
    if (n_++ == 0) lo_ = hi_ = v;
    lo_ = std::min(lo_, v);
    hi_ = std::max(hi_, v);
    const double span = hi_ - lo_;
    const int level =
        span > 0 ? std::clamp(static_cast<int>(kLevels * (v - lo_) / span), 0, kLevels - 1) : 0;
    std::array<uint32_t, kLevels>& next = counts_[history_];
    uint32_t total = 0;
    for (uint32_t c : next) total += c;
    const double p = (next[static_cast<size_t>(level)] + kPrior) / (total + kPrior * kLevels);
    ++next[static_cast<size_t>(level)];
    history_ = ((history_ << 3) | static_cast<uint32_t>(level)) & ((1u << (3 * kOrder)) - 1);
    return 1 - p;
  }

 private:
  static constexpr int kLevels = 8;  // 3 bits each in history_
  int kOrder;
  static constexpr double kPrior = 0.1;
  uint64_t n_ = 0;
  double lo_ = 0, hi_ = 0;
  uint32_t history_ = 0;  // the last kOrder levels
  absl::flat_hash_map<uint32_t, std::array<uint32_t, kLevels>> counts_;
};
}  // namespace series_internal

class SeriesScorer {
 public:
  // deviation: the baseline's deviation score; likelihood: how unusual recent deviations are;
  // context: that, sequence surprise, mean shift and new extremes together.
  enum class Mode { kDeviation, kLikelihood, kContext };
  SeriesScorer(const DetectorSpec& spec, Mode mode, const SeriesTuning& tuning = {})
      : spec_(spec),
        mode_(mode),
        tuning_(tuning),
        sequence_(tuning.order),
        shift_(tuning.shift_window),
        extreme_(tuning.extreme_tolerance),
        model_(spec.baseline),
        alert_options_{0, spec.keep_firing_for} {}
  // The score in [0, 1] of the next row (rows in the order given).
  double Score(EventTime t, double v);

 private:
  DetectorSpec spec_;
  Mode mode_;
  SeriesTuning tuning_;
  series_internal::Likelihood likelihood_, sequence_likelihood_, shift_likelihood_;
  series_internal::SequenceSurprise sequence_;
  series_internal::MeanShift shift_;
  series_internal::NewExtreme extreme_;
  BaselineModel model_;
  // Only the row where the condition starts (or starts again after keep_firing_for without it)
  // is a new detection, as for alerts: while it holds, scores are damped below 0.5.
  AlertStateMachine machine_;
  AlertStateMachine::Options alert_options_;
};

}  // namespace sitepulse
