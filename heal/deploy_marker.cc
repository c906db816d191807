#include "heal/deploy_marker.h"

#include "core/strings.h"
#include "core/time.h"
#include "simdjson.h"

namespace sitepulse {

absl::StatusOr<LedgerDeploy> DeployFromJson(std::string_view line) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(line.data(), line.size()).get(doc) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("deploy marker: not valid JSON");
  }
  simdjson::dom::object obj;
  if (doc.get_object().get(obj) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("deploy marker: not a JSON object");
  }
  LedgerDeploy d;
  std::string_view at;
  for (const auto& [key, out] : {std::pair<const char*, std::string*>{"site", &d.site},
                                 {"version", &d.version},
                                 {"previous_version", &d.previous_version}}) {
    std::string_view v;
    if (obj[key].get_string().get(v) != simdjson::SUCCESS) {
      return absl::InvalidArgumentError(StrCat("deploy marker: '", key, "' missing or not a string"));
    }
    *out = std::string(v);
  }
  if (obj["at"].get_string().get(at) != simdjson::SUCCESS || !ParseRfc3339(at, &d.at)) {
    return absl::InvalidArgumentError("deploy marker: 'at' missing or not an RFC 3339 time");
  }
  if (d.site.empty()) return absl::InvalidArgumentError("deploy marker: empty site");
  return d;
}

}  // namespace sitepulse
