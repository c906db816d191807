#include "app/run_warnings.h"

#include "core/strings.h"

namespace sitepulse {

void CheckRunWarnings(const RunCounts& c, const RunWarningContext& ctx, bool at_end,
                      RunWarnings* warnings) {
  const uint64_t min_lines = at_end ? 1 : 1000;
  uint64_t rejected = 0, top = 0;
  int top_reason = 0;
  for (int r = 0; r < kNumRejectReasons; ++r) {
    rejected += c.rejected_by_reason[r];
    if (c.rejected_by_reason[r] > top) top = c.rejected_by_reason[r], top_reason = r;
  }
  if (c.lines >= min_lines && rejected * 2 > c.lines) {
    warnings->Raise("most_lines_rejected",
                    StrCat(rejected, " of ", c.lines, " lines rejected, most as ",
                           RejectReasonName(static_cast<RejectReason>(top_reason)),
                           ": check the format, preset and site of each input"));
  }
  if (ctx.needs_latency && c.access >= min_lines && c.latency == 0) {
    warnings->Raise("no_latency",
                    StrCat("none of ", c.access, " requests has a latency, so every latency "
                           "detector is blind: log a request time or remove those detectors"));
  }
  // Error-log detectors with no error log to read never fire, and say nothing: the shipped
  // configs carry them, and an access log alone is the usual first run.
  if (!ctx.error_log_detectors.empty() && !ctx.has_error_input) {
    warnings->Raise("no_error_log",
                    StrCat("no input is an error log, so ", ctx.error_log_detectors,
                           " can never fire: add the server's error log as an input "
                           "(file:error.log?kind=error&preset=...) or remove them"));
  } else if (!ctx.error_log_detectors.empty() && at_end && c.access > 0 &&
             c.parsed == c.access) {
    warnings->Raise("no_error_log",
                    StrCat("the error-log input(s) gave no error-log line (", c.access,
                           " access lines), so ", ctx.error_log_detectors,
                           " never fired: check the error log's path, preset and site"));
  }
  if (!ctx.placeholder.empty() && c.parsed >= min_lines && c.default_site == c.parsed &&
      c.sites <= 1) {
    warnings->Raise("placeholder_site",
                    StrCat("every line went to the configured default site '", ctx.placeholder,
                           "': the lines name no site (add a vhost or host field, or name the "
                           "site in the input with ?site=NAME)"));
  }
  if (c.parsed >= min_lines && c.late * 100 > c.parsed) {
    warnings->Raise("many_late",
                    StrCat(c.late, " of ", c.parsed, " parsed lines were late and not counted: "
                           "the input is more out of order than windows.lateness allows"));
  }
  if (const uint64_t future = c.rejected_by_reason[static_cast<int>(RejectReason::kFutureTime)];
      future > 0) {
    warnings->Raise("future_lines",
                    StrCat(future, " line(s) dated far ahead of their input were rejected as "
                           "future_time (a broken clock?): see the dead-letter sink"));
  }
  if (c.sites_over_cap > 0) {
    warnings->Raise("sites_over_cap",
                    StrCat("site names past limits.max_sites (", ctx.max_sites,
                           ") are folded into __other__ (about ", c.sites_over_cap,
                           " so far; names with real traffic still get a place): a Host-header "
                           "flood, or raise the cap"));
  }
}

}  // namespace sitepulse
