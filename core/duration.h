// Human spellings of durations ("10s", "5m", "1h30m", "250ms", "3d") and sizes ("1MiB", "64KiB",
// "4096"), as used in configuration files and on the command line.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/time.h"

namespace sitepulse {

// Units: ns, us, ms, s, m, h, d, w; parts may be chained ("1h30m"). "0" alone is zero.
absl::StatusOr<DurationNs> ParseDuration(std::string_view s);
// Shortest exact spelling: 300 s -> "5m", 90 s -> "1m30s".
std::string FormatDuration(DurationNs d);

// Units: B, KB/MB/GB (powers of 1000), KiB/MiB/GiB (powers of 1024); a bare number is bytes.
absl::StatusOr<uint64_t> ParseSize(std::string_view s);

}  // namespace sitepulse
