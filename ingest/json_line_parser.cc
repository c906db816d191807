#include "ingest/json_line_parser.h"

#include <climits>

#include "absl/strings/str_split.h"
#include "ingest/field_values.h"

namespace sitepulse {

using simdjson::SUCCESS;
namespace od = simdjson::ondemand;

JsonLineParser::JsonLineParser(const FormatSpec& format) : format_(format) {
  auto add_all = [this](int field, const std::vector<std::string>& paths) {
    for (size_t i = 0; i < paths.size(); ++i) AddPath(field, static_cast<int>(i), paths[i]);
  };
  add_all(kSite, format_.site_paths);
  add_all(kTime, format_.time_paths);
  add_all(kStatus, format_.status_paths);
  add_all(kLatency, format_.latency_paths);
  add_all(kBytes, format_.bytes_paths);
  add_all(kLevel, format_.level_paths);
}

void JsonLineParser::AddPath(int field, int priority, const std::string& path) {
  // The flat key ("http.response.status_code" as one key) ...
  root_.push_back(Node{path, field, priority, {}});
  // ... and the nested path, when dotted.
  std::vector<std::string> parts = absl::StrSplit(path, '.');
  if (parts.size() < 2) return;
  std::vector<Node>* level = &root_;
  for (size_t i = 0; i < parts.size(); ++i) {
    const bool leaf = i + 1 == parts.size();
    Node* found = nullptr;
    for (Node& n : *level) {
      if (n.key == parts[i] && n.field < 0 && !leaf) found = &n;
    }
    if (found == nullptr) {
      level->push_back(Node{parts[i], leaf ? field : -1, priority, {}});
      found = &level->back();
    }
    level = &found->children;
  }
}

RejectReason JsonLineParser::Parse(const char* line, size_t len, size_t capacity,
                                   ParsedRecord* out) {
  od::document doc;
  const auto err = parser_.iterate(line, len, capacity).get(doc);
  if (err != SUCCESS) {
    return err == simdjson::UTF8_ERROR ? RejectReason::kInvalidUtf8 : RejectReason::kMalformedJson;
  }
  od::object obj;
  if (doc.get_object().get(obj) != SUCCESS) return RejectReason::kMalformedJson;
  for (int& f : found_) f = INT_MAX;
  *out = ParsedRecord{};
  out->kind = format_.kind;
  rec_ = out;
  if (const RejectReason r = Walk(obj, root_); r != RejectReason::kCount) return r;
  // Trailing content after the object ("{...} garbage"): the iterator is not at the end.
  if (const char* loc; doc.current_location().get(loc) == SUCCESS) {
    return RejectReason::kMalformedJson;
  }

  if (found_[kSite] == INT_MAX) {
    if (format_.default_site.empty()) return RejectReason::kMissingSite;
    out->site = format_.default_site;
  }
  if (found_[kTime] == INT_MAX) return RejectReason::kMissingTime;
  if (format_.kind == RecordKind::kError) {
    if (found_[kLevel] == INT_MAX) return RejectReason::kMissingLevel;
    return RejectReason::kCount;
  }
  if (found_[kStatus] == INT_MAX) return RejectReason::kMissingStatus;
  if (found_[kLatency] == INT_MAX && !format_.latency_paths.empty() && format_.latency_required) {
    return RejectReason::kMissingLatency;
  }
  return RejectReason::kCount;
}

RejectReason JsonLineParser::Walk(od::object& obj, const std::vector<Node>& nodes) {
  for (auto field_result : obj) {
    od::field field;
    if (std::move(field_result).get(field) != SUCCESS) return RejectReason::kMalformedJson;
    const simdjson::ondemand::raw_json_string key = field.key();
    const Node* match = nullptr;
    for (const Node& n : nodes) {
      if (key.unsafe_is_equal(n.key)) {
        match = &n;
        // A flat leaf and a nested branch can share a key; prefer the shape of the value.
        if (n.field >= 0) break;
      }
    }
    if (match == nullptr) continue;  // the value is skipped by the iterator
    od::value value = field.value();
    od::json_type type;
    if (value.type().get(type) != SUCCESS) return RejectReason::kMalformedJson;
    if (type == od::json_type::object) {
      // Find the branch node for this key (the leaf one, if any, expects a scalar).
      const Node* branch = nullptr;
      for (const Node& n : nodes) {
        if (n.field < 0 && key.unsafe_is_equal(n.key)) branch = &n;
      }
      if (branch == nullptr) continue;
      od::object sub;
      if (value.get_object().get(sub) != SUCCESS) return RejectReason::kMalformedJson;
      if (const RejectReason r = Walk(sub, branch->children); r != RejectReason::kCount) return r;
      continue;
    }
    if (match->field < 0) continue;  // expected an object, got a scalar: not this path
    if (match->priority >= found_[match->field]) continue;
    if (type == od::json_type::null) continue;  // null is absent
    if (const RejectReason r = TakeValue(*match, value); r != RejectReason::kCount) return r;
  }
  return RejectReason::kCount;
}

RejectReason JsonLineParser::TakeValue(const Node& leaf, od::value value) {
  ParsedRecord* rec = rec_;
  od::json_type type;
  if (value.type().get(type) != SUCCESS) return RejectReason::kMalformedJson;
  switch (leaf.field) {
    case kSite: {
      std::string_view s;
      if (type != od::json_type::string || value.get_string().get(s) != SUCCESS ||
          !IsValidSite(s, format_.max_site_bytes)) {
        return RejectReason::kBadSite;
      }
      rec->site = s;
      break;
    }
    case kTime: {
      EventTime t;
      if (type == od::json_type::string) {
        std::string_view s;
        if (value.get_string().get(s) != SUCCESS || !ParseTimeString(s, format_.time_unit, &t)) {
          return RejectReason::kBadTime;
        }
      } else if (type == od::json_type::number) {
        od::number_type nt;
        if (value.get_number_type().get(nt) != SUCCESS) return RejectReason::kBadTime;
        if (nt == od::number_type::floating_point_number) {
          double d;
          if (value.get_double().get(d) != SUCCESS || !EpochToEventTime(d, format_.time_unit, &t)) {
            return RejectReason::kBadTime;
          }
        } else {
          int64_t i;
          if (value.get_int64().get(i) != SUCCESS || !EpochToEventTime(i, format_.time_unit, &t)) {
            return RejectReason::kBadTime;
          }
        }
      } else {
        return RejectReason::kBadTime;
      }
      if (!IsPlausibleEventTime(t)) return RejectReason::kBadTime;
      rec->time = t;
      break;
    }
    case kStatus: {
      uint16_t status;
      if (type == od::json_type::number) {
        uint64_t v;
        if (value.get_uint64().get(v) != SUCCESS || !StatusFromNumber(v, &status)) {
          return RejectReason::kBadStatus;
        }
      } else if (type == od::json_type::string) {
        std::string_view s;
        if (value.get_string().get(s) != SUCCESS || !StatusFromString(s, &status)) {
          return RejectReason::kBadStatus;
        }
      } else {
        return RejectReason::kBadStatus;
      }
      rec->status = status;
      break;
    }
    case kLatency: {
      double v;
      bool decimal_point = true;
      if (type == od::json_type::number) {
        od::number_type nt;
        if (value.get_number_type().get(nt) != SUCCESS) return RejectReason::kBadLatency;
        decimal_point = nt == od::number_type::floating_point_number;
        if (value.get_double().get(v) != SUCCESS) return RejectReason::kBadLatency;
      } else if (type == od::json_type::string) {
        std::string_view s;
        if (value.get_string().get(s) != SUCCESS) return RejectReason::kBadLatency;
        if (s == "-" || s.empty()) return RejectReason::kCount;  // nginx: no upstream, no value
        if (!DecimalFromString(s, &v)) return RejectReason::kBadLatency;
        decimal_point = s.find('.') != std::string_view::npos;
      } else {
        return RejectReason::kBadLatency;
      }
      if (!LatencyToSeconds(v, format_.latency_unit, decimal_point, &rec->latency_s)) {
        return RejectReason::kBadLatency;
      }
      rec->has_latency = true;
      break;
    }
    case kBytes: {
      uint64_t v = 0;
      if (type == od::json_type::number) {
        if (value.get_uint64().get(v) != SUCCESS) return RejectReason::kBadBytes;
      } else if (type == od::json_type::string) {
        std::string_view s;
        if (value.get_string().get(s) != SUCCESS) return RejectReason::kBadBytes;
        if (s != "-" && !UnsignedFromString(s, &v)) return RejectReason::kBadBytes;
      } else {
        return RejectReason::kBadBytes;
      }
      rec->bytes = v;
      break;
    }
    case kLevel: {
      if (type == od::json_type::string) {
        std::string_view s;
        if (value.get_string().get(s) != SUCCESS || !ParseLogLevel(s, &rec->level)) {
          return RejectReason::kBadLevel;
        }
      } else if (type == od::json_type::number) {
        // Syslog severities 0 (emerg) .. 7 (debug), or pino/bunyan levels 10 .. 60.
        uint64_t v;
        if (value.get_uint64().get(v) != SUCCESS) return RejectReason::kBadLevel;
        static constexpr LogLevel kSyslog[] = {LogLevel::kEmerg, LogLevel::kAlert, LogLevel::kCrit,
                                               LogLevel::kError, LogLevel::kWarn,  LogLevel::kNotice,
                                               LogLevel::kInfo,  LogLevel::kDebug};
        if (v <= 7) {
          rec->level = kSyslog[v];
        } else if (v >= 10 && v <= 60 && v % 10 == 0) {
          static constexpr LogLevel kPino[] = {LogLevel::kDebug, LogLevel::kDebug, LogLevel::kInfo,
                                               LogLevel::kWarn,  LogLevel::kError, LogLevel::kCrit};
          rec->level = kPino[v / 10 - 1];
        } else {
          return RejectReason::kBadLevel;
        }
      } else {
        return RejectReason::kBadLevel;
      }
      break;
    }
    default:
      break;
  }
  found_[leaf.field] = leaf.priority;
  return RejectReason::kCount;
}

}  // namespace sitepulse
