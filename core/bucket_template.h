// An error-message template seen in one (site, bucket), as the window engine keeps it until the
// bucket closes and as a two-stage run carries it between the stages (core/partial_record.h).
//
// Which sighting a bucket keeps does not depend on the order lines arrive in, the number of
// lanes or how a two-stage run split the input: the earliest event time wins, then the lower
// ExampleRank of the example, then the lower bytes. So the new_error_template detector reports
// the same first bucket and the same example however the input was read.
//
// Threading: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "core/record.h"
#include "core/time.h"

namespace sitepulse {

struct BucketTemplate {
  uint64_t hash = 0;  // of the masked template (detect/error_template.h)
  LogLevel level = LogLevel::kError;
  EventTime first_seen = 0;  // event time of the sighting kept
  std::string text;          // the template, cut for events
  std::string example;       // the message of the sighting kept, cut the same way
  bool operator==(const BucketTemplate&) const = default;
};

// A deterministic 64-bit hash of an example (FNV-1a: the same in every process and build).
uint64_t ExampleRank(std::string_view example);

// Whether the sighting (time, rank, example) comes before the kept one (see above).
inline bool SightingBefore(EventTime t, uint64_t rank, std::string_view example, EventTime kept_t,
                           uint64_t kept_rank, std::string_view kept_example) {
  return std::tie(t, rank, example) < std::tie(kept_t, kept_rank, kept_example);
}

// Adds a sighting to a bucket's templates: a new (hash, level) is appended while fewer than
// `cap` are kept (false when it is not); a known one keeps the earlier sighting.
bool MergeTemplate(std::vector<BucketTemplate>* into, const BucketTemplate& t, size_t cap);

// The order a closing bucket hands its templates to the detectors in: by first sighting, then
// level, then hash.
void SortTemplates(std::vector<BucketTemplate>* templates);

}  // namespace sitepulse
