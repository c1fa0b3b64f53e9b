// Roles and the token rules (docs/api.md, "Tokens"): who a token may stand for. A store
// keeps token rows; what a valid token is, and what a role may do with approvals, is
// decided here.
#ifndef INTERLOCK_CORE_ROLES_H_
#define INTERLOCK_CORE_ROLES_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "interlock/result.h"

namespace interlock::core {

enum class Role { kAgent, kReviewer, kAdmin };
// "agent" | "reviewer" | "admin".
const char* RoleName(Role r);
std::optional<Role> ParseRole(std::string_view name);

// Who a request acts as, from its bearer token (or verified JWT) only.
// Here (not in the store port) for core::VoteRequest.
struct Principal {
  std::string token_id;
  std::string name;  // reviewer/admin name, or the agent id for agent tokens
  Role role = Role::kAgent;
  std::string agent_id;  // set for kAgent
  // The workspace roots bound to an agent token (`interlock token create --workspace-root`):
  // a Claude Code session asking with it must have its project within one of them
  // (core::ResolveSessionWorkspace). Empty: none bound.
  std::vector<std::string> workspace_roots;
};

// A token to create: an agent token names an agent id already in Unicode NFC (policies
// match agent ids byte for byte) and defaults its name to it; a reviewer or admin token
// needs a name and carries no agent id. Every name must be a person's name a reader can
// tell apart (common/principal_name.h). Returns the name to store, in NFC.
Result<std::string> CheckTokenSpec(Role role, std::string_view name, std::string_view agent_id);

// Agent tokens never approve or deny: Denied for them.
Status CheckMayVote(Role role);

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_ROLES_H_
