// A small line-and-token codec for state snapshots: each record is one line of space-separated
// tokens, numbers in decimal (doubles with 17 significant digits, so they round-trip exactly),
// words without spaces. Readable with less, diffable, and versioned by its first line.
#pragma once

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <string_view>
#include <system_error>

namespace sitepulse {

class StateWriter {
 public:
  StateWriter& Int(int64_t v) {
    char b[24];
    std::snprintf(b, sizeof(b), "%lld", static_cast<long long>(v));
    return Token(b);
  }
  StateWriter& UInt(uint64_t v) {
    char b[24];
    std::snprintf(b, sizeof(b), "%llu", static_cast<unsigned long long>(v));
    return Token(b);
  }
  StateWriter& Double(double v) {
    char b[32];
    std::snprintf(b, sizeof(b), "%.17g", v);
    return Token(b);
  }
  // A word: no spaces or newlines (site names and ids qualify); empty is written as "-".
  StateWriter& Word(std::string_view w) { return Token(w.empty() ? std::string_view("-") : w); }
  // Any bytes (text with spaces, say), as hex; "-" when empty.
  StateWriter& Hex(std::string_view bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string h;
    h.reserve(bytes.size() * 2);
    for (unsigned char c : bytes) {
      h.push_back(kDigits[c >> 4]);
      h.push_back(kDigits[c & 15]);
    }
    return Word(h);
  }
  void EndLine() {
    out_.push_back('\n');
    fresh_ = true;
  }
  const std::string& str() const { return out_; }
  // Hands what was written so far to `sink` and starts empty (large states are written in
  // pieces, not built whole in memory).
  template <typename Sink>
  void Drain(Sink&& sink) {
    sink(out_);
    out_.clear();
  }

 private:
  StateWriter& Token(std::string_view t) {
    if (!fresh_) out_.push_back(' ');
    out_.append(t);
    fresh_ = false;
    return *this;
  }
  std::string out_;
  bool fresh_ = true;
};

class StateReader {
 public:
  explicit StateReader(std::string_view text) : text_(text) {}
  // Lines from a source (a file read piece by piece): `next(&line)` fills one line without its
  // newline and returns false at the end.
  explicit StateReader(std::function<bool(std::string*)> next) : next_(std::move(next)) {}
  // Moves to the next line; false at the end.
  bool NextLine() {
    if (next_) {
      if (!next_(&buffer_)) return false;
      line_ = buffer_;
      ++line_number_;
      return true;
    }
    if (pos_ >= text_.size()) return false;
    const size_t nl = text_.find('\n', pos_);
    const size_t end = nl == std::string_view::npos ? text_.size() : nl;
    line_ = text_.substr(pos_, end - pos_);
    pos_ = end + 1;
    ++line_number_;
    return true;
  }
  size_t line_number() const { return line_number_; }
  bool Word(std::string* out) {
    std::string_view t;
    if (!Token(&t)) return false;
    *out = t == "-" ? "" : std::string(t);
    return true;
  }
  bool Hex(std::string* out) {
    std::string h;
    if (!Word(&h) || h.size() % 2 != 0) return false;
    out->clear();
    auto nibble = [](char c) {
      return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    };
    for (size_t i = 0; i < h.size(); i += 2) {
      const int hi = nibble(h[i]), lo = nibble(h[i + 1]);
      if (hi < 0 || lo < 0) return false;
      out->push_back(static_cast<char>(hi * 16 + lo));
    }
    return true;
  }
  // Integers are the whole token, in range: strtoll read an empty token as 0, stopped at a NUL
  // byte inside one, and saturated one past the range to INT64_MAX, the end-of-input sentinel
  // (a damaged partition time closed every bucket at once, at 2262: fuzz/state_fuzz.cc).
  bool Int(int64_t* out) { return Integer(out); }
  // An event time (or a time sentinel): an integer that is INT64_MIN, INT64_MAX or within
  // 1970..2200, so that differences between two never overflow. A damaged file with another
  // number fails here, not in arithmetic later (fuzz/state_fuzz.cc).
  bool Time(int64_t* out) {
    constexpr int64_t kLatest = 7'300'000'000'000'000'000;  // 2201, past every plausible time
    return Int(out) && (*out == INT64_MIN || *out == INT64_MAX || (*out >= 0 && *out <= kLatest));
  }
  bool UInt(uint64_t* out) { return Integer(out); }
  bool Double(double* out) {
    std::string_view t;
    if (!Token(&t)) return false;
    const std::string s(t);  // strtod needs a terminated string (one with a NUL inside stops short)
    char* end;
    *out = std::strtod(s.c_str(), &end);
    return end == s.c_str() + s.size();
  }

 private:
  template <typename T>
  bool Integer(T* out) {
    std::string_view t;
    if (!Token(&t)) return false;
    const auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), *out);
    return ec == std::errc() && ptr == t.data() + t.size();
  }
  // The next token: never empty (false at the end of the line).
  bool Token(std::string_view* out) {
    while (!line_.empty() && line_.front() == ' ') line_.remove_prefix(1);
    if (line_.empty()) return false;
    const size_t sp = line_.find(' ');
    *out = line_.substr(0, sp);
    line_ = sp == std::string_view::npos ? std::string_view() : line_.substr(sp);
    return true;
  }
  std::string_view text_;
  std::function<bool(std::string*)> next_;
  std::string buffer_;
  size_t pos_ = 0;
  std::string_view line_;
  size_t line_number_ = 0;
};

}  // namespace sitepulse
