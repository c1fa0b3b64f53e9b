// CredentialBroker: the credential the daemon presents to an MCP upstream for one call,
// obtained from an identity provider's token endpoint and never shown to the agent
// (docs/identity.md#upstream-credentials).
//
// Two grants, configured per upstream (daemon/config.h, mcp.upstreams.NAME.credentials):
//  - token exchange (RFC 8693): the caller's verified JWT (its workload token, naming the
//    human in on_behalf_of) is the subject_token; the answer is a short-lived access token
//    whose audience is the upstream and whose scopes are the tool's credential_scope (or the
//    upstream's default scope when the tool names none).
//  - client credentials (RFC 6749 section 4.4): the daemon's client, or the calling agent's
//    own client (`agents:`), so two agents act upstream as two identities.
// The broker authenticates with client_secret_basic (client_id and secret from the config),
// or with a client assertion signed by a key (client_assertion: {key_file}).
//
// Fail closed: every failure (the endpoint down, slow, refusing, an answer that is not a
// Bearer access token, a token for another audience or with a scope that was not asked for)
// is an Error whose message starts with "CREDENTIAL_UNAVAILABLE: "; the caller denies the
// call and forwards nothing. Errors never quote a token or a secret.
//
// Tokens are cached per (upstream, client, subject, audience, scopes) until `renew_before`
// ahead of their expiry (and never past the subject token's own expiry); concurrent callers
// of one key share one request to the endpoint (single flight); the cache is bounded.
// Thread-safety: Get() from any thread; it blocks for at most the endpoint's timeout.
#ifndef INTERLOCK_IDENTITY_CREDENTIAL_BROKER_H_
#define INTERLOCK_IDENTITY_CREDENTIAL_BROKER_H_

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/credential_request.h"
#include "common/time.h"
#include "interlock/result.h"

namespace interlock::identity {

inline constexpr const char* kCredentialUnavailable = "CREDENTIAL_UNAVAILABLE";
inline constexpr size_t kMaxTokenResponseBytes = 64 * 1024;
inline constexpr const char* kTokenExchangeGrant =
    "urn:ietf:params:oauth:grant-type:token-exchange";
inline constexpr const char* kJwtTokenType = "urn:ietf:params:oauth:token-type:jwt";
inline constexpr const char* kAccessTokenType = "urn:ietf:params:oauth:token-type:access_token";

enum class CredentialKind { kTokenExchange, kClientCredentials };
// "token_exchange" | "client_credentials".
const char* CredentialKindName(CredentialKind k);

// A client of the identity provider: its id and its secret (the content of the configured
// client_secret_file, read at start-up and masked like every upstream secret).
// With `assertion_key_pem` set the client authenticates with a signed JWT instead of
// the secret (RFC 7523 private_key_jwt: `client_assertion`, docs/identity.md).
struct CredentialClient {
  std::string client_id;
  std::string client_secret;
  std::string assertion_key_pem;  // PEM private key, Ed25519 (EdDSA) or RSA (RS256)
};

// The client assertion of RFC 7523 section 2.2 for `client_id` at `audience` (the token
// endpoint): iss = sub = client_id, aud, a random jti, iat = now, exp = now + 60 s, signed
// with the PEM key (Ed25519: EdDSA; RSA: RS256). kInvalidArgument for another key type or
// an unreadable key (the message never quotes the key).
Result<std::string> SignClientAssertion(std::string_view client_id, std::string_view audience,
                                        std::string_view key_pem, TimePoint now);

// One upstream's credentials, validated at start-up.
struct CredentialConfig {
  CredentialKind kind = CredentialKind::kTokenExchange;
  std::string upstream;   // the upstream's name, for messages
  std::string token_url;  // https (http only to 127.0.0.1/::1, for tests)
  std::string ca_file;    // PEM bundle for a private CA; empty: the system's CAs
  CredentialClient client;
  // client_credentials: a client per agent id; an agent not listed uses `client`.
  std::map<std::string, CredentialClient, std::less<>> agents;
  std::string audience;            // token_exchange: required; client_credentials: optional
  std::vector<std::string> scope;  // the default when a tool names no credential_scope
  std::chrono::milliseconds timeout{5000};
  std::chrono::seconds renew_before{60};  // a cached token is renewed this long before exp
  // command: upstreams: the environment variable the server receives the token in.
  std::string env = "INTERLOCK_UPSTREAM_TOKEN";
};

// Checks a config's fields (token_url https or loopback http, audience for token exchange,
// a client id and secret). kInvalidArgument naming the field.
Status ValidateCredentialConfig(const CredentialConfig& c);

// What the token endpoint answered, parsed strictly (RFC 6749 section 5.1, RFC 8693 2.2.1).
struct TokenResponse {
  std::string access_token;
  std::string issued_token_type;  // RFC 8693; "" for other grants
  std::optional<int64_t> expires_in;
  std::optional<std::vector<std::string>> scope;  // space-separated in the answer
};

// A 200 with a JSON object holding access_token and token_type Bearer (case-insensitive);
// an error answer (RFC 6749 section 5.2) is refused with its `error` code and description,
// each with every one of `secrets` masked ("[secret]") and then bounded and stripped of
// control bytes: a provider that quotes the client secret back does not hand it to the
// agent. Bodies over kMaxTokenResponseBytes are refused.
Result<TokenResponse> ParseTokenResponse(int status, std::string_view body,
                                         const std::vector<std::string>& secrets = {});

// What the audit record says of the credential that acted (never the token).
struct CredentialRecord {
  CredentialKind kind = CredentialKind::kTokenExchange;
  std::string issuer;    // the token's iss; else the token endpoint's origin
  std::string audience;  // the token's aud (joined with ' '), else the configured one
  // What was granted: the token's scope/scp claims; else the answer's `scope`; else (neither
  // says) the scopes asked for, which RFC 6749 section 5.1 makes the grant.
  std::vector<std::string> scopes;
  std::string scopes_from;  // "token" | "answer" | "request"
  std::string subject;      // the token's sub; else the client id / the human
  std::string actor;        // the token's act.sub (on-behalf-of), if any
  std::string client_id;    // the identity provider's client the daemon used
  std::string fingerprint;  // "jti:<jti>" or "sha256:<16 hex digits>"
  TimePoint expires_at;
  // {"kind","issuer","audience","scopes","subject","actor","client_id","fingerprint",
  //  "expires_at", "scopes_from"}: canonical JSON for the call's result record.
  std::string ToJson() const;
};

struct Credential {
  std::string access_token;
  TimePoint expires_at;
  CredentialRecord record;
};

inline constexpr size_t kMaxTokenPayloadBytes = 16 * 1024;

// Three segments joined by two dots, whatever their characters: what a provider's JWT access
// token (a compact JWS) looks like, and what an upstream will try to read claims from. An
// opaque token with exactly two dots is therefore read as a JWT (and refused when it is not
// one); an encrypted JWT (JWE, four dots) is opaque to the daemon.
bool LooksLikeJwsCompact(std::string_view token);

// Reads what the record needs from a JWT access token's claims without verifying it (the
// upstream verifies; the daemon checks the grant and describes it). An opaque token (not
// JWT-shaped) gives a hash fingerprint and nothing else. For a JWT-shaped token, refuses:
//  - claims it cannot read (not base64url, not a JSON object, a duplicate key, deeper than
//    16, over kMaxTokenPayloadBytes): an unreadable grant is not an unchecked one;
//  - `aud` (a string or an array of strings) that does not name `audience`, or names any
//    other audience besides it (when `audience` is set);
//  - `scope` or `scp` (each a space-separated string or an array of strings) holding a
//    scope outside `asked`; either claim in another shape;
//  - `exp` that is not a number (integers and floats are read; a string is refused).
Result<CredentialRecord> DescribeToken(std::string_view token, std::string_view audience,
                                       const std::vector<std::string>& asked);

// The cache: tokens by key until `renew_before` ahead of expiry, single flight per key,
// at most `capacity` entries (expired ones go first, then the one expiring soonest).
// Thread-safety: any thread.
class CredentialCache {
 public:
  using Fetch = std::function<Result<Credential>()>;
  CredentialCache(const Clock* clock, size_t capacity) : clock_(clock), capacity_(capacity) {}

