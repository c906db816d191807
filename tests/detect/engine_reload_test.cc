// WindowEngine::Reconfigure (live reload) and the compare set (replay --compare): what an SRE
// tuning detectors relies on. An unchanged detector keeps its alert and learned baseline; a
// changed one starts fresh over the same windows; a removed firing one is resolved; a second
// configuration over the same windows emits exactly what that configuration alone would.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "detect/window_engine.h"
#include "tests/detect/engine_test_util.h"

namespace sitepulse {
namespace {

using testing::Feeder;
using testing::kHour;
using testing::kMin;
using testing::kS;
using testing::kT0;
using testing::Options;
using testing::Recorder;
using testing::Spec;

// Ten requests a second for [from, to); `error_share` of them 503, each `latency` seconds.
void Traffic(Feeder& f, int p, EventTime from, EventTime to, double error_share,
             double latency = 0.05) {
  double errors_due = 0;
  for (EventTime t = from; t < to; t += 10 * kS) {
    for (int i = 0; i < 100; ++i) {
      errors_due += error_share;
      const bool error = errors_due >= 1;
      if (error) errors_due -= 1;
      f.Add(0, t + i * kS / 10, error ? 503 : 200, latency);
    }
    f.Flush(p);
  }
}

// A quiet hour, a 10-minute 5xx burst at 90 minutes, and a p99 regression at 2 hours.
void Day(Feeder& f, int p, EventTime from, EventTime to) {
  for (EventTime t = from; t < to; t += 10 * kS) {
    const bool burst = t >= kT0 + 90 * kMin && t < kT0 + 100 * kMin;
    const bool slow = t >= kT0 + 120 * kMin && t < kT0 + 130 * kMin;
    Traffic(f, p, t, t + 10 * kS, burst ? 0.3 : 0.001, slow ? 0.9 : 0.05);
  }
}

DetectorSpec Errors(double threshold) {
  DetectorSpec s = Spec("errors", Metric::kErrorRate, threshold, 5 * kMin);
  s.for_duration = 2 * kMin;
  return s;
}

DetectorSpec LearnedP99() {
  DetectorSpec s;
  s.name = "p99_baseline";
  s.type = DetectorType::kBaseline;
  s.metric = Metric::kP99;
  s.window = kMin;
  s.min_requests = 50;
  s.baseline.learn_for = kHour;
  s.baseline.half_life = 2 * kHour;
  s.baseline.seasonality = false;
  s.for_duration = kMin;
  return s;
}

std::vector<Anomaly> Of(const std::vector<Anomaly>& all, std::string_view detector) {
  std::vector<Anomaly> out;
  for (const Anomaly& a : all) {
    if (a.detector == detector) out.push_back(a);
  }
  return out;
}

std::string Render(const std::vector<Anomaly>& events) {
  std::string out;
  for (const Anomaly& a : events) {
    out += a.detector + " " + std::string(AlertStateName(a.state)) + " at " +
           std::to_string((a.at - kT0) / kS) + " id " + a.id + "\n";
  }
  return out;
}

// Runs the day with `before` until `reload_at`, then `after`.
std::vector<Anomaly> RunDay(const std::vector<DetectorSpec>& before, EventTime reload_at,
                            const std::vector<DetectorSpec>& after) {
  WindowEngineOptions o = Options();
  o.detectors = before;
  Recorder rec;
  WindowEngine engine(o, &rec);
  const int p = engine.AddPartition();
  Feeder f(&engine, {"shop"});
  Day(f, p, kT0, reload_at);
  engine.Reconfigure(after, {});
  Day(f, p, reload_at, kT0 + 3 * kHour);
  engine.EndPartition(p);
  return rec.anomalies;
}

TEST(EngineReloadTest, UnchangedDetectorsKeepAlertAndLearnedBaseline) {
  const std::vector<DetectorSpec> specs = {Errors(0.05), LearnedP99()};
  const std::vector<Anomaly> straight = RunDay(specs, kT0 + 3 * kHour, specs);
  ASSERT_EQ(Of(straight, "errors").size(), 2u) << Render(straight);
  ASSERT_FALSE(Of(straight, "p99_baseline").empty()) << Render(straight);
  // Reloaded mid-burst (the errors alert pending) and after the baseline warmed up: nothing
  // changes. A fresh baseline would still be warming up at 2 hours and miss the regression.
  for (EventTime at : {kT0 + 91 * kMin, kT0 + 95 * kMin, kT0 + 110 * kMin}) {
    EXPECT_EQ(Render(RunDay(specs, at, specs)), Render(straight)) << (at - kT0) / kS;
  }
}

TEST(EngineReloadTest, AChangedDetectorStartsFreshOverTheSameWindows) {
  const std::vector<DetectorSpec> loose = {Errors(0.5), LearnedP99()};
  const std::vector<DetectorSpec> tight = {Errors(0.05), LearnedP99()};
  const std::vector<Anomaly> only_tight = RunDay(tight, kT0 + 3 * kHour, tight);
  const std::vector<Anomaly> only_loose = RunDay(loose, kT0 + 3 * kHour, loose);
  ASSERT_TRUE(Of(only_loose, "errors").empty());
  // Reloaded at 80 minutes (quiet): the tight threshold's events from then on are what it
  // would have said from the start, because the windows were kept; the baseline kept its state.
  const std::vector<Anomaly> reloaded = RunDay(loose, kT0 + 80 * kMin, tight);
  EXPECT_EQ(Render(Of(reloaded, "errors")), Render(Of(only_tight, "errors")));
  EXPECT_EQ(Render(Of(reloaded, "p99_baseline")), Render(Of(only_tight, "p99_baseline")));
  // Reloaded 30 s into the burst: the window already holds the burst, so the tight detector
  // goes pending at once and fires for_duration later, like one that saw it all.
  const std::vector<Anomaly> mid = RunDay(loose, kT0 + 90 * kMin + 30 * kS, tight);
  ASSERT_FALSE(Of(mid, "errors").empty()) << Render(mid);
  EXPECT_LE(Of(mid, "errors")[0].at, Of(only_tight, "errors")[0].at + 30 * kS);
}

TEST(EngineReloadTest, ARemovedFiringDetectorIsResolvedByTheReload) {
  const std::vector<DetectorSpec> specs = {Errors(0.05)};
  const std::vector<Anomaly> events = RunDay(specs, kT0 + 97 * kMin, {});
  ASSERT_EQ(events.size(), 2u) << Render(events);
  EXPECT_EQ(events[0].state, AlertState::kFiring);
  EXPECT_EQ(events[1].state, AlertState::kResolved);
  EXPECT_EQ(events[1].id, events[0].id);
  EXPECT_LE(events[1].at, kT0 + 97 * kMin);
  EXPECT_GT(events[1].at, kT0 + 96 * kMin);
  EXPECT_NE(events[1].summary.find("configuration reload"), std::string::npos);
}

TEST(EngineReloadTest, ANewWindowLengthIsBuiltFromTheBucketsKept) {
  // Before: a 5-minute window (the ring keeps 30 buckets). After: a 1-minute error window too;
  // it must see the burst it was added in the middle of, from the buckets kept.
  DetectorSpec fast = Spec("errors_1m", Metric::kErrorRate, 0.2, kMin);
  const std::vector<Anomaly> straight =
      RunDay({Errors(0.05), fast}, kT0 + 3 * kHour, {Errors(0.05), fast});
  const std::vector<Anomaly> reloaded =
      RunDay({Errors(0.05)}, kT0 + 90 * kMin + 30 * kS, {Errors(0.05), fast});
  ASSERT_FALSE(Of(straight, "errors_1m").empty());
  EXPECT_EQ(Render(Of(reloaded, "errors_1m")), Render(Of(straight, "errors_1m")));
  EXPECT_EQ(Render(Of(reloaded, "errors")), Render(Of(straight, "errors")));
}

struct CompareRecorder : AnomalyListener {
  void OnAnomaly(const Anomaly& a) override { anomalies.push_back(a); }
  std::vector<Anomaly> anomalies;
};

TEST(EngineReloadTest, ACompareSetSaysWhatItsConfigurationAloneWould) {
  const std::vector<DetectorSpec> a = {Errors(0.5)};
  const std::vector<DetectorSpec> b = {Errors(0.05), LearnedP99()};
  WindowEngineOptions o = Options();
  o.detectors = a;
  o.compare = true;
  o.compare_detectors = b;
  Recorder rec;
  CompareRecorder cmp;
  WindowEngine engine(o, &rec, &cmp);
  const int p = engine.AddPartition();
  Feeder f(&engine, {"shop"});
  Day(f, p, kT0, kT0 + 3 * kHour);
  engine.EndPartition(p);
  EXPECT_EQ(Render(rec.anomalies), Render(RunDay(a, kT0 + 3 * kHour, a)));
  const std::vector<Anomaly> b_alone = RunDay(b, kT0 + 3 * kHour, b);
  ASSERT_FALSE(b_alone.empty());
  EXPECT_EQ(Render(cmp.anomalies), Render(b_alone));
  // The snapshot holds the run's configuration only.
  EXPECT_EQ(engine.SaveState().find("p99_baseline"), std::string::npos);
}

}  // namespace
}  // namespace sitepulse
