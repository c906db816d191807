// The evidence that `sitepulse series --score likelihood|context` weighs for one series, and that
// the live learned detectors weigh with `score: likelihood|context` (docs/detectors.md): one
// implementation for both, so that the NAB figures in docs/detection.md describe what `run` does.
//
//   likelihood: how unusual the recent deviations from the baseline are against the series' own
//               history of deviations (Numenta's anomaly likelihood);
//   context:    the highest of that and the same likelihood of two more kinds of evidence (how
//               unexpected a value's coarse level is after the few before it; how far the recent
//               mean sits from the long-run mean), each with its own firing level; a value beyond
//               the range seen so far by more than a tolerance scores 1.
//
// Memory is fixed once constructed: the sequence table is 8^order contexts of 8 counts (order 2:
// 2 KiB), the mean-shift window `shift_window` values. `MemoryBytes()` says how much.
//
// Threading: one scorer per series, used by one thread.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/state_codec.h"

namespace sitepulse {

// The context scorer's own constants. The defaults were chosen on the shared NAB subset;
// `sitepulse series --tune NAME=VALUE` overrides them so that scripts/nab-cv.sh can choose them
// on some categories and score the others (docs/detection.md).
struct SeriesTuning {
  double sequence_fires = 0.995;    // sequence surprise fires at this likelihood
  double shift_fires = 0.995;       // mean shift fires at this likelihood
  double extreme_tolerance = 0.05;  // a new extreme: beyond the range by this share of it
  int shift_window = 48;            // rows in the mean shift's recent window (2..1000)
  int order = 3;                    // levels of context before the one predicted (0..5)
  bool operator==(const SeriesTuning&) const = default;
};

// How a learned baseline's verdicts become a score: the deviation alone (the default), or with
// the evidence above.
enum class ScoreMode { kDeviation, kLikelihood, kContext };

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
  double Score(double deviation);
  void Save(StateWriter& w) const;
  bool Load(StateReader& r);

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
  bool Observe(double v);
  void Save(StateWriter& w) const;
  bool Load(StateReader& r);

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
  explicit MeanShift(int window = 48)
      : kWindow(static_cast<size_t>(std::max(window, 1))), window_(kWindow) {}
  double Score(double v);
  void Save(StateWriter& w) const;
  bool Load(StateReader& r);
  size_t MemoryBytes() const { return kWindow * sizeof(double); }

 private:
  size_t kWindow;
  static constexpr double kLongRun = 2000;
  static constexpr uint64_t kMinLongRun = 50;
  std::vector<double> window_;  // a ring: the oldest at head_ once full
  size_t head_ = 0, size_ = 0;
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
  static constexpr int kLevels = 8;  // 3 bits each in history_
  static constexpr int kMaxOrder = 5;
  explicit SequenceSurprise(int order = 3);
  double Score(double v);
  void Save(StateWriter& w) const;
  bool Load(StateReader& r);
  size_t MemoryBytes() const { return counts_.capacity() * sizeof(counts_[0]); }

 private:
  int kOrder;
  static constexpr double kPrior = 0.1;
  uint64_t n_ = 0;
  double lo_ = 0, hi_ = 0;
  uint32_t history_ = 0;  // the last kOrder levels
  std::vector<std::array<uint32_t, kLevels>> counts_;  // 8^kOrder contexts
};
}  // namespace series_internal

class EvidenceScorer {
 public:
  // `mode` is kLikelihood or kContext.
  EvidenceScorer(ScoreMode mode, const SeriesTuning& tuning);

  // Learns from the value `v` (every call, warm or not) and, when `warm`, returns the combined
  // score on the common scale (series_internal::kLikelihoodFires fires), given the baseline's
  // deviation in the watched direction; 0 when not warm.
  double Score(double v, bool warm, double directed_z);

  void Save(StateWriter& w) const;
  bool Load(StateReader& r);
  // Heap and inline bytes of this scorer.
  size_t MemoryBytes() const;

 private:
  ScoreMode mode_;
  SeriesTuning tuning_;
  series_internal::Likelihood likelihood_, sequence_likelihood_, shift_likelihood_;
  series_internal::SequenceSurprise sequence_;
  series_internal::MeanShift shift_;
  series_internal::NewExtreme extreme_;
};

}  // namespace sitepulse
