// The detector types in the window engine: burn_rate, baseline, traffic_drop, error_spike and
// no_data, driven through deltas the way the pipeline drives them.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include <set>
#include <string>
#include <vector>

#include "detect/burn_rate.h"
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

// Feeds `rps` requests per second (spread evenly) from `from` to `to`, with `error_share` of them
// 5xx and the given latency, flushing every 10 s so buckets close as they would live.
void Traffic(Feeder& f, int p, EventTime from, EventTime to, int rps, double error_share = 0,
             double latency = 0.05) {
  double errors_due = 0;
  for (EventTime t = from; t < to; t += 10 * kS) {
    for (int i = 0; i < rps * 10; ++i) {
      errors_due += error_share;
      const bool error = errors_due >= 1;
      if (error) errors_due -= 1;
      f.Add(0, t + i * (10 * kS) / (rps * 10), error ? 503 : 200, latency);
    }
    f.Flush(p);
  }
}

std::vector<Anomaly> Of(const Recorder& rec, std::string_view detector) {
  std::vector<Anomaly> out;
  for (const Anomaly& a : rec.anomalies) {
    if (a.detector == detector) out.push_back(a);
  }
  return out;
}

TEST(SlotRingTest, SlidingSumsExpireByTime) {
  SlotRing r(5 * kMin, 10 * kS);  // 30 slots of 10 s
  for (int i = 1; i <= 30; ++i) r.Add(kT0 + i * 10 * kS, 9, 10);
  r.Expire(kT0 + 300 * kS);
  EXPECT_EQ(r.total(), 300u);
  EXPECT_EQ(r.good(), 270u);
  r.Expire(kT0 + 400 * kS);  // 100 s later: 10 slots fell out
  EXPECT_EQ(r.total(), 200u);
  SlotRing day(24 * kHour, 10 * kS);
  EXPECT_EQ(day.granularity(), 24 * kMin);  // about 60 slots, whole buckets each
}

// The ring's sums equal a plain sum over every bucket added whose slot still overlaps the
// window, whatever the gaps between buckets (quiet sites skip some) and however often Expire is
// asked: the incremental expiry visits only the slots that left, and Add skips the division
// while it stays in one slot.
TEST(SlotRingTest, IncrementalExpiryEqualsAPlainSum) {
  std::mt19937_64 rng(3);
  for (DurationNs window : {5 * kMin, 30 * kMin, 6 * kHour}) {
    SlotRing r(window, 10 * kS);
    const DurationNs g = r.granularity();
    struct Added {
      EventTime end;
      uint64_t good, total;
    };
    std::vector<Added> added;
    EventTime end = kT0;
    for (int step = 0; step < 3000; ++step) {
      end += 10 * kS * static_cast<EventTime>(1 + (rng() % 8 == 0 ? rng() % 200 : 0));
      const uint64_t total = rng() % 20, good = total - rng() % (total + 1);
      r.Add(end, good, total);
      added.push_back({end, good, total});
      if (step % 500 == 499) {  // a restart: the ring saved and loaded (its places start anew)
        StateWriter w;
        r.Save(w);
        w.EndLine();
        StateReader reader(w.str());
        ASSERT_TRUE(reader.NextLine());
        SlotRing loaded(window, 10 * kS);
        ASSERT_TRUE(loaded.Load(reader));
        r = std::move(loaded);
      }
      if (rng() % 3 == 0) continue;  // not every bucket asks
      r.Expire(end);
      uint64_t want_good = 0, want_total = 0;
      for (const Added& a : added) {
        const EventTime slot_start = (a.end - 1) / g * g;
        if (slot_start + g > end - window) {
          want_good += a.good;
          want_total += a.total;
        }
      }
      ASSERT_EQ(r.total(), want_total) << "window " << window / kS << " s, step " << step;
      ASSERT_EQ(r.good(), want_good) << "window " << window / kS << " s, step " << step;
    }
  }
}

// A ring allocates the places its history fills, in order: a 3-day ring of 72-minute slots holds
// one slot after an hour, not 61 (10,000 new sites paid 5 KB each for their burn-rate rings).
TEST(SlotRingTest, ARingAllocatesOnlyThePlacesItsHistoryFills) {
  SlotRing days(3 * 24 * kHour, 10 * kS);
  SlotRing minutes(5 * kMin, 10 * kS);
  EXPECT_EQ(days.allocated(), 0u);
  for (int b = 1; b <= 360; ++b) {  // an hour of buckets
    days.Add(kT0 + b * 10 * kS, 10, 10);
    minutes.Add(kT0 + b * 10 * kS, 10, 10);
  }
  EXPECT_LE(days.allocated(), 4u);
  EXPECT_EQ(minutes.allocated(), 31u);  // the whole ring: 30 slots of 10 s and one leaving
  days.Expire(kT0 + 3600 * kS);
  EXPECT_EQ(days.total(), 3600u);
  for (int b = 361; b <= 3 * 8640 + 2000; ++b) days.Add(kT0 + b * 10 * kS, 10, 10);
  EXPECT_EQ(days.allocated(), 61u);
}

// A slot counts at most 2^32 - 1 requests (16-byte slots): a bucket that would pass that is
// not counted, so the slot keeps the share of good requests it had, never a wrapped count (a
// 32-bit wrap would turn three billion requests into a handful and the burn rate into noise).
TEST(SlotRingTest, AFullSlotKeepsItsShareInsteadOfWrapping) {
  SlotRing r(3 * 24 * kHour, 10 * kS);  // 72-minute slots
  const uint64_t big = 3'000'000'000;
  r.Add(kT0 + 10 * kS, big - big / 10, big);     // 10% bad
  r.Add(kT0 + 20 * kS, big - big / 10, big);     // the same slot: past 2^32, not counted
  r.Add(kT0 + 30 * kS, 1000 - 100, 1000);        // still fits: counted
  r.Expire(kT0 + 30 * kS);
  EXPECT_EQ(r.total(), big + 1000);
  EXPECT_EQ(r.good(), big - big / 10 + 900);
  // The next slot starts empty again.
  r.Add(kT0 + 73 * kMin, big - big / 10, big);
  r.Expire(kT0 + 73 * kMin);
  EXPECT_EQ(r.total(), 2 * big + 1000);
}

