#include "detect/latency_sketch.h"

#include "core/check.h"

#include <emmintrin.h>

#include <algorithm>
#include <cstring>
#include <mutex>

namespace sitepulse {

namespace {

uint64_t BitsOf(double v) {
  uint64_t b;
  std::memcpy(&b, &v, sizeof(b));
  return b;
}

double FromBits(uint64_t b) {
  double v;
  std::memcpy(&v, &b, sizeof(v));
  return v;
}

// Tables already built, by alpha: every lane and engine of a run uses the same mapping, and
// building one takes about a millisecond.
struct TableCache {
  std::mutex mu;
  std::vector<std::pair<double, std::shared_ptr<const std::vector<uint64_t>>>> tables;
};

TableCache& Cache() {
  static TableCache* cache = new TableCache;
  return *cache;
}

}  // namespace

SketchMapping::SketchMapping(double alpha)
    : alpha_(alpha),
      gamma_((1 + alpha) / (1 - alpha)),
      inv_log_gamma_(1.0 / std::log((1 + alpha) / (1 - alpha))) {
  BuildCells();
}

void SketchMapping::BuildCells() {
  // Mantissa bits per cell: a cell must be narrower (in log terms) than a bin, with a factor of
  // two to spare. Past 12 bits (alpha below about 0.0002) the table would be large: use log.
  const double log_gamma = std::log(gamma_);
  int k = 1;
  while (k <= 12 && std::ldexp(1.0, -k) >= log_gamma / 2) ++k;
  if (k > 12) return;
  cell_shift_ = 52 - k;
  low_mask_ = (uint64_t{1} << cell_shift_) - 1;
  first_cell_ = BitsOf(kSketchMinValue) >> cell_shift_;
  const uint64_t last_cell = BitsOf(kSketchMaxValue) >> cell_shift_;

  std::lock_guard<std::mutex> lock(Cache().mu);
  for (const auto& [a, table] : Cache().tables) {
    if (a == alpha_) {
      table_ = table;
      cells_ = table_->data();
      return;
    }
  }
  auto table = std::make_shared<std::vector<uint64_t>>();
  table->reserve(last_cell - first_cell_ + 1);
  for (uint64_t c = first_cell_; c <= last_cell; ++c) {
    const uint64_t lo = c << cell_shift_;
    const uint64_t hi = lo | low_mask_;
    const int b0 = BinByLog(FromBits(lo));
    const int b1 = BinByLog(FromBits(hi));
    uint64_t edge = low_mask_ + 1;  // no edge in this cell
    if (b1 == b0 + 1) {
      // The first value of the cell in bin b1: bins never decrease as values grow.
      uint64_t below = lo, at = hi;
      while (at - below > 1) {
        const uint64_t mid = below + (at - below) / 2;
        (BinByLog(FromBits(mid)) > b0 ? at : below) = mid;
      }
      edge = at & low_mask_;
    } else if (b1 != b0) {
      return;  // two edges in one cell: cannot happen with the width above; stay on log
    }
    table->push_back((static_cast<uint64_t>(b0 + kBinBias) << kBinShift) | edge);
  }
  Cache().tables.emplace_back(alpha_, table);
  table_ = std::move(table);
  cells_ = table_->data();
}

double SketchMapping::Value(SketchBin bin) const {
  if (bin == kZeroBin) return 0;
  return 2.0 * std::pow(gamma_, bin) / (gamma_ + 1.0);
}

void DenseSketch::EnsureRange(int lo, int hi) {
  sketch_internal::GrowRange(counts_, offset_, lo, hi);
}

DenseSketch::SmallRuns::SmallRuns(const DenseSketch& s) {
  // At most 16 samples, sorted by rank without a branch on their values (an insertion sort's
  // comparisons of random latencies were mispredicted, 6% of the coordinator with many quiet
  // sites): the rank of sample i is the number of samples below it, plus the equal ones before
  // it. SSE2, eight 16-bit lanes a register; lanes past the count hold stale samples and are
  // neither counted (j < count) nor placed.
  const uint32_t count = s.small_n_;
  const __m128i a0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.small_));
  const __m128i a1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.small_ + 8));
  const __m128i lane0 = _mm_setr_epi16(0, 1, 2, 3, 4, 5, 6, 7);
  const __m128i lane1 = _mm_setr_epi16(8, 9, 10, 11, 12, 13, 14, 15);
  __m128i rank0 = _mm_setzero_si128(), rank1 = _mm_setzero_si128();
  for (uint32_t j = 0; j < count; ++j) {
    const __m128i v = _mm_set1_epi16(s.small_[j]);
    const __m128i after = _mm_set1_epi16(static_cast<int16_t>(j));
    // (Comparisons give -1 where true: subtracting counts them.)
    rank0 = _mm_sub_epi16(rank0, _mm_cmpgt_epi16(a0, v));
    rank1 = _mm_sub_epi16(rank1, _mm_cmpgt_epi16(a1, v));
    rank0 = _mm_sub_epi16(rank0, _mm_and_si128(_mm_cmpeq_epi16(a0, v), _mm_cmpgt_epi16(lane0, after)));
    rank1 = _mm_sub_epi16(rank1, _mm_and_si128(_mm_cmpeq_epi16(a1, v), _mm_cmpgt_epi16(lane1, after)));
  }
  int16_t rank[kSmall];
  _mm_storeu_si128(reinterpret_cast<__m128i*>(rank), rank0);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(rank + 8), rank1);
  SketchBin sorted[kSmall];
  for (uint32_t i = 0; i < count; ++i) sorted[rank[i]] = s.small_[i];
  // Runs of equal bins, without a branch on them either.
  for (uint32_t k = 0; k < count; ++k) {
    const bool same = k > 0 && sorted[k] == sorted[k - 1];
    const uint32_t at = n - (same ? 1 : 0);
    bins[at] = sorted[k];
    counts[at] = (same ? counts[at] : 0) + 1;
    n += same ? 0 : 1;
  }
}

