#include "core/app/offline_run.h"

#include <utility>

#include "policy/workflow.h"

namespace interlock::core {

OfflineRun::OfflineRun(std::shared_ptr<const policy::PolicySet> policies, size_t keep_calls)
    : source_(std::move(policies)),
      store_(keep_calls),
      guard_(&source_, &store_, &clock_, /*notifier=*/nullptr) {
  // A memory store records no result: nothing to mask, so nothing is kept for one.
  guard_.SetRedactedValues(nullptr);
}

Status OfflineRun::Start(std::string_view agent_id, std::string_view run_id, TimePoint start) {
  clock_.Set(start);
  Result<RunInfo> run = store_.CreateRun(agent_id, run_id, start);
  if (!run.ok()) return run.error();
  agent_id_ = std::string(agent_id);
  run_id_ = run->run_id;
  return Status::Ok();
}

Status OfflineRun::RecordResult(std::string_view call_id, CallResult result) {
  result.policies = source_.Current();
  return store_.RecordResult(call_id, agent_id_, agent_id_, result, clock_.Now());
}

const std::string* OfflineRun::InitialWorkflowState() const {
  // The source never swaps its policies: what it holds outlives this pointer.
  const std::shared_ptr<const policy::PolicySet> set = source_.Current();
  const policy::AgentPolicy* agent = set != nullptr ? set->Find(agent_id_) : nullptr;
  if (agent == nullptr || agent->workflow == nullptr) return nullptr;
  return &agent->workflow->initial;
}

}  // namespace interlock::core
