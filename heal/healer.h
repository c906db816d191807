// The heal decision engine: it takes anomaly events (and deploy markers), decides per matching
// rule what to do under the guardrails, runs the action, verifies it by the detector's own
// resolved event, undoes and escalates when it did not help, and records every step in the
// ledger (heal/ledger.h). docs/heal.md lists the outcome codes and the guarantees.
//
// Order of the checks for a firing event and a matching rule (the first that applies decides):
// duplicate (ignored: the decision exists) → site_pattern → paused → rule suspended for the site
// → breaker → an action of the rule on the site in flight → deploy_within → cooldown →
// max_attempts → shadow mode → approval (awaiting_approval until approved or expired) → act.
//
// Time is injected: every call takes `now` (event time with --clock event, the wall clock
// otherwise), so a recorded stream replays to the same decisions.
//
// Threading: the caller's thread decides and records; actions run on worker threads (at most
// max_concurrent), whose results are recorded by the caller's thread in Collect (called by
// OnEvent, Tick and Drain). With the event clock each action is waited for before the next
// event (a replay is deterministic); with the wall clock they overlap.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/anomaly.h"
#include "core/metrics.h"
#include "heal/action_runner.h"
#include "heal/heal_rules.h"
#include "heal/ledger.h"
#include "sinks/anomaly_sink.h"
#include "sinks/jsonl_writer.h"
#include "sinks/kafka_producer.h"

namespace sitepulse {

// Every outcome code a decision step can have.
const std::vector<std::string_view>& HealOutcomes();

class Healer {
 public:
  struct Outputs {
    std::vector<std::unique_ptr<AnomalySink>> escalate;  // escalations, as anomaly events
    std::unique_ptr<JsonlWriter> audit;                   // every step as a JSON line
    std::unique_ptr<KafkaProducer> audit_kafka;           // or to a topic, keyed by site
  };
  // `event_clock`: action times and verification windows follow the events' time.
  Healer(const HealConfig& config, Ledger* ledger, ActionRunner* runner, Outputs outputs,
         MetricsRegistry* metrics, bool event_clock);
  ~Healer();

  // On start: actions begun but never recorded as finished (a crash) are unknown_outcome and
  // escalated, never run again.
  void Recover(EventTime now);
  void OnEvent(const Anomaly& a, EventTime now);
  void OnDeploy(const LedgerDeploy& d);
  // Verifications that ran out (failed_verify → undo → escalated), finished actions.
  void Tick(EventTime now);
  // Waits for every action in flight and records it (the end of the inputs, a stop).
  void Drain(EventTime now);
  // A person approved decision `id` (POST /approve/ID): its action starts now if the decision
  // still awaits approval, has not expired and heal is not paused; else why not.
  absl::Status Approve(int64_t id, EventTime now);
  // Decisions still waiting for their verification.
  size_t awaiting() const { return awaiting_.size(); }
  size_t awaiting_approval() const { return approvals_.size(); }
  size_t in_flight() const;

 private:
  struct Running;  // an action on a worker thread
  void Decide(const HealRule& rule, const Anomaly& a, EventTime now);
  // The first guardrail that stops `rule` for `a`, as (outcome, reason); empty: act.
  std::pair<std::string, std::string> Guardrail(const HealRule& rule, const Anomaly& a,
                                                EventTime now);
  void Start(int64_t decision, const HealRule& rule, const HealAction& action, bool undo,
             const std::map<std::string, std::string>& values, EventTime now);
  void Collect(EventTime now, bool wait_one = false);
  void Finished(Running& r, EventTime now);
  void OnResolved(const Anomaly& a, EventTime now);
  void CheckReopen(const Anomaly& a, EventTime now);
  void NoteBreaker(const std::string& site, EventTime now);
  // Distinct sites among the matching firing events within breaker_within of `now`.
  size_t RecentSites(EventTime now);
  void Escalate(const LedgerDecision& d, const std::string& what, EventTime now);
  void Record(int64_t decision, EventTime now, const std::string& outcome,
              const std::string& reason, const ActionResult* result = nullptr,
              const std::string& action = "");
  std::map<std::string, std::string> Values(const HealRule& rule, const Anomaly& a,
                                            EventTime at);
  const HealRule* RuleNamed(const std::string& name) const;

  const HealConfig& config_;
  Ledger* ledger_;
  ActionRunner* runner_;
  Outputs outputs_;
  MetricsRegistry* metrics_;
  bool event_clock_;
  Gauge* in_flight_gauge_;
  Gauge* breaker_gauge_;
  Gauge* paused_gauge_;

  std::vector<std::unique_ptr<Running>> running_;
  mutable std::mutex done_mu_;
  std::condition_variable done_cv_;
  std::vector<Running*> done_;  // finished on a worker, not yet recorded
  // Decisions acted on, waiting for their incident's resolved event, with what the checks on
  // every event need of them (no ledger read per event and waiting decision).
  struct Awaiting {
    EventTime until = 0;
    std::string rule, site, incident;
    EventTime decided_at = 0;
  };
  std::map<int64_t, Awaiting> awaiting_;
  std::set<std::string> resolved_incidents_;  // resolved while their action was in flight
  // Decisions waiting for a person's approval: id -> expiry.
  std::map<int64_t, EventTime> approvals_;
  // Breaker: (time, site) of matching firing events within breaker_within.
  std::deque<std::pair<EventTime, std::string>> recent_;
};

}  // namespace sitepulse
