// Anomaly events as Alertmanager v2 alerts (POST /api/v2/alerts): alertname = detector, labels
// site and severity plus configured extras, annotations summary/value/threshold/baseline,
// startsAt = started_at, endsAt on resolution, generatorURL when configured. Firing alerts are
// re-sent every resend_interval so that Alertmanager does not time them out (its resolve_timeout).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "sinks/anomaly_sink.h"
#include "sinks/http_delivery.h"
#include "sinks/output_spec.h"

namespace sitepulse {

// One alert object as Alertmanager's API wants it.
// `ends`: the alert ends now (endsAt is set).
std::string AlertmanagerAlertJson(const Anomaly& a, const OutputSpec& spec, bool ends);

class AlertmanagerSink : public AnomalySink {
 public:
  // base_url: "http://host:port" (the path /api/v2/alerts is appended).
  AlertmanagerSink(std::string base_url, OutputSpec spec, MetricsRegistry* metrics);
  void Publish(const Anomaly& anomaly) override;
  bool Flush() override;
  bool Drained() override { return delivery_->Flush(0); }
  bool healthy() const override { return delivery_->healthy(); }
  std::string name() const override { return name_; }
  size_t active_alerts() const;

 private:
  std::vector<HttpItem> ResendActive();

  std::string name_;
  OutputSpec spec_;
  mutable std::mutex mu_;
  std::map<std::string, std::string> active_;  // incident id -> alert JSON, while active
  std::unique_ptr<HttpDelivery> delivery_;
};

}  // namespace sitepulse
