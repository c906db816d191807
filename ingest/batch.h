// A batch: one chunk of whole lines from one input, and what a parse lane made of it. Batches
// come from a fixed pool and are recycled, so their buffers and vectors stop allocating once
// warm. The reader fills the first half, a lane the second, the coordinator reads both.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/record.h"
#include "core/bucket_delta.h"
#include "simdjson.h"

namespace sitepulse {

// Lane site ids from this bit up name a site the lane did not store (its table was full): the
// name is the batch's overflow_names[id - kOverflowSite], for this batch only.
inline constexpr uint32_t kOverflowSite = 0x80000000u;

// A line longer than the whole batch buffer: the reader skips it and keeps its head for the DLQ.
struct OversizedLine {
  uint64_t offset = 0;  // in the input
  uint64_t length = 0;
  std::string head;
};

// A rejected line whose bytes the batch buffer no longer holds (a line the event-time gate held
// from an earlier batch): it carries them.
struct OwnedReject {
  RejectReason reason;
  uint64_t line = 0;    // 1-based in its input (0: Kafka)
  uint64_t offset = 0;  // in the input, or the Kafka message offset
  std::string bytes;
};

struct RejectedLine {
  RejectReason reason;
  uint32_t line_index;  // 0-based within the batch
  uint32_t offset;      // within the batch buffer, or within the message
  uint32_t length;
  uint32_t message = UINT32_MAX;  // Kafka: index into Batch::messages
};

// One Kafka message payload: a view into a librdkafka message the batch owns.
struct MessageView {
  const char* data = nullptr;
  size_t size = 0;
  int64_t offset = 0;
};

struct Batch {
  // kEof: the partition was read to its current end (it may now become idle). kRevoke: handed
  // over to another consumer (the source waits until the coordinator has handled it); kLost:
  // taken away without a hand-over (session or poll timeout).
  enum class Control { kNone, kAssign, kRevoke, kLost, kEnd, kTick, kEof };
  // Filled by the reader.
  uint64_t seq = 0;
  int input = 0;
  uint64_t input_offset = 0;  // byte offset of data[0] in the input
  std::vector<char> data;     // size() >= size + SIMDJSON_PADDING
  size_t size = 0;
  bool end_of_input = false;
  // Live inputs (stdin, pipes, Kafka): the wall clock when read, in ns since the epoch; a line
  // further ahead of it than event_time.max_clock_skew is rejected as future_time. 0: not live.
  int64_t wall_now = 0;
  std::vector<OversizedLine> oversized;  // lines that follow data's lines
  // Kafka: the messages of one partition, in offset order (data/size unused), or a control
  // batch telling the coordinator a partition was assigned, revoked, or read to its end.
  std::vector<MessageView> messages;
  std::vector<void*> owned;              // librdkafka messages, released on reuse
  void (*release)(void*) = nullptr;
  int partition = -1;                    // source-wide partition id; -1 for files
  Control control = Control::kNone;
  // kAssign: the partition's state left by its previous owner (EngineSet::Save: a
  // WindowEngine::SaveState snapshot),
  // or empty; state_error: it could not be read (the partition starts empty, from the commit).
  std::string state;
  int64_t state_offset = -1;  // the offset that state covers up to (reading starts there)
  bool state_error = false;
  // kAssign, stage 1 of a two-stage run: the metadata of the partition's committed offset.
  std::string commit_metadata;

  // Filled by the parse lane.
  int lane = 0;
  uint64_t lines = 0;
  uint64_t parsed = 0;
  uint64_t rejected_by_reason[kNumRejectReasons] = {};
  uint64_t bad_bytes_fields = 0;  // records kept without their unusable bytes value
  uint64_t latency_lines = 0;     // requests folded with a latency
  uint64_t access_lines = 0;      // requests folded
  uint64_t default_site_lines = 0;  // records named by the input's default site (no site field)
  std::vector<RejectedLine> rejects;
  std::vector<OwnedReject> owned_rejects;
  // Event time as the lane saw it without the input's history (TimeGate): the first accepted
  // line's time, lines dropped as late against earlier lines of the batch, and whether a line
  // jumped more than max_jump past its predecessors (then the coordinator judges the batch).
  EventTime first_time = INT64_MIN;
  bool needs_gate = false;
  std::vector<std::string> new_sites;  // names the lane assigned new lane ids to, in id order
  std::vector<std::string> overflow_names;  // names of ids kOverflowSite + i, this batch only
  BucketDelta delta;
  // Kafka: commit points, (offset after message i, newest bucket of messages 0..i), every few
  // hundred messages and at the end, so commits follow closed buckets closely.
  std::vector<std::pair<int64_t, EventTime>> checkpoints;

  void ResetForReader() {
    if (release != nullptr) {
      for (void* m : owned) release(m);
    }
    owned.clear();
    messages.clear();
    partition = -1;
    control = Control::kNone;
    state.clear();
    state_offset = -1;
    state_error = false;
    commit_metadata.clear();
    size = 0;
    end_of_input = false;
    oversized.clear();
    wall_now = 0;
    ResetForLane();
  }
  // What a lane writes, so that the coordinator can run a batch through a lane again.
  void ResetForLane() {
    lines = parsed = 0;
    bad_bytes_fields = latency_lines = access_lines = default_site_lines = 0;
    for (uint64_t& r : rejected_by_reason) r = 0;
    rejects.clear();
    owned_rejects.clear();
    first_time = INT64_MIN;
    needs_gate = false;
    new_sites.clear();
    overflow_names.clear();
    checkpoints.clear();
    delta.Clear();
  }
  ~Batch() {
    if (release != nullptr) {
      for (void* m : owned) release(m);
    }
  }
};

}  // namespace sitepulse
