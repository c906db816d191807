// One registry of counters and gauges for the whole process: /metrics renders it in the
// Prometheus text format and the exit summary reads the same numbers. Registration takes a lock
// (start-up, or the first time a label value is seen); updates are relaxed atomics through the
// pointers registration hands out, so hot paths never lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace sitepulse {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void Add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class MetricsRegistry {
 public:
  // The same (name, labels) returns the same object. Names follow Prometheus conventions
  // (counters end in _total); help is recorded once per name.
  Counter* GetCounter(const std::string& name, const std::string& help, MetricLabels labels = {});
  Gauge* GetGauge(const std::string& name, const std::string& help, MetricLabels labels = {});

  // Prometheus text exposition format 0.0.4.
  std::string RenderPrometheus() const;
  // Sum of a counter over all its series, or over those whose `label` equals `value`.
  uint64_t CounterSum(const std::string& name, const std::string& label = "",
                      const std::string& value = "") const;

 private:
  struct Family {
    std::string help;
    bool is_counter = true;
    std::map<MetricLabels, size_t> index;  // labels -> position in counters_/gauges_
  };
  mutable std::mutex mu_;
  std::map<std::string, Family> families_;
  std::deque<Counter> counters_;  // deque: stable addresses
  std::deque<Gauge> gauges_;
};

}  // namespace sitepulse