void DenseSketch::Spill() {
  if (small_n_ == 0) return;
  const SmallRuns runs(*this);
  small_n_ = 0;
  EnsureRange(runs.bins[0], runs.bins[runs.n - 1]);
  for (uint32_t k = 0; k < runs.n; ++k) {
    counts_[static_cast<size_t>(runs.bins[k] - offset_)] += runs.counts[k];
  }
  Widen(runs.bins[0], runs.bins[runs.n - 1]);
}

void DenseSketch::AddSlow(SketchBin bin, uint32_t n) {
  total_ += n;
  if (bin == kZeroBin) {
    zero_ += n;
    return;
  }
  Spill();
  const int b = bin;
  if (counts_.empty() || b < offset_ || b >= offset_ + static_cast<int>(counts_.size())) {
    EnsureRange(b, b);
  }
  counts_[static_cast<size_t>(b - offset_)] += n;
  Widen(b, b);
}

void DenseSketch::Merge(const DenseSketch& other) {
  if (other.total_ == 0) return;
  if (other.small_n_ > 0) {  // (its counts_ holds nothing)
    zero_ += other.zero_;
    total_ += other.zero_;
    for (uint8_t k = 0; k < other.small_n_; ++k) Add(other.small_[k]);
    return;
  }
  Spill();
  zero_ += other.zero_;
  total_ += other.total_;
  if (other.counts_.empty()) return;
  // Find the used range of other to avoid growing to its margins.
  size_t first = other.first(), last = other.end();
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
  Widen(lo, hi);
}

