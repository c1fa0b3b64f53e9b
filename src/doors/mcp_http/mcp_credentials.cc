#include "doors/mcp_http/mcp_credentials.h"

#include <algorithm>

#include "core/app/authn.h"
#include "core/app/credential_scope.h"

namespace interlock::server {

namespace {

// The gateway names the code itself (the decision's CREDENTIAL_UNAVAILABLE): the reason alone.
Error Reason(const Error& e) {
  const std::string prefix = std::string(CodeName(Code::kCredentialUnavailable)) + ": ";
  if (e.message.rfind(prefix, 0) == 0) return Error{e.kind, e.message.substr(prefix.size())};
  return e;
}

}  // namespace

SessionCredentials::SessionCredentials(UpstreamCredentials* credentials,
                                       const core::PolicySource* policies, std::string upstream,
                                       std::string agent_id, core::CallerIdentity identity)
    : credentials_(credentials),
      policies_(policies),
      upstream_(std::move(upstream)),
      agent_id_(std::move(agent_id)),
      identity_(std::move(identity)) {}

void SessionCredentials::SetSubjectToken(std::string token) {
  if (identity_.issuer.empty() || !core::IsJwtShaped(token)) return;
  std::lock_guard lock(mu_);
  subject_expires_at_ = core::JwtExpiry(token);
  subject_token_ = std::move(token);
}

std::optional<std::vector<std::string>> SessionCredentials::ScopesFor(const Decision& d) const {
  return core::CredentialScopeOf(d, policies_, agent_id_);
}

Result<UpstreamCredential> SessionCredentials::Get(std::optional<std::vector<std::string>> scopes) {
  UpstreamCredentials::Request rq;
  rq.upstream = upstream_;
  rq.agent_id = agent_id_;
  rq.subject = identity_.issuer + '\n' + identity_.subject + '\n' + identity_.on_behalf_of;
  rq.scopes = std::move(scopes);
  {
    std::lock_guard lock(mu_);
    rq.subject_token = subject_token_;
    rq.subject_expires_at = subject_expires_at_;
  }
  auto c = credentials_->Get(rq);
  if (!c.ok()) return c.error();
  std::lock_guard lock(mu_);
  if (std::find(issued_.begin(), issued_.end(), c->access_token) == issued_.end()) {
    issued_.push_back(c->access_token);
    // A JWT's signature alone, too: the part that makes an echoed token usable.
    const size_t dot = c->access_token.rfind('.');
    if (dot != std::string::npos && c->access_token.size() - dot > 16) {
      issued_.push_back(c->access_token.substr(dot + 1));
    }
    while (issued_.size() > kMaxRemembered) issued_.pop_front();
  }
  return c;
}

Result<mcp::GatewayOptions::ForwardCredential> SessionCredentials::ForCall(
    const Decision& decision) {
  auto c = Get(ScopesFor(decision));
  if (!c.ok()) return Reason(c.error());
  return mcp::GatewayOptions::ForwardCredential{"Bearer " + c->access_token, c->record_json};
}

Result<std::string> SessionCredentials::SessionAuthorization() {
  auto c = Get(std::nullopt);
  if (!c.ok()) return c.error();
  return "Bearer " + c->access_token;
}

Result<UpstreamCredential> SessionCredentials::ForStart() { return Get(std::nullopt); }

Status SessionCredentials::CheckStartScopes(const Decision& decision) const {
  const auto scopes = ScopesFor(decision);
  if (!scopes) return Status::Ok();
  const UpstreamCredentialTerms* c = credentials_->Terms(upstream_);
  if (c == nullptr) return Status::Ok();
  for (const std::string& s : c->scope) {
    if (std::find(scopes->begin(), scopes->end(), s) == scopes->end()) {
      return Error::Denied("upstream " + upstream_ +
                           " is a command: server holding one credential per " +
                           "session with scope '" + s + "', which tool " + decision.tool +
                           " does not name in its credential_scope");
    }
  }
  return Status::Ok();
}

std::vector<std::string> SessionCredentials::Issued() const {
  std::lock_guard lock(mu_);
  return {issued_.begin(), issued_.end()};
}

}  // namespace interlock::server
