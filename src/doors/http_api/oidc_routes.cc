// Reviewer and admin sign-in with OpenID Connect on the console (docs/identity.md,
// "Reviewer sign-in with OpenID Connect"): the /ui/oidc/* routes and the session cookie
// half of Api::Authenticate. The protocol (PKCE, state, token exchange, ID token checks,
// roles) is behind core::ConsoleSignIn (core/app/console_signin.h); this file is HTTP only:
// cookies, redirects, pages.
#include <boost/asio/post.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include <iostream>

#include "common/crypto.h"
#include "common/text.h"
#include "common/time.h"
#include "core/app/console_signin.h"
#include "core/app/web_origin.h"
#include "doors/http_api/api.h"

namespace interlock::server {
namespace {

namespace http = boost::beast::http;
namespace json = boost::json;

constexpr std::string_view kCsrfHeader = "X-Interlock-CSRF";

std::string HtmlEscape(std::string_view s) {
  return EscapeBytes(
      s, {{'&', "&amp;"}, {'<', "&lt;"}, {'>', "&gt;"}, {'"', "&quot;"}, {'\'', "&#39;"}});
}

void SetPageHeaders(HttpResponse* res) {
  res->set("Content-Security-Policy",
           "default-src 'none'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
           "form-action 'none'");
  res->set(http::field::x_frame_options, "DENY");
  res->set("X-Content-Type-Options", "nosniff");
  res->set("Referrer-Policy", "no-referrer");
  res->set(http::field::cache_control, "no-store");
}

// A page for a person in a browser (the sign-in routes are navigations, not API calls).
HttpResponse Page(unsigned status, std::string_view title, std::string_view message) {
  HttpResponse res{static_cast<http::status>(status), 11};
  res.set(http::field::content_type, "text/html; charset=utf-8");
  SetPageHeaders(&res);
  res.body() = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" +
               HtmlEscape(title) +
               "</title><link rel=\"stylesheet\" href=\"/ui/app.css\"></head>\n<body><main><h1>" +
               HtmlEscape(title) + "</h1><p id=\"reason\">" + HtmlEscape(message) +
               "</p><p><a href=\"/ui/\">Back to the console</a></p></main></body></html>\n";
  res.prepare_payload();
  return res;
}

HttpResponse Redirect(const std::string& location) {
  HttpResponse res{http::status::found, 11};
  res.set(http::field::location, location);
  SetPageHeaders(&res);
  res.prepare_payload();
  return res;
}

// The value of cookie `name` in the request's Cookie header(s); "" when absent.
std::string FindCookie(const HttpRequest& req, std::string_view name) {
  for (auto it = req.find(http::field::cookie);
       it != req.end() && it->name() == http::field::cookie; ++it) {
    std::string_view rest(it->value().data(), it->value().size());
    while (!rest.empty()) {
      const size_t semi = rest.find(';');
      std::string_view pair = rest.substr(0, semi);
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
      const size_t eq = pair.find('=');
      if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
        return std::string(pair.substr(eq + 1));
      }
    }
  }
  return "";
}

std::string HeaderValue(const HttpRequest& req, std::string_view name) {
  auto it = req.find(name);
  return it == req.end() ? "" : std::string(it->value());
}

// The sign-in's binding to the browser that started it: set by /ui/oidc/login, sent back
// on the provider's redirect (SameSite=Lax: a top-level GET from another site).
std::string LoginCookieName(bool secure) {
  return secure ? "__Host-interlock_oidc_login" : "interlock_oidc_login";
}

std::string CookieAttributes(bool secure, std::string_view same_site, int64_t max_age) {
  std::string a = "; Path=/; Max-Age=" + std::to_string(max_age) + "; HttpOnly; SameSite=";
  a += same_site;
  if (secure) a += "; Secure";
  return a;
}

const char* SessionRoleName(core::Role r) { return r == core::Role::kAdmin ? "admin" : "reviewer"; }

}  // namespace

std::string Api::SessionCookieName() const {
  return options_.secure_cookies ? "__Host-interlock_session" : "interlock_session";
}

std::string Api::SessionCookie(const HttpRequest& req) const {
  return FindCookie(req, SessionCookieName());
}

std::string Api::OwnOrigin() const {
  std::string url;
  {
    std::lock_guard lock(url_mu_);
    url = public_url_;
  }
  return core::WebOrigin(url);
}

