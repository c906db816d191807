// Input and output URIs of the command line and the config: "file:PATH", a bare path, "-" (stdin),
// "stdout", "kafka://host:port/topic?group=g", with optional "?key=value&..." parameters.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace sitepulse {

struct Uri {
  std::string scheme;  // "file", "stdin", "stdout", "kafka", ...
  std::string target;  // path for file, "host:port/topic" for kafka
  std::vector<std::pair<std::string, std::string>> params;

  const std::string* Param(std::string_view key) const;
  std::string ToString() const;
  bool operator==(const Uri&) const = default;
};

absl::StatusOr<Uri> ParseUri(std::string_view s);

}  // namespace sitepulse
