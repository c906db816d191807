#include "detect/window_sketch.h"

#include <algorithm>
#include <limits>

namespace sitepulse {

void WindowSketch::EnsureRange(int lo, int hi) {
  if (counts_.empty()) {
    // Room on both sides, as DenseSketch leaves: a site's latency bins cluster.
    const int margin = 16;
    offset_ = lo - margin;
    counts_.assign(static_cast<size_t>(hi - lo + 1 + 2 * margin), 0);
    return;
  }
  const int cur_hi = offset_ + static_cast<int>(counts_.size()) - 1;
  if (lo < offset_) {
    const int grow = std::max(offset_ - lo, static_cast<int>(counts_.size() / 2) + 8);
    counts_.insert(counts_.begin(), static_cast<size_t>(grow), uint8_t{0});
    offset_ -= grow;
  }
  if (hi > cur_hi) {
    const int grow = std::max(hi - cur_hi, static_cast<int>(counts_.size() / 2) + 8);
    counts_.resize(counts_.size() + static_cast<size_t>(grow), 0);
  }
}

bool WindowSketch::Merge(const CompactSketch& other) {
  if (other.count() == 0) return true;
  // The bins' range, and whether every sum fits in a byte (nothing is changed if one does not).
  int lo = INT_MAX, hi = INT_MIN;
  bool fits = true;
  other.ForEachBin([&](SketchBin bin, uint32_t n) {
    lo = std::min<int>(lo, bin);
    hi = std::max<int>(hi, bin);
    const int i = bin - offset_;
    const uint32_t have =
        i >= 0 && i < static_cast<int>(counts_.size()) ? counts_[static_cast<size_t>(i)] : 0;
    fits &= n <= UINT8_MAX - have;
  });
  if (!fits) return false;
  zero_ += other.zero_count();
  total_ += other.count();
  if (lo > hi) return true;  // only the zero bin
  if (counts_.empty() || lo < offset_ || hi >= offset_ + static_cast<int>(counts_.size())) {
    EnsureRange(lo, hi);
  }
  other.ForEachBin([this](SketchBin bin, uint32_t n) {
    counts_[static_cast<size_t>(bin - offset_)] += static_cast<uint8_t>(n);
    sum_ += n;
  });
  lo_ = std::min(lo_, lo);
  hi_ = std::max(hi_, hi);
  return true;
}

void WindowSketch::Subtract(const CompactSketch& other) {
  zero_ -= std::min<uint64_t>(zero_, other.zero_count());
  total_ -= std::min<uint64_t>(total_, other.count());
  other.ForEachBin([this](SketchBin bin, uint32_t n) {
    const int i = bin - offset_;
    if (i < 0 || i >= static_cast<int>(counts_.size())) return;  // never merged: ignore
    uint8_t& c = counts_[static_cast<size_t>(i)];
    const uint32_t out = std::min<uint32_t>(c, n);
    c = static_cast<uint8_t>(c - out);
    sum_ -= out;
  });
}

double WindowSketch::Quantile(const SketchMapping& mapping, double q) const {
  if (total_ == 0) return std::numeric_limits<double>::quiet_NaN();
  const uint64_t rank = QuantileRank(q, total_);
  if (rank < zero_) return 0;
  // The first bin whose counts, with those below it and the zero bin's, pass the rank. From the
  // top when that is nearer (a p99: a few bins, not the window's whole span): the bin where the
  // counts from the top first reach sum_ - (rank - zero_).
  const uint64_t below = rank - zero_;
  if (below >= sum_ / 2 && below < sum_) {
    const uint64_t need = sum_ - below;
    uint64_t acc = 0;
    size_t j = end();
    for (; j >= first() + 16; j -= 16) {
      uint32_t block = 0;
      for (size_t k = 1; k <= 16; ++k) block += counts_[j - k];
      if (acc + block >= need) break;
      acc += block;
    }
    while (j-- > first()) {
      acc += counts_[j];
      if (acc >= need) return mapping.Value(static_cast<SketchBin>(offset_ + static_cast<int>(j)));
    }
  }
  uint64_t cum = zero_;
  // Sixteen bins at a time while their sum stays at or below the rank, then bin by bin.
  size_t i = first();
  const size_t e = end();
  for (; i + 16 <= e; i += 16) {
    uint32_t block = 0;
    for (size_t k = 0; k < 16; ++k) block += counts_[i + k];
    if (cum + block > rank) break;
    cum += block;
  }
  for (; i < e; ++i) {
    cum += counts_[i];
    if (cum > rank) return mapping.Value(static_cast<SketchBin>(offset_ + static_cast<int>(i)));
  }
  // Counts drifted below the total (subtracting what was never added): the top bin with a count,
  // as DenseSketch reports it.
  for (size_t j = counts_.size(); j-- > 0;) {
    if (counts_[j] > 0) return mapping.Value(static_cast<SketchBin>(offset_ + static_cast<int>(j)));
  }
  return 0;
}

void WindowSketch::Clear() {
  std::fill(counts_.begin() + static_cast<ptrdiff_t>(first()),
            counts_.begin() + static_cast<ptrdiff_t>(end()), uint8_t{0});
  lo_ = INT_MAX;
  hi_ = INT_MIN;
  zero_ = 0;
  total_ = 0;
  sum_ = 0;
}

}  // namespace sitepulse