std::optional<HttpResponse> Api::AuthenticateSession(const HttpRequest& req, Caller* caller) {
  auto s = options_.oidc->Decode(SessionCookie(req), clock_->Now());
  if (!s.ok()) {
    NoteAuthFailure("session cookie refused");
    return JsonError(401, "UNAUTHENTICATED", s.error().message + "; sign in again");
  }
  const http::verb m = req.method();
  if (m != http::verb::get && m != http::verb::head && m != http::verb::options) {
    // A cookie alone never changes anything: the page's own script sends the token.
    if (!core::ConsoleSignIn::CsrfAllows(*s, HeaderValue(req, kCsrfHeader),
                                         HeaderValue(req, "Origin"), OwnOrigin())) {
      NoteAuthFailure("CSRF");
      return JsonError(403, "FORBIDDEN",
                       "a signed-in browser's change needs the X-Interlock-CSRF header of "
                       "GET /ui/oidc/session and this console's own Origin");
    }
  }
  core::Principal& p = caller->principal;
  p.role = s->role;  // kReviewer or kAdmin (core::ConsoleSession)
  p.name = s->name;
  p.token_id = "oidc-session";
  p.agent_id.clear();
  return std::nullopt;
}

void Api::HandleOidcLogin(Responder r) {
  if (options_.oidc == nullptr) {
    return r.Send(JsonError(404, "NOT_FOUND", "OpenID Connect sign-in is not configured"));
  }
  std::string public_url;
  {
    std::lock_guard lock(url_mu_);
    public_url = public_url_;
  }
  boost::asio::post(pool_, [this, r, public_url] {
    core::ConsoleSignIn* oidc = options_.oidc;
    auto started = oidc->Begin(public_url);
    if (!started.ok()) {
      return r.Send(Page(
          503, "Sign-in with " + oidc->provider_name() + " is unavailable",
          started.error().message + ". Reviewer tokens still work: paste one on the console."));
    }
    HttpResponse res = Redirect(started->authorization_url);
    res.set(http::field::set_cookie,
            LoginCookieName(options_.secure_cookies) + "=" + started->login_cookie +
                CookieAttributes(options_.secure_cookies, "Lax", oidc->login_ttl().count()));
    r.Send(std::move(res));
  });
}

void Api::HandleOidcCallback(const HttpRequest& req, Responder r) {
  if (options_.oidc == nullptr) {
    return r.Send(JsonError(404, "NOT_FOUND", "OpenID Connect sign-in is not configured"));
  }
  const std::string title = "Sign-in with " + options_.oidc->provider_name() + " failed";
  auto url =
      boost::urls::parse_origin_form(std::string_view(req.target().data(), req.target().size()));
  if (!url) return r.Send(Page(400, title, "the callback's query is malformed"));
  std::string state, code, error, description;
  for (const auto& p : url->params()) {
    std::string* out = p.key == "state"               ? &state
                       : p.key == "code"              ? &code
                       : p.key == "error"             ? &error
                       : p.key == "error_description" ? &description
                                                      : nullptr;
    if (out == nullptr) continue;
    if (!out->empty()) return r.Send(Page(400, title, p.key + " is given more than once"));
    *out = std::string(p.value).substr(0, 512);
  }
  if (state.empty()) return r.Send(Page(400, title, "the callback has no state"));
  std::string login_cookie = FindCookie(req, LoginCookieName(options_.secure_cookies));
  // Forged and unbound callbacks are turned away here, before they take a pool thread.
  if (Status bound = options_.oidc->CheckLogin(login_cookie, state); !bound.ok()) {
    NoteAuthFailure("OIDC_STATE");
    return r.Send(Page(403, title, bound.error().message));
  }
  std::string public_url;
  {
    std::lock_guard lock(url_mu_);
    public_url = public_url_;
  }
  boost::asio::post(pool_, [this, r, title, state, code, error, description, public_url,
                            login_cookie = std::move(login_cookie)] {
    core::ConsoleSignIn* oidc = options_.oidc;
    const std::string clear = LoginCookieName(options_.secure_cookies) + "=" +
                              CookieAttributes(options_.secure_cookies, "Lax", 0);
    auto fail = [&](unsigned status, const std::string& why) {
      HttpResponse res = Page(status, title, why);
      res.set(http::field::set_cookie, clear);
      r.Send(std::move(res));
    };
    if (!error.empty()) {
      NoteAuthFailure("OIDC_PROVIDER_ERROR");
      return fail(
          403, "the provider answered " + error + (description.empty() ? "" : ": " + description));
    }
    core::ConsoleSignIn::Facts facts;
    auto s = oidc->Finish(login_cookie, state, code, public_url, &facts);
    if (!s.ok()) {
      std::string_view reason = core::ConsoleSignIn::RefusalCode(s.error());
      if (reason.empty()) reason = "OIDC_PROVIDER_UNAVAILABLE";
      // Refusals after the ID token verified name the person; the others are anonymous.
      const core::RefusedSignIn who{std::string(reason), facts.principal, oidc->issuer(),
                                    clock_->Now()};
      NoteAuthFailure(reason, facts.principal.empty() ? nullptr : &who);
      return fail(s.error().kind == ErrorKind::kPermissionDenied ? 403 : 503, s.error().message);
    }
    // No session without its audit record (fail closed).
    core::SignIn record{.principal = s->name,
                        .issuer = oidc->issuer(),
                        .subject = facts.subject,
                        .role = SessionRoleName(s->role),
                        .groups = facts.groups,
                        .expires_at = s->expires_at,
                        .at = clock_->Now()};
    if (Status st = audit_.RecordSignIn(record); !st.ok()) {
      metrics_->RecordStoreError();
      return fail(503, "the sign-in could not be written to the audit log (" + st.error().message +
                           "); try again");
    }
    const int64_t max_age =
        std::chrono::duration_cast<std::chrono::seconds>(s->expires_at - clock_->Now()).count();
    HttpResponse res = Redirect("/ui/");
    res.insert(http::field::set_cookie, clear);
    res.insert(http::field::set_cookie,
               SessionCookieName() + "=" + oidc->Encode(*s) +
                   CookieAttributes(options_.secure_cookies, "Strict", max_age));
    r.Send(std::move(res));
  });
}