void DenseSketch::Merge(const CompactSketch& other) {
  if (other.total_ == 0) return;
  Spill();
  zero_ += other.zero_;
  total_ += other.total_;
  if (other.size_ == 0) return;
  // Bins ascend: the first is the lowest; the highest is found by walking (a wide count's
  // second word could look like a bin word, so the last word cannot be read alone).
  int lo = INT32_MAX, hi = INT32_MIN;
  other.ForEachBin([&](SketchBin bin, uint32_t) {
    lo = std::min<int>(lo, bin);
    hi = bin;
  });
  if (counts_.empty() || lo < offset_ || hi >= offset_ + static_cast<int>(counts_.size())) {
    EnsureRange(lo, hi);
  }
  other.ForEachBin([&](SketchBin bin, uint32_t n) { counts_[static_cast<size_t>(bin - offset_)] += n; });
  Widen(lo, hi);
}

void DenseSketch::Subtract(const CompactSketch& other) {
  Spill();
  zero_ -= std::min<uint64_t>(zero_, other.zero_);
  total_ -= std::min<uint64_t>(total_, other.total_);
  other.ForEachBin([&](SketchBin bin, uint32_t n) {
    const int i = bin - offset_;
    if (i < 0 || i >= static_cast<int>(counts_.size())) return;  // never merged: ignore
    uint32_t& c = counts_[static_cast<size_t>(i)];
    c -= std::min(c, n);
  });
}

void DenseSketch::Clear() {
  std::fill(counts_.begin() + static_cast<ptrdiff_t>(first()),
            counts_.begin() + static_cast<ptrdiff_t>(end()), 0u);
  lo_ = INT_MAX;
  hi_ = INT_MIN;
  zero_ = 0;
  total_ = 0;
  small_n_ = 0;
}


double DenseSketch::Quantile(const SketchMapping& mapping, double q) const {
  if (total_ == 0) return std::numeric_limits<double>::quiet_NaN();
  const uint64_t rank = QuantileRank(q, total_);
  if (rank < zero_) return 0;
  uint64_t cum = zero_;
  if (small_n_ > 0) {
    const SmallRuns runs(*this);
    for (uint32_t k = 0; k < runs.n; ++k) {
      cum += runs.counts[k];
      if (cum > rank) return mapping.Value(runs.bins[k]);
    }
    return mapping.Value(runs.bins[runs.n - 1]);
  }
  size_t i = sketch_internal::WalkPastRank(counts_.data(), first(), end(), cum, rank);
  // Counts drifted below total (subtracting what was never added): report the top bin seen.
  if (i == end()) i = sketch_internal::LastCounted(counts_.data(), counts_.size());
  if (i == counts_.size()) return 0;
  return mapping.Value(static_cast<SketchBin>(offset_ + static_cast<int>(i)));
}

void DenseSketch::Quantiles(const SketchMapping& mapping, const double* qs, size_t n,
                            double* out) const {
  size_t k = 0;
  if (total_ > 0 && small_n_ == 0) {
    uint64_t cum = zero_;
    size_t i = first();
    const size_t stop = end();
    for (; k < n; ++k) {
      SP_DCHECK(k == 0 || qs[k - 1] <= qs[k], "quantiles are asked in ascending order");
      const uint64_t rank = QuantileRank(qs[k], total_);
      if (rank < zero_) {
        out[k] = 0;
        continue;
      }
      while (i < stop && cum + counts_[i] <= rank) cum += counts_[i++];
      if (i == stop) break;  // counts drifted below total: Quantile's fallback
      out[k] = mapping.Value(static_cast<SketchBin>(offset_ + static_cast<int>(i)));
    }
  }
  for (; k < n; ++k) out[k] = Quantile(mapping, qs[k]);
}

uint64_t DenseSketch::CountAtMost(SketchBin bin) const {
  uint64_t n = zero_;
  if (bin == kZeroBin) return n;
  for (uint8_t k = 0; k < small_n_; ++k) n += small_[k] <= bin;
  for (size_t i = first(); i < end(); ++i) {
    if (offset_ + static_cast<int>(i) > bin) break;
    n += counts_[i];
  }
  return n;
}

