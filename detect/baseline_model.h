// A learned baseline for one metric series (p99 latency, error rate, request rate, error-log
// rate of one site, or a column of an exported CSV): its normal level and spread, learned online
// and robust to outliers, with daily and weekly seasonality once enough history exists.
//
//   expected = level + daily[hour of day] + weekly[hour of week]
//   spread   = exponentially weighted mean absolute deviation of (value - expected), floored
//   z        = (value - expected) / (1.25 * spread)     (1.25: mean absolute deviation to sigma)
//
// Each observation is scored against the model first, then learned from, with its residual
// clipped to a few spreads so a spike barely moves the baseline. Memory decays with a half-life
// in event time, so irregular sampling is fine. A deviation that persists for `adapt_after` is a
// level shift, not an incident: the model re-baselines on the new level and the alert ends.
//
// Pure logic on event time; one instance per (site, detector); copyable (snapshots).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "core/state_codec.h"
#include "core/time.h"

namespace sitepulse {

struct BaselineOptions {
  DurationNs half_life = 3600 * kNanosPerSecond;     // memory of level and spread
  DurationNs learn_for = 3600 * kNanosPerSecond;     // warm-up: no verdict before this history
  uint32_t min_samples = 30;                          // ... and before this many observations
  double min_spread = 0;                              // variance floor, metric units
  double min_spread_ratio = 0.05;                     // variance floor, share of |expected|
  bool seasonality = true;                            // daily after 2 days, weekly after 2 weeks
  DurationNs adapt_after = 2 * 3600 * kNanosPerSecond;  // a shift this long is the new normal
  double adapt_z = 4;                                 // what counts as deviating, for adapt_after
  bool operator==(const BaselineOptions&) const = default;
};

struct BaselineVerdict {
  bool warm = false;     // enough history to judge
  double expected = 0;   // the baseline at this time
  double spread = 0;     // the deviation scale (sigma-like), after floors
  double z = 0;          // (value - expected) / spread; 0 while warming up
  bool adapted = false;  // this observation re-baselined the model (a level shift)
};

// The model is its learned state only: its settings come with each observation (a detector's
// spec holds them), so a model of each of 10,000 sites carries no copy of them (a cache line
// less to fetch at every close), and a reload's equal settings are simply the ones passed next.
class BaselineModel {
 public:
  BaselineModel() = default;

  // Scores `value` at event time `t` (non-decreasing across calls), then learns from it. Every
  // call to one model passes the same options.
  BaselineVerdict Observe(EventTime t, double value, const BaselineOptions& options);

  bool warm() const { return warm_; }
  uint64_t samples() const { return samples_; }
  // Bytes it holds, its seasonal means included once it has them.
  size_t MemoryBytes() const {
    return sizeof(*this) + MeanPagesHeld() * sizeof(MeanPage) +
           (visits_ ? sizeof(SeasonVisits) : 0);
  }

  // State for snapshots, as tokens of the current line. Options are not part of the state; the
  // caller stores what it needs to check compatibility.
  void Save(StateWriter& w) const;
  bool Load(StateReader& r);

 private:
  static constexpr int kDaySlots = 24;
  static constexpr int kWeekSlots = 168;
  double Seasonal(EventTime t, const BaselineOptions& options) const;
  void LearnSeason(EventTime t, double value, const BaselineOptions& options);

