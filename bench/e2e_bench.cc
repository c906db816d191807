// End-to-end benchmark: on the same bytes, in one process, one run:
//   floor      simdjson On-Demand extracting the same four fields (site, time, status, latency)
//              and nothing else, one thread, over a buffer already in memory
//   scan       memchr over the same buffer, counting lines
//   read       read() of the file from the page cache into one reused buffer of the pipeline's
//              batch size, nothing else: the kernel's copy, which every lane count pays
//   sitepulse  the whole pipeline (read, parse, windows, detectors, null sink) with 1 lane and
//              with every lane, reading the file from the page cache
// Each is run --repeat times; medians are reported, with ratios to the floor.
//
//   e2e_bench --input FILE --format PRESET [--config FILE] [--repeat 5] [--threads N] [--json OUT]
//             PRESET: nginx, caddy, envoy, ecs, combined, json_error, caddy_error, error_text;
//             FILE: the config (default configs/PRESET.yaml)
//             [--min-ratio R]   exit 1 if one lane < R x floor (the CI guard)
//             [--reader auto|thread|lanes]   who reads the file (pipeline.reader)
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_split.h"
#include "app/config.h"
#include "app/pipeline.h"
#include "core/json_writer.h"
#include "ingest/field_values.h"
#include "ingest/line_parser.h"
#include "simdjson.h"

namespace sitepulse {
namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The floor for JSON: the minimum any JSON-based tool must do per line. The four fields are the
// preset's first path for site, time, status and latency (level and message for error logs),
// nested paths followed object by object; a string is unescaped, a number converted.
struct FloorPaths {
  std::vector<std::vector<std::string>> fields;  // per field, the keys from the top
};

FloorPaths FloorPathsFor(const FormatSpec& f) {
  FloorPaths out;
  const bool error = f.kind == RecordKind::kError;
  for (const auto* paths : {&f.site_paths, &f.time_paths, error ? &f.level_paths : &f.status_paths,
                            error ? &f.message_paths : &f.latency_paths}) {
    if (paths->empty()) continue;
    out.fields.push_back(absl::StrSplit(paths->front(), '.'));
  }
  return out;
}

uint64_t FloorJson(const simdjson::padded_string& buf, const FloorPaths& paths, uint64_t* checksum) {
  simdjson::ondemand::parser parser;
  const char* p = buf.data();
  const char* end = p + buf.size();
  uint64_t lines = 0, sum = 0;
  while (p < end) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    const size_t len = static_cast<size_t>((nl ? nl : end) - p);
    ++lines;
    simdjson::ondemand::document doc;
    if (parser.iterate(p, len, static_cast<size_t>(buf.data() + buf.size() + simdjson::SIMDJSON_PADDING - p)).get(doc) == simdjson::SUCCESS) {
      simdjson::ondemand::object obj;
      if (doc.get_object().get(obj) == simdjson::SUCCESS) {
        for (const auto& keys : paths.fields) {
          simdjson::ondemand::value v;
          if (obj.find_field_unordered(keys[0]).get(v) != simdjson::SUCCESS) continue;
          bool found = true;
          for (size_t k = 1; k < keys.size() && found; ++k) {
            found = v.find_field_unordered(keys[k]).get(v) == simdjson::SUCCESS;
          }
          simdjson::ondemand::json_type type;
          if (!found || v.type().get(type) != simdjson::SUCCESS) continue;
          if (type == simdjson::ondemand::json_type::string) {
            std::string_view sv;
            if (v.get_string().get(sv) == simdjson::SUCCESS) sum += sv.size();
          } else if (type == simdjson::ondemand::json_type::number) {
            double d;
            if (v.get_double().get(d) == simdjson::SUCCESS) sum += static_cast<uint64_t>(d) & 1;
          }
        }
      }
    }
    p += len + 1;
  }
  *checksum = sum;
  return lines;
}

