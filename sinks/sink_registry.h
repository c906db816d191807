// The sink kinds, in one table: each kind says which output URIs it takes, how a user writes
// one (for messages, --help and the docs, which a test holds to this table), and how it is
// built from an OutputSpec. A new sink is its own files plus one line in sink_registry.cc.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/metrics.h"
#include "core/uri.h"
#include "sinks/anomaly_sink.h"
#include "sinks/output_spec.h"

namespace sitepulse {

struct SinkKind {
  std::string_view name;   // stdout, file, kafka, alertmanager, webhook
  std::string_view usage;  // how an output URI of this kind is written, e.g. file:PATH
  bool (*accepts)(const Uri& uri);
  absl::StatusOr<std::unique_ptr<AnomalySink>> (*make)(const OutputSpec& spec,
                                                       MetricsRegistry* metrics);
  // The keys of an `outputs:` mapping this kind takes besides `uri` (the config refuses the
  // others for it, naming these).
  std::vector<std::string_view> options = {};
};

// The kind that takes `uri`, or nullptr.
const SinkKind* FindSinkKind(const Uri& uri);

const std::vector<SinkKind>& SinkKinds();

// The sink for an output URI, or an error that lists the kinds' usages.
absl::StatusOr<std::unique_ptr<AnomalySink>> MakeAnomalySink(const OutputSpec& spec,
                                                             MetricsRegistry* metrics);

// Each kind's entry, defined next to the sink itself.
SinkKind JsonlSinkKind();  // stdout and file:PATH
SinkKind StdoutSinkKind();
SinkKind KafkaSinkKind();
SinkKind AlertmanagerSinkKind();
SinkKind WebhookSinkKind();

}  // namespace sitepulse
