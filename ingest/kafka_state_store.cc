#include "ingest/kafka_state_store.h"

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "core/log.h"
#include "core/status_macros.h"
#include "core/strings.h"

namespace sitepulse {
namespace {

rd_kafka_t* Rk(void* p) { return static_cast<rd_kafka_t*>(p); }

constexpr std::string_view kManifest = "sitepulse-state-manifest";


std::string PieceKey(const std::string& key, uint64_t generation, uint64_t piece) {
  return StrCat(key, "#", generation, "#", piece);
}

bool ConsumerOnly(const std::string& k) {
  return k == "group.id" || k.starts_with("auto.") || k.starts_with("enable.auto") ||
         k == "partition.assignment.strategy" || k == "max.poll.interval.ms" ||
         k == "session.timeout.ms" || k.starts_with("fetch.") || k == "max.partition.fetch.bytes" ||
         k.starts_with("queued.");
}

absl::StatusOr<rd_kafka_t*> NewClient(rd_kafka_type_t type,
                                      const std::vector<std::pair<std::string, std::string>>& props) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  for (const auto& [k, v] : props) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return absl::InvalidArgumentError(StrCat("kafka property ", k, "=", v, ": ", err));
    }
  }
  if (type == RD_KAFKA_PRODUCER) {
    rd_kafka_conf_set_dr_msg_cb(conf, [](rd_kafka_t*, const rd_kafka_message_t* m, void*) {
      // The opaque of each message counts its failures.
      if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR && m->_private != nullptr) {
        static_cast<std::atomic<uint64_t>*>(m->_private)->fetch_add(1);
      }
    });
  }
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof(err));
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return absl::InvalidArgumentError(StrCat("cannot create a Kafka client: ", err));
  }
  return rk;
}

}  // namespace

absl::StatusOr<std::unique_ptr<KafkaStateStore>> KafkaStateStore::Open(
    const KafkaStateStoreOptions& options) {
  std::unique_ptr<KafkaStateStore> s(new KafkaStateStore(options));
  std::vector<std::pair<std::string, std::string>> common = {
      {"bootstrap.servers", options.brokers}, {"client.id", "sitepulse-state"}};
  for (const auto& kv : options.properties) {
    if (!ConsumerOnly(kv.first) && kv.first != "message.max.bytes") common.push_back(kv);
  }
  auto producer_props = common;
  producer_props.push_back({"enable.idempotence", "true"});  // acks=all, in order
  producer_props.push_back(
      {"message.timeout.ms", std::to_string(options.timeout / 1'000'000)});
  producer_props.push_back({"message.max.bytes", std::to_string(options.piece_bytes + 4096)});
  auto consumer_props = common;
  consumer_props.push_back({"enable.auto.commit", "false"});
  consumer_props.push_back({"enable.partition.eof", "false"});
  consumer_props.push_back({"group.id", "sitepulse-state-reader"});  // never joins: assign only
  SP_ASSIGN_OR_RETURN(rd_kafka_t * producer, NewClient(RD_KAFKA_PRODUCER, producer_props));
  s->producer_ = producer;
  SP_ASSIGN_OR_RETURN(rd_kafka_t * consumer, NewClient(RD_KAFKA_CONSUMER, consumer_props));
  s->consumer_ = consumer;
  rd_kafka_poll_set_consumer(consumer);
  s->next_generation_ = static_cast<uint64_t>(
      std::chrono::system_clock::now().time_since_epoch().count());
  if (absl::Status st = s->CreateTopicIfMissing(); !st.ok()) return st;
  return s;
}

KafkaStateStore::~KafkaStateStore() {
  if (producer_ != nullptr) {
    rd_kafka_flush(Rk(producer_), 5000);
    rd_kafka_destroy(Rk(producer_));
  }
  if (consumer_ != nullptr) {
    rd_kafka_consumer_close(Rk(consumer_));
    rd_kafka_destroy(Rk(consumer_));
  }
}

