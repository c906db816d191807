// Reading several file inputs: each batch comes from the input furthest behind in event time
// (as the coordinator reports it), in turn among equals, so that an input starting days after
// another is not read days ahead of it (its buckets would all wait open for the slower one).
#include "app/pipeline_inputs.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "ingest/format.h"
#include "tests/app/test_util.h"

namespace sitepulse {
namespace {

TEST(PipelineInputsTest, TheNextBatchComesFromTheInputFurthestBehind) {
  testing::TempDir dir;
  PipelineOptions o;
  o.batch_bytes = 256;  // two lines a batch
  o.max_line_bytes = 200;
  auto format = FormatFromPreset("nginx");
  ASSERT_TRUE(format.ok());
  for (const std::string name : {"a.log", "b.log"}) {
    std::ofstream out(dir / name);
    for (int i = 0; i < 20; ++i) out << std::string(100, 'x') << "\n";
    auto uri = ParseUri("file:" + dir / name);
    ASSERT_TRUE(uri.ok());
    o.inputs.push_back({*uri, *format});
  }
  auto inputs = PipelineInputs::Open(o);
  ASSERT_TRUE(inputs.ok()) << inputs.status();
  BatchQueue<Batch> free(4);
  std::vector<Batch> pool(4);
  for (Batch& b : pool) free.Push(&b);
  auto next = [&] {
    Batch* b = (*inputs)->ReadNext(free, nullptr);
    EXPECT_NE(b, nullptr);
    const int input = b == nullptr ? -1 : b->input;
    if (b != nullptr) free.Push(b);
    return input;
  };
  // Nothing known of either: in turn.
  EXPECT_EQ(next(), 0);
  EXPECT_EQ(next(), 1);
  EXPECT_EQ(next(), 0);
  // b is five days ahead of a: a until it catches up, then in turn again.
  constexpr EventTime kDay = 86400 * kNanosPerSecond;
  (*inputs)->NoteProgress(0, 1 * kDay);
  (*inputs)->NoteProgress(1, 6 * kDay);
  for (int k = 0; k < 5; ++k) EXPECT_EQ(next(), 0) << k;
  (*inputs)->NoteProgress(0, 6 * kDay);
  const int after = next();
  EXPECT_EQ(next(), 1 - after);
  // b moves ahead again; a later report of an older time for it changes nothing (progress only
  // grows: taken, it would put b behind a).
  (*inputs)->NoteProgress(1, 8 * kDay);
  (*inputs)->NoteProgress(1, 2 * kDay);
  EXPECT_EQ(next(), 0);
  EXPECT_EQ(next(), 0);
}

}  // namespace
}  // namespace sitepulse
