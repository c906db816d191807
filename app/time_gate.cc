#include "app/time_gate.h"

#include <algorithm>
#include <utility>

namespace sitepulse {

bool TimeGate::IsLate(EventTime t) const {
  if (max_time_ == kNone) return false;
  const DurationNs res = options_.resolution;
  EventTime start = t / res * res;
  if (t % res < 0) start -= res;
  return start + res <= max_time_ - options_.lateness;
}

void TimeGate::Advance(EventTime max_time) {
  if (max_time == kNone) return;
  initial_ = false;
  max_time_ = std::max(max_time_, max_time);
}

void TimeGate::Accept(EventTime t) { max_time_ = std::max(max_time_, t); }

TimeGate::Verdict TimeGate::Offer(EventTime t) {
  if (initial_) return Verdict::kHold;
  if (t > max_time_ && t - max_time_ > options_.max_jump) return Verdict::kHold;
  const bool late = IsLate(t);
  if (!late) Accept(t);
  if (!held_.empty()) {
    ++behind_;
    ReleaseWithinJump();
    if (!held_.empty() && behind_ >= options_.confirm_lines) {
      // The input went on where it was: nothing confirmed the jump.
      for (HeldLine& h : held_) rejected_.push_back(std::move(h));
      held_.clear();
      ahead_ = behind_ = 0;
    }
  }
  return late ? Verdict::kLate : Verdict::kAccept;
}

void TimeGate::ReleaseWithinJump() {
  bool moved = true;
  while (moved && !held_.empty()) {
    moved = false;
    for (auto it = held_.begin(); it != held_.end();) {
      if (it->time - max_time_ <= options_.max_jump) {
        Accept(it->time);
        released_.push_back(std::move(*it));
        it = held_.erase(it);
        moved = true;
      } else {
        ++it;
      }
    }
  }
  if (held_.empty()) ahead_ = behind_ = 0;
}

void TimeGate::Hold(HeldLine line) {
  held_.push_back(std::move(line));
  if (initial_) {
    if (held_.size() >= options_.confirm_lines) StartFromHeld();
    return;
  }
  // Enough lines agree on the jump, and the input has (almost) stopped carrying on where it
  // was: a gap in the input, not a broken clock. A clock broken on half the lines never
  // confirms (ahead and behind grow together until behind rejects); held lines stay bounded
  // (at most 4 x confirm_lines).
  if (++ahead_ >= options_.confirm_lines && ahead_ >= 4 * behind_) {
    for (HeldLine& h : held_) {
      Accept(h.time);
      released_.push_back(std::move(h));
    }
    held_.clear();
    ahead_ = behind_ = 0;
  }
}

void TimeGate::StartFromHeld() {
  std::vector<HeldLine> first = std::move(held_);
  held_.clear();
  std::vector<EventTime> times;
  times.reserve(first.size());
  for (const HeldLine& h : first) times.push_back(h.time);
  std::sort(times.begin(), times.end());
  const EventTime median = times[(times.size() - 1) / 2];
  // The earliest time within max_jump of the median: an outlier on either side does not set M.
  max_time_ = *std::lower_bound(times.begin(), times.end(), median - options_.max_jump);
  initial_ = false;
  ahead_ = behind_ = 0;
  for (HeldLine& h : first) {
    const size_t at = released_.size();
    const Verdict v = Offer(h.time);
    if (v == Verdict::kHold) {
      Hold(std::move(h));
      continue;
    }
    // This line first, then what it released.
    h.late = v == Verdict::kLate;
    released_.insert(released_.begin() + static_cast<std::ptrdiff_t>(at), std::move(h));
  }
}

void TimeGate::Finish() {
  if (initial_ && !held_.empty()) StartFromHeld();
  for (HeldLine& h : held_) rejected_.push_back(std::move(h));
  held_.clear();
  ahead_ = behind_ = 0;
}

}  // namespace sitepulse
