#include "app/parse_lane.h"

#include <algorithm>
#include <cstring>
#include <tuple>

#include "core/bucket_template.h"
#include "core/strings.h"

#include "detect/error_template.h"
#include "detect/window_engine.h"

namespace sitepulse {

ParseLane::ParseLane(int id, const std::vector<FormatSpec>& input_formats, const Options& options)
    : id_(id), options_(options), mapping_(options.sketch_alpha) {
  for (const FormatSpec& f : input_formats) {
    parsers_.push_back(std::make_unique<LineParser>(f));
    default_sites_.push_back(f.default_site);
  }
}

uint32_t ParseLane::InternSite(std::string_view name, const char* buf, const char* buf_end,
                               Batch* batch) {
  const size_t n = name.size();
  if (n > 24) return InternSiteSlow(name, batch);
  // The name's bytes in three words, zero past its end: loaded straight from the line when the
  // buffer's padding makes the 24-byte read safe (a byte copy to the stack first would stall on
  // store forwarding), else copied (a default site name lives elsewhere).
  uint64_t w[3] = {0, 0, 0};
  if (name.data() >= buf && name.data() + 24 <= buf_end) {
    std::memcpy(w, name.data(), sizeof(w));
    for (size_t i = 0; i < 3; ++i) {
      const size_t have = n > 8 * i ? n - 8 * i : 0;
      if (have < 8) w[i] &= have == 0 ? 0 : (uint64_t{1} << (8 * have)) - 1;
    }
  } else {
    std::memcpy(w, name.data(), n);
  }
  const uint64_t h = (w[0] * 0x9E3779B97F4A7C15ull) ^ (w[1] * 0xC2B2AE3D27D4EB4Full) ^
                     (w[2] * 0x165667B19E3779F9ull) ^ n;
  SiteCacheEntry& e = site_cache_[(h >> 40) & (kSiteCacheSize - 1)];
  if (e.len == n && e.w[0] == w[0] && e.w[1] == w[1] && e.w[2] == w[2]) return e.id;
  const uint32_t id = InternSiteSlow(name, batch);
  // Names past the lane's table are not cached: their ids hold for one batch.
  if (id < kOverflowSite) e = {{w[0], w[1], w[2]}, static_cast<uint32_t>(n), id};
  return id;
}

uint32_t ParseLane::InternSiteSlow(std::string_view name, Batch* batch) {
  if (auto it = sites_.find(ToAbsl(name)); it != sites_.end()) return it->second;
  // Past max_sites distinct names the lane stores no more (memory stays bounded whatever the
  // flood): the name travels with the batch and the engine decides whether it earns a place.
  if (sites_.size() >= options_.max_sites) {
    if (auto it = overflow_.find(ToAbsl(name)); it != overflow_.end()) return it->second;
    const uint32_t id = kOverflowSite | static_cast<uint32_t>(batch->overflow_names.size());
    overflow_.emplace(std::string(name), id);
    batch->overflow_names.emplace_back(name);
    return id;
  }
  const uint32_t id = next_id_++;
  sites_.emplace(std::string(name), id);
  batch->new_sites.emplace_back(name);
  return id;
}

void ParseLane::Process(Batch* batch, TimeGate* gate, uint64_t line_base) {
  batch->lane = id_;
  if (options_.partials) return;
  gate_ = gate;
  line_base_ = line_base;
  batch_max_ = INT64_MIN;
  default_site_ = &default_sites_[static_cast<size_t>(batch->input)];
  LineParser& parser = *parsers_[static_cast<size_t>(batch->input)];
  entries_.clear();
  overflow_.clear();
  ++batch_serial_;
  last_key_ = UINT64_MAX;
  line_index_ = 0;
  if (!batch->messages.empty()) {
    ProcessMessages(batch, parser);
  } else {
    ProcessData(batch, parser);
  }
  if (gate_ != nullptr && batch->end_of_input) {
    gate_->Finish();
    DrainGate(batch, parser);
  }
  gate_ = nullptr;
  // For the warnings: requests folded, and how many of them had a latency (one sample each).
  for (const DeltaEntry& e : batch->delta.entries) batch->access_lines += e.counters.requests;
  batch->latency_lines = batch->delta.samples.size();
}

void ParseLane::ProcessData(Batch* batch, LineParser& parser) {
  const char* const base = batch->data.data();
  const char* const buf_end = base + batch->data.size();
  const char* p = base;
  const char* const end = base + batch->size;
  while (p < end) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    const size_t len = static_cast<size_t>((nl != nullptr ? nl : end) - p);
    HandleLine(batch, parser, p, len, static_cast<size_t>(buf_end - p),
               static_cast<uint32_t>(p - base), UINT32_MAX);
    p += len + 1;
  }
}

