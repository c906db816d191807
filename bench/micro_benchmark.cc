// Google Benchmark micro benchmarks of the hot-path pieces. Each checks its result before it
// times anything (a benchmark of wrong code is worthless) and reports items/s and bytes/s.
//   build/release/bench/micro_benchmark [--benchmark_filter=Json]
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "app/parse_lane.h"
#include "core/batch_queue.h"
#include "core/strings.h"
#include "detect/baseline_model.h"
#include "detect/evidence_scorer.h"
#include "detect/latency_sketch.h"
#include "detect/threshold_detector.h"
#include "detect/window_engine.h"
#include "ingest/line_parser.h"

namespace sitepulse {
namespace {

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "micro_benchmark: check failed: %s\n", what);
  std::abort();
}

std::string PresetLine(const std::string& preset, int i) {
  const std::string site = "site" + std::to_string(i % 50) + ".example.com";
  const std::string lat = "0." + std::to_string(100 + i % 900);
  if (preset == "nginx") {
    return "{\"time_iso8601\":\"2025-01-01T00:00:01.123Z\",\"remote_addr\":\"10.1.2.3\",\"host\":\"" + site +
           "\",\"request\":\"GET /api/v1/items?id=42 HTTP/1.1\",\"status\":\"200\",\"body_bytes_sent\":\"5120\","
           "\"request_time\":\"" + lat + "\",\"http_user_agent\":\"Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0\"}";
  }
  if (preset == "caddy") {
    return "{\"level\":\"info\",\"ts\":1735689601.123,\"logger\":\"http.log.access\",\"request\":{\"remote_ip\":"
           "\"10.1.2.3\",\"method\":\"GET\",\"host\":\"" + site + "\",\"uri\":\"/\"},\"duration\":" + lat +
           ",\"size\":5120,\"status\":200}";
  }
  if (preset == "envoy") {
    return "{\"start_time\":\"2025-01-01T00:00:01.123Z\",\"method\":\"GET\",\"path\":\"/\",\"response_code\":200,"
           "\"bytes_sent\":5120,\"duration\":" + std::to_string(100 + i % 900) + ",\"authority\":\"" + site + "\"}";
  }
  if (preset == "ecs") {
    return "{\"@timestamp\":\"2025-01-01T00:00:01.123Z\",\"event\":{\"duration\":" + std::to_string(100000000 + i) +
           "},\"url\":{\"domain\":\"" + site + "\"},\"http\":{\"response\":{\"status_code\":200,\"body\":{\"bytes\":5120}}}}";
  }
  // combined
  return site + ":443 10.1.2.3 - - [01/Jan/2025:00:00:01 +0000] \"GET /api/v1/items?id=42 HTTP/1.1\" 200 5120 \"-\" "
         "\"Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0\" " + lat;
}

void BM_ParseLine(benchmark::State& state, const std::string& preset) {
  FormatSpec f = *FormatFromPreset(preset);
  LineParser parser(f);
  std::vector<std::string> lines;
  size_t bytes = 0;
  for (int i = 0; i < 1000; ++i) {
    lines.push_back(PresetLine(preset, i));
    bytes += lines.back().size();
    lines.back().append(simdjson::SIMDJSON_PADDING, '\0');
  }
  ParsedRecord rec;
  for (size_t i = 0; i < lines.size(); ++i) {
    const size_t len = lines[i].size() - simdjson::SIMDJSON_PADDING;
    if (parser.Parse(lines[i].data(), len, lines[i].size(), &rec) != RejectReason::kCount ||
        rec.status != 200 || !rec.has_latency || rec.site.empty()) {
      Fail(("parse " + preset).c_str());
    }
  }
  for (auto _ : state) {
    for (const std::string& l : lines) {
      parser.Parse(l.data(), l.size() - simdjson::SIMDJSON_PADDING, l.size(), &rec);
      benchmark::DoNotOptimize(rec);
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(lines.size()));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes));
}
BENCHMARK_CAPTURE(BM_ParseLine, nginx, std::string("nginx"));
BENCHMARK_CAPTURE(BM_ParseLine, caddy, std::string("caddy"));
BENCHMARK_CAPTURE(BM_ParseLine, envoy, std::string("envoy"));
BENCHMARK_CAPTURE(BM_ParseLine, ecs, std::string("ecs"));
BENCHMARK_CAPTURE(BM_ParseLine, combined, std::string("combined"));

