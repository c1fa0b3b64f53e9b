// OidcSignIn: reviewer and admin sign-in with OpenID Connect (docs/identity.md, "Reviewer
// sign-in with OpenID Connect"), the I/O half over oidc_session.h's pure pieces.
//
// Discovery reads `{issuer}/.well-known/openid-configuration` over https (the config's
// ca_file, 5 s, 64 KiB): its `issuer` must equal the configured one and its authorization,
// token and JWKS endpoints must be https. Until discovery succeeded nobody signs in (fail
// closed); Begin() tries again at most once per kRediscoverInterval.
//
// A sign-in: Begin() keeps nothing on the server: it returns the provider's authorization
// URL (response_type=code, S256 challenge, state, nonce) and the login cookie that carries
// the sign-in in the browser (LoginCodec). Finish() checks the callback's state against
// that cookie, refuses a state already used, exchanges the code at the token endpoint
// (client_secret_basic, the verifier, the same redirect_uri), verifies the ID token with
// identity::Verifier (iss, aud = client_id, exp, signature allowlist), checks its nonce
// (and azp when present), marks the state used, reads the role from role_claim and returns
// a Session named "oidc:<sub>@<issuer host>".
//
// Refusals are kPermissionDenied Errors whose message starts with a code (OIDC_STATE,
// OIDC_NONCE, OIDC_NO_ROLE, OIDC_AZP, OIDC_NAME, OIDC_TOKEN, OIDC_CODE, or the JWT_* codes
// of jwt.h); kUnavailable when the provider cannot be reached.
// Thread-safety: every method from any thread; Begin/Finish block (network) and must not
// run on a connection strand.
#ifndef INTERLOCK_IDENTITY_OIDC_SIGNIN_H_
#define INTERLOCK_IDENTITY_OIDC_SIGNIN_H_

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/time.h"
#include "identity/jwks_fetch.h"
#include "identity/oidc_session.h"
#include "identity/verifier.h"
#include "interlock/result.h"

namespace interlock::identity {

inline constexpr std::chrono::seconds kRediscoverInterval{30};
inline constexpr std::chrono::seconds kMaxSessionLifetime{86400};
inline constexpr size_t kMaxTokenReplyBytes = 64 * 1024;

// identity.oidc of the daemon config.
struct OidcConfig {
  std::string issuer;     // https; discovery from {issuer}/.well-known/openid-configuration
  std::string client_id;  // the ID token's aud must contain it
  std::string client_secret_file;
  std::string client_secret;  // read from client_secret_file at start (not from the YAML)
  // Where the provider sends the browser back: empty means
  // "{approvals.public_url or the listener}/ui/oidc/callback" (RedirectUri()).
  std::string redirect_uri;
  std::string ca_file;                                      // empty: the system's CAs
  std::string name;                                         // "Sign in with <name>"; default host
  std::vector<std::string> scopes = {"openid", "profile"};  // must include openid
  std::string role_claim = "groups";  // a string or an array of strings in the ID token
  std::vector<std::string> reviewer_values;
  std::vector<std::string> admin_values;  // admin wins when both match
  std::chrono::seconds session_lifetime{8 * 3600};
  std::chrono::seconds skew{60};
  // What names a person: "sub" ("oidc:<sub>@<issuer host>") or "email" (the ID token's
  // `email`, which `email_verified` must confirm: OidcEmailName). "email" lets a Slack user
  // be the same reviewer by their verified e-mail (slack.users_by_email) and needs the
  // scope "email".
  std::string name_claim = "sub";
};

// kInvalidArgument naming the key (issuer, client_id, ...).
Status ValidateOidcConfig(const OidcConfig& c);

// The host of an https URL ("https://idp.example.com:8443/x" -> "idp.example.com").
std::string OidcIssuerHost(std::string_view issuer);

// The audit name of a subject: "oidc:<sub>@<issuer host>".
std::string OidcPrincipalName(std::string_view sub, std::string_view issuer);
// The reviewer name of a person known by a verified e-mail (name_claim: email):
// OidcPrincipalName of the address in lower case, so that the console's sign-in and a
// Slack vote (slack.users_by_email) name one person alike.
std::string OidcEmailName(std::string_view email, std::string_view issuer);
// The subject of such a name ("" when `name` is not one of `issuer`'s).
std::string OidcSubject(std::string_view name, std::string_view issuer);

class OidcSignIn {
 public:
  // `clock` must outlive this. `session_key`: kSessionKeyBytes bytes.
  OidcSignIn(OidcConfig config, std::string session_key, const Clock* clock,
             std::chrono::milliseconds timeout = std::chrono::seconds(5));
  ~OidcSignIn();
  OidcSignIn(const OidcSignIn&) = delete;
  OidcSignIn& operator=(const OidcSignIn&) = delete;

