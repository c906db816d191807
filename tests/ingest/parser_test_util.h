// Test helper: parses one line the way a lane does (padded buffer, line followed by padding).
#pragma once

#include <string>
#include <string_view>

#include "ingest/line_parser.h"
#include "simdjson.h"

namespace sitepulse::testing {

struct ParseResult {
  RejectReason reason;
  ParsedRecord rec;
  std::string site;     // copied: rec.site dies with the buffer
  std::string message;  // the same for rec.message
  bool ok() const { return reason == RejectReason::kCount; }
};

inline ParseResult ParseLine(LineParser& parser, std::string_view line) {
  std::string buf(line);
  buf.append(simdjson::SIMDJSON_PADDING, '\0');
  ParseResult r;
  r.reason = parser.Parse(buf.data(), line.size(), buf.size(), &r.rec);
  if (r.ok()) r.site = std::string(r.rec.site);
  if (r.ok()) r.message = std::string(r.rec.message);
  return r;
}

inline LineParser ParserFor(std::string_view preset, std::string default_site = "") {
  FormatSpec f = *FormatFromPreset(preset);
  f.default_site = std::move(default_site);
  return LineParser(f);
}

}  // namespace sitepulse::testing
