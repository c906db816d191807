#include "heal/ledger.h"

#include <sqlite3.h>

#include <chrono>

#include "core/strings.h"

namespace sitepulse {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS decisions (
  id INTEGER PRIMARY KEY,
  rule TEXT NOT NULL, site TEXT NOT NULL, incident TEXT NOT NULL,
  detector TEXT NOT NULL, severity TEXT NOT NULL,
  started_at INTEGER NOT NULL, decided_at INTEGER NOT NULL,
  outcome TEXT NOT NULL, reason TEXT NOT NULL,
  verify_until INTEGER NOT NULL DEFAULT 0,
  UNIQUE (rule, incident));
CREATE INDEX IF NOT EXISTS decisions_rule_site ON decisions (rule, site, decided_at);
CREATE INDEX IF NOT EXISTS decisions_outcome ON decisions (outcome);
CREATE TABLE IF NOT EXISTS steps (
  id INTEGER PRIMARY KEY,
  decision INTEGER NOT NULL REFERENCES decisions (id),
  at INTEGER NOT NULL, wall_ns INTEGER NOT NULL,
  outcome TEXT NOT NULL, reason TEXT NOT NULL,
  action TEXT NOT NULL DEFAULT '', status INTEGER NOT NULL DEFAULT -1,
  output TEXT NOT NULL DEFAULT '', duration_ms INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS steps_decision ON steps (decision);
CREATE TABLE IF NOT EXISTS deploys (
  site TEXT NOT NULL, version TEXT NOT NULL, previous_version TEXT NOT NULL, at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS deploys_site ON deploys (site, at);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
)sql";

// The outcomes of decisions that reached their action.
constexpr const char* kActedOutcomes =
    "('running','acted','verified','failed_verify','undone','ineffective','action_failed',"
    "'unknown_outcome','escalated')";

// A prepared statement, finalized when it goes out of scope.
class Stmt {
 public:
  Stmt(sqlite3* db, const std::string& sql) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s_, nullptr) != SQLITE_OK) s_ = nullptr;
  }
  ~Stmt() { sqlite3_finalize(s_); }
  bool ok() const { return s_ != nullptr; }
  Stmt& Bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return s_ == nullptr ? SQLITE_ERROR : sqlite3_step(s_); }
  int64_t Int(int col) const { return sqlite3_column_int64(s_, col); }
  std::string Text(int col) const {
    const unsigned char* t = sqlite3_column_text(s_, col);
    return t == nullptr ? std::string()
                        : std::string(reinterpret_cast<const char*>(t),
                                      static_cast<size_t>(sqlite3_column_bytes(s_, col)));
  }

 private:
  sqlite3_stmt* s_ = nullptr;
};

constexpr const char* kDecisionColumns =
    "id, rule, site, incident, detector, severity, started_at, decided_at, outcome, reason, "
    "verify_until";

LedgerDecision ReadDecision(const Stmt& s) {
  LedgerDecision d;
  d.id = s.Int(0);
  d.rule = s.Text(1);
  d.site = s.Text(2);
  d.incident = s.Text(3);
  d.detector = s.Text(4);
  d.severity = s.Text(5);
  d.started_at = s.Int(6);
  d.decided_at = s.Int(7);
  d.outcome = s.Text(8);
  d.reason = s.Text(9);
  d.verify_until = s.Int(10);
  return d;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Ledger>> Ledger::Open(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    std::string why = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return absl::UnavailableError(StrCat("ledger ", path, ": ", why));
  }
  std::unique_ptr<Ledger> l(new Ledger(db));
  sqlite3_busy_timeout(db, 5000);
  // WAL: readers (heal status, timeline) never block the healer; synchronous=FULL: a decision
  // written is on disk before its action starts (exactly once across a crash).
  for (const char* sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", kSchema}) {
    if (absl::Status st = l->Exec(sql); !st.ok()) {
      return absl::UnavailableError(StrCat("ledger ", path, ": ", st.message()));
    }
  }
  return l;
}

Ledger::~Ledger() { sqlite3_close(db_); }

absl::Status Ledger::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string why = err != nullptr ? err : "error";
    sqlite3_free(err);
    return absl::InternalError(why);
  }
  return absl::OkStatus();
}

absl::Status Ledger::Error(const char* what) const {
  return absl::InternalError(StrCat("ledger: ", what, ": ", sqlite3_errmsg(db_)));
}

