// The anomaly event reader (AnomalyFromJson: heal, replay, timeline and the Kafka event topic all
// read events with it). Invariants: an event that is read writes back to a line that reads to the
// same event and writes to the same bytes (docs/events.md's round trip), and a refused line gets
// a reason.
#include <string>

#include "core/anomaly.h"
#include "fuzz/fuzz_check.h"

using namespace sitepulse;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  const auto event = AnomalyFromJson(line);
  if (!event.ok()) {
    FUZZ_CHECK(!event.status().message().empty(), "refused without a reason: %s",
               fuzz::Printable(line).c_str());
    return 0;
  }
  const std::string written = AnomalyToJson(*event);
  const auto again = AnomalyFromJson(written);
  FUZZ_CHECK(again.ok(), "its own output refused: %s: %s", fuzz::Printable(written).c_str(),
             std::string(again.status().message()).c_str());
  const std::string rewritten = AnomalyToJson(*again);
  FUZZ_CHECK(rewritten == written, "the round trip changed the event:\n%s\n%s",
             fuzz::Printable(written).c_str(), fuzz::Printable(rewritten).c_str());
  return 0;
}
