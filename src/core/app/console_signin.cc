#include "core/app/console_signin.h"

#include <utility>

#include "identity/jwt.h"
#include "identity/oidc_session.h"

namespace interlock::core {
namespace {

ConsoleSession FromIdentity(identity::Session s) {
  return ConsoleSession{
      .name = std::move(s.name),
      .role = s.role == identity::SessionRole::kAdmin ? Role::kAdmin : Role::kReviewer,
      .csrf = std::move(s.csrf),
      .expires_at = s.expires_at};
}

identity::Session ToIdentity(const ConsoleSession& s) {
  return identity::Session{.name = s.name,
                           .role = s.role == Role::kAdmin ? identity::SessionRole::kAdmin
                                                          : identity::SessionRole::kReviewer,
                           .csrf = s.csrf,
                           .expires_at = s.expires_at};
}

}  // namespace

Result<ConsoleSignIn::Started> ConsoleSignIn::Begin(std::string_view public_url) {
  auto started = oidc_->Begin(oidc_->RedirectUri(public_url));
  if (!started.ok()) return started.error();
  return Started{.authorization_url = std::move(started->authorization_url),
                 .login_cookie = std::move(started->login_cookie)};
}

Status ConsoleSignIn::CheckLogin(std::string_view login_cookie, std::string_view state) const {
  return oidc_->CheckLogin(login_cookie, state);
}

Result<ConsoleSession> ConsoleSignIn::Finish(std::string_view login_cookie, std::string_view state,
                                             std::string_view code, std::string_view public_url,
                                             Facts* facts) {
  identity::OidcSignIn::Facts f;
  auto s = oidc_->Finish(login_cookie, state, code, oidc_->RedirectUri(public_url), &f);
  if (facts != nullptr) {
    *facts = Facts{.subject = std::move(f.subject),
                   .principal = std::move(f.principal),
                   .groups = std::move(f.groups)};
  }
  if (!s.ok()) return s.error();
  return FromIdentity(std::move(s).value());
}

std::string_view ConsoleSignIn::RefusalCode(const Error& e) { return identity::RefusalCode(e); }

std::string ConsoleSignIn::Encode(const ConsoleSession& s) const {
  return oidc_->codec().Encode(ToIdentity(s));
}

Result<ConsoleSession> ConsoleSignIn::Decode(std::string_view cookie, TimePoint now) const {
  auto s = oidc_->codec().Decode(cookie, now);
  if (!s.ok()) return s.error();
  return FromIdentity(std::move(s).value());
}

bool ConsoleSignIn::CsrfAllows(const ConsoleSession& s, std::string_view header_token,
                               std::string_view origin, std::string_view own_origin) {
  return identity::CsrfAllows(ToIdentity(s), header_token, origin, own_origin);
}

std::string ConsoleSignIn::Subject(std::string_view name) const {
  return identity::OidcSubject(name, oidc_->config().issuer);
}

}  // namespace interlock::core
