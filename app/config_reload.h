// Live reload of `run`'s configuration (docs/configuration.md, "Reloading"), on SIGHUP and on
// POST /-/reload at --listen, as Prometheus does. The file is read and checked as a whole; a
// file with an error, or one that changes something only a restart can change (inputs,
// outputs, windows, limits, state, the pipeline, the listen address), is refused whole and the
// old configuration stays. An accepted one hands its detectors to the coordinator, which
// applies them before its next batch (WindowEngine::Reconfigure: unchanged detectors keep their
// alert state and learned baselines, changed and new ones start fresh, windows are kept).
//
// Gauges, as Prometheus names its own: sitepulse_config_last_reload_successful (0 or 1),
// sitepulse_config_last_reload_success_timestamp_seconds, and
// sitepulse_config_reloads_total{result="applied|refused"}.
//
// Threading: Reload() from any thread (one at a time, under a lock); Take() from the coordinator.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "app/config.h"
#include "app/http_endpoint.h"
#include "app/pipeline.h"
#include "app/run_options.h"
#include "core/metrics.h"

namespace sitepulse {

// The first key (as written in the file: "windows.resolution") in which `b` differs from `a`
// outside detectors: and sites:, or "" when there is none.
std::string RestartOnlyChange(const Config& a, const Config& b);

class ConfigReloader : public DetectorReloads {
 public:
  // `running`: the configuration the run started with, with `overrides` applied (as
  // BuildPipelineOptions left it); `lanes`: what its parse lanes were told.
  ConfigReloader(std::string path, RunOverrides overrides, Config running,
                 ParseLane::Options lanes, MetricsRegistry* metrics);

  // Reads the file again. OK: accepted (applied before the next batch); otherwise why it was
  // refused, naming the file and key.
  absl::Status Reload();
  bool Take(std::vector<DetectorSpec>* detectors,
            absl::flat_hash_map<std::string, std::vector<DetectorSpec>>* site_detectors) override;

 private:
  // "" when `next` changes only what a reload may change, else the first key that needs a
  // restart and why.
  std::string NeedsRestart(const Config& next, const PipelineOptions& next_options) const;
  void Refused(const std::string& why);

  const std::string path_;
  const RunOverrides overrides_;
  const Config running_;
  const ParseLane::Options lanes_;
  Gauge* successful_;
  Gauge* success_time_;
  Counter* applied_;
  Counter* refused_;

  std::mutex reload_mu_;  // one Reload at a time
  std::mutex mu_;         // the pending detectors
  std::atomic<bool> has_pending_{false};
  std::vector<DetectorSpec> pending_detectors_;
  absl::flat_hash_map<std::string, std::vector<DetectorSpec>> pending_sites_;
};

// SIGHUP reloads: the handler only sets a flag; a thread of this object's checks it ten times a
// second and calls Reload. SIGHUP is ignored again when it is destroyed.
class ReloadOnSighup {
 public:
  explicit ReloadOnSighup(ConfigReloader* reloader);
  ~ReloadOnSighup();
  ReloadOnSighup(const ReloadOnSighup&) = delete;
  ReloadOnSighup& operator=(const ReloadOnSighup&) = delete;

 private:
  ConfigReloader* reloader_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

// POST /-/reload at --listen: 200 when accepted, 500 with the reason when refused (Prometheus's
// convention); 409 when the run has no configuration file (`reloader` null).
HttpEndpoint::PostRoute ReloadRoute(ConfigReloader* reloader);

}  // namespace sitepulse
