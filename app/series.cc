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
#include "core/strings.h"
#include "core/time.h"
#include "detect/alert_state_machine.h"
#include "detect/baseline_model.h"
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
    "                   beyond the range seen so far by more than 5% of it scores 1\n";

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

// 1 - 2^-(d/s)^2: 0 at no deviation, 0.5 at `sensitivity` deviations, towards 1 beyond.
double ScoreOf(double directed_z, double sensitivity) {
  if (!(directed_z > 0)) return 0;
  const double r = directed_z / sensitivity;
  return 1 - std::exp2(-r * r);
}

// Tail probability of the mean of the last 10 deviations under a normal fitted (exponentially,
// half-life 1,000 rows) to all the deviations seen so far: 1 - P(that mean or more).
class Likelihood {
 public:
  double Score(double deviation) {
    recent_[next_++ % kRecent] = deviation;
    const size_t have = std::min(next_, kRecent);
    double avg = 0;
    for (size_t i = 0; i < have; ++i) avg += recent_[i];
    avg /= static_cast<double>(have);
    ++n_;
    const double a = std::max(1.0 / static_cast<double>(n_), 1 - std::exp2(-1.0 / 1000));
    const double sd = std::sqrt(std::max(var_, 1e-6));
    const double score =
        n_ < 50 ? 0 : 1 - 0.5 * std::erfc((avg - mean_) / (sd * std::sqrt(2.0)));
    const double d = deviation - mean_;
    mean_ += a * d;
    var_ = (1 - a) * (var_ + a * d * d);
    return score;
  }

 private:
  static constexpr size_t kRecent = 10;
  double recent_[kRecent] = {};
  size_t next_ = 0;
  uint64_t n_ = 0;
  double mean_ = 0;
  double var_ = 1;
};
constexpr double kLikelihoodFires = 0.99;
constexpr double kSequenceFires = 0.995;
constexpr double kShiftFires = 0.995;

// Maps a likelihood that fires at `fires` onto the common scale, where kLikelihoodFires fires:
// [0, fires] -> [0, kLikelihoodFires] and [fires, 1] -> [kLikelihoodFires, 1], so that evidence
// that needs more certainty to page can be compared (max) with the rest.
double OnCommonScale(double likelihood, double fires) {
  if (likelihood <= fires) return likelihood / fires * kLikelihoodFires;
  return kLikelihoodFires + (likelihood - fires) / (1 - fires) * (1 - kLikelihoodFires);
}

// A value beyond the range of every value before it by more than kTolerance of that range (what
// Numenta's NAB detector calls a spatial anomaly, with its tolerance): a new extreme is news
// whatever the recent history says. Needs two distinct values first.
class NewExtreme {
 public:
  bool Observe(double v) {
    bool beyond = false;
    if (n_ > 0 && hi_ > lo_) {
      const double tolerance = (hi_ - lo_) * kTolerance;
      beyond = v > hi_ + tolerance || v < lo_ - tolerance;
    }
    if (n_++ == 0) lo_ = hi_ = v;
    lo_ = std::min(lo_, v);
    hi_ = std::max(hi_, v);
    return beyond;
  }

 private:
  static constexpr double kTolerance = 0.05;
  uint64_t n_ = 0;
  double lo_ = 0, hi_ = 0;
};

// How far the mean of the last kWindow values sits from the long-run mean of the values before
// them, in standard errors: a sustained shift that single values, each within the spread, hide.
// Negative until the long run has enough values.
class MeanShift {
 public:
  double Score(double v) {
    window_.push_back(v);
    sum_ += v;
    if (window_.size() > kWindow) {
      // The value leaving the window joins the long run (exponential, half-life ~1,400 rows).
      const double old = window_.front();
      window_.pop_front();
      sum_ -= old;
      ++n_;
      const double a = std::max(1.0 / static_cast<double>(n_), 1.0 / kLongRun);
      const double d = old - mean_;
      mean_ += a * d;
      var_ = (1 - a) * (var_ + a * d * d);
    }
    if (n_ <= kMinLongRun) return -1;
    const double standard_error = std::sqrt(std::max(var_, 1e-12) / kWindow);
    return std::fabs(sum_ / kWindow - mean_) / standard_error;
  }

 private:
  static constexpr size_t kWindow = 48;
  static constexpr double kLongRun = 2000;
  static constexpr uint64_t kMinLongRun = 50;
  std::deque<double> window_;
  double sum_ = 0;
  uint64_t n_ = 0;
  double mean_ = 0, var_ = 0;
};

// How unexpected a value is after the few before it. Values fall into kLevels equal levels of
// the range seen so far (min to max); a table counts, for every run of kOrder levels, which
// level came next. The surprise of a value is 1 - P(its level | the kOrder before it), P
// estimated from the counts (plus a small prior). A series that repeats its shapes becomes
// predictable; a new shape (a step, a new rhythm, a level never seen) is a surprise even when
// the value itself is unremarkable.
class SequenceSurprise {
 public:
  double Score(double v) {
    if (n_++ == 0) lo_ = hi_ = v;
    lo_ = std::min(lo_, v);
    hi_ = std::max(hi_, v);
    const double span = hi_ - lo_;
    const int level =
        span > 0 ? std::clamp(static_cast<int>(kLevels * (v - lo_) / span), 0, kLevels - 1) : 0;
    std::array<uint32_t, kLevels>& next = counts_[history_];
    uint32_t total = 0;
    for (uint32_t c : next) total += c;
    const double p = (next[static_cast<size_t>(level)] + kPrior) / (total + kPrior * kLevels);
    ++next[static_cast<size_t>(level)];
    history_ = ((history_ << 3) | static_cast<uint32_t>(level)) & ((1u << (3 * kOrder)) - 1);
    return 1 - p;
  }