void DenseSketch::ToCompact(CompactSketch* out) const {
  // Per-bucket counts fit 32 bits (a closed bucket's counters are 32-bit too); saturate anyway.
  out->zero_ = static_cast<uint32_t>(std::min<uint64_t>(zero_, UINT32_MAX));
  out->total_ = static_cast<uint32_t>(std::min<uint64_t>(total_, UINT32_MAX));
  if (small_n_ > 0) {
    const SmallRuns runs(*this);
    if (out->TryBytes(runs.bins, runs.counts, runs.n)) return;
    uint32_t* w = out->Reset(runs.n);
    for (uint32_t k = 0; k < runs.n; ++k) {
      w[k] = (static_cast<uint32_t>(static_cast<uint16_t>(runs.bins[k])) << 16) | runs.counts[k];
    }
    return;
  }
  const size_t from = first(), to = end();
  size_t words = 0, runs = 0;
  for (size_t i = from; i < to; ++i) {
    words += counts_[i] == 0 ? 0 : counts_[i] >= 0xFFFF ? 2 : 1;
    runs += counts_[i] != 0;
  }
  constexpr uint32_t kMostBytesRuns = (CompactSketch::kInlineBytes - 1) / 2;
  if (runs <= kMostBytesRuns && !out->on_heap()) {
    SketchBin bins[kMostBytesRuns];
    uint32_t counts[kMostBytesRuns];
    uint32_t n = 0;
    for (size_t i = from; i < to; ++i) {
      if (counts_[i] == 0) continue;
      bins[n] = static_cast<SketchBin>(offset_ + static_cast<int>(i));
      counts[n++] = counts_[i];
    }
    if (out->TryBytes(bins, counts, n)) return;
  }
  uint32_t* w = out->Reset(static_cast<uint32_t>(words));
  size_t k = 0;
  for (size_t i = from; i < to; ++i) {
    const uint32_t c = counts_[i];
    if (c == 0) continue;
    const uint32_t bin = static_cast<uint16_t>(static_cast<SketchBin>(offset_ + static_cast<int>(i)));
    if (c >= 0xFFFF) {
      w[k++] = (bin << 16) | 0xFFFF;
      w[k++] = c;
    } else {
      w[k++] = (bin << 16) | c;
    }
  }
}

CompactSketch& CompactSketch::operator=(CompactSketch&& o) noexcept {
  if (this == &o) return *this;
  Free();
  size_ = o.size_;
  cap_ = o.cap_;
  zero_ = o.zero_;
  total_ = o.total_;
  if (o.on_heap()) {
    heap_ = o.heap_;
  } else {
    std::memcpy(bytes_, o.bytes_, sizeof(bytes_));
  }
  o.size_ = o.cap_ = 0;
  o.zero_ = o.total_ = 0;
  return *this;
}

uint32_t* CompactSketch::Reset(uint32_t n) {
  if (n <= kInline) {
    Free();
    size_ = n;
    return inline_;
  }
  if (!on_heap() || cap_ < n || cap_ > n + n / 2 + 2) {
    Free();
    cap_ = n + n / 8 + 1;  // a little room: the next bucket may have a bin more
    heap_ = new uint32_t[cap_];
  }
  size_ = n;
  return heap_;
}

bool CompactSketch::TryBytes(const SketchBin* bins, const uint32_t* counts, uint32_t n) {
  if (n == 0 || 2 * n + 1 > kInlineBytes || on_heap()) return false;
  for (uint32_t k = 0; k < n; ++k) {
    if (counts[k] == 0 || counts[k] > 0xFF) return false;
    if (k > 0 && (bins[k] <= bins[k - 1] || bins[k] - bins[k - 1] > 0xFF)) return false;
  }
  const auto first = static_cast<uint16_t>(bins[0]);
  bytes_[0] = static_cast<uint8_t>(first & 0xFF);
  bytes_[1] = static_cast<uint8_t>(first >> 8);
  bytes_[2] = static_cast<uint8_t>(counts[0]);
  for (uint32_t k = 1; k < n; ++k) {
    bytes_[2 * k + 1] = static_cast<uint8_t>(bins[k] - bins[k - 1]);
    bytes_[2 * k + 2] = static_cast<uint8_t>(counts[k]);
  }
  cap_ = kBytes;
  size_ = 2 * n + 1;
  return true;
}

