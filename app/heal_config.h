// The heal file (docs/heal.md): strict YAML into a HealConfig, every error with file, line and
// key path, like the run config. `sitepulse check --config` reads either kind of file.
#pragma once

#include <string>
#include <vector>

#include "app/config_error.h"
#include "heal/heal_rules.h"

namespace sitepulse {

struct HealConfigResult {
  HealConfig config;
  std::vector<ConfigError> errors;
  bool ok() const { return errors.empty(); }
  std::string FormatErrors() const { return FormatConfigErrors(config.path, errors); }
};

HealConfigResult LoadHealConfig(const std::string& path);
HealConfigResult ParseHealConfigString(const std::string& yaml, const std::string& path_for_messages);

// A heal file has a top-level `heal:` or `rules:` key (a run config has neither).
bool LooksLikeHealConfig(const std::string& yaml);

}  // namespace sitepulse
