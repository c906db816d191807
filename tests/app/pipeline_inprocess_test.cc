// The pipeline run in-process on small hostile input, so that the sanitizer builds (which run
// only the unit label) exercise the coordinator's event-time gate and site admission too: a
// line from 2100 first and in the middle, a clock broken on some lines, a flood of names past a
// small cap with a failing site among them, 1 and 3 lanes, tiny batches.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "app/pipeline.h"
#include "ingest/format.h"
#include "tests/app/test_util.h"

namespace sitepulse {
namespace {

std::string Line(const std::string& site, int t, int status, const char* latency,
                 const char* year = "2025") {
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                R"({"time_iso8601":"%s-01-01T00:%02d:%02dZ","host":"%s","status":"%d","request_time":"%s"})",
                year, t / 60 % 60, t % 60, site.c_str(), status, latency);
  return buf;
}

TEST(PipelineInProcessTest, GateAndAdmissionOnHostileInput) {
  testing::TempDir dir;
  const std::string path = dir / "in.log";
  {
    std::ofstream out(path);
    out << Line("a.example", 0, 200, "0.1", "2100") << "\n";
    for (int t = 0; t < 900; ++t) {
      out << Line("junk" + std::to_string(t) + ".example", t, 200, "0.01") << "\n";
      if (t == 300) out << Line("a.example", t, 200, "0.1", "2100") << "\n";
      if (t % 7 == 0) out << Line("b.example", t, 200, "0.1", "2031") << "\n";
      if (t >= 400) {
        for (int k = 0; k < 5; ++k) out << Line("shop.example", t, k < 4 ? 503 : 200, "0.05") << "\n";
      }
      if (t % 50 == 0) out << Line("old.example", t > 100 ? t - 100 : 0, 200, "0.1") << "\n";
    }
  }
  std::string first_summary;
  for (const int lanes : {1, 3}) {
    MetricsRegistry metrics;
    PipelineOptions o;
    auto uri = ParseUri("file:" + path);
    ASSERT_TRUE(uri.ok());
    auto format = FormatFromPreset("nginx");
    ASSERT_TRUE(format.ok());
    o.inputs.push_back({*uri, *format});
    o.threads = lanes;
    o.batch_bytes = 4096;
    o.confirm_lines = 8;
    o.engine.max_sites = 50;
    DetectorSpec d;
    d.name = "errors";
    d.metric = Metric::kErrorRate;
    d.threshold = 0.2;
    d.window = 60 * kNanosPerSecond;
    d.min_requests = 20;
    d.severity = "page";
    o.engine.detectors.push_back(d);
    auto out = ParseUri("file:" + dir / ("a" + std::to_string(lanes)));
    ASSERT_TRUE(out.ok());
    OutputSpec spec;
    spec.uri = *out;
    o.outputs.push_back(spec);
    o.metrics = &metrics;
    auto summary = RunPipeline(o, nullptr);
    ASSERT_TRUE(summary.ok()) << summary.status();
    EXPECT_EQ(summary->lines, summary->parsed + summary->rejected + summary->held);
    EXPECT_EQ(summary->rejected_by_reason[static_cast<int>(RejectReason::kFutureTime)],
              2u + 900u / 7 + 1);  // the two 2100 lines and every 2031 line
    EXPECT_GT(summary->sites_over_cap, 700u);
    EXPECT_GE(summary->sites_promoted, 1u);
    const std::string anomalies = testing::ReadFile(dir / ("a" + std::to_string(lanes)));
    EXPECT_NE(anomalies.find(R"("site":"shop.example","detector":"errors","state":"firing")"),
              std::string::npos) << anomalies;
    summary->seconds = summary->cpu_seconds_lanes = summary->cpu_seconds_reader =
        summary->cpu_seconds_coordinator = 0;
    summary->threads = 0;
    summary->lanes_read = false;
    if (first_summary.empty()) {
      first_summary = summary->ToJson();
    } else {
      EXPECT_EQ(summary->ToJson(), first_summary);
    }
  }
}

}  // namespace
}  // namespace sitepulse
