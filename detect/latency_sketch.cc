#include "detect/latency_sketch.h"

#include <algorithm>

namespace sitepulse {

SketchMapping::SketchMapping(double alpha)
    : alpha_(alpha),
      gamma_((1 + alpha) / (1 - alpha)),
      inv_log_gamma_(1.0 / std::log((1 + alpha) / (1 - alpha))) {}

double SketchMapping::Value(SketchBin bin) const {
  if (bin == kZeroBin) return 0;
  return 2.0 * std::pow(gamma_, bin) / (gamma_ + 1.0);
}

void DenseSketch::EnsureRange(int lo, int hi) {
  if (counts_.empty()) {
    // Leave room on both sides: latency bins of one site cluster, and growing at the front
    // shifts the array.
    const int margin = 16;
    offset_ = lo - margin;
    counts_.assign(static_cast<size_t>(hi - lo + 1 + 2 * margin), 0);
    return;
  }
  const int cur_hi = offset_ + static_cast<int>(counts_.size()) - 1;
  if (lo < offset_) {
    const int grow = std::max(offset_ - lo, static_cast<int>(counts_.size() / 2) + 8);
    counts_.insert(counts_.begin(), static_cast<size_t>(grow), 0);
    offset_ -= grow;
  }
  if (hi > cur_hi) {
    const int grow = std::max(hi - cur_hi, static_cast<int>(counts_.size() / 2) + 8);
    counts_.resize(counts_.size() + static_cast<size_t>(grow), 0);
  }
}

void DenseSketch::Add(SketchBin bin, uint32_t n) {
  total_ += n;
  if (bin == kZeroBin) {
    zero_ += n;
    return;
  }
  const int b = bin;
  if (counts_.empty() || b < offset_ || b >= offset_ + static_cast<int>(counts_.size())) {
    EnsureRange(b, b);
  }
  counts_[static_cast<size_t>(b - offset_)] += n;
}

void DenseSketch::Merge(const DenseSketch& other) {
  if (other.total_ == 0) return;
  zero_ += other.zero_;
  total_ += other.total_;
  if (other.counts_.empty()) return;
  // Find the used range of other to avoid growing to its margins.
  size_t first = 0, last = other.counts_.size();
  while (first < last && other.counts_[first] == 0) ++first;
  while (last > first && other.counts_[last - 1] == 0) --last;
  if (first == last) return;
  const int lo = other.offset_ + static_cast<int>(first);
  const int hi = other.offset_ + static_cast<int>(last) - 1;
  if (counts_.empty() || lo < offset_ || hi >= offset_ + static_cast<int>(counts_.size())) {
    EnsureRange(lo, hi);
  }
  uint32_t* dst = counts_.data() + (lo - offset_);
  const uint32_t* src = other.counts_.data() + first;
  for (size_t i = 0; i < last - first; ++i) dst[i] += src[i];
}

void DenseSketch::Merge(const CompactSketch& other) {
  if (other.total_ == 0) return;
  zero_ += other.zero_;
  total_ += other.total_;
  if (other.bins_.empty()) return;
  const int lo = other.bins_.front().first;
  const int hi = other.bins_.back().first;
  if (counts_.empty() || lo < offset_ || hi >= offset_ + static_cast<int>(counts_.size())) {
    EnsureRange(lo, hi);
  }
  for (const auto& [bin, n] : other.bins_) counts_[static_cast<size_t>(bin - offset_)] += n;
}

void DenseSketch::Subtract(const CompactSketch& other) {
  zero_ -= std::min(zero_, other.zero_);
  total_ -= std::min(total_, other.total_);
  for (const auto& [bin, n] : other.bins_) {
    const int i = bin - offset_;
    if (i < 0 || i >= static_cast<int>(counts_.size())) continue;  // never merged: ignore
    uint32_t& c = counts_[static_cast<size_t>(i)];
    c -= std::min(c, n);
  }
}

void DenseSketch::Clear() {
  std::fill(counts_.begin(), counts_.end(), 0u);
  zero_ = 0;
  total_ = 0;
}

namespace {
// The rank read for quantile q of n values: floor(q * (n - 1)).
uint64_t QuantileRank(double q, uint64_t n) {
  return static_cast<uint64_t>(std::clamp(q, 0.0, 1.0) * static_cast<double>(n - 1));
}
}  // namespace

double DenseSketch::Quantile(const SketchMapping& mapping, double q) const {
  if (total_ == 0) return std::numeric_limits<double>::quiet_NaN();
  const uint64_t rank = QuantileRank(q, total_);
  if (rank < zero_) return 0;
  uint64_t cum = zero_;
  for (size_t i = 0; i < counts_.size(); ++i) {
    cum += counts_[i];
    if (cum > rank) return mapping.Value(static_cast<SketchBin>(offset_ + static_cast<int>(i)));
  }
  // Counts drifted below total (subtracting what was never added): report the top bin seen.
  for (size_t i = counts_.size(); i-- > 0;) {
    if (counts_[i] > 0) {
      return mapping.Value(static_cast<SketchBin>(offset_ + static_cast<int>(i)));
    }
  }
  return 0;
}

void DenseSketch::ToCompact(CompactSketch* out) const {
  out->bins_.clear();
  // Exact capacity: closed buckets stay in per-site rings, so slack here is memory per site.
  size_t nonzero = 0;
  for (uint32_t c : counts_) nonzero += c != 0;
  if (out->bins_.capacity() < nonzero || out->bins_.capacity() > 2 * nonzero + 4) {
    std::vector<std::pair<SketchBin, uint32_t>>().swap(out->bins_);
    out->bins_.reserve(nonzero);
  }
  out->zero_ = zero_;
  out->total_ = total_;
  for (size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i] != 0) {
      out->bins_.emplace_back(static_cast<SketchBin>(offset_ + static_cast<int>(i)), counts_[i]);
    }
  }
}

double CompactSketch::Quantile(const SketchMapping& mapping, double q) const {
  if (total_ == 0) return std::numeric_limits<double>::quiet_NaN();
  const uint64_t rank = QuantileRank(q, total_);
  if (rank < zero_) return 0;
  uint64_t cum = zero_;
  for (const auto& [bin, n] : bins_) {
    cum += n;
    if (cum > rank) return mapping.Value(bin);
  }
  return bins_.empty() ? 0 : mapping.Value(bins_.back().first);
}

}  // namespace sitepulse
