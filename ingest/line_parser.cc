#include "ingest/line_parser.h"

namespace sitepulse {

LineParser::LineParser(const FormatSpec& format)
    : format_(format), combined_(format), error_text_(format) {
  if (format_.syntax == Syntax::kJson) json_ = std::make_unique<JsonLineParser>(format_);
}

RejectReason LineParser::Parse(const char* line, size_t len, size_t capacity, ParsedRecord* out) {
  if (len > 0 && line[len - 1] == '\r') --len;
  size_t first = 0;
  while (first < len && (line[first] == ' ' || line[first] == '\t')) ++first;
  if (first == len) return RejectReason::kEmptyLine;
  switch (format_.syntax) {
    case Syntax::kJson: return json_->Parse(line, len, capacity, out);
    case Syntax::kCombined: return combined_.Parse(line, len, capacity, out);
    case Syntax::kErrorText: return error_text_.Parse(line, len, out);
  }
  return RejectReason::kMalformedLine;
}

}  // namespace sitepulse
