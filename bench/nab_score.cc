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
  int category = 0;  // index into Corpus::categories (the file's directory)
};

struct Corpus {
  std::vector<Row> rows;
  int windows = 0;
  int files = 0;
  std::vector<std::string> categories;
  std::vector<int> window_category;  // per window
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

// Reads every file of the windows list: its data, its results in `results`, its windows.
// An error message, or "" when the corpus was read.
std::string LoadCorpus(const simdjson::dom::object& files, const std::string& data,
                       const std::string& results, Corpus& corpus) {
  auto Fail = [](const std::string& m) { return m; };
  const double max_tp = ScaledSigmoid(-1.0);
  std::vector<std::string> per_file;
  for (auto [key, value] : files) {
    const std::string file(key);
    const std::string category = file.substr(0, file.find('/'));
    auto cat_it = std::find(corpus.categories.begin(), corpus.categories.end(), category);
    const int cat = static_cast<int>(cat_it - corpus.categories.begin());
    if (cat_it == corpus.categories.end()) corpus.categories.push_back(category);
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
      Row r{scores[i], -1, 0, 0, cat};
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
    corpus.window_category.insert(corpus.window_category.end(), ranges.size(), cat);
    ++corpus.files;
  }

  return "";
}

// --- Leave-one-category-out cross-validation -------------------------------------------------
//
// Every --results directory is one candidate configuration (a variant). For each category in
// turn, the variant and the threshold are chosen on the other categories alone (the best
// standard-profile score there) and applied to the held-out category. Reported: each fold's
// normalised score (a category without windows has none: its false-positive rows instead), their
// mean over the folds with windows (the headline), and the pooled score of all held-out rows.

std::string cv_json;
double cv_min = -1e9;

struct Outcome {
  double s = 0;        // raw score
  double threshold = 0;
  int tp = 0, fp = 0;
};

// The best threshold over the rows of `keep` categories (every distinct score, from the top).
Outcome Sweep(const Corpus& c, const std::vector<bool>& keep, const Profile& p) {
  std::vector<const Row*> rows;
  int windows = 0;
  for (size_t w = 0; w < c.window_category.size(); ++w) windows += keep[c.window_category[w]] ? 1 : 0;
  for (const Row& r : c.rows) {
    if (keep[r.category] && r.window != -2) rows.push_back(&r);
  }
  std::sort(rows.begin(), rows.end(), [](const Row* a, const Row* b) { return a->score > b->score; });
  std::vector<double> best(c.window_category.size(), -1.0);
  Outcome cur{-p.a_fn * windows, 1.0 + 1e-9, 0, 0};
  Outcome top = cur;
  for (size_t i = 0; i < rows.size();) {
    const double t = rows[i]->score;
    for (; i < rows.size() && rows[i]->score == t; ++i) {
      const Row& r = *rows[i];
      if (r.window >= 0) {
        double& b = best[static_cast<size_t>(r.window)];
        if (b < 0) {
          cur.s += p.a_fn + r.tp * p.a_tp;
          ++cur.tp;
          b = r.tp;
        } else if (r.tp > b) {
          cur.s += (r.tp - b) * p.a_tp;
          b = r.tp;
        }
      } else {
        cur.s += r.fp * p.a_fp;
        ++cur.fp;
      }
    }
    cur.threshold = t;
    if (cur.s > top.s) top = cur;
  }
  return top;
}

// The rows of `keep` categories at a fixed threshold.
Outcome Apply(const Corpus& c, const std::vector<bool>& keep, const Profile& p, double t) {
  std::vector<double> best(c.window_category.size(), -1.0);
  Outcome o{0, t, 0, 0};
  for (const Row& r : c.rows) {
    if (!keep[r.category] || r.window == -2 || r.score < t) continue;
    if (r.window >= 0) {
      double& b = best[static_cast<size_t>(r.window)];
      b = std::max(b, r.tp);
    } else {
      o.s += r.fp * p.a_fp;
      ++o.fp;
    }
  }
  for (size_t w = 0; w < best.size(); ++w) {
    if (!keep[c.window_category[w]]) continue;
    if (best[w] >= 0) {
      o.s += best[w] * p.a_tp;
      ++o.tp;
    } else {
      o.s -= p.a_fn;
    }
  }
  return o;
}

int CrossValidate(const simdjson::dom::object& files, const std::string& data,
                  const std::vector<std::string>& results, const Corpus& first) {
  std::vector<Corpus> variants{first};
  for (size_t v = 1; v < results.size(); ++v) {
    variants.emplace_back();
    if (std::string e = LoadCorpus(files, data, results[v], variants.back()); !e.empty()) return Fail(e);
  }
  const size_t cats = first.categories.size();
  std::string json = "{\"variants\":" + std::to_string(variants.size()) + ",\"profiles\":{";
  double headline = 0;
  std::printf("NAB leave-one-category-out (%d files, %d windows, %zu variants): variant and threshold\n"
              "chosen on the other categories, scored on the held-out one\n",
              first.files, first.windows, variants.size());
  for (const Profile& p : kProfiles) {
    std::printf("%s\n  %-24s %8s %8s %10s %5s %5s %5s\n", p.name, "held out", "score", "variant",
                "threshold", "TP", "FN", "FP");
    double pooled = 0, sum = 0;
    int folds = 0, windows_all = 0;
    json += std::string(p.name == kProfiles[0].name ? "" : ",") + "\"" + p.name + "\":{\"folds\":[";
    for (size_t c = 0; c < cats; ++c) {
      std::vector<bool> train(cats, true), test(cats, false);
      train[c] = false;
      test[c] = true;
      size_t best_v = 0;
      Outcome best_train;
      best_train.s = -1e18;
      for (size_t v = 0; v < variants.size(); ++v) {
        const Outcome o = Sweep(variants[v], train, p);
        if (o.s > best_train.s) best_train = o, best_v = v;
      }
      const Outcome held = Apply(variants[best_v], test, p, best_train.threshold);
      int w = 0;
      for (int wc : first.window_category) w += wc == static_cast<int>(c) ? 1 : 0;
      windows_all += w;
      pooled += held.s;
      const double norm = w > 0 ? 100 * (held.s + p.a_fn * w) / ((p.a_tp + p.a_fn) * w) : 0;
      if (w > 0) sum += norm, ++folds;
      char score[32];
      std::snprintf(score, sizeof(score), w > 0 ? "%.1f" : "n/a", norm);
      std::printf("  %-24s %8s %8zu %10.4f %5d %5d %5d\n", first.categories[c].c_str(), score, best_v,
                  best_train.threshold, held.tp, w - held.tp, held.fp);
      json += std::string(c == 0 ? "" : ",") + "{\"category\":\"" + first.categories[c] +
              "\",\"windows\":" + std::to_string(w) + ",\"score\":" + (w > 0 ? std::to_string(norm) : "null") +
              ",\"variant\":" + std::to_string(best_v) + ",\"threshold\":" +
              std::to_string(best_train.threshold) + ",\"tp\":" + std::to_string(held.tp) +
              ",\"fp\":" + std::to_string(held.fp) + "}";
    }
    const double mean = folds > 0 ? sum / folds : 0;
    const double pooled_norm = 100 * (pooled + p.a_fn * windows_all) / ((p.a_tp + p.a_fn) * windows_all);
    std::printf("  %-24s %8.1f   (mean of the %d folds with windows; pooled held-out rows %.1f)\n",
                "cross-validated", mean, folds, pooled_norm);
    json += "],\"mean\":" + std::to_string(mean) + ",\"pooled\":" + std::to_string(pooled_norm) + "}";
    if (p.name == kProfiles[0].name) headline = mean;
  }
  json += "}}";
  if (!cv_json.empty()) std::ofstream(cv_json) << json << "\n";
  if (headline < cv_min) {
    std::fprintf(stderr, "nab_score: cross-validated standard score %.1f is below %.1f\n", headline, cv_min);
    return 1;
  }
  return 0;
}

int main(int argc, char** argv) {
  std::string data, windows_path, json_out;
  std::vector<std::string> results;
  bool cv = false;
  double min_standard = -1e9;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return std::string(i + 1 < argc ? argv[++i] : ""); };
    if (a == "--data") data = next();
    else if (a == "--windows") windows_path = next();
    else if (a == "--results") results.push_back(next());
    else if (a == "--cv") cv = true;
    else if (a == "--json") json_out = next();
    else if (a == "--min-standard") min_standard = std::stod(next());
    else return Fail("unknown argument " + a);
  }
  if (data.empty() || windows_path.empty() || results.empty()) {
    return Fail("usage: nab_score --data DIR --windows FILE --results DIR [--json OUT] [--min-standard X]\n"
                "       nab_score --cv --data DIR --windows FILE --results DIR [--results DIR]... [--json OUT] [--min-standard X]");
  }
  if (!cv && results.size() != 1) return Fail("one --results without --cv");
  cv_json = json_out;
  cv_min = min_standard;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.load(windows_path).get(root) != simdjson::SUCCESS) return Fail("cannot read " + windows_path);
  simdjson::dom::object files;
  if (root.get_object().get(files) != simdjson::SUCCESS) return Fail("windows: expected an object");

  Corpus corpus;
  if (std::string e = LoadCorpus(files, data, results.front(), corpus); !e.empty()) return Fail(e);
  if (cv) return CrossValidate(files, data, results, corpus);
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
    const std::vector<bool> every(corpus.categories.size(), true);
    for (double t : cands) {
      const Outcome o = Apply(corpus, every, p, t);
      if (o.s > best) {
        best = o.s;
        best_t = t;
        best_tp = o.tp;
        best_fp = o.fp;
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
