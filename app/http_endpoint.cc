#include "app/http_endpoint.h"

#include <microhttpd.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <regex>

#include "absl/strings/numbers.h"
#include "app/pipeline_stats.h"
#include "core/log.h"
#include "core/strings.h"

namespace sitepulse {

std::string NotReadyReason(const PipelineHealth& health, DurationNs stall_timeout) {
  if (!health.inputs_open.load() && !health.finished.load()) return "inputs not open";
  if (!health.sinks_healthy.load()) return "a sink is failing to deliver";
  if (health.backlog.load() && SteadyNowNs() - health.last_progress_ns.load() > stall_timeout) {
    return "stuck: input waiting but no progress";
  }
  return "";
}

// One request: its body so far, and whether it outgrew the limit.
struct HttpEndpoint::Request {
  std::string body;
  bool too_large = false;          // the body
  bool headers_too_large = false;
  bool seen = false;  // the access handler ran once (headers complete)
};

// libmicrohttpd's C callbacks, forwarding to the endpoint.
extern "C" {
static void SpNotifyConnection(void* cls, MHD_Connection* c, void** /*socket_context*/,
                               enum MHD_ConnectionNotificationCode toe) {
  static_cast<HttpEndpoint*>(cls)->OnConnection(c, toe == MHD_CONNECTION_NOTIFY_STARTED);
}
static void* SpUriLog(void* cls, const char* /*uri*/, MHD_Connection* c) {
  return static_cast<HttpEndpoint*>(cls)->OnRequestLine(c);
}
static void SpCompleted(void* cls, MHD_Connection* c, void** req_cls,
                        enum MHD_RequestTerminationCode /*toe*/) {
  static_cast<HttpEndpoint*>(cls)->OnCompleted(c, static_cast<HttpEndpoint::Request*>(*req_cls));
  *req_cls = nullptr;
}
static enum MHD_Result SpAccess(void* cls, MHD_Connection* c, const char* url, const char* method,
                                const char* /*version*/, const char* upload, size_t* upload_size,
                                void** req_cls) {
  return static_cast<HttpEndpoint*>(cls)->OnRequest(c, url, method, upload, upload_size,
                                                    static_cast<HttpEndpoint::Request*>(*req_cls))
             ? MHD_YES
             : MHD_NO;
}
}

HttpEndpoint::HttpEndpoint(Options options, MetricsRegistry* metrics, PipelineHealth* health)
    : options_(std::move(options)), metrics_(metrics), health_(health) {
  closed_slow_ = metrics_->GetCounter(
      "sitepulse_http_connections_closed_total",
      "Connections of the ops endpoint closed for being too slow or idle, or to make room");
}

HttpEndpoint::~HttpEndpoint() { Stop(); }

uint64_t HttpEndpoint::closed_slow() const { return closed_slow_->value(); }

void HttpEndpoint::OnConnection(MHD_Connection* c, bool started) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!started) {
    tracked_.erase(c);
    return;
  }
  const MHD_ConnectionInfo* info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
  Tracked t;
  t.fd = info != nullptr ? info->connect_fd : -1;
  t.idle_since = SteadyNowNs();
  tracked_[c] = t;
  if (tracked_.size() <= options_.max_connections) return;
  // Full: the connection idle the longest makes room (else the one whose request is oldest).
  Tracked* victim = nullptr;
  for (auto& [conn, other] : tracked_) {
    if (conn == c || other.closing) continue;
    const bool idle = other.request_since == 0;
    const int64_t since = idle ? other.idle_since : other.request_since;
    if (victim == nullptr || (idle && victim->request_since != 0) ||
        (idle == (victim->request_since == 0) &&
         since < (victim->request_since == 0 ? victim->idle_since : victim->request_since))) {
      victim = &other;
    }
  }
  if (victim != nullptr) CloseLocked(*victim);
}

HttpEndpoint::Request* HttpEndpoint::OnRequestLine(MHD_Connection* c) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = tracked_.find(c); it != tracked_.end()) {
      it->second.request_since = SteadyNowNs();
      it->second.idle_since = 0;
      it->second.headers_done = false;
    }
  }
  return new Request();
}

void HttpEndpoint::OnCompleted(MHD_Connection* c, Request* r) {
  delete r;
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = tracked_.find(c); it != tracked_.end()) {
    it->second.request_since = 0;
    it->second.idle_since = SteadyNowNs();
  }
}

// Closes a connection past its deadline: shutdown() wakes libmicrohttpd's loop, which then
// closes it and reports it closed (OnConnection), which needs mu_: the fd cannot have been
// closed and reused while it is still tracked here.
void HttpEndpoint::CloseLocked(Tracked& t) {
  if (t.closing || t.fd < 0) return;
  t.closing = true;
  ::shutdown(t.fd, SHUT_RDWR);
  closed_slow_->Add();
}

void HttpEndpoint::Reap() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::milliseconds(100));
    const int64_t now = SteadyNowNs();
    for (auto& [c, t] : tracked_) {
      if (t.closing) continue;
      if (t.request_since == 0) {
        if (now - t.idle_since > options_.idle_timeout) CloseLocked(t);
      } else if ((!t.headers_done && now - t.request_since > options_.header_timeout) ||
                 now - t.request_since > options_.request_timeout) {
        CloseLocked(t);
      }
    }
  }
}

