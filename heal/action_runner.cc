#include "heal/action_runner.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "core/strings.h"

extern char** environ;

namespace sitepulse {
namespace {

int64_t MillisSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
      .count();
}

void Keep(std::string* out, const char* data, size_t n) {
  const size_t room = ActionRunner::kMaxOutput - std::min(out->size(), ActionRunner::kMaxOutput);
  out->append(data, std::min(n, room));
}

}  // namespace

ActionResult ActionRunner::RunExec(const std::vector<std::string>& argv, DurationNs timeout) {
  ActionResult r;
  const auto t0 = std::chrono::steady_clock::now();
  if (argv.empty()) {
    r.error = "empty argv";
    return r;
  }
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    r.error = StrCat("pipe: ", std::strerror(errno));
    return r;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own process group: a timeout kills what it started too.
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  const int rc = posix_spawnp(&pid, args[0], &fa, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    r.error = StrCat("cannot run ", argv[0], ": ", std::strerror(rc));
    r.duration_ms = MillisSince(t0);
    return r;
  }
  const auto deadline = t0 + std::chrono::nanoseconds(timeout);
  char buf[4096];
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) {
      r.timed_out = true;
      kill(-pid, SIGKILL);
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    const int n = poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 1000)));
    if (n < 0 && errno != EINTR) break;
    if (n <= 0) continue;
    const ssize_t got = read(fds[0], buf, sizeof(buf));
    if (got <= 0) break;  // EOF: the program closed its output (usually: it exited)
    Keep(&r.output, buf, static_cast<size_t>(got));
  }
  close(fds[0]);
  int wstatus = 0;
  // The output is closed; the program may still run (it closed its stdout): wait for it within
  // what is left of the timeout.
  while (true) {
    const pid_t w = waitpid(pid, &wstatus, r.timed_out ? 0 : WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      r.timed_out = true;
      kill(-pid, SIGKILL);
      continue;
    }
    usleep(2000);
  }
  r.duration_ms = MillisSince(t0);
  if (WIFEXITED(wstatus)) r.status = WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) r.status = 128 + WTERMSIG(wstatus);
  r.ok = !r.timed_out && WIFEXITED(wstatus) && r.status == 0;
  if (r.timed_out) r.error = StrCat("timed out after ", timeout / 1000000, " ms (killed)");
  return r;
}

namespace {
size_t OnBody(char* data, size_t size, size_t n, void* user) {
  Keep(static_cast<std::string*>(user), data, size * n);
  return size * n;
}
}  // namespace

ActionResult ActionRunner::RunHttp(const HttpRequest& req) {
  ActionResult r;
  const auto t0 = std::chrono::steady_clock::now();
  CURL* c = curl_easy_init();
  if (c == nullptr) {
    r.error = "libcurl: cannot start";
    return r;
  }
  curl_slist* headers = nullptr;
  for (const auto& [k, v] : req.headers) headers = curl_slist_append(headers, StrCat(k, ": ", v).c_str());
  curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  if (!req.body.empty() || req.method == "POST" || req.method == "PUT") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(req.body.size()));
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout / 1000000));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.output);
  const CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(c);
  r.duration_ms = MillisSince(t0);
  if (rc != CURLE_OK) {
    r.timed_out = rc == CURLE_OPERATION_TIMEDOUT;
    r.error = curl_easy_strerror(rc);
    return r;
  }
  r.status = static_cast<int>(status);
  r.ok = std::find(req.expect.begin(), req.expect.end(), r.status) != req.expect.end();
  if (!r.ok) r.error = StrCat("HTTP ", r.status, " is not one of the expected statuses");
  return r;
}

}  // namespace sitepulse
