// The small fixed-size result of parsing one log line (the design's "Sample") and the closed
// vocabularies that go with it: record kinds, error-log levels, and rejection reasons.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "core/time.h"

namespace sitepulse {

enum class RecordKind : uint8_t { kAccess, kError };

// Error-log severity, syslog order. kError and above count as "error lines" for detectors.
enum class LogLevel : uint8_t { kDebug, kInfo, kNotice, kWarn, kError, kCrit, kAlert, kEmerg };
inline constexpr int kNumLogLevels = 8;
std::string_view LogLevelName(LogLevel l);
// Case-insensitive, with the usual aliases (warning, err, fatal, critical, panic, trace, ...).
bool ParseLogLevel(std::string_view s, LogLevel* out);

// Why a line was not turned into a record. Every rejected line has exactly one reason.
enum class RejectReason : uint8_t {
  kEmptyLine,
  kLineTooLong,
  kInvalidUtf8,
  kMalformedJson,
  kMalformedLine,  // text formats: the line does not have the expected shape
  kMissingSite,
  kMissingTime,
  kMissingStatus,
  kMissingLatency,
  kMissingLevel,
  kBadSite,
  kBadTime,
  kBadStatus,
  kBadLatency,
  kBadBytes,
  kBadLevel,
  kAmbiguousField,  // a configured field's key appears twice in one JSON object
  kFutureTime,      // far ahead of its input's event time, and nothing confirmed the jump
  kBadPartial,      // two-stage runs: a partial record stage 2 cannot read (core/partial_record.h)
  kCount  // not a reason
};
inline constexpr int kNumRejectReasons = static_cast<int>(RejectReason::kCount);
std::string_view RejectReasonName(RejectReason r);

// One parsed line. `site` points into the input buffer (or the parser's scratch) and is only
// valid until the next line is parsed.
struct ParsedRecord {
  RecordKind kind = RecordKind::kAccess;
  std::string_view site;
  EventTime time = 0;
  // Access logs.
  uint16_t status = 0;
  bool has_latency = false;
  double latency_s = 0;
  uint64_t bytes = 0;
  // Error logs.
  LogLevel level = LogLevel::kInfo;
  std::string_view message;  // the message text, where the format has one (like site: until
                             // the next line)
  // An optional field whose value was unusable: the record counts without it (bytes = 0).
  bool bad_bytes = false;

  // Back to the defaults, field by field: `*this = ParsedRecord{}` goes through a stack
  // temporary whose copy stalls on store forwarding, once per line on the hot path.
  void Reset(RecordKind k) {
    kind = k;
    site = {};
    time = 0;
    status = 0;
    has_latency = false;
    latency_s = 0;
    bytes = 0;
    level = LogLevel::kInfo;
    message = {};
    bad_bytes = false;
  }
};

}  // namespace sitepulse
