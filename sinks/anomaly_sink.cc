#include "sinks/anomaly_sink.h"

#include "core/status_macros.h"
#include "core/strings.h"
#include "sinks/alertmanager_sink.h"
#include "sinks/webhook_sink.h"

namespace sitepulse {

absl::StatusOr<std::unique_ptr<AnomalySink>> MakeAnomalySink(const OutputSpec& spec,
                                                             MetricsRegistry* metrics) {
  const Uri& uri = spec.uri;
  const bool http = uri.scheme.ends_with("+http") || uri.scheme.ends_with("+https");
  if (http) {
    const std::string transport = uri.scheme.substr(uri.scheme.find('+') + 1);
    std::string url = transport + "://" + uri.target;
    if (uri.scheme.starts_with("alertmanager+")) {
      while (!url.empty() && url.back() == '/') url.pop_back();
      return std::unique_ptr<AnomalySink>(new AlertmanagerSink(url, spec, metrics));
    }
    if (uri.scheme.starts_with("webhook+")) {
      return std::unique_ptr<AnomalySink>(new WebhookSink(url, spec, metrics));
    }
  }
  if (uri.scheme == "kafka") {
    SP_ASSIGN_OR_RETURN(auto producer, KafkaProducer::Open(uri.target, spec.kafka_properties,
                                                           "kafka:" + uri.target, metrics));
    return std::unique_ptr<AnomalySink>(new KafkaAnomalySink(std::move(producer), spec.flush_deadline));
  }
  if (uri.scheme != "stdout" && uri.scheme != "file") {
    return absl::UnimplementedError(StrCat(
        "output '", uri.ToString(), "': scheme '", uri.scheme,
        "' is not supported (use stdout, file:PATH, kafka://HOST:PORT/TOPIC, "
        "alertmanager+http(s)://HOST:PORT or webhook+http(s)://HOST:PORT/PATH)"));
  }
  SP_ASSIGN_OR_RETURN(std::unique_ptr<JsonlWriter> writer, JsonlWriter::Open(uri));
  return std::unique_ptr<AnomalySink>(new JsonlAnomalySink(std::move(writer)));
}

}  // namespace sitepulse
