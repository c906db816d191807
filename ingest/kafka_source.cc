#include "ingest/kafka_source.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "core/log.h"
#include "core/strings.h"
#include "ingest/kafka_state_store.h"

namespace sitepulse {
namespace {

rd_kafka_t* Rk(void* p) { return static_cast<rd_kafka_t*>(p); }
int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
void ReleaseMessage(void* m) { rd_kafka_message_destroy(static_cast<rd_kafka_message_t*>(m)); }

}  // namespace

absl::StatusOr<KafkaStart> ParseKafkaStart(std::string_view value) {
  KafkaStart s;
  if (value == "committed") return s;
  if (value == "earliest") {
    s.kind = KafkaStart::Kind::kEarliest;
    return s;
  }
  if (ParseRfc3339(value, &s.timestamp)) {
    s.kind = KafkaStart::Kind::kTimestamp;
    return s;
  }
  s.kind = KafkaStart::Kind::kOffsets;
  for (absl::string_view pair : absl::StrSplit(ToAbsl(value), ',', absl::SkipEmpty())) {
    const size_t colon = pair.find(':');
    int32_t partition = -1;
    int64_t offset = -1;
    if (colon == absl::string_view::npos ||
        !absl::SimpleAtoi(pair.substr(0, colon), &partition) || partition < 0 ||
        !absl::SimpleAtoi(pair.substr(colon + 1), &offset) || offset < 0 ||
        !s.offsets.emplace(partition, offset).second) {
      return absl::InvalidArgumentError(
          StrCat("start=", value, ": expected committed, earliest, an RFC 3339 time ",
                 "(2025-01-01T00:00:00Z) or PARTITION:OFFSET pairs (0:1200,1:1180), each ",
                 "partition once"));
    }
  }
  if (s.offsets.empty()) return absl::InvalidArgumentError("start= needs a value");
  return s;
}

absl::StatusOr<KafkaSourceOptions> KafkaOptionsFromUri(
    const std::string& target, const std::vector<std::pair<std::string, std::string>>& params) {
  const size_t slash = target.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == target.size()) {
    return absl::InvalidArgumentError(
        StrCat("kafka://", target, ": expected kafka://HOST:PORT[,HOST:PORT]/TOPIC[,TOPIC]"));
  }
  KafkaSourceOptions o;
  o.brokers = target.substr(0, slash);
  const std::string topics = target.substr(slash + 1);  // outlives the split below
  for (absl::string_view t : absl::StrSplit(ToAbsl(topics), ',', absl::SkipEmpty())) {
    o.topics.emplace_back(t.data(), t.size());
  }
  for (const auto& [k, v] : params) {
    if (k == "group") {
      o.group = v;
    } else if (k == "start") {
      absl::StatusOr<KafkaStart> start = ParseKafkaStart(v);
      if (!start.ok()) return start.status();
      o.start = *start;
    } else if (k == "commit") {
      if (v != "true" && v != "false") {
        return absl::InvalidArgumentError(StrCat("commit=", v, ": expected true or false"));
      }
      o.commit = v == "true";
    }
  }
  return o;
}

