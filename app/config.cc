#include "app/config.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "core/strings.h"

#include "app/yaml_reader.h"
#include "ingest/kafka_source.h"
#include "core/duration.h"
#include "detect/detector_kind.h"
#include "sinks/sink_registry.h"
#include "absl/strings/numbers.h"
#include "yaml-cpp/yaml.h"

namespace sitepulse {

void FormatOverrides::MergeFrom(const FormatOverrides& o) {
  if (o.kind) kind = o.kind;
  if (o.preset) preset = o.preset;
  for (const auto& [k, v] : o.fields) fields[k] = v;
  if (o.latency_unit) latency_unit = o.latency_unit;
  if (o.time_unit) time_unit = o.time_unit;
  if (o.site) site = o.site;
  if (o.latency_required) latency_required = o.latency_required;
}

std::string FormatConfigErrors(const std::string& path, const std::vector<ConfigError>& errors) {
  std::string out;
  for (const ConfigError& e : errors) {
    StrAppend(&out, path.empty() ? "<config>" : path, ":", e.line, ": ",
              e.key.empty() ? "" : StrCat(e.key, ": "), e.message, "\n");
  }
  return out;
}

std::string ConfigResult::FormatErrors() const { return FormatConfigErrors(config.path, errors); }

bool ReadConfigText(const std::string& path, std::string* text, std::vector<ConfigError>* errors) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    errors->push_back({0, "", StrCat("cannot read the config file: ", std::strerror(errno))});
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    errors->push_back({0, "", S_ISDIR(st.st_mode) ? "is a directory, not a config file"
                                                  : "is not a regular file"});
    return false;
  }
  std::ifstream in(path);
  if (!in) {
    errors->push_back({0, "", StrCat("cannot read the config file: ", std::strerror(errno))});
    return false;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  *text = ss.str();
  return true;
}

namespace {

// Walks a config's YAML tree (app/yaml_reader.h), with the config's own shapes.
class Parser : public YamlReader {
 public:
  using YamlReader::YamlReader;

  // windows.resolution, for the detector windows that must be whole multiples of it.
  DurationNs resolution = 10 * kNanosPerSecond;
  void WindowMultiple(const YAML::Node& n, const std::string& key, DurationNs d) {
    if (d % resolution != 0) {
      Error(n, key, StrCat("must be a whole multiple of windows.resolution (",
                           FormatDuration(resolution), "): a window of part of a bucket gives "
                           "a wrong rate"));
    }
  }

  void Format(const YAML::Node& n, const std::string& key, FormatOverrides* f, bool allow_uri) {
    if (allow_uri) {
      if (!Map(n, key, {"uri", "kind", "preset", "fields", "latency_unit", "time_unit", "site",
                        "latency_required"})) {
        return;
      }
    } else if (!Map(n, key, {"kind", "preset", "fields", "latency_unit", "time_unit", "site",
                             "latency_required"})) {
      return;
    }
    std::string s;
    if (n["kind"] && String(n["kind"], Join(key, "kind"), &s)) {
      if (s != "access" && s != "error") {
        Error(n["kind"], Join(key, "kind"), "must be access or error");
      } else {
        f->kind = s;
      }
    }
    if (n["preset"] && String(n["preset"], Join(key, "preset"), &s)) {
      auto spec = FormatFromPreset(s);
      if (!spec.ok()) {
        Error(n["preset"], Join(key, "preset"), std::string(spec.status().message()));
      } else {
        f->preset = s;
      }
    }
    if (const YAML::Node fields = n["fields"]) {
      const std::string fk = Join(key, "fields");
      if (Map(fields, fk, {"site", "time", "status", "latency", "bytes", "level", "message"})) {
        for (const auto& kv : fields) {
          const std::string name = kv.first.Scalar();
          std::vector<std::string> paths;
          if (kv.second.IsScalar()) {
            paths.push_back(kv.second.Scalar());
          } else if (kv.second.IsSequence()) {
            for (const auto& p : kv.second) {
              std::string path;
              if (String(p, Join(fk, name), &path)) paths.push_back(path);
            }
          } else {
            Error(kv.second, Join(fk, name), "expected a field path or a list of them");
            continue;
          }
          if (paths.empty() || std::any_of(paths.begin(), paths.end(),
                                           [](const std::string& p) { return p.empty(); })) {
            Error(kv.second, Join(fk, name), "field path must not be empty");
            continue;
          }
          f->fields[name] = paths;
        }
      }
    }
    if (n["latency_unit"] && String(n["latency_unit"], Join(key, "latency_unit"), &s)) {
      LatencyUnit u;
      if (!ParseLatencyUnit(s, &u)) {
        Error(n["latency_unit"], Join(key, "latency_unit"), "must be one of auto, s, ms, us, ns");
      } else {
        f->latency_unit = u;
      }
    }
    if (n["time_unit"] && String(n["time_unit"], Join(key, "time_unit"), &s)) {
      EpochUnit u;
      if (!ParseEpochUnit(s, &u)) {
        Error(n["time_unit"], Join(key, "time_unit"), "must be one of auto, s, ms, us, ns");
      } else {
        f->time_unit = u;
      }
    }
    if (n["site"] && String(n["site"], Join(key, "site"), &s)) f->site = s;
    bool b;
    if (n["latency_required"] && Bool(n["latency_required"], Join(key, "latency_required"), &b)) {
      f->latency_required = b;
    }
  }

