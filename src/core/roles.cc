#include "core/roles.h"

#include "common/drill_agent.h"
#include "common/principal_name.h"

namespace interlock::core {

const char* RoleName(Role r) {
  switch (r) {
    case Role::kAgent:
      return "agent";
    case Role::kReviewer:
      return "reviewer";
    case Role::kAdmin:
      return "admin";
  }
  return "agent";
}

std::optional<Role> ParseRole(std::string_view name) {
  if (name == "agent") return Role::kAgent;
  if (name == "reviewer") return Role::kReviewer;
  if (name == "admin") return Role::kAdmin;
  return std::nullopt;
}

Result<std::string> CheckTokenSpec(Role role, std::string_view name, std::string_view agent_id) {
  if (role == Role::kAgent) {
    if (agent_id.empty()) return Error::Invalid("an agent token needs an agent id");
    if (agent_id == kDrillAgentId) {
      return Error::Invalid("the agent id " + std::string(kDrillAgentId) +
                            " is reserved for kill-switch drills (docs/drill.md)");
    }
    // Policies match agent ids byte for byte: the id must already be in NFC.
    Result<std::string> id = ValidatePrincipalName(agent_id, "agent id");
    if (!id.ok()) return id.error();
    if (*id != agent_id) return Error::Invalid("agent id is not in Unicode NFC");
    if (name.empty()) name = agent_id;
  } else {
    if (name.empty()) {
      return Error::Invalid(std::string("a ") + RoleName(role) + " token needs a name");
    }
    if (!agent_id.empty()) return Error::Invalid("only agent tokens carry an agent id");
    // "oidc:<sub>@<host>" names people signed in with OpenID Connect (docs/identity.md): a
    // token with such a name would count as that person for the two-person rule.
    if (PrincipalKey(name).starts_with("oidc:")) {
      return Error::Invalid(std::string(RoleName(role)) +
                            " names beginning with 'oidc:' are reserved for people signed in "
                            "with OpenID Connect");
    }
  }
  // Names are people (common/principal_name.h): refused when a reader cannot tell them
  // apart from another, stored in NFC.
  return ValidatePrincipalName(name, std::string(RoleName(role)) + " name");
}

Status CheckMayVote(Role role) {
  if (role == Role::kAgent) return Error::Denied("agent tokens can never approve or deny");
  return Status::Ok();
}

}  // namespace interlock::core
