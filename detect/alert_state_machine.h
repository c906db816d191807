// The alert state machine of one (site, detector) pair, stepped once per closed bucket with the
// detector's condition: inactive -> pending (true, waiting out `for`) -> firing -> resolved (after
// `keep_firing_for` with the condition false) -> inactive. Pure logic on event time: no clock.
#pragma once

#include "core/time.h"

namespace sitepulse {

enum class AlertPhase { kInactive, kPending, kFiring };

enum class AlertTransition { kNone, kFire, kResolve };

class AlertStateMachine {
 public:
  struct Options {
    DurationNs for_duration = 0;
    DurationNs keep_firing_for = 0;
  };

  // `now` is the event time of the evaluation (end of the closed bucket); calls must be made in
  // increasing `now`.
  AlertTransition Step(bool condition, EventTime now, const Options& options);

  AlertPhase phase() const { return phase_; }
  // When the condition that led to the current pending/firing phase began.
  EventTime started_at() const { return started_at_; }
  // For snapshots.
  EventTime last_true() const { return last_true_; }
  void Restore(AlertPhase phase, EventTime started_at, EventTime last_true) {
    phase_ = phase;
    started_at_ = started_at;
    last_true_ = last_true;
  }

 private:
  AlertPhase phase_ = AlertPhase::kInactive;
  EventTime started_at_ = 0;
  EventTime last_true_ = 0;
};

}  // namespace sitepulse
