#include "app/pipeline.h"

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <thread>

#include "core/strings.h"
#include "app/parse_lane.h"
#include "core/batch_queue.h"
#include "core/json_writer.h"
#include "core/status_macros.h"
#include "ingest/file_source.h"
#include "sinks/anomaly_sink.h"
#include "sinks/dead_letter_sink.h"
#include "sinks/stats_sink.h"

namespace sitepulse {

std::string RunSummary::ToJson() const {
  std::string reasons;
  JsonObjectWriter rw(&reasons);
  for (int i = 0; i < kNumRejectReasons; ++i) {
    if (rejected_by_reason[i] > 0) {
      rw.Uint(RejectReasonName(static_cast<RejectReason>(i)), rejected_by_reason[i]);
    }
  }
  rw.Close();
  std::string out;
  JsonObjectWriter w(&out);
  w.Uint("lines", lines)
      .Uint("parsed", parsed)
      .Uint("rejected", rejected)
      .Raw("rejected_by_reason", reasons)
      .Uint("late", late)
      .Uint("anomalies", anomalies)
      .Uint("firing", firing)
      .Uint("resolved", resolved)
      .Uint("sites", sites)
      .Uint("sites_over_cap", sites_over_cap)
      .Uint("buckets", buckets)
      .Uint("bytes", bytes)
      .Uint("dead_letters", dead_letters)
      .Uint("sink_errors", sink_errors)
      .Uint("input_errors", input_errors)
      .Int("threads", threads)
      .Number("seconds", seconds)
      .Number("lines_per_s", seconds > 0 ? static_cast<double>(lines) / seconds : 0)
      .Number("mb_per_s", seconds > 0 ? static_cast<double>(bytes) / 1e6 / seconds : 0);
  w.Close();
  return out;
}

namespace {

// Receives what the engine produces and hands it to the sinks; counts on the way.
class SinkFanout : public WindowEngineListener {
 public:
  void OnBucketClosed(const ClosedBucketView& bucket) override {
    if (stats) stats->Write(bucket);
  }
  void OnAnomaly(const Anomaly& anomaly) override {
    if (anomaly.state == AlertState::kFiring) ++summary->firing;
    if (anomaly.state == AlertState::kResolved) ++summary->resolved;
    for (auto& sink : outputs) sink->Publish(anomaly);
  }
  std::vector<std::unique_ptr<AnomalySink>> outputs;
  std::unique_ptr<StatsSink> stats;
  RunSummary* summary = nullptr;
};

}  // namespace

absl::StatusOr<RunSummary> RunPipeline(const PipelineOptions& options, std::atomic<bool>* stop) {
  const auto t0 = std::chrono::steady_clock::now();
  RunSummary summary;
  summary.threads = options.threads;

  // Open everything first: a typo in a path fails before any work is done.
  FileSource::Options source_options;
  source_options.batch_bytes = options.batch_bytes;
  source_options.max_line_bytes = options.max_line_bytes;
  std::vector<std::unique_ptr<FileSource>> sources;
  std::vector<FormatSpec> formats;
  for (const PipelineInput& in : options.inputs) {
    if (in.uri.scheme != "file" && in.uri.scheme != "stdin") {
      return absl::UnimplementedError(StrCat(
          "input '", in.uri.ToString(), "': scheme '", in.uri.scheme,
          "' is not supported by this build (use file:PATH, a path, or - for stdin)"));
    }
    SP_ASSIGN_OR_RETURN(auto src,
                        FileSource::Open(in.uri.scheme == "stdin" ? "-" : in.uri.target,
                                         source_options));
    sources.push_back(std::move(src));
    formats.push_back(in.format);
  }
  SinkFanout fanout;
  fanout.summary = &summary;
  for (const Uri& u : options.outputs) {
    SP_ASSIGN_OR_RETURN(auto sink, MakeAnomalySink(u));
    fanout.outputs.push_back(std::move(sink));
  }
  if (options.stats) {
    SP_ASSIGN_OR_RETURN(auto w, JsonlWriter::Open(*options.stats));
    fanout.stats = std::make_unique<StatsSink>(std::move(w));
  }
  std::unique_ptr<DeadLetterSink> dlq;
  if (options.dlq) {
    SP_ASSIGN_OR_RETURN(auto w, JsonlWriter::Open(*options.dlq));
    dlq = std::make_unique<DeadLetterSink>(std::move(w));
  }

  WindowEngine engine(options.engine, &fanout);
  std::vector<int> partition_of_input;
  for (size_t i = 0; i < sources.size(); ++i) partition_of_input.push_back(engine.AddPartition());

  // The batch pool bounds memory and gives backpressure: two batches per lane in flight, plus
  // one being read and one being applied.
  const int lanes = std::max(1, options.threads);
  const size_t pool_size = static_cast<size_t>(2 * lanes + 2);
  std::vector<std::unique_ptr<Batch>> pool;
  BatchQueue<Batch> free_batches(pool_size), work(pool_size + lanes), done(pool_size + lanes);
  for (size_t i = 0; i < pool_size; ++i) {
    pool.push_back(std::make_unique<Batch>());
    free_batches.Push(pool.back().get());
  }

  ParseLane::Options lane_options;
  lane_options.resolution = options.engine.resolution;
  lane_options.max_line_bytes = options.max_line_bytes;
  lane_options.max_sites = options.engine.max_sites;
  lane_options.sketch_alpha = options.engine.sketch_alpha;

  std::vector<std::thread> threads;
  threads.emplace_back([&] {
    // Reader: round-robin over inputs, one batch each, so event time advances together.
    uint64_t seq = 0;
    std::vector<size_t> active;
    for (size_t i = 0; i < sources.size(); ++i) active.push_back(i);
    while (!active.empty()) {
      for (size_t k = 0; k < active.size();) {
        const size_t i = active[k];
        Batch* b = free_batches.Pop();
        b->ResetForReader();
        b->input = static_cast<int>(i);
        b->seq = seq++;
        const bool stopping = stop != nullptr && stop->load(std::memory_order_relaxed);
        if (stopping || !sources[i]->Next(b)) {
          b->size = 0;
          b->end_of_input = true;
        }
        const bool ended = b->end_of_input;
        work.Push(b);
        if (ended) {
          active.erase(active.begin() + static_cast<std::ptrdiff_t>(k));
        } else {
          ++k;
        }
      }
    }
    for (int l = 0; l < lanes; ++l) work.Push(nullptr);
  });
  for (int l = 0; l < lanes; ++l) {
    threads.emplace_back([&, l] {
      ParseLane lane(l, formats, lane_options);
      while (Batch* b = work.Pop()) {
        lane.Process(b);
        done.Push(b);
      }
      done.Push(nullptr);
    });
  }

  // Coordinator: apply batches strictly in sequence order.
  std::vector<std::vector<uint32_t>> site_of_lane(static_cast<size_t>(lanes));
  std::vector<uint64_t> lines_before(sources.size(), 0);
  std::map<uint64_t, Batch*> pending;
  uint64_t next_seq = 0;
  int lanes_done = 0;
  while (lanes_done < lanes || !pending.empty()) {
    if (lanes_done < lanes) {
      Batch* b = done.Pop();
      if (b == nullptr) {
        ++lanes_done;
        continue;
      }
      pending.emplace(b->seq, b);
    }
    while (!pending.empty() && pending.begin()->first == next_seq) {
      Batch* b = pending.begin()->second;
      pending.erase(pending.begin());
      ++next_seq;
      const size_t in = static_cast<size_t>(b->input);
      auto& mapping = site_of_lane[static_cast<size_t>(b->lane)];
      for (const std::string& name : b->new_sites) mapping.push_back(engine.InternSite(name));

      summary.lines += b->lines + b->oversized.size();
      summary.parsed += b->parsed;
      summary.bytes += b->size;
      for (int r = 0; r < kNumRejectReasons; ++r) {
        summary.rejected_by_reason[r] += b->rejected_by_reason[r];
        summary.rejected += b->rejected_by_reason[r];
      }
      summary.rejected_by_reason[static_cast<int>(RejectReason::kLineTooLong)] += b->oversized.size();
      summary.rejected += b->oversized.size();
      const std::string& source = sources[in]->name();
      if (dlq) {
        for (const RejectedLine& r : b->rejects) {
          dlq->Write({r.reason, source, lines_before[in] + r.line_index + 1,
                      b->input_offset + r.offset, r.length,
                      std::string_view(b->data.data() + r.offset, r.length)});
        }
        for (size_t k = 0; k < b->oversized.size(); ++k) {
          const OversizedLine& o = b->oversized[k];
          dlq->Write({RejectReason::kLineTooLong, source, lines_before[in] + b->lines + k + 1,
                      o.offset, o.length, o.head});
        }
      }
      summary.dead_letters += dlq ? b->rejects.size() + b->oversized.size() : 0;
      for (const OversizedLine& o : b->oversized) summary.bytes += o.length;
      lines_before[in] += b->lines + b->oversized.size();

      engine.Apply(b->delta, mapping, partition_of_input[in]);
      if (b->end_of_input) {
        if (!sources[in]->error().empty()) {
          ++summary.input_errors;
          std::fprintf(stderr, "sitepulse: %s\n", sources[in]->error().c_str());
        }
        engine.EndPartition(partition_of_input[in]);
      }
      free_batches.Push(b);
    }
  }
  for (auto& t : threads) t.join();

  for (auto& sink : fanout.outputs) {
    if (!sink->Flush()) {
      ++summary.sink_errors;
      std::fprintf(stderr, "sitepulse: writing anomalies to %s failed\n", sink->name().c_str());
    }
  }
  if (fanout.stats && !fanout.stats->Flush()) ++summary.sink_errors;
  if (dlq && !dlq->Flush()) ++summary.sink_errors;

  summary.late = engine.late_events();
  summary.anomalies = engine.anomalies();
  summary.sites = engine.site_count();
  summary.sites_over_cap = engine.sites_over_cap();
  summary.buckets = engine.buckets_closed();
  summary.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return summary;
}

}  // namespace sitepulse
