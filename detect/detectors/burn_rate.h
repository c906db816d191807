// burn_rate: an SLO (availability, or latency under a threshold) alerting on multi-window burn
// rates (Google SRE Workbook): page when both windows of a pair burn the error budget faster
// than its factor. Pairs of two severities make two alerts (page and ticket), each its own
// incident. The rings over windows up to days are detect/burn_rate.h.
#pragma once

#include "detect/detector_kind.h"

namespace sitepulse {

const DetectorKind& BurnRateKind();

}  // namespace sitepulse
