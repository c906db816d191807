// Reliable-enough HTTP delivery for the alerting sinks (Alertmanager, webhooks): a bounded queue
// with an explicit overflow policy, one worker thread with a reused libcurl handle, batching,
// bounded retries with exponential backoff and jitter, and counters for every outcome. An item
// counts as delivered only after a 2xx answer.
//
// Threading: Enqueue/Flush from the pipeline's coordinator; sending on the worker thread. Anomaly
// events are rare next to log lines, so a mutex-guarded queue is fine here (not a hot path).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/metrics.h"
#include "core/time.h"

namespace sitepulse {

enum class OverflowPolicy { kBlock, kShed };

struct HttpDeliveryOptions {
  int max_retries = 8;  // after the first try
  DurationNs backoff_initial = 200'000'000;
  DurationNs backoff_max = 10 * kNanosPerSecond;
  DurationNs timeout = 5 * kNanosPerSecond;  // per request
  size_t queue_capacity = 10000;
  OverflowPolicy overflow = OverflowPolicy::kBlock;
  bool tls_verify = true;
  size_t max_batch = 1;           // items per request
  DurationNs tick_interval = 0;   // 0: no periodic tick
  uint64_t jitter_seed = 0;       // 0: from std::random_device
  bool operator==(const HttpDeliveryOptions&) const = default;
};

struct HttpItem {
  std::string body;
  std::vector<std::string> headers;  // "Name: value"
};

class HttpDelivery {
 public:
  // Turns a batch of items into one request (body and extra headers).
  using BuildRequest = std::function<void(const std::vector<HttpItem>& batch, std::string* body,
                                          std::vector<std::string>* headers)>;
  // Called on the worker every tick_interval; what it returns is sent as soon as possible (the
  // Alertmanager sink re-sends its firing alerts this way).
  using Tick = std::function<std::vector<HttpItem>()>;

  HttpDelivery(std::string sink_name, std::string url, HttpDeliveryOptions options,
               MetricsRegistry* metrics, BuildRequest build, Tick tick = {});
  ~HttpDelivery();  // stops the worker; what is still queued is counted as dropped
  HttpDelivery(const HttpDelivery&) = delete;
  HttpDelivery& operator=(const HttpDelivery&) = delete;

  void Enqueue(HttpItem item);
  // Waits until everything enqueued so far is delivered or has failed, at most `deadline`.
  // Returns true if nothing failed or was dropped since the sink started.
  bool Flush(DurationNs deadline);
  // False after a failed or dropped item, until the next successful delivery.
  bool healthy() const { return healthy_.load(std::memory_order_relaxed); }
  const std::string& url() const { return url_; }

 private:
  void Run();
  // One request with up to max_retries retries; true on 2xx.
  bool Send(const std::vector<HttpItem>& batch, int max_retries, std::unique_lock<std::mutex>& lock);
  // Single attempt: HTTP status, or -1 on a transport error.
  long Post(const std::string& body, const std::vector<std::string>& headers, std::string* error);

  std::string name_;
  std::string url_;
  HttpDeliveryOptions options_;
  BuildRequest build_;
  Tick tick_;
  void* curl_ = nullptr;
  std::mt19937_64 rng_;

  std::mutex mu_;
  std::condition_variable cv_;        // worker: items, stop, tick
  std::condition_variable done_cv_;   // Enqueue (space) and Flush (drained)
  std::deque<HttpItem> queue_;
  size_t in_flight_ = 0;
  bool stop_ = false;
  std::atomic<bool> healthy_{true};
  std::thread worker_;

  Counter* delivered_;
  Counter* failed_;
  Counter* dropped_;
  Counter* retries_;
  Counter* requests_;
  Gauge* queue_depth_;
};

}  // namespace sitepulse