  // An output mapping: {uri, labels, generator_url, resend_interval, secret, secret_env,
  // max_retries, backoff, timeout, queue_size, overflow, tls_verify}.
  bool Output(const YAML::Node& n, const std::string& key, OutputSpec* o) {
    if (!Map(n, key, {"uri", "labels", "generator_url", "resend_interval", "secret", "secret_env",
                      "max_retries", "backoff", "timeout", "queue_size", "overflow",
                      "tls_verify"})) {
      return false;
    }
    if (!n["uri"]) {
      Error(n, key, "missing required key 'uri'");
      return false;
    }
    if (!UriValue(n["uri"], Join(key, "uri"), &o->uri)) return false;
    // Each sink kind names the options it takes (sinks/sink_registry.h).
    if (const SinkKind* kind = FindSinkKind(o->uri)) {
      for (const auto& kv : n) {
        const std::string k = kv.first.Scalar();
        if (k == "uri" || std::find(kind->options.begin(), kind->options.end(), k) != kind->options.end()) {
          continue;
        }
        Error(kv.first, Join(key, k),
              StrCat("not an option of ", kind->name, " outputs (",
                     kind->options.empty() ? std::string("they take only uri")
                                           : StrCat("they take: ", StrJoin(kind->options, ", ")),
                     ")"));
      }
    }
    if (const YAML::Node labels = n["labels"]) {
      if (!labels.IsMap()) {
        Error(labels, Join(key, "labels"), "expected a mapping of label names to values");
      } else {
        for (const auto& kv : labels) {
          std::string v;
          if (String(kv.second, Join(Join(key, "labels"), kv.first.Scalar()), &v)) {
            o->labels.emplace_back(kv.first.Scalar(), v);
          }
        }
      }
    }
    if (n["generator_url"]) String(n["generator_url"], Join(key, "generator_url"), &o->generator_url);
    if (n["resend_interval"]) Duration(n["resend_interval"], Join(key, "resend_interval"), &o->resend_interval);
    if (n["secret"]) String(n["secret"], Join(key, "secret"), &o->secret);
    if (std::string env; n["secret_env"] && String(n["secret_env"], Join(key, "secret_env"), &env)) {
      const char* v = std::getenv(env.c_str());
      if (v == nullptr || *v == '\0') {
        Error(n["secret_env"], Join(key, "secret_env"), StrCat("environment variable ", env, " is not set"));
      } else {
        o->secret = v;
      }
    }
    if (n["max_retries"]) Number<int>(n["max_retries"], Join(key, "max_retries"), &o->http.max_retries, 0, 100);
    if (n["backoff"]) Duration(n["backoff"], Join(key, "backoff"), &o->http.backoff_initial);
    if (n["timeout"]) Duration(n["timeout"], Join(key, "timeout"), &o->http.timeout);
    if (n["queue_size"]) Number<size_t>(n["queue_size"], Join(key, "queue_size"), &o->http.queue_capacity, 1, 10'000'000);
    std::string s;
    if (n["overflow"] && String(n["overflow"], Join(key, "overflow"), &s)) {
      if (s == "block") o->http.overflow = OverflowPolicy::kBlock;
      else if (s == "shed") o->http.overflow = OverflowPolicy::kShed;
      else Error(n["overflow"], Join(key, "overflow"), "must be block or shed");
    }
    if (n["tls_verify"]) Bool(n["tls_verify"], Join(key, "tls_verify"), &o->http.tls_verify);
    return true;
  }

