// The JSON presets (nginx, caddy, envoy, ecs, json_error, caddy_error), line by line as a lane
// parses a batch.
// The input's first byte picks the preset; the rest is lines. For each line:
//  - the parser as it runs (fast paths on, shape learned from the lines before, the next lines'
//    bytes as its padding) and a fresh one (simdjson only, padding of other bytes) agree on
//    accept or reject, the reason, and every field: results depend on neither history nor
//    padding;
//  - an accepted record's fields are in range;
//  - differential: a slow reference on simdjson's DOM API agrees on accept or reject and on
//    every field (fuzz/json_reference.h says which lines it leaves out).
#include <memory>
#include <string>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "fuzz/json_reference.h"
#include "fuzz/record_check.h"
#include "ingest/line_parser.h"
#include "simdjson.h"

using namespace sitepulse;

namespace {

const std::vector<FormatSpec>& Formats() {
  static const std::vector<FormatSpec> formats = [] {
    std::vector<FormatSpec> f;
    for (const char* p : {"nginx", "caddy", "envoy", "ecs", "json_error", "caddy_error"}) {
      f.push_back(*FormatFromPreset(p));
    }
    return f;
  }();
  return formats;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  // The first byte picks the preset: below 250 one of the first five, as when the seed corpus
  // was written (its inputs keep their preset); 250 and above caddy_error.
  const FormatSpec& format = Formats()[data[0] < 250 ? data[0] % 5 : 5];
  FormatSpec slow_format = format;
  slow_format.json_fast_path = false;
  LineParser live(format);
  // The batch as a lane sees it: lines one after the other, padding after the last.
  fuzz::ForEachBatchLine(data + 1, size - 1, simdjson::SIMDJSON_PADDING, [&](std::string_view line, size_t capacity) {
    ParsedRecord got;
    const RejectReason r = live.Parse(line.data(), line.size(), capacity, &got);
    if (r == RejectReason::kCount) fuzz::CheckRecord(format, got, line);

    std::string_view stripped = line;
    if (!stripped.empty() && stripped.back() == '\r') stripped.remove_suffix(1);
    const bool blank = stripped.find_first_not_of(" \t") == std::string_view::npos;
    const fuzz::ReferenceResult ref =
        blank ? fuzz::ReferenceResult{} : fuzz::ReferenceParse(format, stripped);
    const std::string l = fuzz::Printable(line);

    std::string alone(line);
    alone.append(simdjson::SIMDJSON_PADDING, '"');
    LineParser fresh(slow_format);
    ParsedRecord want;
    const RejectReason w = fresh.Parse(alone.data(), line.size(), alone.size(), &want);
    // The verdict depends neither on the lines before nor on the padding.
    FUZZ_CHECK(r == w, "preset %s: live parser says %s, a fresh one %s, line: %s", format.preset.c_str(),
               fuzz::Verdict(r).c_str(), fuzz::Verdict(w).c_str(), l.c_str());
    if (r == RejectReason::kCount) {
      const std::string diff = fuzz::RecordDifference(got, want);
      FUZZ_CHECK(diff.empty(), "preset %s: live vs fresh: %s, line: %s", format.preset.c_str(),
                 diff.c_str(), l.c_str());
    }
    if (ref.comparable) {
      FUZZ_CHECK((r == RejectReason::kCount) == (ref.reason == RejectReason::kCount),
                 "preset %s: parser says %s, the DOM reference %s, line: %s",
                 format.preset.c_str(), fuzz::Verdict(r).c_str(), fuzz::Verdict(ref.reason).c_str(),
                 l.c_str());
      if (r == RejectReason::kCount) {
        const std::string diff = fuzz::RecordDifference(got, ref.Record());
        FUZZ_CHECK(diff.empty(), "preset %s: parser vs DOM reference: %s, line: %s",
                   format.preset.c_str(), diff.c_str(), l.c_str());
      }
    }
  });
  return 0;
}
