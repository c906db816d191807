// What one parse lane hands to the window engine for one input batch: the batch's records folded
// into per-(site, bucket) counters, plus one sketch bin per latency sample. Sites are the lane's
// own ids (the app maps them to engine ids). Reused across batches, so steady state allocates
// nothing.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/bucket_counters.h"
#include "core/time.h"
#include "core/sketch_bin.h"

namespace sitepulse {

struct DeltaEntry {
  uint32_t lane_site = 0;
  EventTime bucket_start = 0;
  BucketCounters counters;
};

struct DeltaSample {
  uint32_t entry = 0;  // index into BucketDelta::entries
  SketchBin bin = 0;
};

// An error-message template a lane saw in a bucket (for that site and level): the engine keeps
// the bucket's earliest sighting and, when the bucket closes, the new_error_template detector
// decides whether the site knew it. Rare: a lane sends each (site, level, template, bucket) once
// (again only for an earlier line).
struct DeltaTemplate {
  uint32_t lane_site = 0;
  EventTime bucket_start = 0;
  uint64_t hash = 0;
  LogLevel level = LogLevel::kError;
  EventTime first_seen = 0;  // the event time of the sighting (core/bucket_template.h)
  std::string text;     // the template, cut to kMaxTemplateTextBytes
  std::string example;  // the message of the sighting, cut the same way
};

struct BucketDelta {
  std::vector<DeltaEntry> entries;  // in order of first appearance in the batch
  std::vector<DeltaSample> samples;
  std::vector<DeltaTemplate> templates;  // in input order
  EventTime max_time = std::numeric_limits<EventTime>::min();  // of accepted records
  uint64_t late_events = 0;  // lines the lane judged late (not folded)

  // Whether the batch carried input with an event time (accepted or late): a batch whose lines
  // were all rejected did not, and does not make its partition active (never idle).
  bool carries_events() const {
    return max_time != std::numeric_limits<EventTime>::min() || late_events > 0 || !entries.empty();
  }

  void Clear() {
    late_events = 0;
    entries.clear();
    samples.clear();
    templates.clear();
    max_time = std::numeric_limits<EventTime>::min();
  }
};

}  // namespace sitepulse
