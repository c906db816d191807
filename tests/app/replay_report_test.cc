// The replay report's bounds: the series replay keeps never grow past twice their cap whatever
// the input's length (and keep every spike), and a report of 1,000 sites over a day, every one
// charted with its band, pending spans and events, stays under 10 MB.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "app/replay_report.h"
#include "app/replay_series.h"

namespace sitepulse {
namespace {

constexpr EventTime kS = kNanosPerSecond;
constexpr EventTime kT0 = 1735689600 * kS;

TEST(ReplaySeriesTest, BoundedWhateverTheLengthAndSpikesSurvive) {
  BoundedSeries<StatsPoint> s;
  const size_t cap = 600;
  for (int i = 0; i < 8640 * 7; ++i) {  // a week of 10-second buckets
    StatsPoint p;
    p.start = kT0 + i * 10 * kS;
    p.p99 = i == 30001 ? 9.5f : 0.1f;  // one bucket's spike
    s.Add(p, cap);
    ASSERT_LE(s.points().size(), 2 * cap);
  }
  EXPECT_GE(s.points().size(), cap);
  EXPECT_EQ(s.group(), 64u);  // 60,480 buckets: 945 points of 64
  float top = 0;
  for (const StatsPoint& p : s.points()) top = std::max(top, p.p99);
  EXPECT_EQ(top, 9.5f);
  EXPECT_EQ(s.points().front().start, kT0);
  for (size_t i = 1; i < s.points().size(); ++i) {
    EXPECT_EQ(s.points()[i].start - s.points()[i - 1].start, 64 * 10 * kS);
  }
}

TEST(ReplayReportTest, AThousandSitesOverADayStayUnderTenMegabytes) {
  ReplayReportInput in;
  in.inputs = {"file:day.log"};
  in.from = kT0;
  in.to = kT0 + 86400 * kS;
  in.resolution = 10 * kS;
  in.max_charts = 1000;
  ReplayRun run;
  run.name = "A";
  DetectorSpec threshold;
  threshold.name = "p99_high";
  threshold.threshold = 0.5;
  DetectorSpec learned;
  learned.name = "p99_learned";
  learned.type = DetectorType::kBaseline;
  run.detectors = {threshold, learned};
  for (int site = 0; site < 1000; ++site) {
    const std::string name = "site-" + std::to_string(site) + ".example.com";
    BoundedSeries<StatsPoint>& series = in.stats[name];
    DetectorTrace& trace = in.traces[name]["p99_learned"];
    for (int b = 0; b < 8640; ++b) {
      StatsPoint p;
      p.start = kT0 + b * 10 * kS;
      p.p99 = 0.1f + 0.001f * static_cast<float>((b * 7 + site) % 13);
      p.error_rate = 0.001f;
      p.request_rate = 5;
      series.Add(p, in.max_points);
      // A daily cycle in the baseline, as a learned band has.
      const float expected = 0.1f + 0.03f * static_cast<float>(std::sin(b * 6.2832 / 8640));
      trace.band.Add({p.start, expected, expected * 1.7f}, in.max_points);
    }
    for (int k = 0; k < 4; ++k) {
      const EventTime start = kT0 + (site * 37 + k * 20000) % 86000 * kS;
      trace.pending.emplace_back(start - 120 * kS, start);
      Anomaly fire;
      fire.site = name;
      fire.detector = k % 2 ? "p99_high" : "p99_learned";
      fire.id = std::to_string(site) + "-" + std::to_string(k);
      fire.state = AlertState::kFiring;
      fire.severity = "page";
      fire.at = fire.started_at = start;
      fire.summary = "p99 latency of " + name + " is 812.0 ms over 1m, above the 500.0 ms threshold";
      Anomaly resolved = fire;
      resolved.state = AlertState::kResolved;
      resolved.at = start + 600 * kS;
      run.events.push_back(fire);
      run.events.push_back(resolved);
    }
  }
  run.incidents = IncidentsOf(run.events, in.to);
  in.runs.push_back(run);
  const std::string html = RenderReplayReport(in);
  EXPECT_LT(html.size(), 10u << 20) << html.size() << " bytes";
  size_t charts = 0;
  for (size_t at = 0; (at = html.find("<svg class=\"chart\"", at)) != std::string::npos; ++at) ++charts;
  EXPECT_EQ(charts, 1000u);
  EXPECT_NE(html.find("each the maximum of up to"), std::string::npos);
  RecordProperty("report_bytes", std::to_string(html.size()));
  std::printf("report of 1000 sites over a day: %zu bytes\n", html.size());
}

// A detector that flaps past the pending-span cap says so under its chart: how many spans there
// were and how many are not drawn (a silently partial chart reads as "it went pending 500 times").
TEST(ReplayReportTest, PendingSpansPastTheCapAreCountedUnderTheChart) {
  ReplayReportInput in;
  in.inputs = {"file:flap.log"};
  in.from = kT0;
  in.to = kT0 + 3600 * kS;
  in.resolution = 10 * kS;
  ReplayRun run;
  run.name = "A";
  DetectorSpec threshold;
  threshold.name = "p99_high";
  threshold.threshold = 0.5;
  run.detectors = {threshold};
  const std::string site = "flappy.example.com";
  for (int b = 0; b < 360; ++b) {
    StatsPoint p;
    p.start = kT0 + b * 10 * kS;
    p.p99 = b % 2 ? 0.9f : 0.1f;
    in.stats[site].Add(p, in.max_points);
  }
  DetectorTrace& trace = in.traces[site]["p99_high"];
  for (size_t k = 0; k < DetectorTrace::kMaxPendingSpans; ++k) {
    trace.pending.emplace_back(kT0 + static_cast<EventTime>(k) * 7 * kS, kT0 + static_cast<EventTime>(k) * 7 * kS + 5 * kS);
  }
  trace.pending_not_kept = 123;
  Anomaly fire;  // a site with an alert is charted
  fire.site = site;
  fire.detector = "p99_high";
  fire.id = "f1";
  fire.state = AlertState::kFiring;
  fire.severity = "page";
  fire.at = fire.started_at = kT0 + 600 * kS;
  fire.summary = "p99 latency of " + site + " is 900.0 ms over 1m, above the 500.0 ms threshold";
  run.events.push_back(fire);
  run.incidents = IncidentsOf(run.events, in.to);
  in.runs.push_back(run);
  const std::string html = RenderReplayReport(in);
  EXPECT_NE(html.find("p99_high went pending 623 times; the first 500 are drawn, 123 more are not"),
            std::string::npos);
  // A detector within the cap gets no such line.
  trace.pending_not_kept = 0;
  EXPECT_EQ(RenderReplayReport(in).find("not-drawn"), std::string::npos);
}

}  // namespace
}  // namespace sitepulse
