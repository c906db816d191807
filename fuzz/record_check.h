// The invariant every accepted line must meet, whatever the parser: its record's fields are in
// range. And record equality, for the differential targets.
#pragma once

#include <cmath>
#include <cstring>
#include <string>

#include "core/record.h"
#include "fuzz/fuzz_check.h"
#include "ingest/field_values.h"
#include "ingest/format.h"

namespace sitepulse::fuzz {

inline void CheckRecord(const FormatSpec& f, const ParsedRecord& r, std::string_view line) {
  const std::string l = Printable(line);
  FUZZ_CHECK(r.kind == f.kind, "kind, line: %s", l.c_str());
  FUZZ_CHECK(r.site == f.default_site || IsValidSite(r.site, f.max_site_bytes),
             "site '%s' is not a valid site, line: %s", Printable(r.site).c_str(), l.c_str());
  FUZZ_CHECK(IsPlausibleEventTime(r.time), "time %lld, line: %s", static_cast<long long>(r.time),
             l.c_str());
  if (f.kind == RecordKind::kAccess) {
    FUZZ_CHECK(r.status >= 100 && r.status <= 599, "status %d, line: %s", r.status, l.c_str());
    FUZZ_CHECK(!r.has_latency || (std::isfinite(r.latency_s) && r.latency_s >= 0 &&
                                  r.latency_s <= kMaxLatencySeconds),
               "latency %g, line: %s", r.latency_s, l.c_str());
    FUZZ_CHECK(!r.bad_bytes || r.bytes == 0, "bad bytes kept %llu, line: %s",
               static_cast<unsigned long long>(r.bytes), l.c_str());
  } else {
    FUZZ_CHECK(static_cast<int>(r.level) < kNumLogLevels, "level, line: %s", l.c_str());
  }
}

// A verdict: "accepted" or the reason.
inline std::string Verdict(RejectReason r) {
  return r == RejectReason::kCount ? "accepted" : std::string(RejectReasonName(r));
}

// "" when equal, else the first difference.
inline std::string RecordDifference(const ParsedRecord& a, const ParsedRecord& b) {
  if (a.kind != b.kind) return "kind";
  if (a.site != b.site) return "site '" + std::string(a.site) + "' vs '" + std::string(b.site) + "'";
  if (a.time != b.time) return "time " + std::to_string(a.time) + " vs " + std::to_string(b.time);
  if (a.status != b.status) return "status " + std::to_string(a.status) + " vs " + std::to_string(b.status);
  if (a.has_latency != b.has_latency) return "has_latency";
  if (a.has_latency && std::memcmp(&a.latency_s, &b.latency_s, sizeof(double)) != 0) {
    char m[80];
    std::snprintf(m, sizeof(m), "latency %.17g vs %.17g", a.latency_s, b.latency_s);
    return m;
  }
  if (a.bytes != b.bytes) return "bytes " + std::to_string(a.bytes) + " vs " + std::to_string(b.bytes);
  if (a.bad_bytes != b.bad_bytes) return "bad_bytes";
  if (a.level != b.level) return "level";
  if (a.message != b.message) return "message";
  return "";
}

}  // namespace sitepulse::fuzz
