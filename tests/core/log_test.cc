#include "core/log.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sitepulse {
namespace {

struct Captured {
  Captured() {
    SetLogCapture([this](LogSeverity, std::string_view, std::string_view line) {
      lines.emplace_back(line);
    });
  }
  ~Captured() {
    SetLogCapture(nullptr);
    SetLogLevel(LogSeverity::kInfo);
  }
  std::vector<std::string> lines;
};

// Each line names its module; warnings and errors say so, in the documented shape.
TEST(LogTest, LinesCarryTheModuleAndTheLevel) {
  Captured c;
  SP_LOG(kInfo, "kafka", "assigned %s/%d", "logs", 3);
  SP_LOG(kWarning, "snapshots", "cannot write %s", "state.txt");
  SP_LOG(kError, "sinks", "giving up after %d attempts", 5);
  LogLine(LogSeverity::kWarning, "most_lines_rejected", "2000 of 2000 lines rejected");
  ASSERT_EQ(c.lines.size(), 4u);
  EXPECT_EQ(c.lines[0], "sitepulse: [kafka] assigned logs/3");
  EXPECT_EQ(c.lines[1], "sitepulse: warning [snapshots]: cannot write state.txt");
  EXPECT_EQ(c.lines[2], "sitepulse: error [sinks]: giving up after 5 attempts");
  EXPECT_EQ(c.lines[3], "sitepulse: warning [most_lines_rejected]: 2000 of 2000 lines rejected");
}

TEST(LogTest, BelowTheLevelNothingIsWritten) {
  Captured c;
  SetLogLevel(LogSeverity::kWarning);
  SP_LOG(kInfo, "kafka", "assigned %s/%d", "logs", 3);
  SP_LOG(kDebug, "kafka", "polled");
  SP_LOG(kWarning, "kafka", "paused");
  ASSERT_EQ(c.lines.size(), 1u);
  EXPECT_EQ(c.lines[0], "sitepulse: warning [kafka]: paused");
  LogSeverity s;
  EXPECT_TRUE(ParseLogSeverity("debug", &s));
  EXPECT_EQ(s, LogSeverity::kDebug);
  EXPECT_FALSE(ParseLogSeverity("verbose", &s));
}

}  // namespace
}  // namespace sitepulse
