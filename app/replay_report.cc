#include "app/replay_report.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "absl/strings/str_format.h"
#include "core/duration.h"
#include "core/strings.h"

namespace sitepulse {
namespace {

std::string Esc(std::string_view s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '&': o += "&amp;"; break;
      case '"': o += "&quot;"; break;
      case '\'': o += "&#39;"; break;
      default: o += c;
    }
  }
  return o;
}

std::string Anchor(std::string_view s) {
  std::string o;
  for (char c : s) o += std::isalnum(static_cast<unsigned char>(c)) ? c : '-';
  return o;
}

std::string Num(double v) { return absl::StrFormat("%.4g", v); }
std::string Dur(double s) { return s <= 0 ? "0s" : FormatDuration(static_cast<DurationNs>(s) * kNanosPerSecond); }

constexpr const char* kStyle =
    "body{font:14px system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}"
    "table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #ccc;padding:3px 8px;"
    "text-align:right}th{background:#f2f2f2}td:first-child,th:first-child{text-align:left}"
    ".diff{background:#fff3b0;font-weight:bold}.site{margin:20px 0 8px}.muted{color:#777}"
    "svg{border:1px solid #ddd;background:#fff}ul.events{font-size:12px}.wide{overflow-x:auto}";

// The metric a site's chart shows: that of the first detector that fired there, else p99.
Metric ChartMetric(const ReplayRun& run, const std::string& site) {
  for (const ReplayIncident& inc : run.incidents) {
    if (inc.site != site) continue;
    for (const DetectorSpec& d : run.detectors) {
      if (d.name == inc.detector && d.type != DetectorType::kNoData &&
          d.type != DetectorType::kNewErrorTemplate && d.type != DetectorType::kBurnRate) {
        return d.metric;
      }
      if (d.name == inc.detector && d.type == DetectorType::kBurnRate) return Metric::kErrorRate;
    }
  }
  return Metric::kP99;
}

double Value(const StatsPoint& p, Metric m, double seconds) {
  switch (m) {
    case Metric::kErrorRate: return p.requests > 0 ? p.errors_5xx / p.requests : -1;
    case Metric::kRequestRate: return p.requests / seconds;
    case Metric::kErrorLogRate: return p.error_lines / seconds;
    default: return p.p99;  // the stats keep p99 (other quantiles: p99 as the closest shown)
  }
}

void Header(const ReplayReportInput& in, std::string* o) {
  StrAppend(o, "<h1>sitepulse replay</h1><p>Inputs: ", Esc(StrJoin(in.inputs, ", ")), " &middot; ",
            in.lines, " lines &middot; ", Esc(FormatRfc3339(in.from)), " to ", Esc(FormatRfc3339(in.to)),
            in.passes.empty() ? "" : StrCat(" &middot; read in ", Esc(in.passes)), "</p><ul>");
  for (const ReplayRun& r : in.runs) {
    StrAppend(o, "<li>Configuration ", r.name, ": <code>", Esc(r.config_path), "</code> (sha ",
              Esc(r.config_hash), "), ", r.events.size(), " events, ", r.incidents.size(), " incidents</li>");
  }
  StrAppend(o, "</ul>");
}

void ScoreTable(const ReplayReportInput& in, std::string* o) {
  StrAppend(o, "<h2>Detectors</h2><div class=\"wide\"><table id=\"detectors\"><tr><th>detector</th>");
  const std::vector<std::string> cols = in.has_labels
      ? std::vector<std::string>{"fired", "pages", "pages/day", "median alert", "detected", "missed", "false pages", "median TTD", "worst TTD"}
      : std::vector<std::string>{"fired", "pages", "pages/day", "median alert"};
  for (const ReplayRun& r : in.runs) {
    for (const std::string& c : cols) StrAppend(o, "<th>", in.runs.size() > 1 ? r.name + " " : "", c, "</th>");
  }
  StrAppend(o, "</tr>");
  std::set<std::string> names;
  for (const ReplayRun& r : in.runs) {
    for (const Score& s : r.score.detectors) names.insert(s.detector);
  }
  auto cells = [&](const Score* s) {
    std::vector<std::string> v;
    if (s == nullptr) return std::vector<std::string>(cols.size(), "&ndash;");
    v = {StrCat(s->fired), StrCat(s->pages), Num(s->pages_per_day), Dur(s->median_alert_s)};
    if (in.has_labels) {
      for (const std::string& x : {StrCat(s->detected), StrCat(s->missed), StrCat(s->false_pages),
                                   Dur(s->median_ttd_s), Dur(s->worst_ttd_s)}) {
        v.push_back(x);
      }
    }
    return v;
  };
  auto row = [&](const std::string& label, const std::vector<const Score*>& scores) {
    StrAppend(o, "<tr><td>", Esc(label), "</td>");
    std::vector<std::vector<std::string>> all;
    for (const Score* s : scores) all.push_back(cells(s));
    for (size_t r = 0; r < all.size(); ++r) {
      for (size_t c = 0; c < all[r].size(); ++c) {
        const bool diff = all.size() > 1 && all[0][c] != all[1][c];
        StrAppend(o, diff ? "<td class=\"diff\">" : "<td>", all[r][c], "</td>");
      }
    }
    StrAppend(o, "</tr>");
  };
  for (const std::string& n : names) {
    std::vector<const Score*> scores;
    for (const ReplayRun& r : in.runs) {
      const Score* found = nullptr;
      for (const Score& s : r.score.detectors) found = s.detector == n ? &s : found;
      scores.push_back(found);
    }
    row(n, scores);
  }
  std::vector<const Score*> overall;
  for (const ReplayRun& r : in.runs) overall.push_back(&r.score.overall);
  row("all detectors", overall);
  StrAppend(o, "</table></div>");
  if (in.has_labels) {
    StrAppend(o, "<p class=\"muted\">", in.labels.size(), " known incidents. Detected: the first firing "
              "event on the site starting within [start &minus; 1 bucket, end]; a false page overlaps no "
              "incident window of its site. TTD: time to detect.</p>");
  }
}

