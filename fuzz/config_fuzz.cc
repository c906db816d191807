// The configuration loaders (run and heal). The first byte picks which; the rest is the YAML.
// Invariants: no exception escapes; a refused file gets errors that each have a message and
// name the file; a run configuration that is accepted also resolves its format and runs: an
// engine with its windows and detectors is built and driven with synthetic traffic.
#include <string>

#include "app/config.h"
#include "app/heal_config.h"
#include "fuzz/engine_drive.h"
#include "fuzz/fuzz_check.h"

using namespace sitepulse;

namespace {

void CheckErrors(const std::vector<ConfigError>& errors, const std::string& formatted,
                 const std::string& yaml) {
  for (const ConfigError& e : errors) {
    FUZZ_CHECK(!e.message.empty() && e.line >= 0, "an error without a message, config:\n%s",
               fuzz::Printable(yaml).c_str());
  }
  FUZZ_CHECK(formatted.find("fuzz.yaml") != std::string::npos,
             "errors that do not name the file: %s", formatted.c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string yaml(reinterpret_cast<const char*>(data + 1), size - 1);
  if (data[0] & 1) {
    const HealConfigResult heal = ParseHealConfigString(yaml, "fuzz.yaml");
    if (!heal.ok()) CheckErrors(heal.errors, heal.FormatErrors(), yaml);
    return 0;
  }
  const ConfigResult result = ParseConfigString(yaml, "fuzz.yaml");
  if (!result.ok()) {
    CheckErrors(result.errors, result.FormatErrors(), yaml);
    return 0;
  }
  const Config& c = result.config;
  (void)ResolveFormat(c.format);
  for (const InputConfig& in : c.inputs) (void)ResolveFormat(in.format);
  fuzz::CheckingListener listener;
  auto engine = fuzz::EngineFor(c, &listener);
  // About two hours of traffic at the configured resolution, at most 720 buckets.
  const int64_t buckets = std::min<int64_t>(720, 7200 * kNanosPerSecond / c.resolution + 1);
  fuzz::Drive(engine.get(), c.resolution, 1735689600 * kNanosPerSecond, static_cast<int>(buckets));
  return 0;
}
