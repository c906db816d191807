// The webhook sink against a local HTTP server (loopback, in-process): payload, idempotency key,
// signature, retries on 5xx, no retries on 4xx, and the counters.
#include "sinks/webhook_sink.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "httplib.h"

namespace sitepulse {
namespace {

struct Received {
  std::string body, idempotency_key, signature;
};

class WebhookServer {
 public:
  explicit WebhookServer(int fail_first_n, int status_on_failure = 503)
      : fail_left_(fail_first_n), failure_status_(status_on_failure) {
    server_.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      ++requests_;
      if (fail_left_ > 0) {
        --fail_left_;
        res.status = failure_status_;
        return;
      }
      std::lock_guard<std::mutex> lock(mu_);
      received_.push_back({req.body, req.get_header_value("Idempotency-Key"),
                           req.get_header_value("X-Sitepulse-Signature")});
      res.status = 202;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~WebhookServer() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  std::vector<Received> received() {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }
  int requests() const { return requests_; }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<int> fail_left_;
  int failure_status_;
  std::atomic<int> requests_{0};
  std::mutex mu_;
  std::vector<Received> received_;
};

Anomaly Sample(AlertState state) {
  Anomaly a;
  a.id = "0123456789abcdef";
  a.site = "shop";
  a.detector = "p99";
  a.state = state;
  a.severity = "page";
  a.metric = "p99";
  a.summary = "slow";
  return a;
}

OutputSpec FastRetries() {
  OutputSpec o;
  o.http.backoff_initial = 1'000'000;  // 1 ms
  o.http.backoff_max = 5'000'000;
  o.http.max_retries = 5;
  o.http.jitter_seed = 1;
  o.flush_deadline = 10 * kNanosPerSecond;
  return o;
}

TEST(WebhookSinkTest, DeliversSignedEventsWithIdempotencyKeys) {
  WebhookServer server(0);
  MetricsRegistry metrics;
  OutputSpec spec = FastRetries();
  spec.secret = "s3cret";
  WebhookSink sink(server.url(), spec, &metrics);
  sink.Publish(Sample(AlertState::kFiring));
  sink.Publish(Sample(AlertState::kResolved));
  ASSERT_TRUE(sink.Flush());
  auto got = server.received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].body, AnomalyToJson(Sample(AlertState::kFiring)));
  EXPECT_EQ(got[0].idempotency_key, "0123456789abcdef:firing");
  EXPECT_EQ(got[1].idempotency_key, "0123456789abcdef:resolved");
  EXPECT_EQ(got[0].signature, "sha256=" + HmacSha256Hex("s3cret", got[0].body));
  EXPECT_EQ(metrics.CounterSum("sitepulse_sink_events_total", "result", "delivered"), 2u);
}

TEST(WebhookSinkTest, HmacMatchesAKnownVector) {
  // RFC 4231, test case 2.
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(WebhookSinkTest, RetriesServerErrorsThenDelivers) {
  WebhookServer server(3);
  MetricsRegistry metrics;
  WebhookSink sink(server.url(), FastRetries(), &metrics);
  sink.Publish(Sample(AlertState::kFiring));
  ASSERT_TRUE(sink.Flush());
  EXPECT_EQ(server.received().size(), 1u);
  EXPECT_EQ(server.requests(), 4);
  EXPECT_EQ(metrics.CounterSum("sitepulse_sink_retries_total"), 3u);
  EXPECT_TRUE(sink.healthy());
}

TEST(WebhookSinkTest, GivesUpAfterBoundedRetriesAndSaysSo) {
  WebhookServer server(100);
  MetricsRegistry metrics;
  WebhookSink sink(server.url(), FastRetries(), &metrics);
  sink.Publish(Sample(AlertState::kFiring));
  EXPECT_FALSE(sink.Flush());
  EXPECT_EQ(server.requests(), 6);  // 1 + max_retries
  EXPECT_EQ(metrics.CounterSum("sitepulse_sink_events_total", "result", "failed"), 1u);
  EXPECT_FALSE(sink.healthy());
}

TEST(WebhookSinkTest, ClientErrorsAreNotRetried) {
  WebhookServer server(100, 400);
  MetricsRegistry metrics;
  WebhookSink sink(server.url(), FastRetries(), &metrics);
  sink.Publish(Sample(AlertState::kFiring));
  EXPECT_FALSE(sink.Flush());
  EXPECT_EQ(server.requests(), 1);
}

TEST(WebhookSinkTest, ShedPolicyCountsDrops) {
  // Nothing listens on this port: every delivery fails slowly enough for the queue to fill.
  MetricsRegistry metrics;
  OutputSpec spec = FastRetries();
  spec.http.queue_capacity = 2;
  spec.http.overflow = OverflowPolicy::kShed;
  spec.http.max_retries = 50;
  spec.http.backoff_initial = 20'000'000;
  spec.flush_deadline = 100'000'000;
  WebhookSink sink("http://127.0.0.1:1/hook", spec, &metrics);
  for (int i = 0; i < 10; ++i) sink.Publish(Sample(AlertState::kFiring));
  EXPECT_FALSE(sink.Flush());
  EXPECT_GE(metrics.CounterSum("sitepulse_sink_events_total", "result", "dropped"), 7u);
}

// TLS verification is on by default: a self-signed server (openssl s_server on loopback) is
// refused, and the event counts as failed rather than delivered to an unverified peer.
TEST(WebhookSinkTest, SelfSignedCertificateIsRefusedByDefault) {
  char dir[] = "/tmp/sitepulse_tls_XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string d = dir;
  const int port = 20000 + (::getpid() % 20000);
  const std::string setup =
      "cd " + d + " && openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem "
      "-days 1 -subj /CN=127.0.0.1 >/dev/null 2>&1 && "
      "(openssl s_server -quiet -accept 127.0.0.1:" + std::to_string(port) +
      " -cert cert.pem -key key.pem -www >/dev/null 2>&1 & echo $! > pid) && sleep 0.5";
  ASSERT_EQ(std::system(setup.c_str()), 0);
  MetricsRegistry metrics;
  OutputSpec spec = FastRetries();
  spec.http.max_retries = 0;
  {
    WebhookSink sink("https://127.0.0.1:" + std::to_string(port) + "/hook", spec, &metrics);
    sink.Publish(Sample(AlertState::kFiring));
    EXPECT_FALSE(sink.Flush());
  }
  std::system(("kill $(cat " + d + "/pid); rm -rf " + d).c_str());
  EXPECT_EQ(metrics.CounterSum("sitepulse_sink_events_total", "result", "failed"), 1u);
  EXPECT_EQ(metrics.CounterSum("sitepulse_sink_events_total", "result", "delivered"), 0u);
}

}  // namespace
}  // namespace sitepulse
