#include "app/config_reload.h"

#include <chrono>
#include <csignal>
#include <fstream>
#include <functional>
#include <utility>

#include "core/log.h"
#include "core/strings.h"

namespace sitepulse {

namespace {

double UnixSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool SameInputs(const Config& a, const Config& b) {
  if (a.inputs.size() != b.inputs.size()) return false;
  for (size_t i = 0; i < a.inputs.size(); ++i) {
    if (!(a.inputs[i].uri == b.inputs[i].uri) || !(a.inputs[i].format == b.inputs[i].format)) {
      return false;
    }
  }
  return true;
}

// The line of the file where `key`'s first segment is written at the top level (0: not found).
int LineOf(const std::string& path, const std::string& key) {
  const std::string top = key.substr(0, key.find('.')) + ":";
  std::ifstream in(path);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.rfind(top, 0) == 0) return n;
  }
  return 0;
}

}  // namespace

ConfigReloader::ConfigReloader(std::string path, RunOverrides overrides, Config running,
                               ParseLane::Options lanes, MetricsRegistry* metrics)
    : path_(std::move(path)),
      overrides_(std::move(overrides)),
      running_(std::move(running)),
      lanes_(lanes),
      successful_(metrics->GetGauge("sitepulse_config_last_reload_successful",
                                    "Whether the last configuration reload succeeded (1) or was "
                                    "refused (0); 1 at start")),
      success_time_(metrics->GetGauge("sitepulse_config_last_reload_success_timestamp_seconds",
                                      "When the configuration was last loaded successfully")),
      applied_(metrics->GetCounter("sitepulse_config_reloads_total",
                                   "Configuration reloads, by result", {{"result", "applied"}})),
      refused_(metrics->GetCounter("sitepulse_config_reloads_total",
                                   "Configuration reloads, by result", {{"result", "refused"}})) {
  successful_->Set(1);
  success_time_->Set(UnixSeconds());
}

std::string RestartOnlyChange(const Config& a, const Config& b) {
  // (key, unchanged) for everything but detectors: and sites:.
  const std::vector<std::pair<const char*, bool>> fixed = {
      {"inputs", SameInputs(a, b)},
      {"format", a.format == b.format},
      {"outputs", a.outputs == b.outputs},
      {"listen", a.listen == b.listen},
      {"metrics.site_gauges", a.site_gauges == b.site_gauges},
      {"kafka", a.kafka_properties == b.kafka_properties},
      {"stats", a.stats == b.stats},
      {"dlq", a.dlq == b.dlq},
      {"windows.resolution", a.resolution == b.resolution},
      {"windows.lateness", a.lateness == b.lateness},
      {"windows.idle_timeout", a.idle_timeout == b.idle_timeout},
      {"event_time.max_jump", a.max_jump == b.max_jump},
      {"event_time.confirm_lines", a.confirm_lines == b.confirm_lines},
      {"event_time.max_clock_skew", a.max_clock_skew == b.max_clock_skew},
      {"state.file", a.state_file == b.state_file},
      {"state.topic", a.state_topic == b.state_topic},
      {"state.interval", a.state_interval == b.state_interval},
      {"limits.max_line_bytes", a.max_line_bytes == b.max_line_bytes},
      {"limits.max_sites", a.max_sites == b.max_sites},
      {"pipeline.threads", a.threads == b.threads},
      {"pipeline.batch_bytes", a.batch_bytes == b.batch_bytes},
      {"pipeline.reader", a.reader == b.reader},
  };
  for (const auto& [key, same] : fixed) {
    if (!same) return key;
  }
  return "";
}

