// SLO error-budget burn rates over long windows (up to days) without a bucket per 10 s: each
// window keeps about 60 slots of (good, total) request counts, so a 3-day window costs 60 slots
// of 72 minutes, not 25,920 buckets. The window then covers its length to within one slot.
//
// Pure logic on event time; one BurnState per (site, burn_rate detector).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "core/state_codec.h"
#include "core/time.h"
#include "detect/threshold_detector.h"

namespace sitepulse {

class SlotRing {
 public:
  SlotRing() = default;
  SlotRing(DurationNs window, DurationNs resolution);

  // Adds the counts of the bucket [end - resolution, end). Calls come in increasing `end`.
  void Add(EventTime end, uint64_t good, uint64_t total);
  // Drops slots that fell out of the window as of `now`.
  void Expire(EventTime now);
  uint64_t good() const { return good_; }
  uint64_t total() const { return total_; }
  DurationNs window() const { return window_; }
  DurationNs granularity() const { return granularity_; }
  // Slots allocated (at most the ring's length; see slots_).
  size_t allocated() const { return cap_; }
  // Asks the CPU for the slot the next Add most likely goes to (the last one's).
  void PrefetchLast() const {
    if (last_ < cap_) __builtin_prefetch(&slots_[last_], 1);
  }

  // Snapshots: the slots in use, as tokens of the current line.
  void Save(StateWriter& w) const;
  bool Load(StateReader& r);

 private:
  // 16 bytes (about 330 slots per site with the shipped pairs). A slot counts at most 2^32 - 1
  // requests: past that (a site above a million requests a second for a 72-minute slot of a
  // 3-day window) it keeps the share of good requests of the ones it counted.
  struct Slot {
    EventTime start = INT64_MIN;
    uint32_t good = 0;
    uint32_t total = 0;
  };
  std::span<Slot> Slots() { return {slots_.get(), cap_}; }
  std::span<const Slot> Slots() const { return {slots_.get(), cap_}; }
  // Adds to `s` and the ring's sums, unless the slot would pass 2^32 - 1 requests.
  void AddTo(Slot& s, uint64_t good, uint64_t total);
  // The place of the slot starting at `start`: slots follow each other from the first one
  // placed (base_), so a ring fills its places in order and allocates them as it goes.
  size_t SlotOf(EventTime start);
  size_t PlaceOf(EventTime start) const;  // the same, base_ set, nothing allocated
  // 64 bytes: a site's seven rings (the shipped pairs) are read at every close of the site.
  DurationNs window_ = 0;
  DurationNs granularity_ = 1;
  EventTime base_ = INT64_MIN;  // start of the slot at place 0 (INT64_MIN: none placed yet)
  uint64_t good_ = 0;
  uint64_t total_ = 0;
  // Every slot starting at or before this has been expired (INT64_MIN: none known): Expire
  // visits only the slots that left since, not the whole ring at every bucket.
  EventTime expired_through_ = INT64_MIN;
  // Places 0 .. cap_ - 1 (empty ones start at INT64_MIN); the rest are not allocated (a 3-day
  // ring uses one slot in its first 72 minutes, not 61: a site's rings cost what its history
  // holds).
  std::unique_ptr<Slot[]> slots_;
  // Places in the ring: at most 62 (a slot is at least a 60th of the window), so a byte each.
  static constexpr uint8_t kNone = UINT8_MAX;
  uint8_t length_ = 0;
  uint8_t cap_ = 0;
  uint8_t last_ = kNone;  // the slot the last Add went to (kNone: none, or it expired)
};

// The rings of one burn_rate detector for one site: one per distinct window of its pairs.
class BurnState {
 public:
  BurnState(const DetectorSpec& spec, DurationNs resolution);
  // A closed bucket: `good` of `total` requests met the SLI.
  void Add(EventTime end, uint64_t good, uint64_t total);
  // Every ring expired as of `now` (a detector judging its pairs reads each ring two or three
  // times per close: expired once, read as they stand).
  void ExpireAll(EventTime now);
  // Of pair i of the spec's pairs, as of the last ExpireAll: the burn rate (bad share / error
  // budget share; 0 without requests) of its long or short window, and its long window's
  // requests. (Each pair's rings are found once, at construction: a judged close reads about
  // sixteen windows, and a search by length read every ring's header on the way.)
  double LongRate(size_t pair) const { return RateOf(rings_[pair_rings_[pair].long_ring]); }
  double ShortRate(size_t pair) const { return RateOf(rings_[pair_rings_[pair].short_ring]); }
  uint64_t LongRequests(size_t pair) const {
    return rings_[pair_rings_[pair].long_ring].total();
  }

  void Save(StateWriter& w) const;
  bool Load(StateReader& r);

 private:
  double RateOf(const SlotRing& r) const;
  struct PairRings {
    uint32_t long_ring = 0, short_ring = 0;  // places in rings_
  };
  double budget_;  // 1 - objective
  std::vector<SlotRing> rings_;
  absl::InlinedVector<PairRings, 4> pair_rings_;  // one per pair, in the spec's order
};

}  // namespace sitepulse
