// `sitepulse series`: one detector over an exported metric, a `timestamp,value` CSV, writing
// `timestamp,value,anomaly_score` for every row in order (score in [0, 1]; 0.5 is where the
// detector's condition starts to hold). SREs run it on exported metrics to see what a detector
// would have said; the project runs it on the Numenta Anomaly Benchmark (docs/detection.md).
#pragma once

#include <string>
#include <vector>

namespace sitepulse {

int SeriesMain(const std::vector<std::string>& args);

}  // namespace sitepulse
