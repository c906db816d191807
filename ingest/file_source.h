// Reads a file or stdin into batches of whole lines. Regular files fill each batch (batch
// boundaries then depend on the bytes only, which keeps results reproducible); pipes and
// terminals hand over whatever complete lines a read() brought, so live streams keep moving. The last line may lack its newline. A line
// longer than the batch buffer is skipped (its head kept for the dead-letter sink), never
// buffered whole, so memory stays bounded whatever the input.
//
// Threading: one reader thread owns a FileSource.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ingest/batch.h"

namespace sitepulse {

class FileSource {
 public:
  struct Options {
    size_t batch_bytes = 1 << 20;  // target bytes of whole lines per batch
    size_t max_line_bytes = 1 << 20;
  };
  // path "-" reads stdin.
  static absl::StatusOr<std::unique_ptr<FileSource>> Open(const std::string& path,
                                                           const Options& options);
  ~FileSource();

  // Fills `batch` (data, size, input_offset, end_of_input, oversized). Returns false once the
  // input has been fully delivered (after a batch with end_of_input).
  bool Next(Batch* batch);
  const std::string& name() const { return name_; }
  // A pipe or terminal (live: its lines are checked against the wall clock), not a regular file.
  bool streaming() const { return streaming_; }
  // Read errors end the input early; they are reported here.
  const std::string& error() const { return error_; }
  // A regular file truncated, replaced or removed under the reader (set once; "" if not).
  const std::string& warning() const { return warning_; }

 private:
  FileSource(int fd, std::string name, const Options& options);
  // read() into dst until `want` bytes or EOF; returns bytes read.
  size_t ReadFull(char* dst, size_t want);

  int fd_;
  bool owns_fd_;
  std::string name_;
  Options options_;
  size_t capacity_;
  std::vector<char> carry_;  // a partial line left over from the previous read
  uint64_t offset_ = 0;      // input offset of carry_[0]
  bool eof_ = false;
  bool streaming_ = false;  // a pipe or terminal, not a regular file
  bool done_ = false;
  std::string error_;
  std::string warning_;
  uint64_t read_bytes_ = 0;
  void CheckUnderfoot();
};

}  // namespace sitepulse