std::pair<int, std::string> HttpEndpoint::Answer(const std::string& url, const std::string& method,
                                                 const std::string& body, bool* found) {
  *found = true;
  if (method == "GET" || method == "HEAD") {
    if (url == "/metrics") return {200, metrics_->RenderPrometheus()};
    if (url == "/healthz") return {200, "ok\n"};
    if (url == "/readyz") {
      const std::string why = NotReadyReason(*health_, options_.stall_timeout);
      return why.empty() ? std::pair<int, std::string>{200, "ready\n"}
                         : std::pair<int, std::string>{503, "not ready: " + why + "\n"};
    }
  } else if (method == "POST") {
    for (size_t i = 0; i < options_.posts.size(); ++i) {
      const PostRoute& route = options_.posts[i];
      std::smatch m;
      if (!std::regex_match(url, m, post_patterns_[i])) continue;
      std::vector<std::string> captures;
      for (size_t g = 1; g < m.size(); ++g) captures.push_back(m[g].str());
      return route.handle(route.takes_body ? body : "", captures);
    }
  }
  *found = false;
  return {404, "not found\n"};
}

int HttpEndpoint::OnRequest(MHD_Connection* c, const char* url, const char* method,
                            const char* upload, size_t* upload_size, Request* r) {
  if (r == nullptr) return 0;
  if (!r->seen) {
    r->seen = true;
    size_t header_bytes = std::strlen(url) + std::strlen(method) + 12;
    MHD_get_connection_values(
        c, MHD_HEADER_KIND,
        [](void* cls, enum MHD_ValueKind, const char* key, const char* value) {
          *static_cast<size_t*>(cls) += std::strlen(key) + (value ? std::strlen(value) : 0) + 4;
          return MHD_YES;
        },
        &header_bytes);
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = tracked_.find(c); it != tracked_.end()) it->second.headers_done = true;
    if (header_bytes > options_.max_header_bytes) r->headers_too_large = true;
    return 1;  // the body, if any, comes next
  }
  if (*upload_size > 0) {
    if (r->body.size() + *upload_size > options_.max_body_bytes) r->too_large = true;
    if (!r->too_large) r->body.append(upload, *upload_size);
    *upload_size = 0;
    return 1;
  }
  int status = 0;
  std::string text;
  bool found = true;
  if (r->headers_too_large) {
    status = 431;
    text = StrCat("request headers over ", options_.max_header_bytes, " bytes\n");
  } else if (r->too_large) {
    status = 413;
    text = StrCat("request body over ", options_.max_body_bytes, " bytes\n");
  } else {
    std::tie(status, text) = Answer(url, method, r->body, &found);
  }
  MHD_Response* res =
      MHD_create_response_from_buffer(text.size(), text.data(), MHD_RESPMEM_MUST_COPY);
  MHD_add_response_header(res, "Content-Type",
                          std::string(url) == "/metrics" && status == 200
                              ? "text/plain; version=0.0.4; charset=utf-8"
                              : "text/plain");
  if (status >= 400) MHD_add_response_header(res, "Connection", "close");
  const MHD_Result ok = MHD_queue_response(c, static_cast<unsigned>(status), res);
  MHD_destroy_response(res);
  return ok == MHD_YES ? 1 : 0;
}

absl::Status HttpEndpoint::Start() {
  const size_t colon = options_.listen.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(options_.listen.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(StrCat("--listen '", options_.listen, "': expected HOST:PORT"));
  }
  std::string host = options_.listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.empty() ? nullptr : host.c_str(), std::to_string(port).c_str(), &hints,
                  &found) != 0 || found == nullptr) {
    return absl::UnavailableError(StrCat("cannot listen on ", options_.listen, " (unknown address)"));
  }
  int fd = -1;
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, 128) != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  if (fd < 0) {
    return absl::UnavailableError(StrCat("cannot listen on ", options_.listen,
                                         " (address in use, or not a local address?)"));
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  listen_fd_ = fd;
  post_patterns_.clear();
  for (const PostRoute& route : options_.posts) post_patterns_.emplace_back(route.pattern);
  // libmicrohttpd's own limits sit above ours: it would refuse a newcomer, where we close the
  // connection idle the longest (OnConnection); its memory pool bounds what one request holds.
  daemon_ = MHD_start_daemon(
      MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC, 0, nullptr, nullptr, &SpAccess, this,
      MHD_OPTION_LISTEN_SOCKET, fd,
      MHD_OPTION_CONNECTION_LIMIT, static_cast<unsigned>(options_.max_connections + 64),
      MHD_OPTION_CONNECTION_TIMEOUT, static_cast<unsigned>(options_.request_timeout / kNanosPerSecond),
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<size_t>(32 * 1024),
      MHD_OPTION_NOTIFY_CONNECTION, &SpNotifyConnection, this,
      MHD_OPTION_URI_LOG_CALLBACK, &SpUriLog, this,
      MHD_OPTION_NOTIFY_COMPLETED, &SpCompleted, this,
      MHD_OPTION_END);
  if (daemon_ == nullptr) {
    ::close(fd);
    listen_fd_ = -1;
    return absl::UnavailableError(StrCat("cannot serve on ", options_.listen));
  }
  reaper_ = std::thread([this] { Reap(); });
  return absl::OkStatus();
}

void HttpEndpoint::Stop() {
  if (daemon_ == nullptr) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  reaper_.join();
  // Quiesced, the daemon leaves the listen socket to us (else it closes it itself).
  const MHD_socket quiesced = MHD_quiesce_daemon(daemon_);
  MHD_stop_daemon(daemon_);
  daemon_ = nullptr;
  if (quiesced != MHD_INVALID_SOCKET) ::close(quiesced);
  listen_fd_ = -1;
}

}  // namespace sitepulse
