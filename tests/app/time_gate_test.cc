#include "app/time_gate.h"

#include <gtest/gtest.h>

#include <vector>

namespace sitepulse {
namespace {

constexpr EventTime kS = kNanosPerSecond;
constexpr EventTime kT0 = 1735689600LL * kS;  // 2025-01-01

// Feeds times through a gate as a lane does; returns the order lines were accepted (by index),
// and the rejected indexes.
struct Outcome {
  std::vector<int> accepted, late, rejected;
};

Outcome Feed(TimeGate& g, const std::vector<EventTime>& times, bool finish = true) {
  Outcome o;
  auto drain = [&] {
    for (const HeldLine& h : g.released()) (h.late ? o.late : o.accepted).push_back(static_cast<int>(h.offset));
    for (const HeldLine& h : g.rejected()) o.rejected.push_back(static_cast<int>(h.offset));
    g.released().clear();
    g.rejected().clear();
  };
  for (size_t i = 0; i < times.size(); ++i) {
    const TimeGate::Verdict v = g.Offer(times[i]);
    if (v == TimeGate::Verdict::kHold) {
      HeldLine h;
      h.time = times[i];
      h.offset = i;
      g.Hold(std::move(h));
    } else {
      (v == TimeGate::Verdict::kLate ? o.late : o.accepted).push_back(static_cast<int>(i));
    }
    drain();
  }
  if (finish) {
    g.Finish();
    drain();
  }
  return o;
}

TimeGateOptions Opts() {
  TimeGateOptions o;
  o.max_jump = 3600 * kS;
  o.confirm_lines = 4;
  o.lateness = 30 * kS;
  o.resolution = 10 * kS;
  return o;
}

std::vector<EventTime> Steady(int n, EventTime from = kT0) {
  std::vector<EventTime> t;
  for (int i = 0; i < n; ++i) t.push_back(from + i * kS);
  return t;
}

TEST(TimeGateTest, OneFutureLineIsRejectedAndChangesNothingElse) {
  TimeGate g(Opts());
  std::vector<EventTime> t = Steady(20);
  t.insert(t.begin() + 10, kT0 + 75LL * 365 * 86400 * kS);  // 2100
  const Outcome o = Feed(g, t);
  EXPECT_EQ(o.rejected, std::vector<int>{10});
  EXPECT_TRUE(o.late.empty());
  EXPECT_EQ(o.accepted.size(), 20u);
  EXPECT_EQ(g.max_time(), kT0 + 19 * kS);
}

TEST(TimeGateTest, AFirstLineFromTheFutureDoesNotSetTheTime) {
  TimeGate g(Opts());
  std::vector<EventTime> t = Steady(20);
  t.insert(t.begin(), kT0 + 3 * 86400 * kS);
  const Outcome o = Feed(g, t);
  EXPECT_EQ(o.rejected, std::vector<int>{0});
  EXPECT_TRUE(o.late.empty());
  EXPECT_EQ(o.accepted.size(), 20u);
}

TEST(TimeGateTest, AGapIsConfirmedAndKeptInOrder) {
  TimeGate g(Opts());
  std::vector<EventTime> t = Steady(10);
  const std::vector<EventTime> later = Steady(10, kT0 + 2 * 86400 * kS);
  t.insert(t.end(), later.begin(), later.end());
  const Outcome o = Feed(g, t);
  EXPECT_TRUE(o.rejected.empty());
  EXPECT_TRUE(o.late.empty());
  std::vector<int> all(20);
  for (int i = 0; i < 20; ++i) all[static_cast<size_t>(i)] = i;
  EXPECT_EQ(o.accepted, all);
}

TEST(TimeGateTest, AClockBrokenOnHalfTheLinesNeverConfirms) {
  TimeGate g(Opts());
  std::vector<EventTime> t;
  std::vector<int> broken;
  for (int i = 0; i < 100; ++i) {
    t.push_back(kT0 + i * kS);
    if (i >= 10) {
      broken.push_back(static_cast<int>(t.size()));
      t.push_back(kT0 + 86400 * kS + i * kS);
    }
  }
  const Outcome o = Feed(g, t);
  EXPECT_EQ(o.rejected, broken);
  EXPECT_TRUE(o.late.empty());
}

TEST(TimeGateTest, LateIsJudgedPerLineAgainstTheInput) {
  TimeGate g(Opts());
  std::vector<EventTime> t = Steady(10, kT0 + 100 * kS);  // up to 109 s
  t.push_back(kT0 + 75 * kS);  // bucket [70, 80) ends at 80 > 109 - 30: on time
  t.push_back(kT0 + 65 * kS);  // bucket [60, 70) ends at 70 <= 79: late
  const Outcome o = Feed(g, t);
  EXPECT_EQ(o.late, std::vector<int>{11});
  EXPECT_TRUE(g.IsLate(kT0 + 69 * kS));
  EXPECT_FALSE(g.IsLate(kT0 + 70 * kS));
}

// Kafka commits stop before the oldest held line, so a restart reads it again.
TEST(TimeGateTest, HeldLinesBoundCommits) {
  TimeGate g(Opts());
  EXPECT_EQ(g.min_held_offset(), INT64_MAX);
  std::vector<EventTime> t = Steady(6);
  t.push_back(kT0 + 86400 * kS);
  t.push_back(kT0 + 86400 * kS + kS);
  Feed(g, t, /*finish=*/false);
  EXPECT_EQ(g.held(), 2u);
  EXPECT_EQ(g.min_held_offset(), 6);
  EXPECT_FALSE(g.steady());
}

}  // namespace
}  // namespace sitepulse
