// OfflineRun: one run of one agent decided in memory, for a door that decides a stream of
// calls with no store and no daemon (`interlock decide`). The same Guard, decide
// transaction and result rules as every other door, over a MemoryRunStore that keeps the
// most recent `keep_calls` calls (so a stream of any length runs in bounded memory) and a
// clock the door sets per call (a decision line's time is the stream's, not the host's).
//
// Errors are values: Start fails with the store's error; Decide and CompleteRehearsal
// answer as core::Guard's; RecordResult as core::Calls::RecordResult (kNotFound for a call
// no longer kept, kAlreadyExists for a result reported twice).
// Thread-safety: one thread at a time (the door's decide loop). Not copyable.
#ifndef INTERLOCK_CORE_APP_OFFLINE_RUN_H_
#define INTERLOCK_CORE_APP_OFFLINE_RUN_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "common/time.h"
#include "core/app/policy_source.h"
#include "core/guard.h"
#include "core/memory_run_store.h"
#include "interlock/result.h"
#include "interlock/tool_call.h"
#include "policy/policy.h"

namespace interlock::core {

class OfflineRun {
 public:
  OfflineRun(std::shared_ptr<const policy::PolicySet> policies, size_t keep_calls);
  OfflineRun(const OfflineRun&) = delete;
  OfflineRun& operator=(const OfflineRun&) = delete;

  // Starts the run `run_id` of `agent_id` at `start` (also the clock's time).
  Status Start(std::string_view agent_id, std::string_view run_id, TimePoint start);
  // The time the next decision is made at.
  void SetTime(TimePoint now) { clock_.Set(now); }
  // Where path arguments are resolved (Guard::SetPathResolver; default: the file system).
  // Not owned; set before Start. `interlock test` hands the links a test file names, so a
  // test decides the same on every machine.
  void SetPathResolver(const PathResolver* paths) { guard_.SetPathResolver(paths); }

  // Decides `call` in the run, as the agent itself (principal = agent).
  GuardResponse Decide(ToolCall&& call) {
    return guard_.Decide(agent_id_, agent_id_, run_id_, std::move(call));
  }
  // The real call after the rehearsal of `call_id` (Guard::CompleteRehearsal).
  GuardResponse CompleteRehearsal(std::string_view call_id, const CallResult& rehearsal) {
    return guard_.CompleteRehearsal(agent_id_, agent_id_, call_id, rehearsal, std::nullopt);
  }
  // Records what the allowed call `call_id` returned, judged under the policies (a result
  // may move the run's workflow).
  Status RecordResult(std::string_view call_id, CallResult result);
  // The run as it stands.
  Result<RunInfo> Run() { return store_.GetRun(run_id_); }
  // The initial state of the agent's workflow (the state a run is in until its first
  // move); null when the agent has none. Owned by the policies; valid while they are.
  const std::string* InitialWorkflowState() const;

 private:
  PolicySource source_;
  MemoryRunStore store_;
  ManualClock clock_;
  Guard guard_;
  std::string agent_id_;
  std::string run_id_;
};

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_APP_OFFLINE_RUN_H_
