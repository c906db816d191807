// The two-stage merge is exact (issue #20): the lines of six hours, spread without keys over six
// stage-1 partitions folded by their own detector-less engines, published as partial records
// keyed by site over four partials partitions and merged by two stage-2 engines (each owning
// two of them) give the same anomaly events (ids, times, summaries) and the same per-bucket
// stats as one engine reading every line, whatever order the stages interleave in, and with each
// stage-2 engine restarted halfway from a snapshot.
#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "app/config.h"
#include "app/run_options.h"
#include "detect/partial_folder.h"
#include "detect/partial_merger.h"
#include "gtest/gtest.h"
#include "tests/detect/engine_test_util.h"

namespace sitepulse {
namespace {

using testing::Feeder;
using testing::kHour;
using testing::kMin;
using testing::kS;
using testing::kT0;
using testing::Recorder;

const std::vector<std::string> kSites = {"a.example", "b.example", "c.example", "d.example",
                                         "e.example"};

struct Event {
  int site;
  EventTime t;
  int status = 200;
  double latency = 0;
  std::string message;  // an error-log line when not empty
};

// Six hours of five sites with what the shipped detectors look for: a 5xx burst, a latency
// regression, a traffic drop, error lines with a new message, lines a few seconds out of order
// and a few minutes late.
std::vector<Event> Traffic() {
  std::mt19937_64 rng(20);
  std::lognormal_distribution<double> lat(std::log(0.05), 0.5);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<Event> out;
  for (EventTime t = kT0; t < kT0 + 6 * kHour; t += kS / 2) {
    const EventTime h = t - kT0;
    for (int s = 0; s < static_cast<int>(kSites.size()); ++s) {
      if (s == 3 && h >= 5 * kHour && h < 5 * kHour + 15 * kMin && u(rng) < 0.95) continue;
      Event e{s, t + static_cast<EventTime>(u(rng) * 4e8), 200, 0, {}};
      e.latency = lat(rng);
      if (s == 2 && h >= 4 * kHour + 30 * kMin && h < 4 * kHour + 40 * kMin) e.latency *= 5;
      const bool burst = s == 1 && h >= 4 * kHour && h < 4 * kHour + 10 * kMin;
      e.status = u(rng) < (burst ? 0.3 : 0.002) ? 503 : 200;
      if (u(rng) < 0.002) e.t -= 8 * kS;  // out of order, within lateness
      if (h > 10 * kMin && u(rng) < 0.0005) e.t -= 5 * kMin;  // late everywhere
      out.push_back(e);
    }
    if (u(rng) < 0.02) {
      Event e{4, t, 200, 0, {}};
      e.message = u(rng) < 0.5 ? "upstream timed out (110: Connection timed out) while reading"
                               : "open() \"/srv/x" + std::to_string(static_cast<int>(u(rng) * 100)) +
                                     ".png\" failed (2: No such file or directory)";
      if (h > 3 * kHour + 30 * kMin && h < 3 * kHour + 32 * kMin) {
        e.message = "connect() to 10.0.0." + std::to_string(static_cast<int>(u(rng) * 9)) +
                    ":5432 failed (111: Connection refused)";
      }
      out.push_back(e);
    }
  }
  return out;
}

void Add(Feeder& f, const Event& e) {
  if (e.message.empty()) {
    f.Add(e.site, e.t, e.status, e.latency);
  } else {
    f.AddErrorMessage(e.site, e.t, e.message);
  }
}

WindowEngineOptions Options(bool detectors) {
  ConfigResult c = LoadConfig(SITEPULSE_SOURCE_DIR "/configs/nginx.yaml");
  EXPECT_TRUE(c.ok()) << c.FormatErrors();
  WindowEngineOptions o = EngineOptionsFrom(c.config);
  if (!detectors) {
    o.detectors.clear();
    o.site_detectors.clear();
  }
  return o;
}

using Row = std::tuple<EventTime, std::string, int, std::string, EventTime, std::string>;
std::vector<Row> Rows(const std::vector<Anomaly>& as) {
  std::vector<Row> rows;
  for (const Anomaly& a : as) {
    rows.emplace_back(a.at, a.id, static_cast<int>(a.state), a.site, a.started_at, a.summary);
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}
using Stat = std::tuple<std::string, EventTime, uint64_t, uint64_t, double>;
std::vector<Stat> Stats(const std::vector<Recorder::Bucket>& bs) {
  std::vector<Stat> rows;
  for (const auto& b : bs) rows.emplace_back(b.site, b.start, b.count, b.errors, b.p99);
  std::sort(rows.begin(), rows.end());
  return rows;
}

TEST(TwoStageTest, PartialsMergedInTwoStagesEqualOneEngineReadingEveryLine) {
  const std::vector<Event> events = Traffic();
  // One engine, every line, in batches of 100.
  Recorder single;
  uint64_t single_late = 0;
  {
    WindowEngine engine(Options(true), &single);
    const int p = engine.AddPartition();
    Feeder f(&engine, kSites);
    for (size_t i = 0; i < events.size(); ++i) {
      Add(f, events[i]);
      if (i % 100 == 99) f.Flush(p);
    }
    f.Flush(p);
    engine.EndPartition(p);
    single_late = engine.late_events();
  }
  ASSERT_GE(Rows(single.anomalies).size(), 4u) << "the scenario pages nothing: the test proves little";
  ASSERT_GT(single_late, 0u);

  for (uint64_t seed : {1, 2, 3}) {
    SCOPED_TRACE(seed);
    std::mt19937_64 rng(seed);
    // Stage 1: lines without keys, round robin over six partitions, each folded by its engine.
    constexpr int kRaw = 6, kPartials = 4;
    std::vector<std::vector<std::string>> topic(kPartials);  // the partials topic
    std::vector<std::unique_ptr<PartialFolder>> folders;
    std::vector<std::unique_ptr<WindowEngine>> engines;
    std::vector<std::unique_ptr<Feeder>> feeders;
    for (int r = 0; r < kRaw; ++r) {
      folders.push_back(std::make_unique<PartialFolder>(
          10 * kS, 0.01, [&topic](std::string_view site, std::string record) {
            topic[std::hash<std::string_view>()(site) % kPartials].push_back(std::move(record));
          }));
      WindowEngineOptions o = Options(false);
      engines.push_back(std::make_unique<WindowEngine>(o, folders.back().get()));
      engines.back()->AddPartition();
      feeders.push_back(std::make_unique<Feeder>(engines.back().get(), kSites));
    }
    std::vector<std::vector<Event>> raw(kRaw);
    for (size_t i = 0; i < events.size(); ++i) raw[i % kRaw].push_back(events[i]);
    std::vector<size_t> next(kRaw, 0);
    std::vector<uint64_t> late_sent(kRaw, 0);
    auto watermark = [&](int r, bool ended) {
      const uint64_t late = engines[r]->late_events();
      const std::string w = EncodePartial(PartialFolder::Watermark(
          "raw", r, kRaw, PartialFolder::PublishedBefore(*engines[r], INT64_MIN, ended), false,
          late - late_sent[r]));
      late_sent[r] = late;
      for (auto& part : topic) part.push_back(w);
    };
    for (int left = kRaw; left > 0;) {
      const int r = static_cast<int>(rng() % kRaw);
      if (next[r] == raw[r].size()) continue;
      const size_t n = 1 + rng() % 300;
      for (size_t k = 0; k < n && next[r] < raw[r].size(); ++k) Add(*feeders[r], raw[r][next[r]++]);
      feeders[r]->Flush(0);
      if (next[r] == raw[r].size()) {
        engines[r]->EndPartition(0);
        --left;
      }
      watermark(r, next[r] == raw[r].size());
    }
    // Stage 2: two engines, each reading two partials partitions, interleaved at random.
    Recorder merged;
    uint64_t merged_late = 0;
    for (int inst = 0; inst < 2; ++inst) {
      WindowEngineOptions o = Options(true);
      o.lateness = 0;
      auto engine = std::make_unique<WindowEngine>(o, &merged);
      auto merger = std::make_unique<PartialMerger>(engine.get());
      std::vector<int> mine = {2 * inst, 2 * inst + 1};
      for (int part : mine) merger->AddSource(part);
      std::map<int, size_t> pos;
      size_t applied = 0;
      bool restarted = false;
      const size_t total = topic[mine[0]].size() + topic[mine[1]].size();
      while (pos[mine[0]] < topic[mine[0]].size() || pos[mine[1]] < topic[mine[1]].size()) {
        const int part = mine[rng() % 2];
        for (size_t k = 0, n = 1 + rng() % 50; k < n && pos[part] < topic[part].size(); ++k) {
          const absl::Status st = merger->Apply(part, topic[part][pos[part]++], part == 0);
          ASSERT_TRUE(st.ok()) << st;
          ++applied;
        }
        if (!restarted && applied > total / 2) {
          // A restart halfway, from a snapshot (open buckets included): the stage-1 watermarks
          // come back with the engine's keyed partitions.
          restarted = true;
          const std::string state = engine->SaveState(/*include_open=*/true);
          engine = std::make_unique<WindowEngine>(o, &merged);
          const absl::Status loaded = engine->LoadState(state);
          ASSERT_TRUE(loaded.ok()) << loaded.message();
          merger = std::make_unique<PartialMerger>(engine.get());
          merger->Adopt();
          for (int p : mine) merger->AddSource(p);
        }
      }
      EXPECT_TRUE(restarted);
      EXPECT_EQ(merger->partitions(), static_cast<size_t>(2 * kRaw));
      merged_late += engine->late_events();
    }
    EXPECT_EQ(Rows(merged.anomalies), Rows(single.anomalies));
    EXPECT_EQ(Stats(merged.buckets), Stats(single.buckets));
    EXPECT_EQ(merged_late, single_late);
  }
}

// One damaged watermark record changes nothing but its own fate: a time past any plausible
// event time (it would close every bucket of its partition at once) or a topic Kafka would not
// name is refused with a reason, and the buckets stay open.
TEST(TwoStageTest, ADamagedWatermarkIsRefusedAndClosesNothing) {
  WindowEngineOptions o = Options(true);
  o.lateness = 0;
  Recorder rec;
  WindowEngine engine(o, &rec);
  PartialMerger merger(&engine);
  merger.AddSource(0);
  PartialBucket b;
  b.site = "a.example";
  b.bucket_start = kT0;
  b.resolution = 10 * kS;
  b.sketch_alpha = 0.01;
  b.counters.requests = 5;
  ASSERT_TRUE(merger.Apply(0, EncodePartial(b), true).ok());
  const EventTime year_2210 = 7573651200LL * kS;  // past 2200, within int64 nanoseconds
  absl::Status far = merger.Apply(
      0, EncodePartial(PartialFolder::Watermark("raw", 0, 1, year_2210, false, 0)), true);
  EXPECT_FALSE(far.ok());
  EXPECT_NE(far.message().find("not plausible"), std::string::npos) << far;
  absl::Status topic = merger.Apply(
      0, EncodePartial(PartialFolder::Watermark("raw logs", 0, 1, kT0 + kHour, false, 0)), true);
  EXPECT_FALSE(topic.ok());
  EXPECT_EQ(engine.closed_before(), INT64_MIN);
  EXPECT_TRUE(rec.buckets.empty());
  // The same record with a sound time closes the bucket.
  ASSERT_TRUE(merger.Apply(0, EncodePartial(PartialFolder::Watermark("raw", 0, 1, kT0 + kHour, false, 0)), true).ok());
  ASSERT_EQ(rec.buckets.size(), 1u);
  EXPECT_EQ(rec.buckets[0].count, 5u);
}

}  // namespace
}  // namespace sitepulse
