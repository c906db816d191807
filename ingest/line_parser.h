// One parser for one input: dispatches to the JSON, combined-text or error-text parser chosen by
// the format, after the checks every syntax shares (empty line, CR stripping).
#pragma once

#include <memory>

#include "core/record.h"
#include "ingest/combined_line_parser.h"
#include "ingest/error_text_parser.h"
#include "ingest/format.h"
#include "ingest/json_line_parser.h"

namespace sitepulse {

class LineParser {
 public:
  explicit LineParser(const FormatSpec& format);
  // `capacity`: readable bytes from `line` (at least len + SIMDJSON_PADDING).
  // Returns RejectReason::kCount when `out` holds a record.
  RejectReason Parse(const char* line, size_t len, size_t capacity, ParsedRecord* out);
  const FormatSpec& format() const { return format_; }

 private:
  FormatSpec format_;
  std::unique_ptr<JsonLineParser> json_;
  CombinedLineParser combined_;
  ErrorTextParser error_text_;
};

}  // namespace sitepulse