absl::StatusOr<int64_t> Ledger::Decide(const LedgerDecision& d) {
  Stmt s(db_,
         "INSERT INTO decisions (rule, site, incident, detector, severity, started_at, "
         "decided_at, outcome, reason, verify_until) VALUES (?,?,?,?,?,?,?,?,?,?)");
  s.Bind(1, d.rule).Bind(2, d.site).Bind(3, d.incident).Bind(4, d.detector).Bind(5, d.severity);
  s.Bind(6, d.started_at).Bind(7, d.decided_at).Bind(8, d.outcome).Bind(9, d.reason);
  s.Bind(10, d.verify_until);
  const int rc = s.Step();
  if (rc == SQLITE_CONSTRAINT) return absl::AlreadyExistsError("decided already");
  if (rc != SQLITE_DONE) return Error("insert decision");
  return sqlite3_last_insert_rowid(db_);
}

std::optional<LedgerDecision> Ledger::Find(const std::string& rule, const std::string& incident) {
  Stmt s(db_, StrCat("SELECT ", kDecisionColumns, " FROM decisions WHERE rule = ? AND incident = ?"));
  s.Bind(1, rule).Bind(2, incident);
  if (s.Step() != SQLITE_ROW) return std::nullopt;
  return ReadDecision(s);
}

std::optional<LedgerDecision> Ledger::Get(int64_t id) {
  Stmt s(db_, StrCat("SELECT ", kDecisionColumns, " FROM decisions WHERE id = ?"));
  s.Bind(1, id);
  if (s.Step() != SQLITE_ROW) return std::nullopt;
  return ReadDecision(s);
}

absl::Status Ledger::Step(const LedgerStep& step) {
  if (absl::Status st = Exec("BEGIN IMMEDIATE"); !st.ok()) return st;
  Stmt s(db_,
         "INSERT INTO steps (decision, at, wall_ns, outcome, reason, action, status, output, "
         "duration_ms) VALUES (?,?,?,?,?,?,?,?,?)");
  const int64_t wall = step.wall_ns != 0
                           ? step.wall_ns
                           : std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
  s.Bind(1, step.decision).Bind(2, step.at).Bind(3, wall).Bind(4, step.outcome);
  s.Bind(5, step.reason).Bind(6, step.action).Bind(7, static_cast<int64_t>(step.status));
  s.Bind(8, step.output).Bind(9, step.duration_ms);
  Stmt u(db_, "UPDATE decisions SET outcome = ?, reason = ? WHERE id = ?");
  u.Bind(1, step.outcome).Bind(2, step.reason).Bind(3, step.decision);
  if (s.Step() != SQLITE_DONE || u.Step() != SQLITE_DONE) {
    absl::Status st = Error("record step");
    Exec("ROLLBACK").IgnoreError();
    return st;
  }
  return Exec("COMMIT");
}

absl::Status Ledger::SetVerifyUntil(int64_t decision, EventTime until) {
  Stmt s(db_, "UPDATE decisions SET verify_until = ? WHERE id = ?");
  s.Bind(1, until).Bind(2, decision);
  return s.Step() == SQLITE_DONE ? absl::OkStatus() : Error("set verify_until");
}

std::vector<LedgerDecision> Ledger::WithOutcome(const std::vector<std::string>& outcomes) {
  std::vector<LedgerDecision> out;
  for (const std::string& o : outcomes) {
    Stmt s(db_, StrCat("SELECT ", kDecisionColumns, " FROM decisions WHERE outcome = ? ORDER BY id"));
    s.Bind(1, o);
    while (s.Step() == SQLITE_ROW) out.push_back(ReadDecision(s));
  }
  return out;
}

int Ledger::CountActed(const std::string& rule, const std::string& site, EventTime since) {
  Stmt s(db_, StrCat("SELECT COUNT(*) FROM decisions WHERE rule = ? AND site = ? AND decided_at >= ? "
                     "AND outcome IN ", kActedOutcomes));
  s.Bind(1, rule).Bind(2, site).Bind(3, since);
  return s.Step() == SQLITE_ROW ? static_cast<int>(s.Int(0)) : 0;
}

std::optional<EventTime> Ledger::LastActed(const std::string& rule, const std::string& site) {
  Stmt s(db_, StrCat("SELECT MAX(decided_at) FROM decisions WHERE rule = ? AND site = ? AND outcome IN ",
                     kActedOutcomes));
  s.Bind(1, rule).Bind(2, site);
  if (s.Step() != SQLITE_ROW || s.Text(0).empty()) return std::nullopt;
  return s.Int(0);
}

std::optional<LedgerDecision> Ledger::LastVerified(const std::string& site,
                                                   const std::string& detector) {
  Stmt s(db_, StrCat("SELECT ", kDecisionColumns,
                     " FROM decisions WHERE site = ? AND detector = ? AND outcome = 'verified' "
                     "ORDER BY decided_at DESC, id DESC LIMIT 1"));
  s.Bind(1, site).Bind(2, detector);
  if (s.Step() != SQLITE_ROW) return std::nullopt;
  return ReadDecision(s);
}

