// `sitepulse heal`: the self-healing consumer (docs/heal.md), and `heal pause|resume|status`.
#pragma once

#include <string>
#include <vector>

namespace sitepulse {

int HealMain(const std::vector<std::string>& args);

}  // namespace sitepulse
