#include "app/http_endpoint.h"

#include <chrono>

#include "absl/strings/numbers.h"
#include "core/strings.h"
#include "httplib.h"

namespace sitepulse {

std::string NotReadyReason(const PipelineHealth& health, DurationNs stall_timeout) {
  if (!health.inputs_open.load() && !health.finished.load()) return "inputs not open";
  if (!health.sinks_healthy.load()) return "a sink is failing to deliver";
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  if (health.backlog.load() && now - health.last_progress_ns.load() > stall_timeout) {
    return "stuck: input waiting but no progress";
  }
  return "";
}

HttpEndpoint::HttpEndpoint(Options options, MetricsRegistry* metrics, PipelineHealth* health)
    : options_(std::move(options)), metrics_(metrics), health_(health),
      server_(std::make_unique<httplib::Server>()) {}

HttpEndpoint::~HttpEndpoint() { Stop(); }

absl::Status HttpEndpoint::Start() {
  const size_t colon = options_.listen.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(options_.listen.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(StrCat("--listen '", options_.listen, "': expected HOST:PORT"));
  }
  std::string host = options_.listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);

  httplib::Server& s = *server_;
  // Small requests only, and no waiting on slow clients.
  s.set_payload_max_length(4096);
  s.set_read_timeout(2, 0);
  s.set_write_timeout(5, 0);
  s.set_keep_alive_max_count(100);
  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_->RenderPrometheus(), "text/plain; version=0.0.4; charset=utf-8");
  });
  s.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  s.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    const std::string why = NotReadyReason(*health_, options_.stall_timeout);
    if (why.empty()) {
      res.set_content("ready\n", "text/plain");
    } else {
      res.status = 503;
      res.set_content("not ready: " + why + "\n", "text/plain");
    }
  });
  for (const PostRoute& route : options_.posts) {
    if (route.takes_body) {
      s.Post(route.pattern, [handle = route.handle](const httplib::Request& req, httplib::Response& res) {
        std::vector<std::string> captures;
        for (size_t i = 1; i < req.matches.size(); ++i) captures.push_back(req.matches[i].str());
        auto [status, body] = handle(req.body, captures);
        res.status = status;
        res.set_content(body, "text/plain");
      });
      continue;
    }
    // A command without a body (POST /-/reload): `curl -X POST` sends no Content-Length, which
    // a route that reads a body answers 400. The body, if any, is never read; the connection
    // is closed after the answer.
    s.Post(route.pattern, [handle = route.handle](const httplib::Request& req, httplib::Response& res,
                                                  const httplib::ContentReader& /*unread*/) {
      std::vector<std::string> captures;
      for (size_t i = 1; i < req.matches.size(); ++i) captures.push_back(req.matches[i].str());
      auto [status, body] = handle("", captures);
      res.status = status;
      res.set_header("Connection", "close");
      res.set_content(body, "text/plain");
    });
  }
  if (port == 0) {
    port_ = s.bind_to_any_port(host);
    if (port_ < 0) return absl::UnavailableError(StrCat("cannot listen on ", options_.listen));
  } else {
    if (!s.bind_to_port(host, port)) {
      return absl::UnavailableError(StrCat("cannot listen on ", options_.listen,
                                           " (address in use, or not a local address?)"));
    }
    port_ = port;
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return absl::OkStatus();
}

void HttpEndpoint::Stop() {
  if (thread_.joinable()) {
    server_->stop();
    thread_.join();
  }
}

}  // namespace sitepulse
