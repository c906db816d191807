// The two-stage wire format's decoder (core/partial_record.h: what stage 2 reads from a topic
// anyone can produce to). Invariants: a refused record gets a reason; a record that decodes
// encodes to exactly its own bytes (one encoding per value, so no two stage-1 outputs differ
// for the same partial) and decodes again to the same value. Then stage 2 reads it
// (PartialMerger into an engine with detectors, lateness 0): refused with a reason, or taken
// without a crash, the engine's close position never goes back, and every event is well formed.
// Seeds: SITEPULSE_FUZZ_WRITE_SEED=DIR ./partial_record_fuzz writes a bucket record (latency
// bins, a template) and a watermark record into DIR and exits.
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>

#include "core/partial_record.h"
#include "detect/partial_merger.h"
#include "fuzz/engine_drive.h"
#include "fuzz/fuzz_check.h"

using namespace sitepulse;

namespace {

template <typename T>
void RoundTrip(std::string_view record, const absl::StatusOr<T>& decoded,
               absl::StatusOr<T> (*decode)(std::string_view)) {
  if (!decoded.ok()) {
    FUZZ_CHECK(!decoded.status().message().empty(), "refused without a reason: %s",
               fuzz::Printable(record).c_str());
    return;
  }
  const std::string written = EncodePartial(*decoded);
  FUZZ_CHECK(written == record, "decoded, then encoded to other bytes:\n%s\n%s",
             fuzz::Printable(record).c_str(), fuzz::Printable(written).c_str());
  const absl::StatusOr<T> again = decode(written);
  FUZZ_CHECK(again.ok() && *again == *decoded, "its own encoding did not decode to itself: %s",
             fuzz::Printable(written).c_str());
}

// One stage-2 engine for a while (state builds up over inputs), replaced when it grows.
struct Stage2 {
  fuzz::CheckingListener checking;  // every event it sends well formed
  std::unique_ptr<WindowEngine> engine;
  std::unique_ptr<PartialMerger> merger;
  int inputs = 0;
  void Reset() {
    WindowEngineOptions o;
    o.lateness = 0;
    o.max_sites = 64;
    DetectorSpec p99;
    p99.name = "p99";
    p99.metric = Metric::kP99;
    p99.threshold = 0.5;
    p99.window = 60 * kNanosPerSecond;
    o.detectors.push_back(p99);
    engine = std::make_unique<WindowEngine>(o, &checking);
    merger = std::make_unique<PartialMerger>(engine.get());
    merger->AddSource(0);
    merger->AddSource(1);
    inputs = 0;
  }
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* dir = std::getenv("SITEPULSE_FUZZ_WRITE_SEED");
  if (dir == nullptr) return 0;
  PartialBucket b;
  b.site = "shop.example.com";
  b.bucket_start = 1735689600 * kNanosPerSecond;
  b.resolution = 10 * kNanosPerSecond;
  b.sketch_alpha = 0.01;
  b.counters.requests = 120;
  b.counters.errors_5xx = 3;
  b.counters.bytes = 61440;
  b.counters.log_lines[static_cast<int>(LogLevel::kError)] = 2;
  b.bins = {{-300, 4}, {-120, 90}, {-40, 20}, {12, 3}};
  b.zero_count = 1;
  b.templates = {{0x1234567890abcdefull, LogLevel::kError, b.bucket_start + 3 * kNanosPerSecond,
                  "connect() to <*> failed (<*>: Connection refused)",
                  "connect() to 10.0.0.7:5432 failed (111: Connection refused)"}};
  std::ofstream(std::string(dir) + "/bucket.bin", std::ios::binary) << EncodePartial(b);
  PartialWatermark w{"raw-logs", 3, 6, b.bucket_start + b.resolution, false, 2};
  std::ofstream(std::string(dir) + "/watermark.bin", std::ios::binary) << EncodePartial(w);
  std::exit(0);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view record(reinterpret_cast<const char*>(data), size);
  RoundTrip<PartialBucket>(record, DecodePartialBucket(record), &DecodePartialBucket);
  RoundTrip<PartialWatermark>(record, DecodePartialWatermark(record), &DecodePartialWatermark);
  static Stage2 stage2;
  if (stage2.engine == nullptr || ++stage2.inputs > 2000) stage2.Reset();
  const EventTime before = stage2.engine->closed_before();
  const absl::Status st = stage2.merger->Apply(static_cast<int>(size % 2), record, size % 2 == 0);
  FUZZ_CHECK(st.ok() || !st.message().empty(), "stage 2 refused without a reason: %s",
             fuzz::Printable(record).c_str());
  FUZZ_CHECK(stage2.engine->closed_before() >= before, "the close position went back: %s",
             fuzz::Printable(record).c_str());
  return 0;
}
