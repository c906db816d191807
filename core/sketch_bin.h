// The bin a latency sample falls into (detect/latency_sketch.h maps values to bins). Lanes hand
// bins over in their batch deltas, so the type lives here, below every module.
#pragma once

#include <cstdint>
#include <limits>

namespace sitepulse {

using SketchBin = int16_t;
// Values below kSketchMinValue seconds (a zero latency, say) land in a zero bin read back as 0.
inline constexpr SketchBin kZeroBin = std::numeric_limits<int16_t>::min();

}  // namespace sitepulse
