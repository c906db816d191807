// Reading a YAML configuration strictly: every error with its line and key path, unknown keys
// named with the known ones, numbers with their range, durations and sizes in their units. The
// run config (app/config.cc) and the heal config (app/heal_config.cc) both read through it.
//
// Threading: one reader per parse.
#pragma once

#include <algorithm>
#include <initializer_list>
#include <set>
#include <string>
#include <vector>

#include "app/config_error.h"
#include "core/duration.h"
#include "core/strings.h"
#include "core/uri.h"
#include "yaml-cpp/yaml.h"

namespace sitepulse {

class YamlReader {
 public:
  explicit YamlReader(std::vector<ConfigError>* errors) : errors_(errors) {}


  void Error(const YAML::Node& n, const std::string& key, const std::string& msg) {
    const int line = n.IsDefined() && n.Mark().line >= 0 ? n.Mark().line + 1 : 0;
    errors_->push_back({line, key, msg});
  }

  // A key given twice in one map: YAML says it is an error, yaml-cpp silently keeps the first.
  void DuplicateKeys(const YAML::Node& n, const std::string& key) {
    if (n.IsSequence()) {
      for (size_t i = 0; i < n.size(); ++i) DuplicateKeys(n[i], StrCat(key, "[", i, "]"));
      return;
    }
    if (!n.IsMap()) return;
    std::set<std::string> seen;
    for (const auto& kv : n) {
      if (!kv.first.IsScalar()) continue;
      const std::string k = kv.first.Scalar();
      const std::string path = key.empty() ? k : StrCat(key, ".", k);
      if (!seen.insert(k).second) {
        Error(kv.first, path, "duplicate key (given twice in one map)");
        continue;
      }
      DuplicateKeys(kv.second, path);
    }
  }

  // Checks that `n` is a map whose keys are all in `known`.
  bool Map(const YAML::Node& n, const std::string& key, std::initializer_list<const char*> known) {
    if (!n.IsMap()) {
      Error(n, key, "expected a mapping");
      return false;
    }
    for (const auto& kv : n) {
      const std::string k = kv.first.Scalar();
      if (std::find_if(known.begin(), known.end(), [&](const char* s) { return k == s; }) ==
          known.end()) {
        Error(kv.first, Join(key, k),
              StrCat("unknown key (known: ", StrJoin(known, ", "), ")"));
      }
    }
    return true;
  }

  bool Map(const YAML::Node& n, const std::string& key, const std::vector<std::string>& known) {
    if (!n.IsMap()) {
      Error(n, key, "expected a mapping");
      return false;
    }
    for (const auto& kv : n) {
      const std::string k = kv.first.Scalar();
      if (std::find(known.begin(), known.end(), k) == known.end()) {
        Error(kv.first, Join(key, k), StrCat("unknown key (known: ", StrJoin(known, ", "), ")"));
      }
    }
    return true;
  }

  static std::string Join(const std::string& a, const std::string& b) {
    return a.empty() ? b : StrCat(a, ".", b);
  }

  bool String(const YAML::Node& n, const std::string& key, std::string* out) {
    if (!n.IsScalar()) {
      Error(n, key, "expected a string");
      return false;
    }
    *out = n.Scalar();
    return true;
  }

  template <typename T>
  bool Number(const YAML::Node& n, const std::string& key, T* out, T min, T max) {
    T v;
    if (!n.IsScalar() || !YAML::convert<T>::decode(n, v)) {
      if (n.IsScalar() && !n.Scalar().empty() && n.Scalar()[0] == '-' && min >= T{0}) {
        Error(n, key, StrCat("must not be negative (between ", min, " and ", max, "), got '",
                             n.Scalar(), "'"));
      } else {
        Error(n, key, StrCat("expected a number, got '", n.IsScalar() ? n.Scalar() : "?", "'"));
      }
      return false;
    }
    if (v < min || v > max) {
      Error(n, key, StrCat("must be between ", min, " and ", max));
      return false;
    }
    *out = v;
    return true;
  }

  bool Bool(const YAML::Node& n, const std::string& key, bool* out) {
    if (!n.IsScalar() || !YAML::convert<bool>::decode(n, *out)) {
      Error(n, key, "expected true or false");
      return false;
    }
    return true;
  }

  bool Duration(const YAML::Node& n, const std::string& key, DurationNs* out) {
    std::string s;
    if (!String(n, key, &s)) return false;
    auto d = ParseDuration(s);
    if (!d.ok()) {
      Error(n, key, !s.empty() && s[0] == '-' ? StrCat("must not be negative, got '", s, "'")
                                              : std::string(d.status().message()));
      return false;
    }
    *out = *d;
    return true;
  }

  bool Size(const YAML::Node& n, const std::string& key, size_t* out) {
    std::string s;
    if (!String(n, key, &s)) return false;
    auto v = ParseSize(s);
    if (!v.ok()) {
      Error(n, key, !s.empty() && s[0] == '-' ? StrCat("must not be negative, got '", s, "'")
                                              : std::string(v.status().message()));
      return false;
    }
    *out = *v;
    return true;
  }

  bool UriValue(const YAML::Node& n, const std::string& key, Uri* out) {
    std::string s;
    if (!String(n, key, &s)) return false;
    auto u = ParseUri(s);
    if (!u.ok()) {
      Error(n, key, std::string(u.status().message()));
      return false;
    }
    *out = *u;
    return true;
  }

 private:
  std::vector<ConfigError>* errors_;
};

}  // namespace sitepulse