DetectorSpec BurnSpec() {
  DetectorSpec s;
  s.name = "availability_slo";
  s.type = DetectorType::kBurnRate;
  s.objective = 0.999;
  s.pairs = DefaultBurnPairs();
  s.min_requests = 100;
  return s;
}

TEST(BurnRateDetectorTest, PagesOnAFastBurnAndNotOnTheBudgetsOwnErrors) {
  WindowEngineOptions o = Options();
  o.detectors.push_back(BurnSpec());
  Recorder rec;
  WindowEngine engine(o, &rec);
  const int p = engine.AddPartition();
  Feeder f(&engine, {"shop"});
  // Two hours at 0.05% errors: half the budget, no page.
  Traffic(f, p, kT0, kT0 + 2 * kHour, 20, 0.0005);
  EXPECT_TRUE(Of(rec, "availability_slo").empty());
  // 20% errors: 200x the budget. The 1h/5m pair pages within minutes.
  const EventTime start = kT0 + 2 * kHour;
  Traffic(f, p, start, start + 15 * kMin, 20, 0.20);
  auto events = Of(rec, "availability_slo");
  // The ticket (3d/6h at 1x) fires within a minute; the page (1h/5m at 14.4x) within minutes.
  const Anomaly* first_page = nullptr;
  for (const Anomaly& a : events) {
    if (a.severity == "page" && first_page == nullptr) first_page = &a;
  }
  ASSERT_NE(first_page, nullptr);
  const Anomaly page = *first_page;
  EXPECT_EQ(page.state, AlertState::kFiring);
  EXPECT_EQ(page.severity, "page");
  EXPECT_EQ(page.metric, "burn_rate");
  // Either page pair may come first; the event names the pair that fired.
  EXPECT_TRUE(page.window_s == 3600 || page.window_s == 21600) << page.window_s;
  EXPECT_DOUBLE_EQ(page.threshold, page.window_s == 3600 ? 14.4 : 6);
  EXPECT_GT(page.value, page.threshold);
  EXPECT_LE(page.at - start, 6 * kMin);
  EXPECT_NE(page.summary.find("99.9% availability SLO"), std::string::npos) << page.summary;
  // Errors stop: the short window clears, the page resolves; the ticket (3d/6h at 1x) fired too.
  Traffic(f, p, start + 15 * kMin, start + 45 * kMin, 20, 0);
  engine.EndPartition(p);
  events = Of(rec, "availability_slo");
  bool resolved = false, ticket = false;
  for (const Anomaly& a : events) {
    if (a.severity == "page" && a.state == AlertState::kResolved) resolved = true;
    if (a.severity == "ticket" && a.state == AlertState::kFiring) ticket = true;
    if (a.severity == "ticket") {
      EXPECT_NE(a.id, page.id);
    }
  }
  EXPECT_TRUE(resolved);
  EXPECT_TRUE(ticket);
}

// A burn rate whose long windows hold fewer than min_requests and whose alerts are inactive is
// not judged (judging would move nothing): its events and its state, saved while it is skipped,
// are those of judging every close. A page still firing when traffic falls under the floor is
// judged on, and resolves.
TEST(BurnRateDetectorTest, ClosesSkippedUnderTheFloorGiveTheEventsAndStateOfEveryClose) {
  auto run = [](bool every) {
    WindowEngineOptions o = Options();
    o.evaluate_every_close = every;
    DetectorSpec burn = BurnSpec();
    burn.objective = 0.99;
    burn.pairs = {BurnPair{5 * kMin, kMin, 10, "page"}};
    burn.min_requests = 300;
    burn.keep_firing_for = 10 * kMin;
    o.detectors.push_back(burn);
    Recorder rec;
    WindowEngine engine(o, &rec);
    const int p = engine.AddPartition();
    Feeder f(&engine, {"shop"});
    std::vector<std::string> out;
    for (int b = 0; b < 200; ++b) {
      const EventTime t = kT0 + b * 10 * kS;
      // Busy (600 requests in 5 minutes), failing half its requests for 2 minutes, then one
      // failing request a bucket (30 in 5 minutes: under the floor).
      const int lines = b < 72 ? 20 : 1;
      for (int k = 0; k < lines; ++k) {
        const bool failing = (b >= 60 && k % 2 == 0) || b >= 72;
        f.Add(0, t + k * kS / 2, failing ? 503 : 200, 0.05);
      }
      f.Flush(p);
      if (b % 25 == 0) out.push_back(engine.SaveState());
    }
    engine.EndPartition(p);
    for (const Anomaly& a : rec.anomalies) out.push_back(AnomalyToJson(a));
    out.push_back(engine.SaveState());
    return std::make_pair(out, rec.anomalies);
  };
  const auto [skipped, skipped_events] = run(false);
  const auto [every, every_events] = run(true);
  ASSERT_EQ(every_events.size(), 2u);
  EXPECT_EQ(every_events[0].state, AlertState::kFiring);
  EXPECT_EQ(every_events[1].state, AlertState::kResolved);
  ASSERT_EQ(skipped.size(), every.size());
  for (size_t i = 0; i < skipped.size(); ++i) EXPECT_EQ(skipped[i], every[i]) << i;
}

// A pair pages only while both its windows burn. A 20-second outage after two clean hours burns
// the 5-minute window 67x and the hour 5.6x: no page. Twenty minutes at 5% errors burn both: a
// page. Once they stop, the 5-minute window ends the page within minutes while the hour still
// burns above the factor.
TEST(BurnRateDetectorTest, APairPagesOnlyWhileBothItsWindowsBurn) {
  WindowEngineOptions o = Options();
  DetectorSpec spec = BurnSpec();
  spec.pairs = {BurnPair{kHour, 5 * kMin, 14.4, "page"}};
  o.detectors.push_back(spec);
  Recorder rec;
  WindowEngine engine(o, &rec);
  const int p = engine.AddPartition();
  Feeder f(&engine, {"shop"});
  const EventTime outage = kT0 + 2 * kHour;
  Traffic(f, p, kT0, outage, 20, 0);
  Traffic(f, p, outage, outage + 20 * kS, 20, 1.0);
  const EventTime burn = outage + 30 * kMin;
  Traffic(f, p, outage + 20 * kS, burn, 20, 0);
  EXPECT_TRUE(Of(rec, "availability_slo").empty()) << "the hour never passed 14.4x";
  const EventTime recovery = burn + 20 * kMin;
  Traffic(f, p, burn, recovery, 20, 0.05);
  Traffic(f, p, recovery, recovery + 15 * kMin, 20, 0);
  const std::vector<Anomaly> events = Of(rec, "availability_slo");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].state, AlertState::kFiring);
  EXPECT_EQ(events[0].window_s, 3600);
  EXPECT_GT(events[0].at, burn + 5 * kMin) << "the hour needs minutes of 5% errors to pass 14.4x";
  EXPECT_EQ(events[1].state, AlertState::kResolved);
  EXPECT_LE(events[1].at - recovery, 6 * kMin) << "the 5-minute window ends it";
  EXPECT_GT(events[1].value, 14.4) << "the event reports the hour, still burning";
}

