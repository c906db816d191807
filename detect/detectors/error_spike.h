// error_spike: the error-log rate rose to several times its learned baseline.
#pragma once

#include "detect/detector_kind.h"

namespace sitepulse {

const DetectorKind& ErrorSpikeKind();

}  // namespace sitepulse
