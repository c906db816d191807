// `sitepulse heal` against real components: a Kafka broker (scripts/kafka.sh) for the events, a
// real HTTP server on loopback for http actions and the webhook escalation, a program for exec
// actions, SIGKILL for the crash. docs/heal.md states the guarantees checked here.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <fstream>
#include <set>
#include <thread>

#include "core/anomaly.h"
#include "tests/app/test_util.h"

extern char** environ;

namespace sitepulse {
namespace {

using testing::Lines;
using testing::ReadFile;
using testing::RunCommand;
using testing::TempDir;

std::string Broker() {
  const char* p = std::getenv("SITEPULSE_KAFKA_PORT");
  return std::string("127.0.0.1:") + (p != nullptr ? p : "9092");
}

std::string UniqueName(const std::string& what) {
  return "sitepulse-heal-" + what + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 1000000);
}

void WriteFile(const std::string& path, const std::string& text, bool executable = false) {
  std::ofstream(path) << text;
  if (executable) chmod(path.c_str(), 0755);
}

// Anomaly events of a loggen run with incidents on three sites (sitepulse run, demo config).
std::string MakeEvents(const TempDir& dir) {
  auto gen = RunCommand(std::string(SITEPULSE_LOGGEN) +
                            " --format nginx --sites 3 --rps 10 --duration 40m --seed 5"
                            " --incident latency,0,10m,8m --incident errors,1,20m,6m"
                            " --incident latency,2,28m,6m --out " + dir / "access.log",
                        dir);
  EXPECT_EQ(gen.exit_code, 0) << gen.err;
  auto run = RunCommand(std::string(SITEPULSE_BINARY) + " run --config " + SITEPULSE_SOURCE_DIR +
                            "/configs/nginx.yaml --input " + dir / "access.log" + " --output file:" +
                            dir / "events.jsonl",
                        dir);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  return ReadFile(dir / "events.jsonl");
}

// Incident ids of firing events.
std::set<std::string> Firing(const std::string& events) {
  std::set<std::string> ids;
  for (const std::string& line : Lines(events)) {
    auto a = AnomalyFromJson(line);
    if (a.ok() && a->state == AlertState::kFiring) ids.insert(a->id);
  }
  return ids;
}

std::string HealFile(const TempDir& dir, const std::string& action, const std::string& extra = "") {
  const std::string path = dir / "heal.yaml";
  WriteFile(path, "heal:\n  escalate: [file:" + dir / "escalations.jsonl" + "]\n" + extra +
                      "rules:\n  - name: fix\n    match: {site: '*'}\n    action: " + action +
                      "\n    verify_for: 1m\n    cooldown: 0s\n");
  return path;
}

// Every event delivered twice (the producer ran twice), read by heal from the topic: the
// actions are exactly those of a heal over the file with each event once; no incident is acted
// on twice; a second heal over the whole topic (another group) adds nothing.
TEST(HealKafkaTest, EachIncidentActedOnceWithEveryEventDeliveredTwice) {
  TempDir dir;
  const std::string events = MakeEvents(dir);
  ASSERT_GE(Firing(events).size(), 3u) << events;
  WriteFile(dir / "act.sh", "#!/bin/sh\necho \"$@\" >> \"$ACTIONS\"\n", true);
  const std::string heal = HealFile(dir, "{exec: [" + dir / "act.sh" + ", '{incident}', '{site}']}");
  auto once = RunCommand("ACTIONS=" + dir / "once.txt" + " " + SITEPULSE_BINARY + " heal --config " +
                             heal + " --ledger " + dir / "once.db" + " --input " + dir / "events.jsonl" +
                             " --clock event --exit-at-end",
                         dir);
  ASSERT_EQ(once.exit_code, 0) << once.err;
  // One partition: the topic holds the events in the run's order, then all of them again.
  const std::string topic = UniqueName("anomalies");
  auto create = RunCommand(std::string(SITEPULSE_SOURCE_DIR) + "/scripts/kafka.sh create " + topic + " 1", dir);
  ASSERT_EQ(create.exit_code, 0) << create.err;
  // sitepulse run publishes its events to the topic, twice over the same logs (a producer that
  // retried everything, or a backfill run again).
  for (int copy = 0; copy < 2; ++copy) {
    auto p = RunCommand(std::string(SITEPULSE_BINARY) + " run --config " + SITEPULSE_SOURCE_DIR +
                            "/configs/nginx.yaml --input " + dir / "access.log" + " --output kafka://" +
                            Broker() + "/" + topic,
                        dir);
    ASSERT_EQ(p.exit_code, 0) << p.err;
  }
  for (const std::string& group : {UniqueName("g1"), UniqueName("g2")}) {
    auto h = RunCommand("ACTIONS=" + dir / "twice.txt" + " " + SITEPULSE_BINARY + " heal --config " +
                            heal + " --ledger " + dir / "twice.db" + " --input 'kafka://" + Broker() +
                            "/" + topic + "?group=" + group + "' --clock event --exit-at-end",
                        dir);
    ASSERT_EQ(h.exit_code, 0) << h.err;
  }
  const std::vector<std::string> a = Lines(ReadFile(dir / "once.txt"));
  const std::vector<std::string> b = Lines(ReadFile(dir / "twice.txt"));
  ASSERT_GE(a.size(), 3u);
  EXPECT_EQ(b, a);
  std::set<std::string> incidents;
  for (const std::string& line : b) {
    EXPECT_TRUE(incidents.insert(line.substr(0, line.find(' '))).second) << "acted twice: " << line;
  }
}

// heal is killed (SIGKILL) while its action runs: after a restart that action is
// unknown_outcome and escalated, never run again, and the other incidents are still handled.
TEST(HealCrashTest, AnInterruptedActionIsUnknownAndNeverRepeated) {
  TempDir dir;
  MakeEvents(dir);
  setenv("ACTIONS", (dir / "actions.txt").c_str(), 1);
  // The first call hangs (until killed); later calls return at once.
  WriteFile(dir / "act.sh",
            "#!/bin/sh\necho \"$@\" >> " + dir / "actions.txt" + "\n" +
                "if [ ! -e " + dir / "hung" + " ]; then touch " + dir / "hung" + "; sleep 60; fi\n",
            true);
  const std::string heal = HealFile(dir, "{exec: [" + dir / "act.sh" + ", '{incident}'], timeout: 120s}");
  std::vector<std::string> argv = {SITEPULSE_BINARY, "heal", "--config", heal, "--ledger",
                                   dir / "ledger.db", "--input", dir / "events.jsonl",
                                   "--clock", "event", "--exit-at-end"};
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  pid_t pid;
  ASSERT_EQ(posix_spawn(&pid, cargv[0], nullptr, nullptr, cargv.data(), environ), 0);
  for (int i = 0; i < 200 && !std::ifstream(dir / "hung").good(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(std::ifstream(dir / "hung").good()) << "the action never started";
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  RunCommand("pkill -KILL -f " + dir / "act.sh", dir);
  const std::string first = Lines(ReadFile(dir / "actions.txt")).at(0);

  auto again = RunCommand(std::string(SITEPULSE_BINARY) + " heal --config " + heal + " --ledger " +
                              dir / "ledger.db" + " --input " + dir / "events.jsonl" +
                              " --clock event --exit-at-end",
                          dir);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  const std::vector<std::string> actions = Lines(ReadFile(dir / "actions.txt"));
  EXPECT_EQ(std::count(actions.begin(), actions.end(), first), 1) << ReadFile(dir / "actions.txt");
  EXPECT_GE(actions.size(), 2u) << "the other incidents were handled after the restart";
  EXPECT_NE(again.err.find("\"unknown_outcome\":1"), std::string::npos) << again.err;
  const std::string escalations = ReadFile(dir / "escalations.jsonl");
  EXPECT_NE(escalations.find("outcome is unknown"), std::string::npos) << escalations;
  auto status = RunCommand(std::string(SITEPULSE_BINARY) + " heal status --ledger " + dir / "ledger.db", dir);
  EXPECT_NE(status.out.find("\"running\":0"), std::string::npos) << status.out;
}

// An http action to a real server that answers 503: action_failed, escalated to a real webhook
// receiver; the URL carries the site percent-encoded; the Authorization header comes from the
// environment, not from the file.
TEST(HealHttpTest, AFailedRequestEscalatesToAWebhook) {
  TempDir dir;
  MakeEvents(dir);
  httplib::Server server;
  std::mutex mu;
  std::vector<std::string> paths, auths, hooks;
  server.Post(R"(/api/sites/(.*)/restart)", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu);
    paths.push_back(req.path);
    auths.push_back(req.get_header_value("Authorization"));
    res.status = 503;
  });
  server.Post("/hook", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu);
    hooks.push_back(req.body);
    res.status = 200;
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  std::thread t([&] { server.listen_after_bind(); });
  setenv("HEAL_TEST_DEPLOY_TOKEN", "s3cret", 1);
  const std::string heal = dir / "heal.yaml";
  WriteFile(heal, "heal:\n  escalate: [webhook+http://127.0.0.1:" + std::to_string(port) + "/hook]\n"
                  "rules:\n  - name: restart\n    match: {site: '*'}\n"
                  "    action: {http: {method: POST, url: 'http://127.0.0.1:" + std::to_string(port) +
                  "/api/sites/{site}/restart', headers: {Authorization: 'Bearer ${HEAL_TEST_DEPLOY_TOKEN}'},"
                  " expect: [200, 202], timeout: 5s}}\n    cooldown: 0s\n");
  auto h = RunCommand(std::string(SITEPULSE_BINARY) + " heal --config " + heal + " --ledger " +
                          dir / "ledger.db" + " --input " + dir / "events.jsonl" + " --clock event --exit-at-end",
                      dir);
  server.stop();
  t.join();
  ASSERT_EQ(h.exit_code, 0) << h.err;
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_FALSE(paths.empty());
  EXPECT_EQ(paths[0].rfind("/api/sites/", 0), 0u);
  EXPECT_EQ(auths[0], "Bearer s3cret");
  EXPECT_EQ(hooks.size(), paths.size()) << "one escalation per failed action";
  EXPECT_NE(hooks[0].find("action failed"), std::string::npos) << hooks[0];
  EXPECT_NE(h.err.find("\"action_failed\""), std::string::npos) << h.err;
}

// An action that does not help (the incident outlives verify_for): the undo runs and a real
// webhook receiver gets one escalation per incident, naming the undo.
TEST(HealHttpTest, FailedVerificationRunsTheUndoAndEscalatesToAWebhook) {
  TempDir dir;
  MakeEvents(dir);
  httplib::Server server;
  std::mutex mu;
  std::vector<std::string> hooks;
  server.Post("/hook", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu);
    hooks.push_back(req.body);
    res.status = 200;
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  std::thread t([&] { server.listen_after_bind(); });
  WriteFile(dir / "act.sh", "#!/bin/sh\necho \"$@\" >> " + dir / "calls.txt" + "\n", true);
  const std::string heal = dir / "heal.yaml";
  WriteFile(heal, "heal:\n  escalate: [webhook+http://127.0.0.1:" + std::to_string(port) + "/hook]\n"
                  "rules:\n  - name: restart\n    match: {site: '*'}\n"
                  "    action: {exec: [" + dir / "act.sh" + ", restart, '{site}']}\n"
                  "    undo: {exec: [" + dir / "act.sh" + ", undo, '{site}']}\n"
                  "    verify_for: 10s\n    cooldown: 0s\n");
  auto h = RunCommand(std::string(SITEPULSE_BINARY) + " heal --config " + heal + " --ledger " +
                          dir / "ledger.db" + " --input " + dir / "events.jsonl" + " --clock event --exit-at-end",
                      dir);
  server.stop();
  t.join();
  ASSERT_EQ(h.exit_code, 0) << h.err;
  const std::vector<std::string> calls = Lines(ReadFile(dir / "calls.txt"));
  const auto restarts = std::count_if(calls.begin(), calls.end(), [](const std::string& c) { return c.rfind("restart ", 0) == 0; });
  const auto undos = std::count_if(calls.begin(), calls.end(), [](const std::string& c) { return c.rfind("undo ", 0) == 0; });
  // Every failed verification ran its undo and escalated once; the rest verified or still wait.
  const size_t at = h.err.find("\"failed_verify\":");
  ASSERT_NE(at, std::string::npos) << h.err;
  const long failed = std::atol(h.err.c_str() + at + 16);
  EXPECT_GT(failed, 0);
  EXPECT_EQ(undos, failed) << ReadFile(dir / "calls.txt");
  EXPECT_LE(undos, restarts);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(static_cast<long>(hooks.size()), failed);
  ASSERT_FALSE(hooks.empty());
  EXPECT_NE(hooks[0].find("undo succeeded"), std::string::npos) << hooks[0];
}

}  // namespace
}  // namespace sitepulse