absl::StatusOr<std::unique_ptr<KafkaSource>> KafkaSource::Open(const KafkaSourceOptions& options) {
  std::unique_ptr<KafkaSource> src(new KafkaSource(options));
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto set = [&](const std::string& k, const std::string& v) -> absl::Status {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
      return absl::InvalidArgumentError(StrCat("kafka property ", k, "=", v, ": ", err));
    }
    return absl::OkStatus();
  };
  std::vector<std::pair<std::string, std::string>> props = {
      {"bootstrap.servers", options.brokers},
      {"group.id", options.group},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "earliest"},
      // Eager rebalancing: with librdkafka 2.0 (Debian 12) cooperative-sticky turns commits made
      // during a rebalance into lost assignments (confluentinc/librdkafka#4059), and in our tests
      // a retained partition once skipped messages. Every rebalance then hands all partitions
      // over (docs/kafka.md); kafka.partition.assignment.strategy overrides this.
      {"partition.assignment.strategy", "roundrobin"},
      {"client.id", "sitepulse"},
      // Notice new topics and partitions within seconds, not librdkafka's 5 minutes.
      {"topic.metadata.refresh.interval.ms", "2000"},
      // End-of-partition events: only a partition read to its end may be judged idle (a broker
      // that is away is not a quiet partition).
      {"enable.partition.eof", "true"},
  };
  props.insert(props.end(), options.properties.begin(), options.properties.end());
  for (const auto& [k, v] : props) {
    if (absl::Status st = set(k, v); !st.ok()) {
      rd_kafka_conf_destroy(conf);
      return st;
    }
  }
  {
    char value[64];
    size_t size = sizeof(value);
    if (rd_kafka_conf_get(conf, "queued.min.messages", value, &size) == RD_KAFKA_CONF_OK) {
      src->queued_min_messages_ = std::strtoll(value, nullptr, 10);
    }
  }
  rd_kafka_conf_set_opaque(conf, src.get());
  rd_kafka_conf_set_rebalance_cb(conf, [](rd_kafka_t* rk, rd_kafka_resp_err_t e,
                                          rd_kafka_topic_partition_list_t* parts, void* opaque) {
    RebalanceTrampoline(rk, e, parts, opaque);
  });
  rd_kafka_conf_set_offset_commit_cb(conf, [](rd_kafka_t* rk, rd_kafka_resp_err_t e,
                                              rd_kafka_topic_partition_list_t* offs, void* opaque) {
    CommitTrampoline(rk, e, offs, opaque);
  });
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return absl::InvalidArgumentError(StrCat("cannot create a Kafka consumer: ", err));
  }
  src->rk_ = rk;
  rd_kafka_poll_set_consumer(rk);
  src->queue_ = rd_kafka_queue_get_consumer(rk);
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(
      static_cast<int>(options.topics.size()));
  for (const std::string& t : options.topics) {
    rd_kafka_topic_partition_list_add(topics, t.c_str(), RD_KAFKA_PARTITION_UA);
  }
  const rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnavailableError(StrCat("cannot subscribe: ", rd_kafka_err2str(e)));
  }
  return src;
}

KafkaSource::~KafkaSource() {
  for (const auto& [id, message] : waiting_) {
    if (message != nullptr) rd_kafka_message_destroy(static_cast<rd_kafka_message_t*>(message));
  }
  if (rk_ == nullptr) return;
  rd_kafka_consumer_close(Rk(rk_));
  if (queue_ != nullptr) rd_kafka_queue_destroy(static_cast<rd_kafka_queue_t*>(queue_));
  rd_kafka_destroy(Rk(rk_));
}

int KafkaSource::PartitionId(const std::string& topic, int32_t partition) {
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, inserted] = ids_.try_emplace({topic, partition}, static_cast<int>(names_.size()));
  if (inserted) names_.emplace_back(topic, partition);
  return it->second;
}

std::string KafkaSource::PartitionName(int id) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (id < 0 || id >= static_cast<int>(names_.size())) return "kafka:?";
  return StrCat("kafka:", names_[id].first, "/", names_[id].second);
}

std::pair<std::string, int32_t> KafkaSource::TopicPartition(int id) const {
  std::lock_guard<std::mutex> lock(mu_);
  return names_[static_cast<size_t>(id)];
}

void* KafkaSource::NewGroupMetadata() const { return rd_kafka_consumer_group_metadata(Rk(rk_)); }

void KafkaSource::FreeGroupMetadata(void* metadata) {
  rd_kafka_consumer_group_metadata_destroy(static_cast<rd_kafka_consumer_group_metadata_t*>(metadata));
}

std::string KafkaSource::StateKey(int id) const {
  std::lock_guard<std::mutex> lock(mu_);
  return StrCat(options_.group, "/", names_[static_cast<size_t>(id)].first, "/",
                names_[static_cast<size_t>(id)].second);
}

bool KafkaSource::cooperative() const {
  const char* protocol = rd_kafka_rebalance_protocol(Rk(rk_));
  return protocol != nullptr && std::string(protocol) == "COOPERATIVE";
}

void KafkaSource::RevokeHandled() {
  {
    std::lock_guard<std::mutex> lock(revoke_mu_);
    ++revokes_handled_;
  }
  revoke_cv_.notify_all();
}

void KafkaSource::FinalCommitDone() {
  {
    std::lock_guard<std::mutex> lock(revoke_mu_);
    final_commit_done_ = true;
  }
  revoke_cv_.notify_all();
  rd_kafka_queue_yield(static_cast<rd_kafka_queue_t*>(queue_));  // ends a KeepAlive poll now
}

bool KafkaSource::final_commit_done() const {
  std::lock_guard<std::mutex> lock(revoke_mu_);
  return final_commit_done_;
}

