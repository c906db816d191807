// Warnings of one run: conditions under which the run goes on but its results may be blind or
// wrong (most lines rejected, no latency for a latency detector, error-log detectors without
// error-log lines, every line on a placeholder site, a file truncated under its reader, names folded past the site cap, lines from the
// future, many late lines). Each code is raised once, printed on stderr as it arises, and listed
// in the exit summary; `run --strict` turns any of them into exit code 3.
//
// Threading: the coordinator's.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/log.h"
#include "core/record.h"

namespace sitepulse {

class RunWarnings {
 public:
  // Raises `code` once; later raises of the same code are ignored.
  void Raise(const std::string& code, const std::string& message) {
    for (const auto& w : list_) {
      if (w.first == code) return;
    }
    LogLine(LogSeverity::kWarning, code, message);  // "warning [CODE]: ..."
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

// What the checks read: the run's counts so far.
struct RunCounts {
  uint64_t lines = 0;
  uint64_t rejected_by_reason[kNumRejectReasons] = {};
  uint64_t parsed = 0, access = 0, latency = 0, default_site = 0, late = 0;
  uint64_t sites = 0, sites_over_cap = 0;
};

// What the checks know of the configuration.
struct RunWarningContext {
  bool needs_latency = false;  // a latency detector is configured
  // The enabled detectors that read error-log lines ("error_log_spike, new_error_message"; ""
  // when none), and whether any input is an error log (kind=error).
  std::string error_log_detectors;
  bool has_error_input = false;
  std::string placeholder;     // the config's default site for an input that names none ("": none)
  size_t max_sites = 0;
};

// Raises what the counts show: during the run from 1,000 lines on, at the end from the first.
void CheckRunWarnings(const RunCounts& c, const RunWarningContext& ctx, bool at_end,
                      RunWarnings* warnings);

}  // namespace sitepulse