  // Reads the keys of `kind` that `n` sets into `spec`, in the kind's order (detect/detectors/).
  void DetectorOptions(const YAML::Node& n, const std::string& key, const DetectorKind& kind,
                       DetectorSpec* spec) {
    using T = DetectorOption::Type;
    for (const DetectorOption& o : kind.options) {
      const YAML::Node v = n[std::string(o.key)];
      if (!v) continue;
      const std::string k = Join(key, std::string(o.key));
      OptionValue val;
      bool ok = false;
      switch (o.type) {
        case T::kNumber: ok = Number<double>(v, k, &val.number, o.min, o.max); break;
        case T::kCount:
          ok = Number<uint64_t>(v, k, &val.count, static_cast<uint64_t>(o.min), static_cast<uint64_t>(o.max));
          break;
        case T::kDuration: ok = Duration(v, k, &val.duration); break;
        case T::kBool: ok = Bool(v, k, &val.flag); break;
        case T::kText: ok = String(v, k, &val.text); break;
        case T::kBurnPairs: ok = BurnPairs(v, k, spec->severity, &val.pairs); break;
        case T::kLabels: ok = Labels(v, k, &val.labels); break;
      }
      if (!ok) continue;
      if (std::string err = o.set(spec, val); !err.empty()) Error(v, k, err);
      if (o.window) WindowMultiple(v, k, val.duration);
    }
  }

  // burn_rate's pairs: a list of {long, short, factor, severity}; severity defaults to the
  // detector's.
  bool BurnPairs(const YAML::Node& pairs, const std::string& key, const std::string& severity,
                 std::vector<BurnPair>* out) {
    if (!pairs.IsSequence() || pairs.size() == 0) {
      Error(pairs, key, "expected a non-empty list of {long, short, factor, severity}");
      return false;
    }
    for (size_t i = 0; i < pairs.size(); ++i) {
      const std::string pk = StrCat(key, "[", i, "]");
      if (!Map(pairs[i], pk, {"long", "short", "factor", "severity"})) continue;
      BurnPair bp;
      bp.severity = severity;
      for (const char* req : {"long", "short", "factor"}) {
        if (!pairs[i][req]) Error(pairs[i], pk, StrCat("missing required key '", req, "'"));
      }
      if (pairs[i]["long"] && Duration(pairs[i]["long"], Join(pk, "long"), &bp.long_window)) {
        WindowMultiple(pairs[i]["long"], Join(pk, "long"), bp.long_window);
      }
      if (pairs[i]["short"] && Duration(pairs[i]["short"], Join(pk, "short"), &bp.short_window)) {
        WindowMultiple(pairs[i]["short"], Join(pk, "short"), bp.short_window);
      }
      if (pairs[i]["factor"]) Number<double>(pairs[i]["factor"], Join(pk, "factor"), &bp.factor, 0.01, 1e6);
      if (pairs[i]["severity"]) String(pairs[i]["severity"], Join(pk, "severity"), &bp.severity);
      if (bp.short_window > bp.long_window) {
        Error(pairs[i], pk, "the short window must not be longer than the long one");
      }
      out->push_back(bp);
    }
    return true;
  }

