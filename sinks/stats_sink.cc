#include "sinks/stats_sink.h"

#include "core/json_writer.h"

namespace sitepulse {

std::string BucketStatsToJson(const BucketStats& b) {
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
  static constexpr std::string_view kNames[] = {"p50", "p90", "p95", "p99", "p999"};
  for (size_t i = 0; i < kStatsQuantiles.size(); ++i) {
    if (!b.quantiles) {
      w.Null(kNames[i]);
    } else {
      w.Number(kNames[i], (*b.quantiles)[i]);
    }
  }
  w.Close();
  return out;
}

}  // namespace sitepulse
