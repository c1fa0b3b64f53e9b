// The scopes of the upstream credential a call is to carry (credential brokering,
// docs/identity.md): what a door that forwards a call with a brokered credential asks, so
// no door reads a policy rule itself.
// Thread-safety: a free function over the policy source's current snapshot; any thread.
#ifndef INTERLOCK_CORE_APP_CREDENTIAL_SCOPE_H_
#define INTERLOCK_CORE_APP_CREDENTIAL_SCOPE_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/app/policy_source.h"
#include "interlock/decision.h"

namespace interlock::core {

// The decision's own credential scope when it names one; else the scope of the rule that
// `d.tool` resolves to for `agent_id` under `policies`' current set; nullopt when neither
// names one (nor when there is no policy source, no set or no such agent).
std::optional<std::vector<std::string>> CredentialScopeOf(const Decision& d,
                                                          const PolicySource* policies,
                                                          std::string_view agent_id);

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_APP_CREDENTIAL_SCOPE_H_
