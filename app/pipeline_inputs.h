// The inputs of one run: opening them (files, stdin, or one Kafka topic with its optional state
// topic), their formats, and reading file inputs one batch at a time, each time from the input
// furthest behind in event time (as the coordinator last saw it; in turn among equals), so that
// event time advances together across them: the watermark is the slowest input's, and an input
// read ahead of it holds its buckets open until it catches up.
//
// Threading: Open on the calling thread. ReadNext is called by the reader thread or, when the
// lanes read for themselves, by any lane: it serialises them (whoever reads holds the lock).
// The Kafka source is polled by the reader thread alone (app/parse_stage.h).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "app/pipeline.h"
#include "core/batch_queue.h"
#include "ingest/batch.h"
#include "ingest/file_source.h"
#include "ingest/kafka_source.h"
#include "ingest/kafka_state_store.h"

namespace sitepulse {

class PipelineInputs {
 public:
  // Opens every input: a typo in a path, or a Kafka URI without a topic, fails here, before
  // anything is bound or read.
  static absl::StatusOr<std::unique_ptr<PipelineInputs>> Open(const PipelineOptions& options);

  // One per input, in the order given (a Kafka input is input 0, its partitions its ids).
  const std::vector<FormatSpec>& formats() const { return formats_; }
  KafkaSource* kafka() const { return kafka_.get(); }
  // The state topic of per-partition engines (--state kafka:TOPIC), else null.
  KafkaStateStore* state_store() const { return state_store_.get(); }
  // Kafka by default (no --state): where the shared engine's snapshots live, and their key.
  KafkaStateStore* engine_state_store() const { return engine_state_store_.get(); }
  const std::string& engine_state_key() const { return engine_state_key_; }
  size_t file_count() const { return files_.size(); }
  FileSource& file(size_t i) const { return *files_[i]; }

  // File and stdin inputs: the next batch (from `free`), read from the input furthest behind
  // (see above) and numbered for the coordinator; nullptr once every input has ended. An input's
  // last batch (its last data, or an empty one) has end_of_input set. Once *stop is true each
  // input ends.
  Batch* ReadNext(BatchQueue<Batch>& free, const std::atomic<bool>* stop);
  // The coordinator: input `input`'s newest event time so far is at least `newest`. Read order
  // only: results do not depend on it (lateness is judged per input, and a bucket closes only
  // when every input has passed it).
  void NoteProgress(int input, EventTime newest);

 private:
  absl::Status OpenEngineState(const PipelineOptions& options, const KafkaSourceOptions& ko);

  std::vector<std::unique_ptr<FileSource>> files_;
  std::vector<FormatSpec> formats_;
  std::unique_ptr<KafkaSource> kafka_;
  std::unique_ptr<KafkaStateStore> state_store_;
  std::unique_ptr<KafkaStateStore> engine_state_store_;
  std::string engine_state_key_;

  std::mutex read_mu_;
  uint64_t read_seq_ = 0;
  std::vector<size_t> active_;  // inputs not ended yet
  size_t next_active_ = 0;
  // Per input, its newest event time the coordinator has seen (INT64_MIN: none yet).
  std::unique_ptr<std::atomic<EventTime>[]> progress_;
};

}  // namespace sitepulse