void Api::HandleOidcSession(const HttpRequest& req, Responder r) {
  // Always 200, so that the console learns whether to offer the button without an error in
  // the browser's console.
  json::object o{{"configured", options_.oidc != nullptr},
                 {"provider", options_.oidc ? options_.oidc->provider_name() : ""},
                 {"available", options_.oidc && options_.oidc->available()},
                 {"signed_in", false}};
  const std::string cookie = options_.oidc ? SessionCookie(req) : "";
  if (!cookie.empty()) {
    if (auto s = options_.oidc->Decode(cookie, clock_->Now()); s.ok()) {
      o["signed_in"] = true;
      o["name"] = s->name;
      o["role"] = SessionRoleName(s->role);
      o["csrf"] = s->csrf;
      o["expires_at"] = FormatRfc3339(s->expires_at);
    }
  }
  HttpResponse res{http::status::ok, 11};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.body() = json::serialize(o);
  res.prepare_payload();
  r.Send(std::move(res));
}

void Api::HandleOidcLogout(const HttpRequest& req, Responder r) {
  if (options_.oidc == nullptr) {
    return r.Send(JsonError(404, "NOT_FOUND", "OpenID Connect sign-in is not configured"));
  }
  HttpResponse res{http::status::no_content, 11};
  res.set(http::field::set_cookie,
          SessionCookieName() + "=" + CookieAttributes(options_.secure_cookies, "Strict", 0));
  res.set(http::field::cache_control, "no-store");
  // Signing out changes state too: with a valid session it needs the CSRF token (a page of
  // another site cannot sign people out), and it is audited; without one there is nobody
  // to sign out and nothing to record.
  auto s = options_.oidc->Decode(SessionCookie(req), clock_->Now());
  if (!s.ok()) return r.Send(std::move(res));
  Caller caller;
  if (auto fail = AuthenticateSession(req, &caller)) return r.Send(std::move(*fail));
  core::SignIn record{.signed_out = true,
                      .principal = s->name,
                      .issuer = options_.oidc->issuer(),
                      .subject = options_.oidc->Subject(s->name),
                      .at = clock_->Now()};
  boost::asio::post(pool_, [this, r, record = std::move(record), res = std::move(res)]() mutable {
    if (Status st = audit_.RecordSignIn(record); !st.ok()) {
      // The cookie is cleared anyway: signing out only ever takes access away.
      metrics_->RecordStoreError();
      std::cerr << "interlock serve: could not record the sign-out of " << record.principal << ": "
                << st.error().message << '\n';
    }
    r.Send(std::move(res));
  });
}

}  // namespace interlock::server
