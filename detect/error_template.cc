#include "detect/error_template.h"

#include "core/strings.h"

namespace sitepulse {
namespace {

bool IsDelimiter(char c) {
  switch (c) {
    case ',': case ';': case ':': case '(': case ')': case '[': case ']': case '{': case '}':
    case '<': case '>': case '=': case '|':
      return true;
    default:
      return false;
  }
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// AH01071, E11000, ORA (no digits: not a code, kept anyway as a word)
bool IsErrorCode(std::string_view w) {
  size_t caps = 0;
  while (caps < w.size() && w[caps] >= 'A' && w[caps] <= 'Z') ++caps;
  if (caps == 0 || caps > 5 || caps == w.size()) return false;
  for (size_t i = caps; i < w.size(); ++i) {
    if (w[i] < '0' || w[i] > '9') return false;
  }
  return true;
}

bool IsVariable(std::string_view w) {
  if (w.size() > 40) return true;
  bool digit = false;
  for (char c : w) {
    if (c == '/' || c == '\\') return true;
    digit |= c >= '0' && c <= '9';
  }
  return digit && !IsErrorCode(w);
}

}  // namespace

uint64_t MaskErrorTemplate(std::string_view message, std::string* out) {
  out->clear();
  if (message.size() > kMaxMessageBytes) message = message.substr(0, kMaxMessageBytes);
  size_t i = 0;
  const size_t n = message.size();
  bool pending_space = false;
  auto emit = [&](std::string_view s) {
    if (pending_space && !out->empty()) out->push_back(' ');
    pending_space = false;
    out->append(s);
  };
  bool token_start = true;  // after a space or a delimiter
  while (i < n) {
    const char c = message[i];
    if (IsSpace(c)) {
      pending_space = true;
      token_start = true;
      ++i;
      continue;
    }
    if (IsDelimiter(c)) {
      emit(std::string_view(&message[i], 1));
      token_start = true;
      ++i;
      continue;
    }
    if ((c == '"' || (c == '\'' && token_start))) {
      const size_t close = message.find(c, i + 1);
      if (close != std::string_view::npos) {
        emit(c == '"' ? "\"<*>\"" : "'<*>'");
        i = close + 1;
        token_start = false;
        continue;
      }
    }
    size_t j = i;
    while (j < n && !IsSpace(message[j]) && !IsDelimiter(message[j]) && message[j] != '"') ++j;
    if (j == i) j = i + 1;  // a lone quote with no partner
    const std::string_view word = message.substr(i, j - i);
    emit(IsVariable(word) ? std::string_view("<*>") : word);
    token_start = false;
    i = j;
  }
  if (out->empty()) return 0;
  const uint64_t h = Fnv1a64(*out);
  return h == 0 ? 1 : h;
}

std::string ShortTemplateText(std::string_view text) {
  if (text.size() <= kMaxTemplateTextBytes) return std::string(text);
  size_t cut = kMaxTemplateTextBytes;
  // Back up over UTF-8 continuation bytes (10xxxxxx) to a character boundary.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut)) + "...";
}

}  // namespace sitepulse