void KafkaSource::RebalanceTrampoline(void*, int err, void* parts, void* opaque) {
  static_cast<KafkaSource*>(opaque)->OnRebalance(err, parts);
}

void KafkaSource::CommitTrampoline(void*, int err, void*, void* opaque) {
  auto* self = static_cast<KafkaSource*>(opaque);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR__NO_OFFSET) {
    self->commits_.fetch_add(1);
  } else {
    self->commit_errors_.fetch_add(1);
    SP_LOG(kError, "kafka", "commit failed: %s",
                 rd_kafka_err2str(static_cast<rd_kafka_resp_err_t>(err)));
  }
}

int64_t KafkaSource::StartOffset(const char* topic, int32_t partition) {
  rd_kafka_t* rk = Rk(rk_);
  int64_t low = 0, high = 0;
  if (rd_kafka_query_watermark_offsets(rk, topic, partition, &low, &high, 10000) !=
      RD_KAFKA_RESP_ERR_NO_ERROR) {
    SP_LOG(kWarning, "kafka", "%s/%d: cannot read its offsets; start= falls back to the beginning",
           topic, partition);
    return RD_KAFKA_OFFSET_BEGINNING;
  }
  const KafkaStart& s = options_.start;
  switch (s.kind) {
    case KafkaStart::Kind::kCommitted:
    case KafkaStart::Kind::kEarliest:
      return low;
    case KafkaStart::Kind::kOffsets: {
      auto it = s.offsets.find(partition);
      return it == s.offsets.end() ? low : std::clamp(it->second, low, high);
    }
    case KafkaStart::Kind::kTimestamp:
      break;
  }
  rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, topic, partition)->offset = s.timestamp / 1'000'000;
  int64_t offset = low;
  const rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(rk, l, 10000);
  if (e == RD_KAFKA_RESP_ERR_NO_ERROR && l->elems[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    offset = l->elems[0].offset < 0 ? high : l->elems[0].offset;  // none that late: the end
  } else {
    SP_LOG(kWarning, "kafka", "%s/%d: cannot look up start=%s (%s); reading from the beginning",
           topic, partition, FormatRfc3339(s.timestamp).c_str(),
           rd_kafka_err2str(e != RD_KAFKA_RESP_ERR_NO_ERROR ? e : l->elems[0].err));
  }
  rd_kafka_topic_partition_list_destroy(l);
  return offset;
}

bool KafkaSource::CoversEveryPartition(const void* p) {
  const auto* parts = static_cast<const rd_kafka_topic_partition_list_t*>(p);
  rd_kafka_t* rk = Rk(rk_);
  std::set<std::pair<std::string, int32_t>> held;
  for (int i = 0; i < parts->cnt; ++i) held.emplace(parts->elems[i].topic, parts->elems[i].partition);
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, o] : owned_) {
      if (o.assigned) held.insert(names_[static_cast<size_t>(id)]);
    }
  }
  for (const std::string& topic : options_.topics) {
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
    const rd_kafka_metadata_t* md = nullptr;
    const rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
    rd_kafka_topic_destroy(rkt);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR || md == nullptr || md->topic_cnt != 1) {
      if (md != nullptr) rd_kafka_metadata_destroy(md);
      return false;
    }
    const int count = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    for (int32_t partition = 0; partition < count; ++partition) {
      if (held.count({topic, partition}) == 0) return false;
    }
  }
  return true;
}

namespace {
// A partition's committed offset (-1: none) and its metadata (at most 256 bytes), in one
// request to the group coordinator.
struct Committed {
  int64_t offset = -1;
  std::string metadata;
};
Committed QueryCommitted(rd_kafka_t* rk, const char* topic, int32_t partition) {
  Committed c;
  rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, topic, partition);
  if (rd_kafka_committed(rk, l, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    c.offset = l->elems[0].offset;
    if (l->elems[0].metadata != nullptr) {
      c.metadata.assign(static_cast<const char*>(l->elems[0].metadata),
                        std::min<size_t>(l->elems[0].metadata_size, 256));
    }
  }
  rd_kafka_topic_partition_list_destroy(l);
  return c;
}
}  // namespace

