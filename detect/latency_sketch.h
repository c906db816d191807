// Latency distributions with a relative-error guarantee (DDSketch-style log buckets): every
// quantile read from a sketch is within `alpha` (default 1%) of an exact value of the data.
// Sketches are mergeable and subtractable, so windows are running sums of bucket sketches and
// lanes/instances combine exactly. Three shapes share one bin mapping:
//   - bins (int16) are what parse lanes compute per sample;
//   - DenseSketch: counts over a contiguous bin range; open buckets and window sums;
//   - CompactSketch: sorted (bin, count) pairs; the closed-bucket history, small for quiet sites.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

namespace sitepulse {

using SketchBin = int16_t;
// Values below kSketchMinValue seconds (a zero latency, say) land in a zero bin read back as 0.
inline constexpr SketchBin kZeroBin = std::numeric_limits<int16_t>::min();
inline constexpr double kSketchMinValue = 1e-9;
inline constexpr double kSketchMaxValue = 1e7;

// Maps values to bins: bin i holds (gamma^(i-1), gamma^i], gamma = (1 + alpha) / (1 - alpha).
class SketchMapping {
 public:
  explicit SketchMapping(double alpha = 0.01);
  double alpha() const { return alpha_; }
  SketchBin Bin(double value) const {
    if (!(value >= kSketchMinValue)) return kZeroBin;  // also catches NaN
    if (value > kSketchMaxValue) value = kSketchMaxValue;
    return static_cast<SketchBin>(std::ceil(std::log(value) * inv_log_gamma_));
  }
  // The value reported for a bin: within alpha of every value the bin holds.
  double Value(SketchBin bin) const;

 private:
  double alpha_;
  double gamma_;
  double inv_log_gamma_;
};

class CompactSketch;

class DenseSketch {
 public:
  void Add(SketchBin bin, uint32_t n = 1);
  void Merge(const DenseSketch& other);
  void Merge(const CompactSketch& other);
  // Removes a sketch previously merged in (window slide). Counts never go below zero.
  void Subtract(const CompactSketch& other);
  // Keeps the allocation, so a recycled sketch does not allocate again.
  void Clear();
  uint64_t count() const { return total_; }
  bool empty() const { return total_ == 0; }
  // q in [0, 1]; the value at rank floor(q * (count - 1)). NaN when empty.
  double Quantile(const SketchMapping& mapping, double q) const;
  void ToCompact(CompactSketch* out) const;
  size_t MemoryBytes() const { return counts_.capacity() * sizeof(uint32_t); }

 private:
  void EnsureRange(int lo, int hi);
  int offset_ = 0;                // bin of counts_[0]
  std::vector<uint32_t> counts_;  // counts_[i] is bin offset_ + i
  uint64_t zero_ = 0;
  uint64_t total_ = 0;
};

class CompactSketch {
 public:
  uint64_t count() const { return total_; }
  uint64_t zero_count() const { return zero_; }
  const std::vector<std::pair<SketchBin, uint32_t>>& bins() const { return bins_; }
  double Quantile(const SketchMapping& mapping, double q) const;
  size_t MemoryBytes() const { return bins_.capacity() * sizeof(bins_[0]); }

 private:
  friend class DenseSketch;
  std::vector<std::pair<SketchBin, uint32_t>> bins_;  // ascending bin
  uint64_t zero_ = 0;
  uint64_t total_ = 0;
};

}  // namespace sitepulse
