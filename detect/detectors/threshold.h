// threshold: a window metric (latency quantile, 5xx rate, request rate, error-log rate) above
// or below a fixed value.
#pragma once

#include "detect/detector_kind.h"

namespace sitepulse {

const DetectorKind& ThresholdKind();

}  // namespace sitepulse
