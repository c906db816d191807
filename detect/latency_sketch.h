// Latency distributions with a relative-error guarantee (DDSketch-style log buckets): every
// quantile read from a sketch is within `alpha` (default 1%) of an exact value of the data.
// Sketches are mergeable and subtractable, so windows are running sums of bucket sketches and
// lanes/instances combine exactly. Three shapes share one bin mapping:
//   - bins (int16) are what parse lanes compute per sample;
//   - DenseSketch: counts over a contiguous bin range; open buckets and window sums;
//   - CompactSketch: sorted (bin, count) pairs; the closed-bucket history, small for quiet sites.
#pragma once

#include <cmath>
#include <algorithm>
#include <climits>
#include <cstdint>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include "core/sketch_bin.h"
#include "core/state_codec.h"

namespace sitepulse {

// SketchBin and kZeroBin: core/sketch_bin.h.

// The rank read for quantile q of n values: floor(q * (n - 1)).
inline uint64_t QuantileRank(double q, uint64_t n) {
  return static_cast<uint64_t>(std::clamp(q, 0.0, 1.0) * static_cast<double>(n - 1));
}

namespace sketch_internal {
// Over counts[first, end), starting from `cum`: the index of the first count that takes the sum
// past `rank` (`end` when none does). Eight counts at a time while their sum stays at or below
// the rank (a window of a hundred requests spreads over a hundred bins or more), then one by one.
template <typename Count>
size_t WalkPastRank(const Count* counts, size_t first, size_t end, uint64_t cum, uint64_t rank) {
  size_t i = first;
  for (; i + 8 <= end; i += 8) {
    uint64_t block = 0;
    for (size_t k = 0; k < 8; ++k) block += counts[i + k];
    if (cum + block > rank) break;
    cum += block;
  }
  for (; i < end; ++i) {
    cum += counts[i];
    if (cum > rank) return i;
  }
  return end;
}

// The last index of counts[0, n) with a count (n when none): what a quantile reports when the
// counts drifted below the total (subtracting what was never added).
template <typename Count>
size_t LastCounted(const Count* counts, size_t n) {
  for (size_t i = n; i-- > 0;) {
    if (counts[i] > 0) return i;
  }
  return n;
}

// Grows `counts` (counts[i] is bin offset + i) to hold bins lo .. hi: a fresh one with 16 bins
// of room on both sides (latency bins of one site cluster), a grown one by at least half
// (growing at the front shifts the array).
template <typename Vector>
void GrowRange(Vector& counts, int& offset, int lo, int hi) {
  if (counts.empty()) {
    const int margin = 16;
    offset = lo - margin;
    counts.assign(static_cast<size_t>(hi - lo + 1 + 2 * margin), 0);
    return;
  }
  const int cur_hi = offset + static_cast<int>(counts.size()) - 1;
  if (lo < offset) {
    const int grow = std::max(offset - lo, static_cast<int>(counts.size() / 2) + 8);
    counts.insert(counts.begin(), static_cast<size_t>(grow), 0);
    offset -= grow;
  }
  if (hi > cur_hi) {
    const int grow = std::max(hi - cur_hi, static_cast<int>(counts.size() / 2) + 8);
    counts.resize(counts.size() + static_cast<size_t>(grow), 0);
  }
}
}  // namespace sketch_internal
inline constexpr double kSketchMinValue = 1e-9;
inline constexpr double kSketchMaxValue = 1e7;

// Maps values to bins: bin i holds (gamma^(i-1), gamma^i], gamma = (1 + alpha) / (1 - alpha).
// Bin() is on every line's path: instead of a logarithm it reads a table cell chosen by the
// value's exponent and top mantissa bits (a cell is narrower than a bin, so at most one bin edge
// falls inside it) and compares with that edge. The edges are found at construction with the
// logarithm itself, so Bin() and BinByLog() agree on every double (tests hold them to it).
class SketchMapping {
 public:
  explicit SketchMapping(double alpha = 0.01);
  double alpha() const { return alpha_; }
  SketchBin Bin(double value) const {
    if (!(value >= kSketchMinValue)) return kZeroBin;  // also catches NaN
    if (value > kSketchMaxValue) value = kSketchMaxValue;
    if (cells_ == nullptr) return BinByLog(value);
    uint64_t bits;
    __builtin_memcpy(&bits, &value, sizeof(bits));
    const uint64_t cell = cells_[(bits >> cell_shift_) - first_cell_];
    const int bin = static_cast<int>(cell >> kBinShift) - kBinBias +
                    static_cast<int>((bits & low_mask_) >= (cell & kEdgeMask));
    return static_cast<SketchBin>(bin);
  }
  // The definition: ceil(log(value) / log(gamma)), for kSketchMinValue <= value <= kSketchMaxValue.
  SketchBin BinByLog(double value) const {
    return static_cast<SketchBin>(std::ceil(std::log(value) * inv_log_gamma_));
  }
  // The value reported for a bin: within alpha of every value the bin holds.
  double Value(SketchBin bin) const;

