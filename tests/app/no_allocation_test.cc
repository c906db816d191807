// The hot path allocates nothing per line once warm: a parse lane processing a batch, and the
// window engine applying its delta, make zero heap allocations the second time round. Counted by
// replacing the global operator new for this test binary only.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "app/parse_lane.h"
#include "detect/window_engine.h"
#include "ingest/format.h"

namespace {
std::atomic<bool> g_counting{false};
std::atomic<uint64_t> g_allocations{0};
}  // namespace

// This file replaces the global operator new and delete together (malloc/free underneath);
// GCC's mismatched-new-delete check cannot see that they pair.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(std::size_t n) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace sitepulse {
namespace {

struct NullListener : WindowEngineListener {
  void OnBucketClosed(const ClosedBucketView&) override {}
  void OnAnomaly(const Anomaly&) override {}
};

// A batch of `lines` nginx JSON lines over 3 sites, all in the same 10 s bucket, plus a few
// rejects (they are recorded in preallocated vectors too).
void FillBatch(Batch* b, int lines, int second) {
  b->ResetForReader();
  std::string text;
  for (int i = 0; i < lines; ++i) {
    if (i % 50 == 7) {
      text += "not json\n";
      continue;
    }
    text += "{\"time_iso8601\":\"2025-01-01T00:00:0" + std::to_string(second) +
            ".5Z\",\"host\":\"site" + std::to_string(i % 3) +
            ".example.com\",\"status\":\"" + (i % 10 == 0 ? "503" : "200") +
            "\",\"request_time\":\"0." + std::to_string(100 + i % 900) + "\",\"body_bytes_sent\":\"512\"}\n";
  }
  b->data.resize(text.size() + simdjson::SIMDJSON_PADDING);
  std::copy(text.begin(), text.end(), b->data.begin());
  b->size = text.size();
  b->input = 0;
}

TEST(NoAllocationTest, WarmLaneAndEngineAllocateNothingPerLine) {
  const std::vector<FormatSpec> formats = {*FormatFromPreset("nginx")};
  ParseLane lane(0, formats, ParseLane::Options{});
  NullListener listener;
  WindowEngineOptions eo;
  DetectorSpec spec;
  spec.name = "slow";
  spec.metric = Metric::kP99;
  spec.threshold = 0.5;
  spec.window = 60 * kNanosPerSecond;
  eo.detectors.push_back(spec);
  WindowEngine engine(eo, &listener);
  const int partition = engine.AddPartition();
  std::vector<uint32_t> site_of_lane;

  Batch batch;
  for (int round = 0; round < 3; ++round) {
    FillBatch(&batch, 5000, round);  // the same shape each round, a new second
    const bool measure = round == 2;  // rounds 0 and 1 warm every buffer and table
    g_allocations.store(0);
    g_counting.store(measure);
    lane.Process(&batch);
    g_counting.store(false);
    ASSERT_EQ(batch.lines, 5000u);
    ASSERT_EQ(batch.parsed, 4900u);
    if (measure) {
      EXPECT_EQ(g_allocations.load(), 0u) << "allocations in a warm lane over 5000 lines";
    }
    for (const std::string& name : batch.new_sites) site_of_lane.push_back(engine.InternSite(name));
    g_allocations.store(0);
    g_counting.store(measure);
    engine.Apply(batch.delta, site_of_lane, partition);
    g_counting.store(false);
    if (measure) {
      EXPECT_EQ(g_allocations.load(), 0u) << "allocations applying a warm delta";
    }
  }
}

}  // namespace
}  // namespace sitepulse
