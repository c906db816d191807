// The per-site detector behind the three learned kinds (baseline, traffic_drop, error_spike): a
// window metric judged against its learned baseline (detect/baseline_model.h). The kinds differ
// in metric, defaults, keys and direction; their registrations are baseline.cc,
// traffic_drop.cc and error_spike.cc.
#pragma once

#include <memory>

#include "detect/baseline_model.h"
#include "detect/detector_kind.h"
#include "detect/evidence_scorer.h"

namespace sitepulse {

class LearnedDetector : public Detector {
 public:
  // `metric`: what the kind watches (traffic_drop: request rate, error_spike: error-log rate).
  // (The engine counts it as warming: DetectorKind::learns.)
  LearnedDetector(const DetectorSpec& spec, Metric metric);

  void Evaluate(const DetectorInput& in, DetectorEnv& env) override;
  void Release(DetectorEnv& env) override;
  void SaveRecords(StateWriter& w, bool include_open) const override;
  absl::Status LoadRecord(const std::string& word, StateReader& r, DetectorEnv& env) override;

 protected:
  std::string_view MetricName() const override { return sitepulse::MetricName(metric_); }
  std::string Summary(std::string_view site, const DetectorOutcome& o,
                      AlertState state) const override {
    return LearnedSummary(*spec_, site, metric_, o, state);
  }

 private:
  DetectorOutcome Judge(const WindowView& view, EventTime now, DetectorEnv& env);

  Metric metric_;
  BaselineModel baseline_;
  // score: likelihood or context (the evidence `series` weighs); null for deviation.
  std::unique_ptr<EvidenceScorer> evidence_;
};

}  // namespace sitepulse
