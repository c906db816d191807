// Anomaly events to any HTTP(S) endpoint, one JSON event per POST (the schema of docs/events.md),
// with a stable idempotency key (Idempotency-Key: <id>:<state>) and, with a secret, an
// HMAC-SHA256 signature of the body (X-Sitepulse-Signature: sha256=<hex>). TLS certificates are
// verified unless the output says tls_verify: false.
#pragma once

#include <memory>
#include <string>

#include "sinks/anomaly_sink.h"
#include "sinks/http_delivery.h"
#include "sinks/output_spec.h"

namespace sitepulse {

// Hex HMAC-SHA256 of body under secret.
std::string HmacSha256Hex(const std::string& secret, const std::string& body);

class WebhookSink : public AnomalySink {
 public:
  WebhookSink(std::string url, OutputSpec spec, MetricsRegistry* metrics);
  void Publish(const Anomaly& anomaly) override;
  bool Flush() override { return delivery_->Flush(spec_.flush_deadline); }
  bool Drained() override { return delivery_->Flush(0); }
  bool healthy() const override { return delivery_->healthy(); }
  std::string name() const override { return name_; }

 private:
  std::string name_;
  OutputSpec spec_;
  std::unique_ptr<HttpDelivery> delivery_;
};

}  // namespace sitepulse
