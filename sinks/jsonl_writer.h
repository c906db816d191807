// JSON lines to stdout or a file, buffered. The one writer behind every file-like sink.
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/uri.h"

namespace sitepulse {

class JsonlWriter {
 public:
  // stdout or file:PATH (truncated on open).
  static absl::StatusOr<std::unique_ptr<JsonlWriter>> Open(const Uri& uri);
  ~JsonlWriter();

  void WriteLine(std::string_view json);
  // Returns false if any write failed since open.
  bool Flush();
  const std::string& name() const { return name_; }
  uint64_t lines() const { return lines_; }

 private:
  JsonlWriter(FILE* f, bool owns, std::string name) : file_(f), owns_(owns), name_(std::move(name)) {}
  FILE* file_;
  bool owns_;
  std::string name_;
  uint64_t lines_ = 0;
  bool failed_ = false;
};

}  // namespace sitepulse
