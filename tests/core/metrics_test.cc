#include "core/metrics.h"

#include <gtest/gtest.h>

namespace sitepulse {
namespace {

TEST(MetricsRegistryTest, SameSeriesSameObjectAndPrometheusText) {
  MetricsRegistry r;
  Counter* a = r.GetCounter("x_total", "Things", {{"kind", "a"}});
  Counter* a2 = r.GetCounter("x_total", "ignored", {{"kind", "a"}});
  Counter* b = r.GetCounter("x_total", "Things", {{"kind", "b\"q"}});
  EXPECT_EQ(a, a2);
  a->Add(3);
  b->Add();
  r.GetGauge("depth", "Queue depth")->Set(2.5);
  EXPECT_EQ(r.RenderPrometheus(),
            "# HELP depth Queue depth\n"
            "# TYPE depth gauge\n"
            "depth 2.5\n"
            "# HELP x_total Things\n"
            "# TYPE x_total counter\n"
            "x_total{kind=\"a\"} 3\n"
            "x_total{kind=\"b\\\"q\"} 1\n");
  EXPECT_EQ(r.CounterSum("x_total"), 4u);
  EXPECT_EQ(r.CounterSum("x_total", "kind", "a"), 3u);
  EXPECT_EQ(r.CounterSum("nope"), 0u);
  EXPECT_NE(r.RenderPrometheus().find("x_total{kind=\"a\"} 3\n"), std::string::npos);
}

}  // namespace
}  // namespace sitepulse
