#include "sinks/alertmanager_sink.h"

#include "core/json_writer.h"
#include "core/strings.h"
#include "sinks/sink_registry.h"

namespace sitepulse {

std::string AlertmanagerAlertJson(const Anomaly& a, const OutputSpec& spec, bool ends) {
  std::string labels;
  JsonObjectWriter lw(&labels);
  lw.String("alertname", a.detector).String("site", a.site).String("severity", a.severity);
  // Detector labels, then the output's extras; reserved names are not overridden.
  auto reserved = [](const std::string& k) {
    return k == "alertname" || k == "site" || k == "severity";
  };
  for (const auto& [k, v] : a.labels) {
    if (!reserved(k)) lw.String(k, v);
  }
  for (const auto& [k, v] : spec.labels) {
    bool dup = reserved(k);
    for (const auto& [k2, v2] : a.labels) dup = dup || k2 == k;
    if (!dup) lw.String(k, v);
  }
  lw.Close();

  auto num = [](double v) {
    std::string s;
    AppendJsonNumber(v, &s);
    return s;
  };
  std::string annotations;
  JsonObjectWriter aw(&annotations);
  aw.String("summary", a.summary)
      .String("value", num(a.value))
      .String("threshold", num(a.threshold))
      .String("metric", a.metric)
      .String("incident_id", a.id)
      .String("state", AlertStateName(a.state));
  if (a.baseline) aw.String("baseline", num(*a.baseline));
  aw.Close();

  std::string out;
  JsonObjectWriter w(&out);
  w.Raw("labels", labels).Raw("annotations", annotations);
  w.String("startsAt", FormatRfc3339(a.started_at));
  if (ends) w.String("endsAt", FormatRfc3339(a.at));
  if (!spec.generator_url.empty()) w.String("generatorURL", spec.generator_url);
  w.Close();
  return out;
}

AlertmanagerSink::AlertmanagerSink(std::string base_url, OutputSpec spec, MetricsRegistry* metrics)
    : name_("alertmanager:" + base_url), spec_(std::move(spec)) {
  HttpDeliveryOptions http = spec_.http;
  if (http.max_batch < 2) http.max_batch = 64;
  http.tick_interval = spec_.resend_interval;
  delivery_ = std::make_unique<HttpDelivery>(
      name_, base_url + "/api/v2/alerts", http, metrics,
      [](const std::vector<HttpItem>& batch, std::string* body, std::vector<std::string>*) {
        body->push_back('[');
        for (size_t i = 0; i < batch.size(); ++i) {
          if (i > 0) body->push_back(',');
          body->append(batch[i].body);
        }
        body->push_back(']');
      },
      [this] { return ResendActive(); });
}

void AlertmanagerSink::Publish(const Anomaly& anomaly) {
  std::string json;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // no_data either starts an alert of its own (the no_data detector: a silent site is worth a
    // notification) or ends one that was firing (the site went silent: no verdict, but the
    // alert cannot stay up forever). Resolved always ends.
    const bool was_active = active_.count(anomaly.id) > 0;
    const bool ends = anomaly.state == AlertState::kResolved ||
                      (anomaly.state == AlertState::kNoData && was_active);
    json = AlertmanagerAlertJson(anomaly, spec_, ends);
    if (ends) {
      active_.erase(anomaly.id);
    } else {
      active_[anomaly.id] = json;
    }
  }
  delivery_->Enqueue({std::move(json), {}});
}

std::vector<HttpItem> AlertmanagerSink::ResendActive() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<HttpItem> items;
  for (const auto& [id, json] : active_) items.push_back({json, {}});
  return items;
}

bool AlertmanagerSink::Flush() { return delivery_->Flush(spec_.flush_deadline); }

size_t AlertmanagerSink::active_alerts() const {
  std::lock_guard<std::mutex> lock(mu_);
  return active_.size();
}


// alertmanager+http://HOST:PORT or alertmanager+https://...: the base URL, without a trailing /.
SinkKind AlertmanagerSinkKind() {
  return {"alertmanager", "alertmanager+http(s)://HOST:PORT",
          [](const Uri& u) { return u.scheme == "alertmanager+http" || u.scheme == "alertmanager+https"; },
          [](const OutputSpec& spec, MetricsRegistry* metrics)
              -> absl::StatusOr<std::unique_ptr<AnomalySink>> {
            std::string url = spec.uri.scheme.substr(spec.uri.scheme.find('+') + 1) + "://" +
                              spec.uri.target;
            while (!url.empty() && url.back() == '/') url.pop_back();
            return std::unique_ptr<AnomalySink>(new AlertmanagerSink(url, spec, metrics));
          },
          {"labels", "generator_url", "resend_interval", "max_retries", "backoff", "timeout",
           "queue_size", "overflow", "tls_verify"}};
}

}  // namespace sitepulse
