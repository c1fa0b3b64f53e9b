#include "core/app/credential_scope.h"

#include "policy/policy.h"

namespace interlock::core {

std::optional<std::vector<std::string>> CredentialScopeOf(const Decision& d,
                                                          const PolicySource* policies,
                                                          std::string_view agent_id) {
  if (d.credential_scope) return d.credential_scope;
  if (policies == nullptr) return std::nullopt;
  auto set = policies->Current();
  const policy::AgentPolicy* agent = set ? set->Find(agent_id) : nullptr;
  if (agent == nullptr) return std::nullopt;
  const policy::ToolResolution r = agent->Resolve(d.tool);
  return r.rule != nullptr ? r.rule->credential_scope : std::nullopt;
}

}  // namespace interlock::core