namespace {

// simdjson reads up to SIMDJSON_PADDING bytes past a line. Inside a Kafka message buffer that is
// safe when those bytes lie on the same memory page as the line's last byte (protection is per
// page); otherwise, and under AddressSanitizer (which checks allocations, not pages), the line
// is copied into a padded scratch buffer.
bool CanReadPastEnd(const char* line, size_t len) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  (void)line;
  (void)len;
  return false;
#else
  constexpr uintptr_t kPage = 4096;
  const auto last = reinterpret_cast<uintptr_t>(line) + (len == 0 ? 0 : len - 1);
  return last / kPage == (last + simdjson::SIMDJSON_PADDING) / kPage;
#endif
}

}  // namespace

void ParseLane::ProcessMessages(Batch* batch, LineParser& parser) {
  constexpr size_t kCheckpointEvery = 256;
  newest_bucket_ = INT64_MIN;
  for (size_t m = 0; m < batch->messages.size(); ++m) {
    const MessageView& msg = batch->messages[m];
    const char* p = msg.data;
    const char* const end = msg.data + msg.size;
    // A message is usually one line; several newline-separated lines are split. An empty
    // message is one empty line.
    do {
      const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
      const size_t len = static_cast<size_t>((nl != nullptr ? nl : end) - p);
      const auto offset = static_cast<uint32_t>(p - msg.data);
      if (CanReadPastEnd(p, len)) {
        HandleLine(batch, parser, p, len, len + simdjson::SIMDJSON_PADDING, offset,
                   static_cast<uint32_t>(m));
      } else {
        scratch_.assign(p, len);
        scratch_.append(simdjson::SIMDJSON_PADDING, '\0');
        HandleLine(batch, parser, scratch_.data(), len, scratch_.size(), offset,
                   static_cast<uint32_t>(m));
      }
      p += len + 1;
    } while (p < end);
    if ((m + 1) % kCheckpointEvery == 0 || m + 1 == batch->messages.size()) {
      batch->checkpoints.emplace_back(msg.offset + 1, newest_bucket_);
    }
  }
}

void ParseLane::Fold(Batch* batch, uint32_t site) {
  const DurationNs res = options_.resolution;
  // Lines come mostly in time order: reuse the last bucket rather than divide (about 40 cycles).
  EventTime bucket;
  if (rec_.time >= bucket_lo_ && rec_.time < bucket_lo_ + res) {
    bucket = bucket_;
  } else {
    bucket = rec_.time / res;
    if (rec_.time % res < 0) --bucket;  // floor for times before 1970 (never plausible)
    bucket_ = bucket;
    bucket_lo_ = bucket * res;
  }
  const uint64_t key = (static_cast<uint64_t>(site) << 32) | static_cast<uint32_t>(bucket);
  if (key != last_key_) {
    // Each site's entry for its latest bucket, tagged with the batch, answers most lines
    // without hashing; a site with lines in several buckets of one batch asks the map.
    SiteEntry overflow_entry;  // overflow names skip the per-site cache
    if (site < kOverflowSite && site >= site_entry_.size()) site_entry_.resize(site + 1);
    SiteEntry& se = site < kOverflowSite ? site_entry_[site] : overflow_entry;
    if (se.batch == batch_serial_ && se.bucket == bucket) {
      last_entry_ = se.entry;
    } else {
      auto [it, inserted] =
          entries_.try_emplace(key, static_cast<uint32_t>(batch->delta.entries.size()));
      if (inserted) {
        DeltaEntry& e = batch->delta.entries.emplace_back();
        e.lane_site = site;
        e.bucket_start = bucket * res;
        e.counters = BucketCounters{};
      }
      last_entry_ = it->second;
      se = {batch_serial_, bucket, last_entry_};
    }
    last_key_ = key;
  }
  batch->delta.entries[last_entry_].counters.AddRecord(rec_);
  newest_bucket_ = std::max(newest_bucket_, bucket * res);
  if (rec_.has_latency) {
    batch->delta.samples.push_back({last_entry_, mapping_.Bin(rec_.latency_s)});
  }
  if (rec_.time > batch->delta.max_time) batch->delta.max_time = rec_.time;
  if (options_.error_templates && rec_.kind == RecordKind::kError &&
      rec_.level >= options_.template_min_level && !rec_.message.empty()) {
    NoteTemplate(batch, site, bucket * res);
  }
}

void ParseLane::Take(Batch* batch, uint32_t site, bool late) {
  ++batch->parsed;
  batch->bad_bytes_fields += rec_.bad_bytes;
  batch->default_site_lines += !default_site_->empty() && rec_.site == *default_site_;
  if (late) {
    // Counted and dropped, its template too (as the engine drops a template whose bucket has
    // closed): a late line changes nothing but the late count.
    ++batch->delta.late_events;
    return;
  }
  Fold(batch, site);
}

