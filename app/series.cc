#include "app/series.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <deque>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "app/config.h"
#include "detect/detector_kind.h"
#include "core/log.h"
#include "core/strings.h"
#include "core/time.h"
#include "detect/series_scorer.h"
#include "detect/threshold_detector.h"

namespace sitepulse {
namespace {

constexpr const char* kSeriesHelp =
    "usage: sitepulse series --detector NAME [--config FILE] --input IN.csv --output OUT.csv\n"
    "\n"
    "Runs one detector over a timestamp,value CSV (a header line is optional) and writes\n"
    "timestamp,value,anomaly_score for every row, in order. The score is in [0, 1]: 0 while the\n"
    "detector is warming up or sees nothing unusual, 0.5 where its condition starts to hold\n"
    "(a learned baseline at `sensitivity` deviations; a threshold crossed), towards 1 beyond.\n"
    "\n"
    "  --detector NAME  a detector of the config (types baseline, traffic_drop, error_spike,\n"
    "                   threshold); without --config, a type with its defaults (baseline,\n"
    "                   traffic_drop, error_spike)\n"
    "  --config FILE    the YAML configuration that defines NAME\n"
    "  --input FILE     timestamps as RFC 3339, 'YYYY-MM-DD HH:MM:SS' (UTC) or epoch seconds;\n"
    "                   - for stdin\n"
    "  --output FILE    - for stdout\n"
    "  --score MODE     deviation (default): 1 - 2^-(d/sensitivity)^2 for a deviation of d\n"
    "                   spreads; likelihood: how unusual the last 10 deviations are against\n"
    "                   the series' own history of deviations (Numenta's anomaly likelihood);\n"
    "                   context: the highest of that and the same likelihood of two more\n"
    "                   kinds of evidence (how unexpected each value's coarse level is after\n"
    "                   the three before it; how far the mean of the last 48 values sits\n"
    "                   from the long-run mean), each with its own firing level; a value\n"
    "                   beyond the range seen so far by more than 5% of it scores 1\n"
    "  --tune NAME=V    context: override one of the scorer's constants (for cross-validation,\n"
    "                   scripts/nab-cv.sh): sequence_fires (0.995), shift_fires (0.995),\n"
    "                   extreme_tolerance (0.05), shift_window (48 rows), order (3; 0..5)\n";

// --tune NAME=VALUE into `t`; an error message or "".
std::string ApplyTune(const std::string& arg, SeriesTuning* t) {
  const size_t eq = arg.find('=');
  const std::string name = arg.substr(0, eq);
  double v = 0;
  if (eq == std::string::npos || !absl::SimpleAtod(arg.substr(eq + 1), &v) || !std::isfinite(v)) {
    return StrCat("--tune ", arg, ": expected NAME=NUMBER");
  }
  auto in = [&](double lo, double hi) { return v >= lo && v <= hi; };
  if (name == "sequence_fires" && in(0.5, 0.99999)) t->sequence_fires = v;
  else if (name == "shift_fires" && in(0.5, 0.99999)) t->shift_fires = v;
  else if (name == "extreme_tolerance" && in(0, 10)) t->extreme_tolerance = v;
  else if (name == "shift_window" && in(2, 1000) && v == std::floor(v)) t->shift_window = static_cast<int>(v);
  else if (name == "order" && in(0, 5) && v == std::floor(v)) t->order = static_cast<int>(v);
  else return StrCat("--tune ", arg, ": unknown name or value out of range (see --help)");
  return "";
}

int Fail(const std::string& msg) {
  std::fprintf(stderr, "sitepulse series: %s\n", msg.c_str());
  return 2;
}

bool ParseSeriesTime(std::string_view s, EventTime* t) {
  if (ParseTimeString(s, EpochUnit::kSeconds, t)) return true;
  // "2014-04-01 00:00:00" (NAB, most exports): UTC.
  const std::string z = StrCat(s, "Z");
  return ParseRfc3339(z, t);
}

// What real exports hold besides clean rows, counted; each kind is warned about at its first row.
struct SeriesQuirks {
  size_t skipped = 0, back = 0, repeated = 0;
  void Note(size_t* count, const std::string& input, size_t row, const char* what) {
    if ((*count)++ == 0) {
      SP_LOG(kWarning, "series", "%s:%zu: %s (further rows like it are counted)", input, row, what);
    }
  }
};

}  // namespace

int SeriesMain(const std::vector<std::string>& args) {
  std::string detector, config, input, output, score_mode = "deviation", tune;
  SeriesTuning tuning;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto next = [&](std::string* out) {
      if (i + 1 >= args.size()) return false;
      *out = args[++i];
      return true;
    };
    if (a == "--help" || a == "-h") {
      std::fputs(kSeriesHelp, stdout);
      return 0;
    }
    bool ok = true;
    if (a == "--detector") ok = next(&detector);
    else if (a == "--config") ok = next(&config);
    else if (a == "--input") ok = next(&input);
    else if (a == "--output") ok = next(&output);
    else if (a == "--score") ok = next(&score_mode);
    else if (a == "--tune") {
      ok = next(&tune);
      if (std::string e = ok ? ApplyTune(tune, &tuning) : ""; !e.empty()) return Fail(e);
    } else return Fail(StrCat("unknown option '", a, "'\n\n", kSeriesHelp));
    if (!ok) return Fail(StrCat(a, " needs a value"));
  }
  if (detector.empty() || input.empty() || output.empty()) {
    return Fail(StrCat("--detector, --input and --output are required\n\n", kSeriesHelp));
  }
  DetectorSpec spec;
  if (!config.empty()) {
    ConfigResult c = LoadConfig(config);
    if (!c.ok()) {
      std::fputs(c.FormatErrors().c_str(), stderr);
      return 2;
    }
    bool found = false;
    for (const DetectorSpec& s : c.config.detectors) {
      if (s.name == detector) {
        spec = s;
        found = true;
      }
    }
    if (!found) return Fail(StrCat("no detector named '", detector, "' in ", config));
  } else {
    const DetectorKind* kind = FindDetectorKind(detector);
    if (kind == nullptr || kind->series_defaults == nullptr) {
      std::string usable;
      for (const DetectorKind* k : DetectorKinds()) {
        if (k->series_defaults != nullptr) usable += usable.empty() ? k->name : StrCat(", ", k->name);
      }
      return Fail(StrCat("without --config, --detector must be one of ", usable));
    }
    spec.type = kind->type;
    spec.name = detector;
    kind->series_defaults(&spec);
  }
  if (!KindOf(spec.type).series) {
    std::string usable;
    for (const DetectorKind* k : DetectorKinds()) {
      if (k->series) usable += usable.empty() ? k->name : StrCat(", ", k->name);
    }
    return Fail(StrCat("detector '", detector, "' is a ", DetectorTypeName(spec.type),
                       " detector; series runs ", usable));
  }

