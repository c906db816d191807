// Apache/nginx "combined" access log lines, by hand, in one left-to-right pass:
//   [vhost[:port] ]host ident user [time_local] "request" status bytes ["referer" "agent"][ rt]
// The optional leading vhost becomes the site; the optional trailing token is the request time
// (a decimal number, or key=number such as rt=0.123; unit per FormatSpec::latency_unit).
#pragma once

#include "core/record.h"
#include "ingest/format.h"

namespace sitepulse {

class CombinedLineParser {
 public:
  explicit CombinedLineParser(const FormatSpec& format) : format_(format) {}
  // Returns RejectReason::kCount on success. `out->site` points into `line` or the format.
  RejectReason Parse(const char* line, size_t len, ParsedRecord* out) const;

 private:
  FormatSpec format_;
  mutable DateCache date_cache_;  // a cache, not state: Parse stays logically const
};

}  // namespace sitepulse
