#include "ingest/json_shape_scanner.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "core/cpu_features.h"
#include "simdjson.h"

namespace sitepulse {

#if defined(__x86_64__) && defined(__GNUC__)
namespace {

// The same pass 64 bytes at a time, where the CPU has AVX-512BW (Zen 4 and later, Intel since
// Skylake-SP). The build targets AVX2, so this is compiled for AVX-512 alone and chosen at run
// time. Masked loads read no byte past the line.
__attribute__((target("avx512f,avx512bw,popcnt"))) bool IndexAvx512(
    const char* line, size_t len, uint32_t* quote_masks, uint32_t* backslash_masks, bool* high,
    bool* any_backslash, uint32_t* quotes) {
  const __m512i quote = _mm512_set1_epi8('"');
  const __m512i backslash = _mm512_set1_epi8('\\');
  const __m512i space = _mm512_set1_epi8(' ');
  uint64_t any_high = 0, any_bs = 0;
  uint32_t num_quotes = 0;
  for (size_t off = 0; off < len; off += 64) {
    const uint64_t valid = len - off >= 64 ? ~uint64_t{0} : (uint64_t{1} << (len - off)) - 1;
    const __m512i v = _mm512_maskz_loadu_epi8(valid, line + off);
    const uint64_t sign = _mm512_movepi8_mask(v) & valid;
    const uint64_t below_space = _mm512_mask_cmplt_epi8_mask(valid, v, space);
    if ((below_space & ~sign) != 0) return false;
    const uint64_t bs = _mm512_mask_cmpeq_epi8_mask(valid, v, backslash);
    any_high |= sign;
    any_bs |= bs;
    const uint64_t q = _mm512_mask_cmpeq_epi8_mask(valid, v, quote);
    num_quotes += static_cast<uint32_t>(__builtin_popcountll(q));
    quote_masks[off >> 5] = static_cast<uint32_t>(q);
    quote_masks[(off >> 5) + 1] = static_cast<uint32_t>(q >> 32);
    backslash_masks[off >> 5] = static_cast<uint32_t>(bs);
    backslash_masks[(off >> 5) + 1] = static_cast<uint32_t>(bs >> 32);
  }
  *high = any_high != 0;
  *any_backslash = any_bs != 0;
  *quotes = num_quotes;
  return true;
}

}  // namespace
#endif

bool JsonShapeScanner::Index(const char* line, size_t len) {
  if (len > kMaxLineBytes) return false;
  len_ = len;
  num_words_ = (len + 31) / 32;
  bool high = false, any_backslash = false;
  num_quotes_ = 0;
  if (!IndexBlocks(line, len, &high, &any_backslash)) return false;
  had_escapes_ = any_backslash;
  if (any_backslash && !ResolveEscapes(line, len)) return false;
  return !high || simdjson::validate_utf8(line, len);
}

bool JsonShapeScanner::IndexBlocks(const char* line, size_t len, bool* high_out,
                                   bool* backslash_out) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (UseAvx512()) {
    return IndexAvx512(line, len, quote_masks_, backslash_masks_, high_out, backslash_out,
                       &num_quotes_);
  }
#endif
  bool high = false, any_backslash = false;
#if defined(__AVX2__)
  const __m256i quote = _mm256_set1_epi8('"');
  const __m256i backslash = _mm256_set1_epi8('\\');
  const __m256i space = _mm256_set1_epi8(' ');
  for (size_t off = 0; off < len; off += 32) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(line + off));
    // Only the bytes of the line: the 32-byte read may run into the padding after it.
    const uint32_t valid = len - off >= 32 ? 0xffffffffu : (1u << (len - off)) - 1;
    const uint32_t sign = static_cast<uint32_t>(_mm256_movemask_epi8(v)) & valid;
    // Signed compare: bytes below 0x20 and bytes of 0x80 and above are both "less than a space".
    const uint32_t below_space =
        static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpgt_epi8(space, v))) & valid;
    if ((below_space & ~sign) != 0) return false;
    const uint32_t bs =
        static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, backslash))) & valid;
    high |= sign != 0;
    any_backslash |= bs != 0;
    const uint32_t q =
        static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, quote))) & valid;
    num_quotes_ += static_cast<uint32_t>(__builtin_popcount(q));
    quote_masks_[off >> 5] = q;
    backslash_masks_[off >> 5] = bs;
  }
