#include "ingest/json_line_parser.h"

#include <algorithm>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstring>

#include "absl/strings/str_split.h"
#include "ingest/field_values.h"
#include "ingest/json_shape_scanner.h"

namespace sitepulse {

using simdjson::SUCCESS;
namespace od = simdjson::ondemand;

namespace {

// A value's raw token: from its first byte to the next structural character, less the JSON
// whitespace before that character (simdjson knows both ends from stage 1: no scan).
std::string_view Token(od::value& value) {
  std::string_view token = value.raw_json_token();
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t' ||
                            token.back() == '\n' || token.back() == '\r')) {
    token.remove_suffix(1);
  }
  return token;
}

// A number value as a double. simdjson 3.0.1 (Debian 12's) misreads a number of more than 19
// digits whose integer part is 0 ("0.95000000000000000000" as 0.0277: simdjson#2093, fixed in
// 3.6.3), which the fast path reads right. Such a number, checked against JSON's grammar, is read
// from its text, correctly rounded, as the fast path reads it; shorter ones as before.
simdjson::error_code NumberAsDouble(od::value& value, double* out) {
  const std::string_view raw = Token(value);
  size_t digits = 0;
  for (const char c : raw) digits += c >= '0' && c <= '9';
  if (digits <= 19) return value.get_double().get(*out);
  const char* end = raw.data() + raw.size();
  if (raw.empty() || JsonShapeScanner::SkipNumber(raw.data(), end) != end) {
    return simdjson::NUMBER_ERROR;
  }
  const auto res = std::from_chars(raw.data(), end, *out);
  if (res.ec != std::errc() || res.ptr != end || !std::isfinite(*out)) return simdjson::NUMBER_ERROR;
  return simdjson::SUCCESS;
}

}  // namespace

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
  add_all(kMessage, format_.message_paths);
  if (root_.nodes.size() > 255) root_.nodes.resize(255);  // indexes are uint8_t
  Index(&root_);
}

void JsonLineParser::AddPath(int field, int priority, const std::string& path) {
  // The flat key ("http.response.status_code" as one key) ...
  root_.nodes.push_back(Node{path, field, priority, nullptr});
  // ... and the nested path, when dotted.
  std::vector<std::string> parts = absl::StrSplit(path, '.');
  if (parts.size() < 2) return;
  Level* level = &root_;
  for (size_t i = 0; i < parts.size(); ++i) {
    const bool leaf = i + 1 == parts.size();
    Node* found = nullptr;
    for (Node& n : level->nodes) {
      if (n.key == parts[i] && n.field < 0 && !leaf) found = &n;
    }
    if (found == nullptr) {
      level->nodes.push_back(Node{parts[i], leaf ? field : -1, priority,
                                  leaf ? nullptr : std::make_unique<Level>()});
      found = &level->nodes.back();
    }
    if (!leaf) level = found->children.get();
  }
}

void JsonLineParser::Index(Level* level) {
  for (auto& v : level->by_first) v.clear();
  for (size_t i = 0; i < level->nodes.size(); ++i) {
    const Node& n = level->nodes[i];
    if (n.key.empty()) continue;
    level->by_first[static_cast<unsigned char>(n.key[0])].push_back(static_cast<uint8_t>(i));
    if (n.children) Index(n.children.get());
  }
}

