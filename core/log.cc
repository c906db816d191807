#include "core/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>

namespace sitepulse {
namespace {
std::atomic<int> g_min_level{static_cast<int>(LogSeverity::kInfo)};
std::mutex g_capture_mu;
std::function<void(LogSeverity, std::string_view, std::string_view)> g_capture;
std::atomic<bool> g_capturing{false};
}  // namespace

bool ParseLogSeverity(std::string_view s, LogSeverity* out) {
  if (s == "debug") *out = LogSeverity::kDebug;
  else if (s == "info") *out = LogSeverity::kInfo;
  else if (s == "warning") *out = LogSeverity::kWarning;
  else if (s == "error") *out = LogSeverity::kError;
  else return false;
  return true;
}

void SetLogLevel(LogSeverity min) { g_min_level.store(static_cast<int>(min)); }

bool LogEnabled(LogSeverity s) {
  return static_cast<int>(s) >= g_min_level.load(std::memory_order_relaxed);
}

void SetLogCapture(std::function<void(LogSeverity, std::string_view, std::string_view)> capture) {
  std::lock_guard<std::mutex> lock(g_capture_mu);
  g_capture = std::move(capture);
  g_capturing.store(g_capture != nullptr);
}

void LogLine(LogSeverity severity, std::string_view tag, std::string_view message) {
  if (!LogEnabled(severity)) return;
  std::string line = "sitepulse: ";
  switch (severity) {
    case LogSeverity::kDebug:
      line += "debug [";
      break;
    case LogSeverity::kInfo:
      line += "[";
      break;
    case LogSeverity::kWarning:
      line += "warning [";
      break;
    case LogSeverity::kError:
      line += "error [";
      break;
  }
  line.append(tag);
  line += severity == LogSeverity::kInfo ? "] " : "]: ";
  line.append(message);
  if (g_capturing.load()) {
    std::lock_guard<std::mutex> lock(g_capture_mu);
    if (g_capture) {
      g_capture(severity, tag, line);
      return;
    }
  }
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace sitepulse
