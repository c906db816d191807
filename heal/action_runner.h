// Runs one heal action and reports how it went: a program from an argv (posix_spawn, no shell,
// its own process group, killed whole at the timeout; stdout and stderr captured, the first
// 64 KiB kept) or an HTTP request (libcurl, the expected statuses, a timeout).
//
// Threading: Run* are blocking and reentrant; the healer calls them from its action workers.
// An interface so that tests can count calls without spawning.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/time.h"

namespace sitepulse {

struct ActionResult {
  bool ok = false;      // exit 0, or an expected HTTP status
  int status = -1;      // exit status (128 + signal when killed), HTTP status; -1: not started
  bool timed_out = false;
  std::string output;   // stdout and stderr (exec) or the response body (HTTP), bounded
  std::string error;    // why it could not start or finish
  int64_t duration_ms = 0;
};

struct HttpRequest {
  std::string method, url, body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<int> expect;
  DurationNs timeout = 10 * kNanosPerSecond;
};

class ActionRunner {
 public:
  virtual ~ActionRunner() = default;
  virtual ActionResult RunExec(const std::vector<std::string>& argv, DurationNs timeout);
  virtual ActionResult RunHttp(const HttpRequest& request);

  static constexpr size_t kMaxOutput = 64 * 1024;
};

}  // namespace sitepulse
