#include "detect/latency_sketch.h"

#include <gtest/gtest.h>

#include "core/state_codec.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <vector>

namespace sitepulse {
namespace {

constexpr double kQuantiles[] = {0.0, 0.01, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0};

// Every quantile of the sketch is within alpha (relative) of the exact order statistic at rank
// floor(q * (n - 1)).
void ExpectAccurate(std::vector<double> values, const char* what) {
  const SketchMapping mapping(0.01);
  DenseSketch sketch;
  for (double v : values) sketch.Add(mapping.Bin(v));
  std::sort(values.begin(), values.end());
  ASSERT_EQ(sketch.count(), values.size());
  for (double q : kQuantiles) {
    const double exact = values[static_cast<size_t>(q * static_cast<double>(values.size() - 1))];
    const double got = sketch.Quantile(mapping, q);
    if (exact < kSketchMinValue) {
      EXPECT_EQ(got, 0) << what << " q=" << q;
    } else {
      EXPECT_LE(std::abs(got - exact), 0.01 * exact + 1e-15)
          << what << " q=" << q << " exact=" << exact << " got=" << got;
    }
  }
}

// Bin() reads a table; BinByLog() is the definition. They must agree on every value, above all
// next to bin edges, where a table built wrongly would be off by one.
TEST(LatencySketchTest, TableBinEqualsTheLogarithmEverywhere) {
  for (double alpha : {0.01, 0.05, 0.002}) {
    const SketchMapping m(alpha);
    auto expected = [&](double v) {
      if (!(v >= kSketchMinValue)) return kZeroBin;
      return m.BinByLog(std::min(v, kSketchMaxValue));
    };
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> exponent(std::log(1e-10), std::log(1e8));
    for (int i = 0; i < 300000; ++i) {
      const double v = std::exp(exponent(rng));
      ASSERT_EQ(m.Bin(v), expected(v)) << "alpha " << alpha << " value " << v;
    }
    // Every bin edge and the doubles right around it.
    const double gamma = (1 + alpha) / (1 - alpha);
    const int lo = m.BinByLog(kSketchMinValue), hi = m.BinByLog(kSketchMaxValue);
    int edges = 0;
    for (int b = lo; b <= hi; ++b) {
      double v = std::pow(gamma, b);
      for (int step = 0; step < 4; ++step) v = std::nextafter(v, 0.0);
      for (int step = 0; step < 9; ++step, v = std::nextafter(v, INFINITY)) {
        ASSERT_EQ(m.Bin(v), expected(v)) << "alpha " << alpha << " bin " << b << " value " << v;
      }
      ++edges;
    }
    EXPECT_GT(edges, 100);
    for (double v : {0.0, -1.0, double{NAN}, double{INFINITY}, 5e-324, kSketchMinValue,
                     std::nextafter(kSketchMinValue, 0.0), kSketchMaxValue, 1e300}) {
      EXPECT_EQ(m.Bin(v), expected(v)) << "alpha " << alpha << " value " << v;
    }
  }
}

TEST(LatencySketchTest, AccurateOnUniform) {
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> d(0.001, 2.0);
  std::vector<double> v(100000);
  for (double& x : v) x = d(rng);
  ExpectAccurate(v, "uniform");
}

TEST(LatencySketchTest, AccurateOnLognormal) {
  std::mt19937_64 rng(2);
  std::lognormal_distribution<double> d(std::log(0.05), 1.0);
  std::vector<double> v(100000);
  for (double& x : v) x = d(rng);
  ExpectAccurate(v, "lognormal");
}

TEST(LatencySketchTest, AccurateOnHeavyTail) {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<double> v(100000);
  for (double& x : v) x = 0.01 / std::pow(1 - u(rng), 1.0 / 1.1);  // Pareto, alpha 1.1
  ExpectAccurate(v, "pareto");
}

TEST(LatencySketchTest, AccurateOnBimodal) {
  std::mt19937_64 rng(4);
  std::normal_distribution<double> fast(0.005, 0.001), slow(2.0, 0.3);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<double> v(100000);
  for (double& x : v) x = std::max(1e-6, u(rng) < 0.9 ? fast(rng) : slow(rng));
  ExpectAccurate(v, "bimodal");
}

TEST(LatencySketchTest, AccurateOnTinyAndHugeValues) {
  std::vector<double> tiny, huge;
  for (int i = 1; i <= 1000; ++i) tiny.push_back(1e-8 * i);  // 10 ns .. 10 us
  for (int i = 1; i <= 1000; ++i) huge.push_back(1000.0 * i);  // 1000 s .. 1e6 s
  ExpectAccurate(tiny, "tiny");
  ExpectAccurate(huge, "huge");
}

TEST(LatencySketchTest, ZerosAreCountedAndReportedAsZero) {
  std::vector<double> v(100, 0.0);
  for (int i = 0; i < 100; ++i) v.push_back(0.1);
  ExpectAccurate(v, "zeros");
}

TEST(LatencySketchTest, SingleValueAndEmpty) {
  const SketchMapping m(0.01);
  DenseSketch s;
  EXPECT_TRUE(std::isnan(s.Quantile(m, 0.5)));
  s.Add(m.Bin(0.2));
  EXPECT_NEAR(s.Quantile(m, 0.99), 0.2, 0.002);
  EXPECT_NEAR(s.Quantile(m, 0.0), 0.2, 0.002);
}

TEST(LatencySketchTest, MergeEqualsInsertingEverything) {
  const SketchMapping m(0.01);
  std::mt19937_64 rng(5);
  std::lognormal_distribution<double> d(std::log(0.05), 1.5);
  DenseSketch all, a, b;
  for (int i = 0; i < 20000; ++i) {
    const SketchBin bin = m.Bin(d(rng));
    all.Add(bin);
    (i % 3 == 0 ? a : b).Add(bin);
  }
  a.Merge(b);
  for (double q : kQuantiles) EXPECT_EQ(a.Quantile(m, q), all.Quantile(m, q)) << q;
  EXPECT_EQ(a.count(), all.count());
}

TEST(LatencySketchTest, SubtractUndoesMergeForSlidingWindows) {
  const SketchMapping m(0.01);
  DenseSketch window, first, second;
  for (int i = 1; i <= 1000; ++i) first.Add(m.Bin(0.001 * i));
  for (int i = 1; i <= 1000; ++i) second.Add(m.Bin(10.0 + 0.01 * i));
  CompactSketch c1, c2;
  first.ToCompact(&c1);
  second.ToCompact(&c2);
  window.Merge(c1);
  window.Merge(c2);
  window.Subtract(c1);
  EXPECT_EQ(window.count(), 1000u);
  for (double q : kQuantiles) EXPECT_EQ(window.Quantile(m, q), second.Quantile(m, q)) << q;
  EXPECT_EQ(c2.Quantile(m, 0.5), second.Quantile(m, 0.5));
}

// Closed buckets pack counts in 16 bits; a busy bin (65,535 or more in one bucket) takes a wide
// count. Merging, subtracting and quantiles must see the exact counts either way, at any position.
TEST(LatencySketchTest, CompactSketchKeepsWideCountsExact) {
  const SketchMapping m(0.01);
  for (const uint32_t busy : {65534u, 65535u, 65536u, 200000u}) {
    DenseSketch dense;
    dense.Add(m.Bin(0.001), 3);
    dense.Add(m.Bin(0.010), busy);  // in the middle
    dense.Add(m.Bin(0.100), 5);
    dense.Add(m.Bin(1.000), busy);  // last
    dense.Add(kZeroBin, 2);
    CompactSketch c;
    dense.ToCompact(&c);
    EXPECT_EQ(c.count(), dense.count());
    EXPECT_EQ(c.zero_count(), 2u);
    uint64_t sum = 0;
    int bins = 0;
    c.ForEachBin([&](SketchBin, uint32_t n) {
      sum += n;
      ++bins;
    });
    EXPECT_EQ(bins, 4) << busy;
    EXPECT_EQ(sum + 2, dense.count()) << busy;
    DenseSketch window;
    window.Merge(c);
    for (double q : kQuantiles) {
      EXPECT_EQ(window.Quantile(m, q), dense.Quantile(m, q)) << busy << " " << q;
      EXPECT_EQ(c.Quantile(m, q), dense.Quantile(m, q)) << busy << " " << q;
    }
    window.Subtract(c);
    EXPECT_TRUE(window.empty());
    // Moving keeps the contents; a small sketch reuses the inline words.
    CompactSketch moved = std::move(c);
    EXPECT_EQ(moved.count(), dense.count());
    DenseSketch small;
    small.Add(m.Bin(0.5));
    small.ToCompact(&moved);
    EXPECT_EQ(moved.count(), 1u);
    EXPECT_EQ(moved.MemoryBytes(), 0u);
    EXPECT_NEAR(moved.Quantile(m, 0.5), 0.5, 0.5 * 0.011);
  }
}

// A quiet site's closed bucket (up to 15 bins, small counts, bins near each other) is held in the
// sketch itself as bytes: no allocation, and everything reads it as it reads the words: its bins,
// quantiles, a window merging and subtracting it, and its snapshot (the words, so a snapshot
// reads the same before and after the bytes form; a loaded one holds the words).
TEST(LatencySketchTest, AQuietBucketsSketchIsHeldInlineAndReadsLikeTheWords) {
  const SketchMapping m(0.01);
  std::mt19937 rng(7);
  int inline_held = 0, heap_held = 0;
  for (int round = 0; round < 3000; ++round) {
    DenseSketch dense;
    const int bins = 1 + static_cast<int>(rng() % 20);
    int bin = -200 + static_cast<int>(rng() % 400);
    for (int k = 0; k < bins; ++k) {
      bin += 1 + static_cast<int>(rng() % (round % 3 == 0 ? 300 : 40));
      if (bin > 2000) break;
      const uint32_t n = 1 + static_cast<uint32_t>(rng() % (round % 5 == 0 ? 400 : 4));
      for (uint32_t i = 0; i < (round % 2 == 0 ? n : 1); ++i) dense.Add(static_cast<SketchBin>(bin));
      if (round % 2 != 0 && n > 1) dense.Add(static_cast<SketchBin>(bin), n - 1);
    }
    if (round % 7 == 0) dense.Add(kZeroBin, 3);
    std::vector<std::pair<int, uint32_t>> want;
    dense.ForEachBin([&](SketchBin b, uint32_t n) { want.emplace_back(b, n); });
    CompactSketch c;
    dense.ToCompact(&c);
    std::vector<std::pair<int, uint32_t>> got;
    c.ForEachBin([&](SketchBin b, uint32_t n) { got.emplace_back(b, n); });
    ASSERT_EQ(got, want) << round;
    ASSERT_EQ(c.count(), dense.count());
    ASSERT_EQ(c.zero_count(), dense.zero_count());
    bool fits = want.size() <= 15;
    for (size_t k = 0; k < want.size(); ++k) {
      fits = fits && want[k].second < 256 && (k == 0 || want[k].first - want[k - 1].first < 256);
    }
    if (fits || want.size() <= 8) {  // the bytes form, or the words inline
      EXPECT_EQ(c.MemoryBytes(), 0u) << round;
    }
    (c.MemoryBytes() == 0 ? inline_held : heap_held) += 1;
    for (double q : kQuantiles) ASSERT_EQ(c.Quantile(m, q), dense.Quantile(m, q)) << round;
    // Its snapshot, loaded (the words), saves the same text and merges the same.
    StateWriter w;
    c.Save(w);
    StateReader r(w.str());
    ASSERT_TRUE(r.NextLine());
    CompactSketch loaded;
    ASSERT_TRUE(loaded.Load(r)) << round << " " << w.str();
    StateWriter again;
    loaded.Save(again);
    ASSERT_EQ(again.str(), w.str()) << round;
    DenseSketch window, from_words;
    window.Add(static_cast<SketchBin>(5), 2);
    from_words.Add(static_cast<SketchBin>(5), 2);
    window.Merge(c);
    from_words.Merge(loaded);
    for (double q : kQuantiles) ASSERT_EQ(window.Quantile(m, q), from_words.Quantile(m, q)) << round;
    window.Subtract(c);
    ASSERT_EQ(window.count(), 2u) << round;
    ASSERT_EQ(window.Quantile(m, 1), m.Value(static_cast<SketchBin>(5))) << round;
  }
  EXPECT_GT(inline_held, 1000);
  EXPECT_GT(heap_held, 300);
}

// A closed bucket's sketch read back from a snapshot is checked for the layout merges rely on:
// bins ascending, a wide count's second word present. Damaged words are refused; before, a
// merge wrote outside the window's range (found by fuzz/state_fuzz.cc).
TEST(LatencySketchTest, CompactSketchLoadRefusesDamagedWords) {
  const SketchMapping m(0.01);
  DenseSketch dense;
  dense.Add(m.Bin(0.001), 3);
  dense.Add(m.Bin(0.5), 70000);
  CompactSketch c;
  dense.ToCompact(&c);
  StateWriter w;
  c.Save(w);
  {
    StateReader r(w.str());
    ASSERT_TRUE(r.NextLine());
    CompactSketch back;
    ASSERT_TRUE(back.Load(r));
    EXPECT_EQ(back.count(), c.count());
  }
  // zero total n words...: swap the two bins (descending), then drop the wide count's word.
  const std::string lo = std::to_string((static_cast<uint32_t>(static_cast<uint16_t>(m.Bin(0.001))) << 16) | 3);
  const std::string hi = std::to_string((static_cast<uint32_t>(static_cast<uint16_t>(m.Bin(0.5))) << 16) | 0xFFFF);
  for (const std::string& text : {"0 70003 3 " + hi + " 70000 " + lo, "0 70003 2 " + lo + " " + hi}) {
    StateReader r(text);
    ASSERT_TRUE(r.NextLine());
    CompactSketch back;
    EXPECT_FALSE(back.Load(r)) << text;
  }
}

TEST(LatencySketchTest, ClearKeepsWorking) {
  const SketchMapping m(0.01);
  DenseSketch s;
  s.Add(m.Bin(5.0));
  s.Clear();
  EXPECT_TRUE(s.empty());
  s.Add(m.Bin(0.001));
  EXPECT_NEAR(s.Quantile(m, 0.5), 0.001, 0.00001);
}

}  // namespace
}  // namespace sitepulse

