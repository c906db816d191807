#include "core/uri.h"

#include "core/strings.h"
#include "core/strings.h"
#include "absl/strings/str_split.h"

namespace sitepulse {

const std::string* Uri::Param(std::string_view key) const {
  for (const auto& [k, v] : params) {
    if (k == key) return &v;
  }
  return nullptr;
}

std::string Uri::ToString() const {
  // Printed so that ParseUri reads it back as it is (fuzz/uri_fuzz.cc): "stdin://x" names a
  // scheme "stdin" with a target, and a file target starting with "//" keeps its slashes.
  if (scheme == "stdin" && target.empty()) return "-";
  if (scheme == "stdout" && target.empty()) return "stdout";
  if (scheme == "file") return StrCat(target.starts_with("//") ? "file://" : "file:", target);
  return StrCat(scheme, "://", target);
}

absl::StatusOr<Uri> ParseUri(std::string_view s) {
  Uri u;
  if (s.empty()) return absl::InvalidArgumentError("empty URI");
  std::string_view rest = s;
  std::string_view query;
  if (const size_t q = s.find('?'); q != std::string_view::npos) {
    rest = s.substr(0, q);
    query = s.substr(q + 1);
  }
  if (rest == "-" || rest == "stdin") {
    u.scheme = "stdin";
  } else if (rest == "stdout") {
    u.scheme = "stdout";
  } else if (rest.starts_with("file:")) {
    u.scheme = "file";
    rest.remove_prefix(5);
    if (rest.starts_with("//")) rest.remove_prefix(2);
    u.target = std::string(rest);
  } else if (const size_t p = rest.find("://"); p != std::string_view::npos) {
    u.scheme = std::string(rest.substr(0, p));
    u.target = std::string(rest.substr(p + 3));
  } else {
    u.scheme = "file";
    u.target = std::string(rest);
  }
  if (u.scheme == "file" && u.target.empty()) {
    return absl::InvalidArgumentError(StrCat("URI '", s, "' names no file"));
  }
  if (!query.empty()) {
    for (absl::string_view akv : absl::StrSplit(ToAbsl(query), '&', absl::SkipEmpty())) {
      const std::string_view kv(akv.data(), akv.size());
      const size_t eq = kv.find('=');
      if (eq == std::string_view::npos || eq == 0) {
        return absl::InvalidArgumentError(
            StrCat("URI '", s, "': parameter '", kv, "' is not key=value"));
      }
      u.params.emplace_back(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
    }
  }
  return u;
}

}  // namespace sitepulse
