#include "sinks/sink_registry.h"

#include <string>

#include "core/strings.h"

namespace sitepulse {

const std::vector<SinkKind>& SinkKinds() {
  static const std::vector<SinkKind> kinds = {
      StdoutSinkKind(),
      JsonlSinkKind(),
      KafkaSinkKind(),
      AlertmanagerSinkKind(),
      WebhookSinkKind(),
  };
  return kinds;
}

const SinkKind* FindSinkKind(const Uri& uri) {
  for (const SinkKind& kind : SinkKinds()) {
    if (kind.accepts(uri)) return &kind;
  }
  return nullptr;
}

absl::StatusOr<std::unique_ptr<AnomalySink>> MakeAnomalySink(const OutputSpec& spec,
                                                             MetricsRegistry* metrics) {
  for (const SinkKind& kind : SinkKinds()) {
    if (kind.accepts(spec.uri)) return kind.make(spec, metrics);
  }
  std::string usages;
  for (const SinkKind& kind : SinkKinds()) {
    if (!usages.empty()) usages += ", ";
    usages += kind.usage;
  }
  return absl::UnimplementedError(StrCat("output '", spec.uri.ToString(), "': scheme '",
                                         spec.uri.scheme, "' is not supported (use ", usages, ")"));
}

}  // namespace sitepulse
