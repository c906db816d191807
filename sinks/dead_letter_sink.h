// Rejected lines, one JSON object each: {"reason", "source", "line", "offset", "length", "raw",
// "truncated"}. `raw` is the line's bytes as a JSON string (invalid UTF-8 and control bytes
// escaped as \u00XX), cut at 64 KiB with truncated=true.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "core/record.h"
#include "sinks/jsonl_writer.h"
#include "sinks/kafka_producer.h"

namespace sitepulse {

inline constexpr size_t kDeadLetterMaxRawBytes = 64 * 1024;

struct DeadLetter {
  RejectReason reason;
  std::string_view source;
  uint64_t line = 0;    // 1-based line number in the source
  uint64_t offset = 0;  // byte offset of the line in the source
  uint64_t length = 0;  // full length of the line
  std::string_view raw; // may be a head of the line only
};

std::string DeadLetterToJson(const DeadLetter& d);

// To a file/stdout as JSON lines, or to a Kafka topic: there the message value is the raw line
// (cut at 64 KiB) and the reason, source, line, offset and length travel as headers.
class DeadLetterSink {
 public:
  explicit DeadLetterSink(std::unique_ptr<JsonlWriter> writer) : writer_(std::move(writer)) {}
  explicit DeadLetterSink(std::unique_ptr<KafkaProducer> producer) : producer_(std::move(producer)) {}
  void Write(const DeadLetter& d);
  bool Flush();
  bool Drained() { return writer_ ? writer_->Flush() : producer_->Flush(0); }

 private:
  std::unique_ptr<JsonlWriter> writer_;
  std::unique_ptr<KafkaProducer> producer_;
};

}  // namespace sitepulse