 private:
  // A cell: (bin of its first value + kBinBias) << kBinShift | the low bits of the first value
  // in the cell with the next bin (1 << cell_shift_, never reached, if the cell has one bin).
  static constexpr int kBinShift = 48;
  static constexpr int kBinBias = 32768;
  static constexpr uint64_t kEdgeMask = (uint64_t{1} << kBinShift) - 1;
  void BuildCells();

  double alpha_;
  double gamma_;
  double inv_log_gamma_;
  std::shared_ptr<const std::vector<uint64_t>> table_;  // shared by mappings of one alpha
  const uint64_t* cells_ = nullptr;  // table_'s data; null: no table (alpha too small), use log
  int cell_shift_ = 52;
  uint64_t first_cell_ = 0;
  uint64_t low_mask_ = 0;
};

class CompactSketch;

class DenseSketch {
 public:
  // Inline: the coordinator adds every latency sample of every batch. The first kSmall samples
  // of a sketch with no counts yet are kept as bins in the object itself (an open bucket of a
  // quiet site, ten samples, touches no array of counts: none allocated, walked, or cleared);
  // the next one moves them into the array.
  void Add(SketchBin bin, uint32_t n = 1) {
    const size_t i = static_cast<size_t>(static_cast<int>(bin) - offset_);
    if (bin != kZeroBin) {
      if (lo_ <= hi_) {
        if (i < counts_.size()) {
          total_ += n;
          counts_[i] += n;
          lo_ = std::min<int>(lo_, bin);
          hi_ = std::max<int>(hi_, bin);
          return;
        }
      } else if (n == 1 && small_n_ < kSmall) {
        small_[small_n_++] = bin;
        ++total_;
        return;
      }
    }
    AddSlow(bin, n);
  }
  // Asks the CPU for the count Add(bin) will touch (the coordinator, a few samples ahead).
  void Prefetch(SketchBin bin) const {
    const size_t i = static_cast<size_t>(static_cast<int>(bin) - offset_);
    if (lo_ <= hi_ && i < counts_.size()) __builtin_prefetch(counts_.data() + i, 1);
  }
  void Merge(const DenseSketch& other);
  void Merge(const CompactSketch& other);
  // Removes a sketch previously merged in (window slide). Counts never go below zero.
  void Subtract(const CompactSketch& other);
  // Keeps the allocation, so a recycled sketch does not allocate again.
  void Clear();
  uint64_t count() const { return total_; }
  bool empty() const { return total_ == 0; }
  uint64_t zero_count() const { return zero_; }  // samples in kZeroBin
  // f(bin, count) for every other bin with a count, in increasing bin order.
  template <typename F>
  void ForEachBin(F&& f) const {
    if (small_n_ > 0) {
      SmallRuns runs(*this);
      for (uint32_t k = 0; k < runs.n; ++k) f(runs.bins[k], runs.counts[k]);
      return;
    }
    for (size_t i = first(); i < end(); ++i) {
      if (counts_[i] != 0) f(static_cast<SketchBin>(offset_ + static_cast<int>(i)), counts_[i]);
    }
  }
  // q in [0, 1]; the value at rank floor(q * (count - 1)). NaN when empty.
  double Quantile(const SketchMapping& mapping, double q) const;
  // Quantile for each of `qs` (ascending) into `out`, in one walk over the bins (the stats sink
  // asks five per closed bucket).
  void Quantiles(const SketchMapping& mapping, const double* qs, size_t n, double* out) const;
  // Values at or below `bin` (the zero bin included): "requests faster than T" is
  // CountAtMost(mapping.Bin(T)), exact to the sketch's relative accuracy.
  uint64_t CountAtMost(SketchBin bin) const;
  void ToCompact(CompactSketch* out) const;
  size_t MemoryBytes() const { return counts_.capacity() * sizeof(uint32_t); }
  void Save(StateWriter& w) const;
  bool Load(StateReader& r);

  // Samples kept in the object before an array of counts is used (see Add).
  static constexpr uint8_t kSmall = 16;