absl::Status KafkaStateStore::CreateTopicIfMissing() {
  char err[512];
  rd_kafka_NewTopic_t* t = rd_kafka_NewTopic_new(options_.topic.c_str(), 1, -1, err, sizeof(err));
  if (t == nullptr) return absl::InvalidArgumentError(StrCat("state topic: ", err));
  rd_kafka_NewTopic_set_config(t, "cleanup.policy", "compact");
  // A reader reads the whole partition to find a key's newest value, and only closed segments
  // are compacted: with the broker's defaults (1 GiB or 7 days per segment) a restart could
  // read days of snapshots. Segments of 10 minutes, cleaned early, keep it to about that much
  // beyond the newest value of each key; tombstones of old pieces go after an hour.
  rd_kafka_NewTopic_set_config(t, "segment.ms", "600000");
  rd_kafka_NewTopic_set_config(t, "min.cleanable.dirty.ratio", "0.1");
  rd_kafka_NewTopic_set_config(t, "delete.retention.ms", "3600000");
  rd_kafka_queue_t* q = rd_kafka_queue_new(Rk(producer_));
  rd_kafka_AdminOptions_t* opts = rd_kafka_AdminOptions_new(Rk(producer_), RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_request_timeout(opts, static_cast<int>(options_.timeout / 1'000'000), err,
                                            sizeof(err));
  rd_kafka_CreateTopics(Rk(producer_), &t, 1, opts, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, static_cast<int>(options_.timeout / 1'000'000) + 1000);
  absl::Status status = absl::OkStatus();
  if (ev == nullptr) {
    status = absl::UnavailableError(StrCat("state topic ", options_.topic,
                                           ": no answer from the brokers (", options_.brokers, ")"));
  } else if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    status = absl::UnavailableError(
        StrCat("state topic ", options_.topic, ": ", rd_kafka_event_error_string(ev)));
  } else {
    size_t n = 0;
    const rd_kafka_topic_result_t** results =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    for (size_t i = 0; i < n; ++i) {
      const rd_kafka_resp_err_t e = rd_kafka_topic_result_error(results[i]);
      if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        status = absl::UnavailableError(StrCat("cannot create state topic ", options_.topic, ": ",
                                               rd_kafka_topic_result_error_string(results[i])));
      }
    }
  }
  if (ev != nullptr) rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(opts);
  rd_kafka_NewTopic_destroy(t);
  rd_kafka_queue_destroy(q);
  return status;
}

std::string FramePartitionState(int64_t next_offset, std::string_view engine_state) {
  return StrCat("sitepulse-partition ", next_offset, "\n", engine_state);
}

bool UnframePartitionState(std::string_view value, int64_t* next_offset,
                           std::string_view* engine_state) {
  constexpr std::string_view kHead = "sitepulse-partition ";
  const size_t eol = value.find('\n');
  if (!value.starts_with(kHead) || eol == std::string_view::npos) return false;
  const std::string number(value.substr(kHead.size(), eol - kHead.size()));
  char* end = nullptr;
  *next_offset = std::strtoll(number.c_str(), &end, 10);
  if (number.empty() || *end != '\0') return false;
  *engine_state = value.substr(eol + 1);
  return true;
}

absl::Status KafkaStateStore::Put(const std::string& key, std::string_view value) {
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t generation = ++next_generation_;
  const uint64_t pieces = (value.size() + options_.piece_bytes - 1) / options_.piece_bytes;
  std::atomic<uint64_t> failed{0};
  auto produce = [&](const std::string& k, const void* data, size_t size, bool count) {
    const rd_kafka_resp_err_t e = rd_kafka_producev(
        Rk(producer_), RD_KAFKA_V_TOPIC(options_.topic.c_str()), RD_KAFKA_V_PARTITION(0),
        RD_KAFKA_V_KEY(k.data(), k.size()), RD_KAFKA_V_VALUE(const_cast<void*>(data), size),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_OPAQUE(count ? &failed : nullptr), RD_KAFKA_V_END);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) failed.fetch_add(1);
  };
  for (uint64_t i = 0; i < pieces; ++i) {
    const size_t at = i * options_.piece_bytes;
    produce(PieceKey(key, generation, i), value.data() + at,
            std::min(options_.piece_bytes, value.size() - at), true);
  }
  const std::string manifest =
      StrCat(kManifest, " ", generation, " ", pieces, " ", value.size(), " ", Fnv1a64(value));
  produce(key, manifest.data(), manifest.size(), true);
  // Wait for these reports only: failed counts through the messages' opaque.
  const rd_kafka_resp_err_t flushed =
      rd_kafka_flush(Rk(producer_), static_cast<int>(options_.timeout / 1'000'000));
  if (flushed != RD_KAFKA_RESP_ERR_NO_ERROR || failed.load() > 0) {
    return absl::UnavailableError(StrCat("state topic ", options_.topic, ": writing ", key,
                                         " failed (", value.size(), " bytes)"));
  }
  // The previous generation's pieces are garbage now: tombstones let compaction drop them.
  if (auto it = written_.find(key); it != written_.end()) {
    for (uint64_t i = 0; i < it->second.second; ++i) {
      produce(PieceKey(key, it->second.first, i), nullptr, 0, false);
    }
  }
  written_[key] = {generation, pieces};
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> KafkaStateStore::Get(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  return GetLocked(key);
}