namespace {

// nginx writes "-" for a time it has no value for (no upstream); "" likewise.
bool IsNoLatency(const ScalarValue& v) {
  return v.type == ScalarValue::kString && (v.text.empty() || v.text == "-");
}

// True if the raw (still escaped) key at `raw` is exactly `key`. Reading key.size() + 1 bytes is
// safe: the line is followed by padding, and a shorter key ends in a quote that stops the loop.
inline bool KeyEquals(const char* raw, const std::string& key) {
  const size_t n = key.size();
  for (size_t i = 0; i < n; ++i) {
    if (raw[i] != key[i]) return false;
  }
  return raw[n] == '"';
}

// std::string == std::string_view without a call to memcmp: keys are short.
inline bool SameKey(const std::string& a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < b.size(); ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

}  // namespace

bool JsonLineParser::RawString(od::value& value, std::string_view* out) const {
  // The token runs from the opening quote to its closing one (Token); stage 1 guaranteed the
  // string is closed. Escapes stay escaped: the callers reject a backslash where it matters
  // (a site), and no number or time contains one.
  const std::string_view token = Token(value);
  if (token.size() < 2 || token.front() != '"' || token.back() != '"') return false;
  *out = token.substr(1, token.size() - 2);
  return true;
}

RejectReason JsonLineParser::Parse(const char* line, size_t len, size_t capacity,
                                   ParsedRecord* out) {
  // The fast path accepts only lines it is sure of; everything else, rejections included, is
  // decided by simdjson below. After lines it could not take it waits a while before trying
  // again.
  if (!format_.json_fast_path) {
    // simdjson alone
  } else if (fast_skip_ > 0) {
    --fast_skip_;
  } else if (capacity >= len + 32 && ParseFast(line, len, out)) {
    return RejectReason::kCount;
  }
  od::document doc;
  const auto err = parser_.iterate(line, len, capacity).get(doc);
  if (err != SUCCESS) {
    return err == simdjson::UTF8_ERROR ? RejectReason::kInvalidUtf8 : RejectReason::kMalformedJson;
  }
  od::object obj;
  if (doc.get_object().get(obj) != SUCCESS) return RejectReason::kMalformedJson;
  rec_ = out;
  // No shortcut past the walk: a lookup of the wanted keys alone (find_field_unordered) would
  // leave the framing after them unchecked, so a line's fate would depend on the line before
  // it, and simdjson 3.0 reaches undefined behaviour on some malformed objects there (both
  // found by fuzz/json_line_fuzz.cc).
  for (int& f : found_) f = INT_MAX;
  *out = ParsedRecord{};
  out->kind = format_.kind;
  const RejectReason walked = Walk(obj, root_);
  if (walked != RejectReason::kCount) return walked;
  // Trailing content after the object ("{...} garbage"): the iterator is not at the end.
  if (const char* loc; doc.current_location().get(loc) == SUCCESS) {
    return RejectReason::kMalformedJson;
  }
  return Finish(out);
}

// Feeds the scanner's values to the key tree: a stack of the levels the open objects are at
// (null where no configured path leads).
struct JsonLineParser::ScanVisitor {
  JsonLineParser* parser;
  ParsedRecord* out;
  const Level* stack[JsonShapeScanner::kMaxDepth];
  size_t depth = 1;
  // A configured branch met a scalar, or a field an array: the walk decides (as it has rules
  // for both), so the fast path leaves the line to it.
  bool gave_up = false;