TEST(BurnRateDetectorTest, RequestFloorKeepsOneFailureOnAQuietSiteFromPaging) {
  WindowEngineOptions o = Options();
  o.detectors.push_back(BurnSpec());
  Recorder rec;
  WindowEngine engine(o, &rec);
  const int p = engine.AddPartition();
  Feeder f(&engine, {"quiet"});
  for (int i = 0; i < 40; ++i) {  // 40 requests in an hour, one of them failing
    f.Add(0, kT0 + i * 90 * kS, i == 20 ? 500 : 200);
    f.Flush(p);
  }
  engine.EndPartition(p);
  EXPECT_TRUE(rec.anomalies.empty());
}

TEST(BurnRateDetectorTest, LatencySliCountsSlowRequestsAsBad) {
  WindowEngineOptions o = Options();
  DetectorSpec s = BurnSpec();
  s.name = "latency_slo";
  s.sli = Sli::kLatency;
  s.objective = 0.99;
  s.latency_threshold_s = 0.3;
  o.detectors.push_back(s);
  Recorder rec;
  WindowEngine engine(o, &rec);
  const int p = engine.AddPartition();
  Feeder f(&engine, {"api"});
  Traffic(f, p, kT0, kT0 + 30 * kMin, 20, 0, 0.1);   // fast: fine
  EXPECT_TRUE(rec.anomalies.empty());
  Traffic(f, p, kT0 + 30 * kMin, kT0 + 45 * kMin, 20, 0, 0.8);  // every request slow
  ASSERT_FALSE(Of(rec, "latency_slo").empty());
  EXPECT_EQ(Of(rec, "latency_slo")[0].state, AlertState::kFiring);
}

DetectorSpec Learned(std::string name, DetectorType type, Metric metric) {
  DetectorSpec s;
  s.name = std::move(name);
  s.type = type;
  s.metric = metric;
  s.window = 5 * kMin;
  s.baseline.learn_for = kHour;
  s.baseline.half_life = 2 * kHour;
  s.baseline.seasonality = false;
  s.for_duration = kMin;
  return s;
}

TEST(LearnedDetectorTest, TrafficDropPagesWhenRequestsFallFarBelowTheBaseline) {
  WindowEngineOptions o = Options();
  DetectorSpec s = Learned("traffic_drop", DetectorType::kTrafficDrop, Metric::kRequestRate);
  s.direction = Direction::kDrop;
  s.sensitivity = 3;
  s.min_change = 0.5;
  s.min_requests = 100;
  o.detectors.push_back(s);
  Recorder rec;
  WindowEngine engine(o, &rec);
  const int p = engine.AddPartition();
  Feeder f(&engine, {"shop"});
  Traffic(f, p, kT0, kT0 + 2 * kHour, 10);
  EXPECT_TRUE(rec.anomalies.empty());
  Traffic(f, p, kT0 + 2 * kHour, kT0 + 2 * kHour + 20 * kMin, 1);  // 90% gone
  auto events = Of(rec, "traffic_drop");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].state, AlertState::kFiring);
  ASSERT_TRUE(events[0].baseline.has_value());
  EXPECT_NEAR(*events[0].baseline, 10, 0.5);
  EXPECT_LT(events[0].value, 5);
  EXPECT_LT(events[0].threshold, *events[0].baseline);
  EXPECT_NE(events[0].summary.find("below its learned baseline"), std::string::npos)
      << events[0].summary;
  Traffic(f, p, kT0 + 2 * kHour + 20 * kMin, kT0 + 3 * kHour, 10);
  events = Of(rec, "traffic_drop");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].state, AlertState::kResolved);
}

TEST(LearnedDetectorTest, BaselineOnP99IgnoresTheWarmUpAndFlagsARegression) {
  WindowEngineOptions o = Options();
  DetectorSpec s = Learned("p99_baseline", DetectorType::kBaseline, Metric::kP99);
  s.window = kMin;
  s.min_requests = 50;
  s.sensitivity = 4;
  o.detectors.push_back(s);
  Recorder rec;
  WindowEngine engine(o, &rec);
  const int p = engine.AddPartition();
  Feeder f(&engine, {"api"});
  // A slow start (during warm-up) pages nobody; then normal; then a regression.
  Traffic(f, p, kT0, kT0 + 10 * kMin, 10, 0, 2.0);
  Traffic(f, p, kT0 + 10 * kMin, kT0 + 3 * kHour, 10, 0, 0.1);
  EXPECT_TRUE(rec.anomalies.empty());
  EXPECT_EQ(engine.baselines_warming(), 0u);
  Traffic(f, p, kT0 + 3 * kHour, kT0 + 3 * kHour + 10 * kMin, 10, 0, 0.9);
  auto events = Of(rec, "p99_baseline");
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events[0].state, AlertState::kFiring);
  EXPECT_GT(events[0].value, 0.8);
  EXPECT_NEAR(*events[0].baseline, 0.1, 0.02);
}

