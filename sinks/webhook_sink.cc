#include "sinks/webhook_sink.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "sinks/sink_registry.h"

namespace sitepulse {

std::string HmacSha256Hex(const std::string& secret, const std::string& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[mac[i] >> 4]);
    out.push_back(kHex[mac[i] & 15]);
  }
  return out;
}

WebhookSink::WebhookSink(std::string url, OutputSpec spec, MetricsRegistry* metrics)
    : name_("webhook:" + url), spec_(std::move(spec)) {
  HttpDeliveryOptions http = spec_.http;
  http.max_batch = 1;
  delivery_ = std::make_unique<HttpDelivery>(
      name_, url, http, metrics,
      [](const std::vector<HttpItem>& batch, std::string* body, std::vector<std::string>* headers) {
        *body = batch[0].body;
        *headers = batch[0].headers;
      });
}

void WebhookSink::Publish(const Anomaly& anomaly) {
  HttpItem item;
  item.body = AnomalyToJson(anomaly);
  item.headers.push_back("Idempotency-Key: " + anomaly.id + ":" +
                         std::string(AlertStateName(anomaly.state)));
  item.headers.push_back("X-Sitepulse-Event-Id: " + anomaly.id);
  if (!spec_.secret.empty()) {
    item.headers.push_back("X-Sitepulse-Signature: sha256=" + HmacSha256Hex(spec_.secret, item.body));
  }
  delivery_->Enqueue(std::move(item));
}


SinkKind WebhookSinkKind() {
  return {"webhook", "webhook+http(s)://HOST:PORT/PATH",
          [](const Uri& u) { return u.scheme == "webhook+http" || u.scheme == "webhook+https"; },
          [](const OutputSpec& spec, MetricsRegistry* metrics)
              -> absl::StatusOr<std::unique_ptr<AnomalySink>> {
            const std::string url =
                spec.uri.scheme.substr(spec.uri.scheme.find('+') + 1) + "://" + spec.uri.target;
            return std::unique_ptr<AnomalySink>(new WebhookSink(url, spec, metrics));
          },
          {"secret", "secret_env", "max_retries", "backoff", "timeout", "queue_size", "overflow",
           "tls_verify"}};
}

}  // namespace sitepulse
