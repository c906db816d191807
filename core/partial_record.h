// The records of a two-stage run (issue #20, docs/kafka.md "Two stages"): a first stage folds any
// topic into mergeable per-(site, bucket) partials and publishes them keyed by site; a second
// stage merges them. This file is the wire format only, shared by both stages; neither stage is
// built yet.
//
// A record is binary: one version byte, one kind byte, then the kind's fields. Integers are
// LEB128 varints (signed ones zigzag-encoded), strings a varint length and their bytes. Every
// length and count is checked against a cap before anything is allocated, and a record with
// bytes left over, a field past its end or a version this build does not read is an error that
// says which, never a silent skip.
//
//   bucket:    site, bucket start (ns), resolution (ns), sketch alpha (the sketch's relative
//              accuracy, as the IEEE-754 bits of the double), the counters (requests, 4xx, 5xx,
//              bytes, error-log lines by level), the latency sketch as (bin, count) pairs in
//              increasing bin order (bins delta-encoded) plus the count below the smallest bin,
//              and the error templates seen in the bucket (hash, level, the time of the sighting
//              kept, template, example: core/bucket_template.h).
//   watermark: the stage-1 input partition (topic, partition, and how many partitions the
//              topic has), how far it has got (ns: every
//              bucket of that partition starting before it has been published), whether it is
//              idle (no data; stage 2 applies the same idle rule as a single instance), and the
//              lines it judged late since its previous watermark record.
//
// Threading: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/bucket_counters.h"
#include "core/bucket_template.h"
#include "core/record.h"
#include "core/sketch_bin.h"
#include "core/time.h"

namespace sitepulse {

inline constexpr uint8_t kPartialRecordVersion = 1;
// Caps a decoder enforces (a record within them is at most about 2.2 MB).
inline constexpr size_t kMaxPartialSiteBytes = 1024;
inline constexpr size_t kMaxPartialBins = 1 << 16;  // every int16 bin once
inline constexpr size_t kMaxPartialTemplates = 1024;
inline constexpr size_t kMaxPartialTextBytes = 4096;
inline constexpr size_t kMaxPartialTopicBytes = 1024;
inline constexpr int64_t kMaxPartialPartitions = 1 << 16;  // partitions of one stage-1 topic

enum class PartialKind : uint8_t { kBucket = 1, kWatermark = 2 };

struct PartialBucket {
  std::string site;
  EventTime bucket_start = 0;
  DurationNs resolution = 0;
  double sketch_alpha = 0;
  BucketCounters counters;
  std::vector<std::pair<SketchBin, uint64_t>> bins;  // increasing bin, counts > 0
  uint64_t zero_count = 0;                           // samples in kZeroBin
  std::vector<BucketTemplate> templates;
  bool operator==(const PartialBucket& o) const;
};

struct PartialWatermark {
  std::string topic;
  int32_t partition = 0;
  int32_t partitions = 1;  // how many the topic has (stage 2 waits for every one of them)
  EventTime watermark = 0;
  bool idle = false;
  uint64_t late = 0;  // lines of the partition judged late since its previous watermark record
  bool operator==(const PartialWatermark&) const = default;
};

std::string EncodePartial(const PartialBucket& b);
std::string EncodePartial(const PartialWatermark& w);

// The kind of an encoded record, or an error (empty, an unknown version or kind).
absl::StatusOr<PartialKind> PartialKindOf(std::string_view record);
absl::StatusOr<PartialBucket> DecodePartialBucket(std::string_view record);
absl::StatusOr<PartialWatermark> DecodePartialWatermark(std::string_view record);

}  // namespace sitepulse
