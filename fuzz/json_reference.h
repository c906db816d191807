// A slow reference for the JSON line parser, for differential fuzzing: simdjson's DOM API parses
// the whole line, then the format's field paths are looked up member by member in document order
// with the rules docs/formats.md gives (the first alternative present wins, null is absent, the
// same key twice is ambiguous, a value of the wrong type rejects the line). No fast path, no
// learned shape, no state carried between lines.
#pragma once

#include <string>

#include "core/record.h"
#include "ingest/format.h"

namespace sitepulse::fuzz {

struct ReferenceResult {
  // False when the reference cannot judge the line the way the parser must: the line is not
  // valid JSON but not for its UTF-8 (simdjson On-Demand validates only what it reads, and the
  // parser may count a line whose unread values are broken), or a key or value holds an escape
  // (the parser compares keys as written and reads values raw), or a number of more than 19
  // digits (simdjson 3.0.1 misreads some: simdjson#2093).
  bool comparable = false;
  RejectReason reason = RejectReason::kCount;  // kCount: accepted
  ParsedRecord record;        // site and message left empty: see Record()
  std::string site, message;  // owned copies
  // The record with its views on this object's site and message.
  ParsedRecord Record() const {
    ParsedRecord r = record;
    r.site = site;
    r.message = message;
    return r;
  }
};

ReferenceResult ReferenceParse(const FormatSpec& format, std::string_view line);

}  // namespace sitepulse::fuzz
