#include "ingest/combined_line_parser.h"

#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "core/cpu_features.h"
#include "ingest/field_values.h"
#include "simdjson.h"

namespace sitepulse {
namespace {

// Finds delimiters: through the line's bitmask index when it has one, else by scanning.
class Finder {
 public:
  Finder(std::string_view s, const CombinedLineParser::Index* index) : s_(s), index_(index) {}
  size_t Find(char c, size_t from) const {
    if (index_ == nullptr) return s_.find(c, from);
    const uint32_t* masks = c == ' '   ? index_->space
                            : c == '"' ? index_->quote
                            : c == '[' ? index_->open
                                       : index_->close;
    if (from >= s_.size()) return std::string_view::npos;
    // Two 32-byte words at a time (BuildIndex leaves no stale half word).
    const size_t words64 = (index_->words + 1) / 2;
    size_t w = from >> 6;
    uint64_t m = Load64(masks, w) & (~uint64_t{0} << (from & 63));
    while (m == 0) {
      if (++w >= words64) return std::string_view::npos;
      m = Load64(masks, w);
    }
    return (w << 6) + static_cast<size_t>(__builtin_ctzll(m));
  }
  static uint64_t Load64(const uint32_t* masks, size_t w) {
    uint64_t m;
    __builtin_memcpy(&m, masks + 2 * w, sizeof(m));
    return m;
  }
  // True when the line was indexed and holds no backslash.
  bool NoBackslash() const { return index_ != nullptr && !index_->backslash; }

 private:
  std::string_view s_;
  const CombinedLineParser::Index* index_;
};

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx512f,avx512bw"))) inline void StoreMask(uint32_t* masks, size_t w,
                                                                   uint64_t valid, __m512i v,
                                                                   __m512i c) {
  const uint64_t m = _mm512_mask_cmpeq_epi8_mask(valid, v, c);
  masks[w] = static_cast<uint32_t>(m);
  masks[w + 1] = static_cast<uint32_t>(m >> 32);
}

// The same pass 64 bytes at a time on a CPU with AVX-512BW (chosen at run time); masked loads
// read no byte past the line.
__attribute__((target("avx512f,avx512bw"))) void BuildIndexAvx512(const char* line, size_t len,
                                                                  CombinedLineParser::Index* x) {
  const __m512i space = _mm512_set1_epi8(' '), quote = _mm512_set1_epi8('"');
  const __m512i open = _mm512_set1_epi8('['), close = _mm512_set1_epi8(']');
  const __m512i bs = _mm512_set1_epi8('\\');
  uint64_t backslash = 0, high = 0;
  for (size_t off = 0, w = 0; off < len; off += 64, w += 2) {
    const uint64_t valid = len - off >= 64 ? ~uint64_t{0} : (uint64_t{1} << (len - off)) - 1;
    const __m512i v = _mm512_maskz_loadu_epi8(valid, line + off);
    StoreMask(x->space, w, valid, v, space);
    StoreMask(x->quote, w, valid, v, quote);
    StoreMask(x->open, w, valid, v, open);
    StoreMask(x->close, w, valid, v, close);
    backslash |= _mm512_mask_cmpeq_epi8_mask(valid, v, bs);
    high |= _mm512_movepi8_mask(v) & valid;
  }
  x->backslash = backslash != 0;
  x->high = high != 0;
}
#endif

bool BuildIndex(const char* line, size_t len, CombinedLineParser::Index* x) {
#if defined(__AVX2__)
  if (len > CombinedLineParser::Index::kMaxWords * 32) return false;
  x->len = len;
  x->words = (len + 31) / 32;
  x->backslash = false;
  x->high = false;
#if defined(__x86_64__) && defined(__GNUC__)
  if (UseAvx512()) {
    BuildIndexAvx512(line, len, x);
    return true;
  }
#endif
  const __m256i space = _mm256_set1_epi8(' '), quote = _mm256_set1_epi8('"');
  const __m256i open = _mm256_set1_epi8('['), close = _mm256_set1_epi8(']');
  const __m256i bs = _mm256_set1_epi8('\\');
  for (size_t off = 0, w = 0; off < len; off += 32, ++w) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(line + off));
    const uint32_t valid = len - off >= 32 ? 0xffffffffu : (1u << (len - off)) - 1;
    auto mask = [&](__m256i c) {
      return static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, c))) & valid;
    };
    x->space[w] = mask(space);
    x->quote[w] = mask(quote);
    x->open[w] = mask(open);
    x->close[w] = mask(close);
    x->backslash |= mask(bs) != 0;
    x->high |= (static_cast<uint32_t>(_mm256_movemask_epi8(v)) & valid) != 0;
  }
  if (x->words % 2 == 1) {  // Finder reads 64-bit words: the last one's upper half is empty
    x->space[x->words] = x->quote[x->words] = x->open[x->words] = x->close[x->words] = 0;
  }
  return true;
