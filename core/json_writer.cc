#include "core/json_writer.h"

#include <charconv>
#include <cmath>

namespace sitepulse {
namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 if it is not valid.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  auto cont = [&](size_t k) {
    return i + k < s.size() && (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
  };
  if (b0 >= 0xC2 && b0 <= 0xDF) return cont(1) ? 2 : 0;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    const auto b1 = static_cast<unsigned char>(s[i + 1]);
    if (b0 == 0xE0 && b1 < 0xA0) return 0;  // overlong
    if (b0 == 0xED && b1 > 0x9F) return 0;  // surrogate
    return 3;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    const auto b1 = static_cast<unsigned char>(s[i + 1]);
    if (b0 == 0xF0 && b1 < 0x90) return 0;
    if (b0 == 0xF4 && b1 > 0x8F) return 0;
    return 4;
  }
  return 0;
}

}  // namespace

void AppendJsonString(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      out->push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    if (c >= 0x80) {
      const size_t n = Utf8SequenceLength(s, i);
      if (n > 0) {
        out->append(s.substr(i, n));
        i += n;
        continue;
      }
    }
    switch (c) {
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 15]);
    }
    ++i;
  }
  out->push_back('"');
}

void AppendJsonNumber(double v, std::string* out) {
  if (!std::isfinite(v)) {
    out->append("null");
    return;
  }
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, res.ptr);
}

JsonObjectWriter& JsonObjectWriter::Key(std::string_view k) {
  if (!first_) out_->push_back(',');
  first_ = false;
  AppendJsonString(k, out_);
  out_->push_back(':');
  return *this;
}
JsonObjectWriter& JsonObjectWriter::String(std::string_view k, std::string_view v) {
  Key(k);
  AppendJsonString(v, out_);
  return *this;
}
JsonObjectWriter& JsonObjectWriter::Number(std::string_view k, double v) {
  Key(k);
  AppendJsonNumber(v, out_);
  return *this;
}
JsonObjectWriter& JsonObjectWriter::Int(std::string_view k, int64_t v) {
  Key(k);
  out_->append(std::to_string(v));
  return *this;
}
JsonObjectWriter& JsonObjectWriter::Uint(std::string_view k, uint64_t v) {
  Key(k);
  out_->append(std::to_string(v));
  return *this;
}
JsonObjectWriter& JsonObjectWriter::Bool(std::string_view k, bool v) {
  Key(k);
  out_->append(v ? "true" : "false");
  return *this;
}
JsonObjectWriter& JsonObjectWriter::Null(std::string_view k) {
  Key(k);
  out_->append("null");
  return *this;
}
JsonObjectWriter& JsonObjectWriter::Raw(std::string_view k, std::string_view json) {
  Key(k);
  out_->append(json);
  return *this;
}

}  // namespace sitepulse
