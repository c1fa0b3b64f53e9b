// Runs and calls around the decision: the use cases a door needs besides Guard::Decide
// (starting, joining and ending runs, recording what a call returned, releasing a call
// whose approval was decided, withdrawing one the client gave up on). A core facade over
// the store's port, so a door holds this instead of the store.
//
// Errors are values: kNotFound (no such run, call or approval), kPermissionDenied
// (another agent's run, a call decided under another principal), kAlreadyExists (a result
// reported twice), kUnavailable (the store cannot answer).
// Thread-safety: every method may block on a commit (call it off a network thread) and may
// be called from any thread. The collaborators must outlive the facade.
#ifndef INTERLOCK_CORE_APP_CALLS_H_
#define INTERLOCK_CORE_APP_CALLS_H_

#include <cstddef>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "common/time.h"
#include "core/policy_source.h"
#include "core/run_store.h"
#include "interlock/result.h"
#include "interlock/tool_call.h"

namespace interlock::core {

class Store;  // core/ports/store.h

class Calls {
 public:
  Calls(core::Store* store, const PolicySource* policies, const Clock* clock);

  // A new run of `agent_id` (run_id empty: the store picks one).
  Result<RunInfo> StartRun(std::string_view agent_id, std::string_view run_id = {});
  // The run `run_id` of `agent_id`, started now when absent (a door that names its runs
  // itself: one run per Claude Code session). Another agent's run is kPermissionDenied.
  Result<RunInfo> JoinRun(std::string_view agent_id, std::string_view run_id);
  Status EndRun(std::string_view run_id, std::string_view agent_id);

  // Records what an allowed call returned, judged under the current policies (a result
  // may move the run's workflow). `principal`: the one the call was decided under.
  Status RecordResult(std::string_view call_id, std::string_view agent_id,
                      std::string_view principal, CallResult result);

  // MERGE(H5): the two approval steps below belong with core/app/approvals.h.
  // The call as it stands after its approval was decided, released when approved (the
  // call's record; APPROVAL_REQUIRED while still pending).
  Result<CallRecord> ReleaseCall(std::string_view call_id, std::string_view agent_id,
                                 std::string_view principal);
  // The agent stops waiting for `approval_id`; returns the call it was for.
  Result<std::string> WithdrawApproval(std::string_view approval_id, std::string_view agent_id,
                                       std::string_view principal, std::string_view reason);

 private:
  core::Store* store_;
  const PolicySource* policies_;
  const Clock* clock_;
};

// Parsing a call or usage from a door's JSON: core/app/tool_calls.h.

// The id of the approval a call decided APPROVAL_REQUIRED waits on.
std::string ApprovalIdOf(std::string_view call_id);

// A result's output as kept: its canonical JSON, or over `max_bytes` a marker with its
// size and SHA-256 (truncated JSON is not JSON).
std::string CappedOutputJson(std::string canonical, size_t max_bytes);

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_APP_CALLS_H_