#else
  for (size_t w = 0; w < num_words_; ++w) quote_masks_[w] = backslash_masks_[w] = 0;
  for (size_t i = 0; i < len; ++i) {
    const unsigned char c = static_cast<unsigned char>(line[i]);
    if (c < 0x20) return false;
    high |= c >= 0x80;
    if (c == '\\') {
      any_backslash = true;
      backslash_masks_[i >> 5] |= 1u << (i & 31);
    }
    if (c == '"') {
      quote_masks_[i >> 5] |= 1u << (i & 31);
      ++num_quotes_;
    }
  }
#endif
  *high_out = high;
  *backslash_out = any_backslash;
  return true;
}

bool JsonShapeScanner::ResolveEscapes(const char* line, size_t len) {
  // Backslashes are rare (Caddy's Alt-Svc header, a quoted word in a message): one step per
  // backslash. A backslash outside a string is caught later, by the grammar walk or the shape
  // comparison (a learned shape has none outside its strings).
  size_t escaped_until = 0;  // bytes before this belong to the last escape
  for (size_t w = 0; w < num_words_; ++w) {
    uint32_t m = backslash_masks_[w];
    while (m != 0) {
      const size_t i = (w << 5) + static_cast<size_t>(__builtin_ctz(m));
      m &= m - 1;
      if (i < escaped_until) continue;  // the second backslash of "\\"
      if (i + 1 >= len) return false;
      switch (line[i + 1]) {
        case '"':
          quote_masks_[(i + 1) >> 5] &= ~(1u << ((i + 1) & 31));
          --num_quotes_;
          escaped_until = i + 2;
          break;
        case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
          escaped_until = i + 2;
          break;
        case 'u':
          if (i + 6 > len) return false;
          for (size_t k = i + 2; k < i + 6; ++k) {
            const char c = line[k];
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
              return false;
            }
          }
          escaped_until = i + 6;
          break;
        default:
          return false;
      }
    }
  }
  return true;
}

bool JsonShapeScanner::MatchValues(const char* line, size_t len, ScalarValue* values,
                                   int* shape) {
  if (num_shapes_ == 0 || !Index(line, len)) return false;
#if defined(__x86_64__) && defined(__GNUC__)
  const bool wide = UseAvx512();
#else
  const bool wide = false;
#endif
  for (int k = 0; k < num_shapes_; ++k) {
    const int s = order_[k];
    const Shape& candidate = *shapes_[s];
    if (candidate.num_quotes != num_quotes_) continue;  // another shape for sure
#if defined(__x86_64__) && defined(__GNUC__)
    const bool match = wide ? MatchShapeAvx512(candidate, line, len, values)
                            : MatchShapeAvx2(candidate, line, len, values);
#else
    const bool match = MatchShapeAvx2(candidate, line, len, values);
#endif
    if (!match) continue;
    for (int j = k; j > 0; --j) order_[j] = order_[j - 1];
    order_[0] = s;
    *shape = s;
    return true;
  }
  (void)wide;
  return false;
}

