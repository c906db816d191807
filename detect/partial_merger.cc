#include "detect/partial_merger.h"

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "core/partial_record.h"
#include "core/strings.h"

namespace sitepulse {

void PartialMerger::AddSource(int source) {
  if (placeholders_.contains(source)) return;
  placeholders_.emplace(source, engine_->AddPartition(StrCat("placeholder ", source)));
}

size_t PartialMerger::waiting() const {
  size_t n = 0;
  for (const auto& [source, id] : placeholders_) n += id >= 0;
  for (const auto& [key, id] : partitions_) {
    n += engine_->partition_max_time(id) == INT64_MIN && !engine_->partition_idle(id) &&
         !engine_->partition_ended(id);
  }
  return n;
}

void PartialMerger::Adopt() {
  for (size_t i = 0; i < engine_->partition_count(); ++i) {
    const int id = static_cast<int>(i);
    std::vector<std::string> f = absl::StrSplit(engine_->partition_key(id), ' ');
    int source = 0, partitions = 0, partition = 0;
    if (f.size() == 2 && f[0] == "placeholder" && absl::SimpleAtoi(f[1], &source)) {
      // Ended once its source's first watermark came (registered topics hold from then on).
      placeholders_[source] = engine_->partition_ended(id) ? -1 : id;
    } else if (f.size() == 5 && f[0] == "partials" && absl::SimpleAtoi(f[1], &source) &&
               absl::SimpleAtoi(f[3], &partitions) && absl::SimpleAtoi(f[4], &partition)) {
      partitions_[std::make_tuple(source, f[2], partition)] = id;
      int32_t& n = topics_[std::make_pair(source, f[2])];
      n = std::max(n, partitions);
    }
  }
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
  // A Kafka topic name (its watermarks are kept in snapshots under it).
  if (w->topic.empty() || w->topic.size() > 249 ||
      !std::all_of(w->topic.begin(), w->topic.end(), [](char c) {
        return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
      })) {
    return absl::InvalidArgumentError("partial watermark: the topic is not a Kafka topic name");
  }
  // Nothing published yet, ended, or a plausible event time: one damaged record must not close
  // every bucket of its partition.
  if (w->watermark != INT64_MIN && w->watermark != INT64_MAX && !IsPlausibleEventTime(w->watermark)) {
    return absl::InvalidArgumentError("partial watermark: its time is not plausible");
  }
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
    partitions_.emplace(std::make_tuple(source, w->topic, p),
                        engine_->AddPartition(StrCat("partials ", source, " ", w->topic, " ",
                                                     w->partitions, " ", p)));
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
