// traffic_drop: the request rate fell well below its learned baseline (a site losing its
// traffic: DNS, a load balancer, a bad deploy that returns nothing).
#pragma once

#include "detect/detector_kind.h"

namespace sitepulse {

const DetectorKind& TrafficDropKind();

}  // namespace sitepulse
