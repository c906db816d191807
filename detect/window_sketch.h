// A sliding latency window kept in bytes: the running sum of a window's closed-bucket sketches
// while every bin's count fits in 8 bits (a quiet site's window: a hundred requests over a few
// hundred bins). It reads as the DenseSketch merged from the same buckets would (the same
// counts, so the same quantiles), in a quarter of the memory of its counts: 14 MB less at peak
// over 10,000 quiet sites (docs/performance.md, "Session 23"; the time per close did not move
// beyond the spread).
//
// A Merge that would pass 255 in some bin changes nothing and says so: the engine then keeps the
// window as a DenseSketch (built from the ring, as before).
//
// Pure data; one per (site, lazy latency window), owned by the window engine's coordinator.
#pragma once

#include <climits>
#include <cstdint>
#include <vector>

#include "detect/latency_sketch.h"

namespace sitepulse {

class WindowSketch {
 public:
  // Adds `other` (false, nothing changed: a count would pass 255).
  bool Merge(const CompactSketch& other);
  // Removes a sketch merged before; counts never go below zero (as DenseSketch::Subtract).
  void Subtract(const CompactSketch& other);
  // As DenseSketch::Quantile of the same counts: the value at rank floor(q * (count - 1)).
  double Quantile(const SketchMapping& mapping, double q) const;
  uint64_t count() const { return total_; }
  // Empty, keeping its bytes (a rebuild); Reset also lets them go.
  void Clear();
  void Reset() { *this = WindowSketch{}; }

 private:
  // The bins lo_ .. hi_ are the ones that may hold counts; counts_[i] is bin offset_ + i.
  size_t first() const { return lo_ > hi_ ? 0 : static_cast<size_t>(lo_ - offset_); }
  size_t end() const { return lo_ > hi_ ? 0 : static_cast<size_t>(hi_ - offset_ + 1); }
  void EnsureRange(int lo, int hi);
  std::vector<uint8_t> counts_;
  int offset_ = 0;
  int lo_ = INT_MAX, hi_ = INT_MIN;
  uint64_t zero_ = 0;
  uint64_t total_ = 0;
};

}  // namespace sitepulse
