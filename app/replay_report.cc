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
// A chart coordinate: whole pixels (the charts are 1000 x 180; sizes stay small).
std::string Px(double v) { return StrCat(std::lround(v)); }

// An SVG path in whole pixels; a point that continues a horizontal run only moves the run's end
// (a flat stretch of a day is two points, not hundreds).
class SvgPath {
 public:
  void To(double x, double y) {
    const std::pair<long, long> p{std::lround(x), std::lround(y)};
    const size_t n = pts_.size();
    if (n >= 2 && pts_[n - 1].second == p.second && pts_[n - 2].second == p.second) {
      pts_[n - 1] = p;
    } else if (n == 0 || pts_[n - 1] != p) {
      pts_.push_back(p);
    }
  }
  // "M x,y L x,y ..." continuing `after` (a path already started) when it is true.
  std::string Commands(bool after = false) const {
    std::string d;
    for (const auto& [x, y] : pts_) StrAppend(&d, d.empty() && !after ? "M" : "L", x, ",", y);
    return d;
  }

 private:
  std::vector<std::pair<long, long>> pts_;
};
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

double Value(const StatsPoint& p, Metric m) {
  switch (m) {
    case Metric::kErrorRate: return p.error_rate;
    case Metric::kRequestRate: return p.request_rate;
    case Metric::kErrorLogRate: return p.error_log_rate;
    default: return p.p99;  // the series keep p99 (other quantiles: p99 as the closest shown)
  }
}

bool IsLearned(DetectorType t) {
  return t == DetectorType::kBaseline || t == DetectorType::kTrafficDrop ||
         t == DetectorType::kErrorSpike;
}

