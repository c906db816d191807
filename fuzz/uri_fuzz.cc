// Input and output URIs with their parameters, and the small grammars they carry: durations and
// sizes, Kafka start positions, format parameters (?preset=&kind=&site=). Invariants: a URI that
// parses prints (with its parameters) to one that parses to the same URI; a duration that parses
// prints to one that parses to the same value; an accepted format resolves to a parser that
// parses a line without crashing.
#include <string>

#include "absl/strings/str_cat.h"
#include "app/config.h"
#include "core/duration.h"
#include "core/uri.h"
#include "fuzz/fuzz_check.h"
#include "ingest/kafka_source.h"
#include "ingest/line_parser.h"
#include "simdjson.h"

using namespace sitepulse;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view s(reinterpret_cast<const char*>(data), size);
  const std::string p = fuzz::Printable(s);
  if (const auto d = ParseDuration(s); d.ok()) {
    const std::string printed = FormatDuration(*d);
    const auto back = ParseDuration(printed);
    FUZZ_CHECK(back.ok() && *back == *d, "duration '%s' prints as '%s'", p.c_str(), printed.c_str());
  }
  (void)ParseSize(s);
  (void)ParseKafkaStart(s);
  const auto uri = ParseUri(s);
  if (!uri.ok()) return 0;
  std::string printed = uri->ToString();
  for (size_t i = 0; i < uri->params.size(); ++i) {
    absl::StrAppend(&printed, i == 0 ? "?" : "&", uri->params[i].first, "=", uri->params[i].second);
  }
  const auto back = ParseUri(printed);
  FUZZ_CHECK(back.ok() && *back == *uri, "URI '%s' prints as '%s'", p.c_str(),
             fuzz::Printable(printed).c_str());
  FormatOverrides overrides;
  overrides.preset = "nginx";
  if (!ApplyUriParams(*uri, &overrides).ok()) return 0;
  const auto format = ResolveFormat(overrides);
  if (!format.ok()) return 0;
  LineParser parser(*format);
  std::string line = R"({"time":"2025-01-01T00:00:00Z","host":"a","status":200,"request_time":0.1})";
  const size_t len = line.size();
  line.append(simdjson::SIMDJSON_PADDING, ' ');
  ParsedRecord rec;
  (void)parser.Parse(line.data(), len, line.size(), &rec);
  return 0;
}