void KafkaSource::PositionForExitAtEnd(const char* topic, int32_t partition, int64_t start,
                                       int64_t committed, Owned* o) {
  // Where this partition ends now, and where the group will start reading it.
  int64_t low = 0, high = 0;
  if (rd_kafka_query_watermark_offsets(Rk(rk_), topic, partition, &low, &high, 10000) ==
      RD_KAFKA_RESP_ERR_NO_ERROR) {
    o->end_offset = high;
  }
  o->next_offset = committed >= 0 ? committed : low;
  if (start >= 0) o->next_offset = start;  // where the state says to start
}

void KafkaSource::OnRebalance(int err, void* p) {
  auto* parts = static_cast<rd_kafka_topic_partition_list_t*>(p);
  rd_kafka_t* rk = Rk(rk_);
  const bool assign = err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS;
  const bool lost = !assign && rd_kafka_assignment_lost(rk);
  if (assign) owns_every_partition_.store(CoversEveryPartition(parts));
  if (assign && !keeping_alive_ && finishing_) {
    // Exit-at-end: this instance had read everything it owned and was ending those partitions
    // when the group gave it more (another instance left before this one could): read them.
    // Staying in the end phase discarded their messages and ended them unread (a stage-1
    // instance hung; a single-stage backfill would have lost their lines).
    finishing_ = false;
    SP_LOG(kInfo, "kafka", "new partitions after reading to the end: reading on");
  }
  if (!assign && !lost && keeping_alive_) {
    // Input finished, last commit still to come: the partitions go only after it, while this
    // generation can still commit them (the group waits, as for any revoke).
    std::unique_lock<std::mutex> lock(revoke_mu_);
    revoke_cv_.wait_for(lock, std::chrono::nanoseconds(options_.revoke_timeout),
                        [&] { return final_commit_done_; });
  }
  if (lost) {
    // Taken away rather than handed over: a session timeout or max.poll.interval.ms exceeded.
    partitions_lost_.fetch_add(1);
    SP_LOG(kWarning, "kafka",
           "this consumer lost its partitions (it stopped polling or heartbeating for too long: "
           "session.timeout.ms, max.poll.interval.ms); it rejoins the group and reads again from "
           "the last commit");
  }
  for (int i = 0; i < parts->cnt; ++i) {
    const rd_kafka_topic_partition_t& tp = parts->elems[i];
    const int id = PartitionId(tp.topic, tp.partition);
    Owned& o = owned_[id];
    std::string state;
    int64_t state_offset = -1;
    bool state_error = false;
    if (assign && options_.load_state) {
      // The previous owner's state and the offset it covers: reading starts there.
      const std::string key = StateKey(id);
      auto value = options_.load_state(key);
      int64_t next = -1;
      std::string_view engine_state;
      if (!value.ok()) {
        state_error = true;
        SP_LOG(kWarning, "kafka", "state of %s: %s", key.c_str(),
                     std::string(value.status().message()).c_str());
      } else if (value->has_value() && !UnframePartitionState(**value, &next, &engine_state)) {
        state_error = true;
        SP_LOG(kWarning, "kafka", "state of %s: not a sitepulse partition state",
                     key.c_str());
      } else if (value->has_value()) {
        state = std::string(engine_state);
        state_offset = next;
        if (next >= 0) parts->elems[i].offset = next;
      }
    }
    Committed committed;
    if (assign && (options_.commit_metadata || options_.exit_at_end)) {
      committed = QueryCommitted(rk, tp.topic, tp.partition);
    }
    if (!options_.commit_metadata) committed.metadata.clear();
    const char* from = "where its state ends";
    if (assign && parts->elems[i].offset < 0 && options_.start.kind != KafkaStart::Kind::kCommitted &&
        started_.insert(id).second) {
      parts->elems[i].offset = StartOffset(tp.topic, tp.partition);
      from = "start=";
    }
    if (!assign) {
      SP_LOG(kInfo, "kafka", "%s %s/%d", lost ? "lost" : "revoked", tp.topic,
                   tp.partition);
    } else if (parts->elems[i].offset >= 0) {
      SP_LOG(kInfo, "kafka", "assigned %s/%d (from offset %lld, %s)",
                   tp.topic, tp.partition, static_cast<long long>(parts->elems[i].offset), from);
    } else {
      SP_LOG(kInfo, "kafka", "assigned %s/%d (from the committed offset)",
                   tp.topic, tp.partition);
    }
    if (assign) {
      o.assigned = true;
      // Where reading starts is the client's business (a state's offset, the commit, the
      // reset policy): gaps count only from the first message on.
      o.positioned = false;
      if (options_.exit_at_end) {
        PositionForExitAtEnd(tp.topic, tp.partition, tp.offset, committed.offset, &o);
      }
    } else {
      o.assigned = false;
    }
    if (!assign) {
      if (lost || get_ == nullptr) {
        // Its next owner reads them (lost), or the process is closing.
        for (auto it = waiting_.begin(); it != waiting_.end();) {
          if (it->first != id) {
            ++it;
            continue;
          }
          if (it->second != nullptr) rd_kafka_message_destroy(static_cast<rd_kafka_message_t*>(it->second));
          it = waiting_.erase(it);
        }
      } else {
        HandOver(/*block=*/true, id);  // what was read of it goes before the revoke
      }
    }
    if (get_ != nullptr && put_ != nullptr) {
      Batch* b = (*get_)();
      b->partition = id;
      b->control = assign ? Batch::Control::kAssign
                   : lost ? Batch::Control::kLost
                          : Batch::Control::kRevoke;
      b->state = std::move(state);
      b->state_offset = state_offset;
      b->state_error = state_error;
      b->commit_metadata = std::move(committed.metadata);
      (*put_)(b);
      if (b->control == Batch::Control::kRevoke) ++revokes_put_;
    }
  }
  if (!assign && !lost && get_ != nullptr) {
    // Hand-over: everything read from these partitions is applied, committed and its state
    // written before the group may give them to another consumer.
    std::unique_lock<std::mutex> lock(revoke_mu_);
    if (!revoke_cv_.wait_for(lock, std::chrono::nanoseconds(options_.revoke_timeout),
                             [&] { return revokes_handled_ >= revokes_put_; })) {
      SP_LOG(kWarning, "kafka",
             "the pipeline did not hand revoked partitions over within %llds; their next owner "
             "reads them from the last commit",
                   static_cast<long long>(options_.revoke_timeout / kNanosPerSecond));
    }
  }
  Reassign(parts, assign);
}