namespace sitepulse {
namespace {

// The stats sink's five quantiles in one walk are exactly the five asked one by one, on
// sketches with zero values, one value and many values.
TEST(DenseSketchTest, QuantilesInOneWalkEqualQuantileOneByOne) {
  SketchMapping mapping(0.01);
  const double qs[] = {0, 0.5, 0.9, 0.95, 0.99, 0.999, 1};
  uint64_t seed = 7;
  auto next = [&seed] {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<double>(seed >> 11) / static_cast<double>(1ull << 53);
  };
  for (int round = 0; round < 200; ++round) {
    DenseSketch s;
    const int n = round % 7 == 0 ? 1 : 1 + round * 13;
    for (int i = 0; i < n; ++i) {
      const double v = round % 5 == 0 && i % 3 == 0 ? 0 : std::exp(next() * 8 - 6);
      s.Add(mapping.Bin(v));
    }
    double got[7];
    s.Quantiles(mapping, qs, 7, got);
    for (int k = 0; k < 7; ++k) {
      EXPECT_EQ(got[k], s.Quantile(mapping, qs[k])) << "round " << round << " q " << qs[k];
    }
  }
}

// The rank's bin by the definition: up from the bottom; the top bin held when the counts fell
// short of the total.
double WalkUp(const DenseSketch& s, const SketchMapping& m, double q) {
  if (s.count() == 0) return std::nan("");
  const uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(s.count() - 1));
  if (rank < s.zero_count()) return 0;
  uint64_t cum = s.zero_count();
  double top = 0;
  double found = std::nan("");
  s.ForEachBin([&](SketchBin bin, uint64_t n) {
    cum += n;
    top = m.Value(bin);
    if (cum > rank && std::isnan(found)) found = m.Value(bin);
  });
  return std::isnan(found) ? top : found;
}

// A window's quantile is the bin the walk up from the bottom stops at, at every rank: while the
// window slides over buckets with zeros and gaps; after a bucket never merged is subtracted (its
// total taken whole, its counts only from bins that hold them: counts above the total, so the
// walk stops early); and from a snapshot whose counts fall short of its total (the top bin held).
// A walk down from the top reads the same bins only while the counts sum to the total.
TEST(DenseSketchTest, AQuantileIsTheBinTheWalkUpStopsAt) {
  const SketchMapping m(0.01);
  std::mt19937_64 rng(11);
  std::lognormal_distribution<double> lat(std::log(0.08), 1.5);
  std::vector<CompactSketch> buckets(40);
  for (auto& c : buckets) {
    DenseSketch b;
    const int n = static_cast<int>(rng() % 60);
    for (int i = 0; i < n; ++i) b.Add(m.Bin(rng() % 20 == 0 ? 0.0 : lat(rng)));
    b.ToCompact(&c);
  }
  DenseSketch window;
  int compared = 0;
  for (size_t k = 0; k < buckets.size(); ++k) {
    window.Merge(buckets[k]);
    if (k >= 6) window.Subtract(buckets[k - 6]);
    for (int i = 0; i <= 1000; ++i) {
      const double q = i / 1000.0;
      const double want = WalkUp(window, m, q);
      const double got = window.Quantile(m, q);
      ASSERT_TRUE(got == want || (std::isnan(got) && std::isnan(want))) << k << " q=" << q;
      ++compared;
    }
  }
  EXPECT_EQ(compared, 40 * 1001);
  // Counts above the total: the counts of a bucket never merged are taken from bins that hold
  // fewer.
  DenseSketch big;
  for (int i = 0; i < 30; ++i) big.Add(m.Bin(0.5 + 0.01 * i), 3);
  CompactSketch never;
  big.ToCompact(&never);
  window.Subtract(never);
  for (int i = 0; i <= 1000; ++i) {
    const double q = i / 1000.0;
    const double want = WalkUp(window, m, q);
    const double got = window.Quantile(m, q);
    ASSERT_TRUE(got == want || (std::isnan(got) && std::isnan(want))) << "drifted q=" << q;
  }
  // Counts short of the total (a damaged snapshot, which loads): the ranks past the counts read
  // the top bin held.
  StateWriter w;
  w.Int(m.Bin(0.1)).UInt(2).UInt(20).UInt(3).UInt(4).UInt(0).UInt(5);  // 2 zeros + 9 counted of 20
  StateReader r(w.str());
  ASSERT_TRUE(r.NextLine());
  DenseSketch short_counts;
  ASSERT_TRUE(short_counts.Load(r));
  int past_the_counts = 0;
  for (int i = 0; i <= 1000; ++i) {
    const double q = i / 1000.0;
    const double want = WalkUp(short_counts, m, q);
    ASSERT_EQ(short_counts.Quantile(m, q), want) << "short q=" << q;
    past_the_counts += static_cast<uint64_t>(q * 19) >= 11;
  }
  EXPECT_GT(past_the_counts, 0);
  EXPECT_EQ(short_counts.Quantile(m, 1), m.Value(static_cast<SketchBin>(m.Bin(0.1) + 2)));
}

}  // namespace
}  // namespace sitepulse