double CompactSketch::Quantile(const SketchMapping& mapping, double q) const {
  if (total_ == 0) return std::numeric_limits<double>::quiet_NaN();
  const uint64_t rank = QuantileRank(q, total_);
  if (rank < zero_) return 0;
  uint64_t cum = zero_;
  double result = 0;
  bool found = false;
  ForEachBin([&](SketchBin bin, uint32_t n) {
    if (found) return;
    cum += n;
    result = mapping.Value(bin);  // the top bin seen, if counts fall short of the rank
    found = cum > rank;
  });
  return result;
}

void DenseSketch::Save(StateWriter& w) const {
  if (small_n_ > 0) {  // as the counts they stand for
    DenseSketch spilled;
    spilled.zero_ = zero_;
    spilled.total_ = total_;
    std::copy(small_, small_ + small_n_, spilled.small_);
    spilled.small_n_ = small_n_;
    spilled.Spill();
    spilled.Save(w);
    return;
  }
  w.Int(offset_).UInt(zero_).UInt(total_).UInt(counts_.size());
  for (uint32_t c : counts_) w.UInt(c);
}

bool DenseSketch::Load(StateReader& r) {
  int64_t offset;
  uint64_t n;
  if (!r.Int(&offset) || offset < INT16_MIN || offset > INT16_MAX || !r.UInt(&zero_) ||
      !r.UInt(&total_) || !r.UInt(&n) || n > 100000) {
    return false;
  }
  offset_ = static_cast<int>(offset);
  counts_.assign(n, 0);
  small_n_ = 0;
  lo_ = INT_MAX;
  hi_ = INT_MIN;
  for (size_t i = 0; i < counts_.size(); ++i) {
    uint64_t v;
    if (!r.UInt(&v)) return false;
    counts_[i] = static_cast<uint32_t>(v);
    if (v != 0) Widen(offset_ + static_cast<int>(i), offset_ + static_cast<int>(i));
  }
  return true;
}

void CompactSketch::Save(StateWriter& w) const {
  w.UInt(zero_).UInt(total_);
  if (cap_ == kBytes) {  // as the words it stands for: one per bin (its counts are small)
    w.UInt((size_ - 1) / 2);
    ForEachBin([&](SketchBin bin, uint32_t n) {
      w.UInt((static_cast<uint32_t>(static_cast<uint16_t>(bin)) << 16) | n);
    });
    return;
  }
  w.UInt(size_);
  const uint32_t* ws = words();
  for (uint32_t i = 0; i < size_; ++i) w.UInt(ws[i]);
}

bool CompactSketch::Load(StateReader& r) {
  uint64_t zero, total, n;
  if (!r.UInt(&zero) || !r.UInt(&total) || !r.UInt(&n) || n > 100000) return false;
  uint32_t* ws = Reset(static_cast<uint32_t>(n));
  for (uint32_t i = 0; i < n; ++i) {
    uint64_t v;
    if (!r.UInt(&v)) return false;
    ws[i] = static_cast<uint32_t>(v);
  }
  zero_ = static_cast<uint32_t>(zero);
  total_ = static_cast<uint32_t>(total);
  // The words as Add and ForEachBin lay them out: bins strictly ascending, a wide count's
  // second word present. A damaged snapshot breaks either, and a merge then writes outside
  // its range (fuzz/state_fuzz.cc).
  int last = INT32_MIN;
  for (uint32_t i = 0; i < n; ++i) {
    const int bin = static_cast<SketchBin>(static_cast<uint16_t>(ws[i] >> 16));
    if (bin <= last) return false;
    last = bin;
    if ((ws[i] & 0xFFFF) == 0xFFFF && ++i >= n) return false;
  }
  return true;
}

}  // namespace sitepulse
