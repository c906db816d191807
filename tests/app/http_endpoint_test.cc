// The ops endpoint under abuse, on loopback (bounded: 264 sockets, about 4 seconds): probes
// answer within 100 ms while 64 slow clients and 200 idle connections are held open; a slow
// client is cut 2 s after its request line; the connection cap closes the oldest idle first;
// headers and bodies over 4 KiB are refused with 431 and 413.
#include "app/http_endpoint.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace sitepulse {
namespace {

using Clock = std::chrono::steady_clock;

// The probes' bound: 100 ms, as the issue asks; sanitizer builds run everything several times
// slower, and what is tested (a probe never waits behind slow clients, which would take
// seconds) holds at 500 ms there.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr double kProbeBoundMs = 500;
#else
constexpr double kProbeBoundMs = 100;
#endif

int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

void Send(int fd, const std::string& s) {
  for (size_t off = 0; off < s.size();) {
    const ssize_t n = send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

// One request on a fresh connection; the status code (0: no answer) and the whole answer.
int Request(int port, const std::string& request, std::string* answer = nullptr) {
  const int fd = Connect(port);
  if (fd < 0) return 0;
  Send(fd, request);
  std::string got;
  char buf[4096];
  pollfd p{fd, POLLIN, 0};
  while (poll(&p, 1, 3000) > 0) {
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  if (answer != nullptr) *answer = got;
  return got.rfind("HTTP/1.", 0) == 0 ? std::atoi(got.c_str() + 9) : 0;
}

// True once the peer closed `fd` (within `ms`).
bool ClosedWithin(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  const auto until = Clock::now() + std::chrono::milliseconds(ms);
  while (Clock::now() < until) {
    if (poll(&p, 1, 50) > 0) {
      char c;
      const ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);
      if (n <= 0) return true;
    }
  }
  return false;
}

class HttpEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    health_.inputs_open.store(true);
    HttpEndpoint::Options o;
    o.listen = "127.0.0.1:0";
    o.posts = {{"/echo", [](const std::string& body, const std::vector<std::string>&) {
                  return std::pair<int, std::string>{200, "got " + std::to_string(body.size()) + "\n"};
                }}};
    endpoint_ = std::make_unique<HttpEndpoint>(o, &metrics_, &health_);
    ASSERT_TRUE(endpoint_->Start().ok());
    port_ = endpoint_->port();
  }
  MetricsRegistry metrics_;
  PipelineHealth health_;
  std::unique_ptr<HttpEndpoint> endpoint_;
  int port_ = 0;
};

TEST_F(HttpEndpointTest, ProbesAnswerFastWhileSlowAndIdleClientsAreHeld) {
  std::vector<int> idle;
  for (int i = 0; i < 200; ++i) {
    const int fd = Connect(port_);
    ASSERT_GE(fd, 0);
    idle.push_back(fd);
  }
  // 64 slow clients: a request line, then a header line every 300 ms, never the blank line.
  std::vector<int> slow;
  std::vector<Clock::time_point> started;
  for (int i = 0; i < 64; ++i) {
    const int fd = Connect(port_);
    ASSERT_GE(fd, 0);
    Send(fd, "GET /metrics HTTP/1.1\r\nHost: x\r\n");
    slow.push_back(fd);
    started.push_back(Clock::now());
  }
  std::atomic<bool> stop{false};
  std::thread dribble([&] {
    while (!stop.load()) {
      for (int fd : slow) Send(fd, "X-Slow: 1\r\n");
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
  });
  // Probes while all of them are held (the first 1.5 s).
  double worst_ms = 0;
  int answered = 0;
  for (int i = 0; i < 10; ++i) {
    for (const char* path : {"/healthz", "/readyz"}) {
      const auto t0 = Clock::now();
      const int status = Request(port_, std::string("GET ") + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      worst_ms = std::max(worst_ms, std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      answered += status == 200;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::printf("20 probes with 200 idle and 64 slow clients held: slowest %.1f ms\n", worst_ms);
  EXPECT_EQ(answered, 20);
  EXPECT_LT(worst_ms, kProbeBoundMs) << "a probe waited behind slow or idle clients";
  // The cap (256) made room for the slow clients and the probes by closing idle ones.
  EXPECT_GT(endpoint_->closed_slow(), 0u);
  // Each slow client is cut 2 s after its request line, however steadily it dribbles.
  size_t cut = 0;
  for (size_t i = 0; i < slow.size(); ++i) {
    const auto deadline = started[i] + std::chrono::milliseconds(2600);
    const int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
    if (ClosedWithin(slow[i], std::max(left, 1))) ++cut;
  }
  const double since_first = std::chrono::duration<double>(Clock::now() - started.front()).count();
  stop.store(true);
  dribble.join();
  EXPECT_EQ(cut, slow.size()) << "after " << since_first << " s";
  EXPECT_GE(since_first, 2.0);
  for (int fd : slow) close(fd);
  for (int fd : idle) close(fd);
  EXPECT_EQ(Request(port_, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), 200);
}

TEST_F(HttpEndpointTest, HeadersAndBodiesOverFourKibAreRefused) {
  const std::string base = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
  EXPECT_EQ(Request(port_, base + "X-Big: " + std::string(8192, 'a') + "\r\n\r\n"), 431);
  std::string many = base;
  for (int i = 0; i < 64; ++i) many += "X-H" + std::to_string(i) + ": " + std::string(1024, 'b') + "\r\n";
  const int status = Request(port_, many + "\r\n");
  EXPECT_EQ(status, 431);
  // Just under the limit is fine.
  EXPECT_EQ(Request(port_, base + "X-Ok: " + std::string(3000, 'c') + "\r\n\r\n"), 200);
  const std::string post = "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: ";
  std::string answer;
  EXPECT_EQ(Request(port_, post + "4000\r\n\r\n" + std::string(4000, 'd'), &answer), 200);
  EXPECT_NE(answer.find("got 4000"), std::string::npos) << answer;
  EXPECT_EQ(Request(port_, post + "5000\r\n\r\n" + std::string(5000, 'e')), 413);
  // A command needs no body: curl -X POST sends no Content-Length.
  EXPECT_EQ(Request(port_, "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &answer), 200);
  EXPECT_EQ(Request(port_, "GET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), 404);
}

TEST_F(HttpEndpointTest, AnIdleConnectionIsClosedAfterFiveSeconds) {
  const int fd = Connect(port_);
  ASSERT_GE(fd, 0);
  Send(fd, "GET /metr");  // half a request line, then nothing
  const auto t0 = Clock::now();
  EXPECT_TRUE(ClosedWithin(fd, 7000));
  const double waited = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_GE(waited, 4.5);
  close(fd);
}

}  // namespace
}  // namespace sitepulse