  // Reads the discovery document now (blocking, bounded). The error says why.
  Status Discover();
  // Discovery done. When not: the last error (LastError()).
  bool available() const;
  std::string LastError() const;
  const std::string& provider_name() const { return provider_name_; }
  const OidcConfig& config() const { return config_; }
  const SessionCodec& codec() const { return codec_; }

  // The redirect_uri: the configured one, else `public_url` + "/ui/oidc/callback".
  std::string RedirectUri(std::string_view public_url) const;

  struct Started {
    std::string state;
    std::string authorization_url;
    std::string login_cookie;  // the value; the browser keeps it for login_ttl()
  };
  // Starts a sign-in (discovering first if needed). kUnavailable when the provider is not
  // discovered. Keeps no server state: any number of calls cost only their answers.
  Result<Started> Begin(std::string_view redirect_uri);
  std::chrono::seconds login_ttl() const { return logins_.ttl(); }

  // Whether `state` comes with the login cookie it was issued with, unexpired (OIDC_STATE
  // when not): cheap (two HMACs, no I/O), so callers may run it on a connection strand to
  // turn forged callbacks away before any other work. Finish() checks it again.
  Status CheckLogin(std::string_view login_cookie, std::string_view state) const;

  // What a sign-in attempt learnt about the person, for its audit record: filled as far
  // as the attempt got (subject and principal once the ID token verified).
  struct Facts {
    std::string subject;
    std::string principal;            // "oidc:<sub>@<issuer host>"; empty when refused OIDC_NAME
    std::vector<std::string> groups;  // the role_claim values that granted the role
  };
  // Finishes a sign-in; the Session has a fresh CSRF token and expires after
  // session_lifetime. `facts` (optional) is filled on success and on refusal alike.
  Result<Session> Finish(std::string_view login_cookie, std::string_view state,
                         std::string_view code, std::string_view redirect_uri,
                         Facts* facts = nullptr);

 private:
  struct Endpoints {
    std::string authorization;
    std::string token;
    std::string jwks;
  };
  Result<std::string> Exchange(const Endpoints& ep, std::string_view code,
                               std::string_view verifier, std::string_view redirect_uri);
  Result<Session> SessionFromIdToken(const std::string& id_token, const LoginCodec::Login& login,
                                     Facts* facts);

  const OidcConfig config_;
  const std::string provider_name_;
  const Clock* clock_;
  const std::chrono::milliseconds timeout_;
  SessionCodec codec_;
  const LoginCodec logins_;
  UsedStates used_;
  HttpsJwksFetcher fetcher_;
  mutable std::mutex mu_;
  bool discovered_ = false;             // guarded by mu_
  Endpoints endpoints_;                 // guarded by mu_; set once
  std::string last_error_;              // guarded by mu_
  TimePoint last_attempt_;              // guarded by mu_
  std::unique_ptr<Verifier> verifier_;  // set with endpoints_, then immutable
};

}  // namespace interlock::identity

#endif  // INTERLOCK_IDENTITY_OIDC_SIGNIN_H_
