// HttpsJwksFetcher: an issuer's JWK Set over https, and nothing else.
//
// The set comes from the issuer's configured jwks_uri or, when none is configured, from
// OIDC discovery: `{issuer}/.well-known/openid-configuration`, whose `issuer` must equal
// the configured one (OpenID Connect Discovery 1.0 section 4.3) and whose `jwks_uri` must
// be https. The discovered jwks_uri is remembered until a fetch from it fails. Replies
// must be 200; discovery documents are bounded to 64 KiB, key sets to kMaxJwksBytes.
// TLS verifies the chain (the issuer's ca_file, else the system's CAs) and the host name;
// redirects are not followed.
// Thread-safety: Fetch() from any thread.
#ifndef INTERLOCK_IDENTITY_JWKS_FETCH_H_
#define INTERLOCK_IDENTITY_JWKS_FETCH_H_

#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include "identity/verifier.h"

namespace interlock::identity {

inline constexpr size_t kMaxDiscoveryBytes = 64 * 1024;

class HttpsJwksFetcher final : public JwksFetcher {
 public:
  explicit HttpsJwksFetcher(std::chrono::milliseconds timeout = std::chrono::seconds(5))
      : timeout_(timeout) {}
  Result<std::string> Fetch(const IssuerConfig& issuer) override;

 private:
  Result<std::string> Get(const std::string& url, const std::string& ca_file, size_t max_bytes,
                          const char* what);
  std::chrono::milliseconds timeout_;
  std::mutex mu_;
  std::map<std::string, std::string> discovered_;  // issuer -> jwks_uri
};

}  // namespace interlock::identity

#endif  // INTERLOCK_IDENTITY_JWKS_FETCH_H_