// sitepulse's parser alone (no folding, no threads): where the floor-to-pipeline gap goes.
uint64_t ParseOnly(const simdjson::padded_string& buf, const FormatSpec& format, uint64_t* parsed) {
  LineParser parser(format);
  ParsedRecord rec;
  const char* p = buf.data();
  const char* end = p + buf.size();
  const char* cap_end = end + simdjson::SIMDJSON_PADDING;
  uint64_t lines = 0, ok = 0;
  while (p < end) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    const size_t len = static_cast<size_t>((nl ? nl : end) - p);
    ++lines;
    ok += parser.Parse(p, len, static_cast<size_t>(cap_end - p), &rec) == RejectReason::kCount;
    p += len + 1;
  }
  *parsed = ok;
  return lines;
}

// read() of the whole file into one reused buffer of `chunk` bytes; returns the bytes read.
uint64_t ReadCopy(const std::string& path, size_t chunk) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  std::vector<char> dst(chunk);
  uint64_t total = 0;
  for (;;) {
    const ssize_t n = ::read(fd, dst.data(), dst.size());
    if (n <= 0) break;
    total += static_cast<uint64_t>(n);
  }
  ::close(fd);
  return total;
}

uint64_t ScanLines(const simdjson::padded_string& buf) {
  const char* p = buf.data();
  const char* end = p + buf.size();
  uint64_t lines = 0;
  while (p < end) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    ++lines;
    if (nl == nullptr) break;
    p = nl + 1;
  }
  return lines;
}

struct Result {
  std::string name;
  double seconds;
  uint64_t lines;
  uint64_t bytes;
};

