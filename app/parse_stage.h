// The parallel half of a run: the batch pool, the reader thread (Kafka's poll loop, or file
// inputs when a core is spare), and the parse lanes, each turning a batch into a BucketDelta.
// Parsed batches come out of Done() in completion order; the coordinator puts them back in
// sequence (app/coordinator.h) and returns them with Recycle().
//
// The pool bounds memory and gives backpressure: two batches per lane in flight, plus one being
// read and one being applied. A slow stage blocks the ones before it; nothing is dropped.
//
// Threading: Start() spawns the threads; everything else is the coordinator's. A lane may wait
// for a free batch while it holds the inputs' read lock: only the coordinator returns batches,
// and it never takes that lock.
#pragma once

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "app/kafka_checkpointer.h"
#include "app/parse_lane.h"
#include "app/pipeline.h"
#include "app/pipeline_inputs.h"
#include "app/pipeline_stats.h"
#include "core/batch_queue.h"

namespace sitepulse {

class ParseStage {
 public:
  ParseStage(const PipelineOptions& options, PipelineInputs* inputs,
             const ParseLane::Options& lane_options, KafkaConsumerGauges* gauges,
             std::atomic<bool>* stop);
  ~ParseStage();

  void Start();
  // The next parsed batch; nullptr once for each lane as it finishes.
  Batch* Done() { return done_.Pop(); }
  void Recycle(Batch* b) { free_.Push(b); }
  void JoinLanes();
  // With Kafka the reader polls (keeping the group membership) until the final commit is done.
  void JoinReader();

  int lanes() const { return lanes_; }
  bool lanes_read() const { return lanes_read_; }
  size_t parse_depth() const { return work_.ApproxSize(); }
  size_t apply_depth() const { return done_.ApproxSize(); }
  double reader_cpu_seconds() const { return reader_cpu_.seconds(); }
  double lanes_cpu_seconds() const { return lanes_cpu_.seconds(); }

 private:
  void KafkaReader();
  void FileReader();
  void Lane(int l);

  PipelineInputs* inputs_;
  ParseLane::Options lane_options_;
  KafkaConsumerGauges* gauges_;
  std::atomic<bool>* stop_;
  const int lanes_;
  bool lanes_read_ = false;
  std::vector<std::unique_ptr<Batch>> pool_;
  BatchQueue<Batch> free_, work_, done_;
  std::atomic<uint64_t> next_seq_id_{0};
  CpuTally reader_cpu_, lanes_cpu_;
  std::thread reader_;
  std::vector<std::thread> lane_threads_;
};

}  // namespace sitepulse
