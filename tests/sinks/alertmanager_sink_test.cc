#include "sinks/alertmanager_sink.h"

#include <gtest/gtest.h>

namespace sitepulse {
namespace {

TEST(AlertmanagerSinkTest, AlertJsonHasLabelsAnnotationsAndTimes) {
  Anomaly a;
  a.id = "abc";
  a.site = "shop.example.com";
  a.detector = "p99_latency_high";
  a.severity = "page";
  a.metric = "p99";
  a.value = 0.75;
  a.threshold = 0.5;
  a.baseline = 0.1;
  a.summary = "slow";
  a.started_at = 1735689600LL * kNanosPerSecond;
  a.at = 1735689660LL * kNanosPerSecond;
  a.labels = {{"severity", "ignored"}, {"team", "web"}};
  OutputSpec spec;
  spec.labels = {{"env", "prod"}, {"team", "also-ignored"}};
  spec.generator_url = "http://grafana/d/x";
  EXPECT_EQ(AlertmanagerAlertJson(a, spec, false),
            "{\"labels\":{\"alertname\":\"p99_latency_high\",\"site\":\"shop.example.com\","
            "\"severity\":\"page\",\"team\":\"web\",\"env\":\"prod\"},"
            "\"annotations\":{\"summary\":\"slow\",\"value\":\"0.75\",\"threshold\":\"0.5\","
            "\"metric\":\"p99\",\"incident_id\":\"abc\",\"state\":\"firing\",\"baseline\":\"0.1\"},"
            "\"startsAt\":\"2025-01-01T00:00:00Z\",\"generatorURL\":\"http://grafana/d/x\"}");
  a.state = AlertState::kResolved;
  EXPECT_NE(AlertmanagerAlertJson(a, spec, true).find("\"endsAt\":\"2025-01-01T00:01:00Z\""),
            std::string::npos);
  EXPECT_EQ(AlertmanagerAlertJson(a, spec, false).find("endsAt"), std::string::npos);
}

}  // namespace
}  // namespace sitepulse
