// What `sitepulse heal` is told to do: its guardrails and its rules (docs/heal.md). Read from a
// heal file by app/heal_config.cc; immutable afterwards.
#pragma once

#include <cstdint>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "core/time.h"
#include "core/uri.h"

namespace sitepulse {

// Run a program: an argv, never a shell. Elements may hold placeholders ({site}, ...).
struct ExecAction {
  std::vector<std::string> argv;
  DurationNs timeout = 60 * kNanosPerSecond;
};

// An HTTP request. Placeholders in the URL are percent-encoded; header values come from the
// config (with ${VAR} from the environment, resolved when the file is read), never from events.
struct HttpAction {
  std::string method = "POST";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // may hold placeholders; sent as is (JSON-escaped values)
  std::vector<int> expect = {200, 201, 202, 204};
  DurationNs timeout = 10 * kNanosPerSecond;
};

struct HealAction {
  enum class Kind { kNone, kExec, kHttp };
  Kind kind = Kind::kNone;
  ExecAction exec;
  HttpAction http;
};

// Which events a rule takes: all given fields must match. `site` is a glob (* and ?).
struct HealMatch {
  std::string detector;  // "": any
  std::string severity;  // "": any
  std::string site = "*";
  std::vector<std::pair<std::string, std::string>> labels;
};

struct HealRule {
  std::string name;
  HealMatch match;
  // Smart rollback: act only if the site deployed within this before the incident started
  // (0: no such condition).
  DurationNs deploy_within = 0;
  HealAction action;
  DurationNs verify_for = 5 * 60 * kNanosPerSecond;
  HealAction undo;  // kind kNone: none
  DurationNs cooldown = 30 * 60 * kNanosPerSecond;  // per (rule, site)
  uint32_t max_attempts = 3;
  DurationNs max_attempts_within = 24 * 3600 * kNanosPerSecond;
  DurationNs reopen_window = 30 * 60 * kNanosPerSecond;
  bool approval = false;
  DurationNs approval_timeout = 15 * 60 * kNanosPerSecond;
};

struct HealConfig {
  std::string path;
  bool shadow = false;  // decide and record everything, never act
  uint32_t max_concurrent = 4;
  std::string site_pattern = "^[A-Za-z0-9.-]{1,253}$";
  std::regex site_regex{"^[A-Za-z0-9.-]{1,253}$"};
  // More distinct sites than max_sites matching rules within `within`: stop acting, escalate.
  uint32_t breaker_max_sites = 5;
  DurationNs breaker_within = 10 * 60 * kNanosPerSecond;
  std::vector<Uri> escalate;
  std::vector<HealRule> rules;
};

}  // namespace sitepulse
