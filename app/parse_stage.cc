#include "app/parse_stage.h"

#include <pthread.h>

#include <chrono>
#include <functional>
#include <string>

namespace sitepulse {

namespace {
size_t PoolSize(int lanes) { return static_cast<size_t>(2 * lanes + 2); }
}  // namespace

ParseStage::ParseStage(const PipelineOptions& options, PipelineInputs* inputs,
                       const ParseLane::Options& lane_options, KafkaConsumerGauges* gauges,
                       std::atomic<bool>* stop)
    : inputs_(inputs),
      lane_options_(lane_options),
      gauges_(gauges),
      stop_(stop),
      lanes_(std::max(1, options.threads)),
      free_(PoolSize(lanes_)),
      work_(PoolSize(lanes_) + static_cast<size_t>(lanes_)),
      done_(PoolSize(lanes_) + static_cast<size_t>(lanes_)) {
  for (size_t i = 0; i < PoolSize(lanes_); ++i) {
    pool_.push_back(std::make_unique<Batch>());
    free_.Push(pool_.back().get());
  }
  // When every core runs a lane, the lanes read for themselves: a reader thread would take its
  // time slices from a lane anyway, and each hand-off costs a wake-up. With a core to spare, a
  // reader thread keeps the kernel's copy off the lanes. Kafka always has its reader thread (the
  // consumer's poll).
  lanes_read_ = inputs_->kafka() == nullptr &&
                (options.reader == PipelineOptions::Reader::kLanes ||
                 (options.reader == PipelineOptions::Reader::kAuto &&
                  lanes_ >= static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))));
}

ParseStage::~ParseStage() {
  for (std::thread& t : lane_threads_) {
    if (t.joinable()) t.join();
  }
  if (reader_.joinable()) reader_.join();
}

void ParseStage::Start() {
  if (inputs_->kafka() != nullptr) {
    reader_ = std::thread([this] { KafkaReader(); });
  } else if (!lanes_read_) {
    reader_ = std::thread([this] { FileReader(); });
  }
  for (int l = 0; l < lanes_; ++l) lane_threads_.emplace_back([this, l] { Lane(l); });
}

void ParseStage::KafkaReader() {
  pthread_setname_np(pthread_self(), "sp-reader");
  KafkaSource* kafka = inputs_->kafka();
  // Poll until the source is finished (exit-at-end or a stop request).
  const std::function<Batch*()> get = [&] {
    Batch* b = free_.Pop();
    b->ResetForReader();
    b->input = 0;
    b->wall_now = WallNowNs();
    return b;
  };
  // A short wait is ordinary backpressure (lanes busy); only a pipeline full for half a
  // second pauses the partitions (a pause makes librdkafka drop and fetch again).
  const std::function<Batch*()> try_get = [&]() -> Batch* {
    Batch* b = free_.PopFor(500'000);
    if (b != nullptr) {
      b->ResetForReader();
      b->input = 0;
      b->wall_now = WallNowNs();
    }
    return b;
  };
  const std::function<void(Batch*)> put = [&](Batch* b) {
    b->seq = next_seq_id_.fetch_add(1);
    work_.Push(b);
  };
  auto last_publish = std::chrono::steady_clock::now();
  while (kafka->Poll(get, try_get, put, stop_ != nullptr && stop_->load(std::memory_order_relaxed))) {
    if (std::chrono::steady_clock::now() - last_publish > std::chrono::milliseconds(500)) {
      gauges_->Publish();
      last_publish = std::chrono::steady_clock::now();
    }
  }
  gauges_->Publish();
  for (int l = 0; l < lanes_; ++l) work_.Push(nullptr);
  // The group must keep this consumer until the last commit: the sinks may take a while to
  // deliver (max.poll.interval.ms would otherwise expire and the commit be refused).
  reader_cpu_.Add(ThreadCpuSeconds());  // the poll loop; what follows is waiting
  while (!kafka->final_commit_done()) kafka->KeepAlive();
}

void ParseStage::FileReader() {
  pthread_setname_np(pthread_self(), "sp-reader");
  while (Batch* b = inputs_->ReadNext(free_, stop_)) work_.Push(b);
  for (int l = 0; l < lanes_; ++l) work_.Push(nullptr);
  reader_cpu_.Add(ThreadCpuSeconds());
}

void ParseStage::Lane(int l) {
  pthread_setname_np(pthread_self(), ("sp-lane-" + std::to_string(l)).c_str());
  ParseLane lane(l, inputs_->formats(), lane_options_);
  while (Batch* b = lanes_read_ ? inputs_->ReadNext(free_, stop_) : work_.Pop()) {
    lane.Process(b);
    done_.Push(b);
  }
  lanes_cpu_.Add(ThreadCpuSeconds());
  done_.Push(nullptr);
}

void ParseStage::JoinLanes() {
  for (std::thread& t : lane_threads_) t.join();
  lane_threads_.clear();
}

void ParseStage::JoinReader() {
  if (reader_.joinable()) reader_.join();
}

}  // namespace sitepulse
