// A Kafka consumer-group source: polls batches of messages with librdkafka's high-level
// consumer and hands them over as Batches of one partition each, the messages themselves owned by
// the batch so lanes parse the payloads in place. Offsets are never committed automatically:
// the pipeline commits, per partition, only what it has fully handled (Commit()).
//
// Threading: Poll() and the rebalance callback run on the reader thread; Commit() may be called
// from the coordinator (librdkafka handles are thread-safe).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/time.h"
#include "ingest/batch.h"

struct rd_kafka_message_s;  // librdkafka's rd_kafka_message_t

namespace sitepulse {

// Where a partition is read from the first time this process is assigned it, when no state
// says otherwise (later assignments continue from the group's commits).
struct KafkaStart {
  enum class Kind { kCommitted, kEarliest, kTimestamp, kOffsets };
  Kind kind = Kind::kCommitted;  // the group's commit, else the beginning
  // The first message whose Kafka timestamp (producer or broker time, not the log line's) is at
  // or after this; the end when there is none.
  EventTime timestamp = 0;
  // Partition -> offset (clamped to what the partition holds); unlisted partitions: the
  // beginning. Applies to every topic read.
  std::map<int32_t, int64_t> offsets;
};

// ?start=committed|earliest|RFC3339|P:O,P:O
absl::StatusOr<KafkaStart> ParseKafkaStart(std::string_view value);

struct KafkaSourceOptions {
  std::string brokers;              // host:port[,host:port]
  std::vector<std::string> topics;
  std::string group = "sitepulse";
  // librdkafka properties passed as they are (security.protocol, sasl.*, ssl.*, fetch sizes).
  std::vector<std::pair<std::string, std::string>> properties;
  bool exit_at_end = false;         // stop at the end offsets seen when a partition is assigned
  KafkaStart start;
  // false: never commit (a backtest reading a live group's topic leaves its offsets alone).
  bool commit = true;
  size_t max_messages_per_poll = 20000;
  size_t max_batch_messages = 4096;
  DurationNs poll_timeout = 100'000'000;
  DurationNs assignment_timeout = 60 * kNanosPerSecond;  // exit-at-end only
  // Optional: the state a partition's previous owner left (KafkaStateStore value framed by
  // FramePartitionState), read when the partition is assigned. Reading then starts at its
  // offset and the state travels in the kAssign batch.
  std::function<absl::StatusOr<std::optional<std::string>>(const std::string& key)> load_state;
  // Two-stage runs, stage 1 (docs/kafka.md): the metadata of each assigned partition's committed
  // offset travels in the kAssign batch (where the previous owner's published buckets end).
  bool commit_metadata = false;
  // How long a revoke waits for the pipeline to hand the partitions over (state written).
  DurationNs revoke_timeout = 60 * kNanosPerSecond;
};

// kafka://HOST:PORT[,HOST:PORT]/TOPIC[,TOPIC]?group=G&start=...&commit=false
absl::StatusOr<KafkaSourceOptions> KafkaOptionsFromUri(
    const std::string& target, const std::vector<std::pair<std::string, std::string>>& params);

class KafkaSource {
 public:
  static absl::StatusOr<std::unique_ptr<KafkaSource>> Open(const KafkaSourceOptions& options);
  ~KafkaSource();

  // One poll. `get` hands out an empty batch (waiting for one), `try_get` one if there is one
  // soon (else nullptr: the pipeline is full), `put` takes a filled one (messages of one partition, or a control
  // batch). Returns false once the source is finished: exit-at-end reached (after a kEnd control
  // batch for every partition it owned), or a stop requested (no kEnd: what is still in open
  // buckets stays uncommitted).
  //
  // Backpressure: when no batch is free for the messages received, they wait here and every
  // assigned partition is paused (librdkafka drops what it fetched ahead and fetches again from
  // the next offset on resume); polling goes on, so the group keeps this consumer. Reading
  // resumes once the waiting messages are handed over.
  bool Poll(const std::function<Batch*()>& get, const std::function<Batch*()>& try_get,
            const std::function<void(Batch*)>& put, bool stop_requested);

  // After Poll returned false: one short poll with every partition paused, so that the group
  // keeps this consumer (max.poll.interval.ms) while the pipeline drains, the sinks deliver and
  // the last offsets are committed. Messages it receives are dropped, never committed.
  void KeepAlive();
  // The pipeline committed its last offsets: KeepAlive may stop, and a revoke that came
  // meanwhile (waiting for this) lets the partitions go.
  void FinalCommitDone();
  bool final_commit_done() const;

  // Commits `next offset` per partition id (asynchronously unless sync).
  void Commit(const std::vector<std::pair<int, int64_t>>& offsets, bool sync);
  std::string PartitionName(int id) const;
  // The (topic, partition) of a source-wide partition id.
  std::pair<std::string, int32_t> TopicPartition(int id) const;
  // The consumer's group metadata (rd_kafka_consumer_group_metadata_t, for a transactional
  // producer's send_offsets_to_transaction); free it with FreeGroupMetadata.
  void* NewGroupMetadata() const;
  static void FreeGroupMetadata(void* metadata);
  // True with a cooperative assignment strategy (its revokes must not commit, see docs/kafka.md).
  bool cooperative() const;
  // "GROUP/TOPIC/PARTITION": where a partition's state is kept between owners.
  std::string StateKey(int id) const;
  // The coordinator has handled a kRevoke batch (committed, handed over): the rebalance
  // callback, which waits for this, may let the partition go.
  void RevokeHandled();
  uint64_t commits() const { return commits_.load(); }
  uint64_t commit_errors() const { return commit_errors_.load(); }
  // True if the source gave up (exit-at-end without any assignment).
  bool failed() const { return failed_; }
  // True when the last assignment gave this consumer every partition of every topic it reads
  // (it is the group's only member); false when others share them or the broker could not say.
  // Set before the assignment's kAssign batches are handed out.
  bool owns_every_partition() const { return owns_every_partition_.load(); }

