// Runs and calls around the decision: the use cases a door needs besides Guard::Decide
// (starting, joining, reading, listing and ending runs, reading a call, recording what a
// call returned or the usage between calls). A core facade over the store's port, so a
// door holds this instead of the store. The approval use cases on the same store
// (releasing a call whose approval was decided, withdrawing one the client gave up on)
// are core::Approvals', reached with approvals().
//
// Errors are values: kNotFound (no such run, call or approval), kPermissionDenied
// (another agent's run, a call decided under another principal), kAlreadyExists (a result
// reported twice), kUnavailable (the store cannot answer).
// Thread-safety: every method may block on a commit (call it off a network thread) and may
// be called from any thread. The collaborators must outlive the facade.
#ifndef INTERLOCK_CORE_APP_CALLS_H_
#define INTERLOCK_CORE_APP_CALLS_H_

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "common/time.h"
#include "core/app/approvals.h"
#include "core/app/policy_source.h"
#include "core/ports/run_store.h"
#include "core/ports/store.h"
#include "core/redacted_values.h"
#include "core/workspace.h"
#include "interlock/result.h"
#include "interlock/tool_call.h"

namespace interlock::core {

class Calls {
 public:
  Calls(core::Store* store, const PolicySource* policies, const Clock* clock);

  // A new run of `agent_id` (run_id empty: the store picks one).
  Result<RunInfo> StartRun(std::string_view agent_id, std::string_view run_id = {});
  // The run `run_id` of `agent_id`, started now when absent (a door that names its runs
  // itself: one run per Claude Code session). Another agent's run is kPermissionDenied.
  // With `origin` (a Claude Code session's first event) a run started now gets the
  // session's workspace (core::ResolveSessionWorkspace under the agent's workspace_roots),
  // or the reason it was refused, for its life: an existing run keeps the one it has.
  Result<RunInfo> JoinRun(std::string_view agent_id, std::string_view run_id,
                          const SessionOrigin* origin = nullptr);
  Status EndRun(std::string_view run_id, std::string_view agent_id);
  // Halts every open run that is past its agent's wall-clock limit (execution.
  // max_wall_clock_seconds) now, rather than at its next call: "run_halted" records by
  // "interlock (wall-clock deadline)". At most `max_runs` (the oldest first per agent);
  // returns how many it halted. The daemon calls it every few seconds.
  Result<size_t> HaltOverdueRuns(size_t max_runs = 1000);
  // A child run (docs/governance.md#child-runs): started as rq says (RunStore::
  // CreateChildRun: the parent's owner, end, kill switch and the bounds are checked there).
  // rq.now is set here.
  Result<RunInfo> StartChildRun(ChildRunRequest rq);
  // The child run rq.run_id of rq.agent_id under rq.parent_run_id, started now when absent
  // (a door that names its runs itself: one per Claude Code sub-agent). A run of that id
  // that is not that parent's child, or is another agent's, is kPermissionDenied.
  Result<RunInfo> JoinChildRun(ChildRunRequest rq);
  // The audit record of an MCP session the daemon ended to admit a newer one of its agent
  // (docs/mcp.md#streamable-http): type mcp_session, event "evicted", with the session
  // id's first 8 characters, the upstream and the reason.
  Status RecordMcpSessionEvicted(std::string_view run_id, std::string_view agent_id,
                                 std::string_view session, std::string_view upstream,
                                 std::string_view reason);
  // The run as stored (any agent's: the door checks who may see it).
  Result<RunInfo> GetRun(std::string_view run_id);
  // Runs matching `filter`, newest first, a page at a time (Store::ListRuns).
  Result<RunPage> ListRuns(const RunFilter& filter);
  // The run's calls in order (at most `limit`, the latest), for the reviewer's page.
  Result<std::vector<CallSummary>> ListRunCalls(std::string_view run_id, size_t limit);
  // Usage not tied to a call, at most once per Idempotency-Key (an empty key: no key).
  Status AddUsage(std::string_view run_id, std::string_view agent_id, const Usage& usage,
                  const IdempotencyKey& key = {});

  // A call as recorded, with its result once reported (no release: the agent's read that
  // delivers an approved call is Approvals::Release), for the agent's door: a reviewer's
  // edit of a redacted argument opened, to run the tool with.
  Result<StoredCall> GetCall(std::string_view call_id);
  // The same call for any other reader (a reviewer, an admin): a reviewer's edit of a
  // redacted argument shown as its keyed hash, as the audit trail shows it.
  Result<StoredCall> ViewCall(std::string_view call_id);

