// Verifier: a bearer JWT -> the verified identity of the agent presenting it.
//
// One Verifier holds the trusted issuers (validated once, immutable), each issuer's current
// key set (an immutable snapshot swapped on refresh), and a bounded cache of verified tokens
// keyed by the token's SHA-256 until the token's `exp`.
//
// Keys come from a JwksFetcher (HTTPS in the daemon, jwks_fetch.h; a fake in tests):
//  - on demand: no keys yet, keys older than max_key_age, or a token whose `kid` is unknown.
//    On-demand fetches of one issuer happen at most once per kOnDemandInterval (30 s), so a
//    stream of tokens with invented kids cannot turn Interlock into a load generator
//    against the issuer;
//  - on a schedule: RefreshDue(), called by the owner's timer, refreshes every issuer whose
//    keys are older than its refresh_interval.
// A failed fetch keeps the cached keys. Keys older than max_key_age are never used: every
// token of that issuer is then refused (JWT_KEYS_UNAVAILABLE), cached tokens included.
//
// Refusals are kPermissionDenied Errors whose message starts with a code of jwt.h.
// Thread-safety: Verify() and RefreshDue() from any thread, concurrently.
#ifndef INTERLOCK_IDENTITY_VERIFIER_H_
#define INTERLOCK_IDENTITY_VERIFIER_H_

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/crypto.h"
#include "common/time.h"
#include "identity/jwt.h"
#include "interlock/result.h"

namespace interlock::identity {

inline constexpr std::chrono::seconds kOnDemandInterval{30};

struct IssuerConfig {
  std::string issuer;               // must equal the token's iss, byte for byte
  std::string audience;             // must be the token's aud or one of its elements
  std::string jwks_uri;             // https; empty: OIDC discovery from the issuer
  std::string ca_file;              // PEM bundle for a private CA; empty: the system's CAs
  std::string agent_claim = "sub";  // a claim name or dotted path ("kubernetes.io.x" no)
  std::string on_behalf_of_claim;   // empty: RFC 8693 act.sub when present
  // A claim (or path) holding the human's groups (an array of strings, or one string);
  // empty: none. Read only when the token names a human.
  std::string on_behalf_of_groups_claim;
  std::chrono::seconds skew{60};
  std::chrono::seconds max_lifetime{std::chrono::hours(24)};
  std::chrono::seconds max_key_age{std::chrono::hours(24)};
  std::chrono::seconds refresh_interval{std::chrono::minutes(5)};
  // Issuer binding: the identities this issuer alone may assert, each exact or a prefix
  // ending in '*' ("spiffe://prod.example/*"). Non-empty: this issuer's tokens naming any
  // other identity are refused, and no other issuer may assert a matching identity.
  // Empty: the issuer may assert every identity that no other issuer binds.
  std::vector<std::string> identities;
};

struct VerifiedIdentity {
  std::string issuer;
  std::string agent;         // the agent_claim's value: a policy's agent.identity
  std::string on_behalf_of;  // "" when the token names nobody
  std::vector<std::string> on_behalf_of_groups;  // from on_behalf_of_groups_claim
  TimePoint expires_at;
  // OAuth access tokens (Verifier::VerifyAccessToken) only: the token's client_id (the
  // client the human authorized; dynamic registration makes it per installation). `agent`
  // is then the token's `sub` (the human) and on_behalf_of equals it.
  std::string client_id;
};

// Where an issuer's JWK Set comes from. Returns the set's JSON text.
class JwksFetcher {
 public:
  virtual ~JwksFetcher() = default;
  virtual Result<std::string> Fetch(const IssuerConfig& issuer) = 0;
};

// A bearer that has the shape of a JWS ("eyJ...", three parts): Interlock's own tokens
// never do, so the daemon routes on this before looking a token up.
bool LooksLikeJwt(std::string_view token);

// An identity pattern of IssuerConfig::identities: exact, or a prefix when it ends in '*'.
bool IdentityPatternMatches(std::string_view pattern, std::string_view identity);

// Validates one issuer's settings (https issuer and jwks_uri, an audience, positive
// durations). kInvalidArgument naming the field.
Status ValidateIssuerConfig(const IssuerConfig& c);

class Verifier {
 public:
  // `fetcher` and `clock` must outlive the Verifier. Configs must have passed
  // ValidateIssuerConfig and have distinct issuers.
  Verifier(std::vector<IssuerConfig> issuers, JwksFetcher* fetcher, const Clock* clock,
           size_t cache_capacity = 10000);
  ~Verifier();
  Verifier(const Verifier&) = delete;
  Verifier& operator=(const Verifier&) = delete;

  // A workload identity (`identity.jwt`): aud must contain the issuer's configured
  // audience; the agent claim, bound by IssuerConfig::identities, is the identity.
  Result<VerifiedIdentity> Verify(std::string_view token);

  // An OAuth 2.1 access token presented to the protected resource `resource` (RFC 9068,
  // RFC 8707; MCP authorization): signed by one of `issuers` (authorization servers, each
  // also a configured issuer), and `aud` exactly `resource` (a string, or an array of that
  // one string: a token good for several resources could be replayed at the others). The
  // issuer's configured audience is not accepted here, nor is a resource token accepted
  // by Verify (its aud is not the configured audience). Needs `sub` (the human) and
  // `client_id` (RFC 9068; else `azp`). Cached separately per resource.
  Result<VerifiedIdentity> VerifyAccessToken(std::string_view token, std::string_view resource,
                                             const std::vector<std::string>& issuers);

  // Scheduled refresh: fetches every issuer whose keys are older than refresh_interval.
  void RefreshDue();

  size_t cache_size() const;
  const std::vector<IssuerConfig>& issuers() const { return configs_; }

 private:
  struct IssuerState;
  struct CacheEntry {
    VerifiedIdentity identity;
    size_t issuer_index;
    uint64_t key_generation;
  };
  struct DigestHash {
    size_t operator()(const Sha256Digest& d) const;
  };

  // What VerifyAccessToken checks instead of the configured audience and agent claim.
  struct AccessTokenCheck {
    std::string_view resource;
    const std::vector<std::string>* issuers;
  };
  Result<VerifiedIdentity> VerifyCached(std::string_view token, const Sha256Digest& digest,
                                        const AccessTokenCheck* at);
  Result<VerifiedIdentity> VerifyUncached(std::string_view token, const AccessTokenCheck* at,
                                          size_t* issuer_index, uint64_t* generation);
  // Fetches `state`'s keys now (on demand when `on_demand`: rate-limited). True when a new
  // key set was installed.
  bool Refresh(size_t index, bool on_demand, std::string* error);
  bool KeysFresh(size_t index, uint64_t generation) const;

  const std::vector<IssuerConfig> configs_;
  std::vector<std::unique_ptr<IssuerState>> states_;
  JwksFetcher* fetcher_;
  const Clock* clock_;
  const size_t cache_capacity_;
  mutable std::mutex cache_mu_;
  std::unordered_map<Sha256Digest, CacheEntry, DigestHash> cache_;
};

}  // namespace interlock::identity

#endif  // INTERLOCK_IDENTITY_VERIFIER_H_
