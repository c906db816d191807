// The fast path for JSON log lines: a validating scanner plus learned line shapes.
//
// One SIMD pass finds every quote and backslash and checks that the line holds no control
// character and only valid UTF-8; the few backslashes are then resolved (each must start a
// valid JSON escape; an escaped quote is no quote). The structure is walked quote to quote with
// an explicit stack (objects and arrays nested up to kMaxDepth), the JSON grammar checked for
// every value (numbers and literals included), so a line it accepts is valid JSON. Anything else
// (deeper nesting, odd bytes, any grammar doubt) is answered "not mine" and goes to simdjson,
// which gives the authoritative verdict. It never rejects a line by itself.
//
// A line it accepted can be learned as a shape: its bytes outside string and number values
// (braces, brackets, keys, punctuation, spaces, literals). Later lines are compared with the
// learned shapes segment by segment and only their values are read. Several shapes are kept
// (kMaxShapes, most recently matched first): real access logs alternate a few (Caddy's request
// headers differ between a browser and curl).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace sitepulse {

struct ScalarValue {
  enum Type : uint8_t { kString, kNumber, kTrue, kFalse, kNull };
  Type type;
  std::string_view text;  // a string's raw bytes (escapes kept) without quotes; a number's or
                          // literal's token
};

class JsonShapeScanner {
 public:
  static constexpr size_t kMaxLineBytes = 8192;  // longer lines go to simdjson
  static constexpr size_t kMaxMembers = 128;     // scalar values a learnable line may hold
  static constexpr size_t kMaxDepth = 16;        // nesting the walk follows
  static constexpr size_t kMaxShapes = 8;

  // Scans `line` (len bytes; at least 32 readable bytes past its end). For every value in
  // document order it calls the visitor (each call returns false to abandon the line):
  //   bool Scalar(std::string_view key, const ScalarValue& v, size_t index)
  //       a string, number or literal; key is empty inside an array; index counts scalars
  //   bool Open(std::string_view key, bool array)   an object or array value begins
  //   void Close()                                   the innermost open one ends
  // The top-level object is neither opened nor closed. Returns true if the whole line is one
  // valid JSON object and the visitor never said no.
  template <typename Visitor>
  bool Scan(const char* line, size_t len, Visitor& visitor);

  // True if the last line indexed (by Scan or MatchValues) held a backslash: its strings are
  // raw, with escapes.
  bool had_escapes() const { return had_escapes_; }

  // After a successful Scan: learn that line's shape (replacing the least recently matched one
  // when all are taken). Returns its number (< kMaxShapes), or -1 if the line had too many
  // values to learn.
  int Learn(const char* line);

  // True if `line` has exactly one learned shape, with valid string and number values in its
  // places; *shape says which, and its i-th string or number value goes to values[i]
  // (num_slots(*shape) of them). A line that matches is valid JSON, for the same reasons as a
  // line Scan accepts.
  bool MatchValues(const char* line, size_t len, ScalarValue* values, int* shape);

  // A learned shape's string and number values, in order: slot_index(shape, i) is the Scan
  // index of value i.
  size_t num_slots(int shape) const { return shapes_[shape]->num_slots; }
  size_t slot_index(int shape, size_t i) const { return shapes_[shape]->slots[i].index; }

  // Past the JSON number at p (-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?), or null when
  // there is none.
  static const char* SkipNumber(const char* p, const char* end);

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
  // Fills quote_masks_ (bit i of word w: byte 32w+i is a '"' that ends or starts a string);
  // false if the line holds a control character, invalid UTF-8 or an invalid escape, or is too
  // long.
  bool Index(const char* line, size_t len);
  // Index's SIMD pass (AVX-512 where the CPU has it, else AVX2): the quote and backslash masks
  // and num_quotes_; false on a control character. *high: a byte of 0x80 or above.
  bool IndexBlocks(const char* line, size_t len, bool* high, bool* any_backslash);
  // Clears the quote bits of escaped quotes; false on a backslash that starts no valid escape.
  bool ResolveEscapes(const char* line, size_t len);
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
  // The string (up to the next quote, found by next_quote) or number value at line[*p], for
  // MatchValues: *out set and *p moved past it; false if there is none.
  template <typename NextQuoteFn>
  static bool TakeValue(ScalarValue::Type type, const char* line, size_t len,
                        NextQuoteFn&& next_quote, size_t* p, ScalarValue* out) {
    if (type == ScalarValue::kString) {
      const size_t close = next_quote(*p);
      if (close >= len) return false;
      *out = {ScalarValue::kString, std::string_view(line + *p, close - *p)};
      *p = close;
      return true;
    }
    if (*p >= len) return false;
    const char* stop = SkipNumber(line + *p, line + len);
    if (stop == nullptr) return false;
    *out = {ScalarValue::kNumber,
            std::string_view(line + *p, static_cast<size_t>(stop - line) - *p)};
    *p = static_cast<size_t>(stop - line);
    return true;
  }
  struct Shape;
  bool MatchShapeAvx2(const Shape& shape, const char* line, size_t len, ScalarValue* values) const;
  bool MatchShapeAvx512(const Shape& shape, const char* line, size_t len,
                        ScalarValue* values) const;

