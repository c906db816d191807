#include "detect/window_engine.h"

#include <algorithm>

#include "core/strings.h"
#include "core/time.h"

namespace sitepulse {

struct WindowEngine::OpenBucket {
  EventTime start = 0;
  BucketCounters counters;
  DenseSketch latency;
};

struct WindowEngine::SiteDetector {
  const ThresholdSpec* spec = nullptr;
  size_t window = 0;  // index into window_lengths_
  AlertStateMachine machine;
  std::string incident_id;
};

struct WindowEngine::Site {
  std::string name;
  bool is_other = false;
  std::vector<std::unique_ptr<OpenBucket>> open;  // few: bounded by lateness / resolution + 2

  // What a window needs of a closed bucket, kept small: a quiet site holds a ring of these
  // for its longest window (90 for 15 minutes at 10 s), so bytes per site matter at 100k sites.
  struct ClosedCounters {
    uint32_t requests = 0;
    uint32_t errors_5xx = 0;
    uint32_t error_log_lines = 0;
  };
  struct WindowCounters {
    uint64_t requests = 0;
    uint64_t errors_5xx = 0;
    uint64_t error_log_lines = 0;
    void Add(const ClosedCounters& c) {
      requests += c.requests;
      errors_5xx += c.errors_5xx;
      error_log_lines += c.error_log_lines;
    }
    void Subtract(const ClosedCounters& c) {
      requests -= c.requests;
      errors_5xx -= c.errors_5xx;
      error_log_lines -= c.error_log_lines;
    }
  };
  // Ring of the last ring_capacity_ closed buckets, oldest overwritten first.
  struct Closed {
    ClosedCounters counters;
    CompactSketch latency;
  };
  std::vector<Closed> ring;
  size_t pushed = 0;  // buckets pushed so far
  EventTime first_start = INT64_MIN;

