// McpUpstreamCredentials: the daemon's upstream credentials (docs/identity.md#upstream-
// credentials) behind the MCP-over-HTTP door's port (doors/mcp_http/upstream_credentials.h):
// identity::CredentialBroker over the identity providers' token endpoints (HTTPS), with
// each upstream's client secrets read from its files at start-up.
// Thread-safety: Terms() and Get() from any thread (the broker's own guarantees).
#ifndef INTERLOCK_DAEMON_UPSTREAM_CREDENTIALS_H_
#define INTERLOCK_DAEMON_UPSTREAM_CREDENTIALS_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/time.h"
#include "daemon/config.h"
#include "doors/mcp_http/upstream_credentials.h"
#include "identity/credential_broker.h"
#include "interlock/result.h"

namespace interlock::server {

class McpUpstreamCredentials final : public UpstreamCredentials {
 public:
  // The credentials of `config`'s upstreams, their client secrets read (credentials'
  // client_secret_file, client_assertion.key_file, each agent's file; an assertion key
  // is checked to sign now, not at the first call) and appended to *secrets (masked like
  // every upstream secret; the assertion key is not). Errors name the config key and the
  // file, never a value. nullptr when no upstream has credentials. `clock` must outlive it.
  static Result<std::unique_ptr<McpUpstreamCredentials>> Create(const McpConfig& config,
                                                                const Clock* clock,
                                                                std::vector<std::string>* secrets);

  const UpstreamCredentialTerms* Terms(std::string_view upstream) const override;
  Result<UpstreamCredential> Get(const Request& request) override;

 private:
  McpUpstreamCredentials(std::vector<identity::CredentialConfig> configs, const Clock* clock);

  std::map<std::string, UpstreamCredentialTerms, std::less<>> terms_;
  identity::HttpsTokenEndpoint endpoint_;
  identity::CredentialBroker broker_;
};

}  // namespace interlock::server

#endif  // INTERLOCK_DAEMON_UPSTREAM_CREDENTIALS_H_
