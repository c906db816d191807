#include "detect/threshold_detector.h"

#include <gtest/gtest.h>

namespace sitepulse {
namespace {

TEST(ThresholdDetectorTest, ErrorRateAboveWithRequestFloor) {
  DetectorSpec spec;
  spec.metric = Metric::kErrorRate;
  spec.threshold = 0.05;
  spec.min_requests = 100;
  WindowView w;
  w.requests = 50;
  w.errors_5xx = 50;  // 100% errors, but a quiet site
  EXPECT_FALSE(EvaluateThreshold(spec, w).evaluable);
  w.requests = 1000;
  w.errors_5xx = 60;
  Evaluation e = EvaluateThreshold(spec, w);
  EXPECT_TRUE(e.evaluable);
  EXPECT_TRUE(e.condition);
  EXPECT_DOUBLE_EQ(e.value, 0.06);
  w.errors_5xx = 50;
  EXPECT_FALSE(EvaluateThreshold(spec, w).condition);  // 5% is not above 5%
}

TEST(ThresholdDetectorTest, RequestRateBelowUsesCoveredSeconds) {
  DetectorSpec spec;
  spec.metric = Metric::kRequestRate;
  spec.above = false;
  spec.threshold = 10;
  WindowView w;
  w.requests = 300;
  w.covered_s = 60;  // 5/s
  Evaluation e = EvaluateThreshold(spec, w);
  EXPECT_DOUBLE_EQ(e.value, 5);
  EXPECT_TRUE(e.condition);
}

TEST(ThresholdDetectorTest, EmptyWindowIsNeverACondition) {
  DetectorSpec spec;
  spec.metric = Metric::kRequestRate;
  spec.above = false;
  spec.threshold = 10;
  spec.min_requests = 0;
  WindowView w;  // no requests at all: no_data's business
  EXPECT_FALSE(EvaluateThreshold(spec, w).evaluable);
}

TEST(ThresholdDetectorTest, LatencyQuantileFromSketch) {
  const SketchMapping m(0.01);
  DenseSketch s;
  for (int i = 0; i < 990; ++i) s.Add(m.Bin(0.05));
  for (int i = 0; i < 10; ++i) s.Add(m.Bin(3.0));
  DetectorSpec spec;
  spec.metric = Metric::kP99;
  spec.threshold = 1.0;
  WindowView w;
  w.requests = 1000;
  w.latency = &s;
  w.mapping = &m;
  // rank floor(0.99 * 999) = 989: still a fast request.
  EXPECT_FALSE(EvaluateThreshold(spec, w).condition);
  spec.metric = Metric::kP999;
  const Evaluation e = EvaluateThreshold(spec, w);
  EXPECT_TRUE(e.condition);
  EXPECT_NEAR(e.value, 3.0, 0.03);
}

TEST(ThresholdDetectorTest, SummaryIsOneActionableSentence) {
  DetectorSpec spec;
  spec.metric = Metric::kP99;
  spec.threshold = 0.5;
  spec.window = 300 * kNanosPerSecond;
  EXPECT_EQ(ThresholdSummary(spec, "shop.example.com", 0.8123, true),
            "p99 latency of shop.example.com is 812.3 ms over 5m, above the 500.0 ms threshold");
  spec.metric = Metric::kErrorRate;
  spec.threshold = 0.05;
  EXPECT_EQ(ThresholdSummary(spec, "api", 0.01, false),
            "5xx error rate of api is back to 1.00% over 5m (threshold 5.00%)");
}

}  // namespace
}  // namespace sitepulse
