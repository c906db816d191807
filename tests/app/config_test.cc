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

TEST(ConfigTest, PipelineReader) {
  ConfigResult r = ParseConfigString("pipeline:\n  reader: lanes\n", "test.yaml");
  ASSERT_TRUE(r.ok()) << r.FormatErrors();
  EXPECT_EQ(r.config.reader, PipelineOptions::Reader::kLanes);
  EXPECT_EQ(ParseConfigString("", "test.yaml").config.reader, PipelineOptions::Reader::kAuto);
  EXPECT_EQ(Errors("pipeline:\n  threads: 2\n  reader: both\n"),
            "test.yaml:3: pipeline.reader: must be one of auto, thread, lanes\n");
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

TEST(ConfigTest, DetectorTypesParseWithTheirDefaults) {
  ConfigResult r = ParseConfigString(
      "detectors:\n"
      "  - {name: slo, type: burn_rate, objective: 99.5, sli: latency, latency_threshold: 300ms}\n"
      "  - {name: drop, type: traffic_drop}\n"
      "  - {name: spike, type: error_spike, factor: 4, min_rate: 0.2}\n"
      "  - {name: quiet, type: no_data, after: 15m}\n"
      "  - {name: p99, type: baseline, metric: p99, direction: both, learn_for: 2h,\n"
      "     seasonality: false, sensitivity: 5}\n"
      "  - name: custom\n"
      "    type: burn_rate\n"
      "    objective: 99.9\n"
      "    pairs: [{long: 2h, short: 10m, factor: 10, severity: page}]\n",
      "t.yaml");
  ASSERT_TRUE(r.ok()) << r.FormatErrors();
  const auto& d = r.config.detectors;
  ASSERT_EQ(d.size(), 6u);
  EXPECT_EQ(d[0].type, DetectorType::kBurnRate);
  EXPECT_DOUBLE_EQ(d[0].objective, 0.995);
  EXPECT_EQ(d[0].sli, Sli::kLatency);
  EXPECT_DOUBLE_EQ(d[0].latency_threshold_s, 0.3);
  ASSERT_EQ(d[0].pairs.size(), 3u);  // the Workbook's three
  EXPECT_DOUBLE_EQ(d[0].pairs[0].factor, 14.4);
  EXPECT_EQ(d[1].direction, Direction::kDrop);
  EXPECT_DOUBLE_EQ(d[1].min_change, 0.5);
  EXPECT_DOUBLE_EQ(d[2].min_change, 3);  // factor 4: three times the baseline above it
  EXPECT_DOUBLE_EQ(d[2].min_value, 0.2);
  EXPECT_EQ(d[3].no_data_after, 15 * 60 * kNanosPerSecond);
  EXPECT_EQ(d[4].direction, Direction::kBoth);
  EXPECT_FALSE(d[4].baseline.seasonality);
  EXPECT_EQ(d[4].baseline.learn_for, 2 * 3600 * kNanosPerSecond);
  ASSERT_EQ(d[5].pairs.size(), 1u);
  EXPECT_EQ(d[5].pairs[0].long_window, 2 * 3600 * kNanosPerSecond);
}

TEST(ConfigTest, DetectorTypeErrorsNameLineAndKey) {
  const std::string e = Errors(
      "detectors:\n"
      "  - name: a\n"
      "    type: traffic_drop\n"
      "    threshold: 3\n"          // a threshold key on a learned detector
      "  - name: b\n"
      "    type: burn_rate\n"         // no objective
      "    sli: latency\n"            // and no latency_threshold
      "  - name: c\n"
      "    type: baseline\n"
      "    metric: p99\n"
      "    direction: sideways\n"
      "  - name: d\n"
      "    type: burn_rate\n"
      "    objective: 99.9\n"
      "    pairs: [{long: 5m, short: 1h, factor: 2}]\n"
      "  - name: e\n"
      "    type: anomaly\n");
  EXPECT_NE(e.find("test.yaml:4: detectors[0].threshold: unknown key"), std::string::npos) << e;
  EXPECT_NE(e.find("test.yaml:5: detectors[1]: missing required key 'objective'"), std::string::npos) << e;
  EXPECT_NE(e.find("detectors[1]: missing required key 'latency_threshold' (sli: latency)"), std::string::npos) << e;
  EXPECT_NE(e.find("test.yaml:11: detectors[2].direction: must be rise, drop or both"), std::string::npos) << e;
  EXPECT_NE(e.find("detectors[3].pairs[0]: the short window must not be longer than the long one"), std::string::npos) << e;
  EXPECT_NE(e.find("test.yaml:17: detectors[4].type: unknown detector type 'anomaly'"), std::string::npos) << e;
}

TEST(ConfigTest, NewErrorTemplateDetector) {
  ConfigResult r = ParseConfigString(
      "detectors:\n"
      "  - {name: fresh, type: new_error_template, min_level: crit, learn_for: 6h,\n"
      "     max_templates: 50, labels: {team: db}}\n"
      "  - {name: plain, type: new_error_template}\n",
      "t.yaml");
  ASSERT_TRUE(r.ok()) << r.FormatErrors();
  const auto& d = r.config.detectors;
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].type, DetectorType::kNewErrorTemplate);
  EXPECT_EQ(d[0].min_level, LogLevel::kCrit);
  EXPECT_EQ(d[0].template_learn_for, 6 * 3600 * kNanosPerSecond);
  EXPECT_EQ(d[0].max_templates, 50u);
  // Defaults: error and worse, an hour of learning, a ticket that resolves an hour later.
  EXPECT_EQ(d[1].min_level, LogLevel::kError);
  EXPECT_EQ(d[1].template_learn_for, 3600 * kNanosPerSecond);
  EXPECT_EQ(d[1].max_templates, 1000u);
  EXPECT_EQ(d[1].severity, "ticket");
  EXPECT_EQ(d[1].keep_firing_for, 3600 * kNanosPerSecond);

  const std::string e = Errors(
      "detectors:\n"
      "  - name: a\n"
      "    type: new_error_template\n"
      "    for: 5m\n"             // every new template fires at once
      "    min_level: loud\n"
      "    max_templates: 0\n");
  EXPECT_NE(e.find("test.yaml:4: detectors[0].for: unknown key"), std::string::npos) << e;
  EXPECT_NE(e.find("test.yaml:5: detectors[0].min_level: must be a log level"), std::string::npos) << e;
  EXPECT_NE(e.find("test.yaml:6: detectors[0].max_templates"), std::string::npos) << e;
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

