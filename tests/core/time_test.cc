#include "core/time.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/duration.h"

namespace sitepulse {
namespace {

constexpr EventTime kS = kNanosPerSecond;

TEST(TimeTest, Rfc3339Variants) {
  EventTime t;
  ASSERT_TRUE(ParseRfc3339("2015-05-17T10:05:03Z", &t));
  EXPECT_EQ(t, 1431857103 * kS);
  ASSERT_TRUE(ParseRfc3339("2015-05-17T12:05:03+02:00", &t));
  EXPECT_EQ(t, 1431857103 * kS);
  ASSERT_TRUE(ParseRfc3339("2015-05-17T10:05:03.250Z", &t));
  EXPECT_EQ(t, 1431857103 * kS + 250'000'000);
  ASSERT_TRUE(ParseRfc3339("2015-05-17 10:05:03.123456789-0130", &t));
  EXPECT_EQ(t, (int64_t{1431857103} + 5400) * kS + 123456789);
  EXPECT_FALSE(ParseRfc3339("2015-05-17T10:05:03", &t));      // no zone
  EXPECT_FALSE(ParseRfc3339("2015-13-17T10:05:03Z", &t));     // month 13
  EXPECT_FALSE(ParseRfc3339("2015-05-17T10:05:03Zjunk", &t));
  EXPECT_FALSE(ParseRfc3339("", &t));
}

// Calendar-invalid dates and offsets beyond +-18:00 are no times (they were shifted silently:
// 2025-02-30 became 2025-03-02, +99:00 moved an event by 99 hours).
TEST(TimeTest, CalendarAndOffsetAreChecked) {
  EventTime t;
  EXPECT_FALSE(ParseRfc3339("2025-02-30T00:00:00Z", &t));
  EXPECT_FALSE(ParseRfc3339("2025-02-29T00:00:00Z", &t));  // not a leap year
  EXPECT_TRUE(ParseRfc3339("2024-02-29T00:00:00Z", &t));
  EXPECT_FALSE(ParseRfc3339("2100-02-29T00:00:00Z", &t));  // a century, not a leap year
  EXPECT_TRUE(ParseRfc3339("2000-02-29T00:00:00Z", &t));
  EXPECT_FALSE(ParseRfc3339("2025-04-31T00:00:00Z", &t));
  EXPECT_TRUE(ParseRfc3339("2025-12-31T23:59:59Z", &t));
  EXPECT_FALSE(ParseRfc3339("2025-01-01T00:00:00+99:00", &t));
  EXPECT_FALSE(ParseRfc3339("2025-01-01T00:00:00+18:01", &t));
  EXPECT_FALSE(ParseRfc3339("2025-01-01T00:00:00+05:60", &t));
  EXPECT_TRUE(ParseRfc3339("2025-01-01T00:00:00+18:00", &t));
  EXPECT_TRUE(ParseRfc3339("2025-01-01T00:00:00-12:00", &t));
  EXPECT_FALSE(ParseTimeLocal("31/Jun/2015:10:05:03 +0000", &t));
  EXPECT_FALSE(ParseTimeLocal("17/May/2015:10:05:03 +1900", &t));
  EXPECT_FALSE(ParseNginxErrorTime("2015/02/29 10:05:03", &t));
  // The minute cache must not let a bad offset through on a line of a known minute.
  DateCache cache;
  ASSERT_TRUE(ParseRfc3339("2025-01-01T00:00:00Z", &t, &cache));
  EXPECT_FALSE(ParseRfc3339("2025-01-01T00:00:01+99:00", &t, &cache));
}

TEST(TimeTest, TimeLocal) {
  EventTime t;
  ASSERT_TRUE(ParseTimeLocal("17/May/2015:10:05:03 +0000", &t));
  EXPECT_EQ(t, 1431857103 * kS);
  ASSERT_TRUE(ParseTimeLocal("17/May/2015:03:05:03 -0700", &t));
  EXPECT_EQ(t, 1431857103 * kS);
  EXPECT_FALSE(ParseTimeLocal("17/Foo/2015:10:05:03 +0000", &t));
  EXPECT_FALSE(ParseTimeLocal("17/May/2015:10:05:03", &t));
}

TEST(TimeTest, ErrorLogTimes) {
  EventTime t;
  ASSERT_TRUE(ParseApacheErrorTime("Sun May 17 10:05:03.500000 2015", &t));
  EXPECT_EQ(t, 1431857103 * kS + 500'000'000);
  ASSERT_TRUE(ParseApacheErrorTime("Sun May 17 10:05:03 2015", &t));
  EXPECT_EQ(t, 1431857103 * kS);
  ASSERT_TRUE(ParseNginxErrorTime("2015/05/17 10:05:03", &t));
  EXPECT_EQ(t, 1431857103 * kS);
}

TEST(TimeTest, EpochUnitsDetected) {
  EventTime t;
  ASSERT_TRUE(EpochToEventTime(int64_t{1431857103}, EpochUnit::kAuto, &t));
  EXPECT_EQ(t, 1431857103 * kS);
  ASSERT_TRUE(EpochToEventTime(int64_t{1431857103123}, EpochUnit::kAuto, &t));
  EXPECT_EQ(t, 1431857103123 * 1'000'000);
  ASSERT_TRUE(EpochToEventTime(int64_t{1431857103123456}, EpochUnit::kAuto, &t));
  EXPECT_EQ(t, 1431857103123456 * 1'000);
  ASSERT_TRUE(EpochToEventTime(int64_t{1431857103123456789}, EpochUnit::kAuto, &t));
  EXPECT_EQ(t, 1431857103123456789);
  ASSERT_TRUE(EpochToEventTime(1431857103.5, EpochUnit::kAuto, &t));
  EXPECT_EQ(t, 1431857103 * kS + 500'000'000);
  ASSERT_TRUE(EpochToEventTime(int64_t{1431857103}, EpochUnit::kMillis, &t));
  EXPECT_EQ(t, int64_t{1431857103} * 1000000);  // told: ms, even though it looks like seconds
  EXPECT_FALSE(EpochToEventTime(-1.0, EpochUnit::kAuto, &t));
  ASSERT_TRUE(ParseTimeString("1431857103.250", EpochUnit::kAuto, &t));
  EXPECT_EQ(t, 1431857103 * kS + 250'000'000);
}

TEST(TimeTest, FormatRoundTrips) {
  EXPECT_EQ(FormatRfc3339(1431857103 * kS), "2015-05-17T10:05:03Z");
  EXPECT_EQ(FormatRfc3339(1431857103 * kS + 7'000'000), "2015-05-17T10:05:03.007Z");
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00Z");
  for (EventTime t : {951782400 * kS, 4102444799 * kS, 1709164800 * kS}) {  // leap days, 2099
    EventTime back;
    ASSERT_TRUE(ParseRfc3339(FormatRfc3339(t), &back));
    EXPECT_EQ(back, t);
  }
}

// Every duration that parses prints to one that parses to the same value, up to the limit
// (INT64_MAX / 2 in all); a sum of parts past it is refused (found by fuzz/uri_fuzz.cc).
TEST(DurationTest, WhatParsesPrintsToWhatParsesBack) {
  for (const char* s : {"53375d", "1h1m1s1ms1us1ns", "600000h600000h", "3w", "1m1131314h3m2m1m"}) {
    const auto d = ParseDuration(s);
    ASSERT_TRUE(d.ok()) << s;
    const auto back = ParseDuration(FormatDuration(*d));
    ASSERT_TRUE(back.ok()) << s << " -> " << FormatDuration(*d);
    EXPECT_EQ(*back, *d) << s;
  }
  EXPECT_FALSE(ParseDuration("1m1131314h3m2m1m1131314h").ok());
  EXPECT_FALSE(ParseDuration("53376d").ok());
}

TEST(DurationTest, ParsesAndFormats) {
  EXPECT_EQ(*ParseDuration("10s"), 10 * kS);
  EXPECT_EQ(*ParseDuration("1h30m"), 5400 * kS);
  EXPECT_EQ(*ParseDuration("250ms"), 250'000'000);
  EXPECT_EQ(*ParseDuration("3d"), 3 * 86400 * kS);
  EXPECT_EQ(*ParseDuration("0"), 0);
  EXPECT_FALSE(ParseDuration("10").ok());
  EXPECT_FALSE(ParseDuration("10 s").ok());
  EXPECT_FALSE(ParseDuration("ten seconds").ok());
  EXPECT_FALSE(ParseDuration("5y").ok());
  EXPECT_EQ(FormatDuration(300 * kS), "5m");
  EXPECT_EQ(FormatDuration(90 * kS), "1m30s");
  EXPECT_EQ(*ParseSize("1MiB"), 1u << 20);
  EXPECT_EQ(*ParseSize("64KiB"), 64u << 10);
  EXPECT_EQ(*ParseSize("4096"), 4096u);
  EXPECT_FALSE(ParseSize("1MiBs").ok());
  EXPECT_FALSE(ParseSize("MiB").ok());
}

}  // namespace
}  // namespace sitepulse

namespace sitepulse {
namespace {

// The date and same-minute caches must never change a result: a stream of timestamps across
// second, minute, hour, day and year boundaries, with offsets, parsed with one shared cache,
// equals each parsed alone.
TEST(TimeCacheTest, CachedParsingEqualsUncachedAcrossBoundaries) {
  const std::vector<std::string> rfc = {
      "2024-12-31T23:58:59Z",      "2024-12-31T23:59:00.5Z",   "2024-12-31T23:59:59.999Z",
      "2024-12-31T23:59:59+01:00", "2025-01-01T00:00:00Z",     "2025-01-01T00:00:00-05:30",
      "2025-01-01T00:00:07.25Z",   "2025-01-01T00:01:07Z",     "2025-01-01T00:00:60Z",
      "2025-01-01T00:00:61Z",      "2025-01-01T00:00:0xZ",     "2025-01-01T00:00:07Z"};
  const std::vector<std::string> local = {
      "31/Dec/2024:23:59:59 +0000", "31/Dec/2024:23:59:58 -0700", "01/Jan/2025:00:00:00 +0000",
      "01/Jan/2025:00:00:01.5 +0000", "01/Jan/2025:00:00:99 +0000", "01/Jan/2025:00:01:00 +0200",
      "01/Jan/2025:00:01:00 +0000"};
  DateCache cache;
  for (int round = 0; round < 2; ++round) {
    for (const std::string& s : rfc) {
      EventTime a = 0, b = 0;
      const bool ok_a = ParseRfc3339(s, &a, &cache);
      const bool ok_b = ParseRfc3339(s, &b);
      EXPECT_EQ(ok_a, ok_b) << s;
      if (ok_a && ok_b) {
        EXPECT_EQ(a, b) << s;
      }
    }
    for (const std::string& s : local) {
      EventTime a = 0, b = 0;
      const bool ok_a = ParseTimeLocal(s, &a, &cache);
      const bool ok_b = ParseTimeLocal(s, &b);
      EXPECT_EQ(ok_a, ok_b) << s;
      if (ok_a && ok_b) {
        EXPECT_EQ(a, b) << s;
      }
    }
  }
  EventTime t;
  ASSERT_TRUE(ParseRfc3339("2025-01-01T00:00:07.25Z", &t, &cache));
  EXPECT_EQ(t, 1735689607 * kNanosPerSecond + 250'000'000);
}

}  // namespace
}  // namespace sitepulse
