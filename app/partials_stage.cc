#include "app/partials_stage.h"

#include <cstdlib>

#include "absl/strings/numbers.h"
#include "core/log.h"
#include "core/strings.h"

namespace sitepulse {

namespace {
constexpr std::string_view kMetadataPrefix = "sitepulse-partials 1 ";
}  // namespace

PartialsStage::PartialsStage(PartialsProducer* producer, KafkaSource* kafka, DurationNs resolution,
                             double sketch_alpha, MetricsRegistry* metrics)
    : producer_(producer),
      kafka_(kafka),
      folder_(resolution, sketch_alpha, [producer](std::string_view site, std::string record) {
        producer->Produce(site, record);
      }) {
  records_ = metrics->GetGauge("sitepulse_partials_records",
                               "Stage 1: partial and watermark records produced (two-stage runs)");
  bytes_ = metrics->GetGauge("sitepulse_partials_bytes", "Stage 1: bytes of the records produced");
  transactions_ = metrics->GetGauge("sitepulse_partials_transactions",
                                    "Stage 1: Kafka transactions committed (records and offsets)");
}

std::string PartialsStage::Metadata(EventTime published_before) {
  return StrCat(kMetadataPrefix, published_before);
}

EventTime PartialsStage::ParseMetadata(std::string_view metadata) {
  if (!metadata.starts_with(kMetadataPrefix)) return INT64_MIN;
  metadata.remove_prefix(kMetadataPrefix.size());
  int64_t v = 0;
  return absl::SimpleAtoi(absl::string_view(metadata.data(), metadata.size()), &v) ? v : INT64_MIN;
}

void PartialsStage::OnAssigned(EngineSet* engines, const Batch& b) {
  Part& p = parts_[b.partition];
  p = Part{};
  p.published_before = ParseMetadata(b.commit_metadata);
  if (p.published_before != INT64_MIN) {
    engines->SkipPublishedBefore(b.partition, p.published_before);
    SP_LOG(kInfo, "partials", "%s: its buckets before %s are published; their lines are skipped",
           kafka_->PartitionName(b.partition).c_str(), FormatRfc3339(p.published_before).c_str());
  }
}

void PartialsStage::OnData(const Batch& b) {
  auto it = parts_.find(b.partition);
  if (it == parts_.end() || it->second.offset >= 0 || b.messages.empty()) return;
  it->second.offset = b.messages.front().offset;
}

void PartialsStage::OnLost(int pid) {
  SP_LOG(kError, "partials",
         "%s was lost without a hand-over: exiting so that the open transaction is aborted and "
         "every partition is read again from its commit (restart this instance)",
         kafka_->PartitionName(pid).c_str());
  std::_Exit(2);
}

int PartialsStage::PartitionsOf(const std::string& topic) {
  auto it = topic_partitions_.find(topic);
  if (it != topic_partitions_.end()) return it->second;
  absl::StatusOr<int> n = producer_->PartitionsOf(topic);
  if (!n.ok()) {
    SP_LOG(kError, "partials", "%s", std::string(n.status().message()).c_str());
    std::_Exit(2);
  }
  topic_partitions_[topic] = *n;
  return *n;
}

EventTime PartialsStage::PublishedBefore(const EngineSet& engines, int pid, const Part& p) const {
  return PartialFolder::PublishedBefore(engines.engine(pid), p.published_before, p.ended);
}

void PartialsStage::Publish(const EngineSet& engines, int64_t now_ns) {
  last_now_ns_ = now_ns;
  for (auto& [pid, p] : parts_) {
    if (!engines.IsOpen(pid)) continue;
    const EventTime before = PublishedBefore(engines, pid, p);
    const bool idle = engines.idle(pid);
    const uint64_t late = engines.engine(pid).late_events();
    const bool due = p.sent_at_ns == INT64_MIN || now_ns - p.sent_at_ns >= kHeartbeatNs;
    if (before == p.sent && idle == p.sent_idle && late == p.late_sent && !due) continue;
    const auto [topic, partition] = kafka_->TopicPartition(pid);
    producer_->ProduceToEveryPartition(EncodePartial(PartialFolder::Watermark(
        topic, partition, PartitionsOf(topic), before, idle, late - p.late_sent)));
    p.sent = before;
    p.sent_idle = idle;
    p.late_sent = late;
    p.sent_at_ns = now_ns;
  }
}

void PartialsStage::Commit(const EngineSet& engines,
                           const std::vector<std::pair<int, int64_t>>& offsets) {
  for (const auto& [pid, next] : offsets) {
    if (auto it = parts_.find(pid); it != parts_.end()) it->second.offset = next;
  }
  Publish(engines, last_now_ns_);
  // Every owned partition, each time: the metadata must say how far its buckets are published
  // in every transaction that publishes any of them.
  std::vector<PartialsProducer::Offset> list;
  for (const auto& [pid, p] : parts_) {
    if (p.offset < 0 || !engines.IsOpen(pid)) continue;
    const auto [topic, partition] = kafka_->TopicPartition(pid);
    list.push_back({topic, partition, p.offset, Metadata(PublishedBefore(engines, pid, p))});
  }
  void* group = kafka_->NewGroupMetadata();
  const absl::Status st = producer_->Commit(list, group);
  KafkaSource::FreeGroupMetadata(group);
  if (!st.ok()) {
    SP_LOG(kError, "partials",
           "%s: exiting; the transaction is aborted and the partitions are read again from their "
           "commits (restart this instance)",
           std::string(st.message()).c_str());
    std::_Exit(2);
  }
  records_->Set(static_cast<double>(producer_->records()));
  bytes_->Set(static_cast<double>(producer_->bytes()));
  transactions_->Set(static_cast<double>(producer_->transactions()));
}

}  // namespace sitepulse