  // The cached credential for `key` while it has more than `renew_before` left, else
  // fetch()'s (run by one caller while the others of that key wait for its answer, error
  // included). A fetched credential is kept only when it outlives renew_before.
  Result<Credential> Get(const std::string& key, std::chrono::seconds renew_before,
                         const Fetch& fetch);
  size_t size() const;
  size_t fetches() const;  // how many times fetch() ran

 private:
  struct Flight {
    bool done = false;
    std::optional<Result<Credential>> result;
  };
  void InsertLocked(const std::string& key, Credential c);

  const Clock* clock_;
  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Credential> entries_;
  std::map<std::string, std::shared_ptr<Flight>> flights_;
  size_t fetches_ = 0;
};

// POSTs a form to a token endpoint. Implementations: HttpsTokenEndpoint; a fake in tests.
class TokenEndpoint {
 public:
  struct Reply {
    int status = 0;
    std::string body;
  };
  virtual ~TokenEndpoint() = default;
  // `form`: application/x-www-form-urlencoded; `client`: sent as HTTP Basic.
  virtual Result<Reply> Post(const CredentialConfig& config, const CredentialClient& client,
                             const std::string& form) = 0;
};

// Over outbound::HttpExchange: https verifying the chain (ca_file) and name; plain http
// only to a loopback address. No redirects. Bounded by the config's timeout.
class HttpsTokenEndpoint final : public TokenEndpoint {
 public:
  Result<Reply> Post(const CredentialConfig& config, const CredentialClient& client,
                     const std::string& form) override;
};

// application/x-www-form-urlencoded and query components: RFC 3986 unreserved kept, every
// other byte percent-encoded. Shared with the reviewers' sign-in (oidc_signin.cc).
std::string FormEncode(std::string_view s);
// Standard base64 with padding (HTTP Basic credentials).
std::string Base64Std(std::string_view in);

class CredentialBroker {
 public:
  using Request = CredentialRequest;  // common/credential_request.h

  // `endpoint` and `clock` must outlive the broker. Configs passed ValidateCredentialConfig.
  CredentialBroker(std::vector<CredentialConfig> configs, TokenEndpoint* endpoint,
                   const Clock* clock, size_t capacity = 10000);

  bool Has(std::string_view upstream) const;
  const CredentialConfig* Config(std::string_view upstream) const;
  // The credential for one call; CREDENTIAL_UNAVAILABLE errors otherwise.
  Result<Credential> Get(const Request& request);
  const CredentialCache& cache() const { return cache_; }

 private:
  Result<Credential> Fetch(const CredentialConfig& c, const CredentialClient& client,
                           const Request& rq, const std::vector<std::string>& scopes);

  std::map<std::string, CredentialConfig, std::less<>> configs_;
  TokenEndpoint* endpoint_;
  const Clock* clock_;
  CredentialCache cache_;
};

}  // namespace interlock::identity

#endif  // INTERLOCK_IDENTITY_CREDENTIAL_BROKER_H_
