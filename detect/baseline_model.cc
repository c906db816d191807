#include "detect/baseline_model.h"

#include <algorithm>
#include <cmath>

namespace sitepulse {
namespace {

constexpr DurationNs kHour = 3600 * kNanosPerSecond;
constexpr DurationNs kDay = 24 * kHour;
constexpr double kClipSpreads = 3;  // residuals beyond this many spreads are clipped when learning

// Share of the old estimate forgotten over dt with the given half-life.
// Models observe at every close, so dt is nearly always the bucket's length and each call site
// asks for one half-life: the last answer of each of a thread's two callers is kept.
double Forget(DurationNs dt, DurationNs half_life) {
  if (half_life <= 0) return 1;
  return 1 - std::exp2(-static_cast<double>(dt) / static_cast<double>(half_life));
}
struct ForgetMemo {
  DurationNs dt = INT64_MIN, half_life = INT64_MIN;  // (no call asks for these: none made yet)
  double share = 0;
  double operator()(DurationNs d, DurationNs h) {
    if (d != dt || h != half_life) {
      dt = d;
      half_life = h;
      share = Forget(d, h);
    }
    return share;
  }
};
thread_local ForgetMemo forget_level, forget_warmup;

// Hours since the epoch, rounded down.
int64_t HourOf(EventTime t) { return (t >= 0 ? t : t - kHour + 1) / kHour; }

int HourOfDay(int64_t h) { return static_cast<int>(((h % 24) + 24) % 24); }

// 1970-01-01 was a Thursday; slot 0 is Monday 00:00 UTC.
int HourOfWeek(int64_t h) { return static_cast<int>(((h + 3 * 24) % 168 + 168) % 168); }

}  // namespace

double BaselineModel::Seasonal(EventTime t, const BaselineOptions& options) const {
  // Without means every mean is 0, and so is every offset.
  const DurationNs history = t - first_t_;
  if (!options.seasonality || history < 2 * kDay || MeanPagesHeld() == 0) return 0;
  // Over the slots visited, in order: a slot of a page not held adds its 0 as the whole array of
  // means did.
  auto offset = [this](bool weekly, size_t slots, size_t slot) {
    double sum = 0;
    int n = 0;
    for (size_t i = 0; i < slots; ++i) {
      if (Visits(weekly, i) == 0) continue;
      sum += Mean(weekly, i);
      ++n;
    }
    if (n == 0 || Visits(weekly, slot) == 0) return 0.0;
    return Mean(weekly, slot) - sum / n;
  };
  double s = 0;
  const auto day_slot = static_cast<size_t>(HourOfDay(HourOf(t)));
  s += offset(false, kDaySlots, day_slot);
  if (history >= 14 * kDay) {
    // The week's offset on top of the day's: what this weekday-hour adds to a usual day's hour.
    const auto week_slot = static_cast<size_t>(HourOfWeek(HourOf(t)));
    s += offset(true, kWeekSlots, week_slot) - offset(false, kDaySlots, day_slot);
  }
  return s;
}

void BaselineModel::SwitchHour(int64_t hour) {
  SeasonVisits& visits = *visits_;
  if (cur_.hour != INT64_MIN) {
    visits.daily[cur_.day] = cur_.day_n;
    visits.weekly[cur_.week] = cur_.week_n;
    // A page not held learned only zeros, and a running mean of zeros is 0.
    if (means_[0]) means_[0]->mean[cur_.day] = cur_.day_mean;
    if (auto& page = means_[1 + cur_.week / kDaySlots]) page->mean[cur_.week % kDaySlots] = cur_.week_mean;
  }
  cur_.hour = hour;
  cur_.day = static_cast<uint8_t>(HourOfDay(hour));
  cur_.week = static_cast<uint8_t>(HourOfWeek(hour));
  cur_.day_n = visits.daily[cur_.day];
  cur_.week_n = visits.weekly[cur_.week];
  cur_.day_mean = means_[0] ? means_[0]->mean[cur_.day] : 0.0;
  const auto& page = means_[1 + cur_.week / kDaySlots];
  cur_.week_mean = page ? page->mean[cur_.week % kDaySlots] : 0.0;
  cur_.pages = means_[0] && page;
}

void BaselineModel::LearnSeason(EventTime t, double value, const BaselineOptions& options) {
  if (!options.seasonality) return;
  // Samples per slot visit vary with the sampling rate; a cap of 2,000 per slot turns the running
  // mean into slow exponential forgetting (about a week at one sample a minute per daily slot).
  // (Visits exist once an hour is current; the current hour's pages are flagged in cur_: an
  // observation within the hour touches neither pointer.)
  const int64_t hour = HourOf(t);
  if (hour != cur_.hour) {
    if (!visits_) visits_.reset(new SeasonVisits);
    SwitchHour(hour);
  }
  if (cur_.day_n < kMaxSlotVisits) ++cur_.day_n;
  if (cur_.week_n < kMaxSlotVisits) ++cur_.week_n;
  // A page is made with the first value that is not 0 in it; until then its means stay 0, as
  // (0 - 0) / n leaves them.
  if (value != 0 && !cur_.pages) {
    if (!means_[0]) means_[0].reset(new MeanPage);
    if (auto& page = means_[1 + cur_.week / kDaySlots]; !page) page.reset(new MeanPage);
    cur_.pages = true;
  }
  cur_.day_mean += (value - cur_.day_mean) / cur_.day_n;
  cur_.week_mean += (value - cur_.week_mean) / cur_.week_n;
}

BaselineVerdict BaselineModel::Observe(EventTime t, double value,
                                       const BaselineOptions& options) {
  BaselineVerdict v;
  if (!std::isfinite(value)) return v;
  LearnSeason(t, value, options);
  if (!started_) {
    started_ = true;
    first_t_ = last_t_ = t;
    level_ = value;
    spread_ = 0;
    samples_ = 1;
    v.expected = value;
    return v;
  }
  const DurationNs dt = std::max<DurationNs>(0, t - last_t_);
  last_t_ = std::max(last_t_, t);
  const double season = Seasonal(t, options);
  const double expected = level_ + season;
  const double floor = std::max({options.min_spread, options.min_spread_ratio * std::fabs(expected),
                                 1e-12});
  const double sigma = std::max(1.25 * spread_, floor);
  const double r = value - expected;
  const double z = r / sigma;
  warm_ = samples_ >= options.min_samples && t - first_t_ >= options.learn_for;
  v.warm = warm_;
  v.expected = expected;
  v.spread = sigma;
  v.z = warm_ ? z : 0;
  ++samples_;

  // A deviation that lasts is the new normal: re-baseline on it.
  // While it deviates the model does not learn (an incident must not become the baseline
  // within minutes); after adapt_after it takes the new level at once.
  if (warm_ && std::fabs(z) > options.adapt_z) {
    if (deviating_since_ == INT64_MIN) deviating_since_ = t;
    if (t - deviating_since_ >= options.adapt_after) {
      level_ = value - season;
      spread_ = std::max(spread_, std::fabs(r) / 4);  // the old spread may be too tight now
      deviating_since_ = INT64_MIN;
      v.adapted = true;
    }
    return v;
  } else {
    deviating_since_ = INT64_MIN;
  }

  // Learn: a running mean during warm-up, then exponential forgetting; clipped once warm.
  double a = forget_level(dt, options.half_life);
  // Warming up: a running mean at first, and never slower than an eighth of the warm-up as
  // half-life, so that an odd start (a deploy, a cold cache) is forgotten by the time it judges.
  if (!warm_) {
    a = std::max(
        {a, 1.0 / static_cast<double>(samples_), forget_warmup(dt, options.learn_for / 8)});
  }
  const double clip = warm_ ? kClipSpreads * sigma : INFINITY;
  const double rc = std::clamp(r, -clip, clip);
  level_ += a * rc;
  spread_ += a * (std::min(std::fabs(r), clip) - spread_);
  return v;
}

void BaselineModel::Save(StateWriter& w) const {
  w.Int(started_).Int(warm_).Int(first_t_).Int(last_t_).UInt(samples_).Int(deviating_since_);
  w.Double(level_).Double(spread_);
  for (size_t i = 0; i < kDaySlots; ++i) w.Double(Mean(false, i));
  for (size_t i = 0; i < kWeekSlots; ++i) w.Double(Mean(true, i));
  for (size_t i = 0; i < kDaySlots; ++i) w.UInt(Visits(false, i));
  for (size_t i = 0; i < kWeekSlots; ++i) w.UInt(Visits(true, i));
}

bool BaselineModel::Load(StateReader& r) {
  int64_t started, warm;
  if (!r.Int(&started) || !r.Int(&warm) || !r.Time(&first_t_) || !r.Time(&last_t_) ||
      !r.UInt(&samples_) || !r.Time(&deviating_since_) || !r.Double(&level_) ||
      !r.Double(&spread_)) {
    return false;
  }
  started_ = started != 0;
  warm_ = warm != 0;
  // The means into pages, a page held when a mean in it is not 0.
  std::array<CopiedPtr<MeanPage>, kMeanPages> means;
  bool any = false;
  for (size_t i = 0; i < kDaySlots + kWeekSlots; ++i) {
    double d;
    if (!r.Double(&d) || !std::isfinite(d)) return false;
    if (d == 0) continue;
    const size_t page = i < kDaySlots ? 0 : 1 + (i - kDaySlots) / kDaySlots;
    if (!means[page]) means[page].reset(new MeanPage);
    means[page]->mean[i % kDaySlots] = d;
    any = true;
  }
  auto visits = std::make_unique<SeasonVisits>();
  bool visited = false;
  uint64_t v;
  for (uint16_t& n : visits->daily) {
    if (!r.UInt(&v) || v > kMaxSlotVisits) return false;
    n = static_cast<uint16_t>(v);
    visited |= n != 0;
  }
  for (uint16_t& n : visits->weekly) {
    if (!r.UInt(&v) || v > kMaxSlotVisits) return false;
    n = static_cast<uint16_t>(v);
    visited |= n != 0;
  }
  // Means without visits are damage (a mean is learned at a visit); reading the offsets needs both.
  if (any && !visited) return false;
  visits_.reset(visited ? visits.release() : nullptr);
  means_ = std::move(means);
  cur_ = CurrentHour{};
  // A mean absolute deviation is a number and never negative (a negative one loaded and held the
  // deviation scale at its floor until learning pulled it back up).
  return std::isfinite(level_) && std::isfinite(spread_) && spread_ >= 0;
}

}  // namespace sitepulse
