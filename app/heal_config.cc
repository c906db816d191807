#include "app/heal_config.h"

#include <cstdlib>

#include "app/yaml_reader.h"
#include "core/strings.h"
#include "heal/placeholders.h"

namespace sitepulse {
namespace {

class HealParser : public YamlReader {
 public:
  using YamlReader::YamlReader;

  void Root(const YAML::Node& root, HealConfig* c) {
    DuplicateKeys(root, "");
    if (!Map(root, "", {"heal", "rules"})) return;
    if (const YAML::Node h = root["heal"]) Heal(h, c);
    const YAML::Node rules = root["rules"];
    if (!rules || !rules.IsSequence() || rules.size() == 0) {
      Error(rules ? rules : root, "rules", "expected a non-empty list of rules");
      return;
    }
    std::set<std::string> names;
    for (size_t i = 0; i < rules.size(); ++i) {
      HealRule r;
      const std::string key = StrCat("rules[", i, "]");
      if (!Rule(rules[i], key, &r)) continue;
      if (!names.insert(r.name).second) {
        Error(rules[i]["name"], key + ".name", StrCat("duplicate rule name '", r.name, "'"));
      }
      c->rules.push_back(std::move(r));
    }
  }

 private:
  void Heal(const YAML::Node& h, HealConfig* c) {
    if (!Map(h, "heal", {"mode", "max_concurrent", "site_pattern", "breaker", "escalate"})) return;
    std::string s;
    if (h["mode"] && String(h["mode"], "heal.mode", &s)) {
      if (s == "shadow") c->shadow = true;
      else if (s == "enforce") c->shadow = false;
      else Error(h["mode"], "heal.mode", "must be enforce or shadow");
    }
    if (h["max_concurrent"]) {
      Number<uint32_t>(h["max_concurrent"], "heal.max_concurrent", &c->max_concurrent, 1u, 256u);
    }
    if (h["site_pattern"] && String(h["site_pattern"], "heal.site_pattern", &s)) {
      try {
        c->site_regex = std::regex(s);
        c->site_pattern = s;
      } catch (const std::regex_error& e) {
        Error(h["site_pattern"], "heal.site_pattern", StrCat("not a regular expression: ", e.what()));
      }
    }
    if (const YAML::Node b = h["breaker"]; b && Map(b, "heal.breaker", {"max_sites", "within"})) {
      if (b["max_sites"]) {
        Number<uint32_t>(b["max_sites"], "heal.breaker.max_sites", &c->breaker_max_sites, 1u, 100000u);
      }
      if (b["within"]) Duration(b["within"], "heal.breaker.within", &c->breaker_within);
    }
    if (const YAML::Node e = h["escalate"]) {
      if (!e.IsSequence()) {
        Error(e, "heal.escalate", "expected a list of output URIs");
      } else {
        for (size_t i = 0; i < e.size(); ++i) {
          Uri u;
          if (UriValue(e[i], StrCat("heal.escalate[", i, "]"), &u)) c->escalate.push_back(u);
        }
      }
    }
  }

  bool Rule(const YAML::Node& n, const std::string& key, HealRule* r) {
    if (!Map(n, key, {"name", "match", "when", "action", "verify_for", "undo", "cooldown",
                      "max_attempts", "reopen_window", "approval", "approval_timeout"})) {
      return false;
    }
    if (!n["name"] || !String(n["name"], key + ".name", &r->name) || r->name.empty()) {
      Error(n, key, "missing required key 'name'");
      return false;
    }
    if (const YAML::Node m = n["match"]) Match(m, key + ".match", &r->match);
    if (const YAML::Node w = n["when"]; w && Map(w, key + ".when", {"deploy_within"})) {
      if (w["deploy_within"]) Duration(w["deploy_within"], key + ".when.deploy_within", &r->deploy_within);
    }
    if (!n["action"]) {
      Error(n, key, "missing required key 'action'");
    } else {
      Action(n["action"], key + ".action", &r->action);
    }
    if (n["undo"]) Action(n["undo"], key + ".undo", &r->undo);
    if (n["verify_for"]) Duration(n["verify_for"], key + ".verify_for", &r->verify_for);
    if (n["cooldown"]) Duration(n["cooldown"], key + ".cooldown", &r->cooldown);
    if (n["reopen_window"]) Duration(n["reopen_window"], key + ".reopen_window", &r->reopen_window);
    if (const YAML::Node m = n["max_attempts"]; m && Map(m, key + ".max_attempts", {"count", "within"})) {
      if (m["count"]) Number<uint32_t>(m["count"], key + ".max_attempts.count", &r->max_attempts, 1u, 1000u);
      if (m["within"]) Duration(m["within"], key + ".max_attempts.within", &r->max_attempts_within);
    }
    std::string approval;
    if (n["approval"] && String(n["approval"], key + ".approval", &approval)) {
      if (approval == "required") r->approval = true;
      else if (approval == "none") r->approval = false;
      else Error(n["approval"], key + ".approval", "must be required or none");
    }
    if (n["approval_timeout"]) {
      Duration(n["approval_timeout"], key + ".approval_timeout", &r->approval_timeout);
    }
    return true;
  }

  void Match(const YAML::Node& m, const std::string& key, HealMatch* match) {
    if (!Map(m, key, {"detector", "severity", "site", "labels"})) return;
    if (m["detector"]) String(m["detector"], key + ".detector", &match->detector);
    if (m["severity"]) String(m["severity"], key + ".severity", &match->severity);
    if (m["site"]) String(m["site"], key + ".site", &match->site);
    if (const YAML::Node l = m["labels"]) {
      if (!l.IsMap()) {
        Error(l, key + ".labels", "expected a mapping of label names to values");
      } else {
        for (const auto& kv : l) {
          std::string v;
          if (String(kv.second, StrCat(key, ".labels.", kv.first.Scalar()), &v)) {
            match->labels.emplace_back(kv.first.Scalar(), v);
          }
        }
      }
    }
  }

