// A window engine built from a parsed configuration and driven with synthetic traffic (three
// sites; one gets slow, fails and logs new errors), for the targets that must show that what a
// configuration or a snapshot let in also runs: every detector constructed, evaluated at every
// bucket close, and every event it sends well formed.
#pragma once

#include <memory>
#include <string>

#include "app/config.h"
#include "app/run_options.h"
#include "core/anomaly.h"
#include "detect/window_engine.h"
#include "fuzz/fuzz_check.h"
#include "tests/detect/engine_test_util.h"

namespace sitepulse::fuzz {

struct CheckingListener : WindowEngineListener {
  void OnBucketClosed(const ClosedBucketView& b) override {
    FUZZ_CHECK(b.end > b.start, "a closed bucket ends before it starts");
  }
  void OnAnomaly(const Anomaly& a) override {
    FUZZ_CHECK(!a.site.empty() && !a.detector.empty() && !a.id.empty(), "an event without names");
    const std::string json = AnomalyToJson(a);
    const auto back = AnomalyFromJson(json);
    FUZZ_CHECK(back.ok(), "an event its readers refuse: %s: %s", json.c_str(),
               std::string(back.status().message()).c_str());
    ++events;
  }
  uint64_t events = 0;
};

// The engine `run` builds from `c` (app/run_options.h), with one input partition.
inline std::unique_ptr<WindowEngine> EngineFor(const Config& c, WindowEngineListener* listener) {
  auto engine = std::make_unique<WindowEngine>(EngineOptionsFrom(c), listener);
  engine->AddPartition();
  return engine;
}

// `buckets` buckets of traffic from `from`, then the end of input (every bucket closes).
inline void Drive(WindowEngine* engine, DurationNs resolution, EventTime from, int buckets,
                  bool end = true) {
  testing::Feeder feed(engine, {"a.example", "b.example", "c.example"}, resolution);
  for (int i = 0; i < buckets; ++i) {
    const EventTime t = from + i * resolution;
    const bool incident = i > buckets / 2;
    for (int k = 0; k < 12; ++k) {
      feed.Add(0, t + k, 200, 0.05);
      feed.Add(1, t + k, incident && k % 3 == 0 ? 503 : 200, incident ? 2.5 : 0.08);
    }
    if (i % 3 == 0) feed.Add(2, t, 200, 0.01);
    feed.AddErrorLine(1, t);
    if (incident) {
      feed.AddErrorMessage(1, t, "upstream timed out (110: Connection timed out) while reading " +
                                     std::to_string(i % 4));
    }
    feed.Flush();
  }
  if (end) engine->EndPartition(0);
}

}  // namespace sitepulse::fuzz
