// The registry entries of the JSON-lines and Kafka sinks (their classes are header-only).
#include "core/status_macros.h"
#include "sinks/jsonl_anomaly_sink.h"
#include "sinks/kafka_anomaly_sink.h"
#include "sinks/sink_registry.h"

namespace sitepulse {

namespace {
absl::StatusOr<std::unique_ptr<AnomalySink>> MakeJsonl(const OutputSpec& spec, MetricsRegistry*) {
  SP_ASSIGN_OR_RETURN(std::unique_ptr<JsonlWriter> writer, JsonlWriter::Open(spec.uri));
  return std::unique_ptr<AnomalySink>(new JsonlAnomalySink(std::move(writer)));
}
}  // namespace

SinkKind StdoutSinkKind() {
  return {"stdout", "stdout", [](const Uri& u) { return u.scheme == "stdout"; }, MakeJsonl};
}

SinkKind JsonlSinkKind() {
  return {"file", "file:PATH", [](const Uri& u) { return u.scheme == "file"; }, MakeJsonl};
}

SinkKind KafkaSinkKind() {
  return {"kafka", "kafka://HOST:PORT/TOPIC", [](const Uri& u) { return u.scheme == "kafka"; },
          [](const OutputSpec& spec, MetricsRegistry* metrics)
              -> absl::StatusOr<std::unique_ptr<AnomalySink>> {
            SP_ASSIGN_OR_RETURN(auto producer,
                                KafkaProducer::Open(spec.uri.target, spec.kafka_properties,
                                                    "kafka:" + spec.uri.target, metrics));
            return std::unique_ptr<AnomalySink>(
                new KafkaAnomalySink(std::move(producer), spec.flush_deadline));
          }};
}

}  // namespace sitepulse
