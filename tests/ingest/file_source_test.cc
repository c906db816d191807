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
