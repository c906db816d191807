// The heal ledger: an embedded SQLite database (WAL mode) holding every decision and each step
// of it (intent, action result, verification, undo, escalation) with its reason, the action's
// argv or request, its exit or HTTP status, its captured output (bounded) and timings; the
// deploy markers heard; and the kill switch and breaker state. It is what makes actions
// exactly-once (a decision is unique per (rule, incident), and its intent is written before
// the action starts) and what `heal status` and `timeline` read.
//
// Threading: one connection per Ledger; the healer's thread only. Another process (heal
// pause|resume|status) opens its own connection; SQLite's locking and a busy timeout serialise
// them.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/time.h"

struct sqlite3;
struct sqlite3_stmt;

namespace sitepulse {

struct LedgerDecision {
  int64_t id = 0;
  std::string rule, site, incident, detector, severity;
  EventTime started_at = 0;  // the incident's
  EventTime decided_at = 0;
  std::string outcome;  // the latest step's (docs/heal.md lists the codes)
  std::string reason;
  EventTime verify_until = 0;  // acted: the resolved event must come before this
};

struct LedgerStep {
  int64_t id = 0;
  int64_t decision = 0;
  EventTime at = 0;
  int64_t wall_ns = 0;
  std::string outcome, reason;
  std::string action;  // JSON: the argv or the request
  int status = -1;     // exit status or HTTP status; -1: none
  std::string output;  // captured, bounded
  int64_t duration_ms = 0;
};

struct LedgerDeploy {
  std::string site, version, previous_version;
  EventTime at = 0;
};

class Ledger {
 public:
  static absl::StatusOr<std::unique_ptr<Ledger>> Open(const std::string& path);
  ~Ledger();

  // A new decision; AlreadyExists when (rule, incident) has one (a duplicate event).
  absl::StatusOr<int64_t> Decide(const LedgerDecision& d);
  std::optional<LedgerDecision> Find(const std::string& rule, const std::string& incident);
  std::optional<LedgerDecision> Get(int64_t id);
  // Appends a step and makes its outcome the decision's.
  absl::Status Step(const LedgerStep& s);
  absl::Status SetVerifyUntil(int64_t decision, EventTime until);
  // Decisions whose latest outcome is one of `outcomes`.
  std::vector<LedgerDecision> WithOutcome(const std::vector<std::string>& outcomes);
  // Actions taken for (rule, site) since `since` (decisions that reached the action), and the
  // newest one's time.
  int CountActed(const std::string& rule, const std::string& site, EventTime since);
  std::optional<EventTime> LastActed(const std::string& rule, const std::string& site);
  // The newest decision for (site, detector) that verified, for the reopen check.
  std::optional<LedgerDecision> LastVerified(const std::string& site, const std::string& detector);
  // The outcomes of the newest `n` decisions of (rule, site) that reached their action.
  std::vector<std::string> RecentActedOutcomes(const std::string& rule, const std::string& site,
                                               int n);
  std::vector<LedgerStep> Steps(int64_t decision);
  std::vector<LedgerDecision> Decisions(const std::string& site, EventTime from, EventTime to);
  // Counts of steps by outcome (for status and /metrics).
  std::vector<std::pair<std::string, int64_t>> OutcomeCounts();

  absl::Status AddDeploy(const LedgerDeploy& d);
  // The site's newest deploy at or before `at`.
  std::optional<LedgerDeploy> LastDeploy(const std::string& site, EventTime at);

  // Small persistent settings: paused, breaker state, suspended (rule, site) pairs.
  std::optional<std::string> GetState(const std::string& key);
  absl::Status SetState(const std::string& key, const std::string& value);
  absl::Status DeleteState(const std::string& key);
  // Keys starting with `prefix`.
  std::vector<std::string> StateKeys(const std::string& prefix);

 private:
  explicit Ledger(sqlite3* db) : db_(db) {}
  absl::Status Exec(const char* sql);
  absl::Status Error(const char* what) const;
  sqlite3* db_;
};

}  // namespace sitepulse
