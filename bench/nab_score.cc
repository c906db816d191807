// Scores anomaly detectors on the Numenta Anomaly Benchmark with NAB's published rules
// (../shared/data/README.md): per file, labelled windows; the first 15% of rows (at most 750) are
// probation; inside a window only the earliest detection counts, weighted by a scaled sigmoid of
// its position (A_tp at the left edge towards 0 at the right edge); a missed window costs A_fn; a
// detection outside every window costs A_fp (less right after a window, on the same sigmoid).
// One threshold per profile for the whole corpus, the best one, found by sweeping. The score is
// normalised: 100 * (S - S_null) / (S_perfect - S_null).
//
//   nab_score --data DIR/data --windows DIR/combined_windows.json --results RESULTS_DIR
//             [--json OUT] [--min-standard X]
//
// RESULTS_DIR holds, for each data file CATEGORY/NAME.csv, a CATEGORY/NAME.csv with
// timestamp,value,anomaly_score (the output of `sitepulse series`).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "simdjson.h"

namespace {

struct Profile {
  const char* name;
  double a_tp, a_fn, a_fp;
};
constexpr Profile kProfiles[] = {{"standard", 1.0, 1.0, 0.11},
                                 {"reward_low_FP_rate", 1.0, 1.0, 0.22},
                                 {"reward_low_FN_rate", 1.0, 2.0, 0.11}};

// NAB's scaled sigmoid: 2 / (1 + e^(5x)) - 1, with x > 3 treated as far away (-1).
double ScaledSigmoid(double x) {
  if (x > 3.0) return -1.0;
  return 2.0 / (1.0 + std::exp(5.0 * x)) - 1.0;
}

// One row, scored as NAB does before any threshold is applied.
struct Row {
  double score;    // the detector's anomaly score
  int window;      // index of the window the row is in (corpus-wide), -1 outside, -2 probation
  double tp;       // sigmoid weight if a true positive (unnormalised)
  double fp;       // sigmoid weight if a false positive (negative, before A_fp)
};

struct Corpus {
  std::vector<Row> rows;
  int windows = 0;
  int files = 0;
};

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  std::string l;
  while (std::getline(in, l)) {
    if (!l.empty() && l.back() == '\r') l.pop_back();
    lines.push_back(l);
  }
  return lines;
}

// "2014-04-10 07:15:00.000000" and "2014-04-10 07:15:00" compare equal.
std::string NormTime(std::string s) {
  if (s.size() > 19) s.resize(19);
  return s;
}

