#include "sinks/jsonl_writer.h"

#include <cerrno>
#include <cstring>

#include "core/strings.h"

namespace sitepulse {

absl::StatusOr<std::unique_ptr<JsonlWriter>> JsonlWriter::Open(const Uri& uri) {
  if (uri.scheme == "stdout") {
    return std::unique_ptr<JsonlWriter>(new JsonlWriter(stdout, false, "stdout"));
  }
  if (uri.scheme != "file") {
    return absl::UnimplementedError(
        StrCat("output '", uri.ToString(), "': scheme '", uri.scheme,
                     "' is not supported here (use stdout or file:PATH)"));
  }
  FILE* f = std::fopen(uri.target.c_str(), "we");  // e: close-on-exec
  if (f == nullptr) {
    return absl::PermissionDeniedError(
        StrCat("cannot open output ", uri.target, ": ", strerror(errno)));
  }
  std::setvbuf(f, nullptr, _IOFBF, 1 << 16);
  return std::unique_ptr<JsonlWriter>(new JsonlWriter(f, true, uri.ToString()));
}

JsonlWriter::~JsonlWriter() {
  if (owns_) std::fclose(file_);
}

void JsonlWriter::WriteLine(std::string_view json) {
  if (std::fwrite(json.data(), 1, json.size(), file_) != json.size() ||
      std::fputc('\n', file_) == EOF) {
    failed_ = true;
  }
  ++lines_;
}

bool JsonlWriter::Flush() {
  if (std::fflush(file_) != 0) failed_ = true;
  return !failed_;
}

}  // namespace sitepulse
