#include "app/replay_score.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include "core/strings.h"
#include "simdjson.h"

namespace sitepulse {

absl::Status CheckSideFile(const std::string& path, const char* what) {
  std::error_code ec;
  const uintmax_t bytes = std::filesystem::file_size(path, ec);
  if (!ec && bytes > kMaxSideFileBytes) {
    return absl::InvalidArgumentError(StrCat(path, ": ", bytes, " bytes of ", what, "; at most ",
                                             kMaxSideFileBytes >> 20, " MiB are read"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Label>> ReadLabels(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(StrCat("cannot read labels ", path));
  if (absl::Status st = CheckSideFile(path, "labels"); !st.ok()) return st;
  std::vector<Label> out;
  simdjson::dom::parser parser;
  size_t n = 0;
  for (std::string line; std::getline(in, line);) {
    ++n;
    if (line.empty()) continue;
    simdjson::dom::element doc;
    std::string_view site, start, end, kind = "";
    if (parser.parse(line).get(doc) != simdjson::SUCCESS || doc["site"].get_string().get(site) ||
        doc["start"].get_string().get(start) || doc["end"].get_string().get(end)) {
      return absl::InvalidArgumentError(
          StrCat(path, ":", n, ": expected {\"site\",\"start\",\"end\",\"kind\"} with RFC 3339 times"));
    }
    if (doc["kind"].get_string().get(kind) != simdjson::SUCCESS) kind = "";
    Label l{std::string(site), std::string(kind)};
    if (!ParseRfc3339(start, &l.start) || !ParseRfc3339(end, &l.end) || l.end < l.start) {
      return absl::InvalidArgumentError(StrCat(path, ":", n, ": start and end must be RFC 3339, start <= end"));
    }
    if (out.size() == kMaxSideFileEntries) {
      return absl::InvalidArgumentError(
          StrCat(path, ":", n, ": more than ", kMaxSideFileEntries, " labels"));
    }
    out.push_back(std::move(l));
  }
  return out;
}

std::vector<ReplayIncident> IncidentsOf(const std::vector<Anomaly>& events, EventTime input_end) {
  std::map<std::string, ReplayIncident> by_id;
  std::vector<std::string> order;
  for (const Anomaly& a : events) {
    auto [it, fresh] = by_id.try_emplace(a.id);
    ReplayIncident& inc = it->second;
    if (fresh) {
      order.push_back(a.id);
      inc = {a.id, a.site, a.detector, a.severity, a.started_at, a.at, input_end, false};
    }
    if (a.state != AlertState::kFiring) {
      inc.ended_at = a.at;
      inc.resolved = a.state == AlertState::kResolved;
    }
  }
  std::vector<ReplayIncident> out;
  for (const std::string& id : order) out.push_back(by_id[id]);
  return out;
}

namespace {
double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 == 1 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// `only`: a detector's name, or "" for every detector.
Score ScoreOne(const std::vector<ReplayIncident>& incidents, const std::vector<Label>& labels,
               const std::string& only, DurationNs bucket, double span_s) {
  Score s;
  s.detector = only;
  std::vector<double> durations, ttds;
  for (const ReplayIncident& inc : incidents) {
    if (!only.empty() && inc.detector != only) continue;
    ++s.fired;
    if (inc.resolved) durations.push_back(static_cast<double>(inc.ended_at - inc.fired_at) / 1e9);
    if (inc.severity != "page") continue;
    ++s.pages;
    const bool covered = std::any_of(labels.begin(), labels.end(), [&](const Label& l) {
      return l.site == inc.site && inc.started_at <= l.end && inc.ended_at >= l.start - bucket;
    });
    if (!covered) ++s.false_pages;
  }
  for (const Label& l : labels) {
    const ReplayIncident* first = nullptr;
    for (const ReplayIncident& inc : incidents) {
      if ((!only.empty() && inc.detector != only) || inc.site != l.site) continue;
      if (inc.started_at < l.start - bucket || inc.started_at > l.end) continue;
      if (first == nullptr || inc.fired_at < first->fired_at) first = &inc;
    }
    if (first == nullptr) {
      ++s.missed;
      continue;
    }
    ++s.detected;
    ttds.push_back(std::max(0.0, static_cast<double>(first->fired_at - l.start) / 1e9));
  }
  s.pages_per_day = span_s > 0 ? static_cast<double>(s.pages) * 86400.0 / span_s : 0;
  s.median_alert_s = Median(durations);
  s.median_ttd_s = Median(ttds);
  s.worst_ttd_s = ttds.empty() ? 0 : *std::max_element(ttds.begin(), ttds.end());
  return s;
}
}  // namespace

ReplayScore ScoreReplay(const std::vector<ReplayIncident>& incidents, const std::vector<Label>& labels,
                        const std::vector<std::string>& detectors, DurationNs bucket, double span_s) {
  ReplayScore r;
  std::vector<std::string> names = detectors;
  for (const ReplayIncident& inc : incidents) names.push_back(inc.detector);
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  for (const std::string& d : names) r.detectors.push_back(ScoreOne(incidents, labels, d, bucket, span_s));
  r.overall = ScoreOne(incidents, labels, "", bucket, span_s);
  return r;
}

}  // namespace sitepulse
