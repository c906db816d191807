// What replay keeps to draw its charts, bounded whatever the length of the input: per site the
// four metrics a chart can show, per (site, learned detector) its band, per (site, detector) its
// pending spans. A series holds one point per closed bucket until it has 2 x cap points; then
// neighbours merge pairwise (the maximum of each value, so a spike survives) and each point
// stands for twice as many buckets from then on. So a series never holds more than 2 x cap
// points: 1,000 sites over a day keep about 1,000 x 1,200 points, not 8.6 million.
//
// Threading: filled on the pipeline's coordinator thread, read after the run.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/time.h"

namespace sitepulse {

// The metrics of one closed bucket (or of several, merged: each value their maximum).
struct StatsPoint {
  EventTime start = 0;
  float p99 = -1;         // seconds; -1: no latency in the bucket
  float error_rate = -1;  // 5xx share; -1: no requests
  float request_rate = 0;     // per second
  float error_log_rate = 0;   // error-log lines per second
  void Merge(const StatsPoint& o) {
    p99 = std::max(p99, o.p99);
    error_rate = std::max(error_rate, o.error_rate);
    request_rate = std::max(request_rate, o.request_rate);
    error_log_rate = std::max(error_log_rate, o.error_log_rate);
  }
};

// A learned detector's baseline and the bound it fires past, at one bucket close.
struct BandPoint {
  EventTime start = 0;
  float expected = 0;
  float bound = 0;
  void Merge(const BandPoint& o) {
    expected = std::max(expected, o.expected);
    bound = std::max(bound, o.bound);
  }
};

template <typename Point>
class BoundedSeries {
 public:
  void Add(const Point& p, size_t cap) {
    if (!points_.empty() && in_last_ < group_) {
      points_.back().Merge(p);
      ++in_last_;
    } else {
      points_.push_back(p);
      in_last_ = 1;
    }
    if (points_.size() >= 2 * std::max<size_t>(cap, 1) && in_last_ == group_) {
      for (size_t i = 0; i < points_.size() / 2; ++i) {
        Point merged = points_[2 * i];
        merged.Merge(points_[2 * i + 1]);
        points_[i] = merged;
      }
      points_.resize(points_.size() / 2);
      group_ *= 2;
      in_last_ = group_;
    }
  }
  const std::vector<Point>& points() const { return points_; }
  uint32_t group() const { return group_; }  // buckets per point

 private:
  std::vector<Point> points_;
  uint32_t group_ = 1;
  uint32_t in_last_ = 0;
};

// One detector on one site: its band (learned kinds) and its pending spans.
struct DetectorTrace {
  static constexpr size_t kMaxPendingSpans = 500;
  BoundedSeries<BandPoint> band;
  std::vector<std::pair<EventTime, EventTime>> pending;  // [entered, left) pending
  uint64_t pending_not_kept = 0;  // spans past kMaxPendingSpans (a flapping detector)
  EventTime pending_since = INT64_MIN;
};

}  // namespace sitepulse
