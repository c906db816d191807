// One error in a configuration file, as `check` prints it: FILE:LINE: key.path: message.
#pragma once

#include <string>
#include <vector>

namespace sitepulse {

struct ConfigError {
  int line = 0;  // 1-based; 0 when unknown
  std::string key;
  std::string message;
};

// "FILE:LINE: key: message" per error, one per line.
std::string FormatConfigErrors(const std::string& path, const std::vector<ConfigError>& errors);

// Reads a config file whole; false with the error (a directory, a missing file with the OS's
// reason) added to `errors`.
bool ReadConfigText(const std::string& path, std::string* text, std::vector<ConfigError>* errors);

}  // namespace sitepulse
