// baseline: a window metric judged against its learned level and spread (with daily and weekly
// seasonality), in either direction.
#pragma once

#include "detect/detector_kind.h"

namespace sitepulse {

const DetectorKind& BaselineKind();

}  // namespace sitepulse
