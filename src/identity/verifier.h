// Verifier: a bearer JWT -> the verified identity of the agent presenting it.
//
// One Verifier holds the trusted issuers (validated once, immutable), each issuer's current
// key set (an immutable snapshot swapped on refresh), and a bounded cache of verified tokens
// keyed by the token's SHA-256 until the token's `exp`.
//
// Keys come from a JwksFetcher (HTTPS in the daemon, jwks_fetch.h; a fake in tests), never
// on the thread that calls Verify(): an identity provider that is slow or hangs must not
// hold a request, let alone the daemon's network threads (issue 31).
//  - on demand: no keys yet, keys older than max_key_age, or a token whose `kid` is unknown.
//    Verify() refuses such a token at once (JWT_KEYS_UNAVAILABLE / JWT_UNKNOWN_KID, "retry
//    shortly") and asks the Verifier's own refresh thread for the issuer's keys. The asking
//    is rate-limited per issuer to once per kOnDemandInterval (30 s) on an atomic, before
//    any lock, so a stream of tokens with invented kids costs one compare-and-swap each and
//    cannot turn Interlock into a load generator against the issuer; the thread runs one
//    fetch at a time (single flight). A caller that may wait (a sign-in, already off the
//    network threads) passes `wait_for_keys`: it then waits, bounded, for that refresh and
//    verifies once more, holding no one else.
//  - on a schedule: RefreshDue(), called by the owner's timer thread, refreshes every issuer
//    whose keys are older than its refresh_interval (on the caller's thread).
// Refusals are kPermissionDenied Errors whose message starts with a code of jwt.h.
// Thread-safety: Verify() and RefreshDue() from any thread, concurrently.
#ifndef INTERLOCK_IDENTITY_VERIFIER_H_
#define INTERLOCK_IDENTITY_VERIFIER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
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
  // A claim (or path) naming the human; empty: EffectiveOnBehalfOfClaim().
  std::string on_behalf_of_claim;
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

// The longest actor chain (VerifiedIdentity::actor_chain) a token may carry.
inline constexpr size_t kMaxActorChain = 8;

struct VerifiedIdentity {
  std::string issuer;
  std::string agent;         // the agent_claim's value: a policy's agent.identity
  std::string on_behalf_of;  // "" when the token names nobody
  std::vector<std::string> on_behalf_of_groups;  // from on_behalf_of_groups_claim
  // The token's actor chain (RFC 8693 4.1: `act`, and the `act` nested in it for each
  // earlier actor), outermost (the current actor) first: each actor's `sub`, else its
  // `client_id`, else "". Empty without `act`. At most kMaxActorChain long: a deeper
  // chain is refused (JWT_ACTOR_CHAIN_TOO_DEEP).
  std::vector<std::string> actor_chain;
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

// The claim on_behalf_of is read from: the configured one, else the other half of the
// RFC 8693 pair: "sub" when the agent is the actor (agent_claim "act.sub": a delegation
// token names the human in `sub`), "act.sub" otherwise.
std::string EffectiveOnBehalfOfClaim(const IssuerConfig& c);

// Validates one issuer's settings (https issuer and jwks_uri, an audience, positive
// durations), and refuses an on_behalf_of claim equal to the agent claim (the agent would
// be recorded as the human it acts for, who could then approve her own delegated call).
// kInvalidArgument naming the field.
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
  // Never fetches keys; with `wait_for_keys` > 0 a token refused for want of its keys
  // waits up to that long for the refresh it asked for, then is verified once more.
  Result<VerifiedIdentity> Verify(std::string_view token,
                                  std::chrono::milliseconds wait_for_keys = {});

  // An OAuth 2.1 access token presented to the protected resource `resource` (RFC 9068,
  // RFC 8707; MCP authorization): signed by one of `issuers` (authorization servers, each
  // also a configured issuer), and `aud` exactly `resource` (a string, or an array of that
  // one string: a token good for several resources could be replayed at the others). The
  // issuer's configured audience is not accepted here, nor is a resource token accepted
  // by Verify (its aud is not the configured audience). Needs `sub` (the human) and
  // `client_id` (RFC 9068; else `azp`). Cached separately per resource.
  Result<VerifiedIdentity> VerifyAccessToken(std::string_view token, std::string_view resource,
                                             const std::vector<std::string>& issuers);

  // Scheduled refresh: fetches every issuer whose keys are older than refresh_interval,
  // on the caller's thread.
  void RefreshDue();

  // Waits (bounded) until no on-demand refresh is asked for or running. True when idle.
  // For tests and for callers that want the keys a refused token asked for.
  bool WaitForRefreshes(std::chrono::milliseconds timeout);

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
  // Fetches issuer `index`'s keys now, on this thread. True when a new key set was
  // installed.
  bool Refresh(size_t index, std::string* error);
  // Asks the refresh thread for issuer `index`'s keys unless it was asked less than
  // kOnDemandInterval ago. Never blocks on a fetch. True when this call asked.
  bool RequestRefresh(size_t index);
  void RefreshLoop();
  bool KeysFresh(size_t index, uint64_t generation) const;

  const std::vector<IssuerConfig> configs_;
  std::vector<std::unique_ptr<IssuerState>> states_;
  JwksFetcher* fetcher_;
  const Clock* clock_;
  const size_t cache_capacity_;
  mutable std::mutex cache_mu_;
  std::unordered_map<Sha256Digest, CacheEntry, DigestHash> cache_;

  // The refresh thread: woken by RequestRefresh (IssuerState::wanted), idle otherwise.
  std::mutex refresh_mu_;
  std::condition_variable refresh_cv_;  // work asked for, or stop
  std::condition_variable idle_cv_;     // a refresh finished
  size_t refreshing_ = 0;               // asked or running, under refresh_mu_
  bool stop_ = false;
  std::thread refresher_;  // last: started once everything above exists
};

}  // namespace interlock::identity

#endif  // INTERLOCK_IDENTITY_VERIFIER_H_
