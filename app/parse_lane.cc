#include "app/parse_lane.h"

#include <cstring>

#include "core/strings.h"

#include "detect/window_engine.h"

namespace sitepulse {

ParseLane::ParseLane(int id, const std::vector<FormatSpec>& input_formats, const Options& options)
    : id_(id), options_(options), mapping_(options.sketch_alpha) {
  for (const FormatSpec& f : input_formats) parsers_.push_back(std::make_unique<LineParser>(f));
}

uint32_t ParseLane::InternSite(std::string_view name, Batch* batch) {
  if (auto it = sites_.find(ToAbsl(name)); it != sites_.end()) return it->second;
  // Past max_sites distinct names this lane has seen, a name cannot be among the first max_sites
  // of the whole input either: it goes to __other__ without being stored.
  if (sites_.size() >= options_.max_sites) {
    if (other_ == UINT32_MAX) {
      other_ = next_id_++;
      batch->new_sites.emplace_back(kOtherSite);
    }
    return other_;
  }
  const uint32_t id = next_id_++;
  sites_.emplace(std::string(name), id);
  batch->new_sites.emplace_back(name);
  return id;
}

void ParseLane::Process(Batch* batch) {
  batch->lane = id_;
  LineParser& parser = *parsers_[static_cast<size_t>(batch->input)];
  const char* const base = batch->data.data();
  const char* const buf_end = base + batch->data.size();
  const char* p = base;
  const char* const end = base + batch->size;
  const DurationNs res = options_.resolution;
  entries_.clear();
  uint64_t last_key = UINT64_MAX;
  uint32_t last_entry = 0;
  uint32_t line_index = 0;
  ParsedRecord rec;
  while (p < end) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    const size_t len = static_cast<size_t>((nl != nullptr ? nl : end) - p);
    ++batch->lines;
    RejectReason reason;
    if (len > options_.max_line_bytes) {
      reason = RejectReason::kLineTooLong;
    } else {
      reason = parser.Parse(p, len, static_cast<size_t>(buf_end - p), &rec);
    }
    if (reason != RejectReason::kCount) {
      ++batch->rejected_by_reason[static_cast<int>(reason)];
      batch->rejects.push_back({reason, line_index, static_cast<uint32_t>(p - base),
                                static_cast<uint32_t>(len)});
    } else {
      ++batch->parsed;
      const uint32_t site = InternSite(rec.site, batch);
      EventTime bucket = rec.time / res;
      if (rec.time % res < 0) --bucket;  // floor for times before 1970 (never plausible)
      const uint64_t key = (static_cast<uint64_t>(site) << 32) | static_cast<uint32_t>(bucket);
      if (key != last_key) {
        auto [it, inserted] =
            entries_.try_emplace(key, static_cast<uint32_t>(batch->delta.entries.size()));
        if (inserted) {
          DeltaEntry& e = batch->delta.entries.emplace_back();
          e.lane_site = site;
          e.bucket_start = bucket * res;
          e.counters = BucketCounters{};
        }
        last_key = key;
        last_entry = it->second;
      }
      batch->delta.entries[last_entry].counters.AddRecord(rec);
      if (rec.has_latency) batch->delta.samples.push_back({last_entry, mapping_.Bin(rec.latency_s)});
      if (rec.time > batch->delta.max_time) batch->delta.max_time = rec.time;
    }
    ++line_index;
    p += len + 1;
  }
}

}  // namespace sitepulse