#else
  (void)line, (void)len, (void)x;
  return false;
#endif
}

// Skips a quoted string starting at s[i] == '"', honouring backslash escapes. Returns the index
// just past the closing quote, or npos.
size_t SkipQuoted(std::string_view s, size_t i, const Finder& f) {
  if (i >= s.size() || s[i] != '"') return std::string_view::npos;
  ++i;
  if (f.NoBackslash()) {
    // No backslash anywhere in the line: the next quote closes the string.
    const size_t found = f.Find('"', i);
    return found == std::string_view::npos ? found : found + 1;
  }
  while (i < s.size()) {
    const size_t found = f.Find('"', i);
    if (found == std::string_view::npos) return std::string_view::npos;
    size_t j = found;
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

// StripPort for a host followed by at least 32 readable bytes (in an indexed line): one compare
// finds its colons and digits.
std::string_view StripPortPadded(std::string_view host) {
#if defined(__AVX2__)
  if (host.size() > 32) return StripPort(host);
  const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(host.data()));
  const uint32_t valid = host.size() == 32 ? ~0u : (1u << host.size()) - 1;
  const uint32_t colons =
      static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_set1_epi8(':')))) & valid;
  if (colons == 0) return host;
  if ((colons & (colons - 1)) != 0) return host;  // several colons: an IPv6 literal
  const unsigned colon = static_cast<unsigned>(__builtin_ctz(colons));
  if (colon + 1 == host.size()) return host;
  // Unsigned byte - '0' <= 9: a digit.
  const __m256i d = _mm256_sub_epi8(v, _mm256_set1_epi8('0'));
  const uint32_t digits = static_cast<uint32_t>(
      _mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_min_epu8(d, _mm256_set1_epi8(9)), d)));
  const uint32_t after = valid & ~((2u << colon) - 1);
  if ((digits & after) != after) return host;
  return host.substr(0, colon);
#else
  return StripPort(host);
#endif
}

}  // namespace

