#include "app/pipeline_stats.h"

#include <chrono>
#include <ctime>
#include <string>

namespace sitepulse {

double ThreadCpuSeconds() {
  timespec ts;
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0;
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

PipelineStats::PipelineStats(MetricsRegistry* m) : registry(m) {
  lines = m->GetCounter("sitepulse_lines_total", "Lines read from all inputs");
  parsed = m->GetCounter("sitepulse_lines_parsed_total", "Lines parsed into records");
  for (int r = 0; r < kNumRejectReasons; ++r) {
    rejected[r] = m->GetCounter("sitepulse_lines_rejected_total", "Lines rejected, by reason",
                                {{"reason", std::string(RejectReasonName(static_cast<RejectReason>(r)))}});
  }
  late = m->GetCounter("sitepulse_events_dropped_total",
                       "Parsed events not counted in any window, by reason",
                       {{"reason", "late"}});
  bytes = m->GetCounter("sitepulse_bytes_read_total", "Bytes read from all inputs");
  dead_letters = m->GetCounter("sitepulse_dead_letters_total", "Rejected lines written to the dead-letter sink");
  buckets = m->GetCounter("sitepulse_buckets_closed_total", "Per-site buckets closed");
  batches = m->GetCounter("sitepulse_batches_total", "Input batches applied in order");
  sites = m->GetGauge("sitepulse_sites_active", "Sites with state (including __other__)");
  over_cap = m->GetGauge("sitepulse_sites_over_cap",
                         "Distinct site names folded into __other__ past limits.max_sites "
                         "(HyperLogLog estimate)");
  promoted = m->GetGauge("sitepulse_sites_promoted",
                         "Site names past limits.max_sites that earned a place by their traffic");
  split = m->GetGauge("sitepulse_sites_split_across_partitions",
                      "Sites whose lines came from more than one Kafka partition (state topic: "
                      "the input must be keyed by site)");
  warming = m->GetGauge("sitepulse_baselines_warming",
                        "(site, detector) learned baselines still warming up: no verdict yet");
  templates = m->GetGauge("sitepulse_error_templates",
                          "Error-message templates known (new_error_template), over all sites");
  templates_over_cap = m->GetGauge(
      "sitepulse_error_templates_over_cap",
      "New error-message templates not tracked: their site had max_templates already");
  watermark = m->GetGauge("sitepulse_watermark_seconds", "Event-time watermark, Unix seconds");
  work_depth = m->GetGauge("sitepulse_queue_depth", "Batches waiting in a pipeline queue", {{"queue", "parse"}});
  done_depth = m->GetGauge("sitepulse_queue_depth", "Batches waiting in a pipeline queue", {{"queue", "apply"}});
  input_errors = m->GetCounter("sitepulse_input_errors_total", "Read errors that ended an input early");
  bad_bytes = m->GetCounter("sitepulse_fields_dropped_total",
                            "Requests kept without an unusable optional value, by field",
                            {{"field", "bytes"}});
  warnings = m->GetGauge("sitepulse_warnings", "Warnings raised (see the run's stderr and summary)");
}

Counter* PipelineStats::AnomalyCounter(const Anomaly& a) {
  return registry->GetCounter("sitepulse_anomalies_total", "Anomaly events, by detector and state",
                              {{"detector", a.detector}, {"state", std::string(AlertStateName(a.state))}});
}

int64_t WallNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace sitepulse
