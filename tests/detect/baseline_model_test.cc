#include "detect/baseline_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace sitepulse {
namespace {

constexpr EventTime kS = kNanosPerSecond;
constexpr EventTime kMin = 60 * kS;
constexpr EventTime kHour = 60 * kMin;
constexpr EventTime kT0 = 1735689600 * kS;  // a Wednesday, 00:00 UTC

BaselineOptions Fast() {
  BaselineOptions o;
  o.half_life = kHour;
  o.learn_for = kHour;
  o.min_samples = 30;
  o.seasonality = false;
  return o;
}

TEST(BaselineModelTest, WarmsUpBeforeJudging) {
  const BaselineOptions o = Fast();
  BaselineModel m;
  BaselineVerdict v;
  for (int i = 0; i < 60; ++i) {  // one sample a minute: warm after an hour
    v = m.Observe(kT0 + i * kMin, 100, o);
    EXPECT_FALSE(v.warm) << i;
    EXPECT_EQ(v.z, 0);
  }
  v = m.Observe(kT0 + 60 * kMin, 1000, o);
  EXPECT_TRUE(v.warm);
  EXPECT_GT(v.z, 10);  // a tenfold value on a flat baseline
}

TEST(BaselineModelTest, LearnsLevelAndSpreadAndFlagsARise) {
  const BaselineOptions o = Fast();
  BaselineModel m;
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(200, 10);
  for (int i = 0; i < 240; ++i) m.Observe(kT0 + i * kMin, noise(rng), o);
  const BaselineVerdict normal = m.Observe(kT0 + 240 * kMin, 205, o);
  EXPECT_NEAR(normal.expected, 200, 5);
  EXPECT_NEAR(normal.spread, 10, 4);  // mean absolute deviation x 1.25 ~ sigma
  EXPECT_LT(std::fabs(normal.z), 2);
  const BaselineVerdict high = m.Observe(kT0 + 241 * kMin, 320, o);
  EXPECT_GT(high.z, 8);
  const BaselineVerdict low = m.Observe(kT0 + 242 * kMin, 120, o);
  EXPECT_LT(low.z, -5);
}

TEST(BaselineModelTest, OneSpikeBarelyMovesTheBaseline) {
  const BaselineOptions o = Fast();
  BaselineModel m;
  for (int i = 0; i < 120; ++i) m.Observe(kT0 + i * kMin, 100 + (i % 3), o);
  const double before = m.Observe(kT0 + 120 * kMin, 101, o).expected;
  m.Observe(kT0 + 121 * kMin, 100000, o);  // a wild outlier
  const double after = m.Observe(kT0 + 122 * kMin, 101, o).expected;
  EXPECT_NEAR(after, before, 1.0);
}

TEST(BaselineModelTest, VarianceFloorKeepsAFlatSeriesFromPagingOnNoise) {
  BaselineOptions o = Fast();
  o.min_spread_ratio = 0.05;
  BaselineModel m;
  for (int i = 0; i < 120; ++i) m.Observe(kT0 + i * kMin, 50, o);  // perfectly flat: spread 0
  const BaselineVerdict v = m.Observe(kT0 + 120 * kMin, 52, o);   // +4%
  EXPECT_DOUBLE_EQ(v.spread, 2.5);                               // 5% of 50
  EXPECT_LT(v.z, 1);
}

TEST(BaselineModelTest, AdaptsAfterASustainedLevelShift) {
  BaselineOptions o = Fast();
  o.adapt_after = 2 * kHour;
  BaselineModel m;
  for (int i = 0; i < 120; ++i) m.Observe(kT0 + i * kMin, 100 + (i % 5), o);
  bool adapted = false;
  EventTime adapted_at = 0;
  for (int i = 120; i < 600 && !adapted; ++i) {
    const BaselineVerdict v = m.Observe(kT0 + i * kMin, 300 + (i % 5), o);
    if (v.adapted) {
      adapted = true;
      adapted_at = kT0 + i * kMin;
    } else {
      EXPECT_GT(v.z, 4) << i;  // deviating until it adapts
    }
  }
  ASSERT_TRUE(adapted);
  EXPECT_EQ(adapted_at, kT0 + 120 * kMin + 2 * kHour);
  const BaselineVerdict v = m.Observe(adapted_at + kMin, 302, o);
  EXPECT_LT(std::fabs(v.z), 4);  // the new level is normal now
}

TEST(BaselineModelTest, DailySeasonalityAfterTwoDays) {
  BaselineOptions o = Fast();
  o.seasonality = true;
  o.half_life = 6 * kHour;
  BaselineModel m;
  // Busy from 08:00 to 20:00 (1000), quiet at night (100); one sample every 5 minutes, 4 days.
  auto value = [](EventTime t) {
    const int hour = static_cast<int>(((t / kHour) % 24 + 24) % 24);
    return hour >= 8 && hour < 20 ? 1000.0 : 100.0;
  };
  const EventTime end = kT0 + 4 * 24 * kHour;
  for (EventTime t = kT0; t < end; t += 5 * kMin) {
    m.Observe(t, value(t) + static_cast<double>((t / kMin) % 7), o);
  }
  // The busy level at noon is normal; the same level at 03:00 is not.
  const BaselineVerdict noon = m.Observe(end + 12 * kHour, 1003, o);
  EXPECT_LT(std::fabs(noon.z), 4);
  const BaselineVerdict night = m.Observe(end + 24 * kHour + 3 * kHour, 1003, o);
  EXPECT_GT(night.z, 4);
}

// The seasonal state is allocated as it is needed: visit counts with the first observation,
// means with the first value that is not 0. A model that learned zeros for three days holds no
// means (through a snapshot too), then learns a daily and weekly pattern and expects what a
// model holding means from its first observation expects.
TEST(BaselineModelTest, AModelOfZerosHoldsNoSeasonalMeansAndLearnsSeasonsLikeOneThatDoes) {
  BaselineOptions o = Fast();
  o.seasonality = true;
  o.half_life = 6 * kHour;
  BaselineModel lazy;
  BaselineModel eager;
  EXPECT_EQ(lazy.MemoryBytes(), sizeof(BaselineModel)) << "nothing learned, nothing held";
  lazy.Observe(kT0, 0, o);
  eager.Observe(kT0, 1e-300, o);  // not 0: means from the start; its trace is below 1e-290
  const EventTime step = 10 * kMin;
  EventTime t = kT0 + step;
  for (; t < kT0 + 3 * 24 * kHour; t += step) {
    lazy.Observe(t, 0, o);
    eager.Observe(t, 0, o);
  }
  EXPECT_LT(lazy.MemoryBytes(), sizeof(BaselineModel) + 500) << "visit counts, no means";
  // Its one value that is not 0 gave it the means of that hour's pages: the hours of the day's
  // and its weekday's.
  EXPECT_EQ(eager.MemoryBytes() - lazy.MemoryBytes(), 2 * 24 * sizeof(double));
  StateWriter w;
  lazy.Save(w);
  StateReader r(w.str());
  ASSERT_TRUE(r.NextLine());
  BaselineModel loaded;
  ASSERT_TRUE(loaded.Load(r));
  EXPECT_EQ(loaded.MemoryBytes(), lazy.MemoryBytes());
  // Busy by day, busier on weekdays; 16 more days, so the weekly offsets count too.
  auto value = [](EventTime at) {
    const int64_t hours = at / kHour;
    const bool day = hours % 24 >= 8 && hours % 24 < 20;
    const bool weekend = (hours / 24 + 3) % 7 >= 5;
    return (day ? 1000.0 : 100.0) * (weekend ? 0.5 : 1.0) + static_cast<double>(hours % 5);
  };
  int compared = 0;
  for (const EventTime end = t + 16 * 24 * kHour; t < end; t += step) {
    const BaselineVerdict vl = lazy.Observe(t, value(t), o);
    const BaselineVerdict vd = loaded.Observe(t, value(t), o);
    const BaselineVerdict ve = eager.Observe(t, value(t), o);
    ASSERT_EQ(vl.expected, vd.expected) << (t - kT0) / kHour;
    ASSERT_NEAR(vl.expected, ve.expected, 1e-200) << (t - kT0) / kHour;
    ASSERT_NEAR(vl.z, ve.z, 1e-200) << (t - kT0) / kHour;
    ++compared;
  }
  // Values that are not 0 in every hour of the week: every page.
  EXPECT_EQ(lazy.MemoryBytes() - sizeof(BaselineModel), (24 + 168) * (sizeof(uint16_t) + sizeof(double)));
  EXPECT_EQ(compared, 16 * 24 * 6);
}

// The means are held in pages of a day's hours, each made with the first value that is not 0 in
// it: a model that learned for a few hours holds the pages of those hours, and its snapshot
// (every mean written, 0 where no page is held) loads into the same pages and continues exactly.
TEST(BaselineModelTest, AModelOfAFewHoursHoldsThoseHoursMeansAndContinuesExactlyFromItsSnapshot) {
  BaselineOptions o = Fast();
  o.seasonality = true;
  o.half_life = 6 * kHour;
  BaselineModel a;
  auto value = [](EventTime at) {
    const int64_t hours = at / kHour;
    return (hours % 24 >= 8 && hours % 24 < 20 ? 800.0 : 200.0) + static_cast<double>(hours % 7);
  };
  // Wednesday 22:00 to Thursday 02:00: the hours of the day, Wednesday's and Thursday's.
  const EventTime step = 10 * kMin;
  EventTime t = kT0 + 22 * kHour;
  for (; t < kT0 + 26 * kHour; t += step) a.Observe(t, value(t), o);
  const size_t visits = (24 + 168) * sizeof(uint16_t);
  EXPECT_EQ(a.MemoryBytes(), sizeof(BaselineModel) + visits + 3 * 24 * sizeof(double));
  StateWriter w;
  a.Save(w);
  StateReader r(w.str());
  ASSERT_TRUE(r.NextLine());
  BaselineModel b;
  ASSERT_TRUE(b.Load(r));
  EXPECT_EQ(b.MemoryBytes(), a.MemoryBytes());
  // Three weeks on, with seasons that count: the same verdicts, then the same snapshot.
  int judged = 0;
  for (const EventTime end = t + 21 * 24 * kHour; t < end; t += step) {
    const BaselineVerdict va = a.Observe(t, value(t), o);
    const BaselineVerdict vb = b.Observe(t, value(t), o);
    ASSERT_EQ(va.expected, vb.expected) << (t - kT0) / kHour;
    ASSERT_EQ(va.z, vb.z) << (t - kT0) / kHour;
    judged += va.warm;
  }
  EXPECT_GT(judged, 2000);
  EXPECT_EQ(a.MemoryBytes(), sizeof(BaselineModel) + visits + (24 + 168) * sizeof(double));
  StateWriter wa, wb;
  a.Save(wa);
  b.Save(wb);
  EXPECT_EQ(wa.str(), wb.str());
}

TEST(BaselineModelTest, SavedStateContinuesExactly) {
  const BaselineOptions o = Fast();
  BaselineModel a;
  for (int i = 0; i < 200; ++i) a.Observe(kT0 + i * kMin, 100 + (i % 7) * 3, o);
  BaselineModel b;
  StateWriter w;
  a.Save(w);
  StateReader r(w.str());
  ASSERT_TRUE(r.NextLine());
  ASSERT_TRUE(b.Load(r));
  for (int i = 200; i < 260; ++i) {
    const double v = i == 230 ? 400 : 100 + (i % 7) * 3;
    const BaselineVerdict va = a.Observe(kT0 + i * kMin, v, o);
    const BaselineVerdict vb = b.Observe(kT0 + i * kMin, v, o);
    EXPECT_EQ(va.z, vb.z) << i;
    EXPECT_EQ(va.expected, vb.expected) << i;
  }
  StateReader junk("not a state");
  ASSERT_TRUE(junk.NextLine());
  EXPECT_FALSE(b.Load(junk));
}

// Models of different half-lives and warm-ups, fed at different steps, on one thread (a
// coordinator's: every learned detector of every site), learn as each would alone. The share
// each forgets per step is kept between calls (baseline_model.cc): it must be the one of this
// model's half-life and this step.
TEST(BaselineModelTest, ModelsOfOtherHalfLivesAndStepsOnOneThreadLearnAsEachAlone) {
  BaselineOptions slow = Fast();
  BaselineOptions quick = Fast();
  quick.half_life = 10 * kMin;
  quick.learn_for = 4 * kHour;
  struct Feed {
    BaselineOptions options;
    std::vector<EventTime> times;
  };
  std::vector<Feed> feeds(3);
  feeds[0].options = slow;
  feeds[1].options = quick;
  feeds[2].options = quick;
  for (int i = 0; i < 2000; ++i) {
    feeds[0].times.push_back(kT0 + i * 10 * kS);
    feeds[1].times.push_back(kT0 + i * 10 * kS);  // the same step as the first, another model
    feeds[2].times.push_back(kT0 + i * 10 * kS + (i % 5) * 7 * kS);  // steps that vary
  }
  auto value = [](size_t f, size_t i) { return 100.0 + static_cast<double>((i * (f + 3)) % 17); };
  auto record = [](const BaselineVerdict& v) {
    return std::vector<double>{v.expected, v.spread, v.z, v.warm ? 1.0 : 0.0};
  };
  std::vector<std::vector<std::vector<double>>> alone(feeds.size()), together(feeds.size());
  std::vector<std::string> alone_state, together_state;
  for (size_t f = 0; f < feeds.size(); ++f) {
    BaselineModel m;
    for (size_t i = 0; i < feeds[f].times.size(); ++i) {
      alone[f].push_back(record(m.Observe(feeds[f].times[i], value(f, i), feeds[f].options)));
    }
    StateWriter w;
    m.Save(w);
    alone_state.push_back(w.str());
  }
  std::vector<BaselineModel> models;
  models.resize(feeds.size());
  for (size_t i = 0; i < feeds[0].times.size(); ++i) {
    for (size_t f = 0; f < feeds.size(); ++f) {
      together[f].push_back(
          record(models[f].Observe(feeds[f].times[i], value(f, i), feeds[f].options)));
    }
  }
  for (size_t f = 0; f < feeds.size(); ++f) {
    StateWriter w;
    models[f].Save(w);
    together_state.push_back(w.str());
    for (size_t i = 0; i < alone[f].size(); ++i) {
      ASSERT_EQ(together[f][i], alone[f][i]) << "model " << f << ", observation " << i;
    }
  }
  EXPECT_EQ(together_state, alone_state);
  // Each model learned both ways: warming up (forgetting at least at an eighth of its warm-up)
  // and warm (at its half-life).
  for (size_t f = 0; f < feeds.size(); ++f) {
    EXPECT_EQ(alone[f].front()[3], 0.0) << f;
    EXPECT_EQ(alone[f].back()[3], 1.0) << f;
  }
}

}  // namespace
}  // namespace sitepulse