std::vector<std::string> Ledger::RecentActedOutcomes(const std::string& rule,
                                                     const std::string& site, int n) {
  std::vector<std::string> out;
  // A decision marked ineffective may have been escalated since: it still counts as ineffective.
  Stmt s(db_, StrCat("SELECT CASE WHEN EXISTS (SELECT 1 FROM steps WHERE steps.decision = d.id AND "
                     "steps.outcome = 'ineffective') THEN 'ineffective' ELSE d.outcome END "
                     "FROM decisions d WHERE rule = ? AND site = ? AND outcome IN ",
                     kActedOutcomes, " ORDER BY decided_at DESC, id DESC LIMIT ?"));
  s.Bind(1, rule).Bind(2, site).Bind(3, static_cast<int64_t>(n));
  while (s.Step() == SQLITE_ROW) out.push_back(s.Text(0));
  return out;
}

std::vector<LedgerStep> Ledger::Steps(int64_t decision) {
  std::vector<LedgerStep> out;
  Stmt s(db_,
         "SELECT id, decision, at, wall_ns, outcome, reason, action, status, output, duration_ms "
         "FROM steps WHERE decision = ? ORDER BY id");
  s.Bind(1, decision);
  while (s.Step() == SQLITE_ROW) {
    LedgerStep st;
    st.id = s.Int(0);
    st.decision = s.Int(1);
    st.at = s.Int(2);
    st.wall_ns = s.Int(3);
    st.outcome = s.Text(4);
    st.reason = s.Text(5);
    st.action = s.Text(6);
    st.status = static_cast<int>(s.Int(7));
    st.output = s.Text(8);
    st.duration_ms = s.Int(9);
    out.push_back(std::move(st));
  }
  return out;
}

std::vector<LedgerDecision> Ledger::Decisions(const std::string& site, EventTime from, EventTime to) {
  std::vector<LedgerDecision> out;
  Stmt s(db_, StrCat("SELECT ", kDecisionColumns,
                     " FROM decisions WHERE (? = '' OR site = ?) AND decided_at >= ? AND "
                     "decided_at <= ? ORDER BY decided_at, id"));
  s.Bind(1, site).Bind(2, site).Bind(3, from).Bind(4, to);
  while (s.Step() == SQLITE_ROW) out.push_back(ReadDecision(s));
  return out;
}

std::vector<std::pair<std::string, int64_t>> Ledger::OutcomeCounts() {
  std::vector<std::pair<std::string, int64_t>> out;
  Stmt s(db_, "SELECT outcome, COUNT(*) FROM steps GROUP BY outcome ORDER BY outcome");
  while (s.Step() == SQLITE_ROW) out.emplace_back(s.Text(0), s.Int(1));
  return out;
}

absl::Status Ledger::AddDeploy(const LedgerDeploy& d) {
  Stmt s(db_, "INSERT INTO deploys (site, version, previous_version, at) VALUES (?,?,?,?)");
  s.Bind(1, d.site).Bind(2, d.version).Bind(3, d.previous_version).Bind(4, d.at);
  return s.Step() == SQLITE_DONE ? absl::OkStatus() : Error("insert deploy");
}

std::optional<LedgerDeploy> Ledger::LastDeploy(const std::string& site, EventTime at) {
  Stmt s(db_,
         "SELECT site, version, previous_version, at FROM deploys WHERE site = ? AND at <= ? "
         "ORDER BY at DESC LIMIT 1");
  s.Bind(1, site).Bind(2, at);
  if (s.Step() != SQLITE_ROW) return std::nullopt;
  return LedgerDeploy{s.Text(0), s.Text(1), s.Text(2), s.Int(3)};
}

std::optional<std::string> Ledger::GetState(const std::string& key) {
  Stmt s(db_, "SELECT value FROM state WHERE key = ?");
  s.Bind(1, key);
  if (s.Step() != SQLITE_ROW) return std::nullopt;
  return s.Text(0);
}

absl::Status Ledger::SetState(const std::string& key, const std::string& value) {
  Stmt s(db_, "INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value");
  s.Bind(1, key).Bind(2, value);
  return s.Step() == SQLITE_DONE ? absl::OkStatus() : Error("set state");
}

absl::Status Ledger::DeleteState(const std::string& key) {
  Stmt s(db_, "DELETE FROM state WHERE key = ?");
  s.Bind(1, key);
  return s.Step() == SQLITE_DONE ? absl::OkStatus() : Error("delete state");
}

std::vector<std::string> Ledger::StateKeys(const std::string& prefix) {
  std::vector<std::string> out;
  Stmt s(db_, "SELECT key FROM state WHERE substr(key, 1, length(?)) = ? ORDER BY key");
  s.Bind(1, prefix).Bind(2, prefix);
  while (s.Step() == SQLITE_ROW) out.push_back(s.Text(0));
  return out;
}

}  // namespace sitepulse
