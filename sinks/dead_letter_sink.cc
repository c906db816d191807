#include "sinks/dead_letter_sink.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "core/json_writer.h"
#include "simdjson.h"

namespace sitepulse {

std::string DeadLetterToJson(const DeadLetter& d) {
  std::string out;
  const std::string_view raw = d.raw.substr(0, std::min(d.raw.size(), kDeadLetterMaxRawBytes));
  out.reserve(raw.size() + 160);
  JsonObjectWriter w(&out);
  w.String("reason", RejectReasonName(d.reason))
      .String("source", d.source)
      .Uint("line", d.line)
      .Uint("offset", d.offset)
      .Uint("length", d.length);
  // Lossless: valid UTF-8 as a JSON string (every escape decodes back to the same bytes), any
  // other bytes as base64, never "repaired" (0xE9 must not read as an "é").
  if (simdjson::validate_utf8(raw.data(), raw.size())) {
    w.String("raw", raw);
  } else {
    w.String("raw_base64", absl::Base64Escape(absl::string_view(raw.data(), raw.size())));
  }
  w.Bool("truncated", raw.size() < d.length);
  w.Close();
  return out;
}

void DeadLetterSink::Write(const DeadLetter& d) {
  if (writer_) {
    writer_->WriteLine(DeadLetterToJson(d));
    return;
  }
  const std::string_view raw = d.raw.substr(0, std::min(d.raw.size(), kDeadLetterMaxRawBytes));
  producer_->Produce(d.source, raw,
                     {{"reason", std::string(RejectReasonName(d.reason))},
                      {"source", std::string(d.source)},
                      {"line", std::to_string(d.line)},
                      {"offset", std::to_string(d.offset)},
                      {"length", std::to_string(d.length)},
                      {"truncated", raw.size() < d.length ? "true" : "false"}});
}

bool DeadLetterSink::Flush() {
  return writer_ ? writer_->Flush() : producer_->Flush(60 * kNanosPerSecond);
}

}  // namespace sitepulse
