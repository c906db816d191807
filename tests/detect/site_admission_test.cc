#include "detect/site_admission.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace sitepulse {
namespace {

// The heavy hitters of a stream survive a flood of one-off keys, with a guaranteed count that
// never overstates their true count.
TEST(SpaceSavingTest, HeavyHittersSurviveAFloodOfOneOffKeys) {
  SpaceSaving ss(64);
  uint64_t heavy_true = 0, heavy_guaranteed = 0;
  for (uint64_t i = 0; i < 100000; ++i) {
    ss.Add(1'000'000 + i, 1);  // a new key each time
    if (i % 10 == 0) {
      heavy_guaranteed = ss.Add(7, 1);
      ++heavy_true;
    }
  }
  EXPECT_LE(heavy_guaranteed, heavy_true);
  EXPECT_GT(heavy_guaranteed, heavy_true / 2);
  EXPECT_EQ(ss.size(), 64u);
  // A one-off key is guaranteed nothing beyond itself.
  EXPECT_LE(ss.Add(42, 1), 1u);
  ss.Forget(7);
  EXPECT_LE(ss.Add(7, 1), 1u);  // a new candidate again
}

TEST(SpaceSavingTest, DecayHalvesCounts) {
  SpaceSaving ss(4);
  ss.Add(1, 100);
  ss.Decay();
  EXPECT_EQ(ss.Add(1, 0), 50u);
}

TEST(HyperLogLogTest, EstimatesWithinTwoStandardErrors) {
  for (const uint64_t n : {0ull, 10ull, 1000ull, 100000ull, 1000000ull}) {
    HyperLogLog h;
    for (uint64_t i = 0; i < n; ++i) {
      h.Add(SiteNameHash("n" + std::to_string(i) + ".example"));
      if (i % 3 == 0) h.Add(SiteNameHash("n" + std::to_string(i) + ".example"));  // repeats count once
    }
    const double e = h.Estimate();
    EXPECT_NEAR(e, static_cast<double>(n), 2 * 0.0163 * static_cast<double>(n) + 1) << n;
  }
}

TEST(SiteNameHashTest, SameInEveryRun) {
  // A fixed value: promotions and estimates must not change from one run to the next.
  EXPECT_EQ(SiteNameHash("shop.example.com"), SiteNameHash(std::string("shop.example.com")));
  EXPECT_NE(SiteNameHash("a"), SiteNameHash("b"));
}

}  // namespace
}  // namespace sitepulse