  // What every observation reads and writes comes first (the level, the spread and the current
  // hour); the seasonal pointers, read at an hour's switch, last.
  bool started_ = false;
  bool warm_ = false;
  EventTime first_t_ = 0;
  EventTime last_t_ = 0;
  uint64_t samples_ = 0;
  double level_ = 0;
  double spread_ = 0;  // mean absolute deviation
  EventTime deviating_since_ = INT64_MIN;  // start of the current run of |z| > adapt_z
  // Seasonality: the mean of the raw values seen in each hour of the day (of the week), learned
  // all the time (deviating or not) as a running mean, then with a half-life of about a week of
  // visits. The offset of a slot is its mean minus the mean of all slots.
  // The seasonal state is allocated as it is needed. The visit counts (384 bytes) come with the
  // first observation; the means in pages of a day's 24 hours (192 bytes each: one for the hours
  // of the day, one per weekday for the hours of the week), each with the first value that is
  // not 0 in it: until then its means are exactly 0 (a running mean of zeros). A model that
  // never learned (a site below its detector's min_requests) holds neither; one that only
  // learned zeros (the error-log rate of a site whose errors are quiet) holds no means; one that
  // learned for an hour holds two pages, not the week's eight.
  struct MeanPage {
    std::array<double, kDaySlots> mean{};
  };
  static constexpr int kMeanPages = 1 + kWeekSlots / kDaySlots;  // [0] hour of day, [1 + d] weekday d
  // Visits per slot, capped at kMaxSlotVisits (so 16 bits: 384 bytes less per model).
  static constexpr uint16_t kMaxSlotVisits = 2000;
  struct SeasonVisits {
    std::array<uint16_t, kDaySlots> daily{};
    std::array<uint16_t, kWeekSlots> weekly{};
  };
  // A unique_ptr that copies what it points to (the model is copyable); null: all zeros.
  template <typename T>
  struct CopiedPtr : std::unique_ptr<T> {
    CopiedPtr() = default;
    CopiedPtr(const CopiedPtr& o) : std::unique_ptr<T>(o ? std::make_unique<T>(*o) : nullptr) {}
    CopiedPtr& operator=(const CopiedPtr& o) {
      if (this != &o) this->reset(o ? new T(*o) : nullptr);
      return *this;
    }
    CopiedPtr(CopiedPtr&&) noexcept = default;
    CopiedPtr& operator=(CopiedPtr&&) noexcept = default;
  };
  // The hour being learned: its two slots' visit counts and means, kept in the model while the
  // hour lasts and written to the arrays when the next hour starts. A site's model is fed at
  // every close (every 10 s), and the arrays are four cache lines away from it; the hour's
  // slots are the only ones written. The arrays are stale for these two slots only, so every
  // reader goes through Mean() and Visits().
  struct CurrentHour {
    int64_t hour = INT64_MIN;  // hours since the epoch; INT64_MIN: none
    double day_mean = 0;
    double week_mean = 0;
    uint16_t day_n = 0;
    uint16_t week_n = 0;
    uint8_t day = 0;   // its hour-of-day slot
    uint8_t week = 0;  // its hour-of-week slot
    bool pages = false;  // the mean pages of both its slots are held
  };
  // Writes the current hour back to the arrays and reads the slots of `hour`.
  void SwitchHour(int64_t hour);
  // Whether hour-of-day slot i (weekly false) or hour-of-week slot i is the current hour's.
  bool IsCurrent(bool weekly, size_t i) const {
    return cur_.hour != INT64_MIN && i == (weekly ? cur_.week : cur_.day);
  }
  // The mean of hour-of-day slot i (weekly false) or hour-of-week slot i; 0 in a page not held.
  double Mean(bool weekly, size_t i) const {
    if (IsCurrent(weekly, i)) return weekly ? cur_.week_mean : cur_.day_mean;
    const auto& page = weekly ? means_[1 + i / kDaySlots] : means_[0];
    return page ? page->mean[i % kDaySlots] : 0.0;
  }
  // The visits of hour-of-day slot i (weekly false) or hour-of-week slot i.
  uint16_t Visits(bool weekly, size_t i) const {
    if (IsCurrent(weekly, i)) return weekly ? cur_.week_n : cur_.day_n;
    if (!visits_) return 0;
    return weekly ? visits_->weekly[i] : visits_->daily[i];
  }
  size_t MeanPagesHeld() const {
    size_t n = 0;
    for (const auto& page : means_) n += page != nullptr;
    return n;
  }
  CurrentHour cur_;
  CopiedPtr<SeasonVisits> visits_;
  std::array<CopiedPtr<MeanPage>, kMeanPages> means_;
};

}  // namespace sitepulse
