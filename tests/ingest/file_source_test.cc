#include "ingest/file_source.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace sitepulse {
namespace {

std::string TempFile(const std::string& content) {
  char name[] = "/tmp/sitepulse_src_XXXXXX";
  const int fd = mkstemp(name);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
  close(fd);
  return name;
}

struct Read {
  std::vector<std::string> lines;
  std::vector<OversizedLine> oversized;
  int batches = 0;
  bool ended = false;
};

Read ReadAll(const std::string& path, FileSource::Options o) {
  auto src = FileSource::Open(path, o);
  EXPECT_TRUE(src.ok());
  Read r;
  Batch b;
  while (true) {
    b.ResetForReader();
    if (!(*src)->Next(&b)) break;
    ++r.batches;
    // Batches hold whole lines only, followed by zeroed padding.
    if (b.size > 0 && !b.end_of_input) {
      EXPECT_EQ(b.data[b.size - 1], '\n');
    }
    EXPECT_GE(b.data.size(), b.size + simdjson::SIMDJSON_PADDING);
    std::string s(b.data.data(), b.size);
    size_t start = 0;
    while (start < s.size()) {
      size_t nl = s.find('\n', start);
      if (nl == std::string::npos) nl = s.size();
      r.lines.push_back(s.substr(start, nl - start));
      start = nl + 1;
    }
    for (auto& o2 : b.oversized) r.oversized.push_back(o2);
    if (b.end_of_input) r.ended = true;
  }
  return r;
}

TEST(FileSourceTest, MissingFinalNewlineStillDeliversTheLastLine) {
  const std::string path = TempFile("one\ntwo\nthree");
  Read r = ReadAll(path, {});
  EXPECT_EQ(r.lines, (std::vector<std::string>{"one", "two", "three"}));
  EXPECT_TRUE(r.ended);
  std::remove(path.c_str());
}

TEST(FileSourceTest, SmallBatchesSplitAtLineBoundaries) {
  std::string content;
  for (int i = 0; i < 5000; ++i) content += "line number " + std::to_string(i) + "\n";
  const std::string path = TempFile(content);
  Read r = ReadAll(path, {.batch_bytes = 4096, .max_line_bytes = 100});
  ASSERT_EQ(r.lines.size(), 5000u);
  EXPECT_EQ(r.lines[4999], "line number 4999");
  EXPECT_GT(r.batches, 10);
  std::remove(path.c_str());
}

TEST(FileSourceTest, LinesOverTheBufferAreSkippedWithTheirHead) {
  const std::string huge(300000, 'x');
  const std::string path = TempFile("before\n" + huge + "\nafter\n");
  Read r = ReadAll(path, {.batch_bytes = 4096, .max_line_bytes = 1000});
  EXPECT_EQ(r.lines, (std::vector<std::string>{"before", "after"}));
  ASSERT_EQ(r.oversized.size(), 1u);
  EXPECT_EQ(r.oversized[0].offset, 7u);
  EXPECT_EQ(r.oversized[0].length, huge.size() + 1);
  EXPECT_EQ(r.oversized[0].head.size(), 4096u);
  std::remove(path.c_str());
}

TEST(FileSourceTest, EmptyFileEndsAtOnce) {
  const std::string path = TempFile("");
  Read r = ReadAll(path, {});
  EXPECT_TRUE(r.lines.empty());
  EXPECT_TRUE(r.ended);
  std::remove(path.c_str());
}

TEST(FileSourceTest, MissingFileIsAClearError) {
  auto src = FileSource::Open("/nonexistent/access.log", {});
  ASSERT_FALSE(src.ok());
  EXPECT_NE(std::string(src.status().message()).find("/nonexistent/access.log"), std::string::npos);
}

}  // namespace
}  // namespace sitepulse

namespace sitepulse {
namespace {

// A file truncated (copytruncate) or replaced (rotation by rename) under its reader is reported
// (it was not: the run ended as if the file had ended).
TEST(FileSourceTest, TruncatedOrReplacedUnderTheReaderIsReported) {
  std::string content;
  for (int i = 0; i < 2000; ++i) content += "line " + std::to_string(i) + " of a log file\n";
  for (const bool replace : {false, true}) {
    SCOPED_TRACE(replace ? "replaced" : "truncated");
    const std::string path = TempFile(content);
    FileSource::Options o;
    o.batch_bytes = 4096;
    o.max_line_bytes = 256;  // so the buffer is 4 KiB and the file takes many reads
    auto src = FileSource::Open(path, o);
    ASSERT_TRUE(src.ok());
    Batch b;
    b.ResetForReader();
    ASSERT_TRUE((*src)->Next(&b));
    EXPECT_EQ((*src)->warning(), "");
    if (replace) {
      ASSERT_EQ(std::rename(TempFile("new\n").c_str(), path.c_str()), 0);
    } else {
      ASSERT_EQ(truncate(path.c_str(), 100), 0);
    }
    do b.ResetForReader(); while ((*src)->Next(&b));
    EXPECT_NE((*src)->warning().find(replace ? "replaced" : "truncated"), std::string::npos)
        << (*src)->warning();
    std::remove(path.c_str());
  }
  // An untouched file raises nothing.
  const std::string path = TempFile(content);
  auto src = FileSource::Open(path, {});
  Batch b;
  do b.ResetForReader(); while ((*src)->Next(&b));
  EXPECT_EQ((*src)->warning(), "");
  std::remove(path.c_str());
}

}  // namespace
}  // namespace sitepulse