int Main(int argc, char** argv) {
  std::string input, format = "nginx", json_out, config;
  int repeat = 5, threads = static_cast<int>(std::thread::hardware_concurrency());
  double min_ratio = 0;
  std::string reader = "auto";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return std::string(i + 1 < argc ? argv[++i] : ""); };
    if (a == "--input") input = next();
    else if (a == "--format") format = next();
    else if (a == "--config") config = next();
    else if (a == "--repeat") repeat = std::stoi(next());
    else if (a == "--threads") threads = std::stoi(next());
    else if (a == "--json") json_out = next();
    else if (a == "--min-ratio") min_ratio = std::stod(next());
    else if (a == "--reader") reader = next();
    else {
      std::fprintf(stderr, "e2e_bench: unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  auto loaded = simdjson::padded_string::load(input);
  if (loaded.error()) {
    std::fprintf(stderr, "e2e_bench: cannot read %s\n", input.c_str());
    return 2;
  }
  const simdjson::padded_string buf = std::move(loaded).value_unsafe();
  const uint64_t bytes = buf.size();

  // The pipeline as configured by the shipped config for the format (or --config, for an error
  // log's preset: its access log's config), with a null sink; the input read with the preset.
  if (config.empty()) config = std::string(SITEPULSE_SOURCE_DIR "/configs/") + format + ".yaml";
  ConfigResult cfg = LoadConfig(config);
  if (!cfg.ok()) {
    std::fprintf(stderr, "%s", cfg.FormatErrors().c_str());
    return 2;
  }
  PipelineOptions opt;
  FormatOverrides f;  // the config's format for its own preset; another preset as it comes
  f.preset = format;
  if (cfg.config.format.preset == format) f = cfg.config.format;
  auto spec = ResolveFormat(f);
  if (!spec.ok()) {
    std::fprintf(stderr, "e2e_bench: %s\n", std::string(spec.status().message()).c_str());
    return 2;
  }
  const bool is_json = spec->syntax == Syntax::kJson;
  const FloorPaths floor_paths = FloorPathsFor(*spec);
  opt.inputs.push_back({*ParseUri("file:" + input), *spec});
  opt.engine.resolution = cfg.config.resolution;
  opt.engine.lateness = cfg.config.lateness;
  opt.engine.detectors = cfg.config.detectors;
  if (reader == "lanes") {
    opt.reader = PipelineOptions::Reader::kLanes;
  } else if (reader == "thread") {
    opt.reader = PipelineOptions::Reader::kThread;
  } else if (reader != "auto") {
    std::fprintf(stderr, "e2e_bench: --reader must be auto, thread or lanes, not '%s'\n", reader.c_str());
    return 2;
  }

  std::vector<double> floor_s, scan_s, read_s, parse_s, one_s, all_s;
  // Per round, from the 1-lane run: N x its wall time / the CPU time of all its threads.
  std::vector<double> ceilings;
  std::vector<double> one_cpu[3];  // per round: CPU seconds of the lanes, reader, coordinator
  uint64_t buckets = 0;            // closed site-buckets of the 1-lane run
  uint64_t floor_lines = 0, scan_lines = 0, parse_lines = 0, one_lines = 0, all_lines = 0,
           checksum = 0, parse_ok = 0;
  for (int r = 0; r < repeat; ++r) {
    double t = Now();
    scan_lines = ScanLines(buf);
    scan_s.push_back(Now() - t);
    if (is_json) {
      t = Now();
      floor_lines = FloorJson(buf, floor_paths, &checksum);
      floor_s.push_back(Now() - t);
    }
    t = Now();
    if (ReadCopy(input, opt.batch_bytes) != bytes) {
      std::fprintf(stderr, "e2e_bench: %s changed size while we read it\n", input.c_str());
      return 2;
    }
    read_s.push_back(Now() - t);
    t = Now();
    parse_lines = ParseOnly(buf, *spec, &parse_ok);
    parse_s.push_back(Now() - t);
    for (int lanes : {1, threads}) {
      opt.threads = lanes;
      MetricsRegistry metrics;  // fresh counters per run
      opt.metrics = &metrics;
      auto s = RunPipeline(opt, nullptr);
      if (!s.ok()) {
        std::fprintf(stderr, "e2e_bench: %s\n", std::string(s.status().message()).c_str());
        return 2;
      }
      if (s->lines != s->parsed + s->rejected || s->rejected > s->lines / 100) {
        std::fprintf(stderr, "e2e_bench: unexpected summary %s\n", s->ToJson().c_str());
        return 2;
      }
      (lanes == 1 ? one_s : all_s).push_back(s->seconds);
      if (lanes == 1) {
        const double cpu = s->cpu_seconds_lanes + s->cpu_seconds_reader + s->cpu_seconds_coordinator;
        if (cpu > 0) ceilings.push_back(threads * s->seconds / cpu);
        one_cpu[0].push_back(s->cpu_seconds_lanes);
        one_cpu[1].push_back(s->cpu_seconds_reader);
        one_cpu[2].push_back(s->cpu_seconds_coordinator);
        buckets = s->buckets;
      }
      (lanes == 1 ? one_lines : all_lines) = s->lines;
    }
  }
  // Check before reporting: everyone saw the same lines.
  if (scan_lines != one_lines || one_lines != all_lines || (is_json && floor_lines != scan_lines)) {
    std::fprintf(stderr, "e2e_bench: line counts differ: scan %llu floor %llu one %llu all %llu\n",
                 (unsigned long long)scan_lines, (unsigned long long)floor_lines,
                 (unsigned long long)one_lines, (unsigned long long)all_lines);
    return 2;
  }
  std::vector<Result> results;
  if (!floor_s.empty()) results.push_back({"floor_simdjson_4_fields", Median(floor_s), floor_lines, bytes});
  results.push_back({"memchr_line_scan", Median(scan_s), scan_lines, bytes});
  results.push_back({"read_copy_page_cache", Median(read_s), scan_lines, bytes});
  results.push_back({"sitepulse_parse_only", Median(parse_s), parse_lines, bytes});
  results.push_back({"sitepulse_1_lane", Median(one_s), one_lines, bytes});
  results.push_back({"sitepulse_" + std::to_string(threads) + "_lanes", Median(all_s), all_lines, bytes});
  const double floor_rate = floor_s.empty() ? 0 : static_cast<double>(floor_lines) / Median(floor_s);

  std::printf("%-26s %12s %10s %10s %10s\n", ("median of " + std::to_string(repeat)).c_str(), "lines/s",
              "MB/s", "ns/line", "x floor");
  std::string json = "{\"format\":\"" + format + "\",\"bytes\":" + std::to_string(bytes) +
                     ",\"lines\":" + std::to_string(scan_lines) + ",\"repeat\":" + std::to_string(repeat) +
                     ",\"threads\":" + std::to_string(threads) + ",\"results\":[";
  for (size_t i = 0; i < results.size(); ++i) {
    const Result& r = results[i];
    const double lps = static_cast<double>(r.lines) / r.seconds;
    const double mbps = static_cast<double>(r.bytes) / 1e6 / r.seconds;
    const double ratio = floor_rate > 0 ? lps / floor_rate : 0;
    std::printf("%-26s %12.0f %10.1f %10.1f %10.2f\n", r.name.c_str(), lps, mbps, 1e9 / lps, ratio);
    json += std::string(i ? "," : "") + "{\"name\":\"" + r.name + "\",\"seconds\":" + std::to_string(r.seconds) +
            ",\"lines_per_s\":" + std::to_string(lps) + ",\"mb_per_s\":" + std::to_string(mbps) +
            ",\"ns_per_line\":" + std::to_string(1e9 / lps) + ",\"ratio_to_floor\":" + std::to_string(ratio) + "}";
  }
  const double one_ratio = floor_rate > 0 ? static_cast<double>(one_lines) / Median(one_s) / floor_rate : 0;
  const double scaling = Median(one_s) / Median(all_s);
  // About the most N lanes can gain on N cores: the 1-lane run's threads (lane, reader,
  // coordinator) spent C seconds of CPU in W seconds of wall time; N lanes on N cores do the same
  // work (the same lines, read, parsed and applied once) in at least C / N, so N lanes / one lane
  // is at most about N * W / C (an estimate: lanes that read for themselves save the reader
  // thread's hand-offs). A faster lane lowers it: only less reading and coordinating raise it.
  const double cores = std::thread::hardware_concurrency();
  const double ceiling = threads <= cores && !ceilings.empty() ? Median(ceilings) : 0;
  std::printf("one lane / floor = %.2f, %d lanes / one lane = %.2f (checksum %llu)\n", one_ratio,
              threads, scaling, (unsigned long long)checksum);
  double cpu_ns[3];  // medians over rounds, per line
  for (int k = 0; k < 3; ++k) cpu_ns[k] = Median(one_cpu[k]) * 1e9 / static_cast<double>(one_lines);
  std::printf("1-lane run, CPU per line: lane %.1f ns, reader %.1f ns, coordinator %.1f ns\n",
              cpu_ns[0], cpu_ns[1], cpu_ns[2]);
  // The coordinator's work grows with closed site-buckets as much as with lines: quiet sites
  // close many buckets of few lines each.
  const double ns_per_bucket =
      buckets > 0 ? Median(one_cpu[2]) * 1e9 / static_cast<double>(buckets) : 0;
  std::printf("1-lane run: %llu closed site-buckets (%.1f lines each), coordinator %.0f ns per bucket\n",
              static_cast<unsigned long long>(buckets),
              buckets > 0 ? static_cast<double>(one_lines) / static_cast<double>(buckets) : 0.0,
              ns_per_bucket);
  if (ceiling > 0) {
    std::printf("ceiling on this machine: %d lanes / one lane <= %.2f (%d x wall / CPU of the 1-lane run)\n",
                threads, ceiling, threads);
  }
  json += "],\"one_lane_over_floor\":" + std::to_string(one_ratio) +
          ",\"all_lanes_over_one\":" + std::to_string(scaling) +
          ",\"all_lanes_ceiling\":" + std::to_string(ceiling) +
          ",\"one_lane_cpu_ns_per_line\":{\"lane\":" + std::to_string(cpu_ns[0]) +
          ",\"reader\":" + std::to_string(cpu_ns[1]) + ",\"coordinator\":" + std::to_string(cpu_ns[2]) +
          "},\"buckets\":" + std::to_string(buckets) +
          ",\"coordinator_ns_per_bucket\":" + std::to_string(ns_per_bucket) + "}";
  if (!json_out.empty()) std::ofstream(json_out) << json << "\n";
  if (min_ratio > 0 && floor_rate > 0 && one_ratio < min_ratio) {
    std::fprintf(stderr, "e2e_bench: one lane is %.2f x the floor, below the %.2f guard\n", one_ratio, min_ratio);
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace sitepulse

int main(int argc, char** argv) { return sitepulse::Main(argc, argv); }
