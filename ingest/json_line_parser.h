// JSON access and error log lines through simdjson On-Demand. The field paths of a FormatSpec are
// compiled once into a small key tree; each line is then one pass over its top-level object (and
// the nested objects on a path), touching only the values it needs. No allocation per line.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/record.h"
#include "ingest/json_shape_scanner.h"
#include "ingest/format.h"
#include "simdjson.h"

namespace sitepulse {

class JsonLineParser {
 public:
  explicit JsonLineParser(const FormatSpec& format);

  // `line` is not NUL-terminated; `capacity` bytes from `line` are readable and capacity >= len +
  // SIMDJSON_PADDING. Returns RejectReason::kCount on success.
  RejectReason Parse(const char* line, size_t len, size_t capacity, ParsedRecord* out);

 private:
  enum Field { kSite, kTime, kStatus, kLatency, kBytes, kLevel, kMessage, kNumFields };
  struct Level;
  struct Node {
    std::string key;
    int field = -1;     // leaf: which field; -1: a branch into a nested object
    int priority = 0;   // leaf: position among the field's alternatives (lower wins)
    std::unique_ptr<Level> children;
  };
  // The keys wanted at one nesting level, indexed by their first byte, so that matching a key of
  // the line costs one table lookup and a short compare with the one to four candidates that
  // share its first byte, whatever the number of alternatives.
  struct Level {
    std::vector<Node> nodes;
    std::vector<uint8_t> by_first[256];
  };
  void AddPath(int field, int priority, const std::string& path);
  static void Index(Level* level);
  RejectReason Walk(simdjson::ondemand::object& obj, const Level& level);
  RejectReason Finish(ParsedRecord* out);
  // The fast path (JsonShapeScanner): true if the line was parsed and accepted; false leaves the
  // verdict to simdjson.
  bool ParseFast(const char* line, size_t len, ParsedRecord* out);
  struct ScanVisitor;
  bool TakeScalar(const Node& leaf, const ScalarValue& value, ParsedRecord* rec);
  // One field's conversion, for a value known to feed field F.
  template <int F>
  bool TakeScalarField(const ScalarValue& value, ParsedRecord* rec);
  // A line that matched learned shape `shape`: each field from its slot, in a fixed order.
  bool TakeLearned(int shape, const ScalarValue* values, ParsedRecord* out);
  RejectReason TakeValue(const Node& leaf, simdjson::ondemand::value& value,
                         simdjson::ondemand::json_type type);
  // A string value's bytes without unescaping; false if it is not a string or holds escapes.
  bool RawString(simdjson::ondemand::value& value, std::string_view* out) const;

  FormatSpec format_;
  Level root_;
  simdjson::ondemand::parser parser_;
  JsonShapeScanner shapes_;
  // Per learned shape and field: the shape's value (slot) it is read from, the best alternative
  // the shape has (-1: none). A line that matches a shape has the same keys in the same places,
  // so which value feeds which field is decided once per shape, not per line.
  int shape_slot_[JsonShapeScanner::kMaxShapes][kNumFields];
  ScalarValue shape_values_[JsonShapeScanner::kMaxMembers];  // the values of the line matched
  const Node* scan_leaves_[JsonShapeScanner::kMaxMembers] = {};  // per scalar of the line scanned
  int fast_misses_ = 0;  // consecutive lines the fast scanner could not take
  int fast_skip_ = 0;    // lines to go straight to simdjson
  int unmatched_ = 0;    // consecutive lines the fast path took that matched no learned shape
  DateCache date_cache_;
  // Per-line state.
  int found_[kNumFields];
  const Node* leaf_seen_[kNumFields] = {};  // the leaf found_ was set from (valid with it)
  ParsedRecord* rec_ = nullptr;
};

}  // namespace sitepulse
