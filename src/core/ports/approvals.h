// Approvals as the core sees them (docs/approvals.md): the approval row, its votes, and the
// two ports the core's approval code runs over.
//
// - ApprovalRows: the row-level port a backend implements inside its open transaction
//   (StateTxn::approvals()). It maps rows and nothing else: who may vote, the two-person
//   rule, the re-check on grant, releases, withdrawals, deadlines and the audit records
//   they make are core/approval_txn.h, written once for every backend.
// - ApprovalStore: the approval operations of the state store, each one atomic
//   transaction (the backend runs the matching core transaction function). The facade
//   doors call (core/app/approvals.h) holds this port, never a store.
//
// A call decided APPROVAL_REQUIRED creates a pending approval in the same transaction.
// The approval is bound to the call (agent, run, tool, SHA-256 of the canonical args)
// and settles it exactly once: granted -> the call's decision becomes allow/ALLOWED
// (rule "approval"); denied, cancelled (kill switch) -> deny/APPROVAL_DENIED; timed out
// -> deny/APPROVAL_TIMEOUT; withdrawn (the agent stopped waiting: the MCP client cancelled
// or went away) -> deny/APPROVAL_DENIED. A granted call runs once: its first delivery
// releases it (ReleaseCall), and re-submitting the identical call with "approval_id"
// (ToolCall::approval_id) answers with that same call, never a new one.
//
// Thread-safety: an ApprovalRows belongs to the one thread running the transaction
// function; ApprovalStore methods may be called from any thread.
#ifndef INTERLOCK_CORE_PORTS_APPROVALS_H_
#define INTERLOCK_CORE_PORTS_APPROVALS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "common/time.h"
#include "core/ports/kill_entry.h"
#include "core/ports/run_store.h"
#include "core/roles.h"
#include "interlock/decision.h"
#include "interlock/result.h"

namespace interlock::policy {
struct PolicySet;
}

