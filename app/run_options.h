// From a loaded configuration and the command line's overrides to the options of one pipeline
// run: inputs with their resolved formats, outputs, stats, dead letters, threads, engine,
// event time, state. `run` and `replay` build their runs here, so they run the same thing.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "app/config.h"
#include "app/pipeline.h"

namespace sitepulse {

struct RunOverrides {
  std::vector<std::string> inputs, outputs;  // replace the config's when not empty
  std::string stats, dlq, threads, state_file;
  std::string partials;  // stage 1 of a two-stage run: kafka://HOST:PORT/TOPIC
  bool exit_at_end = false;
};

// InvalidArgument: a usage mistake (no input, bad --threads); other errors: a bad URI or format.
// `c` gets the overrides applied. metrics, health and on_opened are left to the caller.
absl::StatusOr<PipelineOptions> BuildPipelineOptions(Config& c, const RunOverrides& o);
// The window engine's part of a configuration (windows, limits, detectors), as `run` builds it.
WindowEngineOptions EngineOptionsFrom(const Config& c);

// Whether a latency detector is configured (a run where no line has a latency is warned about).
bool NeedsLatency(const Config& c);

}  // namespace sitepulse