  // One running sum per distinct window length.
  struct Running {
    WindowCounters counters;
    DenseSketch latency;
  };
  std::vector<Running> windows;
  std::vector<SiteDetector> detectors;
};

WindowEngine::WindowEngine(WindowEngineOptions options, WindowEngineListener* listener)
    : options_(std::move(options)), listener_(listener), mapping_(options_.sketch_alpha) {
  auto note_spec = [this](const ThresholdSpec& s) {
    auto it = std::find(window_lengths_.begin(), window_lengths_.end(), s.window);
    if (it == window_lengths_.end()) {
      window_lengths_.push_back(s.window);
      window_needs_latency_.push_back(IsLatencyMetric(s.metric));
    } else if (IsLatencyMetric(s.metric)) {
      window_needs_latency_[static_cast<size_t>(it - window_lengths_.begin())] = true;
    }
    max_hold_ = std::max(max_hold_, s.window + s.keep_firing_for + s.for_duration);
  };
  for (const ThresholdSpec& s : options_.detectors) note_spec(s);
  for (const auto& [site, specs] : options_.site_detectors) {
    for (const ThresholdSpec& s : specs) note_spec(s);
  }
  for (DurationNs w : window_lengths_) {
    ring_capacity_ = std::max(
        ring_capacity_,
        static_cast<size_t>((w + options_.resolution - 1) / options_.resolution));
  }
}

WindowEngine::~WindowEngine() = default;

int WindowEngine::AddPartition() {
  partitions_.push_back({});
  return static_cast<int>(partitions_.size()) - 1;
}

WindowEngine::Site& WindowEngine::NewSite(std::string_view name) {
  auto site = std::make_unique<Site>();
  site->name = std::string(name);
  site->ring.resize(ring_capacity_);
  site->windows.resize(window_lengths_.size());
  const std::vector<ThresholdSpec>* specs = &options_.detectors;
  if (auto it = options_.site_detectors.find(site->name); it != options_.site_detectors.end()) {
    specs = &it->second;
  }
  for (const ThresholdSpec& s : *specs) {
    if (!s.enabled) continue;
    SiteDetector d;
    d.spec = &s;
    d.window = static_cast<size_t>(
        std::find(window_lengths_.begin(), window_lengths_.end(), s.window) -
        window_lengths_.begin());
    site->detectors.push_back(std::move(d));
  }
  sites_.push_back(std::move(site));
  return *sites_.back();
}

uint32_t WindowEngine::InternSite(std::string_view name) {
  if (auto it = site_ids_.find(ToAbsl(name)); it != site_ids_.end()) return it->second;
  if (sites_.size() - (other_site_ != UINT32_MAX ? 1 : 0) >= options_.max_sites ||
      name == kOtherSite) {
    ++sites_over_cap_;
    if (other_site_ == UINT32_MAX) {
      other_site_ = static_cast<uint32_t>(sites_.size());
      Site& other = NewSite(kOtherSite);
      other.is_other = true;
      other.detectors.clear();  // an aggregate of unknown sites pages nobody
    }
    return other_site_;
  }
  const auto id = static_cast<uint32_t>(sites_.size());
  NewSite(name);
  site_ids_.emplace(std::string(name), id);
  return id;
}

WindowEngine::OpenBucket* WindowEngine::FindOrOpen(Site& site, EventTime start) {
  for (const auto& b : site.open) {
    if (b->start == start) return b.get();
  }
  std::unique_ptr<OpenBucket> b;
  if (!free_buckets_.empty()) {
    b = std::move(free_buckets_.back());
    free_buckets_.pop_back();
  } else {
    b = std::make_unique<OpenBucket>();
  }
  b->start = start;
  site.open.push_back(std::move(b));
  ++open_starts_[start];
  return site.open.back().get();
}

void WindowEngine::Apply(const BucketDelta& delta, const std::vector<uint32_t>& site_of_lane,
                         int partition) {
  scratch_.assign(delta.entries.size(), nullptr);
  for (size_t i = 0; i < delta.entries.size(); ++i) {
    const DeltaEntry& e = delta.entries[i];
    if (closing_started_ && e.bucket_start < next_close_) {
      late_events_ += e.counters.events();
      continue;
    }
    Site& site = *sites_[site_of_lane[e.lane_site]];
    OpenBucket* b = FindOrOpen(site, e.bucket_start);
    b->counters.Add(e.counters);
    scratch_[i] = b;
  }
  for (const DeltaSample& s : delta.samples) {
    if (OpenBucket* b = scratch_[s.entry]) b->latency.Add(s.bin);
  }
  Partition& p = partitions_[static_cast<size_t>(partition)];
  p.max_time = std::max(p.max_time, delta.max_time);
  p.idle = false;
  watermark_ = ComputeWatermark();
  Advance();
}

void WindowEngine::EndPartition(int partition) {
  partitions_[static_cast<size_t>(partition)].ended = true;
  watermark_ = ComputeWatermark();
  Advance();
}

void WindowEngine::SetPartitionIdle(int partition, bool idle) {
  Partition& p = partitions_[static_cast<size_t>(partition)];
  if (p.idle == idle) return;
  p.idle = idle;
  watermark_ = ComputeWatermark();
  Advance();
}

void WindowEngine::ReopenPartition(int partition) {
  partitions_[static_cast<size_t>(partition)].ended = false;
  watermark_ = ComputeWatermark();
}

EventTime WindowEngine::ComputeWatermark() const {
  EventTime w = INT64_MAX;
  EventTime newest_idle = INT64_MIN;
  bool any_open = false, any_active = false;
  for (const Partition& p : partitions_) {
    if (p.ended) continue;
    any_open = true;
    if (p.idle) {
      if (p.max_time != INT64_MIN) newest_idle = std::max(newest_idle, p.max_time - options_.lateness);
      continue;
    }
    any_active = true;
    if (p.max_time == INT64_MIN) return INT64_MIN;  // silent partition holds everything back
    w = std::min(w, p.max_time - options_.lateness);
  }
  if (!any_open) return INT64_MAX;   // every input ended: close everything
  if (!any_active) return newest_idle;  // all idle: as far as anyone got
  return w;
}

void WindowEngine::Advance() {
  const DurationNs res = options_.resolution;
  while (true) {
    EventTime candidate = next_close_;
    if (!closing_started_) {
      if (open_starts_.empty()) return;
      candidate = open_starts_.begin()->first;
    }
    if (watermark_ == INT64_MAX) {
      // End of input: close through the newest open bucket, then stop.
      if (open_starts_.empty()) return;
    } else if (watermark_ == INT64_MIN || candidate + res > watermark_) {
      return;  // the bucket [candidate, candidate + res) may still receive events
    }
    if (!closing_started_) {
      next_close_ = candidate;
      closing_started_ = true;
    }
    // Skip a stretch where every window is empty and every alert has settled: evaluations there
    // cannot change anything.
    if (last_data_end_ != INT64_MIN && next_close_ - last_data_end_ >= max_hold_ + res) {
      EventTime target;
      if (!open_starts_.empty()) {
        target = open_starts_.begin()->first;
      } else if (watermark_ != INT64_MAX) {
        target = (watermark_ / res) * res - res;
      } else {
        return;
      }
      if (target > next_close_) {
        next_close_ = target;
        continue;
      }
    }
    CloseBucketsAt(next_close_);
    next_close_ += res;
  }
}

void WindowEngine::CloseBucketsAt(EventTime start) {
  const EventTime end = start + options_.resolution;
  for (auto& site : sites_) CloseSite(*site, start, end);
  open_starts_.erase(start);
}

void WindowEngine::CloseSite(Site& site, EventTime start, EventTime end) {
  std::unique_ptr<OpenBucket> bucket;
  for (size_t i = 0; i < site.open.size(); ++i) {
    if (site.open[i]->start == start) {
      bucket = std::move(site.open[i]);
      site.open[i] = std::move(site.open.back());
      site.open.pop_back();
      break;
    }
  }
  if (bucket == nullptr && site.pushed == 0) return;  // nothing yet: no history to slide

  if (bucket != nullptr) {
    last_data_end_ = std::max(last_data_end_, end);
    if (site.first_start == INT64_MIN) site.first_start = start;
    listener_->OnBucketClosed(
        {site.name, start, end, &bucket->counters, &bucket->latency, &mapping_});
  }

  // Slide every window by one bucket.
  const size_t slot = site.pushed % ring_capacity_;
  Site::Closed& incoming = site.ring[slot];
  // The slot about to be overwritten is the oldest bucket; windows shorter than the ring have
  // already let go of it (below), the longest lets go now.
  for (size_t w = 0; w < window_lengths_.size(); ++w) {
    const size_t len = static_cast<size_t>(window_lengths_[w] / options_.resolution);
    if (site.pushed >= len && len > 0) {
      const Site::Closed& leaving = site.ring[(site.pushed - len) % ring_capacity_];
      site.windows[w].counters.Subtract(leaving.counters);
      if (window_needs_latency_[w]) site.windows[w].latency.Subtract(leaving.latency);
    }
  }
  if (bucket != nullptr) {
    // A bucket over 4 billion requests saturates rather than wraps.
    auto clamp32 = [](uint64_t v) { return static_cast<uint32_t>(std::min<uint64_t>(v, UINT32_MAX)); };
    incoming.counters = {clamp32(bucket->counters.requests), clamp32(bucket->counters.errors_5xx),
                         clamp32(bucket->counters.error_log_lines())};
    bucket->latency.ToCompact(&incoming.latency);
  } else {
    incoming.counters = Site::ClosedCounters{};
    DenseSketch empty;
    empty.ToCompact(&incoming.latency);
  }
  ++site.pushed;
  for (size_t w = 0; w < window_lengths_.size(); ++w) {
    site.windows[w].counters.Add(incoming.counters);
    if (window_needs_latency_[w]) site.windows[w].latency.Merge(incoming.latency);
  }
  if (bucket != nullptr) {
    bucket->counters = BucketCounters{};
    bucket->latency.Clear();
    free_buckets_.push_back(std::move(bucket));
  }
  Evaluate(site, end);
}

void WindowEngine::Evaluate(Site& site, EventTime now) {
  for (SiteDetector& d : site.detectors) {
    const ThresholdSpec& spec = *d.spec;
    const Site::Running& win = site.windows[d.window];
    WindowView view;
    view.requests = win.counters.requests;
    view.errors_5xx = win.counters.errors_5xx;
    view.error_log_lines = win.counters.error_log_lines;
    const EventTime covered_from = std::max(site.first_start, now - spec.window);
    view.covered_s = static_cast<double>(now - covered_from) / 1e9;
    view.latency = &win.latency;
    view.mapping = &mapping_;
    const Evaluation e = EvaluateThreshold(spec, view);
    const AlertTransition t =
        d.machine.Step(e.evaluable && e.condition, now, {spec.for_duration, spec.keep_firing_for});
    if (t == AlertTransition::kNone) continue;
    Anomaly a;
    a.site = site.name;
    a.detector = spec.name;
    a.severity = spec.severity;
    a.metric = std::string(MetricName(spec.metric));
    a.value = e.value;
    a.threshold = spec.threshold;
    a.window_s = spec.window / kNanosPerSecond;
    a.at = now;
    a.labels = spec.labels;
    if (t == AlertTransition::kFire) {
      d.incident_id = MakeIncidentId(site.name, spec.name, d.machine.started_at());
      a.state = AlertState::kFiring;
      a.started_at = d.machine.started_at();
      a.summary = ThresholdSummary(spec, site.name, e.value, true);
    } else {
      a.state = AlertState::kResolved;
      a.started_at = d.machine.started_at();
      a.summary = ThresholdSummary(spec, site.name, e.value, false);
    }
    a.id = d.incident_id;
    listener_->OnAnomaly(a);
  }
}

}  // namespace sitepulse
