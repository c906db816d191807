// A live reload scenario shared by the file and the Kafka tests: an hour of three sites with a
// latency incident on shop (26m-34m) and a 5xx burst on api (40m-48m). Configuration A has a
// p99 threshold (`slow`) and an error-rate threshold too loose to fire (`errors` at 90%); B is A
// with `errors` at 5%. Reloaded from A to B at 00:30 (shop's alert firing, api quiet), a run
// must say: every `slow` event of A (unchanged: its firing alert carries over, no second page),
// and B's `errors` events after 00:30.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "tests/app/test_util.h"
#include "tests/integration/live_process.h"

namespace sitepulse::testing {

struct ReloadScenario {
  std::string log, before, after;     // the log, split at 00:30
  std::string detectors_a, detectors_b;  // the detectors: sections
  std::vector<std::string> expected;  // the events of a run reloaded from A to B at 00:30, sorted
  size_t lines_before = 0, lines_total = 0;
};

inline std::string Field(const std::string& event, const std::string& key) {
  const std::string k = "\"" + key + "\":\"";
  const size_t at = event.find(k);
  if (at == std::string::npos) return "";
  return event.substr(at + k.size(), event.find('"', at + k.size()) - at - k.size());
}

inline std::vector<std::string> SortedLines(const std::string& text) {
  std::vector<std::string> lines = Lines(text);
  std::sort(lines.begin(), lines.end());
  return lines;
}

// Generates the log and computes what a reloaded run must emit from two file runs, one per
// configuration, over the whole log.
inline ReloadScenario MakeReloadScenario(const TempDir& dir) {
  ReloadScenario s;
  auto gen = RunCommand(std::string(SITEPULSE_LOGGEN) +
                            " --format nginx --sites 3 --rps 5 --duration 60m --seed 11"
                            " --incident latency,0,26m,8m --incident errors,1,40m,8m --out " +
                            dir / "access.log",
                        dir);
  EXPECT_EQ(gen.exit_code, 0) << gen.err;
  s.log = ReadFile(dir / "access.log");
  std::tie(s.before, s.after) = SplitAtTime(s.log, "2025-01-01T00:30");
  s.lines_before = Lines(s.before).size();
  s.lines_total = Lines(s.log).size();
  s.detectors_a =
      "detectors:\n"
      "  - {name: slow, metric: p99, threshold: 0.5, window: 1m}\n"
      "  - {name: errors, metric: error_rate, threshold: 0.9, window: 2m}\n";
  s.detectors_b = s.detectors_a;
  s.detectors_b.replace(s.detectors_b.find("0.9"), 3, "0.05");
  std::vector<std::string> a, b;
  for (auto [detectors, out] : {std::pair{&s.detectors_a, &a}, std::pair{&s.detectors_b, &b}}) {
    const std::string name = out == &a ? "a" : "b";
    std::ofstream(dir / (name + ".yaml")) << "format: {preset: nginx}\n" << *detectors;
    auto run = RunCommand(std::string(SITEPULSE_BINARY) + " run --config " + dir / (name + ".yaml") +
                              " --input " + dir / "access.log" + " --output file:" +
                              dir / (name + ".jsonl"),
                          dir);
    EXPECT_EQ(run.exit_code, 0) << run.err;
    *out = Lines(ReadFile(dir / (name + ".jsonl")));
  }
  const std::string split = "2025-01-01T00:30";
  bool slow_spans_split = false;
  for (const std::string& e : a) {
    EXPECT_EQ(Field(e, "detector"), "slow") << "A's errors detector must never fire: " << e;
    s.expected.push_back(e);
    if (Field(e, "state") == "resolved" && Field(e, "at") > split &&
        Field(e, "started_at") < split) {
      slow_spans_split = true;
    }
  }
  EXPECT_TRUE(slow_spans_split) << "the scenario needs shop's alert firing at the reload";
  size_t b_errors = 0;
  for (const std::string& e : b) {
    if (Field(e, "detector") != "errors") continue;
    EXPECT_GT(Field(e, "started_at"), split) << "api must be quiet at the reload: " << e;
    s.expected.push_back(e);
    ++b_errors;
  }
  EXPECT_GE(b_errors, 2u) << "B must catch the 5xx burst";
  std::sort(s.expected.begin(), s.expected.end());
  return s;
}

}  // namespace sitepulse::testing
