// The ops endpoint's request handling (app/http_endpoint.h: libmicrohttpd and sitepulse's
// routes, limits and deadlines), over a real loopback connection: the input is sent as the
// client's bytes, then the client stops writing. Invariants: the server answers with an HTTP
// status line or closes, within the request deadline (a request can hold a connection no
// longer than the documented limits), and every answer stays small; the server keeps serving
// (a probe after the input answers 200).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>

#include "app/http_endpoint.h"
#include "fuzz/fuzz_check.h"

using namespace sitepulse;

namespace {

struct Server {
  MetricsRegistry metrics;
  PipelineHealth health;
  std::unique_ptr<HttpEndpoint> endpoint;
  Server() {
    health.inputs_open = true;
    health.last_progress_ns = std::chrono::steady_clock::now().time_since_epoch().count();
    HttpEndpoint::Options o;
    o.listen = "127.0.0.1:0";
    // Short deadlines (the reaper looks every 100 ms): an input that never completes a request
    // costs a fifth of a second, not the production 2 to 10 s. The same code enforces both.
    o.header_timeout = kNanosPerSecond / 5;
    o.idle_timeout = kNanosPerSecond / 5;
    o.request_timeout = kNanosPerSecond / 2;
    o.posts.push_back({"/-/reload", [](const std::string&, const std::vector<std::string>&) {
                         return std::pair<int, std::string>(200, "reloaded\n");
                       }, false});
    o.posts.push_back({"/approve/([A-Za-z0-9_-]{1,64})",
                       [](const std::string& body, const std::vector<std::string>& captures) {
                         return std::pair<int, std::string>(
                             200, captures.at(0) + " " + std::to_string(body.size()) + "\n");
                       }});
    endpoint = std::make_unique<HttpEndpoint>(std::move(o), &metrics, &health);
    const absl::Status st = endpoint->Start();
    FUZZ_CHECK(st.ok(), "the endpoint does not start: %s", std::string(st.message()).c_str());
  }
};

Server& TheServer() {
  static Server* server = new Server();  // never destroyed: its thread serves until exit
  return *server;
}

// Sends `request`, stops writing, and reads until the server closes, or, once it has answered,
// until it stays silent for 20 ms (a keep-alive connection waits for a next request until the
// idle timeout); false if it neither closed nor answered within `limit_ms`.
bool Exchange(int port, std::string_view request, int limit_ms, std::string* answer) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  FUZZ_CHECK(fd >= 0, "socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  FUZZ_CHECK(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0, "connect: %s",
             std::strerror(errno));
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server closed early (a limit): fine
    sent += static_cast<size_t>(n);
  }
  shutdown(fd, SHUT_WR);
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(limit_ms);
  bool closed = false;
  char buf[4096];
  while (!closed) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now()).count();
    if (left <= 0) break;
    pollfd p{fd, POLLIN, 0};
    const int wait = answer->empty() ? static_cast<int>(left) : std::min<int>(20, static_cast<int>(left));
    if (poll(&p, 1, wait) <= 0) {
      if (!answer->empty()) break;  // answered, then silent: done
      continue;
    }
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) {
      closed = true;
    } else if (answer->size() < (1 << 20)) {
      answer->append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  return closed || !answer->empty();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Server& server = TheServer();
  const std::string_view request(reinterpret_cast<const char*>(data), size);
  std::string answer;
  const bool closed = Exchange(server.endpoint->port(), request, 4000, &answer);
  FUZZ_CHECK(closed, "no answer and no close 4 s after the request ended: %s",
             fuzz::Printable(request).c_str());
  FUZZ_CHECK(answer.empty() || answer.rfind("HTTP/1.", 0) == 0, "not an HTTP answer: %s",
             fuzz::Printable(answer).c_str());
  FUZZ_CHECK(answer.size() < (1 << 20), "an answer of %zu bytes", answer.size());
  std::string probe;
  Exchange(server.endpoint->port(), "GET /healthz HTTP/1.0\r\n\r\n", 4000, &probe);
  FUZZ_CHECK(probe.rfind("HTTP/1.1 200", 0) == 0 || probe.rfind("HTTP/1.0 200", 0) == 0, "/healthz after the input: %s",
             fuzz::Printable(probe).c_str());
  return 0;
}