void ParseLane::HandleLine(Batch* batch, LineParser& parser, const char* line, size_t len,
                           size_t capacity, uint32_t offset, uint32_t message) {
  ++batch->lines;
  RejectReason reason;
  if (len > options_.max_line_bytes) {
    reason = RejectReason::kLineTooLong;
  } else {
    reason = parser.Parse(line, len, capacity, &rec_);
  }
  // A live input's line from beyond the wall clock (a broken clock; an attacker's timestamp).
  if (reason == RejectReason::kCount && batch->wall_now != 0 &&
      rec_.time - batch->wall_now > options_.max_clock_skew) {
    reason = RejectReason::kFutureTime;
  }
  if (reason != RejectReason::kCount) {
    ++batch->rejected_by_reason[static_cast<int>(reason)];
    batch->rejects.push_back(
        {reason, line_index_++, offset, static_cast<uint32_t>(len), message});
    return;
  }
  ++line_index_;
  // A site exists from its first parsed line, whatever becomes of the line.
  const uint32_t site = InternSite(rec_.site, line, line + capacity, batch);
  if (gate_ != nullptr) {
    const TimeGate::Verdict v = gate_->Offer(rec_.time);
    if (v == TimeGate::Verdict::kHold) {
      HeldLine h;
      h.time = rec_.time;
      h.length = len;
      h.bytes.assign(line, len);
      h.bytes.append(simdjson::SIMDJSON_PADDING, '\0');
      if (message != UINT32_MAX) {
        h.offset = static_cast<uint64_t>(batch->messages[message].offset);
      } else {
        h.line = line_base_ + line_index_;
        h.offset = batch->input_offset + offset;
      }
      gate_->Hold(std::move(h));
    } else {
      Take(batch, site, v == TimeGate::Verdict::kLate);
    }
    DrainGate(batch, parser);
    return;
  }
  // No gate: judge against the batch's earlier lines; the coordinator judges the first line and
  // the entries against the input's history.
  bool late = false;
  if (batch->first_time == INT64_MIN) {
    batch->first_time = rec_.time;
  } else if (rec_.time > batch_max_ && rec_.time - batch_max_ > options_.max_jump) {
    batch->needs_gate = true;  // the coordinator runs the batch through the gate instead
  } else if (rec_.time < batch_max_ - options_.lateness) {
    // Only a line this far behind can be late: the division stays off the usual path.
    const DurationNs res = options_.resolution;
    EventTime start = rec_.time / res * res;
    if (rec_.time % res < 0) start -= res;
    late = start + res <= batch_max_ - options_.lateness;
  }
  if (!late && rec_.time > batch_max_) batch_max_ = rec_.time;
  Take(batch, site, late);
}

void ParseLane::DrainGate(Batch* batch, LineParser& parser) {
  for (HeldLine& h : gate_->rejected()) {
    ++batch->rejected_by_reason[static_cast<int>(RejectReason::kFutureTime)];
    h.bytes.resize(h.length);
    batch->owned_rejects.push_back({RejectReason::kFutureTime, h.line, h.offset, std::move(h.bytes)});
  }
  gate_->rejected().clear();
  if (gate_->released().empty()) return;
  std::vector<HeldLine> released = std::move(gate_->released());
  gate_->released().clear();
  for (HeldLine& h : released) {
    // It parsed when it was held: the same bytes parse the same way.
    if (parser.Parse(h.bytes.data(), h.length, h.bytes.size(), &rec_) != RejectReason::kCount) {
      continue;
    }
    const uint32_t site =
        InternSite(rec_.site, h.bytes.data(), h.bytes.data() + h.bytes.size(), batch);
    Take(batch, site, h.late);
  }
}

void ParseLane::NoteTemplate(Batch* batch, uint32_t site, EventTime bucket_start) {
  const uint64_t hash = MaskErrorTemplate(rec_.message, &template_);
  if (hash == 0) return;
  // One sighting per (site, level, template, bucket): the earliest (core/bucket_template.h). A
  // later line is sent again only if it comes before the one sent (out-of-order input), so the
  // bucket the engine closes keeps the same sighting however lines were split into batches and
  // lanes.
  const uint64_t key = hash ^ ((uint64_t{site} + 1) * 0x9E3779B97F4A7C15ull) ^
                       (static_cast<uint64_t>(rec_.level) << 56) ^
                       (static_cast<uint64_t>(bucket_start) * 0xC2B2AE3D27D4EB4Full);
  if (templates_sent_.size() >= kMaxTemplatesSent) templates_sent_.clear();
  auto it = templates_sent_.find(key);
  if (it != templates_sent_.end() && rec_.time > it->second.time) return;
  std::string example = ShortTemplateText(rec_.message);
  const uint64_t rank = ExampleRank(example);
  if (it == templates_sent_.end()) {
    templates_sent_.emplace(key, SentSighting{rec_.time, rank});
  } else if (std::tie(rec_.time, rank) < std::tie(it->second.time, it->second.rank)) {
    it->second = SentSighting{rec_.time, rank};
  } else {
    return;
  }
  batch->delta.templates.push_back({site, bucket_start, hash, rec_.level, rec_.time,
                                    ShortTemplateText(template_), std::move(example)});
}

}  // namespace sitepulse