// The learned detector whose band a chart of `m` shows: one that fired on the site first, else
// the first configured on that metric; null when there is none or it never judged the site.
const DetectorTrace* BandOf(const ReplayReportInput& in, const std::string& site, Metric m,
                            std::string* name) {
  auto traces = in.traces.find(site);
  if (traces == in.traces.end()) return nullptr;
  const ReplayRun& run = in.runs.front();
  const DetectorTrace* best = nullptr;
  for (const DetectorSpec& d : run.detectors) {
    if (!IsLearned(d.type) || d.metric != m) continue;
    auto t = traces->second.find(d.name);
    if (t == traces->second.end() || t->second.band.points().empty()) continue;
    bool fired = false;
    for (const ReplayIncident& inc : run.incidents) fired |= inc.site == site && inc.detector == d.name;
    if (best == nullptr || fired) {
      best = &t->second;
      *name = d.name;
    }
    if (fired) break;
  }
  return best;
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

// Points with hover text per chart when the series is longer.
constexpr size_t kHoverPoints = 24;
// Points over all charts of a report (1,000 charts of 240 points stay under 10 MB).
constexpr size_t kPointBudget = 240'000;

// A chart's geometry: event time across, the metric's values up.
struct Frame {
  double W = 1000, H = 180, L = 50, R = 10, T = 10, B = 20;
  EventTime from = 0;
  double span = 1, top = 1;
  double x(EventTime t) const { return L + (W - L - R) * static_cast<double>(t - from) / span; }
  double y(double v) const { return T + (H - T - B) * (1 - std::min(v, top) / top); }
};

// At most `max_points` points, each the maximum of its group (spikes stay visible).
template <typename Point>
std::vector<Point> Downsample(const std::vector<Point>& pts, size_t max_points, size_t* group) {
  *group = std::max<size_t>(1, (pts.size() + max_points - 1) / max_points);
  std::vector<Point> out;
  for (size_t i = 0; i < pts.size(); i += *group) {
    Point p = pts[i];
    for (size_t k = i + 1; k < std::min(pts.size(), i + *group); ++k) p.Merge(pts[k]);
    out.push_back(p);
  }
  return out;
}

// Known incidents (dashed), pending spans (hatched yellow), firing spans (red: page, amber:
// ticket; each links to its events), deploys (vertical lines).
void Spans(const ReplayReportInput& in, const std::string& site, const Frame& f, std::string* o) {
  const double h = f.H - f.T - f.B;
  for (const Label& l : in.labels) {
    if (l.site != site) continue;
    StrAppend(o, "<rect class=\"label\" x=\"", Px(f.x(l.start)), "\" y=\"", f.T, "\" width=\"",
              Px(std::max(1.0, f.x(l.end) - f.x(l.start))), "\" height=\"", h,
              "\" fill=\"none\" stroke=\"#c00\" stroke-dasharray=\"4 3\"><title>known incident ",
              Esc(l.kind), ": ", Esc(FormatRfc3339(l.start)), " to ", Esc(FormatRfc3339(l.end)), "</title></rect>");
  }
  if (auto traces = in.traces.find(site); traces != in.traces.end()) {
    for (const auto& [detector, trace] : traces->second) {
      for (const auto& [from, to] : trace.pending) {
        StrAppend(o, "<rect class=\"pending\" x=\"", Px(f.x(from)), "\" y=\"", f.T, "\" width=\"",
                  Px(std::max(1.0, f.x(to) - f.x(from))), "\" height=\"", h,
                  "\" fill=\"#fff2a8\" opacity=\"0.6\"><title>", Esc(detector), " pending ",
                  Esc(FormatRfc3339(from)), " to ", Esc(FormatRfc3339(to)), "</title></rect>");
      }
    }
  }
  // A's firing spans the chart's height; with --compare, B's are a strip along the bottom.
  for (const ReplayRun& run : in.runs) {
    const bool a = &run == &in.runs.front();
    for (const ReplayIncident& inc : run.incidents) {
      if (inc.site != site) continue;
      StrAppend(o, "<a href=\"#ev-", run.name, "-", Anchor(inc.id), "-firing\"><rect class=\"", a ? "firing" : "firing-b",
                "\" id=\"spot-", run.name, "-", Anchor(inc.id), "\" x=\"", Px(f.x(inc.started_at)), "\" y=\"",
                a ? f.T : f.H - f.B - 8, "\" width=\"", Px(std::max(2.0, f.x(inc.ended_at) - f.x(inc.started_at))),
                "\" height=\"", a ? h : 8, "\" fill=\"", inc.severity == "page" ? "#f4a3a3" : "#f7d9a8",
                "\" opacity=\"", a ? "0.5" : "0.9", "\"><title>", in.runs.size() > 1 ? run.name + ": " : "",
                Esc(inc.detector), " (", Esc(inc.severity), ") ", Esc(FormatRfc3339(inc.started_at)), " to ",
                Esc(FormatRfc3339(inc.ended_at)), "</title></rect></a>");
    }
  }
  if (auto deploys = in.deploys.find(site); deploys != in.deploys.end()) {
    for (const LedgerDeploy& d : deploys->second) {
      if (d.at < f.from || d.at > f.from + static_cast<EventTime>(f.span)) continue;
      StrAppend(o, "<line class=\"deploy\" x1=\"", Px(f.x(d.at)), "\" x2=\"", Px(f.x(d.at)), "\" y1=\"", f.T,
                "\" y2=\"", f.H - f.B, "\" stroke=\"#6a3d9a\" stroke-width=\"2\"><title>deploy ", Esc(d.version),
                " (from ", Esc(d.previous_version), ") at ", Esc(FormatRfc3339(d.at)), "</title></line>");
    }
  }
}

// A learned detector's band: shaded between its baseline and the bound it fires past, the
// baseline dashed.
void Band(const std::vector<BandPoint>& band, const std::string& detector, Metric m, const Frame& f,
          std::string* o) {
  SvgPath upper_path, lower_path, expected_path;
  for (const BandPoint& p : band) {
    upper_path.To(f.x(p.start), f.y(std::max(p.bound, p.expected)));
    expected_path.To(f.x(p.start), f.y(p.expected));
  }
  for (size_t i = band.size(); i-- > 0;) {
    lower_path.To(f.x(band[i].start), f.y(std::min(band[i].bound, band[i].expected)));
  }
  const std::string upper = upper_path.Commands(), lower = lower_path.Commands(/*after=*/true),
                    expected = expected_path.Commands();
  const BandPoint& last = band.back();
  StrAppend(o, "<path class=\"band\" d=\"", upper, lower, "Z\" fill=\"#9ecae1\" opacity=\"0.45\"><title>",
            Esc(detector), ": learned baseline and the bound it fires past (last: ",
            Esc(FormatMetricValue(m, last.expected)), ", bound ", Esc(FormatMetricValue(m, last.bound)),
            ")</title></path><path class=\"baseline\" d=\"", expected,
            "\" fill=\"none\" stroke=\"#3182bd\" stroke-dasharray=\"3 2\"/>");
}

// One site's chart: the metric per bucket, its threshold or learned band, pending and firing
// spans, incident windows, deploys; the events under it.
void Chart(const ReplayReportInput& in, const std::string& site, size_t max_points, std::string* o) {
  const ReplayRun& run = in.runs.front();
  const Metric m = ChartMetric(run, site);
  const BoundedSeries<StatsPoint>* stored = in.stats.count(site) ? &in.stats.at(site) : nullptr;
  size_t group = 1;
  const std::vector<StatsPoint> pts =
      stored ? Downsample(stored->points(), max_points, &group) : std::vector<StatsPoint>();
  std::vector<std::pair<EventTime, double>> series;
  for (const StatsPoint& p : pts) {
    const double v = Value(p, m);
    if (v >= 0) series.emplace_back(p.start, v);
  }
  double threshold = -1;
  for (const DetectorSpec& d : run.detectors) {
    if (d.type == DetectorType::kThreshold && d.metric == m) threshold = std::max(threshold, d.threshold);
  }
  std::string band_detector;
  const DetectorTrace* trace = BandOf(in, site, m, &band_detector);
  size_t band_group = 1;
  const std::vector<BandPoint> band =
      trace ? Downsample(trace->band.points(), max_points / 2, &band_group) : std::vector<BandPoint>();
  Frame f;
  f.from = in.from;
  f.span = std::max<double>(1, static_cast<double>(in.to - in.from));
  double top = threshold;
  for (const auto& [t, v] : series) top = std::max(top, v);
  for (const BandPoint& p : band) top = std::max<double>(top, std::max(p.bound, p.expected));
  f.top = top <= 0 ? 1 : top * 1.1;
  StrAppend(o, "<h3 class=\"site\" id=\"site-", Anchor(site), "\">", Esc(site), " &middot; ",
            Esc(MetricDescription(m)), "</h3><svg class=\"chart\" data-site=\"", Esc(site),
            "\" width=\"", f.W, "\" height=\"", f.H, "\" viewBox=\"0 0 ", f.W, " ", f.H, "\" role=\"img\">");
  Spans(in, site, f, o);
  if (!band.empty()) Band(band, band_detector, m, f, o);
  if (threshold >= 0) {
    StrAppend(o, "<line class=\"threshold\" x1=\"", f.L, "\" x2=\"", f.W - f.R, "\" y1=\"", Px(f.y(threshold)), "\" y2=\"",
              Px(f.y(threshold)), "\" stroke=\"#c00\"><title>threshold ", Esc(FormatMetricValue(m, threshold)), "</title></line>");
  }
  SvgPath metric_path;
  for (const auto& [t, v] : series) metric_path.To(f.x(t), f.y(v));
  StrAppend(o, "<path class=\"metric\" d=\"", metric_path.Commands(), "\" fill=\"none\" stroke=\"#1f5fbf\" stroke-width=\"1.2\"/>");
  // Hover text with exact values: on every point of a short series, else on the highest ones
  // (the spikes a reader wants to read).
  std::vector<size_t> hover(series.size());
  for (size_t i = 0; i < hover.size(); ++i) hover[i] = i;
  if (hover.size() > kHoverPoints) {
    std::partial_sort(hover.begin(), hover.begin() + kHoverPoints, hover.end(),
                      [&](size_t a, size_t b) { return series[a].second > series[b].second; });
    hover.resize(kHoverPoints);
    std::sort(hover.begin(), hover.end());
  }
  for (size_t i : hover) {
    const auto& [t, v] = series[i];
    StrAppend(o, "<circle cx=\"", Px(f.x(t)), "\" cy=\"", Px(f.y(v)), "\" r=\"2\" fill=\"#1f5fbf\"><title>",
              Esc(FormatRfc3339(t)), ": ", Esc(FormatMetricValue(m, v)), "</title></circle>");
  }
  StrAppend(o, "<text x=\"4\" y=\"", f.T + 10, "\" font-size=\"11\">", Esc(FormatMetricValue(m, f.top)),
            "</text><text x=\"4\" y=\"", f.H - f.B, "\" font-size=\"11\">0</text></svg>");
  const size_t per_point = group * (stored ? stored->group() : 1);
  if (per_point > 1) {
    StrAppend(o, "<p class=\"muted\">Shown as ", series.size(), " points, each the maximum of up to ",
              per_point, " buckets.</p>");
  }
  if (auto traces = in.traces.find(site); traces != in.traces.end()) {
    for (const auto& [detector, t] : traces->second) {
      if (t.pending_not_kept == 0) continue;
      StrAppend(o, "<p class=\"muted not-drawn\">", Esc(detector), " went pending ",
                t.pending.size() + t.pending_not_kept, " times; the first ", t.pending.size(),
                " are drawn, ", t.pending_not_kept, " more are not (a detector that flaps this "
                "much needs a longer <code>for</code> or window).</p>");
    }
  }
  StrAppend(o, "<ul class=\"events\">");
  for (const ReplayRun& r : in.runs) {
    for (const Anomaly& a : r.events) {
      if (a.site != site) continue;
      // Each event links to its span on the chart; a firing one is the span's link target.
      StrAppend(o, "<li", a.state == AlertState::kFiring ? StrCat(" id=\"ev-", r.name, "-", Anchor(a.id), "-firing\"") : "",
                "><a href=\"#spot-", r.name, "-", Anchor(a.id), "\">", in.runs.size() > 1 ? r.name + ": " : "",
                Esc(FormatRfc3339(a.at)), "</a> ", Esc(a.detector), " ", AlertStateName(a.state), " (",
                Esc(a.severity), "): ", Esc(a.summary), "</li>");
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
  StrAppend(&o, "<h2>Sites</h2><p class=\"muted\">Each chart: the metric per bucket (blue), a "
            "threshold (red line), a learned baseline (dashed) shaded up to the bound it fires past, "
            "alerts pending (yellow) and firing (red: page, amber: ticket", in.runs.size() > 1 ?
            "; configuration B's firing alerts are the strip along the bottom" : "",
            "), known incidents (dashed outline), deploys (purple lines). Hover for exact values; "
            "a span links to its event, an event to its span.</p>");
  // The size stays bounded: past the first few charts each gets fewer points
  // (kPointBudget over all charts, never under 100 each).
  const size_t drawn = std::min(order.size(), in.max_charts);
  const size_t max_points =
      drawn == 0 ? in.max_points : std::clamp<size_t>(kPointBudget / drawn, 100, in.max_points);
  size_t charts = 0;
  for (const auto& [w, site] : order) {
    if (charts++ >= in.max_charts) break;
    Chart(in, site, max_points, &o);
  }
  size_t quiet = 0;
  for (const auto& [site, pts] : in.stats) quiet += weight.count(site) ? 0 : 1;
  StrAppend(&o, "<p class=\"muted\" id=\"quiet\">", quiet, " sites had no alert and no known incident",
            order.size() > in.max_charts ? StrCat("; ", order.size() - in.max_charts, " sites with alerts are not charted (--max-charts)") : "",
            ".</p></body></html>\n");
  return o;
}

}  // namespace sitepulse
