// SessionCredentials: the upstream credentials of one /mcp/{upstream} session
// (docs/identity.md#upstream-credentials), between the session and the daemon's
// UpstreamCredentials (upstream_credentials.h).
//
// The caller's JWT (already verified by the Api) is the subject of a token exchange; the
// session passes the latest one it was presented (SetSubjectToken), since the client may
// renew it during the session. A call's scopes are its decision's credential_scope, else
// (a call released by an approval carries no rule) the current policy's rule for the tool,
// else the upstream's default scope: never a scope the tool does not name.
// Every token handed out is remembered (bounded) so the gateway masks it in everything the
// upstream sends back (Issued()); none is ever logged, recorded or returned to the agent.
// Thread-safety: any thread.
#ifndef INTERLOCK_DOORS_MCP_HTTP_MCP_CREDENTIALS_H_
#define INTERLOCK_DOORS_MCP_HTTP_MCP_CREDENTIALS_H_

#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/app/authn.h"  // core::CallerIdentity
#include "core/app/policy_source.h"
#include "doors/mcp_http/upstream_credentials.h"
#include "interlock/decision.h"
#include "mcp/gateway.h"

namespace interlock::server {

class SessionCredentials {
 public:
  // `credentials` and `policies` must outlive this object; `upstream` has credentials there.
  SessionCredentials(UpstreamCredentials* credentials, const core::PolicySource* policies,
                     std::string upstream, std::string agent_id, core::CallerIdentity identity);

  // The Authorization header's bearer when it is a JWT of a verified identity ("" else).
  void SetSubjectToken(std::string token);

  // The credential for one allowed call ("Bearer ..." and the audit record's JSON).
  Result<mcp::GatewayOptions::ForwardCredential> ForCall(const Decision& decision);
  // The session's own credential (the upstream's default scope): for initialize,
  // tools/list and the other messages that are not a tool call.
  Result<std::string> SessionAuthorization();
  // command: upstreams: the credential handed to the server at its start.
  Result<UpstreamCredential> ForStart();
  // Whether a call with `decision` may use the session's start credential, whose scopes
  // are the default ones: only when the tool names no credential_scope or names them all.
  Status CheckStartScopes(const Decision& decision) const;
  // Every token handed out in this session (the latest kMaxRemembered), to be masked.
  std::vector<std::string> Issued() const;

  static constexpr size_t kMaxRemembered = 64;

 private:
  std::optional<std::vector<std::string>> ScopesFor(const Decision& d) const;
  Result<UpstreamCredential> Get(std::optional<std::vector<std::string>> scopes);

  UpstreamCredentials* credentials_;
  const core::PolicySource* policies_;
  const std::string upstream_;
  const std::string agent_id_;
  const core::CallerIdentity identity_;
  mutable std::mutex mu_;
  std::string subject_token_;
  std::optional<TimePoint> subject_expires_at_;
  std::deque<std::string> issued_;
};

}  // namespace interlock::server

#endif  // INTERLOCK_DOORS_MCP_HTTP_MCP_CREDENTIALS_H_
