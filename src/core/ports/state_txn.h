// StateTxn: the row-level port the core's rules run over (docs/design.md#state-port).
//
// A backend (MemoryRunStore, the SQLite and PostgreSQL stores) maps rows and runs a
// core transaction function atomically: it opens a transaction, hands the function a
// StateTxn, and commits what the function wrote (rows and audit events together) or
// nothing. It may batch several functions into one commit and run a function again after
// a rollback, so a transaction function must write its outputs from scratch each time.
// The backend holds no rule: ownership, ended runs, usage and elapsed time, approval
// redemption and which audit events a change makes are decided by the function (see
// core/decide_txn.h, core/approval_txn.h).
//
// Every method runs inside the open transaction; none is thread-safe on its own (a
// StateTxn belongs to the one thread running the transaction function).
#ifndef INTERLOCK_CORE_PORTS_STATE_TXN_H_
#define INTERLOCK_CORE_PORTS_STATE_TXN_H_

#include <cstdint>
#include <optional>

#include <boost/json/object.hpp>
#include <string>
#include <string_view>

#include "audit/audit_event.h"
#include "common/time.h"
#include "core/ports/approvals.h"
#include "core/ports/run_store.h"
#include "engine/engine.h"
#include "interlock/decision.h"
#include "interlock/result.h"

namespace interlock::core {

// A run row as the core reads and writes it.
struct RunRow {
  std::string agent_id;
  TimePoint started;
  RunState state;  // elapsed_ms is not stored
  bool ended = false;
  // The backend's version of the row when it was loaded. SaveRun writes only if the row
  // is still at this version (no other transaction changed it since).
  uint64_t version = 0;
  // When the run ended: set by the transaction function that ends it (SaveRun stores it
  // with ended); not read back by LoadRunForUpdate.
  TimePoint ended_at{};
  // Its place in a tree of runs (docs/governance.md#child-runs), fixed when the run is
  // created (InsertRun) and never written by SaveRun: the parent run ("" for a root run),
  // the role it was started in (a sub-agent's type; "" none) and its depth (0 for a root).
  std::string parent_run_id;
  std::string role;
  int depth = 0;
};

// A run to insert (StateTxn::InsertRun): a child run, created by core::CreateChildRunInTxn.
struct NewRun {
  std::string run_id;
  std::string agent_id;
  TimePoint started;
  std::string parent_run_id;
  std::string role;
  int depth = 0;
  // The run's workspace (a child run's is its parent's), kept in its sequence state.
  RunWorkspace workspace;
};

// A call row to insert. The JSON texts are the canonical forms the core composed for the
// audit record (the backend stores the same bytes); valid until InsertCall returns.
struct NewCall {
  const DecideRequest& request;
  const Decision& decision;
  const RunState& state_after;
  std::string_view args_json;      // redacted and masked arguments
  std::string_view decision_json;  // the decision (masked)
};

// What recording a call's result checks: the call's run and agent, its verdict, and
// whether it has a result already.
struct CallResultRow {
  std::string run_id;
  std::string agent_id;
  // The principal the call was decided under (CallRecord::principal): only that identity
  // reports its result or rehearsal (issue 31).
  std::string principal;
  Verdict verdict = Verdict::kDeny;
  bool has_result = false;
  // The call as recorded (arguments redacted as stored), for a result's workflow move.
  // A backend may leave it empty when the request did not ask for it (a memory store
  // keeps it only for DecideRequest::results_move_workflow).
  std::string tool;
  boost::json::object args;
};

// The first delivery of an approved call's allow: what the release checks, read in the
// same transaction.
struct ReleaseContext {
  std::optional<engine::KillSwitch> kill;  // the switch covering the call's agent and run
  bool run_halted = false;
  bool run_ended = false;
  std::string halt_reason;
  TimePoint now;
};

// One approval, one execution (docs/approvals.md): a call re-submitted with approval_id
// that is bound to the approval is no new call: `original_call_id` is the approval's call.
// Otherwise `refusal` says why the approval does not fit. Both empty without approval_id.
struct Resubmission {
  std::string original_call_id;
  std::string refusal;
};

// An Idempotency-Key as the store keeps it, in its run: the hash of the request it came with
// and the answer the core composed for it (opaque to the backend; "" for answers without a
// body).
struct IdempotencyRow {
  std::string request_sha256;
  std::string answer;
};

class StateTxn {
 public:
  virtual ~StateTxn() = default;

