// A fast path for the common shape of JSON access logs: one flat object per line whose strings
// hold no escapes. One SIMD pass finds every quote and checks that the line holds no backslash,
// no control character and only valid UTF-8; the structure is then walked quote to quote, with
// the JSON grammar checked for every value (numbers and literals included), so a line it accepts
// is valid JSON. Anything else (nesting, arrays, escapes, odd bytes, any grammar doubt) is
// answered "not mine" and goes to simdjson, which gives the authoritative verdict. It never
// rejects a line by itself.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sitepulse {

struct FlatValue {
  enum Type : uint8_t { kString, kNumber, kTrue, kFalse, kNull };
  Type type;
  std::string_view text;  // a string's bytes without quotes; a number's or literal's token
};

class FlatJsonScanner {
 public:
  static constexpr size_t kMaxLineBytes = 8192;  // longer lines go to simdjson

  // Scans `line` (len bytes; at least 32 readable bytes past its end). Calls
  // `on_pair(key, value)` for each member in order; on_pair returns false to abandon the line.
  // Returns true if the whole line is a valid flat object and every on_pair returned true.
  template <typename OnPair>
  bool Scan(const char* line, size_t len, OnPair&& on_pair);

  // After a successful Scan: remember that line's shape (its bytes outside string and number
  // values: braces, keys, punctuation, spaces and literals) as the template for MatchValues. False if
  // the line had too many members to remember.
  bool Learn(const char* line);

  // The fast path of the fast path: true if `line` has exactly the learned shape, with valid
  // string and number values in the same places; the i-th string or number value goes to
  // values[i] (num_slots() of them). A line that matches is valid JSON, for the same reasons as
  // a line Scan accepts. With AVX-512 each template segment is compared in one masked
  // instruction and quotes are found 64 bytes at a time: fewer branches whose outcome depends on
  // the line.
  bool MatchValues(const char* line, size_t len, FlatValue* values);

  static constexpr size_t kMaxMembers = 64;

  // The learned template's string and number values, in order: MatchValues stores value i of
  // a line in values[i]; slot_member(i) is that value's member index.
  size_t num_slots() const { return num_slots_; }
  size_t slot_member(size_t i) const { return slots_[i].member; }

 private:
  // Template bytes [from, from + n) equal the line's bytes at p (n <= bytes left in the line).
  // Reads in 8-byte words, up to 7 bytes past the segment on both sides (padding).
  static bool SameBytes(const char* a, const char* b, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      uint64_t x, y;
      __builtin_memcpy(&x, a + i, 8);
      __builtin_memcpy(&y, b + i, 8);
      if (x != y) return false;
    }
    if (i == n) return true;
    uint64_t x, y;
    __builtin_memcpy(&x, a + i, 8);
    __builtin_memcpy(&y, b + i, 8);
    const uint64_t mask = (uint64_t{1} << (8 * (n - i))) - 1;
    return ((x ^ y) & mask) == 0;
  }
  // Fills quote_masks_ (bit i of word w: byte 32w+i is a '"'); false if the line holds a
  // backslash, a control character or invalid UTF-8, or is too long.
  bool Index(const char* line, size_t len);
  // Offset of the first quote at or after `from`, or len if none.
  size_t NextQuote(size_t from) const {
    size_t w = from >> 5;
    if (w >= num_words_) return len_;
    uint32_t m = quote_masks_[w] & (~0u << (from & 31));
    while (m == 0) {
      if (++w >= num_words_) return len_;
      m = quote_masks_[w];
    }
    return (w << 5) + static_cast<size_t>(__builtin_ctz(m));
  }
  static const char* SkipNumber(const char* p, const char* end);
  // The string (up to the next quote, found by next_quote) or number value at line[*p], for
  // MatchValues: *out set and *p moved past it; false if there is none.
  template <typename NextQuoteFn>
  static bool TakeValue(FlatValue::Type type, const char* line, size_t len, NextQuoteFn&& next_quote,
                        size_t* p, FlatValue* out) {
    if (type == FlatValue::kString) {
      const size_t close = next_quote(*p);
      if (close >= len) return false;
      *out = {FlatValue::kString, std::string_view(line + *p, close - *p)};
      *p = close;
      return true;
    }
    if (*p >= len) return false;
    const char* stop = SkipNumber(line + *p, line + len);
    if (stop == nullptr) return false;
    *out = {FlatValue::kNumber, std::string_view(line + *p, static_cast<size_t>(stop - line) - *p)};
    *p = static_cast<size_t>(stop - line);
    return true;
  }
  bool MatchValuesAvx2(const char* line, size_t len, FlatValue* values);
  bool MatchValuesAvx512(const char* line, size_t len, FlatValue* values);

  uint32_t quote_masks_[kMaxLineBytes / 32];
  size_t num_words_ = 0;
  size_t len_ = 0;

  // Values of the last Scan, for Learn.
  struct Extent {
    uint16_t begin, end;
    FlatValue::Type type;
  };
  Extent scanned_[kMaxMembers];
  size_t num_scanned_ = 0;
  bool too_many_ = false;

  // The learned template: slot i is preceded by segment i; the tail segment closes the line.
  struct Slot {
    uint16_t seg_begin, seg_len;  // in template_
    uint8_t member;
    FlatValue::Type type;         // kString or kNumber
  };
  char template_[kMaxLineBytes + 16];
  Slot slots_[kMaxMembers];
  size_t num_slots_ = 0;
  uint16_t tail_begin_ = 0, tail_len_ = 0;
  bool learned_ = false;
};

