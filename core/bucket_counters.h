// Per-bucket counters: everything about a (site, bucket) except the latency distribution.
#pragma once

#include <array>
#include <cstdint>

#include "core/record.h"

namespace sitepulse {

struct BucketCounters {
  uint64_t requests = 0;
  uint64_t errors_4xx = 0;
  uint64_t errors_5xx = 0;
  uint64_t bytes = 0;
  std::array<uint64_t, kNumLogLevels> log_lines{};  // error-log lines by level

  uint64_t error_log_lines() const {  // level error and above
    uint64_t n = 0;
    for (int l = static_cast<int>(LogLevel::kError); l < kNumLogLevels; ++l) n += log_lines[l];
    return n;
  }
  uint64_t events() const {
    uint64_t n = requests;
    for (uint64_t c : log_lines) n += c;
    return n;
  }
  // Error-log counts only when `o` has some: an access line's counts (the coordinator adds
  // about ten a closed bucket for a quiet site) touch neither them nor their cache line.
  void Add(const BucketCounters& o) {
    requests += o.requests;
    errors_4xx += o.errors_4xx;
    errors_5xx += o.errors_5xx;
    bytes += o.bytes;
    uint64_t any = 0;
    for (const uint64_t n : o.log_lines) any |= n;
    if (any == 0) return;
    for (int l = 0; l < kNumLogLevels; ++l) log_lines[l] += o.log_lines[l];
  }
  void Subtract(const BucketCounters& o) {
    requests -= o.requests;
    errors_4xx -= o.errors_4xx;
    errors_5xx -= o.errors_5xx;
    bytes -= o.bytes;
    for (int l = 0; l < kNumLogLevels; ++l) log_lines[l] -= o.log_lines[l];
  }
  void AddRecord(const ParsedRecord& r) {
    if (r.kind == RecordKind::kError) {
      ++log_lines[static_cast<int>(r.level)];
      return;
    }
    ++requests;
    errors_4xx += (r.status >= 400 && r.status < 500);
    errors_5xx += (r.status >= 500);
    bytes += r.bytes;
  }
};

}  // namespace sitepulse