void KafkaSource::Reassign(void* p, bool assign) {
  auto* parts = static_cast<rd_kafka_topic_partition_list_t*>(p);
  rd_kafka_t* rk = Rk(rk_);
  const bool cooperative = rd_kafka_rebalance_protocol(rk) != nullptr &&
                           std::string(rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE";
  if (!cooperative && !assign) paused_.store(false);  // an eager revoke unassigns everything
  if (cooperative) {
    if (assign) {
      rd_kafka_error_t* e = rd_kafka_incremental_assign(rk, parts);
      if (e != nullptr) rd_kafka_error_destroy(e);
    } else {
      rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk, parts);
      if (e != nullptr) rd_kafka_error_destroy(e);
    }
  } else {
    rd_kafka_assign(rk, assign ? parts : nullptr);
  }
  if (assign) {
    assigned_once_ = true;
    // New partitions wait too while the pipeline is full; otherwise they are read, even those
    // this consumer paused before a revoke gave them away: librdkafka keeps a partition's pause
    // across a revoke and a new assignment (confluentinc/librdkafka#1849), and a partition given
    // back paused was never read again (an --exit-at-end instance waited for it forever).
    if (paused_.load()) {
      rd_kafka_pause_partitions(rk, parts);
    } else {
      rd_kafka_resume_partitions(rk, parts);
    }
  }
}

bool KafkaSource::HandOver(bool block, int only) {
  // Consecutive messages of a partition share a batch; order within a partition is kept, and
  // once no batch is free, everything after stays waiting.
  std::map<int, Batch*> open;
  std::deque<std::pair<int, void*>> rest;
  bool stalled = false;
  auto take = [&]() -> Batch* { return block ? (*get_)() : (*try_get_)(); };
  for (const auto& [id, message] : waiting_) {
    if (stalled || (only >= 0 && id != only)) {
      rest.emplace_back(id, message);
      continue;
    }
    if (message == nullptr) {
      // End of partition: after the messages before it.
      if (auto it = open.find(id); it != open.end()) {
        (*put_)(it->second);
        open.erase(it);
      }
      Batch* e = take();
      if (e == nullptr) {
        stalled = true;
        rest.emplace_back(id, message);
        continue;
      }
      e->partition = id;
      e->control = Batch::Control::kEof;
      (*put_)(e);
      continue;
    }
    Batch*& b = open[id];
    if (b == nullptr) {
      b = take();
      if (b == nullptr) {
        open.erase(id);
        stalled = true;
        rest.emplace_back(id, message);
        continue;
      }
      b->partition = id;
      b->release = ReleaseMessage;
    }
    auto* m = static_cast<rd_kafka_message_t*>(message);
    b->messages.push_back({static_cast<const char*>(m->payload), m->len, m->offset});
    b->owned.push_back(m);
    if (b->messages.size() >= options_.max_batch_messages) {
      (*put_)(b);
      open.erase(id);
    }
  }
  for (auto& [id, b] : open) (*put_)(b);
  waiting_.swap(rest);
  return waiting_.empty();
}