  // The run row, for update (NotFound when absent).
  virtual Result<RunRow> LoadRunForUpdate(std::string_view run_id) = 0;
  // Writes the run's state and ended flag (with ended_at when it turns true) if the row is
  // still at row.version; a changed row fails with kUnavailable ("conflict": the backend
  // may retry the transaction). Must be the transaction function's last write (a backend
  // may cache the row: it copies the state into its cache, whose strings and map nodes
  // are reused, and the caller keeps `row` to answer with). An ended run is never un-ended.
  virtual Status SaveRun(std::string_view run_id, const RunRow& row) = 0;

  // Inserts a run (kAlreadyExists when run_id is taken), as it is when created: no usage,
  // not ended. A backend that keeps no tree of runs answers kUnavailable.
  virtual Status InsertRun(const NewRun& run) {
    (void)run;
    return Error::Unavailable("store: this store keeps no child runs");
  }
  // How many runs name `parent_run_id` as their parent and have not ended, this
  // transaction's inserts included.
  virtual Result<int> CountLiveChildren(std::string_view parent_run_id) {
    (void)parent_run_id;
    return Error::Unavailable("store: this store keeps no child runs");
  }

  // The engaged kill switch covering (agent, run), most general first: global, agent, run.
  virtual Result<std::optional<engine::KillSwitch>> EngagedKill(std::string_view agent_id,
                                                                std::string_view run_id) = 0;

  // Inserts a call row; returns the call id the backend gave it.
  virtual Result<std::string> InsertCall(const NewCall& call) = 0;
  // A call as recorded (NotFound when absent).
  virtual Result<CallRecord> LoadCall(std::string_view call_id) = 0;
  // What recording a result checks about a call (NotFound when absent), for update.
  virtual Result<CallResultRow> LoadCallForResult(std::string_view call_id) = 0;
  // Stores the call's result: `result_json` is the canonical JSON the core composed
  // (valid until the call returns), `at` when it was reported.
  virtual Status SaveCallResult(std::string_view call_id, std::string_view result_json,
                                TimePoint at) = 0;

  // Cross-run counts (rate limits and quotas; engine::AgentUsage), read inside the
  // transaction so that they are exact under concurrency: the counted calls of agent_id
  // under q.rate_key in (now - q.window_ms, now], and with q.day the agent's totals of the
  // UTC day of `now`. The backend serialises counting transactions of one agent (SQLite:
  // the write transaction; PostgreSQL: the lock every writing transaction takes).
  virtual Result<engine::AgentUsage> CountAgentUsage(std::string_view agent_id, const CountQuery& q,
                                                     TimePoint now) = 0;
  // Adds to the agent's counts: one counted call (when `call`) under rate_key (empty:
  // none), and `usage` to the totals of the UTC day of `now`.
  virtual Status AddAgentUsage(std::string_view agent_id, std::string_view rate_key, bool call,
                               const Usage& usage, TimePoint now) = 0;

  // Appends an audit event, committed with the transaction (dropped if it rolls back).
  virtual void AppendAudit(audit::AuditEvent event) = 0;
  // False for a backend that keeps no call rows' JSON and no audit trail (MemoryRunStore):
  // the core then skips composing them. The decision and state are the same either way.
  virtual bool KeepsAudit() const { return true; }

  // The approval rows (core/ports/approvals.h), in this transaction.
  virtual ApprovalRows& approvals() = 0;

  // Idempotency keys (docs/api.md#idempotency), kept per run, as long as the run is: the
  // row of (run_id, key) as of this transaction (this transaction's own saves included), or
  // nullopt. A backend that keeps none answers kUnavailable, so a keyed request fails closed.
  virtual Result<std::optional<IdempotencyRow>> LoadIdempotency(std::string_view run_id,
                                                                std::string_view key) {
    (void)run_id, (void)key;
    return Error::Unavailable("store: this store keeps no idempotency keys");
  }
  // Inserts the row of (run_id, key), absent as of LoadIdempotency in this transaction.
  virtual Status SaveIdempotency(std::string_view run_id, std::string_view key,
                                 const IdempotencyRow& row, TimePoint now) {
    (void)run_id, (void)key, (void)row, (void)now;
    return Error::Unavailable("store: this store keeps no idempotency keys");
  }
};

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_PORTS_STATE_TXN_H_
