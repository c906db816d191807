#include "detect/window_sketch.h"

#include <algorithm>
#include <limits>

namespace sitepulse {

void WindowSketch::EnsureRange(int lo, int hi) {
  sketch_internal::GrowRange(counts_, offset_, lo, hi);
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
    c = static_cast<uint8_t>(c - std::min<uint32_t>(c, n));
  });
}

double WindowSketch::Quantile(const SketchMapping& mapping, double q) const {
  if (total_ == 0) return std::numeric_limits<double>::quiet_NaN();
  const uint64_t rank = QuantileRank(q, total_);
  if (rank < zero_) return 0;
  size_t i = sketch_internal::WalkPastRank(counts_.data(), first(), end(), zero_, rank);
  // Counts drifted below the total: the top bin with a count, as DenseSketch reports it.
  if (i == end()) i = sketch_internal::LastCounted(counts_.data(), counts_.size());
  if (i == counts_.size()) return 0;
  return mapping.Value(static_cast<SketchBin>(offset_ + static_cast<int>(i)));
}

void WindowSketch::Clear() {
  std::fill(counts_.begin() + static_cast<ptrdiff_t>(first()),
            counts_.begin() + static_cast<ptrdiff_t>(end()), uint8_t{0});
  lo_ = INT_MAX;
  hi_ = INT_MIN;
  zero_ = 0;
  total_ = 0;
}

}  // namespace sitepulse