void KafkaSource::SetPaused(bool paused, bool full_pipeline) {
  if (paused_.load() == paused) return;
  rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(4);
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, o] : owned_) {
      if (o.assigned) {
        rd_kafka_topic_partition_list_add(l, names_[static_cast<size_t>(id)].first.c_str(),
                                          names_[static_cast<size_t>(id)].second);
      }
    }
  }
  if (paused) {
    rd_kafka_pause_partitions(Rk(rk_), l);
  } else {
    rd_kafka_resume_partitions(Rk(rk_), l);
  }
  rd_kafka_topic_partition_list_destroy(l);
  if (paused && full_pipeline && pauses_.fetch_add(1) < 3) {
    SP_LOG(kWarning, "kafka",
           "the pipeline is full; reading paused until it catches up (sitepulse_kafka_pauses)");
  }
  paused_.store(paused);
}

bool KafkaSource::Poll(const std::function<Batch*()>& get, const std::function<Batch*()>& try_get,
                       const std::function<void(Batch*)>& put, bool stop_requested) {
  // The rebalance callback runs inside librdkafka calls made here; it hands out control batches
  // through these only while Poll runs (not during the final close).
  get_ = &get;
  try_get_ = &try_get;
  put_ = &put;
  struct Clear {
    KafkaSource* self;
    ~Clear() { self->get_ = nullptr, self->try_get_ = nullptr, self->put_ = nullptr; }
  } clear{this};
  // End of a backfill: the remaining messages and an end marker per partition, without ever
  // blocking (a full pipeline must not keep this consumer from polling). True once all are out.
  auto finish_all = [&] {
    if (!HandOver(/*block=*/false)) return false;
    for (auto& [id, o] : owned_) {
      if (!o.assigned) continue;
      Batch* b = try_get();
      if (b == nullptr) return false;
      b->partition = id;
      b->control = Batch::Control::kEnd;
      put(b);
      o.assigned = false;
    }
    return true;
  };
  if (stop_requested) {
    // A shutdown, not an end of input: partitions stay open, so buckets that are still open are
    // neither closed early nor committed; a restart re-reads their events.
    return false;
  }
  // Messages still waiting for batches first; while some wait, every partition stays paused and
  // the polls below only keep the group's clock and callbacks going.
  if (!HandOver(/*block=*/false)) SetPaused(true);
  else if (paused_.load() && !finishing_) SetPaused(false);
  std::vector<rd_kafka_message_t*>& msgs = poll_buffer_;
  msgs.resize(options_.max_messages_per_poll);
  WakeFetcherIfDrained();
  const ssize_t n = rd_kafka_consume_batch_queue(
      static_cast<rd_kafka_queue_t*>(queue_), static_cast<int>(options_.poll_timeout / 1'000'000),
      msgs.data(), msgs.size());
  for (ssize_t i = 0; i < n; ++i) {
    rd_kafka_message_t* m = msgs[static_cast<size_t>(i)];
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF && m->rkt != nullptr) {
        const int id = PartitionId(rd_kafka_topic_name(m->rkt), m->partition);
        waiting_.emplace_back(id, nullptr);
        // The end is past the last message when a transaction's commit marker closes the
        // partition (a topic written by stage 1 of a two-stage run): exit-at-end counts it.
        if (auto o = owned_.find(id); o != owned_.end() && m->offset > o->second.next_offset) {
          o->second.next_offset = m->offset;
        }
      } else if (m->err == RD_KAFKA_RESP_ERR__MAX_POLL_EXCEEDED) {
        max_poll_exceeded_.fetch_add(1);
        SP_LOG(kWarning, "kafka",
               "this consumer exceeded max.poll.interval.ms (a stalled pipeline or sink); the "
               "group reassigns its partitions and it rejoins");
      } else {
        SP_LOG(kWarning, "kafka", "%s", rd_kafka_err2str(m->err));
      }
      rd_kafka_message_destroy(m);
      continue;
    }
    const int id = PartitionId(rd_kafka_topic_name(m->rkt), m->partition);
    Owned& o = owned_[id];
    if (!o.assigned || finishing_) {
      // Fetched before a revoke that happened within this poll (its new owner reads it), or past
      // the end of a backfill (fetched before the pause took effect).
      rd_kafka_message_destroy(m);
      continue;
    }
    if (!o.positioned) {
      SP_LOG(kInfo, "kafka", "%s/%d: reading from offset %lld", rd_kafka_topic_name(m->rkt),
             m->partition, static_cast<long long>(m->offset));
    } else if (m->offset > o.next_offset) {
      // Offsets the client never delivered: compaction and transaction markers make such gaps;
      // anything else is a client bug (observed with cooperative rebalancing in librdkafka 2.0).
      if (offset_gaps_.fetch_add(1) < 10) {
        SP_LOG(kWarning, "kafka", "%s/%d: offsets %lld..%lld were not delivered",
                     rd_kafka_topic_name(m->rkt), m->partition,
                     static_cast<long long>(o.next_offset), static_cast<long long>(m->offset - 1));
      }
    }
    o.positioned = true;
    o.next_offset = m->offset + 1;
    o.last_timestamp_ms = rd_kafka_message_timestamp(m, nullptr);
    waiting_.emplace_back(id, m);
  }
  if (!HandOver(/*block=*/false)) SetPaused(true);
  if (NowNs() - last_lag_ns_ > 1'000'000'000) {
    last_lag_ns_ = NowNs();
    RefreshLag();
  }
  if (n <= 0 && NowNs() - last_tick_ns_ > 500'000'000) {
    // Nothing to read: let the coordinator run its periodic work (commits) anyway.
    if (Batch* b = try_get()) {
      last_tick_ns_ = NowNs();
      b->control = Batch::Control::kTick;
      put(b);
    }
  }
  if (!options_.exit_at_end) return true;
  if (finishing_) return !finish_all();
  if (!assigned_once_) {
    // A backfill of a topic nobody can assign us (it does not exist, the broker is down):
    // give up after a while rather than wait forever.
    if (first_poll_ns_ == 0) first_poll_ns_ = NowNs();
    if (NowNs() - first_poll_ns_ > options_.assignment_timeout) {
      SP_LOG(kError, "kafka", "no partition assigned within %llds; giving up",
                   static_cast<long long>(options_.assignment_timeout / kNanosPerSecond));
      failed_ = true;
      return false;
    }
    return true;
  }
  // Exit at end: every assigned partition read up to its end offset at assignment. With none
  // assigned right now (lost, or in the middle of a rebalance) the backfill is not done: wait
  // for the group, up to the assignment timeout (another instance may have them all).
  bool all = true, any = false;
  for (auto& [id, o] : owned_) {
    if (!o.assigned) continue;
    any = true;
    if (o.end_offset >= 0 && o.next_offset < o.end_offset) all = false;
  }
  if (!any) {
    if (unassigned_since_ns_ == 0) unassigned_since_ns_ = NowNs();
    if (NowNs() - unassigned_since_ns_ <= options_.assignment_timeout) return true;
    SP_LOG(kWarning, "kafka", "no partition assigned for %llds; stopping",
                 static_cast<long long>(options_.assignment_timeout / kNanosPerSecond));
  } else {
    unassigned_since_ns_ = 0;
  }
  if (all) {
    // Read to the end: stop fetching, and hand the rest over as batches become free.
    finishing_ = true;
    SetPaused(true, /*full_pipeline=*/false);
    return !finish_all();
  }
  return true;
}

