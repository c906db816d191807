#include "sinks/partials_producer.h"

#include <librdkafka/rdkafka.h>

#include "core/log.h"
#include "sinks/kafka_producer.h"
#include "core/strings.h"

namespace sitepulse {
namespace {

rd_kafka_t* Rk(void* p) { return static_cast<rd_kafka_t*>(p); }

// A transactional call's error as a status (and the error destroyed).
absl::Status TxnStatus(rd_kafka_error_t* e, std::string_view what) {
  if (e == nullptr) return absl::OkStatus();
  absl::Status st = absl::UnavailableError(StrCat("partials: ", what, ": ", rd_kafka_error_string(e)));
  rd_kafka_error_destroy(e);
  return st;
}

constexpr int kTimeoutMs = 30000;

}  // namespace

absl::StatusOr<std::unique_ptr<PartialsProducer>> PartialsProducer::Open(
    const std::string& target, const std::vector<std::pair<std::string, std::string>>& properties,
    const std::string& transactional_id) {
  const size_t slash = target.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == target.size() ||
      target.find(',', slash) != std::string::npos) {
    return absl::InvalidArgumentError(
        StrCat("--partials kafka://", target, ": expected kafka://HOST:PORT[,HOST:PORT]/TOPIC"));
  }
  std::unique_ptr<PartialsProducer> p(new PartialsProducer());
  p->topic_ = target.substr(slash + 1);
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::vector<std::pair<std::string, std::string>> props = {
      {"bootstrap.servers", target.substr(0, slash)},
      {"transactional.id", transactional_id},
      // A killed instance's open transaction blocks read_committed readers of the partitions
      // it wrote to until the broker aborts it: keep that short (a restart with the same id
      // aborts it at once).
      {"transaction.timeout.ms", "20000"},
      {"linger.ms", "5"},
      {"client.id", "sitepulse-partials"},
  };
  for (const auto& kv : properties) {
    // Consumer settings, and the consumer's message size (a partial record of a busy bucket
    // with many templates can be larger than the lines it stands for).
    if (IsConsumerOnlyProperty(kv.first) || kv.first == "isolation.level" ||
        kv.first == "message.max.bytes" || kv.first.starts_with("queued.") ||
        kv.first == "max.partition.fetch.bytes") {
      continue;
    }
    props.push_back(kv);
  }
  for (const auto& [k, v] : props) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return absl::InvalidArgumentError(StrCat("kafka property ", k, "=", v, ": ", err));
    }
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return absl::InvalidArgumentError(StrCat("cannot create the partials producer: ", err));
  }
  p->rk_ = rk;
  absl::StatusOr<int> n = p->PartitionsOf(p->topic_);
  if (!n.ok()) return n.status();
  p->partitions_ = *n;
  // Fences an earlier process with the same id and aborts what it left open.
  if (absl::Status st = TxnStatus(rd_kafka_init_transactions(rk, kTimeoutMs), "init_transactions");
      !st.ok()) {
    return st;
  }
  return p;
}

PartialsProducer::~PartialsProducer() {
  if (rk_ == nullptr) return;
  // An uncommitted transaction is aborted: its records were never visible.
  if (open_) TxnStatus(rd_kafka_abort_transaction(Rk(rk_), 5000), "abort").IgnoreError();
  rd_kafka_destroy(Rk(rk_));
}

absl::StatusOr<int> PartialsProducer::PartitionsOf(const std::string& topic) {
  rd_kafka_topic_t* t = rd_kafka_topic_new(Rk(rk_), topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  int n = -1;
  for (int attempt = 0; attempt < 50 && n <= 0; ++attempt) {
    if (rd_kafka_metadata(Rk(rk_), 0, t, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        n = md->topics[0].partition_cnt;
      }
      rd_kafka_metadata_destroy(md);
    }
  }
  rd_kafka_topic_destroy(t);
  if (n <= 0) return absl::UnavailableError(StrCat("topic ", topic, ": no partitions known (does it exist?)"));
  return n;
}

absl::Status PartialsProducer::Begin() {
  if (open_) return absl::OkStatus();
  if (absl::Status st = TxnStatus(rd_kafka_begin_transaction(Rk(rk_)), "begin_transaction"); !st.ok()) {
    return st;
  }
  open_ = true;
  return absl::OkStatus();
}

void PartialsProducer::ProduceTo(int32_t partition, std::string_view key, std::string_view value) {
  if (absl::Status st = Begin(); !st.ok()) {
    // The commit reports it: a transaction that could not begin cannot commit.
    SP_LOG(kError, "partials", "%s", std::string(st.message()).c_str());
    return;
  }
  ++records_;
  bytes_ += value.size();
  while (true) {
    const rd_kafka_resp_err_t e = rd_kafka_producev(
        Rk(rk_), RD_KAFKA_V_TOPIC(topic_.c_str()), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()), RD_KAFKA_V_END);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) return;
    if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(Rk(rk_), 100);  // backpressure, never a drop
      continue;
    }
    // A record not produced fails the transaction (librdkafka reports it at commit).
    SP_LOG(kError, "partials", "cannot produce to %s: %s", topic_.c_str(), rd_kafka_err2str(e));
    return;
  }
}

void PartialsProducer::Produce(std::string_view key, std::string_view value) {
  ProduceTo(RD_KAFKA_PARTITION_UA, key, value);
}

void PartialsProducer::ProduceToEveryPartition(std::string_view value) {
  for (int32_t p = 0; p < partitions_; ++p) ProduceTo(p, "", value);
}

absl::Status PartialsProducer::Commit(const std::vector<Offset>& offsets, void* group_metadata) {
  if (offsets.empty() && !open_) return absl::OkStatus();
  if (absl::Status st = Begin(); !st.ok()) return st;
  if (!offsets.empty()) {
    rd_kafka_topic_partition_list_t* l =
        rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size()));
    for (const Offset& o : offsets) {
      rd_kafka_topic_partition_t* tp = rd_kafka_topic_partition_list_add(l, o.topic.c_str(), o.partition);
      tp->offset = o.next;
      tp->metadata = const_cast<char*>(o.metadata.data());
      tp->metadata_size = o.metadata.size();
    }
    rd_kafka_error_t* e = rd_kafka_send_offsets_to_transaction(
        Rk(rk_), l, static_cast<rd_kafka_consumer_group_metadata_t*>(group_metadata), kTimeoutMs);
    for (int i = 0; i < l->cnt; ++i) {  // not the list's to free
      l->elems[i].metadata = nullptr;
      l->elems[i].metadata_size = 0;
    }
    rd_kafka_topic_partition_list_destroy(l);
    if (e != nullptr) {
      TxnStatus(rd_kafka_abort_transaction(Rk(rk_), kTimeoutMs), "abort").IgnoreError();
      open_ = false;
      return TxnStatus(e, "send_offsets_to_transaction");
    }
  }
  rd_kafka_error_t* e = rd_kafka_commit_transaction(Rk(rk_), kTimeoutMs);
  open_ = false;
  if (e != nullptr) {
    const bool abortable = rd_kafka_error_txn_requires_abort(e);
    absl::Status st = TxnStatus(e, "commit_transaction");
    if (abortable) TxnStatus(rd_kafka_abort_transaction(Rk(rk_), kTimeoutMs), "abort").IgnoreError();
    return st;
  }
  ++transactions_;
  return absl::OkStatus();
}

}  // namespace sitepulse
