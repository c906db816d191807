#include "core/partial_record.h"

#include <cmath>
#include <cstring>

#include "core/strings.h"

namespace sitepulse {
namespace {

class Writer {
 public:
  explicit Writer(PartialKind kind) {
    out_.push_back(static_cast<char>(kPartialRecordVersion));
    out_.push_back(static_cast<char>(kind));
  }
  void U(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7F) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void I(int64_t v) { U((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63)); }
  void S(std::string_view s) {
    U(s.size());
    out_.append(s);
  }
  void D(double d) {
    uint64_t bits;
    std::memcpy(&bits, &d, sizeof(bits));
    U(bits);
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

// Reads fields in order; the first failure sticks and names the field.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool U(uint64_t* v, const char* field) {
    uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) return Fail(field, "ends inside");
      const auto byte = static_cast<uint8_t>(in_[pos_++]);
      if (shift == 63 && byte > 1) return Fail(field, "is over 64 bits");
      r |= static_cast<uint64_t>(byte & 0x7F) << shift;
      if ((byte & 0x80) == 0) {
        // One encoding per value: a trailing zero group is a longer spelling of a shorter one.
        if (byte == 0 && shift > 0) return Fail(field, "is not minimally encoded");
        *v = r;
        return true;
      }
    }
    return Fail(field, "is over 64 bits");
  }
  bool I(int64_t* v, const char* field) {
    uint64_t u;
    if (!U(&u, field)) return false;
    *v = static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
    return true;
  }
  bool S(std::string* s, size_t cap, const char* field) {
    uint64_t n;
    if (!U(&n, field)) return false;
    if (n > cap) return Fail(field, StrCat("is ", n, " bytes, over the cap of ", cap).c_str());
    if (n > in_.size() - pos_) return Fail(field, "ends inside");
    s->assign(in_.substr(pos_, n));
    pos_ += n;
    return true;
  }
  bool D(double* d, const char* field) {
    uint64_t bits;
    if (!U(&bits, field)) return false;
    std::memcpy(d, &bits, sizeof(bits));
    return true;
  }
  bool Count(uint64_t* n, size_t cap, const char* field) {
    if (!U(n, field)) return false;
    if (*n > cap) return Fail(field, StrCat("is ", *n, ", over the cap of ", cap).c_str());
    return true;
  }
  bool Fail(const char* field, const char* what) {
    if (error_.empty()) error_ = StrCat(field, " ", what, " (byte ", pos_, ")");
    return false;
  }
  absl::Status Done() {
    if (error_.empty() && pos_ != in_.size()) {
      error_ = StrCat(in_.size() - pos_, " bytes after the record's last field");
    }
    return error_.empty() ? absl::OkStatus()
                          : absl::InvalidArgumentError(StrCat("partial record: ", error_));
  }
  void Skip(size_t n) { pos_ += n; }

 private:
  std::string_view in_;
  size_t pos_ = 0;
  std::string error_;
};

absl::Status CheckHeader(std::string_view record, PartialKind want) {
  absl::StatusOr<PartialKind> kind = PartialKindOf(record);
  if (!kind.ok()) return kind.status();
  if (*kind != want) {
    return absl::InvalidArgumentError(StrCat("partial record: kind ", static_cast<int>(*kind),
                                             ", expected ", static_cast<int>(want)));
  }
  return absl::OkStatus();
}

bool ReadCounters(Reader& r, BucketCounters* c) {
  bool ok = r.U(&c->requests, "requests") && r.U(&c->errors_4xx, "errors_4xx") &&
            r.U(&c->errors_5xx, "errors_5xx") && r.U(&c->bytes, "bytes");
  for (uint64_t& n : c->log_lines) ok = ok && r.U(&n, "log_lines");
  return ok;
}

bool ReadBins(Reader& r, PartialBucket* b) {
  uint64_t n;
  if (!r.Count(&n, kMaxPartialBins, "bin count")) return false;
  b->bins.reserve(n);
  int64_t bin = 0;
  for (uint64_t i = 0; i < n; ++i) {
    int64_t step;
    uint64_t count;
    if (!r.I(&step, "bin") || !r.U(&count, "bin count")) return false;
    // The first bin is absolute, the rest step up from the one before (so sorted, no repeats).
    if (i > 0 && step <= 0) return r.Fail("bin", "is not above the one before");
    if (step < INT16_MIN || step > 2 * int64_t{INT16_MAX} + 1) return r.Fail("bin", "is out of range");
    bin = i == 0 ? step : bin + step;
    if (bin <= kZeroBin || bin > INT16_MAX) return r.Fail("bin", "is out of range");
    if (count == 0) return r.Fail("bin count", "is 0");
    // A stage-1 bucket counts a bin in 32 bits; a larger count is damage (and asked the merge
    // for billions of additions: fuzz/partial_record_fuzz.cc timed out).
    if (count > UINT32_MAX) return r.Fail("bin count", "is over 2^32 - 1");
    b->bins.emplace_back(static_cast<SketchBin>(bin), count);
  }
  if (!r.U(&b->zero_count, "zero count")) return false;
  if (b->zero_count > UINT32_MAX) return r.Fail("zero count", "is over 2^32 - 1");
  return true;
}