int Fail(const std::string& m) {
  std::fprintf(stderr, "nab_score: %s\n", m.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string data, windows_path, results, json_out;
  double min_standard = -1e9;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return std::string(i + 1 < argc ? argv[++i] : ""); };
    if (a == "--data") data = next();
    else if (a == "--windows") windows_path = next();
    else if (a == "--results") results = next();
    else if (a == "--json") json_out = next();
    else if (a == "--min-standard") min_standard = std::stod(next());
    else return Fail("unknown argument " + a);
  }
  if (data.empty() || windows_path.empty() || results.empty()) {
    return Fail("usage: nab_score --data DIR --windows FILE --results DIR [--json OUT] [--min-standard X]");
  }
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.load(windows_path).get(root) != simdjson::SUCCESS) return Fail("cannot read " + windows_path);
  simdjson::dom::object files;
  if (root.get_object().get(files) != simdjson::SUCCESS) return Fail("windows: expected an object");

  Corpus corpus;
  const double max_tp = ScaledSigmoid(-1.0);
  std::vector<std::string> per_file;
  for (auto [key, value] : files) {
    const std::string file(key);
    std::vector<std::pair<std::string, std::string>> wins;
    simdjson::dom::array arr;
    if (value.get_array().get(arr) != simdjson::SUCCESS) return Fail("windows of " + file);
    for (simdjson::dom::element w : arr) {
      simdjson::dom::array pair;
      std::string_view a, b;
      if (w.get_array().get(pair) != simdjson::SUCCESS || pair.size() != 2 ||
          pair.at(0).get_string().get(a) != simdjson::SUCCESS ||
          pair.at(1).get_string().get(b) != simdjson::SUCCESS) {
        return Fail("bad window in " + file);
      }
      wins.emplace_back(NormTime(std::string(a)), NormTime(std::string(b)));
    }
    const std::vector<std::string> lines = ReadLines(results + "/" + file);
    const std::vector<std::string> data_lines = ReadLines(data + "/" + file);
    if (data_lines.size() < 2) return Fail("cannot read data " + data + "/" + file);
    if (lines.size() != data_lines.size()) {
      return Fail("results for " + file + " have " + std::to_string(lines.size()) +
                  " lines, the data " + std::to_string(data_lines.size()));
    }
    const size_t n = lines.size() - 1;  // minus the header
    std::vector<std::string> ts(n);
    std::vector<double> scores(n);
    for (size_t i = 0; i < n; ++i) {
      const std::string& l = lines[i + 1];
      const size_t c1 = l.find(','), c2 = l.rfind(',');
      if (c1 == std::string::npos || c2 == c1) return Fail("bad result line in " + file + ": " + l);
      ts[i] = NormTime(l.substr(0, c1));
      scores[i] = std::stod(l.substr(c2 + 1));
      if (ts[i] != NormTime(data_lines[i + 1].substr(0, data_lines[i + 1].find(',')))) {
        return Fail("results for " + file + " are not row for row the data (row " + std::to_string(i + 1) + ")");
      }
      if (!(scores[i] >= 0 && scores[i] <= 1)) return Fail("score outside [0, 1] in " + file);
    }
    const size_t probation = std::min<size_t>(static_cast<size_t>(std::floor(0.15 * static_cast<double>(n))), 750);
    // Window index ranges.
    std::vector<std::pair<size_t, size_t>> ranges;
    for (const auto& [a, b] : wins) {
      const auto ia = std::find(ts.begin(), ts.end(), a);
      const auto ib = std::find(ts.begin(), ts.end(), b);
      if (ia == ts.end() || ib == ts.end()) return Fail("window not on rows in " + file + ": " + a);
      ranges.emplace_back(static_cast<size_t>(ia - ts.begin()), static_cast<size_t>(ib - ts.begin()));
    }
    size_t w = 0;
    long prev_right = -1;
    double prev_width = 0;
    for (size_t i = 0; i < n; ++i) {
      Row r{scores[i], -1, 0, 0};
      const bool in_window = w < ranges.size() && i >= ranges[w].first && i <= ranges[w].second;
      if (in_window) {
        const double width = static_cast<double>(ranges[w].second - ranges[w].first + 1);
        const double pos = -static_cast<double>(ranges[w].second - i + 1) / width;
        r.window = corpus.windows + static_cast<int>(w);
        r.tp = ScaledSigmoid(pos) / max_tp;
      } else if (prev_right < 0) {
        r.fp = -1.0;
      } else {
        const double past = std::fabs(static_cast<double>(prev_right) - static_cast<double>(i)) /
                            (prev_width - 1);
        r.fp = ScaledSigmoid(past);
      }
      if (i < probation) r.window = -2;
      corpus.rows.push_back(r);
      if (in_window && i == ranges[w].second) {
        prev_right = static_cast<long>(i);
        prev_width = static_cast<double>(ranges[w].second - ranges[w].first + 1);
        ++w;
      }
    }
    corpus.windows += static_cast<int>(ranges.size());
    ++corpus.files;
  }

  // Candidate thresholds: every distinct score (capped to a few thousand quantiles).
  std::vector<double> cands;
  for (const Row& r : corpus.rows) cands.push_back(r.score);
  std::sort(cands.begin(), cands.end());
  cands.erase(std::unique(cands.begin(), cands.end()), cands.end());
  if (cands.size() > 4000) {
    std::vector<double> q;
    for (size_t i = 0; i < 4000; ++i) q.push_back(cands[i * cands.size() / 4000]);
    q.push_back(cands.back());
    cands = q;
  }
  cands.push_back(1.0 + 1e-9);  // the null detector

  std::string json = "{\"files\":" + std::to_string(corpus.files) +
                     ",\"windows\":" + std::to_string(corpus.windows) + ",\"profiles\":{";
  std::printf("NAB (%d files, %d windows), one threshold per profile for the whole corpus\n",
              corpus.files, corpus.windows);
  std::printf("%-20s %8s %10s %6s %6s %6s\n", "profile", "score", "threshold", "TP", "FN", "FP");
  double standard = 0;
  bool first_profile = true;
  for (const Profile& p : kProfiles) {
    double best = -1e18, best_t = 0;
    int best_tp = 0, best_fp = 0;
    std::vector<double> window_best(static_cast<size_t>(corpus.windows));
    for (double t : cands) {
      std::fill(window_best.begin(), window_best.end(), -1.0);
      double fp_sum = 0;
      int fps = 0;
      for (const Row& r : corpus.rows) {
        if (r.score < t || r.window == -2) continue;
        if (r.window >= 0) {
          double& b = window_best[static_cast<size_t>(r.window)];
          b = std::max(b, r.tp);
        } else {
          fp_sum += r.fp * p.a_fp;
          ++fps;
        }
      }
      double s = fp_sum;
      int tps = 0;
      for (double b : window_best) {
        if (b >= 0) {
          s += b * p.a_tp;
          ++tps;
        } else {
          s -= p.a_fn;
        }
      }
      if (s > best) {
        best = s;
        best_t = t;
        best_tp = tps;
        best_fp = fps;
      }
    }
    const double null_score = -p.a_fn * corpus.windows;
    const double perfect = p.a_tp * corpus.windows;
    const double normalised = 100 * (best - null_score) / (perfect - null_score);
    if (std::string(p.name) == "standard") standard = normalised;
    std::printf("%-20s %8.1f %10.4f %6d %6d %6d\n", p.name, normalised, best_t, best_tp,
                corpus.windows - best_tp, best_fp);
    json += std::string(first_profile ? "" : ",") + "\"" + p.name + "\":{\"score\":" +
            std::to_string(normalised) + ",\"threshold\":" + std::to_string(best_t) +
            ",\"tp\":" + std::to_string(best_tp) + ",\"fn\":" + std::to_string(corpus.windows - best_tp) +
            ",\"fp\":" + std::to_string(best_fp) + "}";
    first_profile = false;
  }
  json += "}}";
  if (!json_out.empty()) std::ofstream(json_out) << json << "\n";
  if (standard < min_standard) {
    std::fprintf(stderr, "nab_score: standard profile %.1f is below %.1f\n", standard, min_standard);
    return 1;
  }
  return 0;
}
