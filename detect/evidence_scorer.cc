#include "detect/evidence_scorer.h"

namespace sitepulse {
namespace series_internal {
namespace {

// What a restored snapshot may hold: far beyond any metric, far below where sums of ten of them
// or their squares overflow.
bool Sane(double v) { return std::fabs(v) <= 1e150; }
// Counts of values seen: far above any stream's (2^53 values at a million a second take 285
// years), far below where incrementing wraps them to 0 (a division by zero in Likelihood).
bool SaneCount(uint64_t n) { return n <= (uint64_t{1} << 53); }

}  // namespace

double Likelihood::Score(double deviation) {
  recent_[next_++ % kRecent] = deviation;
  const size_t have = std::min(next_, kRecent);
  double avg = 0;
  for (size_t i = 0; i < have; ++i) avg += recent_[i];
  avg /= static_cast<double>(have);
  ++n_;
  const double a = std::max(1.0 / static_cast<double>(n_), 1 - std::exp2(-1.0 / 1000));
  const double sd = std::sqrt(std::max(var_, 1e-6));
  const double score = n_ < 50 ? 0 : 1 - 0.5 * std::erfc((avg - mean_) / (sd * std::sqrt(2.0)));
  const double d = deviation - mean_;
  mean_ += a * d;
  var_ = (1 - a) * (var_ + a * d * d);
  return score;
}

void Likelihood::Save(StateWriter& w) const {
  for (double d : recent_) w.Double(d);
  w.UInt(next_).UInt(n_).Double(mean_).Double(var_);
}

bool Likelihood::Load(StateReader& r) {
  for (double& d : recent_) {
    if (!r.Double(&d) || !Sane(d)) return false;
  }
  uint64_t next;
  if (!r.UInt(&next) || !r.UInt(&n_) || !r.Double(&mean_) || !r.Double(&var_) ||
      !SaneCount(next) || !SaneCount(n_)) {
    return false;
  }
  next_ = static_cast<size_t>(next);
  return Sane(mean_) && Sane(var_) && var_ >= 0;
}

bool NewExtreme::Observe(double v) {
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

void NewExtreme::Save(StateWriter& w) const { w.UInt(n_).Double(lo_).Double(hi_); }

bool NewExtreme::Load(StateReader& r) {
  return r.UInt(&n_) && r.Double(&lo_) && r.Double(&hi_) && SaneCount(n_) && Sane(lo_) &&
         Sane(hi_) && lo_ <= hi_;
}

double MeanShift::Score(double v) {
  sum_ += v;
  if (size_ < kWindow) {
    window_[(head_ + size_++) % kWindow] = v;
  } else {
    // The value leaving the window joins the long run (exponential, half-life ~1,400 rows).
    const double old = window_[head_];
    window_[head_] = v;
    head_ = (head_ + 1) % kWindow;
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

void MeanShift::Save(StateWriter& w) const {
  w.UInt(size_);
  for (size_t i = 0; i < size_; ++i) w.Double(window_[(head_ + i) % kWindow]);
  w.Double(sum_).UInt(n_).Double(mean_).Double(var_);
}

bool MeanShift::Load(StateReader& r) {
  uint64_t size;
  if (!r.UInt(&size) || size > kWindow) return false;
  head_ = 0;
  size_ = static_cast<size_t>(size);
  for (size_t i = 0; i < size_; ++i) {
    if (!r.Double(&window_[i]) || !Sane(window_[i])) return false;
  }
  return r.Double(&sum_) && r.UInt(&n_) && r.Double(&mean_) && r.Double(&var_) &&
         SaneCount(n_) && Sane(sum_) && Sane(mean_) && Sane(var_) && var_ >= 0;
}

SequenceSurprise::SequenceSurprise(int order)
    : kOrder(std::clamp(order, 0, kMaxOrder)), counts_(size_t{1} << (3 * kOrder)) {}

double SequenceSurprise::Score(double v) {
  if (n_++ == 0) lo_ = hi_ = v;
  lo_ = std::min(lo_, v);
  hi_ = std::max(hi_, v);
  const double span = hi_ - lo_;
  // In [0, kLevels); NaN (infinite range of a restored snapshot) and below 0 are level 0.
  const double x = span > 0 ? kLevels * (v - lo_) / span : 0;
  const int level = x >= 0 ? static_cast<int>(std::min(x, kLevels - 1.0)) : 0;
  std::array<uint32_t, kLevels>& next = counts_[history_];
  uint32_t total = 0;
  for (uint32_t c : next) total += c;
  const double p = (next[static_cast<size_t>(level)] + kPrior) / (total + kPrior * kLevels);
  ++next[static_cast<size_t>(level)];
  history_ = ((history_ << 3) | static_cast<uint32_t>(level)) & ((1u << (3 * kOrder)) - 1);
  return 1 - p;
}

void SequenceSurprise::Save(StateWriter& w) const {
  w.UInt(n_).Double(lo_).Double(hi_).UInt(history_);
  size_t used = 0;
  for (const auto& c : counts_) used += c != std::array<uint32_t, kLevels>{};
  w.UInt(used);  // only the contexts seen: a few of the 8^order
  for (size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i] == std::array<uint32_t, kLevels>{}) continue;
    w.UInt(i);
    for (uint32_t c : counts_[i]) w.UInt(c);
  }
}

bool SequenceSurprise::Load(StateReader& r) {
  uint64_t history, used;
  if (!r.UInt(&n_) || !SaneCount(n_) || !r.Double(&lo_) || !r.Double(&hi_) || !r.UInt(&history) ||
      history >= counts_.size() || !r.UInt(&used) || used > counts_.size() || !Sane(lo_) ||
      !Sane(hi_) || lo_ > hi_) {
    return false;
  }
  history_ = static_cast<uint32_t>(history);
  for (auto& c : counts_) c = {};
  for (uint64_t i = 0; i < used; ++i) {
    uint64_t context, count;
    if (!r.UInt(&context) || context >= counts_.size()) return false;
    uint64_t total = 0;
    for (uint32_t& c : counts_[context]) {
      if (!r.UInt(&count) || count > UINT32_MAX) return false;
      c = static_cast<uint32_t>(count);
      total += count;
    }
    if (total > UINT32_MAX) return false;  // Score sums a context's counts in 32 bits
  }
  return true;
}

}  // namespace series_internal

using namespace series_internal;  // NOLINT: this file's own helpers

EvidenceScorer::EvidenceScorer(ScoreMode mode, const SeriesTuning& tuning)
    : mode_(mode),
      tuning_(tuning),
      // Likelihood mode keeps no sequence table.
      sequence_(mode == ScoreMode::kContext ? tuning.order : 0),
      shift_(tuning.shift_window),
      extreme_(tuning.extreme_tolerance) {}

double EvidenceScorer::Score(double v, bool warm, double directed_z) {
  const bool context = mode_ == ScoreMode::kContext;
  // Learns from every value, warm or not.
  const double sequence_score = context ? sequence_likelihood_.Score(sequence_.Score(v)) : 0;
  const double shift_raw = context ? shift_.Score(v) : -1;
  const double shift_score = shift_raw >= 0 ? shift_likelihood_.Score(shift_raw) : 0;
  const bool new_extreme = context && extreme_.Observe(v);
  if (!warm) return 0;
  // How unusual the recent deviations are against this series' own history of them (Numenta's
  // "anomaly likelihood"): a series that always jumps gets no credit for jumping; a quiet one
  // that starts to move does.
  double score = likelihood_.Score(std::max(0.0, directed_z));
  // Three kinds of evidence, each against its own history: a value far from the baseline, a
  // value out of the series' usual sequence, a shift of the recent mean; the last two fire at
  // higher likelihoods (swept on NAB: they are noisier). A new extreme fires outright.
  if (context) {
    score = std::max({score, OnCommonScale(sequence_score, tuning_.sequence_fires),
                      OnCommonScale(shift_score, tuning_.shift_fires)});
    if (new_extreme) score = 1;
  }
  return score;
}

void EvidenceScorer::Save(StateWriter& w) const {
  likelihood_.Save(w);
  if (mode_ != ScoreMode::kContext) return;
  sequence_likelihood_.Save(w);
  shift_likelihood_.Save(w);
  sequence_.Save(w);
  shift_.Save(w);
  extreme_.Save(w);
}

bool EvidenceScorer::Load(StateReader& r) {
  if (!likelihood_.Load(r)) return false;
  if (mode_ != ScoreMode::kContext) return true;
  return sequence_likelihood_.Load(r) && shift_likelihood_.Load(r) && sequence_.Load(r) &&
         shift_.Load(r) && extreme_.Load(r);
}

size_t EvidenceScorer::MemoryBytes() const {
  return sizeof(*this) + sequence_.MemoryBytes() + shift_.MemoryBytes();
}

}  // namespace sitepulse
