// One error in a configuration file, as `check` prints it: FILE:LINE: key.path: message.
#pragma once

#include <string>

namespace sitepulse {

struct ConfigError {
  int line = 0;  // 1-based; 0 when unknown
  std::string key;
  std::string message;
};

}  // namespace sitepulse