 private:
  static constexpr int kLevels = 8;  // 3 bits each in history_
  static constexpr int kOrder = 3;
  static constexpr double kPrior = 0.1;
  uint64_t n_ = 0;
  double lo_ = 0, hi_ = 0;
  uint32_t history_ = 0;  // the last kOrder levels
  absl::flat_hash_map<uint32_t, std::array<uint32_t, kLevels>> counts_;
};

// What real exports hold besides clean rows, counted; each kind is warned about at its first row.
struct SeriesQuirks {
  size_t skipped = 0, back = 0, repeated = 0;
  void Note(size_t* count, const std::string& input, size_t row, const char* what) {
    if ((*count)++ == 0) {
      std::fprintf(stderr, "sitepulse series: warning: %s:%zu: %s (further rows like it are counted)\n",
                   input.c_str(), row, what);
    }
  }
};

}  // namespace

int SeriesMain(const std::vector<std::string>& args) {
  std::string detector, config, input, output, score_mode = "deviation";
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
    else return Fail(StrCat("unknown option '", a, "'\n\n", kSeriesHelp));
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
  } else if (!ParseDetectorType(detector, &spec.type) || spec.type == DetectorType::kThreshold ||
             spec.type == DetectorType::kBurnRate || spec.type == DetectorType::kNoData) {
    return Fail(StrCat("without --config, --detector must be baseline, traffic_drop or error_spike"));
  } else {
    spec.name = detector;
    if (spec.type == DetectorType::kBaseline) spec.direction = Direction::kBoth;
    if (spec.type == DetectorType::kTrafficDrop) {
      spec.direction = Direction::kDrop;
      spec.min_change = 0.5;
      spec.sensitivity = 3;
    }
    if (spec.type == DetectorType::kErrorSpike) spec.min_change = 2;
  }
  if (spec.type == DetectorType::kBurnRate || spec.type == DetectorType::kNoData) {
    return Fail(StrCat("detector '", detector, "' is a ", DetectorTypeName(spec.type),
                       " detector; series runs threshold and baseline types"));
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
  const bool context_mode = score_mode == "context";
  const bool likelihood_mode = score_mode == "likelihood" || context_mode;
  Likelihood likelihood, sequence_likelihood, shift_likelihood;
  SequenceSurprise sequence;
  MeanShift shift;
  NewExtreme extreme;
  BaselineModel model(spec.baseline);
  // Only the row where the condition starts (or starts again after keep_firing_for without it)
  // is a new detection, as for alerts: while it holds, scores are damped below 0.5.
  AlertStateMachine machine;
  const AlertStateMachine::Options alert_options{0, spec.keep_firing_for};
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
    double score = 0;
    if (spec.type == DetectorType::kThreshold) {
      score = (spec.above ? v > spec.threshold : v < spec.threshold) ? 1 : 0;
    } else {
      const BaselineVerdict verdict = model.Observe(t, v);
      // Learns from every row, warm or not.
      const double sequence_score =
          context_mode ? sequence_likelihood.Score(sequence.Score(v)) : 0;
      const double shift_raw = context_mode ? shift.Score(v) : -1;
      const double shift_score = shift_raw >= 0 ? shift_likelihood.Score(shift_raw) : 0;
      const bool new_extreme = context_mode && extreme.Observe(v);
      if (verdict.warm) {
        const double z = spec.direction == Direction::kRise   ? verdict.z
                         : spec.direction == Direction::kDrop ? -verdict.z
                                                              : std::fabs(verdict.z);
        score = ScoreOf(z, spec.sensitivity);
        const double change = std::fabs(v - verdict.expected);
        if (change < spec.min_change * std::fabs(verdict.expected) || v < spec.min_value) {
          score = std::min(score, 0.49);  // the condition needs the relative change too
        }
        if (likelihood_mode) {
          // How unusual the recent deviations are against this series' own history of them
          // (Numenta's "anomaly likelihood"): a series that always jumps gets no credit for
          // jumping; a quiet one that starts to move does.
          score = likelihood.Score(std::max(0.0, z));
          // Three kinds of evidence, each against its own history: a value far from the
          // baseline, a value out of the series' usual sequence, a shift of the recent mean;
          // the last two fire at higher likelihoods (swept on NAB: they are noisier). A new
          // extreme fires outright.
          if (context_mode) {
            score = std::max({score, OnCommonScale(sequence_score, kSequenceFires),
                              OnCommonScale(shift_score, kShiftFires)});
            if (new_extreme) score = 1;
          }
          const bool was_active = machine.phase() == AlertPhase::kFiring;
          const AlertTransition tr = machine.Step(score >= kLikelihoodFires, t, alert_options);
          if (was_active && tr != AlertTransition::kFire) score = std::min(score, kLikelihoodFires) * 0.5;
        } else {
        const bool was_active = machine.phase() == AlertPhase::kFiring;
        const AlertTransition tr = machine.Step(score >= 0.5, t, alert_options);
        if (was_active && tr != AlertTransition::kFire) score = std::min(score, 0.49) * 0.5;
        }
      }
    }
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.10f", score);
    *out << ts << ',' << vs << ',' << buf << '\n';
  }
  out->flush();
  if (!*out) return Fail(StrCat("write error on ", output));
  if (quirks.skipped + quirks.back + quirks.repeated > 0) {
    std::fprintf(stderr,
                 "sitepulse series: %zu rows skipped (no numeric value), %zu stepped back in "
                 "time, %zu repeated a timestamp\n",
                 quirks.skipped, quirks.back, quirks.repeated);
  }
  return 0;
}

}  // namespace sitepulse
