// The replay report: one self-contained HTML file (inline SVG, no script, a strict
// Content-Security-Policy, no external fonts or requests) that opens from disk: the inputs and
// configurations, a table per detector (with labels: detected, missed, false pages, time to
// detect; with --compare: A and B side by side, differences marked), and per site a chart of
// the detector's metric with its threshold or learned band, pending and firing spans shaded,
// incident windows outlined, deploy markers, and the events listed under it with links to
// their spot.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "app/replay_score.h"
#include "app/replay_series.h"
#include "core/anomaly.h"
#include "detect/threshold_detector.h"
#include "heal/ledger.h"

namespace sitepulse {

struct ReplayRun {
  std::string name;  // "A" or "B"
  std::string config_path, config_hash;
  std::vector<Anomaly> events;
  std::vector<ReplayIncident> incidents;
  ReplayScore score;
  std::vector<DetectorSpec> detectors;
};

struct ReplayReportInput {
  std::vector<std::string> inputs;
  uint64_t lines = 0;
  EventTime from = 0, to = 0;
  DurationNs resolution = 0;
  std::vector<ReplayRun> runs;  // 1, or 2 with --compare
  std::string passes;           // how the input was read ("one pass", ...)
  std::vector<Label> labels;
  bool has_labels = false;
  std::map<std::string, BoundedSeries<StatsPoint>> stats;  // by site, in time order
  // Configuration A's detectors by site and name: learned bands and pending spans.
  std::map<std::string, std::map<std::string, DetectorTrace>> traces;
  // --deploys: deploy markers by site.
  std::map<std::string, std::vector<LedgerDeploy>> deploys;
  // --heal: what the heal rules decided in shadow mode over A's events.
  bool has_heal = false;
  std::string heal_path;
  std::vector<LedgerDecision> heal_decisions;
  size_t max_charts = 50;
  size_t max_points = 600;  // per chart; longer series are downsampled (max per group)
};

std::string RenderReplayReport(const ReplayReportInput& in);

}  // namespace sitepulse
