#include "ingest/flat_json_scanner.h"

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
__attribute__((target("avx512f,avx512bw"))) bool IndexAvx512(const char* line, size_t len,
                                                             uint32_t* quote_masks, bool* high) {
  const __m512i quote = _mm512_set1_epi8('"');
  const __m512i backslash = _mm512_set1_epi8('\\');
  const __m512i space = _mm512_set1_epi8(' ');
  uint64_t any_high = 0;
  for (size_t off = 0; off < len; off += 64) {
    const uint64_t valid = len - off >= 64 ? ~uint64_t{0} : (uint64_t{1} << (len - off)) - 1;
    const __m512i v = _mm512_maskz_loadu_epi8(valid, line + off);
    const uint64_t sign = _mm512_movepi8_mask(v) & valid;
    const uint64_t below_space = _mm512_mask_cmplt_epi8_mask(valid, v, space);
    const uint64_t bs = _mm512_mask_cmpeq_epi8_mask(valid, v, backslash);
    if ((bs | (below_space & ~sign)) != 0) return false;
    any_high |= sign;
    const uint64_t q = _mm512_mask_cmpeq_epi8_mask(valid, v, quote);
    quote_masks[off >> 5] = static_cast<uint32_t>(q);
    quote_masks[(off >> 5) + 1] = static_cast<uint32_t>(q >> 32);
  }
  *high = any_high != 0;
  return true;
}

}  // namespace
#endif

bool FlatJsonScanner::Index(const char* line, size_t len) {
  if (len > kMaxLineBytes) return false;
  len_ = len;
  num_words_ = (len + 31) / 32;
  bool high = false;
#if defined(__x86_64__) && defined(__GNUC__)
  if (UseAvx512()) {
    if (!IndexAvx512(line, len, quote_masks_, &high)) return false;
    return !high || simdjson::validate_utf8(line, len);
  }
#endif
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
    const uint32_t bs =
        static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, backslash))) & valid;
    if (bs != 0 || (below_space & ~sign) != 0) return false;
    high |= sign != 0;
    quote_masks_[off >> 5] =
        static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, quote))) & valid;
  }
#else
  for (size_t w = 0; w < num_words_; ++w) quote_masks_[w] = 0;
  for (size_t i = 0; i < len; ++i) {
    const unsigned char c = static_cast<unsigned char>(line[i]);
    if (c == '\\' || c < 0x20) return false;
    high |= c >= 0x80;
    if (c == '"') quote_masks_[i >> 5] |= 1u << (i & 31);
  }
#endif
  return !high || simdjson::validate_utf8(line, len);
}

bool FlatJsonScanner::MatchValues(const char* line, size_t len, FlatValue* values) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (UseAvx512()) return MatchValuesAvx512(line, len, values);
#endif
  return MatchValuesAvx2(line, len, values);
}

bool FlatJsonScanner::MatchValuesAvx2(const char* line, size_t len, FlatValue* values) {
  if (!learned_ || !Index(line, len)) return false;
  size_t p = 0;
  for (size_t i = 0; i < num_slots_; ++i) {
    const Slot& slot = slots_[i];
    if (len - p < slot.seg_len || !SameBytes(template_ + slot.seg_begin, line + p, slot.seg_len)) {
      return false;
    }
    p += slot.seg_len;
    if (!TakeValue(slot.type, line, len, [this](size_t from) { return NextQuote(from); }, &p,
                   &values[i])) {
      return false;
    }
  }
  return len - p == tail_len_ && SameBytes(template_ + tail_begin_, line + p, tail_len_);
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx512f,avx512bw,avx512vl,bmi,bmi2"))) bool
FlatJsonScanner::MatchValuesAvx512(const char* line, size_t len, FlatValue* values) {
  if (!learned_ || !Index(line, len)) return false;
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
  for (size_t i = 0; i < num_slots_; ++i) {
    const Slot& slot = slots_[i];
    const size_t n = slot.seg_len;
    if (len - p < n) return false;
    if (n <= 32) {
      const __mmask32 k = static_cast<__mmask32>(_bzhi_u32(~0u, static_cast<unsigned>(n)));
      const __m256i a = _mm256_maskz_loadu_epi8(k, template_ + slot.seg_begin);
      const __m256i b = _mm256_maskz_loadu_epi8(k, line + p);
      if (_mm256_mask_cmpneq_epi8_mask(k, a, b) != 0) return false;
    } else if (!SameBytes(template_ + slot.seg_begin, line + p, n)) {
      return false;
    }
    p += n;
    if (!TakeValue(slot.type, line, len, next_quote, &p, &values[i])) return false;
  }
  return len - p == tail_len_ && SameBytes(template_ + tail_begin_, line + p, tail_len_);
}
#endif

bool FlatJsonScanner::Learn(const char* line) {
  learned_ = false;
  if (too_many_) return false;
  size_t out = 0, from = 0;
  num_slots_ = 0;
  for (size_t m = 0; m < num_scanned_; ++m) {
    const Extent& e = scanned_[m];
    // Literals (true, false, null) stay in the template: another literal there is another shape.
    if (e.type != FlatValue::kString && e.type != FlatValue::kNumber) continue;
    const size_t n = e.begin - from;
    __builtin_memcpy(template_ + out, line + from, n);
    slots_[num_slots_++] = {static_cast<uint16_t>(out), static_cast<uint16_t>(n),
                            static_cast<uint8_t>(m), e.type};
    out += n;
    from = e.end;
  }
  const size_t tail = len_ - from;
  __builtin_memcpy(template_ + out, line + from, tail);
  tail_begin_ = static_cast<uint16_t>(out);
  tail_len_ = static_cast<uint16_t>(tail);
  // Zeros after the last segment: SameBytes reads whole words.
  __builtin_memset(template_ + out + tail, 0, 8);
  learned_ = true;
  return true;
}

const char* FlatJsonScanner::SkipNumber(const char* p, const char* end) {
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