TEST(LearnedDetectorTest, ErrorSpikeFlagsErrorLinesAboveTheirBaseline) {
  WindowEngineOptions o = Options();
  DetectorSpec s = Learned("error_spike", DetectorType::kErrorSpike, Metric::kErrorLogRate);
  s.min_change = 2;
  s.min_value = 0.05;
  o.detectors.push_back(s);
  Recorder rec;
  WindowEngine engine(o, &rec);
  const int p = engine.AddPartition();
  Feeder f(&engine, {"search"});
  for (EventTime t = kT0; t < kT0 + 3 * kHour; t += 10 * kS) {
    f.Add(0, t);  // some traffic
    if ((t / (10 * kS)) % 6 == 0) f.AddErrorLine(0, t + kS);  // 0.017 error lines/s
    if (t >= kT0 + 2 * kHour + 30 * kMin && t < kT0 + 2 * kHour + 40 * kMin) {
      for (int i = 0; i < 20; ++i) f.AddErrorLine(0, t + i * kS / 4);  // 2/s for 10 minutes
    }
    f.Flush(p);
  }
  auto events = Of(rec, "error_spike");
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events[0].state, AlertState::kFiring);
  EXPECT_GE(events[0].at, kT0 + 2 * kHour + 30 * kMin);
  EXPECT_LE(events[0].at, kT0 + 2 * kHour + 34 * kMin);
  EXPECT_EQ(events[0].metric, "error_log_rate");
  EXPECT_EQ(events[1].state, AlertState::kResolved);
}

// `score: context` (the evidence `series` weighs on NAB) on a live p99: a steady, noisy site
// whose p99 rises by a fifth (under the 6-spread line) pages, where the deviation alone (6 spreads) does not; the three
// steady hours before page nothing in either mode.
void NoisyLatency(Feeder& f, int p, EventTime from, EventTime to, double top, std::mt19937& rng) {
  for (EventTime t = from; t < to; t += 10 * kS) {
    for (int i = 0; i < 100; ++i) {
      const double u = static_cast<double>(rng()) / 4294967296.0;  // portable, unlike <random>'s
      f.Add(0, t + i * (10 * kS) / 100, 200, 0.05 + (top - 0.05) * u);
    }
    f.Flush(p);
  }
}

std::vector<Anomaly> RunShift(ScoreMode mode, std::string* state_at_3h = nullptr,
                              const std::string* resume_from = nullptr) {
  WindowEngineOptions o = Options();
  DetectorSpec s = Learned("p99_baseline", DetectorType::kBaseline, Metric::kP99);
  s.window = kMin;
  s.sensitivity = 6;
  s.min_change = 0.1;
  s.min_requests = 100;
  s.score = mode;
  o.detectors.push_back(s);
  Recorder rec;
  WindowEngine engine(o, &rec);
  const int p = engine.AddPartition();
  if (resume_from != nullptr) {
    const absl::Status st = engine.LoadState(*resume_from);
    EXPECT_TRUE(st.ok()) << st.message();
  }
  Feeder f(&engine, {"api"});
  std::mt19937 rng(7);
  if (resume_from != nullptr) {
    // The generator where the first run left it: 3 hours of 100 values per 10 s.
    rng.discard(3 * 360 * 100);
  } else {
    NoisyLatency(f, p, kT0, kT0 + 3 * kHour, 0.15, rng);
    EXPECT_TRUE(Of(rec, "p99_baseline").empty()) << static_cast<int>(mode);
    if (state_at_3h != nullptr) *state_at_3h = engine.SaveState(true);
  }
  NoisyLatency(f, p, kT0 + 3 * kHour, kT0 + 3 * kHour + 20 * kMin, 0.18, rng);
  engine.EndPartition(p);
  return Of(rec, "p99_baseline");
}

TEST(LearnedDetectorTest, ContextScorePagesAQuietSeriesThatStartsToMove) {
  EXPECT_TRUE(RunShift(ScoreMode::kDeviation).empty());
  const std::vector<Anomaly> events = RunShift(ScoreMode::kContext);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events[0].state, AlertState::kFiring);
  EXPECT_GE(events[0].at, kT0 + 3 * kHour);
  EXPECT_LE(events[0].at, kT0 + 3 * kHour + 5 * kMin);
  EXPECT_GT(events[0].value, 0.17);
  // The line the event shows is the relative change (min_change), which it crossed; the
  // 6-spread line of deviation mode, which it did not, is not shown.
  EXPECT_GT(events[0].value, events[0].threshold) << events[0].summary;
  EXPECT_NEAR(events[0].threshold, *events[0].baseline * 1.1, 1e-9) << events[0].summary;
}

// The evidence is part of the state snapshot: stopped after three hours and restored, the
// detector pages exactly as the uninterrupted one.
TEST(LearnedDetectorTest, ContextEvidenceSurvivesARestart) {
  std::string state;
  const std::vector<Anomaly> whole = RunShift(ScoreMode::kContext, &state);
  ASSERT_NE(state.find("\nevidence "), std::string::npos) << state.substr(0, 2000);
  ASSERT_FALSE(whole.empty());
  const std::vector<Anomaly> split = RunShift(ScoreMode::kContext, nullptr, &state);
  ASSERT_EQ(split.size(), whole.size());
  for (size_t i = 0; i < whole.size(); ++i) {
    EXPECT_EQ(split[i].id, whole[i].id);
    EXPECT_EQ(split[i].at, whole[i].at);
    EXPECT_EQ(split[i].state, whole[i].state);
  }
  // A damaged evidence record is refused, not loaded.
  std::string damaged = state;
  const size_t at = damaged.find("\nevidence ");
  damaged.replace(at + 10, 1, "nan ");
  WindowEngineOptions o = Options();
  DetectorSpec s = Learned("p99_baseline", DetectorType::kBaseline, Metric::kP99);
  s.window = kMin;
  s.score = ScoreMode::kContext;
  o.detectors.push_back(s);
  Recorder rec;
  WindowEngine engine(o, &rec);
  engine.AddPartition();
  EXPECT_FALSE(engine.LoadState(damaged).ok());
}

// A baseline's level and spread are numbers, the spread (a mean absolute deviation) never
// negative: a snapshot with "nan", "inf" or a negative spread there is damaged, not loaded (a
// negative spread loaded before and held the deviation scale at its floor).
TEST(LearnedDetectorTest, ABaselineWithoutANumberForLevelOrSpreadIsRefused) {
  std::string state;
  RunShift(ScoreMode::kDeviation, &state);
  const size_t line = state.find("\nbaseline ");
  ASSERT_NE(line, std::string::npos) << state.substr(0, 2000);
  // `baseline <started> <warm> <first_t> <last_t> <samples> <deviating_since> <level> <spread> ...`
  auto with_token = [&](int token, const std::string& value) {
    std::string damaged = state;
    size_t pos = line + 1;
    for (int i = 0; i < token; ++i) pos = damaged.find(' ', pos) + 1;
    return damaged.replace(pos, damaged.find_first_of(" \n", pos) - pos, value);
  };
  WindowEngineOptions o = Options();
  DetectorSpec s = Learned("p99_baseline", DetectorType::kBaseline, Metric::kP99);
  s.window = kMin;
  o.detectors.push_back(s);
  auto loads = [&](const std::string& text) {
    Recorder rec;
    WindowEngine engine(o, &rec);
    engine.AddPartition();
    return engine.LoadState(text).ok();
  };
  ASSERT_TRUE(loads(state));
  for (const char* bad : {"nan", "inf", "-inf"}) {
    EXPECT_FALSE(loads(with_token(7, bad))) << "level " << bad;
    EXPECT_FALSE(loads(with_token(8, bad))) << "spread " << bad;
  }
  EXPECT_FALSE(loads(with_token(8, "-1"))) << "a negative spread";
}

