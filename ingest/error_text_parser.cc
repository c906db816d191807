#include "ingest/error_text_parser.h"

#include <algorithm>

#include "ingest/field_values.h"
#include "simdjson.h"

namespace sitepulse {

RejectReason ErrorTextParser::Parse(const char* line, size_t len, ParsedRecord* out) const {
  if (!simdjson::validate_utf8(line, len)) return RejectReason::kInvalidUtf8;
  *out = ParsedRecord{};
  out->kind = RecordKind::kError;
  const std::string_view s(line, len);
  if (!s.empty() && s[0] == '[') return ParseApache(s, out);
  if (!s.empty() && s[0] >= '0' && s[0] <= '9') return ParseNginx(s, out);
  return RejectReason::kMalformedLine;
}

RejectReason ErrorTextParser::ParseApache(std::string_view s, ParsedRecord* out) const {
  const size_t rb = s.find(']');
  if (rb == std::string_view::npos) return RejectReason::kMalformedLine;
  if (!ParseApacheErrorTime(s.substr(1, rb - 1), &out->time) || !IsPlausibleEventTime(out->time)) {
    return RejectReason::kBadTime;
  }
  if (rb + 2 >= s.size() || s[rb + 1] != ' ' || s[rb + 2] != '[') {
    return RejectReason::kMissingLevel;
  }
  const size_t lb2 = rb + 2;
  const size_t rb2 = s.find(']', lb2);
  if (rb2 == std::string_view::npos) return RejectReason::kMalformedLine;
  std::string_view level = s.substr(lb2 + 1, rb2 - lb2 - 1);
  if (const size_t colon = level.rfind(':'); colon != std::string_view::npos) {
    level.remove_prefix(colon + 1);  // [core:error]
  }
  if (!ParseLogLevel(level, &out->level)) return RejectReason::kBadLevel;
  // The message follows the bracketed fields ([pid ...] [client ...]); a ", referer: ..."
  // Apache appends is context, not message.
  size_t m = rb2 + 1;
  while (m + 1 < s.size() && s[m] == ' ' && s[m + 1] == '[') {
    const size_t close = s.find(']', m + 2);
    if (close == std::string_view::npos) break;
    m = close + 1;
  }
  while (m < s.size() && s[m] == ' ') ++m;
  std::string_view message = s.substr(std::min(m, s.size()));
  if (const size_t ref = message.rfind(", referer: "); ref != std::string_view::npos) {
    message = message.substr(0, ref);
  }
  out->message = message;
  if (format_.default_site.empty()) return RejectReason::kMissingSite;
  out->site = format_.default_site;
  return RejectReason::kCount;
}

RejectReason ErrorTextParser::ParseNginx(std::string_view s, ParsedRecord* out) const {
  if (s.size() < 21) return RejectReason::kMalformedLine;
  if (!ParseNginxErrorTime(s.substr(0, 19), &out->time) || !IsPlausibleEventTime(out->time)) {
    return RejectReason::kBadTime;
  }
  if (s[19] != ' ' || s[20] != '[') return RejectReason::kMissingLevel;
  const size_t rb = s.find(']', 21);
  if (rb == std::string_view::npos) return RejectReason::kMalformedLine;
  if (!ParseLogLevel(s.substr(21, rb - 21), &out->level)) return RejectReason::kBadLevel;
  // "1234#0: *5 message, client: ..., server: ...": the message is what precedes the context.
  {
    size_t m = rb + 1;
    while (m < s.size() && s[m] == ' ') ++m;
    const size_t hash = s.find('#', m);
    const size_t colon = s.find(": ", m);
    if (hash != std::string_view::npos && colon != std::string_view::npos && hash < colon &&
        s.find_first_not_of("0123456789#", m) == colon) {
      m = colon + 2;
    }
    if (m < s.size() && s[m] == '*') {
      const size_t sp = s.find(' ', m);
      if (sp != std::string_view::npos && s.find_first_not_of("0123456789", m + 1) == sp) m = sp + 1;
    }
    std::string_view message = s.substr(std::min(m, s.size()));
    for (std::string_view context : {", client: ", ", server: "}) {
      if (const size_t c = message.find(context); c != std::string_view::npos) {
        message = message.substr(0, c);
      }
    }
    out->message = message;
  }
  // nginx appends ", host: \"name\"" when the request had one, ", server: name" otherwise.
  std::string_view site;
  if (const size_t h = s.rfind(", host: \""); h != std::string_view::npos) {
    const size_t start = h + 9;
    const size_t end = s.find('"', start);
    if (end != std::string_view::npos) site = s.substr(start, end - start);
  }
  if (site.empty()) {
    if (const size_t v = s.rfind(", server: "); v != std::string_view::npos) {
      const size_t start = v + 10;
      size_t end = s.find(',', start);
      if (end == std::string_view::npos) end = s.size();
      site = s.substr(start, end - start);
    }
  }
  if (!site.empty()) {
    // Host headers carry ports; the site is the name.
    if (const size_t colon = site.rfind(':');
        colon != std::string_view::npos && site.find(':') == colon) {
      site = site.substr(0, colon);
    }
    if (!IsValidSite(site, format_.max_site_bytes)) return RejectReason::kBadSite;
    out->site = site;
  } else if (!format_.default_site.empty()) {
    out->site = format_.default_site;
  } else {
    return RejectReason::kMissingSite;
  }
  return RejectReason::kCount;
}

}  // namespace sitepulse
