#include "detect/window_engine.h"

#include <gtest/gtest.h>

#include "tests/detect/engine_test_util.h"

#include <string>
#include <vector>

namespace sitepulse {
namespace {

using testing::Feeder;
using testing::kS;
using testing::kT0;
using testing::Options;
using testing::Recorder;
using testing::Spec;

TEST(WindowEngineTest, BucketClosesOnlyWhenWatermarkPassesItsEnd) {
  Recorder rec;
  WindowEngine engine(Options(), &rec);
  const int p = engine.AddPartition();
  Feeder f(&engine, {"a"});
  f.Add(0, kT0 + 1 * kS);
  f.Add(0, kT0 + 5 * kS, 503, 0.2);
  f.Add(0, kT0 + 39 * kS);  // watermark 9 s: [0, 10) still open
  f.Flush(p);
  EXPECT_TRUE(rec.buckets.empty());
  f.Add(0, kT0 + 40 * kS);  // watermark 10 s: [0, 10) closes
  f.Flush(p);
  ASSERT_EQ(rec.buckets.size(), 1u);
  EXPECT_EQ(rec.buckets[0].start, kT0);
  EXPECT_EQ(rec.buckets[0].end, kT0 + 10 * kS);
  EXPECT_EQ(rec.buckets[0].count, 2u);
  EXPECT_EQ(rec.buckets[0].errors, 1u);
  EXPECT_NEAR(rec.buckets[0].p99, 0.05, 0.001);  // rank floor(0.99 * 1) = 0
}

TEST(WindowEngineTest, LateEventsAreCountedNotFolded) {
  Recorder rec;
  WindowEngine engine(Options(), &rec);
  const int p = engine.AddPartition();
  Feeder f(&engine, {"a"});
  f.Add(0, kT0 + 1 * kS);
  f.Add(0, kT0 + 45 * kS);
  f.Flush(p);
  ASSERT_EQ(rec.buckets.size(), 1u);
  f.Add(0, kT0 + 2 * kS);   // its bucket is closed
  f.Add(0, kT0 + 16 * kS);  // within lateness: fine
  f.Flush(p);
  EXPECT_EQ(engine.late_events(), 1u);
  engine.EndPartition(p);
  ASSERT_EQ(rec.buckets.size(), 3u);  // [0,10) [10,20) [40,50)
  EXPECT_EQ(rec.buckets[0].count, 1u);
  EXPECT_EQ(rec.buckets[1].start, kT0 + 10 * kS);
  EXPECT_EQ(rec.buckets[1].count, 1u);
  EXPECT_EQ(rec.buckets[2].start, kT0 + 40 * kS);
}

TEST(WindowEngineTest, WatermarkIsMinimumOverPartitions) {
  Recorder rec;
  WindowEngine engine(Options(), &rec);
  const int a = engine.AddPartition();
  const int b = engine.AddPartition();
  Feeder f(&engine, {"x"});
  f.Add(0, kT0 + 100 * kS);
  f.Flush(a);
  f.Add(0, kT0 + 1 * kS);
  // Same partition, 99 s behind its own 100 s: late, although b is silent and nothing is
  // closed yet (lateness is judged per input, so it cannot depend on how inputs interleave).
  f.Flush(a);
  EXPECT_EQ(engine.late_events(), 1u);
  EXPECT_TRUE(rec.buckets.empty());  // b has said nothing: nothing may close
  f.Add(0, kT0 + 50 * kS);
  f.Flush(b);  // watermark = min(100, 50) - 30 = 20 s
  EXPECT_EQ(engine.watermark(), kT0 + 20 * kS);
  EXPECT_TRUE(rec.buckets.empty());  // [0,20) holds no data, nothing to report
  engine.EndPartition(b);             // now a alone: 100 - 30 = 70 s
  EXPECT_EQ(engine.watermark(), kT0 + 70 * kS);
  ASSERT_EQ(rec.buckets.size(), 1u);
  EXPECT_EQ(rec.buckets[0].start, kT0 + 50 * kS);
}

TEST(WindowEngineTest, IdlePartitionsStopHoldingTheWatermark) {
  Recorder rec;
  WindowEngine engine(Options(), &rec);
  const int a = engine.AddPartition();
  const int b = engine.AddPartition();
  Feeder f(&engine, {"x"});
  f.Add(0, kT0 + 10 * kS);
  f.Flush(b);  // b got to 10 s and then went quiet
  f.Add(0, kT0 + 200 * kS);
  f.Flush(a);
  EXPECT_EQ(engine.watermark(), kT0 - 20 * kS);  // held back by b
  engine.SetPartitionIdle(b, true);
  EXPECT_EQ(engine.watermark(), kT0 + 170 * kS);  // a alone
  ASSERT_EQ(rec.buckets.size(), 1u);               // [10, 20) closed
  f.Flush(b);  // a batch of b's whose lines were all rejected: no event time, b stays idle
  EXPECT_EQ(engine.watermark(), kT0 + 170 * kS);
  engine.SetPartitionIdle(a, true);                // nothing arrives anywhere
  EXPECT_EQ(engine.watermark(), kT0 + 170 * kS);   // the newest of the idle ones
  f.Add(0, kT0 + 15 * kS);                         // b speaks again, late now
  f.Flush(b);
  EXPECT_EQ(engine.late_events(), 1u);
  // b is active again and a still idle: the watermark follows b (it never reopens buckets).
  EXPECT_EQ(engine.watermark(), kT0 - 15 * kS);
}

TEST(WindowEngineTest, SlidingWindowFiresAndResolvesWithSameId) {
  WindowEngineOptions o = Options();
  o.detectors.push_back(Spec("errors", Metric::kErrorRate, 0.5, 30 * kS));  // three buckets
  Recorder rec;
  WindowEngine engine(o, &rec);
  const int p = engine.AddPartition();
  Feeder f(&engine, {"a"});
  // Buckets 0..5: one request each; buckets 1 and 2 fail.
  for (int b = 0; b < 6; ++b) f.Add(0, kT0 + b * 10 * kS + kS, (b == 1 || b == 2) ? 500 : 200);
  f.Flush(p);
  engine.EndPartition(p);
  ASSERT_EQ(rec.anomalies.size(), 2u);
  // Window after bucket 1 (ends 20 s): {ok, fail} = 50%, not above. After bucket 2 (ends 30 s):
  // {ok, fail, fail} = 67%: fires. After bucket 3: {fail, fail, ok} still 67%. After bucket 4:
  // {fail, ok, ok} = 33%: resolves.
  EXPECT_EQ(rec.anomalies[0].state, AlertState::kFiring);
  EXPECT_EQ(rec.anomalies[0].at, kT0 + 30 * kS);
  EXPECT_NEAR(rec.anomalies[0].value, 2.0 / 3.0, 1e-12);
  EXPECT_EQ(rec.anomalies[1].state, AlertState::kResolved);
  EXPECT_EQ(rec.anomalies[1].at, kT0 + 50 * kS);
  EXPECT_EQ(rec.anomalies[0].id, rec.anomalies[1].id);
  EXPECT_EQ(rec.anomalies[1].started_at, kT0 + 30 * kS);
  EXPECT_EQ(rec.anomalies[0].window_s, 30);
}

TEST(WindowEngineTest, SiteOverridesReplaceDefaults) {
  WindowEngineOptions o = Options();
  const DetectorSpec spec = Spec("slow", Metric::kP50, 0.1, 10 * kS);
  o.detectors.push_back(spec);
  DetectorSpec relaxed = spec;
  relaxed.threshold = 1.0;
  o.site_detectors["tolerant"] = {relaxed};
  Recorder rec;
  WindowEngine engine(o, &rec);
  const int p = engine.AddPartition();
  Feeder f(&engine, {"strict", "tolerant"});
  f.Add(0, kT0 + kS, 200, 0.5);
  f.Add(1, kT0 + kS, 200, 0.5);
  f.Flush(p);
  engine.EndPartition(p);
  ASSERT_EQ(rec.anomalies.size(), 1u);
  EXPECT_EQ(rec.anomalies[0].site, "strict");
}

TEST(WindowEngineTest, SitesOverTheCapGoToOther) {
  WindowEngineOptions o = Options();
  o.max_sites = 2;
  Recorder rec;
  WindowEngine engine(o, &rec);
  EXPECT_EQ(engine.InternSite("a"), 0u);
  EXPECT_EQ(engine.InternSite("b"), 1u);
  const uint32_t other = engine.InternSite("c");
  EXPECT_EQ(engine.InternSite("d"), other);
  EXPECT_EQ(engine.InternSite("a"), 0u);
  EXPECT_EQ(engine.sites_over_cap(), 2u);
  EXPECT_EQ(engine.site_count(), 3u);  // a, b, __other__
}

TEST(WindowEngineTest, LongGapsAreCrossedWithoutWalkingEveryBucket) {
  WindowEngineOptions o = Options();
  o.detectors.push_back(Spec("errors", Metric::kErrorRate, 0.5, 60 * kS));
  Recorder rec;
  WindowEngine engine(o, &rec);
  const int p = engine.AddPartition();
  Feeder f(&engine, {"a"});
  f.Add(0, kT0, 500);
  f.Flush(p);
  f.Add(0, kT0 + 365LL * 86400 * kS, 200);  // a year later
  f.Flush(p);
  engine.EndPartition(p);
  // Fired on the 500; ended as it left the window. The site then sent nothing, so the alert
  // ends as no_data, not resolved: nobody knows whether the errors stopped.
  ASSERT_EQ(rec.anomalies.size(), 2u);
  EXPECT_EQ(rec.anomalies[1].state, AlertState::kNoData);
  EXPECT_EQ(rec.anomalies[1].id, rec.anomalies[0].id);
  EXPECT_EQ(rec.anomalies[1].at, kT0 + 70 * kS);
  ASSERT_EQ(rec.buckets.size(), 2u);
}

// A damaged snapshot is refused with a status, whatever number it claims: an engine line whose
// partition count was damaged to 10^12 made the restore ask for a vector of that size and
// abort (found by fuzz/state_fuzz.cc).
TEST(WindowEngineTest, ADamagedPartitionCountIsRefusedNotACrash) {
  Recorder rec;
  std::string state;
  {
    WindowEngine engine(Options(), &rec);
    engine.AddPartition();
    Feeder f(&engine, {"a"});
    for (int i = 0; i < 10; ++i) f.Add(0, kT0 + i * kS);
    f.Flush();
    state = engine.SaveState();
  }
  const size_t at = state.find("\nengine ");
  ASSERT_NE(at, std::string::npos) << state;
  const size_t end = state.find('\n', at + 1);
  std::string line = state.substr(at + 1, end - at - 1);
  // The partition count is the 8th token; the partitions' fields follow it.
  size_t pos = 0;
  for (int i = 0; i < 7; ++i) pos = line.find(' ', pos) + 1;
  const size_t count_end = line.find(' ', pos);
  for (const char* count : {"1000000000000", "18446744073709551615", "2"}) {
    std::string damaged = state;
    damaged.replace(at + 1 + pos, count_end - pos, count);
    WindowEngine engine(Options(), &rec);
    engine.AddPartition();
    const absl::Status st = engine.LoadState(damaged);
    EXPECT_FALSE(st.ok()) << count;
    EXPECT_NE(st.message().find("damaged"), std::string::npos) << st.message();
  }
}

// The snapshot of an engine with one input, two minutes in, with one token of its engine line
// (`engine <closing> <next_close> <last_data_end> <watermark> <late> <over_cap> <partitions>
// <max_time> ...`, token 0 the word) replaced by `value`.
std::string WithEngineToken(std::string state, int token, const std::string& value) {
  const size_t at = state.find("\nengine 1 ");
  if (at == std::string::npos) return "";
  size_t pos = at + 1;
  for (int i = 0; i < token; ++i) pos = state.find(' ', pos) + 1;
  const size_t end = state.find_first_of(" \n", pos);
  return state.replace(pos, end - pos, value);
}

// Two minutes of one site, then (with `end`) the end of input: every bucket closed.
std::string TwoMinuteSnapshot(const WindowEngineOptions& o, bool end) {
  Recorder rec;
  WindowEngine engine(o, &rec);
  engine.AddPartition();
  Feeder f(&engine, {"a"});
  for (int i = 0; i < 120; ++i) f.Add(0, kT0 + i * kS);
  f.Flush();
  if (end) engine.EndPartition(0);
  return engine.SaveState();
}

std::string SnapshotWithEngineToken(int token, const std::string& value) {
  return WithEngineToken(TwoMinuteSnapshot(Options(), /*end=*/false), token, value);
}

absl::Status LoadInto(const std::string& state) {
  Recorder rec;
  WindowEngine engine(Options(), &rec);
  engine.AddPartition();
  return engine.LoadState(state);
}

// A snapshot whose closed data ends after its close position is damaged (the engine writes the
// end of the newest closed bucket, never later than the next to close). One that loaded kept the
// engine from skipping empty stretches: the next line, years later, made it walk every bucket
// between (a fuzz/state_fuzz.cc timeout in CI).
TEST(WindowEngineTest, ClosedDataEndingAfterTheClosePositionIsRefused) {
  // At the close position itself (the newest closed bucket ends there): loads.
  const std::string state = SnapshotWithEngineToken(0, "engine");
  const size_t at = state.find("\nengine 1 ") + 10;
  const std::string next_close = state.substr(at, state.find(' ', at) - at);
  ASSERT_TRUE(LoadInto(SnapshotWithEngineToken(3, next_close)).ok()) << next_close;
  const absl::Status st = LoadInto(SnapshotWithEngineToken(3, std::to_string(kT0 + 3 * 365LL * 86400 * kS)));
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("closed data ends after the close position"), std::string::npos)
      << st.message();
}

// An engine that has closed a bucket has a closed data end (the first bucket a site closes has
// data). A snapshot whose engine line lost it while its sites have closed buckets is damaged: it
// would let the engine skip ahead as if nothing had closed (Advance's rule for a fresh engine).
TEST(WindowEngineTest, SitesWithClosedBucketsButNoClosedDataAreRefused) {
  const absl::Status st = LoadInto(SnapshotWithEngineToken(3, std::to_string(INT64_MIN)));
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("closed buckets, no closed data"), std::string::npos) << st.message();
}

