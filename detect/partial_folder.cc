#include "detect/partial_folder.h"

#include <algorithm>
#include <utility>

namespace sitepulse {

PartialFolder::PartialFolder(DurationNs resolution, double sketch_alpha, Emit emit)
    : resolution_(resolution), sketch_alpha_(sketch_alpha), emit_(std::move(emit)) {}

void PartialFolder::OnBucketClosed(const ClosedBucketView& b) {
  PartialBucket& p = scratch_;
  p.site.assign(b.site);
  p.bucket_start = b.start;
  p.resolution = resolution_;
  p.sketch_alpha = sketch_alpha_;
  p.counters = *b.counters;
  p.bins.clear();
  b.latency->ForEachBin([&p](SketchBin bin, uint64_t n) { p.bins.emplace_back(bin, n); });
  p.zero_count = b.latency->zero_count();
  p.templates.clear();
  if (b.templates != nullptr) p.templates = *b.templates;
  std::string record = EncodePartial(p);
  ++records_;
  bytes_ += record.size();
  emit_(b.site, std::move(record));
}

EventTime PartialFolder::PublishedBefore(const WindowEngine& engine, EventTime resumed_from,
                                         bool ended) {
  // Before the first close nothing is published yet: stage 2 must wait (INT64_MIN holds it).
  return ended ? INT64_MAX : std::max(resumed_from, engine.closed_before());
}

PartialWatermark PartialFolder::Watermark(std::string topic, int partition, int partitions,
                                          EventTime published_before, bool idle, uint64_t late) {
  PartialWatermark w;
  w.topic = std::move(topic);
  w.partition = partition;
  w.partitions = partitions;
  w.watermark = published_before;
  w.idle = idle;
  w.late = late;
  return w;
}

}  // namespace sitepulse
