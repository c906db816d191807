// JSON access and error log lines through simdjson On-Demand. The field paths of a FormatSpec are
// compiled once into a small key tree; each line is then one pass over its top-level object (and
// the nested objects on a path), touching only the values it needs. No allocation per line.
#pragma once

#include <string>
#include <vector>

#include "core/record.h"
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
  enum Field { kSite, kTime, kStatus, kLatency, kBytes, kLevel, kNumFields };
  struct Node {
    std::string key;
    int field = -1;     // leaf: which field
    int priority = 0;   // leaf: position among the field's alternatives (lower wins)
    std::vector<Node> children;
  };
  void AddPath(int field, int priority, const std::string& path);
  RejectReason Walk(simdjson::ondemand::object& obj, const std::vector<Node>& nodes);
  RejectReason TakeValue(const Node& leaf, simdjson::ondemand::value value);

  FormatSpec format_;
  std::vector<Node> root_;
  simdjson::ondemand::parser parser_;
  // Per-line state.
  int found_[kNumFields];
  ParsedRecord* rec_ = nullptr;
};

}  // namespace sitepulse