  uint32_t quote_masks_[kMaxLineBytes / 32 + 2];
  uint32_t backslash_masks_[kMaxLineBytes / 32 + 2];
  size_t num_words_ = 0;
  size_t len_ = 0;
  uint32_t num_quotes_ = 0;
  bool had_escapes_ = false;

  // Values of the last Scan, for Learn.
  struct Extent {
    uint16_t begin, end;
    ScalarValue::Type type;
  };
  Extent scanned_[kMaxMembers];
  size_t num_scanned_ = 0;
  bool too_many_ = false;

  // A learned shape: slot i is preceded by segment i; the tail segment closes the line.
  struct Slot {
    uint16_t seg_begin, seg_len;  // in bytes
    uint8_t index;                // the value's Scan index
    ScalarValue::Type type;       // kString or kNumber
  };
  struct Shape {
    char bytes[kMaxLineBytes + 16];
    Slot slots[kMaxMembers];
    size_t num_slots = 0;
    uint16_t tail_begin = 0, tail_len = 0;
    uint32_t num_quotes = 0;  // a line of this shape has exactly as many quotes
  };
  std::unique_ptr<Shape> shapes_[kMaxShapes];  // allocated when first learned
  int order_[kMaxShapes];                      // shape numbers, most recently matched first
  int num_shapes_ = 0;
};

template <typename Visitor>
bool JsonShapeScanner::Scan(const char* line, size_t len, Visitor& visitor) {
  if (!Index(line, len)) return false;
  num_scanned_ = 0;
  too_many_ = false;
  const char* p = line;
  const char* end = line + len;
  auto skip_spaces = [&] {
    while (p < end && *p == ' ') ++p;  // Index() rejected tabs, CR and LF
  };
  // A string starting at p (a quote): its bytes, and p moved past it. Every unescaped quote in
  // the line delimits a string, and the walk checks every byte between strings, so a stray quote
  // fails the grammar.
  auto take_string = [&](std::string_view* out) {
    const size_t close = NextQuote(static_cast<size_t>(p - line) + 1);
    if (close >= len) return false;
    *out = std::string_view(p + 1, close - static_cast<size_t>(p - line) - 1);
    p = line + close + 1;
    return true;
  };
  bool is_array[kMaxDepth];  // per open container: an array (else an object)
  size_t depth = 0;
  skip_spaces();
  if (p == end || *p != '{') return false;
  ++p;
  is_array[depth++] = false;
  bool first = true;  // at the first member of the innermost container
  for (;;) {
    skip_spaces();
    if (p == end) return false;
    const bool in_array = is_array[depth - 1];
    if (!(first && *p == (in_array ? ']' : '}'))) {  // a member (not an empty container)
      std::string_view key;
      if (!in_array) {
        if (*p != '"' || !take_string(&key)) return false;
        skip_spaces();
        if (p == end || *p != ':') return false;
        ++p;
        skip_spaces();
        if (p == end) return false;
      }
      const char c = *p;
      if (c == '{' || c == '[') {
        if (depth == kMaxDepth || !visitor.Open(key, c == '[')) return false;
        ++p;
        is_array[depth++] = c == '[';
        first = true;
        continue;
      }
      ScalarValue value;
      const char* value_begin = p;
      if (c == '"') {
        value.type = ScalarValue::kString;
        if (!take_string(&value.text)) return false;
      } else if (c == '-' || (c >= '0' && c <= '9')) {
        const char* stop = SkipNumber(p, end);
        if (stop == nullptr) return false;
        value = {ScalarValue::kNumber, std::string_view(p, static_cast<size_t>(stop - p))};
        p = stop;
      } else if (c == 't' && end - p >= 4 && std::string_view(p, 4) == "true") {
        value = {ScalarValue::kTrue, std::string_view(p, 4)};
        p += 4;
      } else if (c == 'f' && end - p >= 5 && std::string_view(p, 5) == "false") {
        value = {ScalarValue::kFalse, std::string_view(p, 5)};
        p += 5;
      } else if (c == 'n' && end - p >= 4 && std::string_view(p, 4) == "null") {
        value = {ScalarValue::kNull, std::string_view(p, 4)};
        p += 4;
      } else {
        return false;
      }
      const size_t index = num_scanned_;
      if (num_scanned_ < kMaxMembers) {
        // A string's extent is its content; quotes belong to the shape.
        const bool str = value.type == ScalarValue::kString;
        scanned_[num_scanned_++] = {static_cast<uint16_t>(value_begin - line + (str ? 1 : 0)),
                                    static_cast<uint16_t>(p - line - (str ? 1 : 0)), value.type};
      } else {
        too_many_ = true;
      }
      if (!visitor.Scalar(key, value, index)) return false;
    }
    // After a value (or at an empty container): a comma goes on to the next member; a closer
    // ends the container, which is then a value of its parent.
    for (;;) {
      skip_spaces();
      if (p == end) return false;
      if (*p == ',') {
        ++p;
        first = false;
        break;
      }
      if (*p != (is_array[depth - 1] ? ']' : '}')) return false;
      ++p;
      if (--depth == 0) {
        skip_spaces();
        return p == end;
      }
      visitor.Close();
    }
  }
}

}  // namespace sitepulse