template <typename OnPair>
bool FlatJsonScanner::Scan(const char* line, size_t len, OnPair&& on_pair) {
  if (!Index(line, len)) return false;
  num_scanned_ = 0;
  too_many_ = false;
  const char* p = line;
  const char* end = line + len;
  auto skip_spaces = [&] {
    while (p < end && *p == ' ') ++p;  // Index() rejected tabs, CR and LF
  };
  // A string starting at p (a quote): its bytes, and p moved past it. Every quote in the line
  // delimits a string (there are no escapes), and the walk checks every byte between strings, so
  // a stray quote fails the grammar.
  auto take_string = [&](std::string_view* out) {
    const size_t close = NextQuote(static_cast<size_t>(p - line) + 1);
    if (close >= len) return false;
    *out = std::string_view(p + 1, close - static_cast<size_t>(p - line) - 1);
    p = line + close + 1;
    return true;
  };
  skip_spaces();
  if (p == end || *p != '{') return false;
  ++p;
  skip_spaces();
  if (p < end && *p == '}') {
    ++p;
  } else {
    for (;;) {
      if (p == end || *p != '"') return false;
      std::string_view key;
      if (!take_string(&key)) return false;
      skip_spaces();
      if (p == end || *p != ':') return false;
      ++p;
      skip_spaces();
      if (p == end) return false;
      FlatValue value;
      const char c = *p;
      const char* value_begin = p;
      if (c == '"') {
        value.type = FlatValue::kString;
        if (!take_string(&value.text)) return false;
      } else if (c == '-' || (c >= '0' && c <= '9')) {
        const char* stop = SkipNumber(p, end);
        if (stop == nullptr) return false;
        value = {FlatValue::kNumber, std::string_view(p, static_cast<size_t>(stop - p))};
        p = stop;
      } else if (c == 't' && end - p >= 4 && std::string_view(p, 4) == "true") {
        value = {FlatValue::kTrue, std::string_view(p, 4)};
        p += 4;
      } else if (c == 'f' && end - p >= 5 && std::string_view(p, 5) == "false") {
        value = {FlatValue::kFalse, std::string_view(p, 5)};
        p += 5;
      } else if (c == 'n' && end - p >= 4 && std::string_view(p, 4) == "null") {
        value = {FlatValue::kNull, std::string_view(p, 4)};
        p += 4;
      } else {
        return false;  // an object, an array, or not JSON
      }
      if (num_scanned_ < kMaxMembers) {
        // A string's extent is its content; quotes belong to the template.
        const bool str = value.type == FlatValue::kString;
        scanned_[num_scanned_++] = {static_cast<uint16_t>(value_begin - line + (str ? 1 : 0)),
                                    static_cast<uint16_t>(p - line - (str ? 1 : 0)), value.type};
      } else {
        too_many_ = true;
      }
      if (!on_pair(key, value)) return false;
      skip_spaces();
      if (p == end) return false;
      if (*p == ',') {
        ++p;
        skip_spaces();
        continue;
      }
      if (*p != '}') return false;
      ++p;
      break;
    }
  }
  skip_spaces();
  return p == end;
}

}  // namespace sitepulse
