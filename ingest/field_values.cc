#include "ingest/field_values.h"

#include <charconv>
#include <cmath>
#include <limits>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace sitepulse {


bool StatusFromString(std::string_view s, uint16_t* out) {
  uint64_t v;
  if (!UnsignedFromString(s, &v)) return false;
  return StatusFromNumber(v, out);
}


bool DecimalFromString(std::string_view s, double* out) {
  bool point;
  return DecimalFromString(s, out, &point);
}

bool DecimalFromWideMantissa(uint64_t mantissa, int frac_digits, double* out) {
#if defined(__x86_64__)
  static_assert(std::numeric_limits<long double>::digits == 64, "x87 extended precision");
  long double p = 1;
  for (int i = 0; i < frac_digits; ++i) p *= 10;  // exact up to 10^27
  const long double q = static_cast<long double>(mantissa) / p;
  const double d = static_cast<double>(q);
  if (static_cast<long double>(d) != q) {
    const double other = q > d ? std::nextafter(d, HUGE_VAL) : std::nextafter(d, -HUGE_VAL);
    const long double halfway = (static_cast<long double>(d) + static_cast<long double>(other)) / 2;
    if (q == halfway) return false;  // the first rounding may have made the tie
  }
  if (!std::isfinite(d)) return false;
  *out = d;
  return true;
#else
  (void)mantissa;
  (void)frac_digits;
  (void)out;
  return false;
#endif
}

bool DecimalFromStringSlow(std::string_view s, double* out, bool* had_point) {
  if (s.empty() || s[0] == '-' || s[0] == '+') return false;
  *had_point = s.find('.') != std::string_view::npos;
  const char* end = s.data() + s.size();
  auto res = std::from_chars(s.data(), end, *out);
  return res.ec == std::errc() && res.ptr == end && std::isfinite(*out);
}



bool IsValidSite(std::string_view s, size_t max_bytes) {
  if (s.empty() || s.size() > max_bytes) return false;
  // Control characters, blanks, and JSON escapes (a raw JSON string is not unescaped). No early
  // exit: the compiler vectorizes the loop, and valid names are the common case.
  unsigned bad = 0;
  for (unsigned char c : s) {
    bad |= static_cast<unsigned>(c <= 0x20) | static_cast<unsigned>(c == 0x7f) |
           static_cast<unsigned>(c == '\\') | static_cast<unsigned>(c == '"');
  }
  return bad == 0;
}

#if defined(__AVX2__)
namespace {
// True if no byte of s (followed by 32 readable bytes) is flagged by bad(32 bytes), 32 at a time.
template <typename Bad>
bool NoBadBytePadded(std::string_view s, Bad bad) {
  for (size_t off = 0; off < s.size(); off += 32) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s.data() + off));
    const size_t left = s.size() - off;
    const uint32_t valid = left >= 32 ? 0xffffffffu : (1u << left) - 1;
    if ((static_cast<uint32_t>(_mm256_movemask_epi8(bad(v))) & valid) != 0) return false;
  }
  return true;
}
}  // namespace
#endif

bool IsValidSitePadded(std::string_view s, size_t max_bytes) {
#if defined(__AVX2__)
  if (s.empty() || s.size() > max_bytes) return false;
  const __m256i space = _mm256_set1_epi8(0x20);
  const __m256i del = _mm256_set1_epi8(0x7f);
  const __m256i bs = _mm256_set1_epi8('\\');
  const __m256i quote = _mm256_set1_epi8('"');
  return NoBadBytePadded(s, [&](__m256i v) {
    // Unsigned v <= 0x20: min(v, 0x20) == v.
    return _mm256_or_si256(
        _mm256_or_si256(_mm256_cmpeq_epi8(_mm256_min_epu8(v, space), v), _mm256_cmpeq_epi8(v, del)),
        _mm256_or_si256(_mm256_cmpeq_epi8(v, bs), _mm256_cmpeq_epi8(v, quote)));
  });
#else
  return IsValidSite(s, max_bytes);
#endif
}

bool IsValidFlatSite(std::string_view s, size_t max_bytes) {
#if defined(__AVX2__)
  if (s.empty() || s.size() > max_bytes) return false;
  const __m256i space = _mm256_set1_epi8(0x20);
  const __m256i del = _mm256_set1_epi8(0x7f);
  return NoBadBytePadded(s, [&](__m256i v) {
    return _mm256_or_si256(_mm256_cmpeq_epi8(v, space), _mm256_cmpeq_epi8(v, del));
  });
#else
  return IsValidSite(s, max_bytes);
#endif
}

}  // namespace sitepulse
