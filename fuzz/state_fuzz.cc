// The state snapshot decoder (WindowEngine::LoadState; docs/detectors.md, "State"), for an engine
// with a detector of every kind. Invariants: a snapshot is loaded or refused with a status, never
// a crash; one that loads saves again to text that loads into a fresh engine and saves to the
// same bytes (what was restored is what is kept); and the restored engine runs on: two hours of
// synthetic traffic through every detector.
//
// Seeds: SITEPULSE_FUZZ_WRITE_SEED=DIR ./state_fuzz writes snapshots of this engine (mid-run, with
// open buckets and firing alerts, and after the end) into DIR and exits.
#include <cstdlib>
#include <fstream>
#include <string>

#include "app/config.h"
#include "detect/evidence_scorer.h"
#include "fuzz/engine_drive.h"
#include "fuzz/fuzz_check.h"

using namespace sitepulse;

namespace {

constexpr EventTime kT0 = 1735689600 * kNanosPerSecond;

const Config& EngineConfig() {
  static const Config config = [] {
    const ConfigResult r = ParseConfigString(R"(
windows: {resolution: 10s, lateness: 30s}
limits: {max_sites: 8}
detectors:
  - {name: p99_high, metric: p99, op: above, threshold: 1.0, window: 1m, for: 1m, min_requests: 10}
  - {name: errors, metric: error_rate, op: above, threshold: 0.05, window: 5m, for: 1m, min_requests: 10}
  - {name: slo, type: burn_rate, sli: availability, objective: 99.9, min_requests: 10}
  - {name: drop, type: traffic_drop, window: 5m, drop: 0.5, min_requests: 10}
  - {name: spike, type: error_spike, window: 1m, learn_for: 10m}
  - {name: new_errors, type: new_error_template, learn_for: 10m, keep_firing_for: 30m}
  - {name: p99_learned, type: baseline, metric: p99, window: 1m, learn_for: 15m, min_requests: 10}
  - {name: quiet, type: no_data, for: 5m}
)",
                                             "state_fuzz.yaml");
    FUZZ_CHECK(r.ok(), "the target's own configuration: %s", r.FormatErrors().c_str());
    return r.config;
  }();
  return config;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* dir = std::getenv("SITEPULSE_FUZZ_WRITE_SEED");
  if (dir == nullptr) return 0;
  for (int end = 0; end < 2; ++end) {
    fuzz::CheckingListener listener;
    auto engine = fuzz::EngineFor(EngineConfig(), &listener);
    fuzz::Drive(engine.get(), EngineConfig().resolution, kT0, 60, end == 1);
    std::ofstream(std::string(dir) + (end ? "/after_end.state" : "/mid_run.state"))
        << engine->SaveState();
  }
  std::exit(0);
}

// An `evidence` record (score: context, detect/evidence_scorer.h) on the input's first line:
// loaded or refused, and one that loads saves to text that loads and saves to the same bytes,
// then scores values. (The engine's configuration stays deviation-only so that the seeds' config
// fingerprint stays valid.)
void CheckEvidenceRecord(std::string_view text) {
  StateReader r(text);
  std::string word;
  if (!r.NextLine() || !r.Word(&word) || word != "evidence") return;
  const SeriesTuning tuning = DetectorSpec{}.evidence;
  EvidenceScorer e(ScoreMode::kContext, tuning);
  if (!e.Load(r)) return;
  StateWriter w;
  w.Word("evidence");
  e.Save(w);
  w.EndLine();
  const std::string saved = w.str();
  EvidenceScorer again(ScoreMode::kContext, tuning);
  StateReader r2(saved);
  FUZZ_CHECK(r2.NextLine() && r2.Word(&word) && again.Load(r2), "a saved evidence record does not load");
  StateWriter w2;
  w2.Word("evidence");
  again.Save(w2);
  w2.EndLine();
  FUZZ_CHECK(w2.str() == saved, "restoring the evidence changed it");
  for (int i = 0; i < 64; ++i) {
    const double s = e.Score(0.1 * (i % 7), true, i % 5 - 2.0);
    FUZZ_CHECK(s >= 0 && s <= 1, "an evidence score outside [0, 1]: %g", s);
  }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  CheckEvidenceRecord(text);
  fuzz::CheckingListener listener;
  auto engine = fuzz::EngineFor(EngineConfig(), &listener);
  if (!engine->LoadState(text).ok()) return 0;
  const std::string saved = engine->SaveState();
  auto again = fuzz::EngineFor(EngineConfig(), &listener);
  const absl::Status st = again->LoadState(saved);
  FUZZ_CHECK(st.ok(), "a snapshot written from a restored one does not load: %s",
             std::string(st.message()).c_str());
  FUZZ_CHECK(again->SaveState() == saved, "restoring changed the state:\n%s\nvs\n%s",
             fuzz::Printable(saved).c_str(), fuzz::Printable(again->SaveState()).c_str());
  const EventTime wm = engine->watermark();
  const EventTime from = IsPlausibleEventTime(wm) && wm < kT0 * 2 ? wm : kT0;
  fuzz::Drive(engine.get(), EngineConfig().resolution, from, 720);
  return 0;
}
