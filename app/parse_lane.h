// A parse lane: turns a batch of raw lines into a BucketDelta (records folded per site and
// bucket, one sketch bin per latency sample) plus the batch's rejects. Lanes share nothing: each
// has its own parsers (simdjson parser included) and its own site-name table; the coordinator
// maps lane site ids to engine ids. Nothing here allocates per line once warm.
//
// Threading: one lane per thread; Process() is called for one batch at a time.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "app/time_gate.h"
#include "detect/latency_sketch.h"
#include "ingest/batch.h"
#include "ingest/format.h"
#include "ingest/line_parser.h"

namespace sitepulse {

class ParseLane {
 public:
  struct Options {
    DurationNs resolution = 10 * kNanosPerSecond;
    size_t max_line_bytes = 1 << 20;
    size_t max_sites = 10000;
    double sketch_alpha = 0.01;
    // new_error_template detectors are configured: template the messages of error-log lines
    // at this level and above (the lowest min_level among them).
    bool error_templates = false;
    LogLevel template_min_level = LogLevel::kError;
    // Event time (TimeGate): lines late against the batch's earlier lines are dropped here; a
    // line more than max_jump past them marks the batch for the gate.
    DurationNs lateness = 30 * kNanosPerSecond;
    DurationNs max_jump = 3600 * kNanosPerSecond;
    // Live inputs: a line further ahead of the wall clock than this is future_time.
    DurationNs max_clock_skew = 300 * kNanosPerSecond;
    // Stage 2 of a two-stage run: the messages are partial records, which the coordinator
    // reads; the lane leaves them alone.
    bool partials = false;
  };
  ParseLane(int id, const std::vector<FormatSpec>& input_formats, const Options& options);

  // Without a gate: the lane's own view of event time (exact when the coordinator then finds
  // the batch needs no gate). With one: every line is judged by the input's gate in order;
  // line_base is the number of the input's lines before this batch (for held lines' numbers).
  void Process(Batch* batch, TimeGate* gate = nullptr, uint64_t line_base = 0);

 private:
  // [buf, buf_end): the readable buffer the name lies in, if it does.
  uint32_t InternSite(std::string_view name, const char* buf, const char* buf_end, Batch* batch);
  uint32_t InternSiteSlow(std::string_view name, Batch* batch);
  // Parses one line and folds it into the batch. `capacity`: readable bytes from `line`.
  void HandleLine(Batch* batch, LineParser& parser, const char* line, size_t len, size_t capacity,
                  uint32_t offset, uint32_t message);
  void ProcessData(Batch* batch, LineParser& parser);
  void ProcessMessages(Batch* batch, LineParser& parser);
  // rec_ is a parsed line (site interned): count it, then fold it or count it late.
  // Inlined into HandleLine: they run for every line.
  [[gnu::always_inline]] inline void Take(Batch* batch, uint32_t site, bool late);
  [[gnu::always_inline]] inline void Fold(Batch* batch, uint32_t site);
  // Folds what the gate released and dead-letters what it rejected.
  void DrainGate(Batch* batch, LineParser& parser);
  // Sends the template of rec_'s message with the batch, the first time this lane sees it for
  // the site and level.
  void NoteTemplate(Batch* batch, uint32_t site, EventTime bucket_start);

  int id_;
  Options options_;
  SketchMapping mapping_;
  std::vector<std::unique_ptr<LineParser>> parsers_;  // one per input
  absl::flat_hash_map<std::string, uint32_t> sites_;
  // A direct-mapped cache in front of sites_ for names of at most 24 bytes, which its three
  // words hold exactly: a hit costs three loads and compares instead of a string hash.
  struct SiteCacheEntry {
    uint64_t w[3];
    uint32_t len = UINT32_MAX;  // UINT32_MAX: empty
    uint32_t id = 0;
  };
  static constexpr size_t kSiteCacheSize = 4096;
  std::vector<SiteCacheEntry> site_cache_ = std::vector<SiteCacheEntry>(kSiteCacheSize);
  absl::flat_hash_map<std::string, uint32_t> overflow_;  // this batch's names past max_sites
  uint32_t next_id_ = 0;
  absl::flat_hash_map<uint64_t, uint32_t> entries_;  // (site, bucket) -> entry, per batch
  struct SiteEntry {
    uint64_t batch = 0;  // batch_serial_ when written (0: never)
    EventTime bucket = 0;
    uint32_t entry = 0;
  };
  std::vector<SiteEntry> site_entry_;  // by lane site id: its entry of the current batch
  uint64_t batch_serial_ = 0;
  EventTime bucket_ = 0;     // the bucket of the last line, and its start (they always agree;
  EventTime bucket_lo_ = 0;  // times are plausible, so bucket_lo_ + resolution cannot overflow)
  uint64_t last_key_ = UINT64_MAX;
  uint32_t last_entry_ = 0;
  uint32_t line_index_ = 0;
  EventTime newest_bucket_ = INT64_MIN;  // of the current batch, for Kafka commit points
  ParsedRecord rec_;
  TimeGate* gate_ = nullptr;
  std::vector<std::string> default_sites_;  // per input: the site of lines that name none
  const std::string* default_site_ = nullptr;
  uint64_t line_base_ = 0;
  EventTime batch_max_ = INT64_MIN;  // newest accepted time of the batch (no gate)
  std::string scratch_;  // a padded copy of a message that ends too close to a page boundary
  // (site, level, template, bucket) keys already sent, with the sighting sent; cleared when it
  // reaches kMaxTemplatesSent (the engine keeps the earliest sighting and ignores templates
  // it knows, so a resend costs only the send).
  struct SentSighting {
    EventTime time;
    uint64_t rank;
  };
  absl::flat_hash_map<uint64_t, SentSighting> templates_sent_;
  static constexpr size_t kMaxTemplatesSent = 1 << 20;
  std::string template_;
};

}  // namespace sitepulse
