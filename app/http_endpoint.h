// The operator's HTTP endpoint: /metrics (Prometheus text format, from the one registry),
// /healthz (the process answers) and /readyz (inputs open, sinks delivering, not stuck). Binds to
// loopback unless told otherwise; request bodies, header sizes and slow clients are capped.
//
// Threading: cpp-httplib's own small thread pool; it only reads atomics and the registry.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "app/pipeline.h"
#include "core/metrics.h"

namespace httplib {
class Server;
}

namespace sitepulse {

class HttpEndpoint {
 public:
  // A POST route of a command that takes requests (heal: /deploys, /approve/ID). `handle` gets
  // the body (at most 4 KiB) and the pattern's captures and returns the status and the body of
  // the answer; it runs on a server thread.
  struct PostRoute {
    std::string pattern;  // a regular expression over the path
    std::function<std::pair<int, std::string>(const std::string& body,
                                              const std::vector<std::string>& captures)>
        handle;
    bool takes_body = true;  // false: a command; its body is not read (curl -X POST sends none)
  };
  struct Options {
    std::string listen = "127.0.0.1:9100";
    DurationNs stall_timeout = 30 * kNanosPerSecond;  // backlog without progress: not ready
    std::vector<PostRoute> posts = {};
  };
  HttpEndpoint(Options options, MetricsRegistry* metrics, PipelineHealth* health);
  ~HttpEndpoint();

  absl::Status Start();  // binds and serves on a background thread
  void Stop();
  int port() const { return port_; }

 private:
  Options options_;
  MetricsRegistry* metrics_;
  PipelineHealth* health_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

// "" when ready, else why not.
std::string NotReadyReason(const PipelineHealth& health, DurationNs stall_timeout);

}  // namespace sitepulse
