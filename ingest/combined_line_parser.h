// Apache/nginx "combined" access log lines, by hand, in one left-to-right pass:
//   [vhost[:port] ]host ident user [time_local] "request" status bytes ["referer" "agent"][ rt]
// The optional leading vhost becomes the site; the optional trailing token is the request time
// (a decimal number, or key=number such as rt=0.123; unit per FormatSpec::latency_unit).
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/record.h"
#include "ingest/format.h"

namespace sitepulse {

class CombinedLineParser {
 public:
  explicit CombinedLineParser(const FormatSpec& format) : format_(format) {}
  // Returns RejectReason::kCount on success. `out->site` points into `line` or the format.
  // `capacity`: readable bytes from `line`; with 32 bytes of padding after the line, one AVX2
  // pass indexes its spaces, quotes and brackets instead of a dozen memchr calls.
  RejectReason Parse(const char* line, size_t len, size_t capacity, ParsedRecord* out) const;

  // Bitmasks of the delimiters of one line, 32 bytes per word.
  struct Index {
    static constexpr size_t kMaxWords = 256;  // lines up to 8 KiB
    uint32_t space[kMaxWords], quote[kMaxWords], open[kMaxWords], close[kMaxWords];
    size_t words = 0;
    size_t len = 0;
    bool backslash = false;
    bool high = false;  // bytes >= 0x80: UTF-8 to validate
  };

 private:
  FormatSpec format_;
  mutable DateCache date_cache_;  // a cache, not state: Parse stays logically const
  mutable Index index_;           // scratch for the line being parsed
};

}  // namespace sitepulse
