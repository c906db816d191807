#include "detect/burn_rate.h"

#include <algorithm>

namespace sitepulse {

SlotRing::SlotRing(DurationNs window, DurationNs resolution) : window_(window) {
  // About 60 slots, each a whole number of buckets.
  const DurationNs res = std::max<DurationNs>(resolution, 1);
  const DurationNs want = std::max<DurationNs>(window / 60, res);
  granularity_ = (want + res - 1) / res * res;
  slots_.resize(static_cast<size_t>((window + granularity_ - 1) / granularity_) + 1);
}

void SlotRing::Add(EventTime end, uint64_t good, uint64_t total) {
  const EventTime t = end - 1;
  const EventTime start = (t >= 0 ? t : t - granularity_ + 1) / granularity_ * granularity_;
  Slot& s = slots_[static_cast<size_t>((start / granularity_) % static_cast<EventTime>(slots_.size()))];
  if (s.start != start) {
    good_ -= s.good;
    total_ -= s.total;
    s = Slot{start, 0, 0};
  }
  s.good += good;
  s.total += total;
  good_ += good;
  total_ += total;
}

void SlotRing::Expire(EventTime now) {
  for (Slot& s : slots_) {
    // A slot counts while it ends after now - window.
    if (s.start != INT64_MIN && s.start + granularity_ <= now - window_) {
      good_ -= s.good;
      total_ -= s.total;
      s = Slot{};
    }
  }
}

void SlotRing::Save(StateWriter& w) const {
  size_t used = 0;
  for (const Slot& s : slots_) used += s.start != INT64_MIN;
  w.UInt(used);
  for (const Slot& s : slots_) {
    if (s.start != INT64_MIN) w.Int(s.start).UInt(s.good).UInt(s.total);
  }
}

bool SlotRing::Load(StateReader& r) {
  for (Slot& s : slots_) s = Slot{};
  good_ = total_ = 0;
  uint64_t used;
  if (!r.UInt(&used) || used > slots_.size()) return false;
  for (uint64_t i = 0; i < used; ++i) {
    int64_t start;
    uint64_t good, total;
    if (!r.Time(&start) || !r.UInt(&good) || !r.UInt(&total)) return false;
    if (start % granularity_ != 0) return false;  // saved with another resolution
    Add(start + granularity_, good, total);
  }
  return true;
}

BurnState::BurnState(const DetectorSpec& spec, DurationNs resolution)
    : budget_(std::max(1e-9, 1 - spec.objective)) {
  for (const BurnPair& p : spec.pairs) {
    for (DurationNs w : {p.long_window, p.short_window}) {
      if (Ring(w) == nullptr) rings_.emplace_back(w, resolution);
    }
  }
}

SlotRing* BurnState::Ring(DurationNs window) {
  for (SlotRing& r : rings_) {
    if (r.window() == window) return &r;
  }
  return nullptr;
}

void BurnState::Add(EventTime end, uint64_t good, uint64_t total) {
  for (SlotRing& r : rings_) r.Add(end, good, total);
}

double BurnState::BurnRate(DurationNs window, EventTime now) {
  SlotRing* r = Ring(window);
  if (r == nullptr) return 0;
  r->Expire(now);
  if (r->total() == 0) return 0;
  const double bad = static_cast<double>(r->total() - std::min(r->good(), r->total()));
  return bad / static_cast<double>(r->total()) / budget_;
}

uint64_t BurnState::Requests(DurationNs window, EventTime now) {
  SlotRing* r = Ring(window);
  if (r == nullptr) return 0;
  r->Expire(now);
  return r->total();
}

void BurnState::Save(StateWriter& w) const {
  for (const SlotRing& r : rings_) r.Save(w);
}

bool BurnState::Load(StateReader& r) {
  for (SlotRing& ring : rings_) {
    if (!ring.Load(r)) return false;
  }
  return true;
}

}  // namespace sitepulse