// A p99 alert that ends over requests without a latency (the log format lost its field) carries
// a number: it sent "value": null, which its readers refuse (found by fuzz/state_fuzz.cc).
TEST(ThresholdDetectorTest, AnAlertEndingOverRequestsWithoutLatencyCarriesANumber) {
  WindowEngineOptions o = Options();
  DetectorSpec p99 = testing::Spec("p99_high", Metric::kP99, 1.0, kMin);
  p99.keep_firing_for = kMin;
  o.detectors.push_back(p99);
  Recorder rec;
  WindowEngine engine(o, &rec);
  const int p = engine.AddPartition();
  Feeder f(&engine, {"api"});
  for (int b = 0; b < 60; ++b) {
    const EventTime t = kT0 + b * 10 * kS;
    for (int k = 0; k < 5; ++k) {
      if (b < 20) f.Add(0, t + k, 200, 2.0);
      else f.AddWithoutLatency(0, t + k);
    }
    f.Flush(p);
  }
  engine.EndPartition(p);
  ASSERT_GE(rec.anomalies.size(), 2u);
  EXPECT_EQ(rec.anomalies.back().state, AlertState::kResolved);
  for (const Anomaly& a : rec.anomalies) {
    const auto back = AnomalyFromJson(AnomalyToJson(a));
    EXPECT_TRUE(back.ok()) << AnomalyToJson(a) << ": " << back.status();
  }
}

// p99 above 1 s over a minute, judged past `min_requests`.
DetectorSpec P99HighOver(uint64_t min_requests) {
  DetectorSpec p99 = testing::Spec("p99_high", Metric::kP99, 1.0, kMin);
  p99.min_requests = min_requests;
  return p99;
}

// A run's events, as the JSON lines a sink writes.
std::vector<std::string> EventLines(const Recorder& rec) {
  std::vector<std::string> events;
  for (const Anomaly& a : rec.anomalies) events.push_back(AnomalyToJson(a));
  return events;
}

// Latency windows are kept running only while a detector reads them (a quiet site's, below every
// min_requests, never is) and built from the closed buckets when one starts to: the events, with
// their values, are those of windows slid at every close. Sites here cross min_requests on and
// off, get slow while busy and while quiet, and one never has enough requests.
TEST(LatencyWindowTest, WindowsKeptOnlyWhileReadGiveTheEventsOfWindowsAlwaysKept) {
  auto run = [](bool eager) {
    WindowEngineOptions o = Options();
    o.eager_latency_windows = eager;
    o.detectors.push_back(P99HighOver(100));
    DetectorSpec p50 = testing::Spec("p50_slow", Metric::kP50, 0.2, 5 * kMin);
    p50.min_requests = 300;
    p50.for_duration = kMin;
    o.detectors.push_back(p50);
    DetectorSpec learned = Learned("p99_baseline", DetectorType::kBaseline, Metric::kP99);
    learned.window = kMin;
    learned.min_requests = 100;
    o.detectors.push_back(learned);
    Recorder rec;
    WindowEngine engine(o, &rec);
    const int p = engine.AddPartition();
    Feeder f(&engine, {"busy", "flaky", "quiet"});
    for (int b = 0; b < 4 * 360; ++b) {
      const EventTime t = kT0 + b * 10 * kS;
      const bool busy_slow = b >= 700 && b < 760;
      for (int k = 0; k < 30; ++k) f.Add(0, t + k * kS / 10, 200, busy_slow ? 2.0 : 0.05 + 0.001 * (k % 7));
      // 15 minutes at 3 lines a bucket, 15 at 25; slow in stretches that straddle both.
      const int flaky_lines = (b / 90) % 2 == 0 ? 3 : 25;
      const bool flaky_slow = (b % 240) >= 60 && (b % 240) < 150;
      for (int k = 0; k < flaky_lines; ++k) {
        f.Add(1, t + k * kS / 5, 200, flaky_slow ? 1.5 + 0.01 * k : 0.1 + 0.002 * k);
      }
      f.Add(2, t, 200, 3.0);
      f.Flush(p);
    }
    engine.EndPartition(p);
    return EventLines(rec);
  };
  const std::vector<std::string> lazy = run(false);
  const std::vector<std::string> eager = run(true);
  ASSERT_GE(eager.size(), 6u);
  int flaky = 0, quiet = 0;
  for (const std::string& e : eager) {
    flaky += e.find("\"site\":\"flaky\"") != std::string::npos;
    quiet += e.find("\"site\":\"quiet\"") != std::string::npos;
  }
  EXPECT_GE(flaky, 2);
  EXPECT_EQ(quiet, 0);
  ASSERT_EQ(lazy.size(), eager.size());
  for (size_t i = 0; i < lazy.size(); ++i) EXPECT_EQ(lazy[i], eager[i]);
}

