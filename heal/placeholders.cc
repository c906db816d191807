#include "heal/placeholders.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "core/json_writer.h"
#include "core/strings.h"

namespace sitepulse {

const std::vector<std::string_view>& PlaceholderNames() {
  static const std::vector<std::string_view> names = {
      "site",     "detector", "incident",   "severity",       "metric",
      "value",    "threshold", "started_at", "at",            "rule",
      "deploy.version", "deploy.previous_version", "deploy.at"};
  return names;
}

namespace {

std::string UrlEncode(std::string_view v) {
  std::string out;
  for (unsigned char c : v) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// Walks `tmpl`, calling on_text for literal text and on_name for each placeholder's name.
template <typename Text, typename Name>
absl::Status Walk(std::string_view tmpl, Text on_text, Name on_name) {
  size_t i = 0;
  while (i < tmpl.size()) {
    const char c = tmpl[i];
    if ((c == '{' || c == '}') && i + 1 < tmpl.size() && tmpl[i + 1] == c) {
      on_text(std::string_view(&tmpl[i], 1));
      i += 2;
      continue;
    }
    if (c == '}') return absl::InvalidArgumentError(StrCat("'", tmpl, "': a lone '}' (write }})"));
    if (c != '{') {
      const size_t next = tmpl.find_first_of("{}", i);
      const size_t end = next == std::string_view::npos ? tmpl.size() : next;
      on_text(tmpl.substr(i, end - i));
      i = end;
      continue;
    }
    const size_t close = tmpl.find('}', i);
    if (close == std::string_view::npos) {
      return absl::InvalidArgumentError(StrCat("'", tmpl, "': '{' without its '}' (write {{)"));
    }
    const std::string_view name = tmpl.substr(i + 1, close - i - 1);
    if (absl::Status st = on_name(name); !st.ok()) return st;
    i = close + 1;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckPlaceholders(std::string_view tmpl) {
  return Walk(
      tmpl, [](std::string_view) {},
      [tmpl](std::string_view name) {
        const auto& names = PlaceholderNames();
        if (std::find(names.begin(), names.end(), name) != names.end()) return absl::OkStatus();
        return absl::InvalidArgumentError(StrCat("'", tmpl, "': unknown placeholder {", name,
                                                 "} (known: ", StrJoin(names, ", "), ")"));
      });
}

absl::StatusOr<std::string> ExpandPlaceholders(std::string_view tmpl,
                                               const std::map<std::string, std::string>& values,
                                               PlaceholderEncoding encoding) {
  std::string out;
  const absl::Status st = Walk(
      tmpl, [&out](std::string_view text) { out.append(text); },
      [&](std::string_view name) {
        auto it = values.find(std::string(name));
        if (it == values.end()) {
          return absl::NotFoundError(StrCat("no value for {", name, "}"));
        }
        switch (encoding) {
          case PlaceholderEncoding::kRaw:
            out += it->second;
            break;
          case PlaceholderEncoding::kUrl:
            out += UrlEncode(it->second);
            break;
          case PlaceholderEncoding::kJson: {
            std::string quoted;
            AppendJsonString(it->second, &quoted);
            out += quoted.substr(1, quoted.size() - 2);
            break;
          }
        }
        return absl::OkStatus();
      });
  if (!st.ok()) return st;
  return out;
}

}  // namespace sitepulse
