#include "detect/alert_state_machine.h"

namespace sitepulse {

AlertTransition AlertStateMachine::Step(bool condition, EventTime now, const Options& options) {
  switch (phase_) {
    case AlertPhase::kInactive:
      if (!condition) return AlertTransition::kNone;
      started_at_ = now;
      last_true_ = now;
      if (options.for_duration <= 0) {
        phase_ = AlertPhase::kFiring;
        return AlertTransition::kFire;
      }
      phase_ = AlertPhase::kPending;
      return AlertTransition::kNone;
    case AlertPhase::kPending:
      if (!condition) {
        phase_ = AlertPhase::kInactive;
        return AlertTransition::kNone;
      }
      last_true_ = now;
      if (now - started_at_ >= options.for_duration) {
        phase_ = AlertPhase::kFiring;
        return AlertTransition::kFire;
      }
      return AlertTransition::kNone;
    case AlertPhase::kFiring:
      if (condition) {
        last_true_ = now;
        return AlertTransition::kNone;
      }
      if (now - last_true_ >= options.keep_firing_for) {
        phase_ = AlertPhase::kInactive;
        return AlertTransition::kResolve;
      }
      return AlertTransition::kNone;
  }
  return AlertTransition::kNone;
}

}  // namespace sitepulse