// A lazy window is summed in bytes while every bin's count fits in one (WindowSketch), and as a
// DenseSketch once one does not: a site that sends hundreds of requests of one latency a minute,
// then a few, then hundreds again, crosses between the two. The events are those of windows
// slid at every close.
TEST(LatencyWindowTest, WindowsPastAByteAPerBinGiveTheEventsOfWindowsAlwaysKept) {
  auto run = [](bool eager) {
    WindowEngineOptions o = Options();
    o.eager_latency_windows = eager;
    DetectorSpec p50 = testing::Spec("p50_slow", Metric::kP50, 0.25, kMin);
    p50.min_requests = 20;
    p50.for_duration = 0;
    o.detectors.push_back(p50);
    DetectorSpec p99 = P99HighOver(20);
    p99.threshold = 0.5;
    p99.for_duration = 0;
    o.detectors.push_back(p99);
    Recorder rec;
    WindowEngine engine(o, &rec);
    const int p = engine.AddPartition();
    Feeder f(&engine, {"steady"});
    for (int b = 0; b < 360; ++b) {
      const EventTime t = kT0 + b * 10 * kS;
      const int phase = (b / 30) % 4;  // 5 minutes each: heavy, few, heavy and slow, few and slow
      const int lines = phase % 2 == 0 ? 80 : 5;
      const double latency = phase < 2 ? 0.1 : 0.3;
      for (int k = 0; k < lines; ++k) f.Add(0, t + k * kS / 10, 200, k % 40 == 0 ? 0.7 : latency);
      f.Flush(p);
    }
    engine.EndPartition(p);
    return EventLines(rec);
  };
  const std::vector<std::string> eager = run(true);
  ASSERT_GE(eager.size(), 4u);
  EXPECT_EQ(run(false), eager);
}

// Detectors whose window is under their min_requests and whose alert is inactive are not called
// (DetectorKind::volume_gated): the events and the final state are those of every detector called
// at every close. Sites cross min_requests on and off while slow, failing and logging errors; the
// thresholds judge above and below, on requests and on error-log lines; learned baselines learn
// and fire; the burn rate is skipped until a long window holds its min_requests (inside the
// detector), then pages.
TEST(VolumeGateTest, DetectorsSkippedUnderTheirVolumeGiveTheEventsAndStateOfEveryClose) {
  auto run = [](bool every) {
    WindowEngineOptions o = Options();
    o.evaluate_every_close = every;
    o.detectors.push_back(P99HighOver(100));
    DetectorSpec errors = testing::Spec("errors", Metric::kErrorRate, 0.2, 2 * kMin);
    errors.min_requests = 150;
    errors.keep_firing_for = kMin;
    o.detectors.push_back(errors);
    DetectorSpec slow_traffic = testing::Spec("rate_low", Metric::kRequestRate, 2.0, kMin);
    slow_traffic.above = false;
    slow_traffic.min_requests = 60;
    slow_traffic.for_duration = 0;
    o.detectors.push_back(slow_traffic);
    DetectorSpec error_lines = testing::Spec("error_lines", Metric::kErrorLogRate, 0.5, kMin);
    error_lines.min_requests = 40;
    o.detectors.push_back(error_lines);
    DetectorSpec learned = Learned("p99_baseline", DetectorType::kBaseline, Metric::kP99);
    learned.window = kMin;
    learned.min_requests = 100;
    learned.sensitivity = 4;
    o.detectors.push_back(learned);
    DetectorSpec spike = Learned("error_spike", DetectorType::kErrorSpike, Metric::kErrorLogRate);
    spike.window = kMin;
    spike.sensitivity = 3;
    spike.min_value = 0.2;
    o.detectors.push_back(spike);
    DetectorSpec drop = Learned("traffic_drop", DetectorType::kTrafficDrop, Metric::kRequestRate);
    drop.direction = Direction::kDrop;
    drop.sensitivity = 3;
    drop.min_change = 0.5;
    drop.min_requests = 100;
    o.detectors.push_back(drop);
    DetectorSpec silent;
    silent.name = "silent";
    silent.type = DetectorType::kNoData;
    silent.no_data_after = 5 * kMin;
    o.detectors.push_back(silent);
    DetectorSpec burn = BurnSpec();  // judged only once a long window holds 400 requests
    burn.min_requests = 400;
    o.detectors.push_back(burn);
    DetectorSpec novel;  // called only while it has something new or firing
    novel.name = "new_message";
    novel.type = DetectorType::kNewErrorTemplate;
    novel.template_learn_for = 10 * kMin;
    novel.keep_firing_for = 5 * kMin;
    o.detectors.push_back(novel);
    Recorder rec;
    WindowEngine engine(o, &rec);
    const int p = engine.AddPartition();
    Feeder f(&engine, {"busy", "flaky", "quiet", "late"});
    std::vector<std::string> snapshots;
    for (int b = 0; b < 6 * 360; ++b) {
      const EventTime t = kT0 + b * 10 * kS;
      const bool busy_bad = b >= 1500 && b < 1560;
      for (int k = 0; k < 30; ++k) {
        f.Add(0, t + k * kS / 10, busy_bad && k % 3 == 0 ? 503 : 200,
              busy_bad ? 2.0 : 0.05 + 0.001 * (k % 7));
      }
      for (int k = 0; busy_bad && k < 5; ++k) f.AddErrorLine(0, t + k * kS);
      // 15 minutes at 3 lines a bucket, 15 at 25; slow, failing and logging errors in stretches
      // that straddle both.
      const int flaky_lines = (b / 90) % 2 == 0 ? 3 : 25;
      const bool flaky_bad = (b % 240) >= 60 && (b % 240) < 150;
      for (int k = 0; k < flaky_lines; ++k) {
        f.Add(1, t + k * kS / 5, flaky_bad && k % 2 == 0 ? 500 : 200,
              flaky_bad ? 1.5 + 0.01 * k : 0.1 + 0.002 * k);
      }
      for (int k = 0; flaky_bad && k < 12; ++k) f.AddErrorLine(1, t + k * kS / 2);
      // A message that changes every 40 minutes, on the flaky site while failing.
      static const char* const kWords[] = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot"};
      if (flaky_bad && b % 7 == 0) {
        f.AddErrorMessage(1, t + kS, std::string("upstream ") + kWords[(b / 240) % 6] + " refused");
      }
      if (b < 1000 || b >= 1100) f.Add(2, t, b % 50 == 0 ? 500 : 200, 3.0);  // silent a while
      // A site that starts late (its traffic_drop young again), then loses most traffic.
      for (int k = 0; b >= 1200 && k < (b < 1950 ? 10 : 1); ++k) f.Add(3, t + k * kS, 200, 0.1);
      f.Flush(p);
      // Snapshots while detectors of the quiet sites are not yet made (written as new ones).
      if (b % 270 == 0) snapshots.push_back(engine.SaveState());
    }
    engine.EndPartition(p);
    std::vector<std::string> out = snapshots;
    for (const Anomaly& a : rec.anomalies) out.push_back(AnomalyToJson(a));
    out.push_back(engine.SaveState());
    return out;
  };
  const std::vector<std::string> skipped = run(false);
  const std::vector<std::string> every = run(true);
  ASSERT_GE(every.size(), 8u);
  std::set<std::string> fired;
  for (size_t i = 0; i + 1 < every.size(); ++i) {
    for (const char* d : {"p99_high", "errors", "rate_low", "error_lines", "p99_baseline",
                          "error_spike", "traffic_drop", "silent", "availability_slo",
                          "new_message"}) {
      const std::string key = std::string("\"detector\":\"") + d + "\"";
      if (every[i].find(key) != std::string::npos) fired.insert(d);
    }
  }
  std::string names;
  for (const std::string& d : fired) names += d + " ";
  EXPECT_EQ(fired.size(), 10u) << "every detector fires at least once; fired: " << names;
  ASSERT_EQ(skipped.size(), every.size());
  for (size_t i = 0; i < skipped.size(); ++i) EXPECT_EQ(skipped[i], every[i]) << i;
}

