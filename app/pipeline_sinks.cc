#include "app/pipeline_sinks.h"

#include "core/status_macros.h"
#include "sinks/kafka_producer.h"
#include "sinks/sink_registry.h"

namespace sitepulse {

void SinkFanout::OnBucketClosed(const ClosedBucketView& bucket) {
  stats_counter->buckets->Add();
  if (stats) {
    BucketStats row{bucket.site, bucket.start, bucket.end, bucket.counters, std::nullopt};
    if (!bucket.latency->empty()) {
      std::array<double, 5> q;
      bucket.latency->Quantiles(*bucket.mapping, kStatsQuantiles.data(), q.size(), q.data());
      row.quantiles = q;
    }
    stats->Write(row);
  }
  if (site_gauges_max > 0) UpdateSiteGauges(bucket);
  if (on_bucket) on_bucket(bucket);
}

void SinkFanout::OnAnomaly(const Anomaly& anomaly) {
  stats_counter->AnomalyCounter(anomaly)->Add();
  for (auto& sink : outputs) sink->Publish(anomaly);
}

void SinkFanout::UpdateSiteGauges(const ClosedBucketView& b) {
  auto it = site_gauges_.find(std::string(b.site));
  if (it == site_gauges_.end()) {
    if (site_gauges_.size() >= site_gauges_max) return;
    MetricsRegistry* m = stats_counter->registry;
    const MetricLabels l = {{"site", std::string(b.site)}};
    it = site_gauges_
             .emplace(std::string(b.site),
                      std::array<Gauge*, 3>{
                          m->GetGauge("sitepulse_site_p99_seconds", "p99 latency of the site's last closed bucket", l),
                          m->GetGauge("sitepulse_site_error_ratio", "5xx share of the site's last closed bucket", l),
                          m->GetGauge("sitepulse_site_requests_per_second", "Request rate of the site's last closed bucket", l)})
             .first;
  }
  const double seconds = static_cast<double>(b.end - b.start) / 1e9;
  it->second[0]->Set(b.latency->empty() ? 0 : b.latency->Quantile(*b.mapping, 0.99));
  it->second[1]->Set(b.counters->requests == 0 ? 0
                                               : static_cast<double>(b.counters->errors_5xx) /
                                                     static_cast<double>(b.counters->requests));
  it->second[2]->Set(static_cast<double>(b.counters->requests) / seconds);
}

bool SinkFanout::SinksHealthy() const {
  for (const auto& s : outputs) {
    if (!s->healthy()) return false;
  }
  return true;
}

absl::StatusOr<std::unique_ptr<PipelineSinks>> PipelineSinks::Open(const PipelineOptions& options,
                                                                    PipelineStats* stats) {
  auto s = std::make_unique<PipelineSinks>();
  s->fanout.stats_counter = stats;
  s->fanout.on_bucket = options.on_bucket;
  s->fanout.site_gauges_max = options.site_gauges;
  for (const OutputSpec& o : options.outputs) {
    SP_ASSIGN_OR_RETURN(auto sink, MakeAnomalySink(o, options.metrics));
    s->fanout.outputs.push_back(std::move(sink));
  }
  if (options.stats) {
    SP_ASSIGN_OR_RETURN(auto w, JsonlWriter::Open(*options.stats));
    s->fanout.stats = std::make_unique<StatsSink>(std::move(w));
  }
  if (options.dlq && options.dlq->scheme == "kafka") {
    SP_ASSIGN_OR_RETURN(auto producer, KafkaProducer::Open(options.dlq->target, options.kafka_properties,
                                                           "dlq:kafka:" + options.dlq->target,
                                                           options.metrics));
    s->dlq = std::make_unique<DeadLetterSink>(std::move(producer));
  } else if (options.dlq) {
    SP_ASSIGN_OR_RETURN(auto w, JsonlWriter::Open(*options.dlq));
    s->dlq = std::make_unique<DeadLetterSink>(std::move(w));
  }
  return s;
}

bool PipelineSinks::Delivered(bool wait) {
  for (auto& sink : fanout.outputs) {
    if (!(wait ? sink->Flush() : sink->Drained())) return false;
  }
  // The stats of buckets a snapshot calls closed are written too: a restart does not close
  // them again (a kill -9 lost the buffered lines: found by the two-stage kill test).
  if (fanout.stats && !fanout.stats->Flush()) return false;
  return dlq == nullptr || (wait ? dlq->Flush() : dlq->Drained());
}

bool PipelineSinks::FlushDelivery() {
  bool delivered = true;
  for (auto& sink : fanout.outputs) delivered = sink->Flush() && delivered;
  if (fanout.stats) delivered = fanout.stats->Flush() && delivered;
  if (dlq) delivered = dlq->Flush() && delivered;
  return delivered;
}

}  // namespace sitepulse