// Configs that cannot work are refused (they used to pass `check` and run wrong or blind).
TEST(ConfigTest, ADirectoryOrMissingFileIsRefusedWithTheReason) {
  ConfigResult dir = LoadConfig(SITEPULSE_SOURCE_DIR "/configs");
  EXPECT_NE(dir.FormatErrors().find("is a directory, not a config file"), std::string::npos)
      << dir.FormatErrors();
  ConfigResult missing = LoadConfig(SITEPULSE_SOURCE_DIR "/configs/no-such.yaml");
  EXPECT_NE(missing.FormatErrors().find("No such file or directory"), std::string::npos)
      << missing.FormatErrors();
}

TEST(ConfigTest, DuplicateKeysAreErrors) {
  const std::string e = Errors(
      "windows:\n  resolution: 10s\n  resolution: 20s\ndetectors:\n  - name: a\n    metric: p99\n"
      "    threshold: 1\n    threshold: 2\n");
  EXPECT_NE(e.find("test.yaml:3: windows.resolution: duplicate key"), std::string::npos) << e;
  EXPECT_NE(e.find("test.yaml:8: detectors[0].threshold: duplicate key"), std::string::npos) << e;
}

// A window that is not a whole number of buckets gave wrong rates (a steady 1 req/s read 2.00/s
// over 5 s and 0.80/s over 25 s with 10 s buckets): refused.
TEST(ConfigTest, WindowsMustBeMultiplesOfTheResolution) {
  const std::string e = Errors(
      "windows:\n  resolution: 10s\ndetectors:\n  - name: a\n    metric: request_rate\n"
      "    op: below\n    threshold: 0.9\n    window: 25s\n  - name: b\n    metric: request_rate\n"
      "    threshold: 5\n    window: 5s\n  - name: c\n    metric: request_rate\n    threshold: 5\n"
      "    window: 30s\n");
  EXPECT_NE(e.find("test.yaml:8: detectors[0].window: must be a whole multiple of windows.resolution"),
            std::string::npos) << e;
  EXPECT_NE(e.find("test.yaml:12: detectors[1].window: must be a whole multiple"), std::string::npos) << e;
  EXPECT_EQ(e.find("detectors[2]"), std::string::npos) << e;
  EXPECT_NE(Errors("windows:\n  resolution: 7s\n").find("windows.resolution: must divide the default"),
            std::string::npos);
}

