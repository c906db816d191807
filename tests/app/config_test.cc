#include "app/config.h"

#include <gtest/gtest.h>

#include <string>

namespace sitepulse {
namespace {

std::string Errors(const std::string& yaml) {
  return ParseConfigString(yaml, "test.yaml").FormatErrors();
}

TEST(ConfigTest, ShippedConfigsAreValid) {
  for (const char* name : {"demo", "nginx", "caddy", "envoy", "ecs", "combined"}) {
    ConfigResult r = LoadConfig(std::string(SITEPULSE_SOURCE_DIR "/configs/") + name + ".yaml");
    EXPECT_TRUE(r.ok()) << name << ":\n" << r.FormatErrors();
    EXPECT_FALSE(r.config.detectors.empty()) << name;
  }
}

TEST(ConfigTest, EmptyConfigMeansDefaults) {
  ConfigResult r = ParseConfigString("", "empty.yaml");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config.resolution, 10 * kNanosPerSecond);
  EXPECT_EQ(r.config.max_line_bytes, 1u << 20);
}

TEST(ConfigTest, UnknownKeyNamesFileLineAndPath) {
  EXPECT_EQ(Errors("windows:\n  resolution: 10s\n  latenes: 30s\n"),
            "test.yaml:3: windows.latenes: unknown key (known: resolution, lateness, idle_timeout)\n");
}

TEST(ConfigTest, BadDurationAndWrongType) {
  const std::string e = Errors(
      "windows:\n  resolution: 10 seconds\nlimits:\n  max_sites: many\n");
  EXPECT_NE(e.find("test.yaml:2: windows.resolution: bad duration '10 seconds'"), std::string::npos) << e;
  EXPECT_NE(e.find("test.yaml:4: limits.max_sites: expected a number, got 'many'"), std::string::npos) << e;
}

TEST(ConfigTest, EveryDetectorErrorIsReported) {
  const std::string e = Errors(
      "detectors:\n"
      "  - name: a\n"
      "    metric: p98\n"
      "    threshold: 1\n"
      "    window: 5x\n"
      "  - name: a\n"
      "    metric: p99\n"
      "    threshold: -1\n"
      "    sevrity: page\n"
      "  - metric: error_rate\n");
  EXPECT_NE(e.find("test.yaml:3: detectors[0].metric: must be one of"), std::string::npos) << e;
  EXPECT_NE(e.find("test.yaml:5: detectors[0].window: bad duration '5x'"), std::string::npos) << e;
  EXPECT_NE(e.find("test.yaml:6: detectors[1].name: duplicate detector name 'a'"), std::string::npos) << e;
  EXPECT_NE(e.find("test.yaml:8: detectors[1].threshold: must be between"), std::string::npos) << e;
  EXPECT_NE(e.find("test.yaml:9: detectors[1].sevrity: unknown key"), std::string::npos) << e;
  EXPECT_NE(e.find("test.yaml:10: detectors[2]: missing required key 'name'"), std::string::npos) << e;
  EXPECT_NE(e.find("detectors[2]: missing required key 'threshold'"), std::string::npos) << e;
}

TEST(ConfigTest, SiteOverridesMergeIntoDefaults) {
  ConfigResult r = ParseConfigString(
      "detectors:\n"
      "  - {name: slow, metric: p99, threshold: 0.5, for: 1m}\n"
      "  - {name: errors, metric: error_rate, threshold: 0.05}\n"
      "sites:\n"
      "  api.example.com:\n"
      "    detectors:\n"
      "      slow: {threshold: 2}\n"
      "      errors: {enabled: false}\n",
      "t.yaml");
  ASSERT_TRUE(r.ok()) << r.FormatErrors();
  const auto& specs = r.config.site_detectors.at("api.example.com");
  ASSERT_EQ(specs.size(), 2u);
  EXPECT_EQ(specs[0].threshold, 2);
  EXPECT_EQ(specs[0].for_duration, 60 * kNanosPerSecond);  // inherited
  EXPECT_FALSE(specs[1].enabled);
  EXPECT_EQ(r.config.detectors[0].threshold, 0.5);  // defaults untouched
}

TEST(ConfigTest, OverrideOfUnknownDetectorIsAnError) {
  EXPECT_NE(Errors("sites:\n  a:\n    detectors:\n      nope: {threshold: 1}\n")
                .find("test.yaml:4: sites.a.detectors.nope: no detector of that name"),
            std::string::npos);
}

TEST(ConfigTest, FormatProblemsAreCaughtAtCheckTime) {
  std::string e = Errors("format:\n  preset: json\n");
  EXPECT_NE(e.find("test.yaml:2: format: preset 'json' needs fields.site"), std::string::npos) << e;
  e = Errors("inputs:\n  - file:a.log?preset=nope\n");
  EXPECT_NE(e.find("test.yaml:2: inputs[0]: input 'file:a.log': unknown preset 'nope'"),
            std::string::npos) << e;
  e = Errors("format:\n  preset: caddy\n  kind: error\n");
  EXPECT_NE(e.find("preset 'caddy' reads access logs, but kind is error"), std::string::npos) << e;
}

TEST(ConfigTest, YamlSyntaxErrorHasALine) {
  const std::string e = Errors("windows:\n  resolution: [10s\n");
  EXPECT_EQ(e.rfind("test.yaml:", 0), 0u) << e;
  EXPECT_EQ(e.find("test.yaml:0:"), std::string::npos) << e;
}

TEST(ConfigTest, ResolveFormatAppliesOverrides) {
  FormatOverrides o;
  o.preset = "json";
  o.fields["site"] = {"svc"};
  o.fields["time"] = {"ts"};
  o.fields["status"] = {"code"};
  o.latency_unit = LatencyUnit::kMillis;
  auto f = ResolveFormat(o);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->site_paths, std::vector<std::string>{"svc"});
  EXPECT_EQ(f->latency_unit, LatencyUnit::kMillis);
  Uri u = *ParseUri("file:x?kind=error&preset=error_text&site=www");
  FormatOverrides o2;
  ASSERT_TRUE(ApplyUriParams(u, &o2).ok());
  auto f2 = ResolveFormat(o2);
  ASSERT_TRUE(f2.ok());
  EXPECT_EQ(f2->syntax, Syntax::kErrorText);
  EXPECT_EQ(f2->default_site, "www");
  EXPECT_FALSE(ApplyUriParams(*ParseUri("file:x?colour=red"), &o2).ok());
}

}  // namespace
}  // namespace sitepulse