// A partition time past the range read as INT64_MAX and closed every bucket at once, at 2262
// (fuzz/state_fuzz.cc: an event its readers refuse). Now the number is refused; the end of time
// itself (what an ended stage-1 partition sends) holds nothing back, like an ended input, and
// closes nothing past the data.
TEST(WindowEngineTest, APartitionAtTheEndOfTimeClosesNothingPastTheData) {
  ASSERT_TRUE(LoadInto(SnapshotWithEngineToken(8, std::to_string(kT0 + 200 * kS))).ok());
  const absl::Status st = LoadInto(SnapshotWithEngineToken(8, "1735690190000000000000"));
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("damaged"), std::string::npos) << st.message();

  WindowEngineOptions o = Options();
  DetectorSpec silent;
  silent.name = "silent";
  silent.type = DetectorType::kNoData;
  silent.no_data_after = 5 * 60 * kS;
  o.detectors.push_back(silent);
  // Every bucket closed: none open in the snapshot. The partition not ended, at the end of
  // time; closed data ending in 1970 (as in the fuzz input) lets the engine skip ahead at once.
  const std::string state = WithEngineToken(
      WithEngineToken(WithEngineToken(TwoMinuteSnapshot(o, /*end=*/true), 8, "9223372036854775807"),
                      9, "0"),
      3, "1000");
  Recorder rec;
  WindowEngine engine(o, &rec);
  engine.AddPartition();
  ASSERT_TRUE(engine.LoadState(state).ok()) << state;
  Feeder f(&engine, {"a"});
  f.Add(0, kT0 + 500 * kS, 500);
  f.Flush();
  engine.EndPartition(0);
  for (const Anomaly& a : rec.anomalies) EXPECT_LT(a.at, kT0 + 600 * kS) << AnomalyToJson(a);
}

}  // namespace
}  // namespace sitepulse