  bool Labels(const YAML::Node& labels, const std::string& key,
              std::vector<std::pair<std::string, std::string>>* out) {
    if (!labels.IsMap()) {
      Error(labels, key, "expected a mapping of label names to values");
      return false;
    }
    for (const auto& kv : labels) {
      std::string v;
      if (String(kv.second, Join(key, kv.first.Scalar()), &v)) out->emplace_back(kv.first.Scalar(), v);
    }
    return true;
  }

};

// The keys a detector kind accepts (name and type aside), also for per-site overrides.
std::vector<std::string> DetectorKeys(const DetectorKind& kind) {
  std::vector<std::string> keys;
  for (const DetectorOption& o : kind.options) keys.emplace_back(o.key);
  return keys;
}

// event_time: the gate that keeps one line from moving an input's event time.
void ParseEventTime(Parser& p, const YAML::Node& et, Config* cfg) {
  Config& c = *cfg;
  if (!p.Map(et, "event_time", {"max_jump", "confirm_lines", "max_clock_skew"})) return;
  DurationNs d;
  if (et["max_jump"] && p.Duration(et["max_jump"], "event_time.max_jump", &d)) {
    if (d < kNanosPerSecond) p.Error(et["max_jump"], "event_time.max_jump", "must be at least 1s");
    else c.max_jump = d;
  }
  if (et["confirm_lines"]) {
    p.Number<uint32_t>(et["confirm_lines"], "event_time.confirm_lines", &c.confirm_lines, 1, 100000);
  }
  if (et["max_clock_skew"] && p.Duration(et["max_clock_skew"], "event_time.max_clock_skew", &d)) {
    if (d < 0) p.Error(et["max_clock_skew"], "event_time.max_clock_skew", "must not be negative");
    else c.max_clock_skew = d;
  }
}

// Detectors are checked as they are parsed; this catches a resolution that a default window is
// not a multiple of (a detector that leaves its window out).
void CheckDefaultWindows(Parser& p, const YAML::Node& root, Config* c) {
  const DurationNs defaults[] = {DetectorSpec{}.window};
  for (const DurationNs w : defaults) {
    if (w % c->resolution != 0) {
      p.Error(root["windows"]["resolution"], "windows.resolution",
              StrCat("must divide the default detector window (", FormatDuration(w), ")"));
    }
  }
}

// Inputs and their per-input format overrides.
void ParseInputs(Parser& p, const YAML::Node& root, Config& c) {
  if (const YAML::Node inputs = root["inputs"]) {
    if (!inputs.IsSequence()) {
      p.Error(inputs, "inputs", "expected a list of input URIs or mappings");
    } else {
      for (size_t i = 0; i < inputs.size(); ++i) {
        const std::string key = StrCat("inputs[", i, "]");
        InputConfig in;
        if (inputs[i].IsScalar()) {
          if (!p.UriValue(inputs[i], key, &in.uri)) continue;
        } else {
          p.Format(inputs[i], key, &in.format, true);
          if (!inputs[i].IsMap()) continue;
          if (!inputs[i]["uri"]) {
            p.Error(inputs[i], key, "missing required key 'uri'");
            continue;
          }
          if (!p.UriValue(inputs[i]["uri"], key + ".uri", &in.uri)) continue;
        }
        in.line = inputs[i].Mark().line + 1;
        FormatOverrides merged = c.format;
        merged.MergeFrom(in.format);
        if (absl::Status st = ApplyUriParams(in.uri, &merged); !st.ok()) {
          p.Error(inputs[i], key, std::string(st.message()));
        } else if (auto f = ResolveFormat(merged); !f.ok()) {
          p.Error(inputs[i], key, std::string(f.status().message()));
        }
        c.inputs.push_back(std::move(in));
      }
    }
  }
}

// Anomaly outputs and the options of each.
void ParseOutputs(Parser& p, const YAML::Node& root, Config& c) {
  if (const YAML::Node outputs = root["outputs"]) {
    if (!outputs.IsSequence()) {
      p.Error(outputs, "outputs", "expected a list of output URIs or mappings");
    } else {
      for (size_t i = 0; i < outputs.size(); ++i) {
        const std::string key = StrCat("outputs[", i, "]");
        OutputSpec o;
        if (outputs[i].IsScalar()) {
          if (p.UriValue(outputs[i], key, &o.uri)) c.outputs.push_back(o);
          continue;
        }
        if (!p.Output(outputs[i], key, &o)) continue;
        c.outputs.push_back(std::move(o));
      }
    }
  }
}

// Windows: resolution, lateness, idle timeout.
void ParseWindows(Parser& p, const YAML::Node& root, Config& c) {
  if (const YAML::Node w = root["windows"];
      w && p.Map(w, "windows", {"resolution", "lateness", "idle_timeout"})) {
    DurationNs d;
    if (w["resolution"] && p.Duration(w["resolution"], "windows.resolution", &d)) {
      if (d < kNanosPerSecond || d % kNanosPerSecond != 0) {
        p.Error(w["resolution"], "windows.resolution", "must be a whole number of seconds, >= 1s");
      } else {
        c.resolution = d;
        p.resolution = d;
      }
    }
    if (w["lateness"] && p.Duration(w["lateness"], "windows.lateness", &d)) {
      if (d < 0 || d > 24 * 3600 * kNanosPerSecond) {
        p.Error(w["lateness"], "windows.lateness", "must be between 0s and 24h");
      } else {
        c.lateness = d;
      }
    }
    if (w["idle_timeout"] && p.Duration(w["idle_timeout"], "windows.idle_timeout", &d)) {
      c.idle_timeout = d;
    }
  }
}

// State: snapshots in a file or a Kafka topic.
void ParseState(Parser& p, const YAML::Node& root, Config& c) {
  if (const YAML::Node st = root["state"]; st && p.Map(st, "state", {"file", "topic", "interval"})) {
    if (st["file"] && p.String(st["file"], "state.file", &c.state_file) && c.state_file.empty()) {
      p.Error(st["file"], "state.file", "must not be empty");
    }
    if (st["topic"] && p.String(st["topic"], "state.topic", &c.state_topic)) {
      if (c.state_topic.empty()) p.Error(st["topic"], "state.topic", "must not be empty");
      if (st["file"]) p.Error(st["topic"], "state.topic", "state.file and state.topic exclude each other");
    }
    DurationNs d;
    if (st["interval"] && p.Duration(st["interval"], "state.interval", &d)) {
      if (d < kNanosPerSecond) p.Error(st["interval"], "state.interval", "must be at least 1s");
      else c.state_interval = d;
    }
  }
}

// Limits: line length and sites.
void ParseLimits(Parser& p, const YAML::Node& root, Config& c) {
  if (const YAML::Node l = root["limits"]; l && p.Map(l, "limits", {"max_line_bytes", "max_sites"})) {
    size_t s;
    if (l["max_line_bytes"] && p.Size(l["max_line_bytes"], "limits.max_line_bytes", &s)) {
      if (s < 64 || s > (size_t{256} << 20)) {
        p.Error(l["max_line_bytes"], "limits.max_line_bytes", "must be between 64B and 256MiB");
      } else {
        c.max_line_bytes = s;
      }
    }
    if (l["max_sites"]) {
      p.Number<size_t>(l["max_sites"], "limits.max_sites", &c.max_sites, 1, 10'000'000);
    }
  }
}

// Pipeline: lanes, batch size, reader.
void ParsePipeline(Parser& p, const YAML::Node& root, Config& c) {
  if (const YAML::Node pl = root["pipeline"];
      pl && p.Map(pl, "pipeline", {"threads", "batch_bytes", "reader"})) {
    if (pl["threads"]) p.Number<int>(pl["threads"], "pipeline.threads", &c.threads, 0, 1024);
    std::string reader;
    if (pl["reader"] && p.String(pl["reader"], "pipeline.reader", &reader)) {
      if (reader == "auto") c.reader = PipelineOptions::Reader::kAuto;
      else if (reader == "lanes") c.reader = PipelineOptions::Reader::kLanes;
      else if (reader == "thread") c.reader = PipelineOptions::Reader::kThread;
      else p.Error(pl["reader"], "pipeline.reader", "must be one of auto, thread, lanes");
    }
    size_t s;
    if (pl["batch_bytes"] && p.Size(pl["batch_bytes"], "pipeline.batch_bytes", &s)) {
      if (s < 4096 || s > (size_t{256} << 20)) {
        p.Error(pl["batch_bytes"], "pipeline.batch_bytes", "must be between 4KiB and 256MiB");
      } else {
        c.batch_bytes = s;
      }
    }
  }
}

// Detectors, then per-site overrides merged into full lists.
void ParseDetectorsAndSites(Parser& p, const YAML::Node& root, Config& c) {
  std::set<std::string> names;
  CheckDefaultWindows(p, root, &c);
  if (const YAML::Node ds = root["detectors"]) {
    if (!ds.IsSequence()) {
      p.Error(ds, "detectors", "expected a list of detectors");
    } else {
      for (size_t i = 0; i < ds.size(); ++i) {
        const YAML::Node d = ds[i];
        const std::string key = StrCat("detectors[", i, "]");
        if (!d.IsMap()) {
          p.Error(d, key, "expected a mapping");
          continue;
        }
        DetectorSpec spec;
        std::string type = "threshold";
        const DetectorKind* kind = FindDetectorKind(type);
        if (d["type"] && p.String(d["type"], key + ".type", &type)) {
          if (const DetectorKind* k = FindDetectorKind(type)) {
            kind = k;
          } else {
            p.Error(d["type"], key + ".type",
                    StrCat("unknown detector type '", type, "' (known: ", DetectorKindNames(), ")"));
          }
        }
        spec.type = kind->type;
        std::vector<std::string> keys = DetectorKeys(*kind);
        keys.insert(keys.begin(), {"name", "type"});
        if (!p.Map(d, key, keys)) continue;
        if (kind->defaults != nullptr) kind->defaults(&spec);
        if (!d["name"]) {
          p.Error(d, key, "missing required key 'name'");
        } else if (p.String(d["name"], key + ".name", &spec.name)) {
          if (spec.name.empty()) p.Error(d["name"], key + ".name", "must not be empty");
          if (!names.insert(spec.name).second) {
            p.Error(d["name"], key + ".name", StrCat("duplicate detector name '", spec.name, "'"));
          }
        }
        for (std::string_view req : kind->required) {
          if (!d[std::string(req)]) p.Error(d, key, StrCat("missing required key '", req, "'"));
        }
        p.DetectorOptions(d, key, *kind, &spec);
        if (kind->also_required != nullptr) {
          std::vector<std::string> given;
          for (const auto& kv : d) given.push_back(kv.first.Scalar());
          if (std::string err = kind->also_required(spec, given); !err.empty()) p.Error(d, key, err);
        }
        c.detectors.push_back(std::move(spec));
      }
    }
  }
  if (const YAML::Node sites = root["sites"]) {
    if (!sites.IsMap()) {
      p.Error(sites, "sites", "expected a mapping of site names to settings");
    } else {
      for (const auto& kv : sites) {
        const std::string site = kv.first.Scalar();
        const std::string key = StrCat("sites.", site);
        if (!p.Map(kv.second, key, {"detectors"})) continue;
        std::vector<DetectorSpec> specs = c.detectors;
        if (const YAML::Node od = kv.second["detectors"]) {
          if (!od.IsMap()) {
            p.Error(od, key + ".detectors", "expected a mapping of detector names to overrides");
            continue;
          }
          for (const auto& dkv : od) {
            const std::string dname = dkv.first.Scalar();
            const std::string dkey = StrCat(key, ".detectors.", dname);
            auto it = std::find_if(specs.begin(), specs.end(),
                                   [&](const DetectorSpec& s) { return s.name == dname; });
            if (it == specs.end()) {
              p.Error(dkv.first, dkey, "no detector of that name is defined under detectors");
              continue;
            }
            const DetectorKind& kind = KindOf(it->type);
            if (!p.Map(dkv.second, dkey, DetectorKeys(kind))) continue;
            p.DetectorOptions(dkv.second, dkey, kind, &*it);
          }
        }
        c.site_detectors[site] = std::move(specs);
      }
    }
  }
}

void ParseRoot(const YAML::Node& root, ConfigResult* r) {
  Parser p(&r->errors);
  Config& c = r->config;
  if (!root.IsDefined() || root.IsNull()) return;  // an empty file: every default
  p.DuplicateKeys(root, "");
  if (!p.Map(root, "", {"format", "inputs", "outputs", "stats", "dlq", "windows", "event_time", "limits",
                        "pipeline", "detectors", "sites", "listen", "metrics", "kafka", "state"})) {
    return;
  }
  if (root["format"]) {
    p.Format(root["format"], "format", &c.format, false);
    if (auto f = ResolveFormat(c.format); !f.ok()) {
      p.Error(root["format"], "format", std::string(f.status().message()));
    }
  }
  ParseInputs(p, root, c);
  ParseOutputs(p, root, c);
  if (root["listen"] && p.String(root["listen"], "listen", &c.listen)) {
    const size_t colon = c.listen.rfind(':');
    int port = 0;
    if (colon == std::string::npos || colon == 0 ||
        !absl::SimpleAtoi(c.listen.substr(colon + 1), &port) || port < 0 || port > 65535) {
      p.Error(root["listen"], "listen", "expected HOST:PORT, like 127.0.0.1:9100");
    }
  }
  if (const YAML::Node k = root["kafka"]) {
    if (!k.IsMap()) {
      p.Error(k, "kafka", "expected a mapping of librdkafka properties to values");
    } else {
      for (const auto& kv : k) {
        std::string v;
        if (p.String(kv.second, "kafka." + kv.first.Scalar(), &v)) {
          c.kafka_properties.emplace_back(kv.first.Scalar(), v);
        }
      }
    }
  }
  if (const YAML::Node mt = root["metrics"]; mt && p.Map(mt, "metrics", {"site_gauges"})) {
    if (mt["site_gauges"]) {
      p.Number<size_t>(mt["site_gauges"], "metrics.site_gauges", &c.site_gauges, 0, 100000);
    }
  }
  Uri u;
  if (root["stats"] && p.UriValue(root["stats"], "stats", &u)) c.stats = u;
  if (root["dlq"] && p.UriValue(root["dlq"], "dlq", &u)) c.dlq = u;
  ParseWindows(p, root, c);
  if (const YAML::Node et = root["event_time"]) ParseEventTime(p, et, &c);
  ParseState(p, root, c);
  ParseLimits(p, root, c);
  ParsePipeline(p, root, c);
  ParseDetectorsAndSites(p, root, c);
}

}  // namespace

