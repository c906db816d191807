#include "sinks/kafka_producer.h"

#include <librdkafka/rdkafka.h>

#include <cstdio>

#include "core/log.h"
#include "core/strings.h"

namespace sitepulse {

bool IsConsumerOnlyProperty(const std::string& k) {
  return k == "group.id" || k.starts_with("auto.") || k.starts_with("fetch.") ||
         k.starts_with("enable.auto") || k == "partition.assignment.strategy" ||
         k == "max.poll.interval.ms" || k == "session.timeout.ms";
}

absl::StatusOr<std::unique_ptr<KafkaProducer>> KafkaProducer::Open(
    const std::string& target, const std::vector<std::pair<std::string, std::string>>& properties,
    const std::string& sink_name, MetricsRegistry* metrics) {
  const size_t slash = target.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == target.size() ||
      target.find(',', slash) != std::string::npos) {
    return absl::InvalidArgumentError(
        StrCat("kafka://", target, ": expected kafka://HOST:PORT[,HOST:PORT]/TOPIC (one topic)"));
  }
  std::unique_ptr<KafkaProducer> p(new KafkaProducer());
  p->topic_ = target.substr(slash + 1);
  p->name_ = sink_name;
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::vector<std::pair<std::string, std::string>> props = {
      {"bootstrap.servers", target.substr(0, slash)},
      {"enable.idempotence", "true"},  // acks=all, ordered, no duplicates from retries
      {"message.timeout.ms", "60000"},  // bounded: a message not delivered by then has failed
      {"linger.ms", "5"},
      {"client.id", "sitepulse"},
  };
  for (const auto& kv : properties) {
    if (!IsConsumerOnlyProperty(kv.first)) props.push_back(kv);  // the source's business
  }
  for (const auto& [k, v] : props) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return absl::InvalidArgumentError(StrCat("kafka property ", k, "=", v, ": ", err));
    }
  }
  rd_kafka_conf_set_opaque(conf, p.get());
  rd_kafka_conf_set_dr_msg_cb(conf, [](rd_kafka_t* rk, const rd_kafka_message_t* m, void* opaque) {
    OnDelivery(rk, m, opaque);
  });
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return absl::InvalidArgumentError(StrCat("cannot create a Kafka producer: ", err));
  }
  p->rk_ = rk;
  const MetricLabels ok = {{"result", "delivered"}, {"sink", sink_name}};
  const MetricLabels bad = {{"result", "failed"}, {"sink", sink_name}};
  p->delivered_ = metrics->GetCounter("sitepulse_sink_events_total",
                                      "Anomaly events handed to a sink, by outcome (delivered = 2xx)", ok);
  p->failed_ = metrics->GetCounter("sitepulse_sink_events_total",
                                   "Anomaly events handed to a sink, by outcome (delivered = 2xx)", bad);
  return p;
}

KafkaProducer::~KafkaProducer() {
  if (rk_ == nullptr) return;
  rd_kafka_flush(static_cast<rd_kafka_t*>(rk_), 5000);
  rd_kafka_destroy(static_cast<rd_kafka_t*>(rk_));
}

void KafkaProducer::OnDelivery(void*, const void* msg, void* opaque) {
  auto* self = static_cast<KafkaProducer*>(opaque);
  const auto* m = static_cast<const rd_kafka_message_t*>(msg);
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    self->delivered_->Add();
  } else {
    self->failed_->Add();
    SP_LOG(kError, "sinks", "sink %s: delivery failed: %s", self->name_.c_str(),
                 rd_kafka_err2str(m->err));
  }
  self->in_flight_.fetch_sub(1);
}

void KafkaProducer::Produce(std::string_view key, std::string_view value,
                            const std::vector<std::pair<std::string, std::string>>& headers) {
  rd_kafka_t* rk = static_cast<rd_kafka_t*>(rk_);
  rd_kafka_headers_t* hdrs = nullptr;
  if (!headers.empty()) {
    hdrs = rd_kafka_headers_new(headers.size());
    for (const auto& [k, v] : headers) {
      rd_kafka_header_add(hdrs, k.data(), static_cast<ssize_t>(k.size()), v.data(),
                          static_cast<ssize_t>(v.size()));
    }
  }
  in_flight_.fetch_add(1);
  while (true) {
    const rd_kafka_resp_err_t e = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(topic_.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
        RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) return;
    if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(rk, 100);  // block (backpressure) rather than drop
      continue;
    }
    in_flight_.fetch_sub(1);
    failed_->Add();
    if (hdrs != nullptr) rd_kafka_headers_destroy(hdrs);
    SP_LOG(kError, "sinks", "sink %s: cannot produce: %s", name_.c_str(), rd_kafka_err2str(e));
    return;
  }
}

bool KafkaProducer::Flush(DurationNs deadline) {
  rd_kafka_flush(static_cast<rd_kafka_t*>(rk_), static_cast<int>(deadline / 1'000'000));
  return in_flight_.load() == 0 && failed_->value() == 0;
}

}  // namespace sitepulse
