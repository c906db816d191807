#include "app/heal_config.h"

#include <gtest/gtest.h>

namespace sitepulse {
namespace {

TEST(HealConfigTest, TheIssuesExampleShapeIsRead) {
  setenv("HEAL_TEST_TOKEN", "t0k", 1);
  const HealConfigResult r = ParseHealConfigString(
      "heal:\n"
      "  mode: shadow\n"
      "  max_concurrent: 2\n"
      "  breaker: {max_sites: 3, within: 5m}\n"
      "  escalate: [file:/tmp/escalations.jsonl]\n"
      "rules:\n"
      "  - name: rollback_bad_deploy\n"
      "    match: {detector: p99_latency_high, severity: page, site: '*.example.com', labels: {team: web}}\n"
      "    when: {deploy_within: 15m}\n"
      "    action: {exec: [scripts/rollback.sh, '{site}', '{deploy.previous_version}'], timeout: 60s}\n"
      "    verify_for: 5m\n"
      "    undo: {exec: [scripts/undo-rollback.sh, '{site}']}\n"
      "    cooldown: 30m\n"
      "    max_attempts: {count: 3, within: 24h}\n"
      "    reopen_window: 30m\n"
      "  - name: restart_on_errors\n"
      "    match: {detector: error_rate_high}\n"
      "    action: {http: {method: POST, url: 'https://deploy.internal/api/sites/{site}/restart',\n"
      "                    headers: {Authorization: 'Bearer ${HEAL_TEST_TOKEN}'}, expect: [200, 202], timeout: 10s}}\n",
      "heal.yaml");
  ASSERT_TRUE(r.ok()) << r.FormatErrors();
  const HealConfig& c = r.config;
  EXPECT_TRUE(c.shadow);
  EXPECT_EQ(c.max_concurrent, 2u);
  EXPECT_EQ(c.breaker_max_sites, 3u);
  ASSERT_EQ(c.rules.size(), 2u);
  EXPECT_EQ(c.rules[0].deploy_within, 15 * 60 * kNanosPerSecond);
  EXPECT_EQ(c.rules[0].action.exec.argv.size(), 3u);
  EXPECT_EQ(c.rules[0].match.labels.size(), 1u);
  EXPECT_EQ(c.rules[1].action.kind, HealAction::Kind::kHttp);
  EXPECT_EQ(c.rules[1].action.http.headers[0].second, "Bearer t0k");
  EXPECT_EQ(c.rules[1].action.http.expect, (std::vector<int>{200, 202}));
}

TEST(HealConfigTest, WhatCouldLetAnEventChooseTheCommandIsRefused) {
  const HealConfigResult r = ParseHealConfigString(
      "rules:\n"
      "  - name: a\n"
      "    action: {exec: ['{site}', x]}\n"
      "  - name: b\n"
      "    action: {http: {url: 'https://h/{hostname}', headers: {X-Site: '{site}'}}}\n"
      "  - name: c\n"
      "    action: {exec: [restart]}\n"
      "    approval: maybe\n"
      "    colldown: 5m\n",
      "heal.yaml");
  ASSERT_FALSE(r.ok());
  const std::string e = r.FormatErrors();
  EXPECT_NE(e.find("heal.yaml:3: rules[0].action.exec[0]: the program must not come from an event"), std::string::npos) << e;
  EXPECT_NE(e.find("heal.yaml:5: rules[1].action.http.url: 'https://h/{hostname}': unknown placeholder {hostname}"), std::string::npos) << e;
  EXPECT_NE(e.find("rules[1].action.http.headers.X-Site: header values take no placeholders"), std::string::npos) << e;
  EXPECT_NE(e.find("heal.yaml:8: rules[2].approval: must be required or none"), std::string::npos) << e;
  EXPECT_NE(e.find("heal.yaml:9: rules[2].colldown: unknown key"), std::string::npos) << e;
}

}  // namespace
}  // namespace sitepulse
