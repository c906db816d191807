#include "detect/alert_state_machine.h"

#include <gtest/gtest.h>

namespace sitepulse {
namespace {

constexpr EventTime kS = kNanosPerSecond;
const AlertStateMachine::Options kFor30Keep20{30 * kS, 20 * kS};

TEST(AlertStateMachineTest, InactiveStaysInactiveWhileFalse) {
  AlertStateMachine m;
  EXPECT_EQ(m.Step(false, 10 * kS, kFor30Keep20), AlertTransition::kNone);
  EXPECT_EQ(m.phase(), AlertPhase::kInactive);
}

TEST(AlertStateMachineTest, InactiveToPendingToFiringAfterFor) {
  AlertStateMachine m;
  EXPECT_EQ(m.Step(true, 10 * kS, kFor30Keep20), AlertTransition::kNone);
  EXPECT_EQ(m.phase(), AlertPhase::kPending);
  EXPECT_EQ(m.Step(true, 30 * kS, kFor30Keep20), AlertTransition::kNone);
  EXPECT_EQ(m.phase(), AlertPhase::kPending);
  EXPECT_EQ(m.Step(true, 40 * kS, kFor30Keep20), AlertTransition::kFire);
  EXPECT_EQ(m.phase(), AlertPhase::kFiring);
  EXPECT_EQ(m.started_at(), 10 * kS);  // when the condition began, not when it fired
}

TEST(AlertStateMachineTest, PendingToInactiveWhenConditionClears) {
  AlertStateMachine m;
  m.Step(true, 10 * kS, kFor30Keep20);
  EXPECT_EQ(m.Step(false, 20 * kS, kFor30Keep20), AlertTransition::kNone);
  EXPECT_EQ(m.phase(), AlertPhase::kInactive);
  // A new pending period starts from scratch.
  m.Step(true, 30 * kS, kFor30Keep20);
  EXPECT_EQ(m.Step(true, 50 * kS, kFor30Keep20), AlertTransition::kNone);
  EXPECT_EQ(m.Step(true, 60 * kS, kFor30Keep20), AlertTransition::kFire);
  EXPECT_EQ(m.started_at(), 30 * kS);
}

TEST(AlertStateMachineTest, ForZeroFiresImmediately) {
  AlertStateMachine m;
  EXPECT_EQ(m.Step(true, 10 * kS, {0, 0}), AlertTransition::kFire);
  EXPECT_EQ(m.Step(false, 20 * kS, {0, 0}), AlertTransition::kResolve);
  EXPECT_EQ(m.phase(), AlertPhase::kInactive);
}

TEST(AlertStateMachineTest, FiringKeepsFiringForThenResolves) {
  AlertStateMachine m;
  m.Step(true, 0, kFor30Keep20);
  ASSERT_EQ(m.Step(true, 30 * kS, kFor30Keep20), AlertTransition::kFire);
  EXPECT_EQ(m.Step(false, 40 * kS, kFor30Keep20), AlertTransition::kNone);  // 10 s false
  EXPECT_EQ(m.phase(), AlertPhase::kFiring);
  EXPECT_EQ(m.Step(false, 50 * kS, kFor30Keep20), AlertTransition::kResolve);  // 20 s false
  EXPECT_EQ(m.phase(), AlertPhase::kInactive);
}

TEST(AlertStateMachineTest, FlappingInsideKeepFiringForDoesNotResolve) {
  AlertStateMachine m;
  m.Step(true, 0, kFor30Keep20);
  m.Step(true, 30 * kS, kFor30Keep20);
  EXPECT_EQ(m.Step(false, 40 * kS, kFor30Keep20), AlertTransition::kNone);
  EXPECT_EQ(m.Step(true, 45 * kS, kFor30Keep20), AlertTransition::kNone);
  EXPECT_EQ(m.Step(false, 60 * kS, kFor30Keep20), AlertTransition::kNone);  // 15 s since true
  EXPECT_EQ(m.Step(false, 65 * kS, kFor30Keep20), AlertTransition::kResolve);
  EXPECT_EQ(m.started_at(), 0);  // one incident throughout
}

}  // namespace
}  // namespace sitepulse