namespace sitepulse {
namespace {

// Up to DenseSketch::kSmall samples live in the object before an array of counts is used: every
// read (bins, quantiles, counts at most, the compact form, a snapshot, merges both ways) must be
// what the samples make, below, at and past that size, with zeros, counts above one and a
// sketch recycled from a wide one, against a plain map of the same samples.
TEST(DenseSketchTest, SamplesKeptInTheObjectReadAsTheSamplesMake) {
  const SketchMapping mapping(0.01);
  std::mt19937_64 rng(11);
  DenseSketch recycled;
  for (int round = 0; round < 400; ++round) {
    const int n = round % 40;
    std::map<int, uint64_t> want;
    uint64_t zeros = 0;
    DenseSketch fresh;
    DenseSketch& s = round % 2 == 0 ? fresh : recycled;
    if (&s == &recycled) {
      for (int i = 0; i < 300; ++i) s.Add(static_cast<SketchBin>(-200 + i));  // a wide array
      s.Clear();
    }
    for (int i = 0; i < n; ++i) {
      if (rng() % 9 == 0) {
        s.Add(kZeroBin);
        ++zeros;
        continue;
      }
      const auto bin = static_cast<SketchBin>(static_cast<int>(rng() % 60) - 30 + (round % 3) * 100);
      const uint32_t c = round % 5 == 4 && i == n / 2 ? 3 : 1;  // sometimes one count above one
      s.Add(bin, c);
      want[bin] += c;
    }
    uint64_t total = zeros;
    for (const auto& [bin, c] : want) total += c;
    ASSERT_EQ(s.count(), total) << round;
    ASSERT_EQ(s.zero_count(), zeros) << round;
    auto bins_of = [](const auto& sketch) {
      std::map<int, uint64_t> got;
      sketch.ForEachBin([&](SketchBin b, uint64_t c) { got[b] += c; });
      return got;
    };
    EXPECT_EQ(bins_of(s), want) << round;
    // Quantiles by rank over the samples.
    for (double q : kQuantiles) {
      if (total == 0) break;
      const auto rank = static_cast<uint64_t>(q * static_cast<double>(total - 1));
      double exact = 0;
      uint64_t cum = zeros;
      if (rank >= zeros) {
        for (const auto& [bin, c] : want) {
          cum += c;
          if (cum > rank) {
            exact = mapping.Value(static_cast<SketchBin>(bin));
            break;
          }
        }
      }
      EXPECT_EQ(s.Quantile(mapping, q), exact) << round << " q " << q;
    }
    double five[5];
    const double qs[] = {0.5, 0.9, 0.95, 0.99, 1};
    s.Quantiles(mapping, qs, 5, five);
    for (int k = 0; k < 5 && total > 0; ++k) EXPECT_EQ(five[k], s.Quantile(mapping, qs[k])) << round;
    for (int at : {-40, -5, 0, 7, 95, 131, 300}) {
      uint64_t below = zeros;
      for (const auto& [bin, c] : want) below += bin <= at ? c : 0;
      EXPECT_EQ(s.CountAtMost(static_cast<SketchBin>(at)), below) << round << " at " << at;
    }
    CompactSketch compact;
    s.ToCompact(&compact);
    EXPECT_EQ(compact.count(), total);
    EXPECT_EQ(compact.zero_count(), zeros);
    EXPECT_EQ(bins_of(compact), want) << round;
    StateWriter w;
    s.Save(w);
    w.EndLine();
    StateReader r(w.str());
    ASSERT_TRUE(r.NextLine());
    DenseSketch loaded;
    ASSERT_TRUE(loaded.Load(r)) << round;
    EXPECT_EQ(bins_of(loaded), want) << round;
    EXPECT_EQ(loaded.count(), total);
    // Merged into a sketch with counts, and a compact form merged into and subtracted from it.
    DenseSketch into;
    into.Add(static_cast<SketchBin>(5), 2);
    into.Merge(s);
    auto plus = want;
    plus[5] += 2;
    EXPECT_EQ(bins_of(into), plus) << round;
    EXPECT_EQ(into.count(), total + 2);
    DenseSketch small;
    small.Add(static_cast<SketchBin>(12));
    small.Merge(compact);
    auto with12 = want;
    with12[12] += 1;
    EXPECT_EQ(bins_of(small), with12) << round;
    small.Subtract(compact);
    std::map<int, uint64_t> only12{{12, 1}};
    EXPECT_EQ(bins_of(small), only12) << round;
    EXPECT_EQ(small.count(), 1u);
  }
}

}  // namespace
}  // namespace sitepulse
