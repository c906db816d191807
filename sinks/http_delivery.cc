#include "sinks/http_delivery.h"
#include "core/log.h"

#include <curl/curl.h>

#include <chrono>
#include <cstdio>

namespace sitepulse {
namespace {

size_t DiscardBody(char*, size_t size, size_t nmemb, void*) { return size * nmemb; }

void GlobalInitOnce() {
  static const bool done = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
  (void)done;
}

}  // namespace

HttpDelivery::HttpDelivery(std::string sink_name, std::string url, HttpDeliveryOptions options,
                           MetricsRegistry* metrics, BuildRequest build, Tick tick)
    : name_(std::move(sink_name)),
      url_(std::move(url)),
      options_(options),
      build_(std::move(build)),
      tick_(std::move(tick)),
      rng_(options.jitter_seed != 0 ? options.jitter_seed : std::random_device{}()) {
  GlobalInitOnce();
  curl_ = curl_easy_init();
  const MetricLabels sink = {{"sink", name_}};
  auto outcome = [&](const char* result) {
    return metrics->GetCounter("sitepulse_sink_events_total",
                               "Anomaly events handed to a sink, by outcome (delivered = 2xx)",
                               {{"result", result}, {"sink", name_}});
  };
  delivered_ = outcome("delivered");
  failed_ = outcome("failed");
  dropped_ = outcome("dropped");
  retries_ = metrics->GetCounter("sitepulse_sink_retries_total",
                                 "Requests retried after a transport error or a retryable status",
                                 sink);
  requests_ = metrics->GetCounter("sitepulse_sink_requests_total", "HTTP requests sent by a sink",
                                  sink);
  queue_depth_ = metrics->GetGauge("sitepulse_sink_queue_depth",
                                   "Events waiting in a sink's queue", sink);
  worker_ = std::thread([this] { Run(); });
}

HttpDelivery::~HttpDelivery() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  worker_.join();
  if (!queue_.empty()) dropped_->Add(queue_.size());
  curl_easy_cleanup(static_cast<CURL*>(curl_));
}

void HttpDelivery::Enqueue(HttpItem item) {
  std::unique_lock<std::mutex> lock(mu_);
  if (queue_.size() >= options_.queue_capacity) {
    if (options_.overflow == OverflowPolicy::kShed) {
      dropped_->Add();
      healthy_.store(false, std::memory_order_relaxed);
      return;
    }
    done_cv_.wait(lock, [&] { return queue_.size() < options_.queue_capacity || stop_; });
  }
  queue_.push_back(std::move(item));
  queue_depth_->Set(static_cast<double>(queue_.size()));
  cv_.notify_one();
}

bool HttpDelivery::Flush(DurationNs deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait_for(lock, std::chrono::nanoseconds(deadline),
                    [&] { return queue_.empty() && in_flight_ == 0; });
  return queue_.empty() && in_flight_ == 0 && failed_->value() == 0 && dropped_->value() == 0;
}

void HttpDelivery::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  auto next_tick = std::chrono::steady_clock::now() + std::chrono::nanoseconds(options_.tick_interval);
  while (true) {
    if (options_.tick_interval > 0) {
      cv_.wait_until(lock, next_tick, [&] { return stop_ || !queue_.empty(); });
    } else {
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    }
    if (stop_) return;
    if (options_.tick_interval > 0 && std::chrono::steady_clock::now() >= next_tick) {
      next_tick = std::chrono::steady_clock::now() + std::chrono::nanoseconds(options_.tick_interval);
      lock.unlock();
      std::vector<HttpItem> again = tick_ ? tick_() : std::vector<HttpItem>{};
      lock.lock();
      for (size_t i = 0; i < again.size(); i += options_.max_batch) {
        std::vector<HttpItem> batch(again.begin() + static_cast<std::ptrdiff_t>(i),
                                    again.begin() + static_cast<std::ptrdiff_t>(
                                        std::min(again.size(), i + options_.max_batch)));
        // A re-send is tried once: the next tick tries again, and it must not hold up new events.
        Send(batch, 0, lock);
        if (stop_) return;
      }
    }
    if (queue_.empty()) continue;
    std::vector<HttpItem> batch;
    while (!queue_.empty() && batch.size() < options_.max_batch) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    in_flight_ = batch.size();
    queue_depth_->Set(static_cast<double>(queue_.size()));
    done_cv_.notify_all();  // room in the queue
    const bool ok = Send(batch, options_.max_retries, lock);
    (ok ? delivered_ : failed_)->Add(batch.size());
    healthy_.store(ok, std::memory_order_relaxed);
    in_flight_ = 0;
    done_cv_.notify_all();
  }
}

bool HttpDelivery::Send(const std::vector<HttpItem>& batch, int max_retries,
                        std::unique_lock<std::mutex>& lock) {
  std::string body;
  std::vector<std::string> headers;
  build_(batch, &body, &headers);
  DurationNs backoff = options_.backoff_initial;
  for (int attempt = 0;; ++attempt) {
    lock.unlock();
    std::string error;
    const long status = Post(body, headers, &error);
    lock.lock();
    requests_->Add();
    if (status >= 200 && status < 300) return true;
    // 4xx other than 408/429: the request itself is wrong; sending it again will not help.
    const bool retryable = status < 0 || status == 408 || status == 429 || status >= 500;
    if (!retryable || attempt >= max_retries || stop_) {
      SP_LOG(kError, "sinks", "sink %s: giving up on %zu event(s) after %d attempt(s): %s",
                   name_.c_str(), batch.size(), attempt + 1,
                   status < 0 ? error.c_str() : ("HTTP " + std::to_string(status)).c_str());
      return false;
    }
    retries_->Add();
    std::uniform_real_distribution<double> jitter(0.5, 1.5);
    const auto wait = std::chrono::nanoseconds(
        static_cast<int64_t>(static_cast<double>(backoff) * jitter(rng_)));
    cv_.wait_for(lock, wait, [&] { return stop_; });
    backoff = std::min(options_.backoff_max, backoff * 2);
  }
}

long HttpDelivery::Post(const std::string& body, const std::vector<std::string>& headers,
                        std::string* error) {
  CURL* curl = static_cast<CURL*>(curl_);
  curl_easy_reset(curl);
  curl_slist* list = curl_slist_append(nullptr, "Content-Type: application/json");
  for (const std::string& h : headers) list = curl_slist_append(list, h.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url_.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout / 1'000'000));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, options_.tls_verify ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, options_.tls_verify ? 2L : 0L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, DiscardBody);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  const CURLcode rc = curl_easy_perform(curl);
  long status = -1;
  if (rc == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  } else {
    *error = curl_easy_strerror(rc);
  }
  curl_slist_free_all(list);
  return status;
}

}  // namespace sitepulse