ConfigResult ParseConfigString(const std::string& yaml, const std::string& path_for_messages) {
  ConfigResult r;
  r.config.path = path_for_messages;
  try {
    ParseRoot(YAML::Load(yaml), &r);
  } catch (const YAML::Exception& e) {
    r.errors.push_back({e.mark.line >= 0 ? e.mark.line + 1 : 0, "", e.msg});
  }
  return r;
}

ConfigResult LoadConfig(const std::string& path) {
  ConfigResult bad;
  bad.config.path = path;
  std::string text;
  if (!ReadConfigText(path, &text, &bad.errors)) return bad;
  return ParseConfigString(text, path);
}

absl::Status ApplyUriParams(const Uri& uri, FormatOverrides* overrides) {
  for (const auto& [k, v] : uri.params) {
    if (k == "kind") {
      if (v != "access" && v != "error") {
        return absl::InvalidArgumentError(
            StrCat("input '", uri.ToString(), "': kind must be access or error"));
      }
      overrides->kind = v;
    } else if (k == "preset") {
      if (auto f = FormatFromPreset(v); !f.ok()) {
        return absl::InvalidArgumentError(
            StrCat("input '", uri.ToString(), "': ", f.status().message()));
      }
      overrides->preset = v;
    } else if (k == "site") {
      overrides->site = v;
    } else if (uri.scheme == "kafka" && (k == "group" || k == "start" || k == "commit")) {
      // Kafka parameters are the Kafka source's business; checked here too, so `check` and a
      // run's start say what is wrong before anything connects.
      absl::StatusOr<KafkaSourceOptions> o = KafkaOptionsFromUri("b:1/t", {{k, v}});
      if (!o.ok()) return absl::InvalidArgumentError(StrCat("input '", uri.ToString(), "': ", o.status().message()));
    } else {
      return absl::InvalidArgumentError(StrCat(
          "input '", uri.ToString(), "': unknown parameter '", k, "' (known: kind, preset, site",
          uri.scheme == "kafka" ? ", group, start, commit)" : ")"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<FormatSpec> ResolveFormat(const FormatOverrides& o) {
  std::string preset;
  if (o.preset) {
    preset = *o.preset;
  } else {
    preset = o.kind && *o.kind == "error" ? "json_error" : "nginx";
  }
  auto spec_or = FormatFromPreset(preset);
  if (!spec_or.ok()) return spec_or.status();
  FormatSpec f = *spec_or;
  if (o.kind) {
    const RecordKind k = *o.kind == "error" ? RecordKind::kError : RecordKind::kAccess;
    if (o.preset && k != f.kind) {
      return absl::InvalidArgumentError(StrCat("preset '", preset, "' reads ",
                                                     f.kind == RecordKind::kError ? "error" : "access",
                                                     " logs, but kind is ", *o.kind));
    }
    f.kind = k;
  }
  for (const auto& [name, paths] : o.fields) {
    if (f.syntax != Syntax::kJson) {
      return absl::InvalidArgumentError(
          StrCat("fields apply to JSON presets only; preset '", preset, "' is text"));
    }
    if (name == "site") f.site_paths = paths;
    else if (name == "time") f.time_paths = paths;
    else if (name == "status") f.status_paths = paths;
    else if (name == "latency") f.latency_paths = paths;
    else if (name == "bytes") f.bytes_paths = paths;
    else if (name == "level") f.level_paths = paths;
    else if (name == "message") f.message_paths = paths;
  }
  if (o.latency_unit) f.latency_unit = *o.latency_unit;
  if (o.time_unit) f.time_unit = *o.time_unit;
  if (o.site) f.default_site = *o.site;
  if (o.latency_required) f.latency_required = *o.latency_required;
  if (f.latency_unit == LatencyUnit::kAuto && f.syntax == Syntax::kJson) {
    return absl::InvalidArgumentError("latency_unit auto is for the combined preset only");
  }
  if (f.syntax == Syntax::kJson) {
    if (f.site_paths.empty() && f.default_site.empty()) {
      return absl::InvalidArgumentError(
          StrCat("preset '", preset, "' needs fields.site or a default site"));
    }
    if (f.time_paths.empty()) {
      return absl::InvalidArgumentError(StrCat("preset '", preset, "' needs fields.time"));
    }
    if (f.kind == RecordKind::kAccess && f.status_paths.empty()) {
      return absl::InvalidArgumentError(StrCat("preset '", preset, "' needs fields.status"));
    }
    if (f.kind == RecordKind::kError && f.level_paths.empty()) {
      return absl::InvalidArgumentError(StrCat("preset '", preset, "' needs fields.level"));
    }
  }
  return f;
}

}  // namespace sitepulse
