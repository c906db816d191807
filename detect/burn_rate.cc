#include "detect/burn_rate.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

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

std::string SlotRing::SaveState() const {
  std::string out;
  char buf[96];
  for (const Slot& s : slots_) {
    if (s.start == INT64_MIN) continue;
    std::snprintf(buf, sizeof(buf), "%lld:%llu:%llu,", static_cast<long long>(s.start),
                  static_cast<unsigned long long>(s.good), static_cast<unsigned long long>(s.total));
    out += buf;
  }
  return out;
}

bool SlotRing::LoadState(std::string_view state) {
  for (Slot& s : slots_) s = Slot{};
  good_ = total_ = 0;
  std::string str(state);
  const char* p = str.c_str();
  while (*p != '\0') {
    char* end;
    const long long start = std::strtoll(p, &end, 10);
    if (end == p || *end != ':') return false;
    p = end + 1;
    const unsigned long long good = std::strtoull(p, &end, 10);
    if (end == p || *end != ':') return false;
    p = end + 1;
    const unsigned long long total = std::strtoull(p, &end, 10);
    if (end == p || *end != ',') return false;
    p = end + 1;
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

std::string BurnState::SaveState() const {
  std::string out;
  for (const SlotRing& r : rings_) out += r.SaveState() + "|";
  return out;
}

bool BurnState::LoadState(std::string_view state) {
  size_t i = 0;
  for (SlotRing& r : rings_) {
    const size_t bar = state.find('|', i);
    if (bar == std::string_view::npos) return false;
    if (!r.LoadState(state.substr(i, bar - i))) return false;
    i = bar + 1;
  }
  return i == state.size();
}

}  // namespace sitepulse
