#include "sinks/anomaly_sink.h"

#include "core/status_macros.h"

namespace sitepulse {

absl::StatusOr<std::unique_ptr<AnomalySink>> MakeAnomalySink(const Uri& uri) {
  SP_ASSIGN_OR_RETURN(std::unique_ptr<JsonlWriter> writer, JsonlWriter::Open(uri));
  return std::unique_ptr<AnomalySink>(new JsonlAnomalySink(std::move(writer)));
}

}  // namespace sitepulse