namespace interlock::core {

enum class ApprovalState { kPending, kGranted, kDenied, kTimedOut, kCancelled, kWithdrawn };
// "pending" | "granted" | "denied" | "timed_out" | "cancelled" | "withdrawn".
const char* ApprovalStateName(ApprovalState s);
std::optional<ApprovalState> ParseApprovalState(std::string_view name);

// The approval id of the approval created for call_id ("call_X" -> "apr_X").
std::string ApprovalIdForCall(std::string_view call_id);

struct ApprovalVote {
  std::string reviewer;
  std::string verdict;  // "approve" | "deny"
  std::string comment;
  TimePoint at;
};

struct Approval {
  std::string approval_id;
  std::string call_id;
  std::string run_id;
  std::string agent_id;
  std::string principal;  // the name the call arrived under
  std::string tool;
  std::string args_sha256;  // SHA-256 of CanonicalJson(args) as the agent sent them
  int required = 1;
  ApprovalState state = ApprovalState::kPending;
  TimePoint created;
  TimePoint deadline;       // next timeout (escalation or deny)
  TimePoint hard_deadline;  // never pending past this
  int escalation_level = 0;
  bool auto_deny_on_timeout = true;
  int timeout_seconds = 0;  // effective (the deployment default applied)
  uint64_t records = 0;     // records the call touches, consumed on grant
  std::optional<TimePoint> decided;
  std::string outcome_reason;     // why it was decided (empty while pending)
  std::optional<TimePoint> used;  // released: first delivered to the agent (ReleaseCall)
  std::string used_call_id;       // the call released (a call id of an older build's redemption)
  // Set when a reviewer approved edited arguments: SHA-256 of their canonical JSON. A
  // re-submission redeems the approval only with these (args_sha256 stays the original).
  std::string edited_args_sha256;
  std::vector<ApprovalVote> votes;
};

// What ExpireApprovals changed, for notifications and waking long polls.
struct ApprovalChange {
  enum class Kind { kEscalated, kTimedOut, kCancelled } kind = Kind::kTimedOut;
  Approval approval;
};

// What one vote changed: the approval after it, and whether it decided the approval (the
// call's decision changed).
struct VoteOutcome {
  Approval approval;
  bool settled = false;
};

// Policy facts a verdict needs, looked up by the caller from the current policy set.
struct ApprovalPolicyFacts {
  std::string identity;                         // agent.identity (self-approval check)
  std::optional<uint64_t> max_records_per_run;  // re-checked on grant
  // Why the tool cannot be approved for the rest of a run (core::RunGrantRefusal); an
  // agent the policy set does not have: refused.
  std::string run_grant_refusal = "the agent's policy is not loaded";
};
using ApprovalPolicyLookup =
    std::function<ApprovalPolicyFacts(std::string_view agent_id, std::string_view tool)>;
// The one lookup every vote uses (HTTP, the MCP client, the Claude Code hook): the agent's
// identity, the tool rule's max_records_per_run and whether it may be granted for a run,
// from `set` (nothing for an agent the set does not have).
ApprovalPolicyLookup PolicyFactsLookup(std::shared_ptr<const policy::PolicySet> set);

// Which pending approvals ApprovalRows::Pending reads.
struct PendingQuery {
  enum class Kind {
    kAll,    // every pending approval
    kAgent,  // of agent_id
    kRun,    // of run_id
    kTwin,   // of run_id, agent_id, tool and args_sha256 (the original arguments' hash)
    kDue,    // whose deadline is at or before `due`, at most kMaxDue, earliest first
  } kind = Kind::kAll;
  std::string_view agent_id;
  std::string_view run_id;
  std::string_view tool;
  std::string_view args_sha256;
  TimePoint due;
  static constexpr size_t kMaxDue = 500;
};

// The approval rows of one transaction. Every read is as of the transaction (this
// transaction's own writes included) and locks what it reads where the backend needs it.
class ApprovalRows {
 public:
  virtual ~ApprovalRows() = default;
  // The approval with its votes (in vote order); nullopt when absent.
  virtual Result<std::optional<Approval>> Load(std::string_view approval_id) = 0;
  // Pending approvals matching `q`, votes not loaded, in (created, approval_id) order
  // (kDue: deadline order).
  virtual Result<std::vector<Approval>> Pending(const PendingQuery& q) = 0;
  // The approvals no longer pending (votes not loaded) of an identical call: q.run_id,
  // q.agent_id, q.tool and q.args_sha256 (the original arguments' hash), decided at or
  // after `decided_since`, in (created, approval_id) order. What an identical retry finds
  // its verdict in (core::DecidedTwinInTxn); q.kind is not read.
  virtual Result<std::vector<Approval>> DecidedTwins(const PendingQuery& q,
                                                     TimePoint decided_since) = 0;
  // Inserts a new pending approval (its votes are not read).
  virtual Status Insert(const Approval& a) = 0;
  virtual Status InsertVote(std::string_view approval_id, const ApprovalVote& vote) = 0;
  // Writes `after`'s changeable columns (state, decided, outcome_reason, escalation_level,
  // deadline, records, edited_args_sha256, used, used_call_id) if the row is still as
  // `before` left it (its state, escalation level and used). A row another transaction
  // changed meanwhile fails (kAlreadyExists, or kUnavailable "conflict" where the backend
  // re-runs the transaction): a verdict, a withdrawal, a timeout or a release is recorded
  // once.
  virtual Status Update(const Approval& before, const Approval& after) = 0;
  // The call's decision as stored (its canonical JSON), and its replacement when an
  // approval settles it (core::SettleDecisionJson composes it).
  virtual Result<std::string> LoadDecisionJson(std::string_view call_id) = 0;
  virtual Status SaveDecision(std::string_view call_id, std::string_view decision_json,
                              Verdict verdict, Code code) = 0;
  // The engaged kill switches (those engaged by another process included; `engaged` set,
  // `at` not read).
  virtual Result<std::vector<KillEntry>> EngagedKills() = 0;
  // The deployment's timing of new approvals: the timeout of a tool without
  // approval_timeout_seconds, and the hard maximum an escalating approval may stay pending.
  virtual int DefaultTimeoutSeconds() const { return 300; }
  virtual int MaxWaitSeconds() const { return 3600; }
};

// A reviewer's edited arguments as the core judged them (core::EvaluateEdit).
struct EditedCall {
  boost::json::object args;  // as the reviewer sent them (the agent runs the tool with them)
  std::string args_sha256;   // SHA-256 of their canonical JSON
  uint64_t records = 0;      // records the edited call touches (consumed on grant instead)
  std::vector<std::string> redact_fields;  // the rule's, for the audit record
};

// A vote as a store takes it.
struct VoteRequest {
  std::string approval_id;
  Principal reviewer;  // an agent's is refused (core::CheckMayVote)
  bool approve = false;
  std::string comment;
  TimePoint now;
  ApprovalPolicyLookup policy;  // may be empty: no identity check beyond principal/agent
  // An approve with edited arguments, already evaluated by the core (core::EvaluateEdit,
  // run by the facade). The vote stores the edited hash with the approval, grants with
  // the edited call's records, puts the arguments in the call's decision and the grant
  // event (redacted), and refuses it for an approval needing more than one approver.
  std::optional<EditedCall> edit;
  // An approve "for the rest of this run" (docs/approvals.md): on grant, later calls of
  // the tool in the run that only need an approval proceed (core::CoverByRunGrant).
  bool for_run = false;
};

// A call as a store keeps it, with its result once reported.
struct StoredCall {
  CallRecord record;
  std::optional<CallResult> result;
  // ReleaseCall only: this read released the approved call (its first delivery). False on
  // every later read of it, which answers the same allow (core::Approvals::ReleaseToRun
  // tells a door that runs the call itself that it is not its to run).
  bool released_now = false;
};

// The approval operations of the state store, each one atomic transaction over
// ApprovalRows (the backend runs the matching function of core/approval_txn.h). Errors:
// kNotFound (no such approval or call), kPermissionDenied (an agent token; a reviewer
// voting on a call made under its own identity; another agent's or identity's call),
// kAlreadyExists (the approval is already decided, or this reviewer already voted),
// kUnavailable (the store cannot serve).
class ApprovalStore {
 public:
  virtual ~ApprovalStore() = default;
  virtual Result<Approval> GetApproval(std::string_view approval_id) = 0;
  // core::VoteInTxn.
  virtual Result<VoteOutcome> Vote(const VoteRequest& request) = 0;
  // The agent that made the call no longer waits for its approval (the MCP client
  // cancelled the request, timed out or disconnected): a pending approval becomes
  // withdrawn, its call deny/APPROVAL_DENIED, and an "approval" audit record (event
  // "withdrawn", principal agent_id, `reason`) is written in the same transaction. Later
  // votes get kAlreadyExists. Errors: kNotFound, kPermissionDenied (another agent's
  // approval, or one whose call was decided under another principal than `principal`, the
  // withdrawer's as its decisions record it: an agent acting for mallory cannot withdraw
  // alice's pending approval; that refusal is recorded, an "approval" record with event
  // "withdraw_refused" under `principal`), kAlreadyExists (not pending any more; the
  // message names its state).
  virtual Result<Approval> WithdrawApproval(std::string_view approval_id, std::string_view agent_id,
                                            std::string_view principal, std::string_view reason,
                                            TimePoint now) = 0;
  // Escalates or times out pending approvals whose deadline is at or before `now`, and
  // cancels pending approvals covered by an engaged kill switch (one set by another
  // process included). Returns what changed.
  virtual Result<std::vector<ApprovalChange>> ExpireApprovals(TimePoint now) = 0;
  // A call as recorded. A reviewer's edit of redacted arguments is sealed in its decision
  // (Decision::sealed_arguments); core::OpenSealedArguments opens it for the agent's door.
  virtual Result<StoredCall> GetCall(std::string_view call_id) = 0;
  // GetCall for the agent's front doors, which deliver the outcome (docs/approvals.md,
  // "Release"): the first delivery of an approved call releases it, atomically with a
  // check of the kill switches and the run: a switch covering it, or a halted or ended
  // run, turns it into deny KILL_SWITCH / RUN_HALTED (audited). Once released, every read
  // answers the same allow. Any other call is answered as GetCall does. kPermissionDenied
  // for another agent's call, and for a call recorded under another principal than
  // `principal` (the caller's, as its decisions record it: core::NeedsRelease): the agent
  // door answers a call only to the identity it was made for, so an agent acting for
  // mallory cannot collect (release) an approval granted for alice. Nothing is released
  // then. With `policies` (the door's snapshot), the release applies what the call adds to
  // its run's sequence state when it proceeds (engine::ProceedEffects: its labels, a
  // transition `on: allowed`) and counts it for rate limits and quotas, in the same
  // transaction.
  virtual Result<StoredCall> ReleaseCall(
      std::string_view call_id, std::string_view agent_id, std::string_view principal,
      TimePoint now, std::shared_ptr<const policy::PolicySet> policies = {}) = 0;
};

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_PORTS_APPROVALS_H_
