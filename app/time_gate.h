// The event-time gate of one input: decides, line by line in input order, whether a parsed line
// is accepted, late, or held as a possible jump into the future, so that one line from a broken
// clock cannot move the input's event time (and with it the watermark) on its own.
//
// The rule (docs/formats.md, "Event time"), with M the newest accepted time of the input,
// J = event_time.max_jump and K = event_time.confirm_lines:
// - The first K lines of an input are held; M starts at the earliest of them within J of their
//   median, and they are then judged in order like every later line.
// - A line more than J ahead of M is held. K held lines, at least four times as many as the
//   accepted ones since the first was held, confirm the jump (a gap in a file, a replay of
//   another day): the held lines are accepted in order. K accepted lines first (the input
//   carried on where it was) reject the held ones as `future_time`; so does a clock broken on
//   half the lines, which never reaches four to one. A held
//   line that M comes within J of is accepted. At the end of the input, held lines are rejected.
// - Any other line is accepted, and is late when its bucket ends at or before M - lateness.
//
// Lateness is judged per line against the input's own M, so it never depends on where a batch
// boundary fell. A lane runs the same rule on a batch without knowing M (ParseLane), which is
// exact whenever the gate is steady and no line of the batch jumps; otherwise the coordinator
// runs the batch through the gate sequentially.
//
// Threading: owned by the coordinator; a ParseLane uses it while the coordinator waits.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "core/time.h"

namespace sitepulse {

struct TimeGateOptions {
  DurationNs max_jump = 3600 * kNanosPerSecond;
  uint32_t confirm_lines = 16;
  DurationNs lateness = 30 * kNanosPerSecond;
  DurationNs resolution = 10 * kNanosPerSecond;
};

// A line the gate holds: its bytes (padded for the parsers) and where it came from.
struct HeldLine {
  EventTime time = 0;
  bool late = false;  // a released line: judged late (counted, not folded)
  std::string bytes;  // the line, then SIMDJSON_PADDING zero bytes
  size_t length = 0;
  uint64_t line = 0;    // 1-based line number in its input (0 for Kafka)
  uint64_t offset = 0;  // byte offset in its input, or the Kafka message offset
};

class TimeGate {
 public:
  enum class Verdict { kAccept, kLate, kHold };
  explicit TimeGate(const TimeGateOptions& options) : options_(options) {}

  // The verdict for a line at time t. kHold: the caller hands the line to Hold(). kAccept and
  // kLate: M moved (if it did) before the call returned; the caller then drains Released() and
  // Rejected(), which hold lines decided by this one.
  Verdict Offer(EventTime t);
  void Hold(HeldLine line);
  // End of the input: lines still held are decided (a short input's first lines are accepted,
  // unconfirmed jumps rejected).
  void Finish();
  // Lines to fold now (in order), and lines rejected as future_time; the caller clears both.
  std::vector<HeldLine>& released() { return released_; }
  std::vector<HeldLine>& rejected() { return rejected_; }
  // Late verdict for an accepted line judged outside the gate (a released held line is never late).
  bool IsLate(EventTime t) const;

  // No held lines and M known: a batch whose lines never jump more than max_jump past their
  // predecessor (and whose first line is within max_jump of M) needs no gate.
  bool steady() const { return max_time_ != kNone && held_.empty(); }
  EventTime max_time() const { return max_time_; }
  // A batch that took the fast path accepted lines up to this time (or an input restored from
  // a snapshot knows its M): no lines need holding.
  void Advance(EventTime max_time);
  size_t held() const { return held_.size(); }
  // The smallest offset among held lines (Kafka: where a restart must read from to judge them
  // again); INT64_MAX when none is held.
  int64_t min_held_offset() const {
    int64_t m = INT64_MAX;
    for (const HeldLine& h : held_) m = std::min(m, static_cast<int64_t>(h.offset));
    return m;
  }
  const TimeGateOptions& options() const { return options_; }

  static constexpr EventTime kNone = INT64_MIN;

 private:
  void Accept(EventTime t);
  void StartFromHeld();
  void ReleaseWithinJump();

  TimeGateOptions options_;
  EventTime max_time_ = kNone;
  bool initial_ = true;  // the first confirm_lines lines are being collected
  std::vector<HeldLine> held_;
  uint32_t ahead_ = 0;   // held lines since the jump was first seen
  uint32_t behind_ = 0;  // accepted lines since then
  std::vector<HeldLine> released_, rejected_;
};

}  // namespace sitepulse
