// ConsoleSignIn: reviewer and admin sign-in with OpenID Connect on the console
// (identity.oidc; docs/identity.md, "Reviewer sign-in with OpenID Connect"), as a door asks
// it: start a sign-in, check and finish the provider's callback, and read, write and check
// the session cookie. The protocol (PKCE, state, token exchange, ID token checks, roles) is
// identity::OidcSignIn's, which the daemon builds and this holds; the door does HTTP only
// (cookies, redirects, pages).
// Thread-safety: every method may be called from any thread. Begin and Finish block on the
// provider (call them off the network threads). The OidcSignIn must outlive this.
#ifndef INTERLOCK_CORE_APP_CONSOLE_SIGNIN_H_
#define INTERLOCK_CORE_APP_CONSOLE_SIGNIN_H_

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "common/time.h"
#include "core/roles.h"
#include "identity/oidc_signin.h"
#include "interlock/result.h"

namespace interlock::core {

// A signed-in person's console session (the session cookie's contents).
struct ConsoleSession {
  std::string name;             // the audit name: "oidc:<sub>@<issuer host>"
  Role role = Role::kReviewer;  // kReviewer or kAdmin
  std::string csrf;             // the per-session token the page sends in X-Interlock-CSRF
  TimePoint expires_at;
};

class ConsoleSignIn {
 public:
  explicit ConsoleSignIn(identity::OidcSignIn* oidc) : oidc_(oidc) {}

  // "Sign in with <provider_name>".
  const std::string& provider_name() const { return oidc_->provider_name(); }
  // Whether the provider's discovery succeeded (the button works).
  bool available() const { return oidc_->available(); }
  // The provider's issuer (audit records name it).
  const std::string& issuer() const { return oidc_->config().issuer; }
  // How long the browser keeps the login cookie of a sign-in in flight.
  std::chrono::seconds login_ttl() const { return oidc_->login_ttl(); }

  struct Started {
    std::string authorization_url;  // where the browser goes
    std::string login_cookie;       // the login cookie's value
  };
  // A new sign-in, the provider redirecting back under `public_url`. kUnavailable when the
  // provider is unreachable. Blocks.
  Result<Started> Begin(std::string_view public_url);
  // Whether a callback's state is the one its login cookie was issued for (a forged or
  // unbound callback is refused, kPermissionDenied).
  Status CheckLogin(std::string_view login_cookie, std::string_view state) const;

  // What a finished (or refused) sign-in learnt of the person.
  struct Facts {
    std::string subject;
    std::string principal;            // empty when refused before the person was named
    std::vector<std::string> groups;  // the role claim's values that granted the role
  };
  // The provider's callback: the code exchanged, the ID token verified, the role mapped.
  // A refusal (kPermissionDenied, or kUnavailable when the provider cannot be reached)
  // carries the reason code RefusalCode reads. Blocks.
  Result<ConsoleSession> Finish(std::string_view login_cookie, std::string_view state,
                                std::string_view code, std::string_view public_url, Facts* facts);
  // The reason code of a refusal of Finish ("" when it has none).
  static std::string_view RefusalCode(const Error& e);

  // The session cookie's value for `s`.
  std::string Encode(const ConsoleSession& s) const;
  // The session of a cookie; kPermissionDenied naming why (malformed, bad MAC, expired).
  Result<ConsoleSession> Decode(std::string_view cookie, TimePoint now) const;
  // Whether a state-changing request with the session's cookie may change anything: it
  // carries the session's CSRF token and, when it has an Origin, the console's own.
  static bool CsrfAllows(const ConsoleSession& s, std::string_view header_token,
                         std::string_view origin, std::string_view own_origin);
  // The subject of a session's audit name, at this provider.
  std::string Subject(std::string_view name) const;

 private:
  identity::OidcSignIn* oidc_;
};

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_APP_CONSOLE_SIGNIN_H_
