#include "detect/burn_rate.h"

#include <algorithm>

#include "core/check.h"

namespace sitepulse {

SlotRing::SlotRing(DurationNs window, DurationNs resolution) : window_(window) {
  // About 60 slots, each a whole number of buckets.
  const DurationNs res = std::max<DurationNs>(resolution, 1);
  const DurationNs want = std::max<DurationNs>(window / 60, res);
  granularity_ = (want + res - 1) / res * res;
  const DurationNs places = (window + granularity_ - 1) / granularity_ + 1;
  SP_DCHECK(places >= 1 && places < kNone, "a ring has at most 62 places");
  length_ = static_cast<uint8_t>(places);
}

size_t SlotRing::PlaceOf(EventTime start) const {
  // start and base_ are multiples of the granularity; the difference in 64 bits when it fits, in
  // 128 when not (a damaged snapshot's times may be anything).
  int64_t diff;
  if (!__builtin_sub_overflow(start, base_, &diff)) {
    const int64_t n = static_cast<int64_t>(length_);
    const int64_t k = diff / granularity_ % n;
    return static_cast<size_t>(k < 0 ? k + n : k);
  }
  const auto n = static_cast<__int128>(length_);
  const __int128 k = (static_cast<__int128>(start) - base_) / granularity_;
  return static_cast<size_t>((k % n + n) % n);
}

size_t SlotRing::SlotOf(EventTime start) {
  if (base_ == INT64_MIN) base_ = start;
  size_t place;
  // Most slots follow the last one added to: the next place, no division.
  int64_t step;
  if (last_ < cap_ && slots_[last_].start != INT64_MIN &&
      !__builtin_sub_overflow(start, slots_[last_].start, &step) && step == granularity_) {
    place = last_ + 1u == length_ ? 0 : last_ + 1u;
  } else {
    place = PlaceOf(start);
  }
  if (place >= cap_) {  // doubling, never past the ring's length (a short ring: all at once)
    const size_t first = length_ <= 16 ? length_ : 4;
    const size_t cap = std::min(std::max<size_t>({first, 2u * cap_, place + 1}), size_t{length_});
    auto slots = std::make_unique<Slot[]>(cap);
    std::copy(slots_.get(), slots_.get() + cap_, slots.get());
    slots_ = std::move(slots);
    cap_ = static_cast<uint8_t>(cap);
  }
  return place;
}

void SlotRing::AddTo(Slot& s, uint64_t good, uint64_t total) {
  good = std::min(good, total);
  if (total > UINT32_MAX - s.total) return;  // the slot is full (see Slot)
  s.good += static_cast<uint32_t>(good);
  s.total += static_cast<uint32_t>(total);
  good_ += good;
  total_ += total;
}

void SlotRing::Add(EventTime end, uint64_t good, uint64_t total) {
  const EventTime t = end - 1;
  // Most calls fall in the slot of the call before (a slot spans several buckets): no division.
  if (last_ < cap_ && t >= slots_[last_].start && t - slots_[last_].start < granularity_) {
    AddTo(slots_[last_], good, total);
    return;
  }
  const EventTime start = (t >= 0 ? t : t - granularity_ + 1) / granularity_ * granularity_;
  last_ = static_cast<uint8_t>(SlotOf(start));
  Slot& s = slots_[last_];
  if (s.start != start) {
    good_ -= s.good;
    total_ -= s.total;
    s = Slot{start, 0, 0};
  }
  AddTo(s, good, total);
}

void SlotRing::Expire(EventTime now) {
  // A slot counts while it ends after now - window: those starting at or before `last` are out.
  const EventTime cut = now - window_ - granularity_;
  // Nothing left since the last call (most calls: a slot spans several buckets, and a detector
  // reads a ring more than once per close): no division.
  EventTime next;
  if (expired_through_ != INT64_MIN &&
      !__builtin_add_overflow(expired_through_, granularity_, &next) && cut < next) {
    return;
  }
  const EventTime last = (cut >= 0 ? cut : cut - granularity_ + 1) / granularity_ * granularity_;
  if (expired_through_ != INT64_MIN && last <= expired_through_) return;
  auto expire = [this](Slot& s) {
    good_ -= s.good;
    total_ -= s.total;
    s = Slot{};
    if (last_ < cap_ && &slots_[last_] == &s) last_ = kNone;
  };
  if (expired_through_ == INT64_MIN ||
      (last - expired_through_) / granularity_ >= static_cast<EventTime>(cap_)) {
    for (Slot& s : Slots()) {
      if (s.start != INT64_MIN && s.start <= last) expire(s);
    }
  } else if (base_ != INT64_MIN) {
    // Slot starts are multiples of the granularity, each at its own place in the ring.
    for (EventTime start = expired_through_ + granularity_; start <= last; start += granularity_) {
      const size_t place = PlaceOf(start);
      if (place < cap_ && slots_[place].start == start) expire(slots_[place]);
    }
  }
  expired_through_ = last;
}

void SlotRing::Save(StateWriter& w) const {
  size_t used = 0;
  for (const Slot& s : Slots()) used += s.start != INT64_MIN;
  w.UInt(used);
  for (const Slot& s : Slots()) {
    if (s.start != INT64_MIN) w.Int(s.start).UInt(s.good).UInt(s.total);
  }
}

bool SlotRing::Load(StateReader& r) {
  slots_.reset();
  cap_ = 0;
  base_ = INT64_MIN;
  good_ = total_ = 0;
  expired_through_ = INT64_MIN;
  last_ = kNone;
  uint64_t used;
  if (!r.UInt(&used) || used > length_) return false;
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
  // One ring per distinct window, in the order the pairs first name them.
  auto ring_of = [&](DurationNs w) {
    size_t i = 0;
    while (i < rings_.size() && rings_[i].window() != w) ++i;
    if (i == rings_.size()) rings_.emplace_back(w, resolution);
    return static_cast<uint32_t>(i);
  };
  for (const BurnPair& p : spec.pairs) {
    PairRings pr;
    pr.long_ring = ring_of(p.long_window);
    pr.short_ring = ring_of(p.short_window);
    pair_rings_.push_back(pr);
  }
}

void BurnState::ExpireAll(EventTime now) {
  for (SlotRing& r : rings_) r.Expire(now);
}

double BurnState::RateOf(const SlotRing& r) const {
  if (r.total() == 0) return 0;
  const double bad = static_cast<double>(r.total() - std::min(r.good(), r.total()));
  return bad / static_cast<double>(r.total()) / budget_;
}

void BurnState::Add(EventTime end, uint64_t good, uint64_t total) {
  // Each ring's slots are an allocation of their own: all asked for before the first is added to.
  for (const SlotRing& r : rings_) r.PrefetchLast();
  for (SlotRing& r : rings_) r.Add(end, good, total);
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