// One site's chart: the metric per bucket, its threshold, firing spans, incident windows.
void Chart(const ReplayReportInput& in, const std::string& site, std::string* o) {
  const ReplayRun& run = in.runs.front();
  const Metric m = ChartMetric(run, site);
  const double seconds = static_cast<double>(in.resolution) / 1e9;
  const std::vector<StatsPoint>& pts = in.stats.count(site) ? in.stats.at(site) : std::vector<StatsPoint>();
  // Downsample: at most max_points, each the maximum of its group (spikes stay visible).
  const size_t group = std::max<size_t>(1, (pts.size() + in.max_points - 1) / in.max_points);
  std::vector<std::pair<EventTime, double>> series;
  for (size_t i = 0; i < pts.size(); i += group) {
    double v = -1;
    for (size_t k = i; k < std::min(pts.size(), i + group); ++k) v = std::max(v, Value(pts[k], m, seconds));
    if (v >= 0) series.emplace_back(pts[i].start, v);
  }
  double threshold = -1;
  for (const DetectorSpec& d : run.detectors) {
    if (d.type == DetectorType::kThreshold && d.metric == m) threshold = std::max(threshold, d.threshold);
  }
  double top = threshold;
  for (const auto& [t, v] : series) top = std::max(top, v);
  top = top <= 0 ? 1 : top * 1.1;
  const double W = 1000, H = 180, L = 50, R = 10, T = 10, B = 20;
  const double span = std::max<double>(1, static_cast<double>(in.to - in.from));
  auto x = [&](EventTime t) { return L + (W - L - R) * static_cast<double>(t - in.from) / span; };
  auto y = [&](double v) { return T + (H - T - B) * (1 - v / top); };
  StrAppend(o, "<h3 class=\"site\" id=\"site-", Anchor(site), "\">", Esc(site), " &middot; ",
            Esc(MetricDescription(m)), "</h3><svg class=\"chart\" data-site=\"", Esc(site),
            "\" width=\"", W, "\" height=\"", H, "\" viewBox=\"0 0 ", W, " ", H, "\" role=\"img\">");
  for (const Label& l : in.labels) {
    if (l.site != site) continue;
    StrAppend(o, "<rect class=\"label\" x=\"", Num(x(l.start)), "\" y=\"", T, "\" width=\"",
              Num(std::max(1.0, x(l.end) - x(l.start))), "\" height=\"", H - T - B,
              "\" fill=\"none\" stroke=\"#c00\" stroke-dasharray=\"4 3\"><title>known incident ",
              Esc(l.kind), ": ", Esc(FormatRfc3339(l.start)), " to ", Esc(FormatRfc3339(l.end)), "</title></rect>");
  }
  for (const ReplayIncident& inc : run.incidents) {
    if (inc.site != site) continue;
    StrAppend(o, "<a href=\"#ev-", Anchor(inc.id), "\"><rect class=\"firing\" x=\"", Num(x(inc.started_at)), "\" y=\"", T,
              "\" width=\"", Num(std::max(2.0, x(inc.ended_at) - x(inc.started_at))), "\" height=\"",
              H - T - B, "\" fill=\"", inc.severity == "page" ? "#f4a3a3" : "#f7d9a8",
              "\" opacity=\"0.5\"><title>", Esc(inc.detector), " (", Esc(inc.severity), ") ",
              Esc(FormatRfc3339(inc.started_at)), " to ", Esc(FormatRfc3339(inc.ended_at)), "</title></rect></a>");
  }
  if (threshold >= 0) {
    StrAppend(o, "<line class=\"threshold\" x1=\"", L, "\" x2=\"", W - R, "\" y1=\"", Num(y(threshold)), "\" y2=\"",
              Num(y(threshold)), "\" stroke=\"#c00\"><title>threshold ", Esc(FormatMetricValue(m, threshold)), "</title></line>");
  }
  std::string path;
  for (const auto& [t, v] : series) StrAppend(&path, path.empty() ? "M" : "L", Num(x(t)), ",", Num(y(v)));
  StrAppend(o, "<path class=\"metric\" d=\"", path, "\" fill=\"none\" stroke=\"#1f5fbf\" stroke-width=\"1.2\"/>");
  if (series.size() <= 300) {
    for (const auto& [t, v] : series) {
      StrAppend(o, "<circle cx=\"", Num(x(t)), "\" cy=\"", Num(y(v)), "\" r=\"2\" fill=\"#1f5fbf\"><title>",
                Esc(FormatRfc3339(t)), ": ", Esc(FormatMetricValue(m, v)), "</title></circle>");
    }
  }
  StrAppend(o, "<text x=\"4\" y=\"", T + 10, "\" font-size=\"11\">", Esc(FormatMetricValue(m, top)),
            "</text><text x=\"4\" y=\"", H - B, "\" font-size=\"11\">0</text></svg>");
  if (group > 1) StrAppend(o, "<p class=\"muted\">", pts.size(), " buckets shown as ", series.size(), " points (the maximum of every ", group, ").</p>");
  StrAppend(o, "<ul class=\"events\">");
  for (const ReplayRun& r : in.runs) {
    for (const Anomaly& a : r.events) {
      if (a.site != site) continue;
      StrAppend(o, "<li", r.name == "A" ? StrCat(" id=\"ev-", Anchor(a.id), "-", AlertStateName(a.state), "\"") : "",
                ">", in.runs.size() > 1 ? r.name + ": " : "", Esc(FormatRfc3339(a.at)), " ", Esc(a.detector), " ",
                AlertStateName(a.state), " (", Esc(a.severity), "): ", Esc(a.summary), "</li>");
    }
  }
  StrAppend(o, "</ul>");
}