// A site's detectors are made at the engine's first call to each: a quiet site's volume-gated
// ones (a threshold, a learned baseline under their min_requests), a busy site's threshold whose
// condition does not hold (judged by the engine), a traffic_drop younger than
// its window, a no_data whose data is recent and a new_error_template no template reached are
// never made, and cost no memory. Learned
// baselines count as warming from their site's start, made or not, and stop counting when their
// site's place or their configuration goes. (The events and snapshots of a run with detectors
// made late are those of one with every detector called at every close:
// VolumeGateTest.DetectorsSkippedUnderTheirVolumeGiveTheEventsAndStateOfEveryClose.)
TEST(VolumeGateTest, AQuietSitesGatedDetectorsAreNotMadeUntilCalled) {
  WindowEngineOptions o = Options();
  o.detectors.push_back(P99HighOver(100));
  DetectorSpec learned = Learned("p99_baseline", DetectorType::kBaseline, Metric::kP99);
  learned.window = kMin;
  learned.min_requests = 100;
  o.detectors.push_back(learned);
  DetectorSpec drop = Learned("traffic_drop", DetectorType::kTrafficDrop, Metric::kRequestRate);
  drop.direction = Direction::kDrop;
  o.detectors.push_back(drop);  // window 5 minutes: young for 30 closes
  DetectorSpec silent;
  silent.name = "silent";
  silent.type = DetectorType::kNoData;
  silent.no_data_after = 5 * kMin;
  o.detectors.push_back(silent);
  o.detectors.push_back(BurnSpec());  // reads every closed bucket: made at the first
  DetectorSpec novel;  // made at the first template that reaches it
  novel.name = "new_message";
  novel.type = DetectorType::kNewErrorTemplate;
  o.detectors.push_back(novel);
  Recorder rec;
  WindowEngine engine(o, &rec);
  const int p = engine.AddPartition();
  Feeder f(&engine, {"busy", "quiet1", "quiet2", "quiet3"});
  auto traffic = [&](int from, int to) {
    for (int b = from; b < to; ++b) {
      const EventTime t = kT0 + b * 10 * kS;
      for (int k = 0; k < 30; ++k) f.Add(0, t + k * kS / 10, 200, 0.05);
      for (int s = 1; s <= 3; ++s) f.Add(s, t, 200, 0.05);  // 6 a minute: under 100
      f.Flush(p);
    }
  };
  traffic(0, 20);
  EXPECT_EQ(engine.site_count(), 4u);
  // Each site's burn rate; the busy site's baseline too (180 requests a minute), not its
  // threshold: a p99 of 50 ms is far under its 1 s.
  EXPECT_EQ(engine.detectors_made(), 4u + 1u);
  EXPECT_EQ(engine.baselines_warming(), 4u * 2u);  // p99_baseline and traffic_drop, made or not
  // Past traffic_drop's window every site's is called.
  traffic(20, 40);
  EXPECT_EQ(engine.detectors_made(), 4u + 1u + 4u);
  // Every site's every detector is in the snapshot, made or not (a never-called one as new),
  // and another engine reads it back.
  const std::string state = engine.SaveState();
  for (const char* name : {"p99_high", "p99_baseline", "traffic_drop", "silent", "new_message"}) {
    size_t lines = 0;
    for (size_t at = state.find(std::string("\ndetector ") + name + " "); at != std::string::npos;
         at = state.find(std::string("\ndetector ") + name + " ", at + 1)) {
      ++lines;
    }
    EXPECT_EQ(lines, 4u) << name;
  }
  Recorder rec2;
  WindowEngine restored(o, &rec2);
  restored.AddPartition();
  ASSERT_TRUE(restored.LoadState(state).ok());
  EXPECT_EQ(restored.SaveState(), state);
  EXPECT_EQ(restored.baselines_warming(), 4u * 2u);
  // A reload that removes the learned baseline: the quiet sites' never-made ones stop counting.
  std::vector<DetectorSpec> after = o.detectors;
  after.erase(after.begin() + 1);
  engine.Reconfigure(after, {});
  EXPECT_EQ(engine.baselines_warming(), 4u);
  EXPECT_EQ(engine.detectors_made(), 4u + 4u);
  // An error message on a quiet site makes its new_error_template.
  f.AddErrorMessage(1, kT0 + 40 * 10 * kS, "upstream refused");
  traffic(40, 45);
  EXPECT_EQ(engine.detectors_made(), 4u + 4u + 1u);
  EXPECT_TRUE(rec.anomalies.empty());
  // The busy site slows past 1 s: its threshold holds, is made, and pages.
  for (int b = 45; b < 70; ++b) {
    const EventTime t = kT0 + b * 10 * kS;
    for (int k = 0; k < 30; ++k) f.Add(0, t + k * kS / 10, 200, 2.0);
    f.Flush(p);
  }
  EXPECT_EQ(engine.detectors_made(), 4u + 4u + 1u + 1u);
  ASSERT_FALSE(rec.anomalies.empty());
  EXPECT_EQ(rec.anomalies.front().detector, "p99_high");
  EXPECT_EQ(rec.anomalies.front().site, "busy");
}