  std::ifstream in_file;
  std::istream* in = &std::cin;
  if (input != "-") {
    in_file.open(input);
    if (!in_file) return Fail(StrCat("cannot open ", input));
    in = &in_file;
  }
  std::ofstream out_file;
  std::ostream* out = &std::cout;
  if (output != "-") {
    out_file.open(output);
    if (!out_file) return Fail(StrCat("cannot write ", output));
    out = &out_file;
  }
  *out << "timestamp,value,anomaly_score\n";
  if (score_mode != "deviation" && score_mode != "likelihood" && score_mode != "context") {
    return Fail("--score must be deviation, likelihood or context");
  }
  SeriesScorer scorer(spec, score_mode == "deviation"    ? ScoreMode::kDeviation
                            : score_mode == "likelihood" ? ScoreMode::kLikelihood
                                                         : ScoreMode::kContext,
                      tuning);
  std::string line;
  size_t row = 0;
  EventTime last = INT64_MIN;
  SeriesQuirks quirks;
  while (std::getline(*in, line)) {
    ++row;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const size_t comma = line.find(',');
    if (comma == std::string::npos) return Fail(StrCat(input, ":", row, ": expected timestamp,value"));
    const std::string ts = line.substr(0, comma);
    std::string vs = line.substr(comma + 1);
    if (const size_t c2 = vs.find(','); c2 != std::string::npos) vs.resize(c2);
    EventTime t;
    double v;
    if (!ParseSeriesTime(ts, &t)) {
      if (row == 1) continue;  // a header
      return Fail(StrCat(input, ":", row, ": cannot read '", line, "' as timestamp,value"));
    }
    // Real exports: a blank or non-numeric value is skipped; rows that step back (a repeated
    // hour at a clock change) or repeat a timestamp are scored in the order given. Each is
    // counted and warned about once.
    if (!absl::SimpleAtod(vs, &v) || !std::isfinite(v)) {
      if (row == 1) continue;  // a header
      quirks.Note(&quirks.skipped, input, row, "a blank or non-numeric value: row skipped");
      continue;
    }
    if (last != INT64_MIN && t < last) {
      quirks.Note(&quirks.back, input, row, "a timestamp earlier than the row before: scored in the given order");
    } else if (t == last) {
      quirks.Note(&quirks.repeated, input, row, "the same timestamp as the row before: scored in the given order");
    }
    last = t;
    const double score = scorer.Score(t, v);
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.10f", score);
    *out << ts << ',' << vs << ',' << buf << '\n';
  }
  out->flush();
  if (!*out) return Fail(StrCat("write error on ", output));
  if (quirks.skipped + quirks.back + quirks.repeated > 0) {
    SP_LOG(kInfo, "series",
           "%zu rows skipped (no numeric value), %zu stepped back in time, %zu repeated a "
           "timestamp",
           quirks.skipped, quirks.back, quirks.repeated);
  }
  return 0;
}

}  // namespace sitepulse
