#include "ingest/kafka_line_reader.h"

#include <librdkafka/rdkafka.h>

#include <chrono>

#include "core/log.h"
#include "core/strings.h"

namespace sitepulse {
namespace {
int64_t SteadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

absl::StatusOr<std::unique_ptr<KafkaLineReader>> KafkaLineReader::Open(const KafkaSourceOptions& o) {
  std::unique_ptr<KafkaLineReader> r(new KafkaLineReader(o.exit_at_end));
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::vector<std::pair<std::string, std::string>> props = {
      {"bootstrap.servers", o.brokers},
      {"group.id", o.group},
      {"enable.auto.offset.store", "false"},  // stored by Done(): only handled lines
      {"enable.auto.commit", "true"},
      {"auto.commit.interval.ms", "1000"},
      {"auto.offset.reset", "earliest"},
      {"enable.partition.eof", "true"}};
  props.insert(props.end(), o.properties.begin(), o.properties.end());
  for (const auto& [k, v] : props) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return absl::InvalidArgumentError(StrCat("kafka property ", k, "=", v, ": ", err));
    }
  }
  r->rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  if (r->rk_ == nullptr) return absl::UnavailableError(StrCat("kafka consumer: ", err));
  rd_kafka_poll_set_consumer(r->rk_);
  rd_kafka_topic_partition_list_t* topics =
      rd_kafka_topic_partition_list_new(static_cast<int>(o.topics.size()));
  for (const std::string& t : o.topics) {
    rd_kafka_topic_partition_list_add(topics, t.c_str(), RD_KAFKA_PARTITION_UA);
  }
  const rd_kafka_resp_err_t e = rd_kafka_subscribe(r->rk_, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnavailableError(StrCat("kafka subscribe: ", rd_kafka_err2str(e)));
  }
  r->name_ = StrCat("kafka://", o.brokers, "/", StrJoin(o.topics, ","));
  r->started_ns_ = SteadyNs();
  return r;
}

KafkaLineReader::~KafkaLineReader() {
  if (last_ != nullptr) rd_kafka_message_destroy(last_);
  if (rk_ != nullptr) {
    Commit();
    rd_kafka_consumer_close(rk_);
    rd_kafka_destroy(rk_);
  }
}

KafkaLineReader::Got KafkaLineReader::Next(std::string* line, int wait_ms) {
  if (last_ != nullptr) {  // not marked Done: not stored, read again after a restart
    rd_kafka_message_destroy(last_);
    last_ = nullptr;
  }
  rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, wait_ms);
  if (m == nullptr) {
    if (!exit_at_end_) return Got::kNone;
    rd_kafka_topic_partition_list_t* assigned = nullptr;
    if (rd_kafka_assignment(rk_, &assigned) != RD_KAFKA_RESP_ERR_NO_ERROR) return Got::kNone;
    const int n = assigned->cnt;
    rd_kafka_topic_partition_list_destroy(assigned);
    if (n > 0 && static_cast<int>(at_end_.size()) >= n) return Got::kEnd;
    if (n == 0 && SteadyNs() - started_ns_ > 60 * kNanosPerSecond) {
      SP_LOG(kError, "kafka", "%s: no partition assigned within 60 s; giving up", name_);
      return Got::kEnd;
    }
    return Got::kNone;
  }
  const std::pair<std::string, int> tp = {m->rkt != nullptr ? rd_kafka_topic_name(m->rkt) : "",
                                          m->partition};
  if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
    at_end_.insert(tp);
    rd_kafka_message_destroy(m);
    return Got::kNone;
  }
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    SP_LOG(kWarning, "kafka", "%s: %s", name_, rd_kafka_message_errstr(m));
    rd_kafka_message_destroy(m);
    return Got::kNone;
  }
  at_end_.erase(tp);
  line->assign(static_cast<const char*>(m->payload), m->len);
  last_ = m;
  return Got::kLine;
}

void KafkaLineReader::Done() {
  if (last_ == nullptr) return;
  rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, rd_kafka_topic_name(last_->rkt), last_->partition)->offset =
      last_->offset + 1;
  rd_kafka_offsets_store(rk_, l);
  rd_kafka_topic_partition_list_destroy(l);
  rd_kafka_message_destroy(last_);
  last_ = nullptr;
}

void KafkaLineReader::Commit() {
  const rd_kafka_resp_err_t e = rd_kafka_commit(rk_, nullptr, /*async=*/0);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR__NO_OFFSET) {
    SP_LOG(kWarning, "kafka", "%s: commit failed: %s", name_, rd_kafka_err2str(e));
  }
}

}  // namespace sitepulse