void HealTable(const ReplayReportInput& in, std::string* o) {
  StrAppend(o, "<h2>What heal would have done</h2><p class=\"muted\">The rules of <code>", Esc(in.heal_path),
            "</code> in shadow mode over configuration A's events: every decision, nothing run. Shadow "
            "decisions do not count toward cooldown or max_attempts.</p><div class=\"wide\"><table id=\"heal\">"
            "<tr><th>decided</th><th>site</th><th>rule</th><th>detector</th><th>outcome</th><th>reason</th></tr>");
  for (const LedgerDecision& d : in.heal_decisions) {
    StrAppend(o, "<tr><td>", Esc(FormatRfc3339(d.decided_at)), "</td><td><a href=\"#site-", Anchor(d.site), "\">",
              Esc(d.site), "</a></td><td>", Esc(d.rule), "</td><td>", Esc(d.detector), "</td><td>", Esc(d.outcome),
              "</td><td style=\"text-align:left\">", Esc(d.reason), "</td></tr>");
  }
  StrAppend(o, "</table></div>");
}

}  // namespace

std::string RenderReplayReport(const ReplayReportInput& in) {
  std::string o =
      "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><meta http-equiv=\"Content-Security-Policy\" "
      "content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\"><title>sitepulse replay</title><style>";
  StrAppend(&o, kStyle, "</style></head><body>");
  Header(in, &o);
  ScoreTable(in, &o);
  if (in.has_heal) HealTable(in, &o);
  // Sites with alerts or labels first (most incidents first), then the rest, summarised.
  std::map<std::string, size_t> weight;
  for (const ReplayRun& r : in.runs) {
    for (const ReplayIncident& inc : r.incidents) ++weight[inc.site];
  }
  for (const Label& l : in.labels) weight[l.site] += 1;
  std::vector<std::pair<size_t, std::string>> order;
  for (const auto& [site, w] : weight) order.emplace_back(w, site);
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  StrAppend(&o, "<h2>Sites</h2>");
  size_t charts = 0;
  for (const auto& [w, site] : order) {
    if (charts++ >= in.max_charts) break;
    Chart(in, site, &o);
  }
  size_t quiet = 0;
  for (const auto& [site, pts] : in.stats) quiet += weight.count(site) ? 0 : 1;
  StrAppend(&o, "<p class=\"muted\" id=\"quiet\">", quiet, " sites had no alert and no known incident",
            order.size() > in.max_charts ? StrCat("; ", order.size() - in.max_charts, " sites with alerts are not charted (--max-charts)") : "",
            ".</p></body></html>\n");
  return o;
}

}  // namespace sitepulse
