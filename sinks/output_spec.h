// Everything needed to build one anomaly output: its URI plus the options of the HTTP sinks. The
// config fills it; sinks/sink_registry.h turns it into a sink.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/uri.h"
#include "sinks/http_delivery.h"

namespace sitepulse {

struct OutputSpec {
  Uri uri;
  HttpDeliveryOptions http;
  // Alertmanager.
  DurationNs resend_interval = 60 * kNanosPerSecond;
  std::string generator_url;
  std::vector<std::pair<std::string, std::string>> labels;  // extra labels on every alert
  // Webhook: HMAC-SHA256 of the body, hex, in X-Sitepulse-Signature: sha256=...
  std::string secret;
  DurationNs flush_deadline = 120 * kNanosPerSecond;  // at the end of a run
  // Kafka topics: librdkafka properties (the config's kafka: section).
  std::vector<std::pair<std::string, std::string>> kafka_properties;
  bool operator==(const OutputSpec&) const = default;
};

}  // namespace sitepulse
