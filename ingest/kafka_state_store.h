// Snapshots in a compacted Kafka topic: one value per key (here: per consumed partition), the
// newest wins. Values larger than a Kafka message are written in pieces under their own keys,
// then a manifest under the key itself (generation, piece count, size, checksum); a reader
// trusts a value only when every piece of the manifest's generation is there and the checksum
// matches. Everything goes to partition 0 of the topic, so the order of writes is the order of
// reads. The topic is created (cleanup.policy=compact, one partition) when it does not exist.
//
// Threading: thread-safe (the reader thread reads when partitions are assigned, the coordinator
// writes); calls are serialized.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/time.h"

namespace sitepulse {

struct KafkaStateStoreOptions {
  std::string brokers;
  std::string topic;
  // librdkafka properties (security.protocol, sasl.*, ssl.*); consumer-group ones are ignored.
  std::vector<std::pair<std::string, std::string>> properties;
  DurationNs timeout = 30 * kNanosPerSecond;  // per Put or Get
  size_t piece_bytes = 512 * 1024;            // below the broker's default message.max.bytes
};

// A partition's value: the offset its next owner starts reading at (every line before it is in
// the state), then the window engine's state (EngineSet::Save: a WindowEngine::SaveState
// snapshot).
std::string FramePartitionState(int64_t next_offset, std::string_view engine_state);
// False if `value` is not framed so.
bool UnframePartitionState(std::string_view value, int64_t* next_offset,
                           std::string_view* engine_state);

class KafkaStateStore {
 public:
  static absl::StatusOr<std::unique_ptr<KafkaStateStore>> Open(const KafkaStateStoreOptions& options);
  ~KafkaStateStore();

  // Writes `value` under `key` and waits until the broker acknowledged all of it.
  absl::Status Put(const std::string& key, std::string_view value);
  // The newest complete value under `key`; nullopt when there is none.
  absl::StatusOr<std::optional<std::string>> Get(const std::string& key);

  const std::string& topic() const { return options_.topic; }

 private:
  absl::StatusOr<std::optional<std::string>> GetLocked(const std::string& key);
  explicit KafkaStateStore(const KafkaStateStoreOptions& options) : options_(options) {}
  absl::Status CreateTopicIfMissing();

  KafkaStateStoreOptions options_;
  std::mutex mu_;  // Put and Get may come from different threads
  void* producer_ = nullptr;  // rd_kafka_t
  void* consumer_ = nullptr;  // rd_kafka_t, assigned by hand (no group)
  uint64_t next_generation_ = 0;
  // The pieces written last per key, deleted (tombstones) once a newer generation is complete.
  std::map<std::string, std::pair<uint64_t, uint64_t>> written_;  // key -> (generation, pieces)
};

}  // namespace sitepulse
