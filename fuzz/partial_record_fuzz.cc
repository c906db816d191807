// The two-stage wire format's decoder (core/partial_record.h: what stage 2 reads from a topic
// anyone can produce to). Invariants: a refused record gets a reason; a record that decodes
// encodes to exactly its own bytes (one encoding per value, so no two stage-1 outputs differ
// for the same partial) and decodes again to the same value.
#include <string>

#include "core/partial_record.h"
#include "fuzz/fuzz_check.h"

using namespace sitepulse;

namespace {

template <typename T>
void RoundTrip(std::string_view record, const absl::StatusOr<T>& decoded,
               absl::StatusOr<T> (*decode)(std::string_view)) {
  if (!decoded.ok()) {
    FUZZ_CHECK(!decoded.status().message().empty(), "refused without a reason: %s",
               fuzz::Printable(record).c_str());
    return;
  }
  const std::string written = EncodePartial(*decoded);
  FUZZ_CHECK(written == record, "decoded, then encoded to other bytes:\n%s\n%s",
             fuzz::Printable(record).c_str(), fuzz::Printable(written).c_str());
  const absl::StatusOr<T> again = decode(written);
  FUZZ_CHECK(again.ok() && *again == *decoded, "its own encoding did not decode to itself: %s",
             fuzz::Printable(written).c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view record(reinterpret_cast<const char*>(data), size);
  RoundTrip<PartialBucket>(record, DecodePartialBucket(record), &DecodePartialBucket);
  RoundTrip<PartialWatermark>(record, DecodePartialWatermark(record), &DecodePartialWatermark);
  return 0;
}