  // Consumer lag of each assigned partition, refreshed about once a second by Poll: messages
  // between the next offset to read and the partition's end (the broker's high watermark), and
  // the age of the last message read while behind (0 once caught up). Thread-safe.
  struct PartitionLag {
    std::string partition;  // topic/partition
    int64_t messages = 0;
    double seconds = 0;
  };
  std::vector<PartitionLag> Lag() const;
  // Times the consumer was found to exceed max.poll.interval.ms (the group then reassigns its
  // partitions; librdkafka rejoins on the next poll).
  uint64_t max_poll_exceeded() const { return max_poll_exceeded_.load(); }
  // Times the group took this consumer's partitions away (a lost assignment: it did not poll or
  // heartbeat in time); each is logged, and the consumer rejoins.
  uint64_t partitions_lost() const { return partitions_lost_.load(); }
  // Times reading was paused because the pipeline had no free batch, and whether it is now.
  uint64_t pauses() const { return pauses_.load(); }
  bool paused() const { return paused_.load(); }
  // Forward jumps in a partition's offsets (messages the client did not deliver).
  uint64_t offset_gaps() const { return offset_gaps_.load(); }

 private:
  explicit KafkaSource(const KafkaSourceOptions& options) : options_(options) {}
  int PartitionId(const std::string& topic, int32_t partition);
  void OnRebalance(int err, void* partitions);
  // Hands the client the partitions a rebalance gave (assign) or took, pausing or resuming what
  // it gives as the pipeline is.
  void Reassign(void* partitions, bool assign);
  static void RebalanceTrampoline(void* rk, int err, void* partitions, void* opaque);
  static void CommitTrampoline(void* rk, int err, void* offsets, void* opaque);
  // Where options_.start says a partition begins (rebalance callback).
  int64_t StartOffset(const char* topic, int32_t partition);
  // Whether `parts` (an assignment) with what is already assigned covers every partition of the
  // topics read, by the broker's metadata (rebalance callback).
  bool CoversEveryPartition(const void* parts);

  KafkaSourceOptions options_;
  void* rk_ = nullptr;     // rd_kafka_t
  void* queue_ = nullptr;  // rd_kafka_queue_t of the consumer
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int32_t>, int> ids_;
  std::vector<std::pair<std::string, int32_t>> names_;
  struct Owned {
    bool assigned = false;
    int64_t end_offset = -1;  // exit-at-end: high watermark at assignment
    int64_t next_offset = 0;  // next offset to read
    int64_t last_timestamp_ms = -1;  // of the last message read (producer or broker time)
    bool positioned = false;         // a message was read since the assignment
  };
  // exit-at-end: a newly assigned partition's end offset and where reading starts (`start`
  // from a state, else the group's `committed` offset, else the beginning).
  void PositionForExitAtEnd(const char* topic, int32_t partition, int64_t start,
                            int64_t committed, Owned* o);
  void RefreshLag();
  std::vector<PartitionLag> lag_;  // guarded by mu_
  int64_t last_lag_ns_ = 0;
  std::atomic<uint64_t> max_poll_exceeded_{0};
  std::atomic<uint64_t> partitions_lost_{0};
  std::atomic<uint64_t> offset_gaps_{0};
  std::set<int> started_;  // partitions positioned by options_.start once (rebalance callback)
  std::atomic<uint64_t> pauses_{0};
  std::atomic<bool> owns_every_partition_{false};
  std::atomic<bool> paused_{false};
  // Received, not yet in a batch (backpressure), in arrival order: (partition id, message), a
  // null message standing for an end-of-partition event.
  std::deque<std::pair<int, void*>> waiting_;
  // Hands waiting messages over while batches are free (all of them, waiting for batches, if
  // `block`; only those of `only` if >= 0). True when none is left.
  bool HandOver(bool block, int only = -1);
  // Pauses or resumes every assigned partition; a pause for a full pipeline (backpressure) is
  // counted and logged, one at the end of the input is not.
  void SetPaused(bool paused, bool full_pipeline = true);
  // Works around librdkafka 2.0's late refetch after a full queue (see the .cc).
  void WakeFetcherIfDrained();
  int64_t queued_min_messages_ = 0;
  std::vector<rd_kafka_message_s*> poll_buffer_;  // reused by every Poll
  bool fetcher_stopped_ = false;
  // Exit-at-end: every partition read to its end; the rest is being handed over.
  bool finishing_ = false;
  const std::function<Batch*()>* try_get_ = nullptr;
  int64_t unassigned_since_ns_ = 0;
  std::map<int, Owned> owned_;
  bool assigned_once_ = false;
  bool failed_ = false;
  int64_t first_poll_ns_ = 0;
  int64_t last_tick_ns_ = 0;
  const std::function<Batch*()>* get_ = nullptr;
  const std::function<void(Batch*)>* put_ = nullptr;
  mutable std::mutex revoke_mu_;
  bool final_commit_done_ = false;  // guarded by revoke_mu_
  bool keeping_alive_ = false;      // reader thread only
  std::condition_variable revoke_cv_;
  uint64_t revokes_put_ = 0;      // reader thread only
  uint64_t revokes_handled_ = 0;  // guarded by revoke_mu_
  std::atomic<uint64_t> commits_{0};
  std::atomic<uint64_t> commit_errors_{0};
};

}  // namespace sitepulse
