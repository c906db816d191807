// The one logger: a line on stderr per message, with the module it comes from and its level.
//
//   SP_LOG(kInfo, "kafka", "assigned %s/%d", topic, partition);
//     -> sitepulse: [kafka] assigned logs/3
//   SP_LOG(kWarning, "snapshots", "cannot write %s: %s", path, why);
//     -> sitepulse: warning [snapshots]: cannot write ...
//
// The tag is the module (kafka, sinks, snapshots, pipeline, ...) or, for a run warning
// (app/run_warnings.h), its code, so that `warning [most_lines_rejected]` reads as documented.
// Lines below the level set (SetLogLevel, `--log-level`) are not formatted at all. A test may
// capture lines with SetLogCapture instead of reading stderr.
//
// Threading: any thread; each line is one write, so lines of two threads never interleave.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "absl/strings/str_format.h"

namespace sitepulse {

enum class LogSeverity { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// "debug", "info", "warning", "error"; false for anything else.
bool ParseLogSeverity(std::string_view s, LogSeverity* out);
void SetLogLevel(LogSeverity min);
bool LogEnabled(LogSeverity s);
// Lines go to `capture` instead of stderr while it is set (tests); nullptr restores stderr.
void SetLogCapture(std::function<void(LogSeverity, std::string_view tag, std::string_view line)> capture);

// Writes one line (no trailing newline in `message`).
void LogLine(LogSeverity severity, std::string_view tag, std::string_view message);

template <typename... Args>
void Log(LogSeverity severity, std::string_view tag, const absl::FormatSpec<Args...>& format,
         const Args&... args) {
  if (!LogEnabled(severity)) return;
  LogLine(severity, tag, absl::StrFormat(format, args...));
}

}  // namespace sitepulse

#define SP_LOG(severity, tag, ...) ::sitepulse::Log(::sitepulse::LogSeverity::severity, tag, __VA_ARGS__)
