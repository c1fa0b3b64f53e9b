#include "store/store.h"

#include "policy/policy.h"

namespace interlock::store {

const char* RunListStateName(const core::RunInfo& run) {
  if (run.state.halted) return "halted";
  return run.ended ? "ended" : "active";
}

ApprovalPolicyLookup PolicyFactsLookup(std::shared_ptr<const policy::PolicySet> set) {
  return [set = std::move(set)](std::string_view agent_id, std::string_view tool) {
    ApprovalPolicyFacts facts;
    const policy::AgentPolicy* agent = set ? set->Find(agent_id) : nullptr;
    if (agent == nullptr) return facts;
    facts.identity = agent->identity;
    if (const policy::ToolRule* rule = agent->Resolve(tool).rule) {
      facts.max_records_per_run = rule->max_records_per_run;
    }
    facts.run_grant_refusal = core::RunGrantRefusal(agent->Resolve(tool).rule, 1);
    return facts;
  };
}

}  // namespace interlock::store
