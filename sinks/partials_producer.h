// The transactional producer of a two-stage run's first stage (docs/kafka.md, "Two stages"):
// partial records keyed by site, watermark records to every partition of the partials topic,
// and the input offsets committed in the same transaction (KIP-447: the consumer group's
// metadata goes with them, so a stage-1 instance fenced by a rebalance cannot commit). Stage 2
// reads with isolation.level=read_committed: what an aborted or never-committed transaction
// produced is never seen, so a killed stage-1 instance's partials are not counted twice.
//
// Threading: the coordinator's (librdkafka's own threads deliver).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sitepulse {

class PartialsProducer {
 public:
  // target "HOST:PORT[,HOST:PORT]/TOPIC"; `transactional_id` must be stable for one stage-1
  // instance across restarts (a restart aborts what the previous process left open) and unique
  // among running ones.
  static absl::StatusOr<std::unique_ptr<PartialsProducer>> Open(
      const std::string& target, const std::vector<std::pair<std::string, std::string>>& properties,
      const std::string& transactional_id);
  ~PartialsProducer();

  const std::string& topic() const { return topic_; }
  int partitions() const { return partitions_; }
  // How many partitions `topic` (the stage-1 input) has, from the broker's metadata.
  absl::StatusOr<int> PartitionsOf(const std::string& topic);

  // Into the open transaction (opened on the first call after a commit).
  void Produce(std::string_view key, std::string_view value);
  void ProduceToEveryPartition(std::string_view value);
  // Commits the open transaction with these input offsets: (topic, partition, next offset,
  // metadata). `group_metadata` is the consumer's rd_kafka_consumer_group_metadata_t. An error
  // when the transaction could not be committed (it was aborted: nothing of it is visible, the
  // caller must not go on as if it were).
  struct Offset {
    std::string topic;
    int32_t partition;
    int64_t next;
    std::string metadata;
  };
  absl::Status Commit(const std::vector<Offset>& offsets, void* group_metadata);
  uint64_t records() const { return records_; }
  uint64_t bytes() const { return bytes_; }
  uint64_t transactions() const { return transactions_; }

 private:
  PartialsProducer() = default;
  absl::Status Begin();
  void ProduceTo(int32_t partition, std::string_view key, std::string_view value);

  void* rk_ = nullptr;
  std::string topic_;
  int partitions_ = 0;
  bool open_ = false;
  uint64_t records_ = 0, bytes_ = 0, transactions_ = 0;
};

}  // namespace sitepulse