// Every numeric field says what is wrong with a negative value, not just "bad".
TEST(ConfigTest, NegativeValuesSaySo) {
  const std::string e = Errors(
      "windows:\n  idle_timeout: -5s\nlimits:\n  max_sites: -3\n  max_line_bytes: -1\n"
      "detectors:\n  - name: a\n    metric: p99\n    threshold: -1\n    for: -1m\n"
      "    min_requests: -5\n");
  for (const char* want :
       {"test.yaml:2: windows.idle_timeout: must not be negative", "test.yaml:4: limits.max_sites: must not be negative",
        "test.yaml:5: limits.max_line_bytes: must not be negative",
        "test.yaml:9: detectors[0].threshold: must be between 0 and",
        "test.yaml:10: detectors[0].for: must not be negative",
        "test.yaml:11: detectors[0].min_requests: must not be negative"}) {
    EXPECT_NE(e.find(want), std::string::npos) << want << "\n" << e;
  }
}

TEST(ConfigTest, EventTimeAndLatenessRanges) {
  EXPECT_NE(Errors("windows:\n  lateness: -5s\n").find("windows.lateness"), std::string::npos);
  EXPECT_NE(Errors("event_time:\n  confirm_lines: 0\n").find("event_time.confirm_lines: must be between 1"),
            std::string::npos);
  EXPECT_NE(Errors("event_time:\n  max_jump: 0s\n").find("event_time.max_jump: must be at least 1s"),
            std::string::npos);
  ConfigResult r = ParseConfigString("event_time:\n  max_jump: 2h\n  confirm_lines: 4\n  max_clock_skew: 1m\n", "t");
  ASSERT_TRUE(r.ok()) << r.FormatErrors();
  EXPECT_EQ(r.config.max_jump, 7200 * kNanosPerSecond);
  EXPECT_EQ(r.config.confirm_lines, 4u);
  EXPECT_EQ(r.config.max_clock_skew, 60 * kNanosPerSecond);
}

}  // namespace
}  // namespace sitepulse

namespace sitepulse {
namespace {

// An output takes the options of its kind: a webhook secret on an Alertmanager output is a
// mistake (it would be ignored), and the error says what that kind takes.
TEST(ConfigTest, AnOutputTakesOnlyItsKindsOptions) {
  const ConfigResult r = ParseConfigString(
      "outputs:\n"
      "  - {uri: \"alertmanager+http://127.0.0.1:9093\", secret: s3cret}\n"
      "  - {uri: \"kafka://127.0.0.1:9092/anomalies\", generator_url: \"http://x\"}\n"
      "  - {uri: \"webhook+http://127.0.0.1:8080/hook\", secret: s3cret, timeout: 5s}\n",
      "test.yaml");
  ASSERT_FALSE(r.ok());
  const std::string e = r.FormatErrors();
  EXPECT_NE(e.find("test.yaml:2: outputs[0].secret: not an option of alertmanager outputs (they "
                   "take: labels, generator_url,"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("test.yaml:3: outputs[1].generator_url: not an option of kafka outputs (they "
                   "take only uri)"),
            std::string::npos)
      << e;
  EXPECT_EQ(e.find("outputs[2]"), std::string::npos) << e;
}

}  // namespace
}  // namespace sitepulse
