// Placeholders in heal actions: `{site}`, `{deploy.previous_version}`, ... are replaced by the
// event's fields (and its site's last deploy), never by anything else. An exec action gets each
// value as (part of) one argv element, so no value can become a second argument or a shell
// word; a URL gets it percent-encoded; a body gets it JSON-escaped.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace sitepulse {

// Every name a placeholder may use.
const std::vector<std::string_view>& PlaceholderNames();

// Checks a template when the config is read: each `{name}` must be a known name; `{{` and `}}`
// are literal braces.
absl::Status CheckPlaceholders(std::string_view tmpl);

enum class PlaceholderEncoding { kRaw, kUrl, kJson };

// The template with each `{name}` replaced by values.at(name) (encoded), or an error naming the
// first placeholder without a value (a deploy placeholder when the site has no deploy).
absl::StatusOr<std::string> ExpandPlaceholders(std::string_view tmpl,
                                               const std::map<std::string, std::string>& values,
                                               PlaceholderEncoding encoding);

}  // namespace sitepulse