void BM_SketchInsert(benchmark::State& state) {
  const SketchMapping m(0.01);
  std::mt19937_64 rng(1);
  std::lognormal_distribution<double> d(std::log(0.05), 1.0);
  std::vector<double> values(4096);
  for (double& v : values) v = d(rng);
  DenseSketch s;
  for (double v : values) s.Add(m.Bin(v));
  if (s.count() != values.size()) Fail("sketch count");
  for (auto _ : state) {
    for (double v : values) s.Add(m.Bin(v));
  }
  benchmark::DoNotOptimize(s.count());
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(values.size()));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(values.size() * sizeof(double)));
}
BENCHMARK(BM_SketchInsert);

void BM_SketchMergeAndQuantile(benchmark::State& state) {
  const SketchMapping m(0.01);
  std::mt19937_64 rng(2);
  std::lognormal_distribution<double> d(std::log(0.05), 1.0);
  std::vector<CompactSketch> buckets(30);
  for (auto& c : buckets) {
    DenseSketch s;
    for (int i = 0; i < 200; ++i) s.Add(m.Bin(d(rng)));
    s.ToCompact(&c);
  }
  DenseSketch window;
  for (const auto& c : buckets) window.Merge(c);
  if (window.count() != 6000 || !(window.Quantile(m, 0.99) > 0)) Fail("merge");
  size_t i = 0;
  for (auto _ : state) {  // one window slide: subtract the oldest, add the newest, read p99
    window.Subtract(buckets[i % 30]);
    window.Merge(buckets[i % 30]);
    benchmark::DoNotOptimize(window.Quantile(m, 0.99));
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SketchMergeAndQuantile);

void BM_ThresholdEvaluate(benchmark::State& state) {
  const SketchMapping m(0.01);
  DenseSketch s;
  for (int i = 1; i <= 1000; ++i) s.Add(m.Bin(0.001 * i));
  DetectorSpec spec;
  spec.metric = Metric::kP99;
  spec.threshold = 0.5;
  WindowView w;
  w.requests = 1000;
  w.latency = &s;
  w.mapping = &m;
  if (!EvaluateThreshold(spec, w).condition) Fail("threshold");
  for (auto _ : state) benchmark::DoNotOptimize(EvaluateThreshold(spec, w));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ThresholdEvaluate);

// A lane over a batch, then the engine applying it and closing buckets: per-line cost of the
// fold, the merge, bucket close and the window update together.
void BM_LaneAndEngine(benchmark::State& state) {
  const std::vector<FormatSpec> formats = {*FormatFromPreset("nginx")};
  ParseLane lane(0, formats, ParseLane::Options{});
  struct Null : WindowEngineListener {
    void OnBucketClosed(const ClosedBucketView&) override {}
    void OnAnomaly(const Anomaly&) override {}
  } listener;
  WindowEngineOptions eo;
  DetectorSpec spec;
  spec.name = "p99";
  spec.metric = Metric::kP99;
  spec.threshold = 10;
  spec.window = 300 * kNanosPerSecond;
  eo.detectors.push_back(spec);
  WindowEngine engine(eo, &listener);
  const int partition = engine.AddPartition();
  std::vector<uint32_t> sites;
  Batch batch;
  std::string text;
  for (int i = 0; i < 4096; ++i) text += PresetLine("nginx", i) + "\n";
  int64_t second = 0;
  for (auto _ : state) {
    state.PauseTiming();
    batch.ResetForReader();
    // Move the timestamps forward so buckets keep closing (one 10 s bucket per 10 rounds).
    std::string t = text;
    const std::string stamp = FormatRfc3339((1735689600 + second++) * kNanosPerSecond);
    for (size_t pos = 0; (pos = t.find("2025-01-01T00:00:01.123Z", pos)) != std::string::npos; pos += 24) {
      t.replace(pos, 20, stamp.substr(0, 19) + ".");  // keep the length: 2025-...T..:..:..
    }
    batch.data.assign(t.begin(), t.end());
    batch.data.resize(t.size() + simdjson::SIMDJSON_PADDING);
    batch.size = t.size();
    state.ResumeTiming();
    lane.Process(&batch);
    for (const std::string& n : batch.new_sites) sites.push_back(engine.InternSite(n));
    engine.Apply(batch.delta, sites, partition);
    if (batch.parsed != 4096) Fail("lane");
  }
  state.SetItemsProcessed(state.iterations() * 4096);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_LaneAndEngine);

// The hand-off between stages: batches through a BatchQueue to another thread and back.
void BM_BatchHandoff(benchmark::State& state) {
  BatchQueue<int> to(64), back(64);
  int token = 1;
  std::thread echo([&] {
    while (int* p = to.Pop()) back.Push(p);
  });
  to.Push(&token);
  if (back.Pop() != &token) Fail("hand-off");
  for (auto _ : state) {
    to.Push(&token);
    benchmark::DoNotOptimize(back.Pop());
  }
  to.Push(nullptr);
  echo.join();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BatchHandoff)->UseRealTime();

// What a learned detector computes at one site's bucket close, over 10,000 sites visited in
// turn (each model cold in cache, as on the coordinator): the baseline's verdict alone
// (score: deviation, arg 0) or with the evidence `series` weighs (1: likelihood, 2: context).
void BM_LearnedBucketClose(benchmark::State& state) {
  const ScoreMode mode = static_cast<ScoreMode>(state.range(0));
  constexpr size_t kSites = 10000;
  BaselineOptions options;
  options.learn_for = 600 * kNanosPerSecond;
  options.min_samples = 10;
  DetectorSpec spec;
  std::vector<BaselineModel> models(kSites);
  std::vector<std::unique_ptr<EvidenceScorer>> evidence(kSites);
  if (mode != ScoreMode::kDeviation) {
    for (auto& e : evidence) e = std::make_unique<EvidenceScorer>(mode, spec.evidence);
  }
  std::mt19937 rng(1);
  auto value = [&rng] { return 0.1 + 0.01 * static_cast<double>(rng() % 1000) / 1000; };
  EventTime t = 0;
  size_t warm = 0;
  // An hour of buckets first: every model warm, every evidence with its long run.
  for (int b = 0; b < 360; ++b, t += 10 * kNanosPerSecond) {
    for (size_t s = 0; s < kSites; ++s) {
      const BaselineVerdict v = models[s].Observe(t, value(), options);
      if (evidence[s]) evidence[s]->Score(value(), v.warm, v.z);
      warm += b == 359 && v.warm;
    }
  }
  if (warm != kSites) Fail("learned bucket close: not warm after an hour");
  size_t s = 0;
  double sink = 0;
  for (auto _ : state) {
    const BaselineVerdict v = models[s].Observe(t, value(), options);
    sink += evidence[s] ? evidence[s]->Score(value(), v.warm, v.z) : v.z;
    if (++s == kSites) {
      s = 0;
      t += 10 * kNanosPerSecond;
    }
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(state.iterations());
  state.counters["bytes_per_site"] = static_cast<double>(
      models[0].MemoryBytes() + (evidence[0] ? evidence[0]->MemoryBytes() : 0));
}
BENCHMARK(BM_LearnedBucketClose)->Arg(0)->Arg(1)->Arg(2);

// Site interning as a lane does it: heterogeneous lookup of a string_view in a string map.
void BM_SiteIntern(benchmark::State& state) {
  absl::flat_hash_map<std::string, uint32_t> sites;
  std::vector<std::string> names;
  for (int i = 0; i < state.range(0); ++i) names.push_back(StrCat("site-", i, ".example.com"));
  for (size_t i = 0; i < names.size(); ++i) sites.emplace(names[i], static_cast<uint32_t>(i));
  if (sites.find(ToAbsl(std::string_view(names[7 % names.size()])))->second != 7 % names.size()) Fail("intern");
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(sites.find(ToAbsl(std::string_view(names[i++ % names.size()]))));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SiteIntern)->Arg(10)->Arg(10000)->Arg(100000);

}  // namespace
}  // namespace sitepulse

BENCHMARK_MAIN();