  // Records what an allowed call returned, judged under the current policies (a result
  // may move the run's workflow). `principal`: the one the call was decided under.
  // Output and error are masked with the values of the call's redacted arguments that the
  // Guard kept (result.redacted_args, unless the door set it), or withheld when the call
  // has redacted arguments whose values are not known (core::RecordResultInTxn); once
  // recorded, the kept values are dropped. The same for every method below.
  Status RecordResult(std::string_view call_id, std::string_view agent_id,
                      std::string_view principal, CallResult result);
  // The outcome of an egress connection (POST /v1/calls/{id}/egress-result): recorded like a
  // result but judged under no policies, so it moves no workflow (the connection is not the
  // tool call a workflow names).
  Status RecordEgressResult(std::string_view call_id, std::string_view agent_id,
                            std::string_view principal, CallResult result);
  // RecordResult and RecordEgressResult without waiting for the commit
  // (Store::RecordResultAsync): the write is queued before this returns, so it lands before
  // any write submitted afterwards; `done` (may be empty) runs exactly once with the
  // outcome, on a store thread, and must not block or call the store synchronously. For a
  // door that answers with the tool's result before its record is durable.
  using StatusCallback = std::function<void(Status)>;
  void RecordResultAsync(std::string_view call_id, std::string_view agent_id,
                         std::string_view principal, CallResult result, StatusCallback done = {});
  void RecordEgressResultAsync(std::string_view call_id, std::string_view agent_id,
                               std::string_view principal, CallResult result,
                               StatusCallback done = {});

  // A call of `run_id` whose outcome a door reports after the fact (Claude Code's
  // PostToolUse: the tool ran) finds it by what it was: the newest of the run's latest
  // `lookback` calls of `tool` that was allowed, has no result yet and was recorded with
  // `recorded_args` (the arguments as stored: redacted), or that was decided
  // APPROVAL_REQUIRED and waits on a pending approval of arguments whose canonical JSON
  // has the SHA-256 `args_sha256`. Never a call of another run, tool or arguments.
  // nullopt: none.
  struct Unreported {
    std::string call_id;
    bool pending_approval = false;  // decided APPROVAL_REQUIRED; its approval is pending
  };
  Result<std::optional<Unreported>> FindUnreported(std::string_view run_id, std::string_view tool,
                                                   const boost::json::object& recorded_args,
                                                   std::string_view args_sha256, size_t lookback);

  // Records that recorded call `call_id` (of `agent_id`'s run `run_id`, tool `tool`) is an
  // incident: an "incident" audit record (docs/audit.md) {call_id, tool, agent_id, reason,
  // by}, the one `interlock incident mark` writes, so the console's governance pages and
  // the trust report count it. For an incident Interlock itself finds (a call Claude Code
  // ran although it was not allowed), `by` names the finder.
  Status RecordIncident(std::string_view call_id, std::string_view run_id,
                        std::string_view agent_id, std::string_view tool, std::string reason,
                        std::string by);

  // The approval use cases over the same store and policies (release, withdrawal, votes).
  Approvals& approvals() { return approvals_; }
  // Ok when no kill switch covers a call of `agent_id` in `run_id` now (core::Kills::Clear).
  Status KillSwitchClear(std::string_view agent_id, std::string_view run_id);

  // Where the Guard keeps redacted values (Guard::SetRedactedValues); not owned, and must
  // outlive every asynchronous record. Default: the process's. Null: results carry only
  // what the door set. Set before the first result.
  void SetRedactedValues(RedactedValues* values) { redacted_values_ = values; }

 private:
  // Sets result->redacted_args from what the Guard kept for call_id, unless set already,
  // with the values of the same fields in a reviewer's edit of the call.
  void AddRedactedValues(std::string_view call_id, CallResult* result) const;
  // AddRedactedValues, then the output cut where it is over its limit
  // (core::CutOutputBeforeTheStore): what every result goes through before the store.
  void Prepare(std::string_view call_id, CallResult* result) const;
  // Queues `result` (its policies set) with the values kept for the call; they are forgotten
  // once it is stored.
  void QueueResult(std::string_view call_id, std::string_view agent_id, std::string_view principal,
                   CallResult result, StatusCallback done);
  // Drops what was kept for call_id once its result is recorded (`s` Ok).
  void Recorded(std::string_view call_id, const Status& s);

  core::Store* store_;
  const PolicySource* policies_;
  const Clock* clock_;
  Approvals approvals_;
  RedactedValues* redacted_values_ = RedactedValues::Process();
};

// Parsing a call or usage from a door's JSON: core/app/tool_calls.h.

// The id of the approval a call decided APPROVAL_REQUIRED waits on.
std::string ApprovalIdOf(std::string_view call_id);

// A result's output cut to be sent to another process that records it (a daemon's body
// limit): its canonical JSON, or over `max_bytes` a marker {"truncated", "bytes", "prefix"}
// that the receiving core masks, the prefix's cut end included. Never a digest: one of the
// unmasked output would let a reader of the audit log confirm a guess of a redacted value.
std::string OutputCutForTransport(std::string canonical, size_t max_bytes);

// The workflow state a run shows (docs/policy.md, workflows): the state it moved to, else,
// for an agent whose policy (`agent`, null when the current policy has none) has a
// workflow, that workflow's initial state; nullopt when there is no workflow to show (no
// workflow and a run that never moved). "" for a run with variables but no state.
std::optional<std::string> ShownWorkflowState(const RunInfo& run, const policy::AgentPolicy* agent);

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_APP_CALLS_H_
