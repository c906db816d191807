// Warnings of one run: conditions under which the run goes on but its results may be blind or
// wrong (most lines rejected, no latency for a latency detector, every line on a placeholder
// site, a file truncated under its reader, names folded past the site cap, lines from the
// future, many late lines). Each code is raised once, printed on stderr as it arises, and listed
// in the exit summary; `run --strict` turns any of them into exit code 3.
//
// Threading: the coordinator's.
#pragma once

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace sitepulse {

class RunWarnings {
 public:
  // Raises `code` once; later raises of the same code are ignored.
  void Raise(const std::string& code, const std::string& message) {
    for (const auto& w : list_) {
      if (w.first == code) return;
    }
    std::fprintf(stderr, "sitepulse: warning [%s]: %s\n", code.c_str(), message.c_str());
    list_.emplace_back(code, message);
  }
  bool raised(const std::string& code) const {
    for (const auto& w : list_) {
      if (w.first == code) return true;
    }
    return false;
  }
  const std::vector<std::pair<std::string, std::string>>& list() const { return list_; }

 private:
  std::vector<std::pair<std::string, std::string>> list_;
};

}  // namespace sitepulse