  // The leaf and the branch named `key` at the innermost level, if any.
  void Find(std::string_view key, const Node** leaf, const Node** branch) const {
    *leaf = *branch = nullptr;
    const Level* level = stack[depth - 1];
    if (level == nullptr || key.empty()) return;
    for (uint8_t i : level->by_first[static_cast<unsigned char>(key[0])]) {
      const Node& n = level->nodes[i];
      if (SameKey(n.key, key)) (n.field >= 0 ? *leaf : *branch) = &n;
    }
  }
  bool Open(std::string_view key, bool array) {
    const Node *leaf, *branch;
    Find(key, &leaf, &branch);
    if (array && leaf != nullptr) gave_up = true;
    stack[depth++] = (!array && branch != nullptr) ? branch->children.get() : nullptr;
    return true;
  }
  void Close() { --depth; }
  bool Scalar(std::string_view key, const ScalarValue& value, size_t index) {
    const Node *leaf, *branch;
    Find(key, &leaf, &branch);
    if (branch != nullptr && (value.type == ScalarValue::kString || value.type == ScalarValue::kNumber)) {
      gave_up = true;
    }
    if (index < JsonShapeScanner::kMaxMembers) parser->scan_leaves_[index] = leaf;
    if (leaf == nullptr) return true;
    int* found = parser->found_;
    // A configured key twice: the walk decides (ambiguous_field).
    if (leaf->priority == found[leaf->field] && parser->leaf_seen_[leaf->field] == leaf) return false;
    if (leaf->priority >= found[leaf->field]) return true;
    if (value.type == ScalarValue::kNull) return true;  // null is absent
    return parser->TakeScalar(*leaf, value, out);
  }
};

bool JsonLineParser::ParseFast(const char* line, size_t len, ParsedRecord* out) {
  // A line shaped like one learned: only its values are looked at.
  int shape = -1;
  if (shapes_.MatchValues(line, len, shape_values_, &shape)) {
    unmatched_ = 0;
    out->Reset(format_.kind);
    if (TakeLearned(shape, shape_values_, out)) return true;
    // A value the learned conversions do not take: the walk below finds it again.
  }

  out->Reset(format_.kind);
  for (int& f : found_) f = INT_MAX;
  ScanVisitor visitor{this, out, {&root_}};
  const bool scanned = shapes_.Scan(line, len, visitor);
  if (!scanned || visitor.gave_up) {
    // Remember lines the scanner cannot take, so they do not pay for two parsers.
    if (!scanned && ++fast_misses_ >= 8) {
      fast_skip_ = 256;
      fast_misses_ = 0;
    }
    return false;
  }
  fast_misses_ = 0;
  if (Finish(out) != RejectReason::kCount) return false;
  if (shape >= 0) return true;  // its shape is learned already
  // Lines that each bring a new shape (a header name per request, a hostile client) pay for
  // trying every shape, walking and learning one more: more than simdjson costs. After 32 in a
  // row, the next 256 lines go straight to simdjson, as lines the scanner cannot take do.
  if (++unmatched_ >= 32) {
    unmatched_ = 0;
    fast_skip_ = 256;
  }
  // A shape and its slots change together, and only for a line that was accepted.
  const int learned = shapes_.Learn(line);
  if (learned >= 0) {
    int* slot = shape_slot_[learned];
    int best[kNumFields];
    for (int f = 0; f < kNumFields; ++f) {
      slot[f] = -1;
      best[f] = INT_MAX;
    }
    // The first value with the best priority wins, as in the walk (a later duplicate of the
    // same key is ignored there too).
    for (size_t i = 0; i < shapes_.num_slots(learned); ++i) {
      const Node* leaf = scan_leaves_[shapes_.slot_index(learned, i)];
      if (leaf == nullptr || leaf->priority >= best[leaf->field]) continue;
      best[leaf->field] = leaf->priority;
      slot[leaf->field] = static_cast<int>(i);
    }
  }
  return true;
}

bool JsonLineParser::TakeLearned(int shape, const ScalarValue* values, ParsedRecord* out) {
  // The learned line passed Finish with these keys, so every required field has a slot (or the
  // site a default); only the conversions can fail.
  const int* slot = shape_slot_[shape];
  if (slot[kSite] >= 0) {
    if (!TakeScalarField<kSite>(values[slot[kSite]], out)) return false;
  } else {
    out->site = format_.default_site;
  }
  if (slot[kTime] >= 0 && !TakeScalarField<kTime>(values[slot[kTime]], out)) return false;
  if (slot[kStatus] >= 0 && !TakeScalarField<kStatus>(values[slot[kStatus]], out)) return false;
  if (slot[kLatency] >= 0) {
    // "-" is no latency: another alternative may have one, or it is missing; the walk decides.
    const ScalarValue& v = values[slot[kLatency]];
    if (IsNoLatency(v) || !TakeScalarField<kLatency>(v, out)) return false;
  }
  if (slot[kBytes] >= 0 && !TakeScalarField<kBytes>(values[slot[kBytes]], out)) return false;
  if (slot[kLevel] >= 0 && !TakeScalarField<kLevel>(values[slot[kLevel]], out)) return false;
  if (slot[kMessage] >= 0 && !TakeScalarField<kMessage>(values[slot[kMessage]], out)) {
    return false;
  }
  return true;
}

template <int F>
bool JsonLineParser::TakeScalarField(const ScalarValue& value, ParsedRecord* rec) {
  // Only the forms that are certain; anything else returns false and simdjson decides.
  const bool is_string = value.type == ScalarValue::kString;
  const bool is_number = value.type == ScalarValue::kNumber;
  const std::string_view s = value.text;
  // simdjson reads "1e3" as a floating-point number; leave exponents to it.
  if (is_number) {
    for (char c : s) {
      if ((c | 0x20) == 'e') return false;
    }
  }
  if constexpr (F == kSite) {
    // Index() already ruled out control characters in the line, and quotes are escaped:
    // what IsValidSite adds is spaces, DEL and escapes.
    if (!is_string || !IsValidFlatSite(s, format_.max_site_bytes)) return false;
    if (shapes_.had_escapes() && s.find('\\') != std::string_view::npos) return false;
    rec->site = s;
  } else if constexpr (F == kTime) {
    EventTime t;
    if (is_string) {
      if (!ParseTimeString(s, format_.time_unit, &t, &date_cache_)) return false;
    } else if (is_number) {
      uint64_t u;
      double d;
      if (UnsignedFromString(s, &u)) {
        if (u > static_cast<uint64_t>(INT64_MAX) ||
            !EpochToEventTime(static_cast<int64_t>(u), format_.time_unit, &t)) {
          return false;
        }
      } else if (!DecimalFromString(s, &d) || !EpochToEventTime(d, format_.time_unit, &t)) {
        return false;
      }
    } else {
      return false;
    }
    if (!IsPlausibleEventTime(t)) return false;
    rec->time = t;
  } else if constexpr (F == kStatus) {
    if (!is_string && !is_number) return false;
    if (s.size() == 3) {  // the usual: three digits, no loop
      const unsigned d0 = static_cast<unsigned char>(s[0]) - '0';
      const unsigned d1 = static_cast<unsigned char>(s[1]) - '0';
      const unsigned d2 = static_cast<unsigned char>(s[2]) - '0';
      if (d0 < 1 || d0 > 5 || d1 > 9 || d2 > 9) return false;  // 100..599
      rec->status = static_cast<uint16_t>(d0 * 100 + d1 * 10 + d2);
    } else {
      uint64_t v;
      if (!UnsignedFromString(s, &v) || !StatusFromNumber(v, &rec->status)) return false;
    }
  } else if constexpr (F == kLatency) {
    if (!is_string && !is_number) return false;
    double v;
    bool decimal_point;
    // The line is padded (ParseFast runs only then): the value's bytes can be read 8 at a time.
    if (!DecimalFromPadded(s, &v, &decimal_point)) return false;
    if (!LatencyToSeconds(v, format_.latency_unit, decimal_point, &rec->latency_s)) return false;
    rec->has_latency = true;
  } else if constexpr (F == kBytes) {
    uint64_t v = 0;
    if (!is_string && !is_number) return false;
    if (!(is_string && s == "-") && !UnsignedFromPadded(s, &v)) return false;
    rec->bytes = v;
  } else if constexpr (F == kLevel) {
    if (!is_string || !ParseLogLevel(s, &rec->level)) return false;
  } else if constexpr (F == kMessage) {
    if (is_string) rec->message = s;  // optional: another type is no message, not an error
  }
  return true;
}

bool JsonLineParser::TakeScalar(const Node& leaf, const ScalarValue& value, ParsedRecord* rec) {
  bool ok = false;
  switch (leaf.field) {
    case kSite: ok = TakeScalarField<kSite>(value, rec); break;
    case kTime: ok = TakeScalarField<kTime>(value, rec); break;
    case kStatus: ok = TakeScalarField<kStatus>(value, rec); break;
    case kLatency:
      if (IsNoLatency(value)) return true;  // absent: the field stays unfound
      ok = TakeScalarField<kLatency>(value, rec);
      break;
    case kBytes: ok = TakeScalarField<kBytes>(value, rec); break;
    case kLevel: ok = TakeScalarField<kLevel>(value, rec); break;
    case kMessage:
      // A message that is not a string is no message: the field stays unfound.
      if (value.type != ScalarValue::kString) return true;
      ok = TakeScalarField<kMessage>(value, rec);
      break;
    default: return true;
  }
  if (ok) {
    found_[leaf.field] = leaf.priority;
    leaf_seen_[leaf.field] = &leaf;
  }
  return ok;
}

RejectReason JsonLineParser::Finish(ParsedRecord* out) {
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

RejectReason JsonLineParser::Walk(od::object& obj, const Level& level) {
  for (auto field_result : obj) {
    od::field field;
    if (std::move(field_result).get(field) != SUCCESS) return RejectReason::kMalformedJson;
    const char* key = field.key().raw();
    const Node* leaf = nullptr;
    const Node* branch = nullptr;
    for (uint8_t i : level.by_first[static_cast<unsigned char>(key[0])]) {
      const Node& n = level.nodes[i];
      if (KeyEquals(key, n.key)) (n.field >= 0 ? leaf : branch) = &n;
    }
    if (leaf == nullptr && branch == nullptr) continue;  // the iterator skips the value
    od::value value = field.value();
    od::json_type type;
    if (value.type().get(type) != SUCCESS) return RejectReason::kMalformedJson;
    if (type == od::json_type::object) {
      if (branch == nullptr) continue;
      od::object sub;
      if (value.get_object().get(sub) != SUCCESS) return RejectReason::kMalformedJson;
      if (const RejectReason r = Walk(sub, *branch->children); r != RejectReason::kCount) return r;
      continue;
    }
    if (leaf == nullptr) continue;
    // The same key twice in one object: which one the server meant is unknowable.
    if (leaf->priority == found_[leaf->field] && leaf_seen_[leaf->field] == leaf) {
      return RejectReason::kAmbiguousField;
    }
    if (leaf->priority >= found_[leaf->field]) continue;
    if (type == od::json_type::null) continue;  // null is absent
    if (const RejectReason r = TakeValue(*leaf, value, type); r != RejectReason::kCount) return r;
  }
  return RejectReason::kCount;
}

RejectReason JsonLineParser::TakeValue(const Node& leaf, od::value& value, od::json_type type) {
  ParsedRecord* rec = rec_;
  switch (leaf.field) {
    case kSite: {
      std::string_view s;
      if (type != od::json_type::string || !RawString(value, &s) ||
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
        if (!RawString(value, &s) || !ParseTimeString(s, format_.time_unit, &t, &date_cache_)) {
          return RejectReason::kBadTime;
        }
      } else if (type == od::json_type::number) {
        od::number_type nt;
        if (value.get_number_type().get(nt) != SUCCESS) return RejectReason::kBadTime;
        if (nt == od::number_type::floating_point_number) {
          double d;
          if (NumberAsDouble(value, &d) != SUCCESS || !EpochToEventTime(d, format_.time_unit, &t)) {
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
        if (!RawString(value, &s) || !StatusFromString(s, &status)) {
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
        if (NumberAsDouble(value, &v) != SUCCESS) return RejectReason::kBadLatency;
      } else if (type == od::json_type::string) {
        std::string_view s;
        if (!RawString(value, &s)) return RejectReason::kBadLatency;
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
      // Optional: an unusable value (1.5, -3, "abc", true) is counted and the request kept
      // without its bytes.
      uint64_t v = 0;
      bool ok;
      if (type == od::json_type::number) {
        ok = value.get_uint64().get(v) == SUCCESS;
      } else if (type == od::json_type::string) {
        std::string_view s;
        ok = RawString(value, &s) && (s == "-" || UnsignedFromString(s, &v));
      } else {
        ok = false;
      }
      rec->bytes = ok ? v : 0;
      rec->bad_bytes = !ok;
      break;
    }
    case kLevel: {
      if (type == od::json_type::string) {
        std::string_view s;
        if (!RawString(value, &s) || !ParseLogLevel(s, &rec->level)) {
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
    case kMessage: {
      // Optional: a message that is not a string is no message, not an error. Escapes stay
      // escaped (the template masks what varies either way).
      std::string_view s;
      if (type != od::json_type::string || !RawString(value, &s)) return RejectReason::kCount;
      rec->message = s;
      break;
    }
    default:
      break;
  }
  found_[leaf.field] = leaf.priority;
  leaf_seen_[leaf.field] = &leaf;
  return RejectReason::kCount;
}

}  // namespace sitepulse
