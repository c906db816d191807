#include "app/run_options.h"

#include <algorithm>
#include <thread>

#include "absl/strings/numbers.h"
#include "core/strings.h"

namespace sitepulse {

bool NeedsLatency(const Config& c) {
  auto any = [](const std::vector<DetectorSpec>& specs) {
    for (const DetectorSpec& d : specs) {
      if (!d.enabled) continue;
      if ((d.type == DetectorType::kThreshold || d.type == DetectorType::kBaseline) &&
          IsLatencyMetric(d.metric)) {
        return true;
      }
      if (d.type == DetectorType::kBurnRate && d.sli == Sli::kLatency) return true;
    }
    return false;
  };
  bool needs = any(c.detectors);
  for (const auto& [site, specs] : c.site_detectors) needs = needs || any(specs);
  return needs;
}

// The names of the enabled detectors that read error-log lines, joined with ", ".
std::string ErrorLogDetectors(const Config& c) {
  std::vector<std::string> names;
  auto add = [&names](const std::vector<DetectorSpec>& specs) {
    for (const DetectorSpec& d : specs) {
      const bool reads = d.type == DetectorType::kErrorSpike ||
                         d.type == DetectorType::kNewErrorTemplate ||
                         ((d.type == DetectorType::kThreshold || d.type == DetectorType::kBaseline) &&
                          d.metric == Metric::kErrorLogRate);
      if (d.enabled && reads && std::find(names.begin(), names.end(), d.name) == names.end()) {
        names.push_back(d.name);
      }
    }
  };
  add(c.detectors);
  for (const auto& [site, specs] : c.site_detectors) add(specs);
  return StrJoin(names, ", ");
}

WindowEngineOptions EngineOptionsFrom(const Config& c) {
  WindowEngineOptions e;
  e.resolution = c.resolution;
  e.lateness = c.lateness;
  e.max_sites = c.max_sites;
  e.detectors = c.detectors;
  e.site_detectors = c.site_detectors;
  return e;
}

absl::StatusOr<PipelineOptions> BuildPipelineOptions(Config& c, const RunOverrides& o) {
  PipelineOptions opt;
  if (!o.inputs.empty()) {
    c.inputs.clear();
    for (const std::string& s : o.inputs) {
      auto u = ParseUri(s);
      if (!u.ok()) return absl::FailedPreconditionError(u.status().message());
      c.inputs.push_back({*u, {}, 0});
    }
  }
  if (c.inputs.empty()) return absl::InvalidArgumentError("no input (give --input or inputs: in the config)");
  for (const InputConfig& in : c.inputs) {
    FormatOverrides merged = c.format;
    merged.MergeFrom(in.format);
    if (absl::Status st = ApplyUriParams(in.uri, &merged); !st.ok()) return absl::FailedPreconditionError(st.message());
    auto f = ResolveFormat(merged);
    if (!f.ok()) return absl::FailedPreconditionError(StrCat("input '", in.uri.ToString(), "': ", f.status().message()));
    opt.inputs.push_back({in.uri, *f});
  }
  if (!o.outputs.empty()) {
    c.outputs.clear();
    for (const std::string& s : o.outputs) {
      auto u = ParseUri(s);
      if (!u.ok()) return absl::FailedPreconditionError(u.status().message());
      OutputSpec spec;
      spec.uri = *u;
      c.outputs.push_back(spec);
    }
  }
  if (c.outputs.empty()) {
    OutputSpec spec;
    spec.uri = *ParseUri("stdout");
    c.outputs.push_back(spec);
  }
  for (OutputSpec& spec : c.outputs) spec.kafka_properties = c.kafka_properties;
  opt.outputs = c.outputs;
  for (auto [flag, target] : {std::pair{&o.stats, &c.stats}, std::pair{&o.dlq, &c.dlq}}) {
    if (flag->empty()) continue;
    auto u = ParseUri(*flag);
    if (!u.ok()) return absl::FailedPreconditionError(u.status().message());
    *target = *u;
  }
  opt.stats = c.stats;
  opt.dlq = c.dlq;
  int threads = c.threads;
  if (!o.threads.empty()) {
    if (!absl::SimpleAtoi(o.threads, &threads) || threads < 1 || threads > 1024) {
      return absl::InvalidArgumentError("--threads must be a number from 1 to 1024");
    }
  }
  if (threads == 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  opt.threads = threads;
  opt.batch_bytes = c.batch_bytes;
  opt.reader = c.reader;
  opt.max_line_bytes = c.max_line_bytes;
  opt.engine = EngineOptionsFrom(c);
  opt.max_jump = c.max_jump, opt.confirm_lines = c.confirm_lines, opt.max_clock_skew = c.max_clock_skew;
  opt.needs_latency = NeedsLatency(c);
  opt.error_log_detectors = ErrorLogDetectors(c);
  opt.site_gauges = c.site_gauges;
  opt.kafka_properties = c.kafka_properties;
  opt.exit_at_end = o.exit_at_end;
  opt.idle_timeout = c.idle_timeout;
  opt.state_file = o.state_file.empty() ? c.state_file : o.state_file;
  opt.state_topic = c.state_topic;
  if (opt.state_file.rfind("kafka:", 0) == 0) {
    opt.state_topic = opt.state_file.substr(6);
    opt.state_file.clear();
  } else if (!o.state_file.empty()) {
    opt.state_topic.clear();
  }
  if (opt.state_file == "none") {  // --state none / state.file: none: no snapshots at all
    opt.state_none = true;
    opt.state_file.clear();
    opt.state_topic.clear();
  }
  opt.state_interval = c.state_interval;
  return opt;
}

}  // namespace sitepulse
