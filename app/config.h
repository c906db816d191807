// The YAML configuration: strict (unknown keys, wrong types and bad values are errors naming the
// file, line and key path), with every error collected so one `sitepulse check` shows them all.
// The result is immutable and shared by every thread of a run.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "app/pipeline.h"
#include "app/config_error.h"
#include "core/uri.h"
#include "detect/threshold_detector.h"
#include "detect/window_engine.h"
#include "ingest/format.h"
#include "sinks/output_spec.h"

namespace sitepulse {

// Format settings as written in the config or a URI; unset fields inherit.
struct FormatOverrides {
  std::optional<std::string> kind;    // access | error
  std::optional<std::string> preset;
  std::map<std::string, std::vector<std::string>> fields;  // site, time, status, latency, ...
  std::optional<LatencyUnit> latency_unit;
  std::optional<EpochUnit> time_unit;
  std::optional<std::string> site;
  std::optional<bool> latency_required;

  void MergeFrom(const FormatOverrides& o);  // o wins where set
  bool operator==(const FormatOverrides&) const = default;
};

struct InputConfig {
  Uri uri;
  FormatOverrides format;
  int line = 0;  // where it was configured, for messages
};

struct Config {
  std::string path;  // empty: built-in defaults
  FormatOverrides format;
  std::vector<InputConfig> inputs;
  std::vector<OutputSpec> outputs;
  std::string listen;        // "127.0.0.1:9100": /metrics, /healthz, /readyz; empty: off
  size_t site_gauges = 0;    // per-site gauges for at most this many sites
  // kafka: {security.protocol: SASL_SSL, ...}: librdkafka properties, passed as they are.
  std::vector<std::pair<std::string, std::string>> kafka_properties;
  std::optional<Uri> stats;
  std::optional<Uri> dlq;
  DurationNs resolution = 10 * kNanosPerSecond;
  DurationNs lateness = 30 * kNanosPerSecond;
  DurationNs idle_timeout = 30 * kNanosPerSecond;
  // event_time: one line cannot move an input's event time (app/time_gate.h).
  DurationNs max_jump = 3600 * kNanosPerSecond;
  uint32_t confirm_lines = 16;
  DurationNs max_clock_skew = 300 * kNanosPerSecond;
  std::string state_file;  // state.file: snapshots of windows, alerts and baselines
  std::string state_topic;  // state.topic: the same in a compacted topic (Kafka inputs)
  DurationNs state_interval = 60 * kNanosPerSecond;
  size_t max_line_bytes = 1 << 20;
  size_t max_sites = 10000;
  int threads = 0;  // 0: every core
  size_t batch_bytes = 1 << 20;
  PipelineOptions::Reader reader = PipelineOptions::Reader::kAuto;
  std::vector<DetectorSpec> detectors;
  // Per-site detector lists, already merged with the defaults.
  absl::flat_hash_map<std::string, std::vector<DetectorSpec>> site_detectors;
};

// One error: "FILE:LINE: key.path: message".

struct ConfigResult {
  Config config;
  std::vector<ConfigError> errors;
  bool ok() const { return errors.empty(); }
  std::string FormatErrors() const;  // one line per error
};

ConfigResult LoadConfig(const std::string& path);
ConfigResult ParseConfigString(const std::string& yaml, const std::string& path_for_messages);

// Resolves preset + overrides into a parser format; errors name what is missing.
absl::StatusOr<FormatSpec> ResolveFormat(const FormatOverrides& overrides);
// Applies ?kind=&preset=&site= query parameters of an input URI.
absl::Status ApplyUriParams(const Uri& uri, FormatOverrides* overrides);

}  // namespace sitepulse
