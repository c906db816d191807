// A small idempotent Kafka producer shared by the anomaly topic sink and the dead-letter topic:
// keyed messages with optional headers, delivery reports counted, Flush() waits for every report.
// A message counts as delivered only on a successful delivery report.
//
// Threading: Produce/Flush from the coordinator; librdkafka's own threads do the rest.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/metrics.h"
#include "core/time.h"

namespace sitepulse {

// A consumer's setting, which producers built from the same `kafka:` section leave out.
bool IsConsumerOnlyProperty(const std::string& key);

class KafkaProducer {
 public:
  // target: "HOST:PORT[,HOST:PORT]/TOPIC"; properties are passed to librdkafka as they are.
  static absl::StatusOr<std::unique_ptr<KafkaProducer>> Open(
      const std::string& target, const std::vector<std::pair<std::string, std::string>>& properties,
      const std::string& sink_name, MetricsRegistry* metrics);
  ~KafkaProducer();

  void Produce(std::string_view key, std::string_view value,
               const std::vector<std::pair<std::string, std::string>>& headers = {});
  // Waits for every delivery report (at most `deadline`); true if all were delivered.
  bool Flush(DurationNs deadline);
  const std::string& topic() const { return topic_; }

 private:
  KafkaProducer() = default;
  static void OnDelivery(void* rk, const void* msg, void* opaque);

  void* rk_ = nullptr;
  std::string topic_;
  std::string name_;
  Counter* delivered_ = nullptr;
  Counter* failed_ = nullptr;
  std::atomic<uint64_t> in_flight_{0};
};

}  // namespace sitepulse
