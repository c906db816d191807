// /metrics, /healthz and /readyz of a live sitepulse: the text passes `promtool check metrics`
// and a real Prometheus server (started here, on loopback) scrapes it.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <regex>

#include "httplib.h"
#include "simdjson.h"
#include "tests/integration/live_process.h"

namespace sitepulse {
namespace {

using testing::Eventually;
using testing::LiveSitepulse;
using testing::ReadFile;
using testing::RunCommand;
using testing::TempDir;

using testing::ListenPort;

class MetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto gen = RunCommand(std::string(SITEPULSE_LOGGEN) +
                              " --format nginx --sites 3 --rps 5 --duration 10m --seed 9 --bad-lines 0.01"
                              " --out " + dir_ / "access.log",
                          dir_);
    ASSERT_EQ(gen.exit_code, 0) << gen.err;
    std::ofstream(dir_ / "config.yaml")
        << "format: {preset: nginx}\nlisten: 127.0.0.1:0\nmetrics: {site_gauges: 2}\n"
           "outputs: [file:" << dir_ / "events.jsonl" << "]\n"
           "detectors:\n  - {name: slow, metric: p99, threshold: 0.5, window: 1m}\n";
  }
  TempDir dir_;
};

TEST_F(MetricsTest, PromtoolAcceptsAndPrometheusScrapes) {
  LiveSitepulse sp(dir_, {"--config", dir_ / "config.yaml"});
  ASSERT_TRUE(sp.running()) << sp.Stderr();
  const std::string log = ReadFile(dir_ / "access.log");
  sp.Write(log);
  const uint64_t lines = testing::Lines(log).size();
  int port = 0;
  ASSERT_TRUE(Eventually([&] { return (port = ListenPort(sp.Stderr())) > 0; })) << sp.Stderr();
  httplib::Client cli("127.0.0.1", port);
  ASSERT_TRUE(Eventually([&] {
    auto r = cli.Get("/metrics");
    return r && r->body.find("sitepulse_lines_total " + std::to_string(lines) + "\n") != std::string::npos;
  })) << "lines never reached " << lines;
  auto metrics = cli.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  const std::string& text = metrics->body;
  std::ofstream(dir_ / "metrics.txt") << text;
  auto check = RunCommand("promtool check metrics < " + dir_ / "metrics.txt", dir_);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_NE(text.find("sitepulse_lines_rejected_total{reason=\"malformed_json\"}"), std::string::npos);
  EXPECT_NE(text.find("sitepulse_watermark_seconds 17356"), std::string::npos);  // Jan 2025
  EXPECT_NE(text.find("sitepulse_queue_depth{queue=\"parse\"}"), std::string::npos);
  // Per-site gauges stop at the cap: three sites, two series.
  size_t p99_series = 0;
  for (size_t pos = 0; (pos = text.find("\nsitepulse_site_p99_seconds{", pos)) != std::string::npos; ++pos) ++p99_series;
  EXPECT_EQ(p99_series, 2u);

  auto health = cli.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto ready = cli.Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200) << ready->body;

  // Oversized requests are refused.
  auto big = cli.Post("/metrics", std::string(100000, 'x'), "text/plain");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);

  // A real Prometheus scrapes it.
  const int prom_port = 19090 + (::getpid() % 500);
  std::ofstream(dir_ / "prometheus.yml")
      << "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
         "scrape_configs:\n  - job_name: sitepulse\n    static_configs:\n      - targets: ['127.0.0.1:"
      << port << "']\n";
  const std::string prom_cmd = "prometheus --config.file=" + dir_ / "prometheus.yml" +
                               " --storage.tsdb.path=" + dir_ / "tsdb" +
                               " --web.listen-address=127.0.0.1:" + std::to_string(prom_port) +
                               " > " + dir_ / "prometheus.log" + " 2>&1 & echo $! > " + dir_ / "prometheus.pid";
  ASSERT_EQ(std::system(prom_cmd.c_str()), 0);
  httplib::Client prom("127.0.0.1", prom_port);
  const bool scraped = Eventually(
      [&] {
        auto r = prom.Get("/api/v1/query?query=sitepulse_lines_total");
        return r && r->status == 200 && r->body.find("\"" + std::to_string(lines) + "\"") != std::string::npos;
      },
      std::chrono::milliseconds(30000));
  auto up = prom.Get("/api/v1/query?query=up%7Bjob%3D%22sitepulse%22%7D");
  std::system(("kill $(cat " + dir_ / "prometheus.pid" + ")").c_str());
  EXPECT_TRUE(scraped) << "Prometheus never saw sitepulse_lines_total=" << lines << "\n"
                       << ReadFile(dir_ / "prometheus.log");
  ASSERT_TRUE(up);
  EXPECT_NE(up->body.find("\"1\"]"), std::string::npos) << up->body;

  EXPECT_EQ(sp.Wait(), 0) << sp.Stderr();
}

TEST_F(MetricsTest, SlowClientsAreCutOff) {
  LiveSitepulse sp(dir_, {"--config", dir_ / "config.yaml"});
  ASSERT_TRUE(sp.running()) << sp.Stderr();
  int port = 0;
  ASSERT_TRUE(Eventually([&] { return (port = ListenPort(sp.Stderr())) > 0; })) << sp.Stderr();
  // Send half a request line and stall: the server closes the connection after its read timeout.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_GT(write(fd, "GET /metr", 9), 0);
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  char buf[256];
  const auto t0 = std::chrono::steady_clock::now();
  const ssize_t n = read(fd, buf, sizeof(buf));  // 0 (closed) well before our own 10 s
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  close(fd);
  EXPECT_LE(n, 0);
  EXPECT_LT(waited, 8.0);
  // The endpoint still answers others.
  httplib::Client cli("127.0.0.1", port);
  auto r = cli.Get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(sp.Wait(), 0);
}

}  // namespace
}  // namespace sitepulse
