// The operator's HTTP endpoint: /metrics (Prometheus text format, from the one registry),
// /healthz (the process answers) and /readyz (inputs open, sinks delivering, not stuck), and the
// POST routes of the command (reload, heal's /deploys and /approve/ID). Binds to loopback unless
// told otherwise, and survives abuse (docs/alerting.md, "The ops endpoint"): libmicrohttpd's
// epoll loop on one thread, so slow or idle clients never hold a worker a probe needs; a
// request's headers must arrive within 2 s of its first line and the first line within 5 s of
// the connection going idle; headers over 4 KiB get 431, bodies over 4 KiB 413; at most
// max_connections, the oldest idle one closed first to make room.
//
// Threading: libmicrohttpd's one polling thread runs the handlers (they read atomics and the
// registry; a POST route's handler runs there too); a reaper thread closes connections past
// their deadlines.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "app/pipeline.h"
#include "core/metrics.h"

struct MHD_Daemon;
struct MHD_Connection;

namespace sitepulse {

class HttpEndpoint {
 public:
  // A POST route of a command that takes requests (heal: /deploys, /approve/ID). `handle` gets
  // the body (at most 4 KiB) and the pattern's captures and returns the status and the body of
  // the answer; it runs on the server's thread.
  struct PostRoute {
    std::string pattern;  // a regular expression over the path
    std::function<std::pair<int, std::string>(const std::string& body,
                                              const std::vector<std::string>& captures)>
        handle;
    bool takes_body = true;  // false: a command; a body is not needed (curl -X POST sends none)
  };
  struct Options {
    std::string listen = "127.0.0.1:9100";
    DurationNs stall_timeout = 30 * kNanosPerSecond;  // backlog without progress: not ready
    std::vector<PostRoute> posts = {};
    size_t max_connections = 256;
    DurationNs header_timeout = 2 * kNanosPerSecond;  // from a request's first line
    DurationNs idle_timeout = 5 * kNanosPerSecond;    // an open connection with no request
    DurationNs request_timeout = 10 * kNanosPerSecond;  // a whole request and its answer
    size_t max_header_bytes = 4096;
    size_t max_body_bytes = 4096;
  };
  HttpEndpoint(Options options, MetricsRegistry* metrics, PipelineHealth* health);
  ~HttpEndpoint();

  absl::Status Start();  // binds and serves on a background thread
  void Stop();
  int port() const { return port_; }

  // Connections closed for being too slow or idle, or to make room (for tests and /metrics).
  uint64_t closed_slow() const;

  // libmicrohttpd's callbacks (C linkage wrappers call these).
  struct Request;
  void OnConnection(MHD_Connection* c, bool started);
  Request* OnRequestLine(MHD_Connection* c);
  void OnCompleted(MHD_Connection* c, Request* r);
  int OnRequest(MHD_Connection* c, const char* url, const char* method, const char* upload,
                size_t* upload_size, Request* r);

 private:
  struct Tracked {
    int fd = -1;
    int64_t idle_since = 0;     // steady ns; 0 while a request is in progress
    int64_t request_since = 0;  // steady ns of the request's first line; 0: none
    bool headers_done = false;
    bool closing = false;
  };
  void Reap();
  void CloseLocked(Tracked& t);
  std::pair<int, std::string> Answer(const std::string& url, const std::string& method,
                                     const std::string& body, bool* found);

  Options options_;
  MetricsRegistry* metrics_;
  PipelineHealth* health_;
  MHD_Daemon* daemon_ = nullptr;
  int listen_fd_ = -1;
  int port_ = 0;
  Counter* closed_slow_ = nullptr;
  std::vector<std::regex> post_patterns_;  // options_.posts' patterns, compiled once at Start

  mutable std::mutex mu_;
  std::map<MHD_Connection*, Tracked> tracked_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread reaper_;
};

// "" when ready, else why not.
std::string NotReadyReason(const PipelineHealth& health, DurationNs stall_timeout);

}  // namespace sitepulse
