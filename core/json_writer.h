// Appending JSON fragments to a std::string: every JSON-lines output of sitepulse (anomalies,
// stats, dead letters, the exit summary) is written with these, so escaping lives in one place.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sitepulse {

// Appends s as a quoted JSON string. Invalid UTF-8 and control bytes are escaped as \u00XX of the
// byte value, so raw binary input round-trips into valid JSON without loss of information.
void AppendJsonString(std::string_view s, std::string* out);
// Shortest round-trip spelling of a double ("0.25", "1e-06"); NaN and infinities become null.
void AppendJsonNumber(double v, std::string* out);

// Builds one JSON object, field by field: {"a":1,"b":"x"}.
class JsonObjectWriter {
 public:
  explicit JsonObjectWriter(std::string* out) : out_(out) { out_->push_back('{'); }
  JsonObjectWriter& Key(std::string_view k);
  JsonObjectWriter& String(std::string_view k, std::string_view v);
  JsonObjectWriter& Number(std::string_view k, double v);
  JsonObjectWriter& Int(std::string_view k, int64_t v);
  JsonObjectWriter& Uint(std::string_view k, uint64_t v);
  JsonObjectWriter& Bool(std::string_view k, bool v);
  JsonObjectWriter& Null(std::string_view k);
  JsonObjectWriter& Raw(std::string_view k, std::string_view json);
  void Close() { out_->push_back('}'); }

 private:
  std::string* out_;
  bool first_ = true;
};

}  // namespace sitepulse
