#include "detect/window_sketch.h"

#include <gtest/gtest.h>

#include <cmath>
#include <deque>
#include <initializer_list>
#include <memory>
#include <random>
#include <utility>
#include <vector>

namespace sitepulse {
namespace {

constexpr double kQuantiles[] = {0.0, 0.01, 0.1, 0.25, 0.49, 0.5, 0.51, 0.75, 0.9, 0.95, 0.99,
                                 0.999, 1.0};

// A closed bucket of `n` samples: latencies spread over about two decades, some of them zero
// (the zero bin), as a quiet site's bucket.
std::unique_ptr<CompactSketch> Bucket(std::mt19937& rng, const SketchMapping& mapping, int n) {
  std::lognormal_distribution<double> latency(std::log(0.05), 1.0);
  DenseSketch dense;
  for (int i = 0; i < n; ++i) dense.Add(rng() % 17 == 0 ? kZeroBin : mapping.Bin(latency(rng)));
  auto out = std::make_unique<CompactSketch>();
  dense.ToCompact(out.get());
  return out;
}

// A bucket of `n` samples at each latency of `samples` (latency in seconds, n).
CompactSketch BucketOf(const SketchMapping& mapping,
                       std::initializer_list<std::pair<double, int>> samples) {
  DenseSketch dense;
  for (const auto& [latency, n] : samples) {
    for (int i = 0; i < n; ++i) dense.Add(mapping.Bin(latency));
  }
  CompactSketch out;
  dense.ToCompact(&out);
  return out;
}

// A window kept in bytes reads as the DenseSketch slid over the same buckets: the same count and
// the same value at every quantile, low and high, as buckets come and go
// (sizes from none to a few dozen samples, windows of 1 to 60 buckets).
TEST(WindowSketchTest, ReadsAsTheDenseSketchSlidOverTheSameBuckets) {
  const SketchMapping mapping(0.01);
  std::mt19937 rng(7);
  for (size_t len : {1u, 6u, 14u, 60u}) {
    WindowSketch narrow;
    DenseSketch dense;
    std::deque<std::unique_ptr<CompactSketch>> window;
    for (int step = 0; step < 400; ++step) {
      if (window.size() == len) {
        narrow.Subtract(*window.front());
        dense.Subtract(*window.front());
        window.pop_front();
      }
      const int n = step % 50 == 0 ? 0 : static_cast<int>(rng() % 12);
      window.push_back(Bucket(rng, mapping, n));
      ASSERT_TRUE(narrow.Merge(*window.back())) << "a quiet window's counts fit in bytes";
      dense.Merge(*window.back());
      ASSERT_EQ(narrow.count(), dense.count()) << step;
      for (double q : kQuantiles) {
        const double want = dense.Quantile(mapping, q);
        const double got = narrow.Quantile(mapping, q);
        if (std::isnan(want)) {
          EXPECT_TRUE(std::isnan(got)) << "len " << len << " step " << step << " q " << q;
        } else {
          EXPECT_EQ(got, want) << "len " << len << " step " << step << " q " << q;
        }
      }
    }
  }
}

// A merge that would take a bin past 255 changes nothing and says so (the engine then keeps the
// window as a DenseSketch).
TEST(WindowSketchTest, AMergePastAByteChangesNothing) {
  const SketchMapping mapping(0.01);
  const CompactSketch bucket = BucketOf(mapping, {{0.2, 200}, {0.9, 1}});
  WindowSketch narrow;
  ASSERT_TRUE(narrow.Merge(bucket));
  const double p50 = narrow.Quantile(mapping, 0.5);
  const double p100 = narrow.Quantile(mapping, 1.0);
  EXPECT_FALSE(narrow.Merge(bucket)) << "400 samples in one bin";
  EXPECT_EQ(narrow.count(), 201u);
  EXPECT_EQ(narrow.Quantile(mapping, 0.5), p50);
  EXPECT_EQ(narrow.Quantile(mapping, 1.0), p100);
  narrow.Subtract(bucket);
  EXPECT_EQ(narrow.count(), 0u);
  EXPECT_TRUE(std::isnan(narrow.Quantile(mapping, 0.5)));
  EXPECT_TRUE(narrow.Merge(bucket)) << "room again once the first left";
}

// A merge that fits in its first bin and not in its second changes nothing either: the window
// reads as before it, and no count of the first bin is left behind.
TEST(WindowSketchTest, AMergePastAByteInItsSecondBinLeavesNoTraceOfItsFirst) {
  const SketchMapping mapping(0.01);
  const CompactSketch first = BucketOf(mapping, {{0.1, 1}, {0.9, 250}});
  WindowSketch narrow;
  ASSERT_TRUE(narrow.Merge(first));
  const double p0 = narrow.Quantile(mapping, 0.0);
  const double p1 = narrow.Quantile(mapping, 0.01);  // rank 2: the 0.9 s bin
  // 0.2 s fits and comes first; 0.9 s would reach 260.
  const CompactSketch second = BucketOf(mapping, {{0.2, 10}, {0.9, 10}});
  EXPECT_FALSE(narrow.Merge(second));
  EXPECT_EQ(narrow.count(), 251u);
  EXPECT_EQ(narrow.Quantile(mapping, 0.0), p0);
  EXPECT_EQ(narrow.Quantile(mapping, 0.01), p1) << "no 0.2 s sample was kept";
  narrow.Subtract(first);
  EXPECT_EQ(narrow.count(), 0u);
  ASSERT_TRUE(narrow.Merge(second));
  EXPECT_EQ(narrow.Quantile(mapping, 0.0), mapping.Value(mapping.Bin(0.2)))
      << "nothing of the refused merge was left behind";
  EXPECT_EQ(narrow.Quantile(mapping, 1.0), mapping.Value(mapping.Bin(0.9)));
}

}  // namespace
}  // namespace sitepulse
