// The detector kinds, in one table: what config parsing, `check`, `series`, `run --help`, the
// docs test and the window engine know of a kind, they read here. A kind lives in its own files
// under detect/detectors/ and ends in a function returning its DetectorKind; registering it is
// one line in detect/detector_registry.cc (detect/README.md lists every file a new kind touches).
//
// Threading: the table is built once (function-local static) and read-only afterwards.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "detect/detector.h"
#include "detect/threshold_detector.h"

namespace sitepulse {

// A configured value, as the config file gave it; the option's type says which field is set.
struct OptionValue {
  double number = 0;
  uint64_t count = 0;
  DurationNs duration = 0;
  bool flag = false;
  std::string text;
  std::vector<BurnPair> pairs;                              // kBurnPairs
  std::vector<std::pair<std::string, std::string>> labels;  // kLabels
};

// One config key of a detector. The config parser reads the value by type (with the file, line
// and key in every error) and hands it to `set`, which checks what only the kind knows.
struct DetectorOption {
  enum class Type { kNumber, kCount, kDuration, kBool, kText, kBurnPairs, kLabels };
  std::string_view key;
  Type type = Type::kNumber;
  double min = 0, max = 0;  // kNumber and kCount: the accepted range
  // kDuration: a window, which must be a whole multiple of windows.resolution.
  bool window = false;
  // Stores the value into the spec; returns an error sentence, or "" when it is taken.
  std::string (*set)(DetectorSpec* spec, const OptionValue& v) = nullptr;
};

struct DetectorKind {
  DetectorType type;
  std::string_view name;
  std::string_view doc;  // one sentence: `check`, `run --help`, docs/configuration.md
  // Its config keys (name and type aside), applied in this order; also the keys a per-site
  // override may set.
  std::vector<DetectorOption> options = {};
  // Keys it cannot do without.
  std::vector<std::string_view> required = {};
  // Keys it needs given others, once parsed (burn_rate's latency_threshold with sli: latency):
  // the missing key's error sentence, or "". `given`: the keys the config set.
  std::string (*also_required)(const DetectorSpec& spec,
                               const std::vector<std::string>& given) = nullptr;
  // Defaults that differ from DetectorSpec's, applied before the configured keys.
  void (*defaults)(DetectorSpec* spec) = nullptr;
  // Reads a sliding window of spec.window (the engine keeps one running sum per length).
  bool windowed = false;
  // Judges nothing on a window whose volume is under spec.min_requests (at least 1; volume:
  // requests, and error-log lines too for error_log_rate; EvaluateThreshold): with its alert
  // inactive such a close leaves it as it was, so the engine does not call it (a quiet site's
  // detectors cost nothing; replay's observer, which sees every judgement, aside).
  bool volume_gated = false;
  // Its Evaluate is EvaluateThreshold(spec, window) and Emit, nothing else: with its alert
  // inactive, a window judged false leaves it as it was, so the engine judges the window itself
  // and calls the detector only when the condition holds (a busy site's error-rate alert, far
  // below its threshold, costs no touch of the detector's state; replay's observer aside).
  bool judged_by_threshold = false;
  // Reads each closed bucket of its site (Detector::OnBucket); the engine calls only these.
  bool reads_buckets = false;
  // Reads the error templates its site's lanes see for the first time (Detector::OnTemplate);
  // the engine calls only these.
  bool reads_templates = false;
  // Judges nothing until its site has existed for a whole window (traffic_drop): with its alert
  // inactive, the engine does not call it before.
  bool idle_until_covered = false;
  // Judges nothing while its site's newest data ended less than this long ago, or before any
  // (no_data: its `after`): with its alert inactive, the engine does not call it then.
  DurationNs (*idle_while_data_within)(const DetectorSpec& spec) = nullptr;
  // Judges nothing while Detector::Busy() is false (new_error_template: nothing new to report,
  // nothing firing): the engine does not call it then, nor make it before a template reaches it.
  bool idle_unless_busy = false;
  // How long after a bucket its state may still matter: the engine's history length.
  DurationNs (*hold)(const DetectorSpec& spec, DurationNs resolution) = nullptr;
  // Also runs on __other__ (the sites past the cap, together).
  bool (*for_other)(const DetectorSpec& spec) = nullptr;
  // A learned baseline: the engine counts it in DetectorEnv::baselines_warming from its site's
  // start (made or not: the engine makes a site's detectors at their first call) until it says
  // it is warm.
  bool learns = false;
  // The per-site detector, as new. The engine makes it at the first call it makes to it (a
  // volume-gated one of a quiet site never is); until then it must behave as a new one would,
  // so its state must depend on nothing but `spec` and `env`.
  std::unique_ptr<Detector> (*make)(const DetectorSpec& spec, DetectorEnv& env) = nullptr;
  // `sitepulse series` scores this kind on an exported metric (with --config).
  bool series = false;
  // Without --config, `series --detector NAME` builds the spec with these defaults (an export
  // with no configuration); nullptr: the kind needs a config.
  void (*series_defaults)(DetectorSpec* spec) = nullptr;
};

// Every registered kind, in the order of the docs.
const std::vector<const DetectorKind*>& DetectorKinds();
const DetectorKind* FindDetectorKind(std::string_view name);
const DetectorKind& KindOf(DetectorType type);
// "threshold, baseline, ..." for error messages.
std::string DetectorKindNames();

// Options every kind shares: severity, enabled, for, keep_firing_for (before its own), labels
// (after). `with_for`: false for kinds that fire at once.
std::vector<DetectorOption> WithCommonOptions(std::vector<DetectorOption> own, bool with_for = true);

// Options shared by several kinds.
DetectorOption MinRequestsOption();
DetectorOption WindowOption();
DetectorOption MetricOption();
// window + for + keep_firing_for: what a windowed kind holds.
DurationNs WindowedHold(const DetectorSpec& spec, DurationNs resolution);
std::vector<DetectorOption> LearnedBaselineOptions();  // sensitivity, learn_for, half_life, ...

}  // namespace sitepulse