absl::StatusOr<std::optional<std::string>> KafkaStateStore::GetLocked(const std::string& key) {
  const int timeout_ms = static_cast<int>(options_.timeout / 1'000'000);
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  int64_t low = 0, high = 0;
  // A topic just created (or a partition whose leader moves) is unknown to the client's
  // metadata, or answers "not leader" or "leader not available", for a moment: asked again
  // until the timeout, 100 ms apart.
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    const rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(
        Rk(consumer_), options_.topic.c_str(), 0, &low, &high,
        static_cast<int>(std::max<int64_t>(left.count(), 1)));
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) break;
    const bool moving = e == RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION ||
                        e == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE ||
                        e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
                        e == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION ||
                        e == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
    if (!moving || std::chrono::steady_clock::now() + std::chrono::milliseconds(100) >= until) {
      return absl::UnavailableError(
          StrCat("state topic ", options_.topic, ": ", rd_kafka_err2str(e)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (high <= low) return std::optional<std::string>();
  rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, options_.topic.c_str(), 0)->offset = low;
  rd_kafka_assign(Rk(consumer_), l);
  rd_kafka_topic_partition_list_destroy(l);
  // The newest manifest and pieces of this key, read to the end of the partition.
  const std::string prefix = key + "#";
  std::optional<std::string> manifest;
  std::map<std::string, std::string> pieces;
  int64_t next = low;
  absl::Status status = absl::OkStatus();
  while (next < high) {
    if (std::chrono::steady_clock::now() > until) {
      status = absl::DeadlineExceededError(StrCat("state topic ", options_.topic,
                                                  ": reading stopped at offset ", next, " of ", high));
      break;
    }
    rd_kafka_message_t* m = rd_kafka_consumer_poll(Rk(consumer_), 200);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      next = m->offset + 1;
      const std::string_view k(static_cast<const char*>(m->key), m->key_len);
      const std::string_view v(static_cast<const char*>(m->payload), m->len);
      if (k == key) {
        if (m->payload == nullptr) manifest.reset();
        else manifest = std::string(v);
      } else if (k.starts_with(prefix)) {
        if (m->payload == nullptr) pieces.erase(std::string(k));
        else pieces[std::string(k)] = std::string(v);
      }
    } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      SP_LOG(kWarning, "kafka", "state topic %s: %s", options_.topic.c_str(),
                   rd_kafka_err2str(m->err));
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_assign(Rk(consumer_), nullptr);
  if (!status.ok()) return status;
  if (!manifest) return std::optional<std::string>();
  // "sitepulse-state-manifest GENERATION PIECES SIZE FNV"
  unsigned long long generation = 0, count = 0, size = 0, hash = 0;
  char word[32] = {};
  if (std::sscanf(manifest->c_str(), "%31s %llu %llu %llu %llu", word, &generation, &count, &size,
                  &hash) != 5 ||
      kManifest != word) {
    return absl::DataLossError(StrCat("state topic ", options_.topic, ": ", key,
                                      ": not a sitepulse manifest"));
  }
  std::string value;
  value.reserve(size);
  for (uint64_t i = 0; i < count; ++i) {
    auto it = pieces.find(PieceKey(key, generation, i));
    if (it == pieces.end()) {
      return absl::DataLossError(StrCat("state topic ", options_.topic, ": ", key, ": piece ", i,
                                        " of ", count, " is missing"));
    }
    value += it->second;
  }
  if (value.size() != size || Fnv1a64(value) != hash) {
    return absl::DataLossError(
        StrCat("state topic ", options_.topic, ": ", key, ": checksum mismatch"));
  }
  written_[key] = {generation, count};
  return std::optional<std::string>(std::move(value));
}

}  // namespace sitepulse