 private:
  // The small samples as ascending (bin, count) runs.
  struct SmallRuns {
    explicit SmallRuns(const DenseSketch& s);
    SketchBin bins[kSmall];
    uint32_t counts[kSmall];
    uint32_t n = 0;
  };
  // Moves the small samples into the array of counts.
  void Spill();
  void EnsureRange(int lo, int hi);
  void AddSlow(SketchBin bin, uint32_t n);
  // [first(), end()): the indexes into counts_ of bins lo_ .. hi_, clipped. Every count that is
  // not zero lies there, so clearing, compacting and walking a bucket of a quiet site (ten
  // samples in an array grown to hundreds of bins by the buckets it was recycled from) touch
  // only those.
  size_t first() const { return lo_ > hi_ ? 0 : static_cast<size_t>(std::max(lo_ - offset_, 0)); }
  size_t end() const {
    if (lo_ > hi_) return 0;
    return std::min(counts_.size(), static_cast<size_t>(std::max(hi_ - offset_ + 1, 0)));
  }
  void Widen(int lo, int hi) {
    lo_ = std::min(lo_, lo);
    hi_ = std::max(hi_, hi);
  }
  int offset_ = 0;                // bin of counts_[0]
  std::vector<uint32_t> counts_;  // counts_[i] is bin offset_ + i
  int lo_ = INT_MAX, hi_ = INT_MIN;  // the bins that may hold counts (none when lo_ > hi_)
  uint64_t zero_ = 0;
  uint64_t total_ = 0;
  // Samples not in counts_ (each a count of one, in the order added); only while counts_ holds
  // none (lo_ > hi_). zero_ and total_ count them like the others.
  uint8_t small_n_ = 0;
  SketchBin small_[kSmall] = {};
};

// A closed bucket's sketch, kept small: per-site rings hold ring-capacity of these (90 for a
// 15-minute window at 10 s), so its bytes are most of the memory per site. Two forms:
//  - bytes, inline: up to 15 bins, each count below 256 and each bin less than 256 above the one
//    before, as [first bin, 2 bytes][count][gap][count][gap][count]... (a quiet site's bucket of
//    a few requests: no allocation, and no pointer to follow when a window slides over it);
//  - words: bins packed in 32-bit words, (bin << 16) | count; a count of 65,535 or more is
//    written as 0xFFFF followed by a word with the full count. Up to eight words inline; more
//    take one exact-size allocation.
// 48 bytes, so a ring slot with its counters is 64. Room for 7 bins (a 48-byte slot) sent the
// bucket of a site at one or two requests a second (10 to 20 samples) to an allocation of its
// own: a second cold line for each bucket a window lets go of, and a malloc per slot.
// Both read the same through ForEachBin; snapshots always hold the words.
class CompactSketch {
 public:
  CompactSketch() = default;
  ~CompactSketch() { Free(); }
  CompactSketch(const CompactSketch&) = delete;
  CompactSketch& operator=(const CompactSketch&) = delete;
  CompactSketch(CompactSketch&& o) noexcept { *this = std::move(o); }
  CompactSketch& operator=(CompactSketch&& o) noexcept;

  uint64_t count() const { return total_; }
  uint64_t zero_count() const { return zero_; }
  double Quantile(const SketchMapping& mapping, double q) const;
  size_t MemoryBytes() const { return on_heap() ? cap_ * sizeof(uint32_t) : 0; }
  void Save(StateWriter& w) const;
  bool Load(StateReader& r);
  // Calls f(bin, count) for each bin with a count, in ascending bin order.
  template <typename F>
  void ForEachBin(F&& f) const {
    if (cap_ == kBytes) {
      int bin = static_cast<int16_t>(static_cast<uint16_t>(bytes_[0] | (bytes_[1] << 8)));
      f(static_cast<SketchBin>(bin), uint32_t{bytes_[2]});
      for (uint32_t i = 3; i < size_; i += 2) {
        bin += bytes_[i];
        f(static_cast<SketchBin>(bin), uint32_t{bytes_[i + 1]});
      }
      return;
    }
    const uint32_t* w = words();
    for (uint32_t i = 0; i < size_; ++i) {
      const auto bin = static_cast<SketchBin>(static_cast<uint16_t>(w[i] >> 16));
      uint32_t n = w[i] & 0xFFFF;
      if (n == 0xFFFF) n = w[++i];
      f(bin, n);
    }
  }

 private:
  friend class DenseSketch;
  static constexpr uint32_t kInline = 8;        // words held inline
  static constexpr uint32_t kInlineBytes = 32;  // the bytes form's room: 15 bins
  static constexpr uint32_t kBytes = UINT32_MAX;  // cap_ of the bytes form (size_: bytes used)
  bool on_heap() const { return cap_ > 0 && cap_ != kBytes; }
  const uint32_t* words() const { return on_heap() ? heap_ : inline_; }
  // Makes room for n words (contents undefined): inline when they fit, else the allocation it
  // has when that fits with little slack (a ring slot is rewritten every few minutes with a
  // bucket of about the same size), else a new one of n words and an eighth more.
  uint32_t* Reset(uint32_t n);
  // The bytes form of n runs (bins ascending), if they fit it and no allocation is held (a slot
  // that holds one keeps using it); false, nothing changed, if not.
  bool TryBytes(const SketchBin* bins, const uint32_t* counts, uint32_t n);
  void Free() {
    if (on_heap()) delete[] heap_;
    cap_ = 0;
    size_ = 0;
  }
  union {
    uint32_t* heap_;
    uint32_t inline_[kInline];
    uint8_t bytes_[kInlineBytes];
  };
  uint32_t size_ = 0;  // words (bytes in the bytes form)
  uint32_t cap_ = 0;   // words allocated at heap_ (0: the words are inline; kBytes: bytes form)
  uint32_t zero_ = 0;
  uint32_t total_ = 0;
};
static_assert(sizeof(CompactSketch) == 48, "a ring slot with its counters is 64 bytes");

}  // namespace sitepulse
