// The two-stage wire format (core/partial_record.h): what stage 1 writes, stage 2 reads exactly;
// a damaged or foreign record is an error that says what is wrong, at any byte.
#include "core/partial_record.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <utility>

namespace sitepulse {
namespace {

PartialBucket Base(std::string site) {
  PartialBucket b;
  b.site = std::move(site);
  b.bucket_start = 1735689600 * kNanosPerSecond;
  b.resolution = 10 * kNanosPerSecond;
  b.sketch_alpha = 0.01;
  return b;
}

PartialBucket Full() {
  PartialBucket b = Base("shop.example.com");
  b.counters.requests = 1234;
  b.counters.errors_4xx = 12;
  b.counters.errors_5xx = 3;
  b.counters.bytes = std::numeric_limits<uint64_t>::max();
  b.counters.log_lines[static_cast<int>(LogLevel::kError)] = 7;
  b.counters.log_lines[static_cast<int>(LogLevel::kEmerg)] = 1;
  b.bins = {{-32767, 1}, {-5, 2}, {0, 900}, {31000, 17}, {32767, std::numeric_limits<uint32_t>::max()}};
  b.zero_count = 4;
  b.templates = {{0x1234567890abcdefull, LogLevel::kCrit, b.bucket_start + 3, "upstream <*> timed out",
                  "upstream 10.0.0.1 timed out"},
                 {1, LogLevel::kError, std::numeric_limits<EventTime>::min(), "", ""}};
  return b;
}

TEST(PartialRecordTest, BucketsAndWatermarksRoundTripExactly) {
  const PartialBucket b = Full();
  const std::string enc = EncodePartial(b);
  ASSERT_EQ(PartialKindOf(enc).value(), PartialKind::kBucket);
  absl::StatusOr<PartialBucket> back = DecodePartialBucket(enc);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, b);

  PartialWatermark w{"raw-logs", 5, 6, std::numeric_limits<EventTime>::max(), true, 3};
  absl::StatusOr<PartialWatermark> wb = DecodePartialWatermark(EncodePartial(w));
  ASSERT_TRUE(wb.ok()) << wb.status();
  EXPECT_EQ(*wb, w);
  // A record of one kind is not read as the other.
  EXPECT_FALSE(DecodePartialWatermark(enc).ok());
}

// A quiet site's bucket (10 requests, 10 samples, no template) is a few dozen bytes: the partials
// topic is a small fraction of the raw logs (10 lines of about 290 bytes).
TEST(PartialRecordTest, AQuietBucketIsSmall) {
  PartialBucket b = Base("site-1234.example.com");
  b.counters.requests = 10;
  b.counters.bytes = 51200;
  for (int i = 0; i < 10; ++i) b.bins.emplace_back(static_cast<SketchBin>(-160 + 7 * i), 1);
  const std::string enc = EncodePartial(b);
  EXPECT_LT(enc.size(), 90u) << enc.size();
  EXPECT_LT(enc.size() * 20, 10u * 290);
}

TEST(PartialRecordTest, AnotherVersionOrKindIsAClearError) {
  std::string enc = EncodePartial(Full());
  enc[0] = 2;
  absl::StatusOr<PartialBucket> b = DecodePartialBucket(enc);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().message(),
            "partial record version 2; this sitepulse reads version 1 (run both stages at one release)");
  enc[0] = 1;
  enc[1] = 9;
  EXPECT_EQ(PartialKindOf(enc).status().message(), "partial record: unknown kind 9");
  EXPECT_FALSE(PartialKindOf("").ok());
}

// Cut at every byte, or with a byte more: an error naming a field, never a crash or a record.
TEST(PartialRecordTest, EveryTruncationAndTrailingByteIsRefused) {
  const std::string enc = EncodePartial(Full());
  for (size_t n = 0; n < enc.size(); ++n) {
    absl::StatusOr<PartialBucket> b = DecodePartialBucket(enc.substr(0, n));
    EXPECT_FALSE(b.ok()) << n;
  }
  absl::StatusOr<PartialBucket> extra = DecodePartialBucket(enc + "x");
  ASSERT_FALSE(extra.ok());
  EXPECT_EQ(extra.status().message(), "partial record: 1 bytes after the record's last field");
}

TEST(PartialRecordTest, CapsAndOrderAreChecked) {
  PartialBucket b = Full();
  b.site = std::string(kMaxPartialSiteBytes + 1, 's');
  absl::StatusOr<PartialBucket> long_site = DecodePartialBucket(EncodePartial(b));
  ASSERT_FALSE(long_site.ok());
  EXPECT_NE(long_site.status().message().find("site is 1025 bytes, over the cap of 1024"), std::string::npos)
      << long_site.status();

  b = Full();
  b.bins = {{5, 1}, {5, 1}};  // a repeated bin
  EXPECT_NE(DecodePartialBucket(EncodePartial(b)).status().message().find("bin is not above the one before"),
            std::string::npos);
  b.bins = {{5, 0}};
  EXPECT_NE(DecodePartialBucket(EncodePartial(b)).status().message().find("bin count is 0"), std::string::npos);
  b.bins = {{kZeroBin, 1}};  // the zero bin travels as zero_count
  EXPECT_FALSE(DecodePartialBucket(EncodePartial(b)).ok());
  // A stage-1 bucket counts a bin in 32 bits: more is damage (a count of 2^63 asked the merge
  // for billions of additions).
  b.bins = {{5, uint64_t{1} << 32}};
  EXPECT_NE(DecodePartialBucket(EncodePartial(b)).status().message().find("bin count is over 2^32 - 1"),
            std::string::npos);
  b.bins = {{5, 1}};
  b.zero_count = uint64_t{1} << 63;
  EXPECT_NE(DecodePartialBucket(EncodePartial(b)).status().message().find("zero count is over 2^32 - 1"),
            std::string::npos);
  b = Full();
  b.templates.resize(kMaxPartialTemplates + 1);
  EXPECT_NE(DecodePartialBucket(EncodePartial(b)).status().message().find("template count is 1025"),
            std::string::npos);
  b = Full();
  b.resolution = 0;
  EXPECT_FALSE(DecodePartialBucket(EncodePartial(b)).ok());
  b = Full();
  b.sketch_alpha = std::numeric_limits<double>::quiet_NaN();
  EXPECT_FALSE(DecodePartialBucket(EncodePartial(b)).ok());
  // One encoding per value (so equal partials are equal bytes): a varint with a trailing zero
  // group is refused.
  std::string w = EncodePartial(PartialWatermark{"t", 5, 6, 7, false});
  ASSERT_EQ(w.substr(4, 1), std::string("\x0a"));  // partition 5, zigzag 10
  w.replace(4, 1, std::string("\x8a\x00", 2));
  EXPECT_NE(DecodePartialWatermark(w).status().message().find("partition is not minimally encoded"),
            std::string::npos)
      << DecodePartialWatermark(w).status();
  // A bin count claiming 2^40 pairs is refused before anything is allocated.
  std::string huge = EncodePartial(Full()).substr(0, 2);
  huge += std::string(1, 1) + "s";                       // site "s"
  huge += std::string("\x02\x14\x00", 3);                // start 1, resolution 10, alpha bits 0
  huge += std::string(4 + kNumLogLevels, '\0');          // counters
  huge += std::string("\x80\x80\x80\x80\x80\x20", 6);    // bin count 2^40
  EXPECT_NE(DecodePartialBucket(huge).status().message().find("over the cap"), std::string::npos)
      << DecodePartialBucket(huge).status();
}

}  // namespace
}  // namespace sitepulse
