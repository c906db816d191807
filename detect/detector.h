// A detector of one site: its per-site state, what it does at each bucket close, the anomaly
// events it emits, and its part of a state snapshot. The window engine owns one per (site,
// detector spec) and never names a kind: each kind is a subclass in detect/detectors/, made by
// its entry in the kind table (detect/detector_kind.h).
//
// Threading: the engine's (one thread).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "core/anomaly.h"
#include "core/bucket_counters.h"
#include "core/state_codec.h"
#include "core/time.h"
#include "detect/alert_state_machine.h"
#include "detect/detector_summary.h"
#include "detect/latency_sketch.h"
#include "detect/threshold_detector.h"

namespace sitepulse {

// Where anomaly events go (the engine's listener).
class AnomalyListener {
 public:
  virtual ~AnomalyListener() = default;
  virtual void OnAnomaly(const Anomaly& anomaly) = 0;
};

// Every judgement a detector makes at a bucket close, with its alert's phase after it: what
// `replay` draws (a learned baseline's band, pending spans). Optional; the engine's thread.
class EvaluationObserver {
 public:
  virtual ~EvaluationObserver() = default;
  virtual void OnEvaluation(std::string_view site, const DetectorSpec& spec, EventTime now,
                            const DetectorOutcome& outcome, AlertPhase phase) = 0;
};

// What detectors share across the engine: where events go, the sketch mapping, the bucket
// length, and the engine-wide counts the kinds keep (shown in the run summary and /metrics).
struct DetectorEnv {
  AnomalyListener* listener = nullptr;
  EvaluationObserver* observer = nullptr;  // optional
  const SketchMapping* mapping = nullptr;
  DurationNs resolution = 0;
  uint64_t baselines_warming = 0;         // learned baselines without a verdict yet
  uint64_t error_templates = 0;           // new_error_template: templates known
  uint64_t error_templates_over_cap = 0;  // new templates not tracked (max_templates reached)
  // No detector passes a close by: an observer charts every judgement, or a test asks for every
  // close (WindowEngineOptions::evaluate_every_close). The engine's gates and a kind's own skips
  // read this one flag.
  bool judge_every_close = false;
};

// What a detector reads at a bucket close of its site.
struct DetectorInput {
  std::string_view site;
  EventTime now = 0;           // the end of the bucket that closed
  const WindowView* window = nullptr;  // its window (kinds with windowed = true), else null
  EventTime last_data_end = INT64_MIN;  // end of the site's newest bucket with data
};

// A template a lane saw for the first time on this site (new_error_template).
struct TemplateSeen {
  EventTime bucket_start = 0;
  uint64_t hash = 0;
  LogLevel level = LogLevel::kError;
  std::string_view text, example;
};

// "damaged" snapshot errors, with the line they were found on.
absl::Status StateDamaged(const StateReader& r, std::string_view what);

class Detector {
 public:
  explicit Detector(const DetectorSpec& spec) : spec_(&spec) {}
  virtual ~Detector() = default;
  Detector(const Detector&) = delete;
  Detector& operator=(const Detector&) = delete;

  const DetectorSpec& spec() const { return *spec_; }
  // The same settings, held elsewhere (a configuration reload that did not change this
  // detector keeps it, with its alert and learned state, under the new configuration's spec).
  void Rebind(const DetectorSpec& spec) { spec_ = &spec; }
  // Which configuration it belongs to: 0 the run's, 1 the one `replay --compare` evaluates
  // over the same windows.
  uint8_t set = 0;
  // No alert pending or firing (an inactive alert stepped with a false condition stays so).
  bool alert_inactive() const { return primary_.machine.phase() == AlertPhase::kInactive; }

  // A closed bucket of the site with data, before Evaluate (burn_rate fills its rings).
  virtual void OnBucket(EventTime /*end*/, const BucketCounters& /*counters*/,
                        const DenseSketch& /*latency*/, const SketchMapping& /*mapping*/) {}
  // A template seen for the first time by a lane (new_error_template).
  virtual void OnTemplate(const TemplateSeen& /*t*/, DetectorEnv& /*env*/) {}
  // At each bucket close of the site: judge, and emit what changed.
  virtual void Evaluate(const DetectorInput& in, DetectorEnv& env) = 0;
  // The detector holds an alert or something about to fire: its site keeps its place.
  virtual bool Busy() const { return primary_.machine.phase() != AlertPhase::kInactive; }
  // The site's place goes to another name: undo what this detector counts in `env`.
  virtual void Release(DetectorEnv& /*env*/) {}
  // A configuration reload changed or removed this detector: an alert it holds firing is
  // resolved (at `now`, the end of the last closed bucket) so consumers waiting on it are not
  // left with an incident nobody will ever end; then Release.
  virtual void Retire(std::string_view site, EventTime now, DetectorEnv& env);

  // Snapshots: the engine writes "detector NAME" and the alert (SaveAlert); the kind adds its
  // own records after it, each a line starting with a word of its own.
  void SaveAlert(StateWriter& w) const;
  bool LoadAlert(StateReader& r);
  virtual void SaveRecords(StateWriter& /*w*/, bool /*include_open*/) const {}
  virtual absl::Status LoadRecord(const std::string& word, StateReader& r, DetectorEnv& env);

 protected:
  // One alert: its state machine, incident id and severity. 40 bytes: a detector's object is
  // fetched at every close of its site, its alert's text only when the alert changes, so the
  // id is held apart and the severity is the spec's.
  struct Alert {
    AlertStateMachine machine;
    // Its incident's id: set when it fires, kept after it ends ("" until then).
    const std::string& incident_id() const;
    void set_incident_id(std::string id);
    // The pair of spec.pairs whose severity it has (a burn_rate's); -1: spec.severity.
    int32_t severity_pair = -1;

   private:
    std::unique_ptr<std::string> incident_id_;
  };
  static_assert(sizeof(Alert) <= 40, "an alert's text is held apart");
  const std::string& SeverityOf(const Alert& alert) const {
    return alert.severity_pair < 0 ? spec_->severity
                                   : spec_->pairs[static_cast<size_t>(alert.severity_pair)].severity;
  }
  // Steps `alert` with the outcome and emits the transition, if any. `incident_key` (the
  // detector's name), then `key_suffix` after a colon when there is one (a burn_rate's second
  // severity), tells the incident from others of the site; they are joined only when an alert
  // fires, not at every close.
  void Emit(const DetectorInput& in, const DetectorOutcome& o, DetectorEnv& env, Alert& alert,
            std::string_view incident_key, std::string_view key_suffix = {});
  // The event's fields that differ by kind.
  virtual std::string_view MetricName() const { return sitepulse::MetricName(spec_->metric); }
  virtual DurationNs EventWindow(const DetectorOutcome& /*o*/) const { return spec_->window; }
  virtual AlertState StateOf(bool firing, const DetectorOutcome& o) const;
  virtual std::string Summary(std::string_view site, const DetectorOutcome& o,
                              AlertState state) const = 0;

  const DetectorSpec* spec_;
  Alert primary_;  // every kind has one (new_error_template's stays inactive: one per template)
};

}  // namespace sitepulse