RejectReason CombinedLineParser::Parse(const char* line, size_t len, size_t capacity,
                                       ParsedRecord* out) const {
  std::string_view s(line, len);
  const bool indexed = capacity >= len + 32 && BuildIndex(line, len, &index_);
  const Finder f(s, indexed ? &index_ : nullptr);
  if ((!indexed || index_.high) && !simdjson::validate_utf8(line, len)) {
    return RejectReason::kInvalidUtf8;
  }
  out->Reset(RecordKind::kAccess);

  // Prefix tokens up to the '[' of the time.
  // The first '[' after a space.
  size_t lb = std::string_view::npos;
  for (size_t b = f.Find('[', 1); b != std::string_view::npos; b = f.Find('[', b + 1)) {
    if (s[b - 1] == ' ') {
      lb = b - 1;
      break;
    }
  }
  if (lb == std::string_view::npos) return RejectReason::kMalformedLine;
  std::string_view tokens[5];
  size_t ntok = 0;
  {
    size_t i = 0;
    while (i < lb) {
      size_t sp = f.Find(' ', i);
      if (sp == std::string_view::npos || sp > lb) sp = lb;
      if (sp > i) {
        if (ntok == 5) return RejectReason::kMalformedLine;
        tokens[ntok++] = s.substr(i, sp - i);
      }
      i = sp + 1;
    }
  }
  if (ntok == 4) {
    const std::string_view vhost = indexed ? StripPortPadded(tokens[0]) : StripPort(tokens[0]);
    if (!(indexed ? IsValidSitePadded(vhost, format_.max_site_bytes)
                  : IsValidSite(vhost, format_.max_site_bytes))) {
      return RejectReason::kBadSite;
    }
    out->site = vhost;
  } else if (ntok == 3) {
    if (format_.default_site.empty()) return RejectReason::kMissingSite;
    out->site = format_.default_site;
  } else {
    return RejectReason::kMalformedLine;
  }

  const size_t rb = f.Find(']', lb + 2);
  if (rb == std::string_view::npos) return RejectReason::kMalformedLine;
  if (!ParseTimeLocal(s.substr(lb + 2, rb - lb - 2), &out->time, &date_cache_) ||
      !IsPlausibleEventTime(out->time)) {
    return RejectReason::kBadTime;
  }
  size_t i = rb + 1;
  if (i + 1 >= s.size() || s[i] != ' ') return RejectReason::kMalformedLine;
  i = SkipQuoted(s, i + 1, f);  // "request"
  if (i == std::string_view::npos || i >= s.size() || s[i] != ' ') {
    return RejectReason::kMalformedLine;
  }
  ++i;
  size_t sp = f.Find(' ', i);
  if (sp == std::string_view::npos) return RejectReason::kMalformedLine;
  if (!StatusFromString(s.substr(i, sp - i), &out->status)) return RejectReason::kBadStatus;
  i = sp + 1;
  sp = f.Find(' ', i);
  const std::string_view bytes = s.substr(i, sp == std::string_view::npos ? sp : sp - i);
  if (bytes != "-" && !(indexed ? UnsignedFromPadded(bytes, &out->bytes)
                                : UnsignedFromString(bytes, &out->bytes))) {
    // Optional: the request counts without its bytes (counted as bad_bytes_field).
    out->bytes = 0;
    out->bad_bytes = true;
  }
  if (sp == std::string_view::npos) return RejectReason::kCount;  // common log format
  i = sp + 1;
  if (i < s.size() && s[i] == '"') {
    i = SkipQuoted(s, i, f);  // "referer"
    if (i == std::string_view::npos || i + 1 >= s.size() || s[i] != ' ' || s[i + 1] != '"') {
      return RejectReason::kMalformedLine;
    }
    i = SkipQuoted(s, i + 1, f);  // "user agent"
    if (i == std::string_view::npos) return RejectReason::kMalformedLine;
  }
  // Optional request time.
  while (i < s.size() && s[i] == ' ') ++i;
  if (i >= s.size()) return RejectReason::kCount;
  size_t end = f.Find(' ', i);
  std::string_view rt = s.substr(i, end == std::string_view::npos ? end : end - i);
  if (const size_t eq = rt.find('='); eq != std::string_view::npos) rt.remove_prefix(eq + 1);
  double v;
  bool point;
  // Indexed: the line has 32 bytes of padding, so the value can be read 8 bytes at a time.
  if (!(indexed ? DecimalFromPadded(rt, &v, &point) : DecimalFromString(rt, &v, &point))) {
    // A negative number is a bad latency, as in JSON; anything else is some other field.
    if (rt.size() >= 2 && rt[0] == '-' && rt[1] >= '0' && rt[1] <= '9') {
      return RejectReason::kBadLatency;
    }
    return RejectReason::kCount;  // not a number: no latency
  }
  if (!LatencyToSeconds(v, format_.latency_unit, point, &out->latency_s)) {
    return RejectReason::kBadLatency;
  }
  out->has_latency = true;
  return RejectReason::kCount;
}

}  // namespace sitepulse
