// CredentialRequest: who asks for an upstream credential, for one call or a session
// (docs/identity.md#upstream-credentials). One type for the broker that fetches it
// (identity::CredentialBroker) and the MCP-over-HTTP door that asks for it
// (server::UpstreamCredentials), so the daemon hands the door's request on as it is.
// Thread-safety: a value type.
#ifndef INTERLOCK_COMMON_CREDENTIAL_REQUEST_H_
#define INTERLOCK_COMMON_CREDENTIAL_REQUEST_H_

#include <optional>
#include <string>
#include <vector>

#include "common/time.h"

namespace interlock {

struct CredentialRequest {
  std::string upstream;
  std::string agent_id;
  // token_exchange: the caller's JWT, verified by the daemon; empty refuses the call.
  std::string subject_token;
  std::string subject;  // who the subject token names (issuer, agent, human): a cache key
  std::optional<TimePoint> subject_expires_at;
  // The tool's credential_scope; nullopt: the upstream's default scope.
  std::optional<std::vector<std::string>> scopes;
};

}  // namespace interlock

#endif  // INTERLOCK_COMMON_CREDENTIAL_REQUEST_H_