void KafkaSource::WakeFetcherIfDrained() {
  // librdkafka 2.0 stops fetching while its queue holds queued.min.messages and looks again only
  // when its broker thread wakes up, up to a second later (2.1 added fetch.queue.backoff.ms).
  // Reading from a fast broker, the queue fills in milliseconds and drains in tens of them, so
  // the reader idled most of that second. A request to the broker wakes its thread: once the
  // queue has drained after being full, ask for one partition's end offset (this wakes the
  // thread of that partition's leader; with several brokers the others wait as before).
  // (A queue configured smaller than one poll's worth is left alone: it is small on purpose.)
  const auto per_poll = static_cast<int64_t>(options_.max_messages_per_poll);
  if (queued_min_messages_ <= per_poll) return;
  const auto length =
      static_cast<int64_t>(rd_kafka_queue_length(static_cast<rd_kafka_queue_t*>(queue_)));
  // Seen only between polls: a queue close to the threshold may have crossed it meanwhile.
  if (length >= queued_min_messages_ - per_poll) {
    fetcher_stopped_ = true;
    return;
  }
  if (!fetcher_stopped_ || length > queued_min_messages_ / 4) return;
  fetcher_stopped_ = false;
  for (const auto& [id, o] : owned_) {
    if (!o.assigned) continue;
    std::pair<std::string, int32_t> name;
    {
      std::lock_guard<std::mutex> lock(mu_);
      name = names_[static_cast<size_t>(id)];
    }
    int64_t low = 0, high = 0;
    rd_kafka_query_watermark_offsets(Rk(rk_), name.first.c_str(), name.second, &low, &high, 100);
    break;
  }
}

