#include "ingest/file_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/strings.h"

namespace sitepulse {

inline constexpr size_t kOversizedHeadBytes = 4096;

absl::StatusOr<std::unique_ptr<FileSource>> FileSource::Open(const std::string& path,
                                                             const Options& options) {
  if (path == "-") return std::unique_ptr<FileSource>(new FileSource(0, "-", options));
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::NotFoundError(StrCat("cannot open input ", path, ": ", strerror(errno)));
  }
  return std::unique_ptr<FileSource>(new FileSource(fd, path, options));
}

FileSource::FileSource(int fd, std::string name, const Options& options)
    : fd_(fd), owns_fd_(fd != 0), name_(std::move(name)), options_(options) {
  struct stat st;
  streaming_ = fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode);
  // A line up to max_line_bytes (plus its newline) always fits in one buffer.
  capacity_ = std::max(options_.batch_bytes, options_.max_line_bytes + 2);
  carry_.reserve(capacity_);
}

FileSource::~FileSource() {
  if (owns_fd_) ::close(fd_);
}

size_t FileSource::ReadFull(char* dst, size_t want) {
  size_t got = 0;
  while (got < want && !eof_) {
    const ssize_t n = ::read(fd_, dst + got, want - got);
    if (n > 0) {
      got += static_cast<size_t>(n);
      read_bytes_ += static_cast<uint64_t>(n);
      // A pipe or terminal delivers what it has: hand over complete lines now rather than wait
      // for a full batch, so a live stream (tail -F | sitepulse) keeps moving.
      if (streaming_ && std::memchr(dst, '\n', got) != nullptr) break;
    } else if (n == 0) {
      eof_ = true;
      CheckUnderfoot();
    } else if (errno != EINTR) {
      error_ = StrCat("read error on ", name_, ": ", strerror(errno));
      eof_ = true;
    }
  }
  return got;
}

void FileSource::CheckUnderfoot() {
  if (streaming_ || !warning_.empty()) return;
  struct stat st;
  if (fstat(fd_, &st) == 0 && static_cast<uint64_t>(st.st_size) < read_bytes_) {
    warning_ = StrCat(name_, " was truncated while being read (", st.st_size, " bytes left of ",
                      read_bytes_, " read): lines written after the truncation were not read");
    return;
  }
  struct stat path_st;
  if (eof_ && fstat(fd_, &st) == 0 &&
      (::stat(name_.c_str(), &path_st) != 0 || path_st.st_ino != st.st_ino ||
       path_st.st_dev != st.st_dev)) {
    warning_ = StrCat(name_, " was replaced or removed while being read: what was read is the "
                             "old file's");
  }
}

bool FileSource::Next(Batch* batch) {
  if (done_) return false;
  CheckUnderfoot();
  batch->data.resize(capacity_ + simdjson::SIMDJSON_PADDING);
  char* buf = batch->data.data();
  size_t len = carry_.size();
  std::memcpy(buf, carry_.data(), len);
  batch->input_offset = offset_;
  carry_.clear();
  len += ReadFull(buf + len, capacity_ - len);

  // Cut after the last newline; the rest waits for the next read.
  const char* last_nl = nullptr;
  for (size_t i = len; i-- > 0;) {
    if (buf[i] == '\n') {
      last_nl = buf + i;
      break;
    }
  }
  size_t cut;
  if (last_nl != nullptr) {
    cut = static_cast<size_t>(last_nl - buf) + 1;
  } else if (eof_) {
    cut = len;  // final line without a newline (or nothing)
  } else {
    // A whole buffer without a newline: the line is over the cap. Skip to its end.
    OversizedLine over;
    over.offset = offset_;
    over.head.assign(buf, std::min(len, kOversizedHeadBytes));
    uint64_t length = len;
    std::vector<char> scratch(64 * 1024);
    size_t rest_len = 0;
    const char* rest = nullptr;
    while (!eof_) {
      const size_t n = ReadFull(scratch.data(), scratch.size());
      const void* nl = std::memchr(scratch.data(), '\n', n);
      if (nl != nullptr) {
        const size_t upto = static_cast<size_t>(static_cast<const char*>(nl) - scratch.data());
        length += upto + 1;
        rest = static_cast<const char*>(nl) + 1;
        rest_len = n - upto - 1;
        break;
      }
      length += n;
    }
    over.length = length;
    batch->size = 0;
    batch->oversized.push_back(std::move(over));
    offset_ += length;
    carry_.assign(rest, rest + rest_len);
    batch->end_of_input = eof_ && carry_.empty();
    if (batch->end_of_input) done_ = true;
    std::memset(buf, 0, simdjson::SIMDJSON_PADDING);
    return true;
  }
  carry_.assign(buf + cut, buf + len);
  batch->size = cut;
  offset_ += cut;
  std::memset(buf + cut, 0, simdjson::SIMDJSON_PADDING);
  batch->end_of_input = eof_ && carry_.empty();
  if (batch->end_of_input) done_ = true;
  return true;
}

}  // namespace sitepulse
