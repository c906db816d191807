#include "detect/partial_merger.h"

#include "core/partial_record.h"
#include "core/strings.h"

namespace sitepulse {

void PartialMerger::AddSource(int source) {
  placeholders_.try_emplace(source, engine_->AddPartition());
}

void PartialMerger::RemoveSource(int source) {
  if (auto ph = placeholders_.find(source); ph != placeholders_.end()) {
    if (ph->second >= 0) engine_->EndPartition(ph->second);
    placeholders_.erase(ph);
  }
  for (auto it = partitions_.begin(); it != partitions_.end();) {
    if (std::get<0>(it->first) != source) {
      ++it;
      continue;
    }
    engine_->EndPartition(it->second);
    partitions_.erase(it++);
  }
  for (auto it = topics_.begin(); it != topics_.end();) {
    if (it->first.first == source) {
      topics_.erase(it++);
    } else {
      ++it;
    }
  }
}

absl::Status PartialMerger::Apply(int source, std::string_view record, bool count_late,
                                  EventTime* bucket_start) {
  if (bucket_start != nullptr) *bucket_start = INT64_MIN;
  absl::StatusOr<PartialKind> kind = PartialKindOf(record);
  if (!kind.ok()) return kind.status();
  if (*kind == PartialKind::kBucket) {
    absl::StatusOr<PartialBucket> b = DecodePartialBucket(record);
    if (!b.ok()) return b.status();
    if (absl::Status st = engine_->ApplyPartial(*b); !st.ok()) return st;
    if (bucket_start != nullptr) *bucket_start = b->bucket_start;
    ++buckets_;
    return absl::OkStatus();
  }
  absl::StatusOr<PartialWatermark> w = DecodePartialWatermark(record);
  if (!w.ok()) return w.status();
  auto [topic, inserted] = topics_.try_emplace(std::make_pair(source, w->topic), w->partitions);
  if (!inserted && topic->second != w->partitions) {
    // A topic that gained partitions: the new ones are registered (and hold buckets back until
    // they are heard from); a count that shrank cannot be true of Kafka.
    if (w->partitions < topic->second) {
      return absl::InvalidArgumentError(StrCat("partial watermark: topic ", w->topic, " has ",
                                               w->partitions, " partitions, earlier ", topic->second));
    }
  }
  for (int32_t p = inserted ? 0 : topic->second; p < w->partitions; ++p) {
    partitions_.emplace(std::make_tuple(source, w->topic, p), engine_->AddPartition());
  }
  topic->second = w->partitions;
  if (auto ph = placeholders_.find(source); ph != placeholders_.end() && ph->second >= 0) {
    engine_->EndPartition(ph->second);  // its topic's partitions hold the close from now on
    ph->second = -1;
  }
  ++watermarks_;
  if (count_late) engine_->AddLate(w->late);
  engine_->AdvancePartition(partitions_.at(std::make_tuple(source, w->topic, w->partition)),
                            w->watermark, w->idle);
  return absl::OkStatus();
}

}  // namespace sitepulse