  void Template(const YAML::Node& n, const std::string& key, const std::string& t) {
    if (absl::Status st = CheckPlaceholders(t); !st.ok()) Error(n, key, std::string(st.message()));
  }

  void Action(const YAML::Node& a, const std::string& key, HealAction* action) {
    if (!Map(a, key, {"exec", "http", "timeout"})) return;
    if (a["exec"] && a["http"]) {
      Error(a, key, "give exec or http, not both");
      return;
    }
    if (const YAML::Node e = a["exec"]) {
      action->kind = HealAction::Kind::kExec;
      if (!e.IsSequence() || e.size() == 0) {
        Error(e, key + ".exec", "expected an argv: a non-empty list of strings (no shell is used)");
        return;
      }
      for (size_t i = 0; i < e.size(); ++i) {
        std::string arg;
        const std::string k = StrCat(key, ".exec[", i, "]");
        if (!String(e[i], k, &arg)) continue;
        Template(e[i], k, arg);
        action->exec.argv.push_back(arg);
      }
      if (!action->exec.argv.empty() && action->exec.argv[0].find('{') != std::string::npos) {
        Error(e[0], key + ".exec[0]", "the program must not come from an event (no placeholder)");
      }
      if (a["timeout"]) Duration(a["timeout"], key + ".timeout", &action->exec.timeout);
      return;
    }
    if (const YAML::Node h = a["http"]) {
      action->kind = HealAction::Kind::kHttp;
      Http(h, key + ".http", &action->http);
      if (a["timeout"]) Duration(a["timeout"], key + ".timeout", &action->http.timeout);
      return;
    }
    Error(a, key, "expected exec or http");
  }

  void Http(const YAML::Node& h, const std::string& key, HttpAction* http) {
    if (!Map(h, key, {"method", "url", "headers", "body", "expect", "timeout"})) return;
    if (h["method"]) String(h["method"], key + ".method", &http->method);
    if (!h["url"] || !String(h["url"], key + ".url", &http->url)) {
      Error(h, key, "missing required key 'url'");
    } else {
      Template(h["url"], key + ".url", http->url);
      if (http->url.rfind("http://", 0) != 0 && http->url.rfind("https://", 0) != 0) {
        Error(h["url"], key + ".url", "must start with http:// or https://");
      }
    }
    if (h["body"] && String(h["body"], key + ".body", &http->body)) Template(h["body"], key + ".body", http->body);
    if (h["timeout"]) Duration(h["timeout"], key + ".timeout", &http->timeout);
    if (const YAML::Node e = h["expect"]) {
      http->expect.clear();
      if (!e.IsSequence()) Error(e, key + ".expect", "expected a list of HTTP statuses");
      for (size_t i = 0; e.IsSequence() && i < e.size(); ++i) {
        int code = 0;
        if (Number<int>(e[i], StrCat(key, ".expect[", i, "]"), &code, 100, 599)) http->expect.push_back(code);
      }
    }
    if (const YAML::Node hs = h["headers"]) {
      if (!hs.IsMap()) {
        Error(hs, key + ".headers", "expected a mapping of header names to values");
        return;
      }
      for (const auto& kv : hs) {
        std::string v;
        const std::string k = StrCat(key, ".headers.", kv.first.Scalar());
        if (!String(kv.second, k, &v)) continue;
        std::string without_env = v;
        for (size_t at; (at = without_env.find("${")) != std::string::npos;) {
          const size_t close = without_env.find('}', at);
          without_env.erase(at, close == std::string::npos ? std::string::npos : close - at + 1);
        }
        if (without_env.find('{') != std::string::npos) {
          Error(kv.second, k, "header values take no placeholders (values from events never go into headers)");
        }
        http->headers.emplace_back(kv.first.Scalar(), ExpandEnv(kv.second, k, v));
      }
    }
  }

  // ${VAR} from the environment, resolved now (secrets stay out of the file).
  std::string ExpandEnv(const YAML::Node& n, const std::string& key, const std::string& v) {
    std::string out;
    size_t i = 0;
    while (i < v.size()) {
      const size_t open = v.find("${", i);
      if (open == std::string::npos) break;
      const size_t close = v.find('}', open);
      if (close == std::string::npos) break;
      out += v.substr(i, open - i);
      const std::string var = v.substr(open + 2, close - open - 2);
      const char* value = std::getenv(var.c_str());
      if (value == nullptr) Error(n, key, StrCat("environment variable ", var, " is not set"));
      out += value != nullptr ? value : "";
      i = close + 1;
    }
    return out + v.substr(i);
  }
};

}  // namespace

bool LooksLikeHealConfig(const std::string& yaml) {
  try {
    const YAML::Node root = YAML::Load(yaml);
    return root.IsMap() && (root["heal"] || root["rules"]);
  } catch (const YAML::Exception&) {
    return false;
  }
}

HealConfigResult ParseHealConfigString(const std::string& yaml, const std::string& path_for_messages) {
  HealConfigResult r;
  r.config.path = path_for_messages;
  try {
    HealParser p(&r.errors);
    p.Root(YAML::Load(yaml), &r.config);
  } catch (const YAML::Exception& e) {
    r.errors.push_back({e.mark.line >= 0 ? e.mark.line + 1 : 0, "", e.msg});
  }
  return r;
}

HealConfigResult LoadHealConfig(const std::string& path) {
  HealConfigResult r;
  r.config.path = path;
  std::string text;
  if (!ReadConfigText(path, &text, &r.errors)) return r;
  return ParseHealConfigString(text, path);
}

}  // namespace sitepulse