bool JsonShapeScanner::MatchShapeAvx2(const Shape& shape, const char* line, size_t len,
                                      ScalarValue* values) const {
  size_t p = 0;
  for (size_t i = 0; i < shape.num_slots; ++i) {
    const Slot& slot = shape.slots[i];
    if (len - p < slot.seg_len || !SameBytes(shape.bytes + slot.seg_begin, line + p, slot.seg_len)) {
      return false;
    }
    p += slot.seg_len;
    if (!TakeValue(slot.type, line, len, [this](size_t from) { return NextQuote(from); }, &p,
                   &values[i])) {
      return false;
    }
  }
  return len - p == shape.tail_len && SameBytes(shape.bytes + shape.tail_begin, line + p, shape.tail_len);
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx512f,avx512bw,avx512vl,bmi,bmi2"))) bool
JsonShapeScanner::MatchShapeAvx512(const Shape& shape, const char* line, size_t len,
                                   ScalarValue* values) const {
  // Index wrote the quote masks 64 bytes at a time: read them as 64-bit words.
  const size_t words64 = (len + 63) / 64;
  auto next_quote = [&](size_t from) -> size_t {
    size_t w = from >> 6;
    if (w >= words64) return len;
    uint64_t m;
    __builtin_memcpy(&m, &quote_masks_[2 * w], sizeof(m));
    m &= ~uint64_t{0} << (from & 63);
    while (m == 0) {
      if (++w >= words64) return len;
      __builtin_memcpy(&m, &quote_masks_[2 * w], sizeof(m));
    }
    return (w << 6) + static_cast<size_t>(__builtin_ctzll(m));
  };
  size_t p = 0;
  for (size_t i = 0; i < shape.num_slots; ++i) {
    const Slot& slot = shape.slots[i];
    const size_t n = slot.seg_len;
    if (len - p < n) return false;
    if (n <= 32) {
      const __mmask32 k = static_cast<__mmask32>(_bzhi_u32(~0u, static_cast<unsigned>(n)));
      const __m256i a = _mm256_maskz_loadu_epi8(k, shape.bytes + slot.seg_begin);
      const __m256i b = _mm256_maskz_loadu_epi8(k, line + p);
      if (_mm256_mask_cmpneq_epi8_mask(k, a, b) != 0) return false;
    } else if (!SameBytes(shape.bytes + slot.seg_begin, line + p, n)) {
      return false;
    }
    p += n;
    if (!TakeValue(slot.type, line, len, next_quote, &p, &values[i])) return false;
  }
  return len - p == shape.tail_len && SameBytes(shape.bytes + shape.tail_begin, line + p, shape.tail_len);
}
#endif

int JsonShapeScanner::Learn(const char* line) {
  if (too_many_) return -1;
  // A free place, or the least recently matched shape's; either way it becomes the first.
  int s;
  if (num_shapes_ < static_cast<int>(kMaxShapes)) {
    s = num_shapes_;
    shapes_[s] = std::make_unique<Shape>();
    order_[num_shapes_++] = s;
  } else {
    s = order_[num_shapes_ - 1];
  }
  int k = 0;
  while (order_[k] != s) ++k;
  for (; k > 0; --k) order_[k] = order_[k - 1];
  order_[0] = s;

  Shape& shape = *shapes_[s];
  size_t out = 0, from = 0;
  shape.num_slots = 0;
  for (size_t m = 0; m < num_scanned_; ++m) {
    const Extent& e = scanned_[m];
    // Literals (true, false, null) stay in the shape: another literal there is another shape.
    if (e.type != ScalarValue::kString && e.type != ScalarValue::kNumber) continue;
    const size_t n = e.begin - from;
    __builtin_memcpy(shape.bytes + out, line + from, n);
    shape.slots[shape.num_slots++] = {static_cast<uint16_t>(out), static_cast<uint16_t>(n),
                                      static_cast<uint8_t>(m), e.type};
    out += n;
    from = e.end;
  }
  const size_t tail = len_ - from;
  __builtin_memcpy(shape.bytes + out, line + from, tail);
  shape.tail_begin = static_cast<uint16_t>(out);
  shape.tail_len = static_cast<uint16_t>(tail);
  // Zeros after the last segment: SameBytes reads whole words.
  __builtin_memset(shape.bytes + out + tail, 0, 8);
  shape.num_quotes = num_quotes_;
  return s;
}

const char* JsonShapeScanner::SkipNumber(const char* p, const char* end) {
  // JSON: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  auto digit = [&](const char* x) { return x < end && *x >= '0' && *x <= '9'; };
  if (*p == '-') ++p;
  if (!digit(p)) return nullptr;
  if (*p == '0') {
    ++p;
  } else {
    while (digit(p)) ++p;
  }
  if (p < end && *p == '.') {
    ++p;
    if (!digit(p)) return nullptr;
    while (digit(p)) ++p;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    ++p;
    if (p < end && (*p == '+' || *p == '-')) ++p;
    if (!digit(p)) return nullptr;
    while (digit(p)) ++p;
  }
  return p;
}

}  // namespace sitepulse
