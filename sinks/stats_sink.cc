#include "sinks/stats_sink.h"

#include "core/json_writer.h"

namespace sitepulse {

std::string BucketStatsToJson(const ClosedBucketView& b) {
  std::string out;
  out.reserve(320);
  JsonObjectWriter w(&out);
  w.String("site", b.site);
  w.Key("start");
  AppendJsonString(FormatRfc3339(b.start), &out);
  w.Key("end");
  AppendJsonString(FormatRfc3339(b.end), &out);
  w.Uint("count", b.counters->requests)
      .Uint("errors_4xx", b.counters->errors_4xx)
      .Uint("errors_5xx", b.counters->errors_5xx)
      .Uint("bytes", b.counters->bytes)
      .Uint("error_lines", b.counters->error_log_lines());
  static constexpr std::pair<std::string_view, double> kQuantiles[] = {
      {"p50", 0.5}, {"p90", 0.9}, {"p95", 0.95}, {"p99", 0.99}, {"p999", 0.999}};
  for (const auto& [name, q] : kQuantiles) {
    if (b.latency->empty()) {
      w.Null(name);
    } else {
      w.Number(name, b.latency->Quantile(*b.mapping, q));
    }
  }
  w.Close();
  return out;
}

}  // namespace sitepulse
