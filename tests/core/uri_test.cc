#include "core/uri.h"

#include <gtest/gtest.h>

namespace sitepulse {
namespace {

// Every URI prints to one that reads back the same (fuzz/uri_fuzz.cc checks it on generated
// input; these are the cases it found).
TEST(UriTest, PrintsToWhatReadsBackTheSame) {
  for (const char* s : {"//J", "file:////var/log/x", "stdin://x", "stdout://y", "-", "stdout",
                        "file:/var/log/a.log", "kafka://h:9092/t", "relative/path.log"}) {
    const auto uri = ParseUri(s);
    ASSERT_TRUE(uri.ok()) << s;
    const auto back = ParseUri(uri->ToString());
    ASSERT_TRUE(back.ok()) << s << " -> " << uri->ToString();
    EXPECT_EQ(*back, *uri) << s << " -> " << uri->ToString();
  }
  EXPECT_EQ(ParseUri("//J")->target, "//J");
  EXPECT_EQ(ParseUri("file:////var/log/x")->target, "//var/log/x");
}

}  // namespace
}  // namespace sitepulse
