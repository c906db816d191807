// no_data: a site that sent nothing (no requests, no error-log lines) for a while. Its events
// have state no_data when it fires and resolved when data comes back.
#pragma once

#include "detect/detector_kind.h"

namespace sitepulse {

const DetectorKind& NoDataKind();

}  // namespace sitepulse
