// UpstreamCredentials: the credential the daemon presents to an MCP upstream, for one
// call or for a session (docs/identity.md#upstream-credentials), as the MCP-over-HTTP door
// asks for it. The daemon implements it over identity::CredentialBroker (the identity
// provider's token endpoint, its cache and its configs: daemon/upstream_credentials.h) and
// hands it to the door (McpHttpDeps::credentials); the door never sees a provider.
//
// Fail closed: every failure is an Error whose message starts with "CREDENTIAL_UNAVAILABLE: "
// (the decision's code); the door denies the call and forwards nothing. Errors never quote
// a token or a secret.
// Thread-safety: every method from any thread; Get() blocks for at most the endpoint's
// timeout.
#ifndef INTERLOCK_DOORS_MCP_HTTP_UPSTREAM_CREDENTIALS_H_
#define INTERLOCK_DOORS_MCP_HTTP_UPSTREAM_CREDENTIALS_H_

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/credential_request.h"
#include "common/time.h"
#include "interlock/result.h"

namespace interlock::server {

// One credential handed out: the access token, when it expires, and what the call's
// result record says of it (canonical JSON; never the token).
struct UpstreamCredential {
  std::string access_token;
  TimePoint expires_at;
  std::string record_json;
};

// What an upstream's credentials are configured with, as the door needs it.
struct UpstreamCredentialTerms {
  std::vector<std::string> scope;  // the default when a tool names no credential_scope
  // command: upstreams: the environment variable the server receives its token in, and how
  // long before that token expires the session ends (its client starts a new one).
  std::string env;
  std::chrono::seconds renew_before{60};
};

class UpstreamCredentials {
 public:
  using Request = CredentialRequest;  // common/credential_request.h

  virtual ~UpstreamCredentials() = default;
  // The terms of `upstream`'s credentials; nullptr when it has none.
  virtual const UpstreamCredentialTerms* Terms(std::string_view upstream) const = 0;
  // The credential for one call or session; CREDENTIAL_UNAVAILABLE errors otherwise.
  virtual Result<UpstreamCredential> Get(const Request& request) = 0;
};

}  // namespace interlock::server

#endif  // INTERLOCK_DOORS_MCP_HTTP_UPSTREAM_CREDENTIALS_H_
