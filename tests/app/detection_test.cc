// Detection quality with the shipped configuration (configs/nginx.yaml) on generated traffic:
// four sites over four hours of event time, five incidents (latency regression, 5xx burst, slow
// error-budget burn, traffic drop, error-log spike) and three decoys (sub-minute latency blips).
// sitepulse must page on every incident within minutes and never page on a decoy. A sixth
// incident, a failure whose error message the site never logged before, must raise exactly one
// new_error_message ticket, and nothing else may. The recall, false pages and detection delays
// are printed (docs/detection.md quotes them).
#include <gtest/gtest.h>

#include <algorithm>

#include <cstdlib>
#include <filesystem>

#include <cstdio>
#include <string>
#include <vector>

#include "core/time.h"
#include "simdjson.h"
#include "tests/app/test_util.h"

namespace sitepulse {
namespace {

using testing::Lines;
using testing::ReadFile;
using testing::RunCommand;
using testing::TempDir;

const std::string kBin = SITEPULSE_BINARY;
const std::string kLoggen = SITEPULSE_LOGGEN;
// The scenario, also in docs/detection.md; the formats come from the test's parameter.
// SITEPULSE_DETECTION_SCENARIO replaces it (loggen arguments: a held-out scenario, five real
// incidents, run by hand as docs/detection.md says).
const std::string kDefaultScenario =
    "--sites 4 --rps 5 --duration 4h --seed 21 --base-5xx 0.0002 "
    "--incident blip,3,40m,40s --incident blip,1,70m,20s --incident latency,0,90m,12m "
    "--incident drop,3,110m,20m --incident errors,1,120m,8m --incident burn,2,140m,45m "
    "--incident error_spike,0,190m,6m --incident blip,2,210m,30s --incident new_error,2,160m,3m";

struct Incident {
  std::string kind, site;
  EventTime start = 0, end = 0;
  bool decoy = false;
};

struct Event {
  std::string site, detector, state, severity;
  EventTime at = 0;
  std::string summary;
};

std::string Str(simdjson::dom::element e, const char* key) {
  std::string_view v;
  EXPECT_EQ(e[key].get(v), simdjson::SUCCESS) << key;
  return std::string(v);
}

EventTime Time(std::string_view s) {
  EventTime t = 0;
  EXPECT_TRUE(ParseRfc3339(s, &t)) << s;
  return t;
}

// A shipped configuration over its own formats (access and error log).
struct Shipped {
  const char* config;        // configs/NAME.yaml
  const char* format;        // loggen --format, the config's access preset
  const char* error_preset;  // loggen --error-format and the error input's preset
  const char* new_message;   // what the new failure's ticket names (its masked message)
};

class DetectionTest : public ::testing::TestWithParam<Shipped> {};

TEST_P(DetectionTest, ShippedConfigPagesOnEveryIncidentAndNoDecoy) {
  const Shipped& shipped = GetParam();
  TempDir dir;
  const char* custom = std::getenv("SITEPULSE_DETECTION_SCENARIO");
  const std::string scenario = custom != nullptr ? custom : kDefaultScenario;
  auto gen = RunCommand(kLoggen + " " + scenario + " --format " + shipped.format +
                            " --error-format " + shipped.error_preset + " --out " +
                            dir / "access.log" + " --error-out " + dir / "error.log" +
                            " --truth " + dir / "truth.jsonl",
                        dir);
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  // The demo's config writes its stats and dead letters under build/demo, relative to where
  // it runs: here.
  std::filesystem::create_directories(dir / "build/demo");
  auto run = RunCommand("cd " + std::string(dir / "") + " && " + kBin + " run --config " + SITEPULSE_SOURCE_DIR + "/configs/" +
                            shipped.config + ".yaml --input file:" + dir / "access.log" +
                            " --input 'file:" + dir / "error.log" + "?kind=error&preset=" +
                            shipped.error_preset + "' --output file:" + dir / "anomalies.jsonl",
                        dir);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  // After four hours every learned baseline is warm (the summary reports those that are not).
  EXPECT_NE(run.err.find("\"baselines_warming\":0"), std::string::npos) << run.err;

  simdjson::dom::parser parser;
  std::vector<Incident> incidents;
  for (const std::string& line : Lines(ReadFile(dir / "truth.jsonl"))) {
    simdjson::dom::element e;
    ASSERT_EQ(parser.parse(line).get(e), simdjson::SUCCESS) << line;
    Incident in;
    in.kind = Str(e, "kind");
    in.site = Str(e, "site");
    in.start = Time(Str(e, "start"));
    in.end = Time(Str(e, "end"));
    EXPECT_EQ(e["decoy"].get(in.decoy), simdjson::SUCCESS);
    incidents.push_back(in);
  }
  if (custom == nullptr) ASSERT_EQ(incidents.size(), 9u);
  std::vector<Event> pages, new_messages;
  for (const std::string& line : Lines(ReadFile(dir / "anomalies.jsonl"))) {
    simdjson::dom::element e;
    ASSERT_EQ(parser.parse(line).get(e), simdjson::SUCCESS) << line;
    Event ev{Str(e, "site"), Str(e, "detector"),
             Str(e, "state"), Str(e, "severity"),
             Time(Str(e, "at")), Str(e, "summary")};
    if (ev.state == "firing" && ev.severity == "page") pages.push_back(ev);
    if (ev.state == "firing" && ev.detector == "new_error_message") new_messages.push_back(ev);
  }

  // Recall and delay: the first page for the incident's site after it starts.
  constexpr EventTime kMaxDelay = 25 * 60 * kNanosPerSecond;  // the slow burn takes longest
  int real = 0, detected = 0;
  std::vector<EventTime> delays;
  std::printf("%-12s %-20s %-22s %s\n", "incident", "site", "first page", "delay");
  for (const Incident& in : incidents) {
    if (in.decoy || in.kind == "new_error") continue;
    ++real;
    const Event* first = nullptr;
    for (const Event& p : pages) {
      if (p.site == in.site && p.at >= in.start && p.at <= in.start + kMaxDelay &&
          (first == nullptr || p.at < first->at)) {
        first = &p;
      }
    }
    EXPECT_NE(first, nullptr) << "no page for " << in.kind << " on " << in.site;
    if (first == nullptr) continue;
    ++detected;
    delays.push_back(first->at - in.start);
    std::printf("%-12s %-20s %-22s %llds\n", in.kind.c_str(), in.site.c_str(),
                first->detector.c_str(),
                static_cast<long long>((first->at - in.start) / kNanosPerSecond));
    // Issue #19: a slow burn (4% errors against a 0.1% budget) is paged, not only ticketed,
    // within 15 minutes of its start (the burn-rate detector's 15m/2m pair at 30x).
    if (in.kind == "burn") {
      EXPECT_LE(first->at - in.start, 15 * 60 * kNanosPerSecond)
          << "slow burn on " << in.site << " paged by " << first->detector << " only after "
          << (first->at - in.start) / kNanosPerSecond << " s";
    }
  }
  // False pages: any page not explained by a real incident on its site (from its start to ten
  // minutes after its end), decoys included.
  int false_pages = 0;
  for (const Event& p : pages) {
    bool explained = false;
    for (const Incident& in : incidents) {
      explained = explained || (!in.decoy && in.kind != "new_error" && in.site == p.site &&
                                p.at >= in.start && p.at <= in.end + 10 * 60 * kNanosPerSecond);
    }
    if (!explained) {
      ++false_pages;
      ADD_FAILURE() << "false page: " << p.detector << " on " << p.site << " at "
                    << FormatRfc3339(p.at);
    }
  }
  std::printf("recall %d/%d, false pages %d, pages %zu\n", detected, real, false_pages,
              pages.size());
  EXPECT_EQ(detected, 5);
  EXPECT_EQ(false_pages, 0);
  // Issue #19: the median delay to the first page is under 2 minutes (the five paged kinds; the
  // new message is a ticket, 10 s, and would only lower it).
  if (!delays.empty()) {
    std::sort(delays.begin(), delays.end());
    const EventTime median = delays[delays.size() / 2];
    std::printf("median delay %llds\n", static_cast<long long>(median / kNanosPerSecond));
    EXPECT_LT(median, 120 * kNanosPerSecond);
  }

  // The new failure: one ticket, on its site, at the close of the bucket it first appears in,
  // naming the masked message. The usual messages (an upstream timeout at every site, in bulk
  // during the error-log spike) were learned in the first hour and never raise one.
  const Incident& novel = incidents.back();
  ASSERT_EQ(novel.kind, "new_error");
  ASSERT_EQ(new_messages.size(), 1u);
  EXPECT_EQ(new_messages[0].site, novel.site);
  EXPECT_EQ(new_messages[0].severity, "ticket");
  EXPECT_GE(new_messages[0].at, novel.start);
  EXPECT_LE(new_messages[0].at, novel.start + 60 * kNanosPerSecond);
  EXPECT_NE(new_messages[0].summary.find(shipped.new_message), std::string::npos)
      << new_messages[0].summary;
  std::printf("new error message on %s: ticket after %llds\n", novel.site.c_str(),
              static_cast<long long>((new_messages[0].at - novel.start) / kNanosPerSecond));
}

INSTANTIATE_TEST_SUITE_P(
    Configs, DetectionTest,
    ::testing::Values(
        Shipped{"nginx", "nginx", "error_text",
                "connect() failed (<*>: Connection refused) while connecting to upstream"},
        Shipped{"caddy", "caddy", "caddy_error", "connect: connection refused"},
        // Envoy and ECS have no per-site error log of their own: a JSON error log of the
        // services behind them (json_error) is their companion.
        Shipped{"envoy", "envoy", "json_error", "failed (<*>: Connection refused)"},
        Shipped{"ecs", "ecs", "json_error", "failed (<*>: Connection refused)"},
        Shipped{"combined", "combined", "error_text",
                "connect() failed (<*>: Connection refused) while connecting to upstream"},
        // The demo's config (`make demo`), over the same scenario in nginx's formats.
        Shipped{"demo", "nginx", "error_text",
                "connect() failed (<*>: Connection refused) while connecting to upstream"}),
    [](const ::testing::TestParamInfo<Shipped>& info) { return std::string(info.param.config); });

}  // namespace
}  // namespace sitepulse
