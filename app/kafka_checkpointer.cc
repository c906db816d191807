#include "app/kafka_checkpointer.h"

#include "app/pipeline_stats.h"
#include "core/check.h"
#include "core/log.h"

namespace sitepulse {

KafkaConsumerGauges::KafkaConsumerGauges(KafkaSource* kafka, MetricsRegistry* metrics)
    : kafka_(kafka), metrics_(metrics) {
  if (kafka_ == nullptr) return;
  pauses_ = metrics->GetGauge("sitepulse_kafka_pauses",
                              "Times reading was paused because the pipeline was full");
  paused_ = metrics->GetGauge("sitepulse_kafka_paused",
                              "1 while reading is paused (the pipeline is full)");
  gaps_ = metrics->GetGauge(
      "sitepulse_kafka_offset_gaps",
      "Forward jumps in a partition's offsets: messages the client did not deliver");
  lost_ = metrics->GetGauge(
      "sitepulse_kafka_partitions_lost",
      "Times the group took this consumer's partitions away (session or poll timeout)");
  max_poll_ = metrics->GetGauge(
      "sitepulse_kafka_max_poll_exceeded",
      "Times this consumer exceeded max.poll.interval.ms (its partitions were reassigned)");
}

void KafkaConsumerGauges::Publish() {
  if (kafka_ == nullptr) return;
  for (const KafkaSource::PartitionLag& l : kafka_->Lag()) {
    metrics_
        ->GetGauge("sitepulse_kafka_consumer_lag_messages",
                   "Messages between the consumer's position and the partition's end",
                   {{"partition", l.partition}})
        ->Set(static_cast<double>(l.messages));
    metrics_
        ->GetGauge("sitepulse_kafka_consumer_lag_seconds",
                   "Age of the last message read while the partition has a backlog (0: caught up)",
                   {{"partition", l.partition}})
        ->Set(l.seconds);
  }
  max_poll_->Set(static_cast<double>(kafka_->max_poll_exceeded()));
  gaps_->Set(static_cast<double>(kafka_->offset_gaps()));
  pauses_->Set(static_cast<double>(kafka_->pauses()));
  paused_->Set(kafka_->paused() ? 1 : 0);
  lost_->Set(static_cast<double>(kafka_->partitions_lost()));
}

KafkaCheckpointer::KafkaCheckpointer(const PipelineOptions& options, KafkaSource* kafka,
                                     KafkaStateStore* store, EngineSet* engines,
                                     PipelineSinks* sinks, const std::map<int, TimeGate>* gates)
    : options_(options),
      kafka_(kafka),
      store_(store),
      engines_(engines),
      sinks_(sinks),
      gates_(gates) {
  state_errors_ = options.metrics->GetCounter(
      "sitepulse_state_errors_total", "State snapshots that could not be written or read");
  commits_ = options.metrics->GetGauge(
      "sitepulse_kafka_commits", "Offset commits the broker acknowledged (Kafka inputs)");
  commit_errors_ = options.metrics->GetGauge(
      "sitepulse_kafka_commit_errors", "Offset commits that failed (Kafka inputs)");
}

int64_t KafkaCheckpointer::CommitLimit(int pid) const {
  auto it = gates_->find(pid);
  return it == gates_->end() ? INT64_MAX : it->second.min_held_offset();
}

void KafkaCheckpointer::OnAssigned(const Batch& b) {
  engines_->Open(b.partition);
  owned_.insert(b.partition);
  if (store_ != nullptr) {
    TakeOver(b);
    snapshot_bound_[b.partition] = engines_->closed_before(b.partition);
  }
}

// A partition assigned: take over the state its previous owner (or this consumer before a
// restart) left; the source already starts reading it where that state ends.
void KafkaCheckpointer::TakeOver(const Batch& b) {
  if (b.state_error) state_errors_->Add();
  if (b.state.empty()) return;
  const absl::Status st = engines_->Load(b.partition, b.state);
  const size_t sites = engines_->site_count(b.partition);
  if (!st.ok()) {
    state_errors_->Add();
    SP_LOG(kWarning, "kafka", "%s: its state is not usable, starting it empty: %s",
           kafka_->PartitionName(b.partition), st.message());
    return;
  }
  if (b.state_offset >= 0) closed_offset_[b.partition] = applied_offset_[b.partition] = b.state_offset;
  SP_LOG(kInfo, "kafka", "restored %zu sites of %s from state topic %s (from offset %lld)", sites,
         kafka_->PartitionName(b.partition), store_->topic(),
         static_cast<long long>(b.state_offset));
}

// A partition revoked: finish what is owned. With a state topic everything read is handed
// over, open buckets included, with the offset after the last line applied: the next owner
// starts exactly there, and that offset is committed. With cooperative rebalancing nothing is
// committed here: librdkafka before 2.10 (Debian 12 ships 2.0) turns an ILLEGAL_GENERATION
// answer to a commit made during a cooperative rebalance into a lost assignment
// (confluentinc/librdkafka#4059). Without a state topic, what sits in closed buckets is
// committed and the next owner reads the rest again.
void KafkaCheckpointer::HandOver(int pid) {
  // Eager rebalancing (the default): the revoke comes before the group moves on, so a commit
  // here is valid. Cooperative: no commit (see above).
  const bool may_commit = !kafka_->cooperative();
  if (store_ == nullptr) {
    if (may_commit) Commit(/*sync=*/true);  // what sits in closed, delivered buckets
    return;
  }
  // Anomalies of what is handed over must be out: the next owner does not produce them again.
  if (!sinks_->FlushDelivery()) {
    state_errors_->Add();
    SP_LOG(kWarning, "kafka", "%s: sinks did not deliver; not handing over its state",
           kafka_->PartitionName(pid));
    return;
  }
  const int64_t next = applied_offset_.count(pid) ? applied_offset_[pid] : -1;
  const absl::Status st = store_->Put(
      kafka_->StateKey(pid), FramePartitionState(next, engines_->Save(pid, /*include_open=*/true)));
  if (!st.ok()) {
    state_errors_->Add();
    SP_LOG(kWarning, "kafka", "%s: handing over its state failed: %s", kafka_->PartitionName(pid),
           st.message());
    return;
  }
  if (may_commit && next >= 0) {
    kafka_->Commit({{pid, next}}, /*sync=*/true);  // the state covers everything before it
    if (auto q = uncommitted_.find(pid); q != uncommitted_.end()) q->second.clear();
  }
  SP_LOG(kInfo, "kafka", "%s: %zu sites handed over, up to offset %lld", kafka_->PartitionName(pid),
         engines_->site_count(pid), static_cast<long long>(next));
}

void KafkaCheckpointer::OnRevoked(int pid, bool keep_engine) {
  HandOver(pid);
  Forget(pid, keep_engine);
}

void KafkaCheckpointer::OnLost(int pid, bool keep_engine) { Forget(pid, keep_engine); }

// This consumer no longer owns the partition's sites.
void KafkaCheckpointer::Forget(int pid, bool keep_engine) {
  if (!keep_engine) engines_->Drop(pid);
  uncommitted_.erase(pid);
  owned_.erase(pid);
  applied_offset_.erase(pid);
  closed_offset_.erase(pid);
  snapshot_bound_.erase(pid);
  // Whether it was read to its end and quiet belongs to this assignment: kept, a partition
  // assigned again would count as idle before it delivered what it is read again from (a chaos
  // run: a partition of 125 lines, idle before a lost assignment, was judged idle again at once,
  // the others closed their buckets, and its lines read again came late).
  at_end_.erase(pid);
  idle_.erase(pid);
  last_input_ns_.erase(pid);
}

void KafkaCheckpointer::CheckIdle() {
  const int64_t now = SteadyNowNs();
  for (int pid : owned_) {
    auto it = last_input_ns_.find(pid);
    const int64_t last = it == last_input_ns_.end() ? now : it->second;
    if (it == last_input_ns_.end()) last_input_ns_[pid] = now;
    // Idle means "read to the end and quiet since", never "unreachable": while the broker is
    // away, partitions keep holding the watermark, so nothing is closed under their feet.
    const bool is_idle = at_end_[pid] && now - last > options_.idle_timeout;
    if (idle_[pid] != is_idle) {
      idle_[pid] = is_idle;
      engines_->SetIdle(pid, is_idle);
    }
  }
}

void KafkaCheckpointer::MaybeCommit() {
  if (std::chrono::steady_clock::now() - last_commit_ > std::chrono::seconds(1)) {
    Commit(false);
    last_commit_ = std::chrono::steady_clock::now();
  }
}

void KafkaCheckpointer::Tick() {
  CheckIdle();
  MaybeCommit();
}

void KafkaCheckpointer::OnApplied(const Batch& b, bool events) {
  // Input makes the partition active again (the engine judges the same: WindowEngine::Apply).
  if (events) {
    last_input_ns_[b.partition] = SteadyNowNs();
    idle_[b.partition] = false;
    at_end_[b.partition] = false;
  }
  CheckIdle();
  for (const auto& [next_offset, newest_bucket] : b.checkpoints) {
    uncommitted_[b.partition].push_back({next_offset, newest_bucket});
  }
  if (!b.checkpoints.empty()) applied_offset_[b.partition] = b.checkpoints.back().first;
  MaybeCommit();
}

void KafkaCheckpointer::Commit(bool sync) {
  // Only what sits in closed, evaluated buckets, and only after every sink has delivered the
  // anomalies those buckets produced (and the dead-letter sink the rejected lines).
  // The final commit waits for the sinks; periodic ones only look (never stall consumption).
  if (!sinks_->Delivered(/*wait=*/sync)) return;  // undelivered: commit nothing yet
  std::vector<std::pair<int, int64_t>> offsets;
  for (auto& [pid, q] : uncommitted_) {
    // Only what sits in closed buckets that the last snapshot (if any) covers.
    EventTime bound = engines_->closed_before(pid);
    if (engines_->mode() == EngineSet::Mode::kShared) {
      bound = std::min(bound, snapshot_closed_before_);
    } else if (store_ != nullptr) {
      auto it = snapshot_bound_.find(pid);
      bound = it == snapshot_bound_.end() ? INT64_MIN : std::min(bound, it->second);
    }
    int64_t commit = -1;
    const int64_t limit = CommitLimit(pid);
    while (!q.empty() && q.front().max_bucket < bound && q.front().next_offset <= limit) {
      commit = q.front().next_offset;
      q.pop_front();
    }
    if (commit >= 0) {
      SP_DCHECK(!closed_offset_.contains(pid) || commit >= closed_offset_[pid],
                "a partition's commits never go back");
      offsets.emplace_back(pid, commit);
      closed_offset_[pid] = commit;
    }
  }
  if (committer_) {
    committer_(offsets, sync);
  } else {
    kafka_->Commit(offsets, sync);
  }
  commits_->Set(static_cast<double>(kafka_->commits()));
  commit_errors_->Set(static_cast<double>(kafka_->commit_errors()));
}

bool KafkaCheckpointer::SavePartitionStates() {
  // One value per owned partition: the sites whose lines come from it, without open buckets,
  // and the offset up to which every line sits in a closed bucket.
  for (int pid : owned_) {
    const EventTime closed_before = engines_->closed_before(pid);
    int64_t resume = closed_offset_.count(pid) ? closed_offset_[pid] : -1;
    if (auto q = uncommitted_.find(pid); q != uncommitted_.end()) {
      for (const PendingOffset& e : q->second) {
        if (e.max_bucket >= closed_before || e.next_offset > CommitLimit(pid)) break;
        resume = e.next_offset;
      }
    }
    if (snapshot_open_) resume = applied_offset_.count(pid) ? applied_offset_[pid] : resume;
    const absl::Status st = store_->Put(
        kafka_->StateKey(pid), FramePartitionState(resume, engines_->Save(pid, snapshot_open_)));
    if (!st.ok()) {
      state_errors_->Add();
      SP_LOG(kWarning, "snapshots", "%s", st.message());
      return false;
    }
    snapshot_bound_[pid] = closed_before;
  }
  return true;
}

}  // namespace sitepulse
