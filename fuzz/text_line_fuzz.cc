// The text formats: combined access logs and Apache/nginx error logs. The first byte picks the
// format; the rest is lines. For each line, the parser as a lane runs it (the next lines' bytes
// as padding: the AVX2 index path) and a fresh parser given exactly the line's bytes (no
// padding: the scalar path; ASan catches a read past the end) agree on everything, and an
// accepted record's fields are in range.
#include <memory>
#include <string>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "fuzz/record_check.h"
#include "ingest/line_parser.h"

using namespace sitepulse;

namespace {

const std::vector<FormatSpec>& Formats() {
  static const std::vector<FormatSpec> formats = [] {
    std::vector<FormatSpec> f;
    f.push_back(*FormatFromPreset("combined"));
    f.push_back(*FormatFromPreset("error_text"));
    FormatSpec with_default = *FormatFromPreset("error_text");
    with_default.default_site = "fallback.example";
    f.push_back(with_default);
    FormatSpec auto_unit = *FormatFromPreset("combined");
    auto_unit.latency_unit = LatencyUnit::kAuto;
    f.push_back(auto_unit);
    return f;
  }();
  return formats;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const FormatSpec& format = Formats()[data[0] % Formats().size()];
  LineParser live(format);
  fuzz::ForEachBatchLine(data + 1, size - 1, 64, [&](std::string_view line, size_t capacity) {
    ParsedRecord got;
    const RejectReason r = live.Parse(line.data(), line.size(), capacity, &got);
    if (r == RejectReason::kCount) fuzz::CheckRecord(format, got, line);

    // Exactly the line's bytes, in an allocation of that size.
    std::unique_ptr<char[]> exact(new char[line.size() == 0 ? 1 : line.size()]);
    std::memcpy(exact.get(), line.data(), line.size());
    LineParser fresh(format);
    ParsedRecord want;
    const RejectReason w = fresh.Parse(exact.get(), line.size(), line.size(), &want);
    const std::string l = fuzz::Printable(line);
    FUZZ_CHECK(r == w, "%s: padded says %s, unpadded %s, line: %s", format.preset.c_str(),
               fuzz::Verdict(r).c_str(), fuzz::Verdict(w).c_str(),
               l.c_str());
    if (r == RejectReason::kCount) {
      const std::string diff = fuzz::RecordDifference(got, want);
      FUZZ_CHECK(diff.empty(), "%s: padded vs unpadded: %s, line: %s", format.preset.c_str(),
                 diff.c_str(), l.c_str());
    }
  });
  return 0;
}
