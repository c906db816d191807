#include "detect/detector.h"

#include "core/strings.h"

namespace sitepulse {

absl::Status StateDamaged(const StateReader& r, std::string_view what) {
  return absl::InvalidArgumentError(
      StrCat("state line ", r.line_number(), ": ", what, " (the file is damaged)"));
}

const std::string& Detector::Alert::incident_id() const {
  static const std::string* const kNone = new std::string();
  return incident_id_ ? *incident_id_ : *kNone;
}

void Detector::Alert::set_incident_id(std::string id) {
  if (id.empty()) {
    incident_id_.reset();
  } else {
    incident_id_ = std::make_unique<std::string>(std::move(id));
  }
}

void Detector::SaveAlert(StateWriter& w) const {
  const AlertStateMachine& m = primary_.machine;
  w.Int(static_cast<int>(m.phase())).Int(m.started_at()).Int(m.last_true());
  w.Word(primary_.incident_id());
}

namespace {
bool ReadAlert(StateReader& r, AlertStateMachine* m, std::string* id) {
  int64_t phase, started, last_true;
  if (!r.Int(&phase) || phase < 0 || phase > 2 || !r.Time(&started) || !r.Time(&last_true) ||
      !r.Word(id)) {
    return false;
  }
  // A pending or firing alert started at a real time: a sentinel there (a damaged snapshot)
  // would be written into its events as a start no reader accepts (fuzz/state_fuzz.cc).
  if (phase != 0 && (started == INT64_MIN || started == INT64_MAX)) return false;
  // A firing alert has its incident's id: its resolved event carries it.
  if (phase == 2 && id->empty()) return false;
  m->Restore(static_cast<AlertPhase>(phase), started, last_true);
  return true;
}
}  // namespace

bool Detector::LoadAlert(StateReader& r) {
  std::string id;
  if (!ReadAlert(r, &primary_.machine, &id)) return false;
  primary_.set_incident_id(std::move(id));
  return true;
}

absl::Status Detector::LoadRecord(const std::string& word, StateReader& r, DetectorEnv& /*env*/) {
  return StateDamaged(r, StrCat("unknown record '", word, "'"));
}

void Detector::Retire(std::string_view site, EventTime now, DetectorEnv& env) {
  if (primary_.machine.phase() == AlertPhase::kFiring) {
    const DetectorSpec& spec = *spec_;
    Anomaly a;
    a.site = std::string(site);
    a.detector = spec.name;
    a.severity = SeverityOf(primary_);
    a.metric = std::string(MetricName());
    a.window_s = spec.window / kNanosPerSecond;
    a.at = now;
    a.labels = spec.labels;
    a.started_at = primary_.machine.started_at();
    a.id = primary_.incident_id();
    a.state = AlertState::kResolved;
    a.summary = StrCat(spec.name, " on ", site,
                       " ended by a configuration reload that changed or removed the detector");
    env.listener->OnAnomaly(a);
  }
  Release(env);
}

AlertState Detector::StateOf(bool firing, const DetectorOutcome& o) const {
  if (firing) return AlertState::kFiring;
  // A site that went silent is not "resolved": nobody knows. Its alert ends as no_data.
  return o.silent ? AlertState::kNoData : AlertState::kResolved;
}

void Detector::Emit(const DetectorInput& in, const DetectorOutcome& o, DetectorEnv& env,
                    Alert& alert, std::string_view incident_key, std::string_view key_suffix) {
  const DetectorSpec& spec = *spec_;
  const AlertTransition t =
      alert.machine.Step(o.condition, in.now, {spec.for_duration, spec.keep_firing_for});
  if (env.observer != nullptr) env.observer->OnEvaluation(in.site, spec, in.now, o, alert.machine.phase());
  if (t == AlertTransition::kNone) return;
  Anomaly a;
  a.site = std::string(in.site);
  a.detector = spec.name;
  a.severity = SeverityOf(alert);
  a.metric = std::string(MetricName());
  a.value = o.value;
  a.threshold = o.threshold;
  a.baseline = o.baseline;
  a.window_s = EventWindow(o) / kNanosPerSecond;
  a.at = in.now;
  a.labels = spec.labels;
  a.started_at = alert.machine.started_at();
  const bool firing = t == AlertTransition::kFire;
  if (firing) {
    const std::string key =
        key_suffix.empty() ? std::string(incident_key) : StrCat(incident_key, ":", key_suffix);
    alert.set_incident_id(MakeIncidentId(a.site, key, alert.machine.started_at()));
  }
  a.id = alert.incident_id();
  a.state = StateOf(firing, o);
  a.summary = Summary(in.site, o, a.state);
  env.listener->OnAnomaly(a);
}

}  // namespace sitepulse
