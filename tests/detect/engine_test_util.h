// Test helpers for the window engine: a listener that records, and a feeder that builds deltas
// the way a parse lane does.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "detect/error_template.h"
#include "detect/window_engine.h"

namespace sitepulse {
namespace testing {

inline constexpr EventTime kS = kNanosPerSecond;
inline constexpr EventTime kMin = 60 * kS;
inline constexpr EventTime kHour = 60 * kMin;
inline constexpr EventTime kT0 = 1735689600 * kS;  // 2025-01-01T00:00:00Z, a multiple of 10 s

struct Recorder : WindowEngineListener {
  struct Bucket {
    std::string site;
    EventTime start, end;
    uint64_t count, errors;
    double p99;
  };
  void OnBucketClosed(const ClosedBucketView& b) override {
    buckets.push_back({std::string(b.site), b.start, b.end, b.counters->requests,
                       b.counters->errors_5xx, b.latency->Quantile(*b.mapping, 0.99)});
  }
  void OnAnomaly(const Anomaly& a) override { anomalies.push_back(a); }
  std::vector<Bucket> buckets;
  std::vector<Anomaly> anomalies;
};

// Builds deltas the way a parse lane does, with lane site ids = index in `sites`.
class Feeder {
 public:
  Feeder(WindowEngine* engine, std::vector<std::string> sites, DurationNs res = 10 * kS)
      : engine_(engine), res_(res), mapping_(0.01) {
    for (const std::string& s : sites) site_of_lane_.push_back(engine->InternSite(s));
  }
  void Add(int site, EventTime t, int status = 200, double latency = 0.05) {
    ParsedRecord r;
    r.status = static_cast<uint16_t>(status);
    const size_t i = Fold(site, t, r);
    delta_.samples.push_back({static_cast<uint32_t>(i), mapping_.Bin(latency)});
  }
  // An access line without a latency (a log format that has none).
  void AddWithoutLatency(int site, EventTime t, int status = 200) {
    ParsedRecord r;
    r.status = static_cast<uint16_t>(status);
    Fold(site, t, r);
  }
  // An error-log line of level error.
  void AddErrorLine(int site, EventTime t) {
    ParsedRecord r;
    r.kind = RecordKind::kError;
    r.level = LogLevel::kError;
    Fold(site, t, r);
  }
  // An error-log line with a message: folded, and its template sent the way a lane sends a
  // template it has not sent before (here every time: the engine must ignore what it knows).
  void AddErrorMessage(int site, EventTime t, std::string_view message,
                       LogLevel level = LogLevel::kError) {
    ParsedRecord r;
    r.kind = RecordKind::kError;
    r.level = level;
    Fold(site, t, r);
    std::string text;
    const uint64_t hash = MaskErrorTemplate(message, &text);
    delta_.templates.push_back({static_cast<uint32_t>(site), (t / res_) * res_, hash, level, t,
                                ShortTemplateText(text), ShortTemplateText(message)});
  }
  void Flush(int partition = 0) {
    engine_->Apply(delta_, site_of_lane_, partition);
    delta_.Clear();
  }

 private:
  // Folds a record into the delta's (site, bucket) entry; returns the entry's index.
  size_t Fold(int site, EventTime t, const ParsedRecord& r) {
    const EventTime bucket = (t / res_) * res_;
    size_t i = 0;
    while (i < delta_.entries.size() &&
           !(delta_.entries[i].lane_site == static_cast<uint32_t>(site) &&
             delta_.entries[i].bucket_start == bucket)) {
      ++i;
    }
    if (i == delta_.entries.size()) {
      delta_.entries.push_back({static_cast<uint32_t>(site), bucket, {}});
    }
    delta_.entries[i].counters.AddRecord(r);
    delta_.max_time = std::max(delta_.max_time, t);
    return i;
  }

  WindowEngine* engine_;
  DurationNs res_;
  SketchMapping mapping_;
  std::vector<uint32_t> site_of_lane_;
  BucketDelta delta_;
};

// A threshold above `threshold` on `metric` over `window`, firing at once (for 0, min 1 request).
inline DetectorSpec Spec(std::string name, Metric metric, double threshold, DurationNs window) {
  DetectorSpec spec;
  spec.name = std::move(name);
  spec.metric = metric;
  spec.threshold = threshold;
  spec.window = window;
  return spec;
}

inline WindowEngineOptions Options() {
  WindowEngineOptions o;
  o.resolution = 10 * kS;
  o.lateness = 30 * kS;
  return o;
}


}  // namespace testing
}  // namespace sitepulse
