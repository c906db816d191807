// The snapshot tokenizer (core/state_codec.h): a number is the whole token and in range.
#include "core/state_codec.h"

#include <cstdint>
#include <string>

#include <gtest/gtest.h>

namespace sitepulse {
namespace {

bool ReadsInt(const std::string& line, int64_t* v) {
  StateReader r(line);
  return r.NextLine() && r.Int(v);
}

bool ReadsUInt(const std::string& line, uint64_t* v) {
  StateReader r(line);
  return r.NextLine() && r.UInt(v);
}

// A time one digit too long read as INT64_MAX, the engine's end-of-input sentinel, and a NUL byte
// inside a token ended it early: a damaged snapshot loaded as something it never said
// (fuzz/state_fuzz.cc: every bucket closed at once, an event dated 2262).
TEST(StateReaderTest, NumbersOutOfRangeOrWithStrayBytesAreRefused) {
  int64_t v = 0;
  uint64_t u = 0;
  EXPECT_FALSE(ReadsInt("1735690190000000000000", &v));
  EXPECT_FALSE(ReadsInt("-99999999999999999999", &v));
  EXPECT_FALSE(ReadsInt(std::string("17356902000\0\0\xff" "00", 16), &v));
  EXPECT_FALSE(ReadsInt("12x", &v));
  EXPECT_FALSE(ReadsInt("+12", &v));
  EXPECT_FALSE(ReadsUInt("18446744073709551616", &u));
  EXPECT_FALSE(ReadsUInt("-1", &u));
  EXPECT_FALSE(ReadsUInt(std::string("7\0", 2), &u));
  const std::string stray("1.5\0" "9", 5);  // the reader keeps a view: the text must outlive it
  StateReader d(stray);
  double x = 0;
  EXPECT_FALSE(d.NextLine() && d.Double(&x));

  ASSERT_TRUE(ReadsInt("9223372036854775807", &v));
  EXPECT_EQ(v, INT64_MAX);
  ASSERT_TRUE(ReadsInt("-9223372036854775808", &v));
  EXPECT_EQ(v, INT64_MIN);
  ASSERT_TRUE(ReadsInt("-42", &v));
  EXPECT_EQ(v, -42);
  ASSERT_TRUE(ReadsUInt("18446744073709551615", &u));
  EXPECT_EQ(u, UINT64_MAX);
  StateReader ok("0.25 7");
  ASSERT_TRUE(ok.NextLine() && ok.Double(&x) && ok.UInt(&u));
  EXPECT_EQ(x, 0.25);
  EXPECT_EQ(u, 7u);
}

}  // namespace
}  // namespace sitepulse