std::string ConfigReloader::NeedsRestart(const Config& next,
                                         const PipelineOptions& next_options) const {
  if (const std::string key = RestartOnlyChange(running_, next); !key.empty()) {
    const int line = LineOf(path_, key);
    return StrCat(path_, line > 0 ? StrCat(":", line) : "", ": ", key,
                  ": changed, and only a restart applies it (a reload changes detectors: and "
                  "sites: only)");
  }
  // The parse lanes extract error templates only when a new_error_template detector asks.
  const ParseLane::Options lanes = LaneOptions(next_options);
  if (lanes.error_templates != lanes_.error_templates ||
      (lanes.error_templates && lanes.template_min_level != lanes_.template_min_level)) {
    const int line = LineOf(path_, "detectors");
    return StrCat(path_, line > 0 ? StrCat(":", line) : "", ": detectors: a new_error_template ",
                  "detector was added or removed, or its min_level changed; the parse lanes pick ",
                  "which lines to extract templates from at start, so only a restart applies it");
  }
  return "";
}

void ConfigReloader::Refused(const std::string& why) {
  successful_->Set(0);
  refused_->Add();
  SP_LOG(kError, "config", "reload refused, the running configuration stays: %s", why.c_str());
}

absl::Status ConfigReloader::Reload() {
  std::lock_guard<std::mutex> one_at_a_time(reload_mu_);
  ConfigResult r = LoadConfig(path_);
  if (!r.ok()) {
    std::string errors = r.FormatErrors();
    while (!errors.empty() && errors.back() == '\n') errors.pop_back();
    Refused(errors);
    return absl::InvalidArgumentError(errors);
  }
  absl::StatusOr<PipelineOptions> built = BuildPipelineOptions(r.config, overrides_);
  if (!built.ok()) {
    const std::string why = StrCat(path_, ": ", built.status().message());
    Refused(why);
    return absl::InvalidArgumentError(why);
  }
  if (std::string why = NeedsRestart(r.config, *built); !why.empty()) {
    Refused(why);
    return absl::FailedPreconditionError(why);
  }
  const size_t detectors = r.config.detectors.size(), sites = r.config.site_detectors.size();
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending_detectors_ = std::move(r.config.detectors);
    pending_sites_ = std::move(r.config.site_detectors);
    has_pending_.store(true, std::memory_order_release);
  }
  successful_->Set(1);
  success_time_->Set(UnixSeconds());
  applied_->Add();
  SP_LOG(kInfo, "config", "reloaded %s: %zu detectors, %zu site overrides (applied before the "
         "next batch)", path_.c_str(), detectors, sites);
  return absl::OkStatus();
}

bool ConfigReloader::Take(
    std::vector<DetectorSpec>* detectors,
    absl::flat_hash_map<std::string, std::vector<DetectorSpec>>* site_detectors) {
  if (!has_pending_.load(std::memory_order_acquire)) return false;
  std::lock_guard<std::mutex> lock(mu_);
  *detectors = pending_detectors_;
  *site_detectors = pending_sites_;
  has_pending_.store(false, std::memory_order_relaxed);
  return true;
}

namespace {
std::atomic<bool> g_hangup{false};
extern "C" void OnHangup(int) { g_hangup.store(true); }
}  // namespace

ReloadOnSighup::ReloadOnSighup(ConfigReloader* reloader) : reloader_(reloader) {
  g_hangup.store(false);
  std::signal(SIGHUP, OnHangup);
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!done_) {
      cv_.wait_for(lock, std::chrono::milliseconds(100));
      if (done_ || !g_hangup.exchange(false)) continue;
      lock.unlock();
      SP_LOG(kInfo, "config", "SIGHUP: reloading the configuration");
      (void)reloader_->Reload();  // logged and counted either way
      lock.lock();
    }
  });
}

ReloadOnSighup::~ReloadOnSighup() {
  std::signal(SIGHUP, SIG_IGN);
  {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

HttpEndpoint::PostRoute ReloadRoute(ConfigReloader* reloader) {
  return {"/-/reload", [reloader](const std::string& /*body*/, const std::vector<std::string>&)
                           -> std::pair<int, std::string> {
            if (reloader == nullptr) {
              return {409, "this run has no configuration file to reload (start it with --config)\n"};
            }
            if (absl::Status st = reloader->Reload(); !st.ok()) {
              return {500, StrCat("reload refused, the running configuration stays: ",
                                  st.message(), "\n")};
            }
            return {200, "reloaded; the new detectors apply from the next batch\n"};
          },
          /*takes_body=*/false};
}

}  // namespace sitepulse
