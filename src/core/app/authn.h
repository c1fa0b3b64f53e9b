// Authenticator: a bearer credential -> who is calling (core::Caller), for every door.
//
// One use case, written once: an Interlock token is looked up in the token table (behind
// a short positive cache keyed by the token's SHA-256), a JWT is verified by the trusted
// issuers and mapped to the one policy whose agent.identity equals its agent claim, an
// OAuth 2.1 access token for /mcp/{upstream} maps to the agent configured for that
// upstream. Every refusal is counted and written to the audit trail as an auth_failed
// record, coalesced to at most one record a second (a flood of bad tokens cannot flood the
// log); what is held back is written by a flush a second later, or at Shutdown, never lost.
// Doors (HTTP API, /mcp/{upstream}, the Claude Code hook endpoint, OIDC console sessions)
// read the credential from their protocol and call this; none re-implements a rule here.
//
// Fail closed: a token table that cannot answer is kUnavailable (the door answers 503),
// never a pass. The cache holds positive answers only, for `cache_ttl` on the injected
// clock (0: off), so a revoked token stops working within that time.
//
// Threading: every method may be called from any thread. Bearer() and the other
// Authenticate* calls never block on a failure record: records are written through the
// AuthnExecutor (off the caller's thread). Collaborators must outlive the Authenticator.
#ifndef INTERLOCK_CORE_APP_AUTHN_H_
#define INTERLOCK_CORE_APP_AUTHN_H_

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/json/object.hpp>

#include "common/time.h"
#include "core/app/policy_source.h"
#include "core/ports/run_store.h"
#include "core/ports/store.h"  // Principal, AuthFailures, RefusedSignIn
#include "identity/jwt.h"
#include "identity/oauth.h"
#include "identity/verifier.h"
#include "interlock/result.h"

namespace interlock::core {

using Principal = core::Principal;
using AuthFailures = core::AuthFailures;
using RefusedSignIn = core::RefusedSignIn;

// Interlock's own tokens are at most this long (JWTs may be longer: identity/jwt.h).
inline constexpr size_t kMaxInterlockTokenBytes = 512;
// The longest bearer credential a door reads from its protocol and hands to Bearer(): a
// JWT's bound (identity/jwt.h); a longer one is no credential at all.
inline constexpr size_t kMaxBearerBytes = identity::kMaxTokenBytes;

// Whether `token` is shaped like a JWT (three base64url parts): what Bearer() verifies as a
// JWT rather than looks up as an Interlock token, and the only shape OAuthAccessToken()
// takes. A door that offers both (an OAuth-protected resource) asks this to pick the call.
bool IsJwtShaped(std::string_view token);

// The `exp` of a JWT an Authenticator verified already (read again, not verified): what a
// credential exchanged for the token must not outlive. Read as the verifier reads it (an
// integer or a float): an `exp` skipped for its shape would let the exchanged credential
// outlive the token. nullopt when the token has no readable `exp`.
std::optional<TimePoint> JwtExpiry(std::string_view token);

// Who a request acts as: from its credential only.
struct Caller {
  Principal principal;
  CallerIdentity identity;  // set when the credential was a verified JWT or OAuth token
};

// Why a credential was refused. The door maps the outcome to its protocol (HTTP: 401 with
// a WWW-Authenticate challenge, 503, 403).
enum class AuthnOutcome {
  kUnauthenticated,  // no, a malformed, an unknown, a revoked or an unverifiable credential
  kUnavailable,      // the token table cannot answer now (fail closed)
  kForbidden,        // a valid credential that maps to no agent here (OAuth: no agent)
};

struct AuthnRefusal {
  AuthnOutcome outcome = AuthnOutcome::kUnauthenticated;
  std::string message;  // for the client
  // A JWT was presented and refused: the challenge says error="invalid_token".
  bool invalid_jwt = false;
};

// Either a caller or a refusal (the refusal already counted and recorded).
struct AuthnResult {
  std::optional<Caller> caller;
  AuthnRefusal refusal;
  bool ok() const { return caller.has_value(); }
};

// The token table the authenticator reads and the audit sink its failures go to.
class TokenTable {
 public:
  virtual ~TokenTable() = default;
  // The principal of a live token; kNotFound/kPermissionDenied for unknown or revoked,
  // kUnavailable/kTimeout when the table cannot answer.
  virtual Result<Principal> Authenticate(std::string_view token) = 0;
  // Authenticate's answer when the table holds it without reading or waiting; nullopt
  // when it would have to read (the default).
  virtual std::optional<Principal> CachedPrincipal(std::string_view /*token*/) {
    return std::nullopt;
  }
  // Writes one auth_failed record (committed when it returns).
  virtual Status RecordAuthFailures(const AuthFailures& failures) = 0;
};

// The store's token table. `store` must outlive the result.
std::unique_ptr<TokenTable> StoreTokenTable(core::Store* store);

// How failure records leave the caller's thread. The door owns the threads and the timer.
class AuthnExecutor {
 public:
  virtual ~AuthnExecutor() = default;
  // Runs `fn` soon on a thread that may block (a store commit).
  virtual void Post(std::function<void()> fn) = 0;
  // Calls Authenticator::FlushFailures once after `delay`, unless CancelFlush comes first.
  virtual void ArmFlush(std::chrono::milliseconds delay) = 0;
  virtual void CancelFlush() = 0;
};

struct AuthnOptions {
  // Positive answers for Interlock tokens are kept this long (0: off; the store caches for
  // 500 ms itself).
  std::chrono::milliseconds cache_ttl{0};
  // Trusted JWT issuers (identity.jwt). Null: Interlock tokens only.
  identity::Verifier* jwt = nullptr;
  // Counts every refusal (the door's metrics); may be empty.
  std::function<void()> count_failure;
};

class Authenticator {
 public:
  // `clock` dates the failure records and expires the cache (inject a ManualClock in tests).
  Authenticator(AuthnOptions options, TokenTable* tokens, const PolicySource* policies,
                const Clock* clock, AuthnExecutor* executor);
  ~Authenticator();

