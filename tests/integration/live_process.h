// Runs sitepulse as a child process fed through a FIFO, for tests that need a live pipeline
// (alerting while the input is still open, scraping /metrics). argv only, no shell.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "tests/app/test_util.h"

extern char** environ;

namespace sitepulse::testing {

class LiveSitepulse {
 public:
  // Starts `sitepulse run ARGS... --input FIFO` with stderr to a file in `dir`.
  LiveSitepulse(const TempDir& dir, std::vector<std::string> args) {
    fifo_ = dir / "input.fifo";
    stderr_path_ = dir / "sitepulse.stderr";
    mkfifo(fifo_.c_str(), 0600);
    std::vector<std::string> argv = {SITEPULSE_BINARY, "run"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--input");
    argv.push_back(fifo_);
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 2, stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 1, (dir / "sitepulse.stdout").c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn(&pid_, cargv[0], &actions, nullptr, cargv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    // Wait for sitepulse to open the FIFO, unless it exits first (a bad config, say).
    for (int i = 0; i < 600 && fd_ < 0; ++i) {
      // O_CLOEXEC: a service the test starts meanwhile must not inherit the write end
      // (sitepulse would never see the end of its input).
      fd_ = open(fifo_.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
      if (fd_ >= 0) break;
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        waited_ = true;
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (fd_ >= 0) fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) & ~O_NONBLOCK);
  }
  // True while sitepulse runs and reads its input.
  bool running() const { return fd_ >= 0 && !waited_; }
  pid_t pid() const { return pid_; }
  ~LiveSitepulse() {
    Close();
    if (pid_ > 0 && !waited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  void Write(const std::string& data) {
    if (fd_ < 0) return;
    size_t off = 0;
    while (off < data.size()) {
      const ssize_t n = write(fd_, data.data() + off, data.size() - off);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
  }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  // Closes the input and waits for the exit code (-1 after `timeout`).
  int Wait(std::chrono::seconds timeout = std::chrono::seconds(180)) {
    Close();
    if (waited_) return exit_code_;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        waited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return -1;
  }
  std::string Stderr() const { return ReadFile(stderr_path_); }

 private:
  std::string fifo_;
  std::string stderr_path_;
  pid_t pid_ = -1;
  int fd_ = -1;
  bool waited_ = false;
  int exit_code_ = -1;
};

// The port a run serves /metrics on, from its log line (0: not yet).
inline int ListenPort(const std::string& stderr_text) {
  std::smatch m;
  static const std::regex re("serving /metrics, /healthz, /readyz on 127\\.0\\.0\\.1:([0-9]+)");
  if (!std::regex_search(stderr_text, m, re)) return 0;
  return std::stoi(m[1]);
}

// Polls `check` every 100 ms until it is true or `timeout` passes.
inline bool Eventually(const std::function<bool()>& check,
                       std::chrono::milliseconds timeout = std::chrono::milliseconds(20000)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (check()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return check();
}

// Splits a generated nginx log at the first line whose time starts with `prefix`
// ("2025-01-01T00:18"): {before, from there on}.
inline std::pair<std::string, std::string> SplitAtTime(const std::string& log, const std::string& prefix) {
  const size_t at = log.find("\"time_iso8601\":\"" + prefix);
  if (at == std::string::npos) return {log, ""};
  const size_t line_start = log.rfind('\n', at);
  const size_t cut = line_start == std::string::npos ? 0 : line_start + 1;
  return {log.substr(0, cut), log.substr(cut)};
}

}  // namespace sitepulse::testing
