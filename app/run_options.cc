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
    // Stage 2 of a two-stage run reads partial records: the format is stage 1's business.
    Uri uri = in.uri;
    const bool partials = uri.Param("kind") != nullptr && *uri.Param("kind") == "partials";
    if (partials) {
      if (uri.scheme != "kafka") {
        return absl::InvalidArgumentError(StrCat("input '", uri.ToString(), "': kind=partials needs a Kafka input"));
      }
      std::erase_if(uri.params, [](const auto& kv) { return kv.first == "kind"; });
    }
    if (absl::Status st = ApplyUriParams(uri, &merged); !st.ok()) return absl::FailedPreconditionError(st.message());
    auto f = ResolveFormat(merged);
    if (!f.ok()) return absl::FailedPreconditionError(StrCat("input '", in.uri.ToString(), "': ", f.status().message()));
    opt.inputs.push_back({uri, *f, partials});
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
  if (!o.partials.empty()) {
    auto u = ParseUri(o.partials);
    if (!u.ok()) return absl::FailedPreconditionError(u.status().message());
    if (u->scheme != "kafka") return absl::InvalidArgumentError("--partials must be kafka://HOST:PORT/TOPIC");
    if (opt.inputs.size() != 1 || opt.inputs[0].uri.scheme != "kafka" || opt.inputs[0].partials) {
      return absl::InvalidArgumentError("--partials (stage 1) reads one Kafka input of log lines");
    }
    if (!opt.state_file.empty() || !opt.state_topic.empty()) {
      return absl::InvalidArgumentError(
          "--partials (stage 1) keeps no state: its commits say what it published (drop --state)");
    }
    for (const auto& [k, v] : opt.kafka_properties) {
      // A cooperative revoke commits nothing (librdkafka 2.0, see docs/kafka.md "Scaling out"):
      // stage 1 must commit its offsets with every transaction that publishes their buckets.
      if (k == "partition.assignment.strategy" && v.find("cooperative") != std::string::npos) {
        return absl::InvalidArgumentError(
            "--partials (stage 1) needs eager assignment: remove kafka: partition.assignment.strategy: " + v);
      }
    }
    opt.partials = *u;
    opt.state_none = true;
  }
  if (!opt.inputs.empty() && opt.inputs[0].partials) {
    if (opt.inputs.size() != 1) return absl::InvalidArgumentError("kind=partials (stage 2) reads one Kafka input");
    if (!opt.state_none && opt.state_topic.empty()) {
      return absl::FailedPreconditionError(
          "kind=partials (stage 2) keeps its windows per partials partition: give --state "
          "kafka:TOPIC (handed over on rebalances, restored after a crash) or --state none "
          "(docs/kafka.md, \"Two stages\")");
    }
  }
  return opt;
}

}  // namespace sitepulse