void KafkaSource::KeepAlive() {
  if (!keeping_alive_) {
    keeping_alive_ = true;
    // Leave the group: a member whose input is finished must not be given partitions it would
    // never read. The revoke this brings waits for the last commit (see OnRebalance).
    rd_kafka_unsubscribe(Rk(rk_));
  }
  // Partitions stay paused; the poll serves callbacks and errors and tells the group this
  // consumer is alive (max.poll.interval.ms) while the pipeline drains and commits.
  SetPaused(true, /*full_pipeline=*/false);
  std::array<rd_kafka_message_t*, 64> msgs;
  const ssize_t n = rd_kafka_consume_batch_queue(static_cast<rd_kafka_queue_t*>(queue_), 100,
                                                 msgs.data(), msgs.size());
  for (ssize_t i = 0; i < n; ++i) {
    rd_kafka_message_t* m = msgs[static_cast<size_t>(i)];
    if (m->err == RD_KAFKA_RESP_ERR__MAX_POLL_EXCEEDED) max_poll_exceeded_.fetch_add(1);
    // Anything else was fetched before the pause: never applied, so never committed.
    rd_kafka_message_destroy(m);
  }
}

void KafkaSource::RefreshLag() {
  std::vector<PartitionLag> lag;
  const int64_t now_ms = static_cast<int64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
  for (const auto& [id, o] : owned_) {
    if (!o.assigned) continue;
    std::pair<std::string, int32_t> name;
    {
      std::lock_guard<std::mutex> lock(mu_);
      name = names_[static_cast<size_t>(id)];
    }
    int64_t low = 0, high = -1;
    // Cached from fetch responses: no request to the broker.
    if (rd_kafka_get_watermark_offsets(Rk(rk_), name.first.c_str(), name.second, &low, &high) !=
            RD_KAFKA_RESP_ERR_NO_ERROR ||
        high < 0) {
      continue;
    }
    PartitionLag l;
    l.partition = name.first + "/" + std::to_string(name.second);
    l.messages = std::max<int64_t>(0, high - std::max(o.next_offset, low));
    if (l.messages > 0 && o.last_timestamp_ms > 0) {
      l.seconds = static_cast<double>(std::max<int64_t>(0, now_ms - o.last_timestamp_ms)) / 1e3;
    }
    lag.push_back(std::move(l));
  }
  std::lock_guard<std::mutex> lock(mu_);
  lag_ = std::move(lag);
}

std::vector<KafkaSource::PartitionLag> KafkaSource::Lag() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lag_;
}

void KafkaSource::Commit(const std::vector<std::pair<int, int64_t>>& offsets, bool sync) {
  if (offsets.empty() || !options_.commit) return;
  rd_kafka_topic_partition_list_t* l =
      rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size()));
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, next] : offsets) {
      rd_kafka_topic_partition_t* tp =
          rd_kafka_topic_partition_list_add(l, names_[id].first.c_str(), names_[id].second);
      tp->offset = next;
    }
  }
  const rd_kafka_resp_err_t e = rd_kafka_commit(Rk(rk_), l, sync ? 0 : 1);
  if (sync) {
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
      commits_.fetch_add(1);
    } else {
      commit_errors_.fetch_add(1);
      SP_LOG(kError, "kafka", "commit failed: %s", rd_kafka_err2str(e));
    }
  }
  rd_kafka_topic_partition_list_destroy(l);
}

}  // namespace sitepulse