  // A bearer credential: a JWT when one is configured and the token looks like one, else
  // an Interlock token. `header_present`: an Authorization header was sent (only the
  // audited reason differs). Pass nullopt for "no usable bearer token".
  AuthnResult Bearer(std::optional<std::string_view> token, bool header_present = false);
  // Bearer's answer when it can be given without reading the token table or waiting (no
  // token, a refusal of its shape, a drill, a JWT: the verifier never waits; a token a
  // cache holds); nullopt when only a read of the table can answer, which the caller then
  // makes where it may wait (Bearer, on another thread). For a door whose one thread serves
  // every request (the ext_authz door).
  std::optional<AuthnResult> BearerWithoutWaiting(std::optional<std::string_view> token,
                                                  bool header_present = false);

  // An OAuth 2.1 access token presented to /mcp/{upstream} (identity.oauth): it must be
  // for `resource` and from one of `authorization_servers`; the agent is `agent` (the
  // configured agent of the upstream, nullopt when none is configured), which must have
  // a policy; its `sub` is whom the agent acts for.
  AuthnResult OAuthAccessToken(std::string_view token, std::string_view resource,
                               const std::vector<std::string>& authorization_servers,
                               std::string_view upstream, std::optional<std::string> agent);

  // Counts and records one refusal the door decided itself (a bad metrics secret, a bad
  // session cookie, a refused sign-in; `who` names a refused sign-in's person).
  void NoteFailure(std::string_view why, const RefusedSignIn* who = nullptr);
  // Writes what is held back now (the flush timer, Shutdown).
  void FlushFailures();
  // After Shutdown failures are written at once, on the caller's thread. Idempotent.
  void Shutdown();

  // A kill-switch drill's credential (core/app/drills.h): while armed, `token`
  // authenticates as the drill agent at every door that asks Bearer(); once disarmed it is
  // an unknown token like any other. One at a time; compared in constant time.
  void ArmDrill(std::string token);
  void DisarmDrill();

 private:
  class Cache;
  // nullopt only when !may_wait and the token table would have to be read.
  std::optional<AuthnResult> Interlock(std::string_view token, bool may_wait);
  AuthnResult Jwt(std::string_view token);
  AuthnResult Refuse(std::string_view why, AuthnRefusal refusal);
  void Write(const AuthFailures& f);

  AuthnOptions options_;
  TokenTable* tokens_;
  const PolicySource* policies_;
  const Clock* clock_;
  AuthnExecutor* executor_;
  std::unique_ptr<Cache> cache_;
  std::atomic<bool> shut_down_{false};
  std::atomic<bool> drill_armed_{false};  // fast path: no lock unless a drill runs
  std::mutex drill_mu_;
  std::string drill_token_;  // guarded by drill_mu_
  std::mutex fail_mu_;
  AuthFailures held_;         // not yet written; guarded by fail_mu_
  TimePoint last_written_;    // guarded by fail_mu_
  bool flush_armed_ = false;  // guarded by fail_mu_
};

// OAuth 2.1 for /mcp/{upstream} (identity.oauth, docs/identity.md#mcp-clients-with-oauth-21)
// as a door serves it: the endpoints as OAuth protected resources named under a base URL
// (identity.oauth.resource_base, else the daemon's public URL), their RFC 9728 metadata,
// the WWW-Authenticate challenge, and the access tokens presented to them. The daemon
// builds it from its config; the door holds it by value. Immutable: any thread.
class McpOAuth {
 public:
  McpOAuth() = default;  // off
  explicit McpOAuth(identity::OAuthConfig config) : config_(std::move(config)) {}

  // Whether OAuth is on (an authorization server is configured).
  bool enabled() const { return config_.enabled(); }
  // identity.oauth.resource_base; "" when the daemon's public URL names the resources.
  const std::string& resource_base() const { return config_.resource_base; }

  // Whether a request path is under /.well-known/oauth-protected-resource.
  static bool IsMetadataPath(std::string_view path);
  // The upstream a metadata path names ("/.well-known/oauth-protected-resource/mcp/NAME"),
  // given the base's own path prefix; "" when the path is not one.
  static std::string UpstreamOfMetadataPath(std::string_view base, std::string_view path);
  // The RFC 9728 document of /mcp/{upstream} under `base`.
  boost::json::object Metadata(std::string_view base, std::string_view upstream) const;
  // `Bearer resource_metadata="...", scope="..."[, error="invalid_token"]`.
  std::string Challenge(std::string_view base, std::string_view upstream, bool invalid_token) const;
  // An OAuth access token presented to /mcp/{upstream} under `base`
  // (Authenticator::OAuthAccessToken for that resource, this config's authorization
  // servers and the agent configured for the upstream).
  AuthnResult Authenticate(Authenticator& authn, std::string_view token, std::string_view base,
                           std::string_view upstream) const;

 private:
  identity::OAuthConfig config_;
};

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_APP_AUTHN_H_
