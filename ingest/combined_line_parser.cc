#include "ingest/combined_line_parser.h"

#include <cstring>

#include "ingest/field_values.h"
#include "simdjson.h"

namespace sitepulse {
namespace {

// Skips a quoted string starting at s[i] == '"', honouring backslash escapes. Returns the index
// just past the closing quote, or npos.
size_t SkipQuoted(std::string_view s, size_t i) {
  if (i >= s.size() || s[i] != '"') return std::string_view::npos;
  ++i;
  while (i < s.size()) {
    const void* q = std::memchr(s.data() + i, '"', s.size() - i);
    if (q == nullptr) return std::string_view::npos;
    size_t j = static_cast<size_t>(static_cast<const char*>(q) - s.data());
    size_t backslashes = 0;
    while (j - backslashes > i && s[j - backslashes - 1] == '\\') ++backslashes;
    if (backslashes % 2 == 0) return j + 1;
    i = j + 1;
  }
  return std::string_view::npos;
}

std::string_view StripPort(std::string_view host) {
  const size_t colon = host.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == host.size()) return host;
  if (host.find(':') != colon) return host;  // IPv6 literal: leave alone
  for (size_t i = colon + 1; i < host.size(); ++i) {
    if (host[i] < '0' || host[i] > '9') return host;
  }
  return host.substr(0, colon);
}

}  // namespace

RejectReason CombinedLineParser::Parse(const char* line, size_t len, ParsedRecord* out) const {
  std::string_view s(line, len);
  if (!simdjson::validate_utf8(line, len)) return RejectReason::kInvalidUtf8;
  // Field by field: a whole-struct assignment goes through a stack temporary and stalls.
  out->kind = RecordKind::kAccess;
  out->site = {};
  out->time = 0;
  out->status = 0;
  out->has_latency = false;
  out->latency_s = 0;
  out->bytes = 0;
  out->level = LogLevel::kInfo;

  // Prefix tokens up to the '[' of the time.
  const size_t lb = s.find(" [");
  if (lb == std::string_view::npos) return RejectReason::kMalformedLine;
  std::string_view tokens[5];
  size_t ntok = 0;
  {
    size_t i = 0;
    while (i < lb) {
      size_t sp = s.find(' ', i);
      if (sp == std::string_view::npos || sp > lb) sp = lb;
      if (sp > i) {
        if (ntok == 5) return RejectReason::kMalformedLine;
        tokens[ntok++] = s.substr(i, sp - i);
      }
      i = sp + 1;
    }
  }
  if (ntok == 4) {
    const std::string_view vhost = StripPort(tokens[0]);
    if (!IsValidSite(vhost, format_.max_site_bytes)) return RejectReason::kBadSite;
    out->site = vhost;
  } else if (ntok == 3) {
    if (format_.default_site.empty()) return RejectReason::kMissingSite;
    out->site = format_.default_site;
  } else {
    return RejectReason::kMalformedLine;
  }

  const size_t rb = s.find(']', lb + 2);
  if (rb == std::string_view::npos) return RejectReason::kMalformedLine;
  if (!ParseTimeLocal(s.substr(lb + 2, rb - lb - 2), &out->time, &date_cache_) ||
      !IsPlausibleEventTime(out->time)) {
    return RejectReason::kBadTime;
  }
  size_t i = rb + 1;
  if (i + 1 >= s.size() || s[i] != ' ') return RejectReason::kMalformedLine;
  i = SkipQuoted(s, i + 1);  // "request"
  if (i == std::string_view::npos || i >= s.size() || s[i] != ' ') {
    return RejectReason::kMalformedLine;
  }
  ++i;
  size_t sp = s.find(' ', i);
  if (sp == std::string_view::npos) return RejectReason::kMalformedLine;
  if (!StatusFromString(s.substr(i, sp - i), &out->status)) return RejectReason::kBadStatus;
  i = sp + 1;
  sp = s.find(' ', i);
  const std::string_view bytes = s.substr(i, sp == std::string_view::npos ? sp : sp - i);
  if (bytes != "-" && !UnsignedFromString(bytes, &out->bytes)) return RejectReason::kBadBytes;
  if (sp == std::string_view::npos) return RejectReason::kCount;  // common log format
  i = sp + 1;
  if (i < s.size() && s[i] == '"') {
    i = SkipQuoted(s, i);  // "referer"
    if (i == std::string_view::npos || i + 1 >= s.size() || s[i] != ' ' || s[i + 1] != '"') {
      return RejectReason::kMalformedLine;
    }
    i = SkipQuoted(s, i + 1);  // "user agent"
    if (i == std::string_view::npos) return RejectReason::kMalformedLine;
  }
  // Optional request time.
  while (i < s.size() && s[i] == ' ') ++i;
  if (i >= s.size()) return RejectReason::kCount;
  size_t end = s.find(' ', i);
  std::string_view rt = s.substr(i, end == std::string_view::npos ? end : end - i);
  if (const size_t eq = rt.find('='); eq != std::string_view::npos) rt.remove_prefix(eq + 1);
  double v;
  bool point;
  if (!DecimalFromString(rt, &v, &point)) return RejectReason::kCount;  // not a number: no latency
  if (!LatencyToSeconds(v, format_.latency_unit, point, &out->latency_s)) {
    return RejectReason::kBadLatency;
  }
  out->has_latency = true;
  return RejectReason::kCount;
}

}  // namespace sitepulse