// Replay charts every judgement: with an observer no detector is passed by, neither under its
// volume (threshold), nor while young (traffic_drop), nor while its data is recent (no_data),
// nor under its floor (burn_rate, which skips inside the detector).
TEST(VolumeGateTest, AnObserverSeesEveryDetectorJudgedAtEveryClose) {
  struct Counter final : EvaluationObserver {
    std::map<std::string, int> seen;
    void OnEvaluation(std::string_view /*site*/, const DetectorSpec& spec, EventTime /*now*/,
                      const DetectorOutcome& /*outcome*/, AlertPhase /*phase*/) override {
      ++seen[spec.name];
    }
  } counter;
  WindowEngineOptions o = Options();
  o.observer = &counter;
  o.detectors.push_back(P99HighOver(100));
  o.detectors.push_back(BurnSpec());
  DetectorSpec drop = Learned("traffic_drop", DetectorType::kTrafficDrop, Metric::kRequestRate);
  drop.direction = Direction::kDrop;
  o.detectors.push_back(drop);
  DetectorSpec silent;
  silent.name = "silent";
  silent.type = DetectorType::kNoData;
  silent.no_data_after = 5 * kMin;
  o.detectors.push_back(silent);
  Recorder rec;
  WindowEngine engine(o, &rec);
  const int p = engine.AddPartition();
  Feeder f(&engine, {"quiet"});
  constexpr int kBuckets = 60;  // one request each: under every floor, younger than every window
  for (int b = 0; b < kBuckets; ++b) {
    f.Add(0, kT0 + b * 10 * kS, 200, 0.1);
    f.Flush(p);
  }
  engine.EndPartition(p);
  ASSERT_EQ(counter.seen.size(), 4u);
  const int closes = counter.seen["silent"];
  EXPECT_GE(closes, kBuckets);
  EXPECT_EQ(counter.seen["p99_high"], closes);
  EXPECT_EQ(counter.seen["traffic_drop"], closes);
  EXPECT_EQ(counter.seen["availability_slo"], 2 * closes);  // its page and its ticket alert
}

// An alert firing in a snapshot is judged after a restart though its site went quiet under the
// detector's min_requests (the engine passes by only detectors whose alert is inactive, as the
// snapshot says, not as a fresh detector is): it resolves as in a run that never stopped.
TEST(VolumeGateTest, AnAlertFiringInASnapshotStillResolvesAfterItsSiteWentQuiet) {
  WindowEngineOptions o = Options();
  DetectorSpec errors = testing::Spec("errors", Metric::kErrorRate, 0.2, kMin);
  errors.min_requests = 50;
  errors.keep_firing_for = 5 * kMin;  // still firing when the snapshot is taken
  o.detectors.push_back(errors);
  auto feed = [](WindowEngine& engine, int p, int from, int to) {
    Feeder f(&engine, {"shop"});
    for (int b = from; b < to; ++b) {
      const EventTime t = kT0 + b * 10 * kS;
      const int lines = b < 30 ? 20 : 1;  // busy and failing, then quiet under min_requests
      for (int k = 0; k < lines; ++k) f.Add(0, t + k * kS / 4, b >= 10 && b < 30 ? 500 : 200);
      f.Flush(p);
    }
  };
  Recorder whole;
  {
    WindowEngine engine(o, &whole);
    const int p = engine.AddPartition();
    feed(engine, p, 0, 100);
    engine.EndPartition(p);
  }
  ASSERT_EQ(whole.anomalies.size(), 2u);
  EXPECT_EQ(whole.anomalies[1].state, AlertState::kResolved);
  Recorder before, after;
  std::string state;
  {
    WindowEngine engine(o, &before);
    const int p = engine.AddPartition();
    feed(engine, p, 0, 50);  // quiet for 3 minutes: its window under 50
    state = engine.SaveState();
  }
  ASSERT_EQ(before.anomalies.size(), 1u);
  ASSERT_EQ(before.anomalies[0].state, AlertState::kFiring);
  WindowEngine engine(o, &after);
  const int p = engine.AddPartition();
  ASSERT_TRUE(engine.LoadState(state).ok());
  feed(engine, p, 50, 100);
  engine.EndPartition(p);
  ASSERT_EQ(after.anomalies.size(), 1u) << "the firing alert resolves after the restart";
  EXPECT_EQ(AnomalyToJson(after.anomalies[0]), AnomalyToJson(whole.anomalies[1]));
}

TEST(NoDataDetectorTest, ASilentSiteIsNoDataNeverResolvedUntilItSpeaksAgain) {
  WindowEngineOptions o = Options();
  DetectorSpec nd;
  nd.name = "silent";
  nd.type = DetectorType::kNoData;
  nd.no_data_after = 5 * kMin;
  o.detectors.push_back(nd);
  o.detectors.push_back(testing::Spec("errors", Metric::kErrorRate, 0.5, kMin));
  Recorder rec;
  WindowEngine engine(o, &rec);
  const int p = engine.AddPartition();
  Feeder f(&engine, {"shop", "other"});
  auto other = [&](EventTime from, EventTime to) {  // keeps event time moving
    for (EventTime t = from; t < to; t += 10 * kS) {
      f.Add(1, t);
      f.Flush(p);
    }
  };
  for (EventTime t = kT0; t < kT0 + 10 * kMin; t += 10 * kS) {
    f.Add(0, t, 503);  // shop fails...
    f.Add(1, t);
    f.Flush(p);
  }
  other(kT0 + 10 * kMin, kT0 + 30 * kMin);  // ... then goes silent for 20 minutes
  for (EventTime t = kT0 + 30 * kMin; t < kT0 + 35 * kMin; t += 10 * kS) {
    f.Add(0, t);
    f.Add(1, t);
    f.Flush(p);
  }
  auto silent = Of(rec, "silent");
  ASSERT_EQ(silent.size(), 2u);
  EXPECT_EQ(silent[0].site, "shop");
  EXPECT_EQ(silent[0].state, AlertState::kNoData);
  EXPECT_EQ(silent[0].at, kT0 + 15 * kMin);  // last data ended at 10m; 5m later
  EXPECT_EQ(silent[1].state, AlertState::kResolved);
  EXPECT_EQ(silent[1].id, silent[0].id);
  // The error alert of the silent site ended as no_data, not resolved.
  auto errors = Of(rec, "errors");
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].state, AlertState::kFiring);
  EXPECT_EQ(errors[1].state, AlertState::kNoData);
}

}  // namespace
}  // namespace sitepulse