bool ReadTemplates(Reader& r, PartialBucket* b) {
  uint64_t n;
  if (!r.Count(&n, kMaxPartialTemplates, "template count")) return false;
  b->templates.resize(n);
  for (BucketTemplate& t : b->templates) {
    uint64_t level;
    if (!r.U(&t.hash, "template hash") || !r.U(&level, "template level")) return false;
    if (level >= static_cast<uint64_t>(kNumLogLevels)) return r.Fail("template level", "is unknown");
    t.level = static_cast<LogLevel>(level);
    if (!r.I(&t.first_seen, "template time") ||
        !r.S(&t.text, kMaxPartialTextBytes, "template text") ||
        !r.S(&t.example, kMaxPartialTextBytes, "template example")) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool PartialBucket::operator==(const PartialBucket& o) const {
  auto same_counters = [](const BucketCounters& a, const BucketCounters& b) {
    return a.requests == b.requests && a.errors_4xx == b.errors_4xx &&
           a.errors_5xx == b.errors_5xx && a.bytes == b.bytes && a.log_lines == b.log_lines;
  };
  return site == o.site && bucket_start == o.bucket_start && resolution == o.resolution &&
         std::memcmp(&sketch_alpha, &o.sketch_alpha, sizeof(double)) == 0 &&
         same_counters(counters, o.counters) && bins == o.bins && zero_count == o.zero_count &&
         templates == o.templates;
}

std::string EncodePartial(const PartialBucket& b) {
  Writer w(PartialKind::kBucket);
  w.S(b.site);
  w.I(b.bucket_start);
  w.I(b.resolution);
  w.D(b.sketch_alpha);
  const BucketCounters& c = b.counters;
  w.U(c.requests);
  w.U(c.errors_4xx);
  w.U(c.errors_5xx);
  w.U(c.bytes);
  for (uint64_t n : c.log_lines) w.U(n);
  w.U(b.bins.size());
  int64_t prev = 0;
  for (size_t i = 0; i < b.bins.size(); ++i) {
    const int64_t bin = b.bins[i].first;
    w.I(i == 0 ? bin : bin - prev);
    w.U(b.bins[i].second);
    prev = bin;
  }
  w.U(b.zero_count);
  w.U(b.templates.size());
  for (const BucketTemplate& t : b.templates) {
    w.U(t.hash);
    w.U(static_cast<uint64_t>(t.level));
    w.I(t.first_seen);
    w.S(t.text);
    w.S(t.example);
  }
  return w.Take();
}

std::string EncodePartial(const PartialWatermark& m) {
  Writer w(PartialKind::kWatermark);
  w.S(m.topic);
  w.I(m.partition);
  w.I(m.partitions);
  w.I(m.watermark);
  w.U(m.idle ? 1 : 0);
  w.U(m.late);
  return w.Take();
}

absl::StatusOr<PartialKind> PartialKindOf(std::string_view record) {
  if (record.size() < 2) return absl::InvalidArgumentError("partial record: shorter than its header");
  const auto version = static_cast<uint8_t>(record[0]);
  if (version != kPartialRecordVersion) {
    return absl::InvalidArgumentError(
        StrCat("partial record version ", static_cast<int>(version), "; this sitepulse reads version ",
               static_cast<int>(kPartialRecordVersion), " (run both stages at one release)"));
  }
  const auto kind = static_cast<uint8_t>(record[1]);
  if (kind != static_cast<uint8_t>(PartialKind::kBucket) &&
      kind != static_cast<uint8_t>(PartialKind::kWatermark)) {
    return absl::InvalidArgumentError(StrCat("partial record: unknown kind ", static_cast<int>(kind)));
  }
  return static_cast<PartialKind>(kind);
}

absl::StatusOr<PartialBucket> DecodePartialBucket(std::string_view record) {
  if (absl::Status st = CheckHeader(record, PartialKind::kBucket); !st.ok()) return st;
  Reader r(record);
  r.Skip(2);
  PartialBucket b;
  const bool ok = r.S(&b.site, kMaxPartialSiteBytes, "site") && r.I(&b.bucket_start, "bucket start") &&
                  r.I(&b.resolution, "resolution") && r.D(&b.sketch_alpha, "sketch alpha") &&
                  ReadCounters(r, &b.counters) && ReadBins(r, &b) &&
                  ReadTemplates(r, &b);
  if (ok && b.site.empty()) r.Fail("site", "is empty");
  if (ok && b.resolution <= 0) r.Fail("resolution", "is not positive");
  if (ok && !(b.sketch_alpha > 0 && b.sketch_alpha < 1)) r.Fail("sketch alpha", "is not in (0, 1)");
  if (absl::Status st = r.Done(); !st.ok()) return st;
  return b;
}

absl::StatusOr<PartialWatermark> DecodePartialWatermark(std::string_view record) {
  if (absl::Status st = CheckHeader(record, PartialKind::kWatermark); !st.ok()) return st;
  Reader r(record);
  r.Skip(2);
  PartialWatermark m;
  int64_t partition, partitions;
  uint64_t idle;
  if (r.S(&m.topic, kMaxPartialTopicBytes, "topic") && r.I(&partition, "partition") &&
      r.I(&partitions, "partitions") && r.I(&m.watermark, "watermark") && r.U(&idle, "idle") &&
      r.U(&m.late, "late")) {
    if (partitions < 1 || partitions > kMaxPartialPartitions) r.Fail("partitions", "is out of range");
    if (partition < 0 || partition >= partitions) r.Fail("partition", "is out of range");
    m.partitions = static_cast<int32_t>(partitions);
    if (idle > 1) r.Fail("idle", "is not 0 or 1");
    m.partition = static_cast<int32_t>(partition);
    m.idle = idle == 1;
  }
  if (absl::Status st = r.Done(); !st.ok()) return st;
  return m;
}

}  // namespace sitepulse
