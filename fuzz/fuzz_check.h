// What every fuzz target shares: an invariant check that stops the run with a message (libFuzzer
// then saves the input as a crash), and the lines of an input.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#define FUZZ_CHECK(cond, ...)                                                   \
  do {                                                                         \
    if (!(cond)) {                                                             \
      std::fprintf(stderr, "invariant broken at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      std::fprintf(stderr, __VA_ARGS__);                                       \
      std::fprintf(stderr, "\n");                                              \
      std::abort();                                                            \
    }                                                                          \
  } while (0)

namespace sitepulse::fuzz {

// The input as a lane's batch: its lines one after another, `padding` zero bytes after the
// last. Calls fn(line, bytes readable from the line's start) for each of the first 64 lines.
template <typename Fn>
void ForEachBatchLine(const uint8_t* data, size_t size, size_t padding, Fn&& fn) {
  std::string batch(reinterpret_cast<const char*>(data), size);
  batch.append(padding, '\0');
  size_t at = 0;
  int lines = 0;
  while (at < size && lines++ < 64) {
    size_t end = batch.find('\n', at);
    if (end == std::string::npos || end > size) end = size;
    fn(std::string_view(batch.data() + at, end - at), batch.size() - at);
    at = end + 1;
  }
}

// printf-able form of bytes (for messages).
inline std::string Printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s.substr(0, 2000)) {
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      char b[8];
      std::snprintf(b, sizeof(b), "\\x%02x", c);
      out += b;
    }
  }
  return out;
}

}  // namespace sitepulse::fuzz
