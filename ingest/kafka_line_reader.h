// One line per Kafka message, for the consumers of sitepulse's own topics (`heal` reads anomaly
// events and deploy markers with it). A consumer in a group; a message's offset is stored only
// after the caller says the line was handled (Done), and committed about once a second and on
// close: at-least-once, so a consumer that de-duplicates (heal's ledger) sees each line at least
// once and acts on it once.
//
// Threading: one thread.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "ingest/kafka_source.h"

struct rd_kafka_s;
struct rd_kafka_message_s;

namespace sitepulse {

class KafkaLineReader {
 public:
  // kafka://HOST:PORT/TOPIC?group=G (KafkaOptionsFromUri); exit_at_end: Next ends once every
  // assigned partition is read to its end.
  static absl::StatusOr<std::unique_ptr<KafkaLineReader>> Open(const KafkaSourceOptions& options);
  ~KafkaLineReader();

  enum class Got { kLine, kNone, kEnd };
  // Waits at most wait_ms for a message.
  Got Next(std::string* line, int wait_ms);
  // The line Next returned last was handled: its offset may be committed.
  void Done();
  // Commits the stored offsets now (synchronously).
  void Commit();
  const std::string& name() const { return name_; }

 private:
  explicit KafkaLineReader(bool exit_at_end) : exit_at_end_(exit_at_end) {}
  rd_kafka_s* rk_ = nullptr;
  rd_kafka_message_s* last_ = nullptr;  // returned, not yet Done
  bool exit_at_end_;
  std::set<std::pair<std::string, int>> at_end_;  // partitions read to their end
  int64_t started_ns_ = 0;
  std::string name_;
};

}  // namespace sitepulse
