#include "identity/oidc_signin.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>

#include <boost/beast/http.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "common/crypto.h"
#include "common/json.h"
#include "common/principal_name.h"
#include "common/text.h"
#include "identity/credential_broker.h"  // FormEncode, Base64Std
#include "identity/jwt.h"
#include "outbound/http_endpoint.h"
#include "outbound/http_exchange.h"

namespace interlock::identity {
namespace {

namespace http = boost::beast::http;
namespace json = boost::json;

bool IsHttps(std::string_view url) {
  auto ep = outbound::ParseHttpEndpoint(url);
  return ep.ok() && ep->tls && !ep->has_userinfo && !ep->has_fragment;
}

// One request to the provider over https (the config's CAs, bounded time and size).
Result<outbound::HttpReply> Send(const std::string& url, http::request<http::string_body> req,
                                 const std::string& ca_file, std::chrono::milliseconds timeout,
                                 size_t max_bytes, const char* what) {
  req.set(http::field::user_agent, "interlock-oidc");
  return outbound::HttpsJsonExchange(url, ca_file, std::move(req),
                                     {.peer = std::string("the ") + what,
                                      .connect_timeout = timeout,
                                      .timeout = timeout,
                                      .max_reply_bytes = max_bytes},
                                     what);
}

Result<json::object> ParseObject(const std::string& body, size_t max_bytes, const char* what) {
  JsonLimits limits;
  limits.max_bytes = max_bytes;
  limits.max_depth = 16;
  auto v = ParseJsonStrict(body, limits);
  if (!v.ok()) return Error::Invalid(std::string(what) + ": " + v.error().message);
  if (!v->is_object()) return Error::Invalid(std::string(what) + " is not a JSON object");
  return v->as_object();
}

bool Contains(const std::vector<std::string>& list, std::string_view v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

}  // namespace

Status ValidateOidcConfig(const OidcConfig& c) {
  if (c.issuer.empty()) return Error::Invalid("issuer is required");
  if (!IsHttps(c.issuer)) return Error::Invalid("issuer must be an https:// URL");
  if (c.client_id.empty()) return Error::Invalid("client_id is required");
  if (c.client_secret_file.empty()) return Error::Invalid("client_secret_file is required");
  if (!c.redirect_uri.empty()) {
    auto ep = outbound::ParseHttpEndpoint(c.redirect_uri);
    if (!ep.ok() || ep->has_query || ep->has_fragment || ep->has_userinfo ||
        ep->path != "/ui/oidc/callback") {
      return Error::Invalid(
          "redirect_uri must be an http(s) URL ending in /ui/oidc/callback, without query or "
          "fragment");
    }
  }
  if (!Contains(c.scopes, "openid")) return Error::Invalid("scopes must include openid");
  for (const std::string& s : c.scopes) {
    if (s.empty() || s.find_first_of(" \t\r\n\"") != std::string::npos) {
      return Error::Invalid("scopes must be single words");
    }
  }
  if (c.name_claim != "sub" && c.name_claim != "email") {
    return Error::Invalid("name_claim must be sub or email");
  }
  if (c.name_claim == "email" && !Contains(c.scopes, "email")) {
    return Error::Invalid("scopes must include email when name_claim is email");
  }
  if (c.role_claim.empty()) return Error::Invalid("role_claim must not be empty");
  if (c.reviewer_values.empty() && c.admin_values.empty()) {
    return Error::Invalid("reviewer_values or admin_values must list at least one value");
  }
  if (c.session_lifetime < std::chrono::seconds(60) || c.session_lifetime > kMaxSessionLifetime) {
    return Error::Invalid("session_seconds must be between 60 and 86400");
  }
  return Status::Ok();
}

std::string OidcIssuerHost(std::string_view issuer) {
  auto ep = outbound::ParseHttpEndpoint(issuer);
  return ep.ok() ? ep->host : std::string(issuer);
}

std::string OidcPrincipalName(std::string_view sub, std::string_view issuer) {
  return "oidc:" + std::string(sub) + "@" + OidcIssuerHost(issuer);
}

std::string OidcEmailName(std::string_view email, std::string_view issuer) {
  return OidcPrincipalName(AsciiLower(email), issuer);
}

std::string OidcSubject(std::string_view name, std::string_view issuer) {
  const std::string suffix = "@" + OidcIssuerHost(issuer);
  if (!name.starts_with("oidc:") || !name.ends_with(suffix) || name.size() <= suffix.size() + 5) {
    return "";
  }
  return std::string(name.substr(5, name.size() - 5 - suffix.size()));
}

OidcSignIn::OidcSignIn(OidcConfig config, std::string session_key, const Clock* clock,
                       std::chrono::milliseconds timeout)
    : config_(std::move(config)),
      provider_name_(config_.name.empty() ? OidcIssuerHost(config_.issuer) : config_.name),
      clock_(clock),
      timeout_(timeout),
      codec_(session_key),
      logins_(session_key),
      fetcher_(timeout) {}

OidcSignIn::~OidcSignIn() = default;

bool OidcSignIn::available() const {
  std::lock_guard lock(mu_);
  return discovered_;
}

std::string OidcSignIn::LastError() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

std::string OidcSignIn::RedirectUri(std::string_view public_url) const {
  if (!config_.redirect_uri.empty()) return config_.redirect_uri;
  std::string base(public_url);
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/ui/oidc/callback";
}

Status OidcSignIn::Discover() {
  {
    std::lock_guard lock(mu_);
    if (discovered_) return Status::Ok();
    last_attempt_ = clock_->Now();
  }
  auto fail = [this](const Error& e) -> Status {
    std::lock_guard lock(mu_);
    last_error_ = "OpenID Connect discovery at " + config_.issuer + " failed: " + e.message;
    return Error::Unavailable(last_error_);
  };
  std::string base = config_.issuer;
  while (!base.empty() && base.back() == '/') base.pop_back();
  http::request<http::string_body> req{http::verb::get, "/", 11};
  auto reply = Send(base + "/.well-known/openid-configuration", std::move(req), config_.ca_file,
                    timeout_, kMaxDiscoveryBytes, "provider's discovery endpoint");
  if (!reply.ok()) return fail(reply.error());
  if (reply->status != 200) {
    return fail(Error::Unavailable("HTTP " + std::to_string(reply->status)));
  }
  auto doc = ParseObject(reply->body, kMaxDiscoveryBytes, "the discovery document");
  if (!doc.ok()) return fail(doc.error());
  if (StringMember(*doc, "issuer") != config_.issuer) {
    return fail(Error::Invalid("the discovery document names another issuer"));
  }
  Endpoints ep{StringMember(*doc, "authorization_endpoint"), StringMember(*doc, "token_endpoint"),
               StringMember(*doc, "jwks_uri")};
  if (!IsHttps(ep.authorization) || !IsHttps(ep.token) || !IsHttps(ep.jwks)) {
    return fail(
        Error::Invalid("authorization_endpoint, token_endpoint and jwks_uri must be https URLs"));
  }
  IssuerConfig ic;
  ic.issuer = config_.issuer;
  ic.audience = config_.client_id;
  ic.jwks_uri = ep.jwks;
  ic.ca_file = config_.ca_file;
  ic.agent_claim = "sub";
  ic.skew = config_.skew;
  auto verifier = std::make_unique<Verifier>(std::vector<IssuerConfig>{ic}, &fetcher_, clock_);
  verifier->RefreshDue();  // keys now; a failure is retried when an ID token asks
  std::lock_guard lock(mu_);
  if (!discovered_) {
    endpoints_ = std::move(ep);
    verifier_ = std::move(verifier);
    discovered_ = true;
    last_error_.clear();
  }
  return Status::Ok();
}

Result<OidcSignIn::Started> OidcSignIn::Begin(std::string_view redirect_uri) {
  bool retry = false;
  {
    std::lock_guard lock(mu_);
    retry = !discovered_ && clock_->Now() - last_attempt_ >= kRediscoverInterval;
    if (retry) last_attempt_ = clock_->Now();  // one retry at a time, however many ask
  }
  if (retry) (void)Discover();
  Endpoints ep;
  {
    std::lock_guard lock(mu_);
    if (!discovered_) {
      return Error::Unavailable(last_error_.empty() ? "the provider is not discovered yet"
                                                    : last_error_);
    }
    ep = endpoints_;
  }
  LoginCodec::Login login = logins_.Start(clock_->Now());
  std::string scope;
  for (const std::string& s : config_.scopes) scope += (scope.empty() ? "" : " ") + s;
  std::string url = ep.authorization;
  url += url.find('?') == std::string::npos ? '?' : '&';
  url += "response_type=code&client_id=" + FormEncode(config_.client_id) +
         "&redirect_uri=" + FormEncode(redirect_uri) + "&scope=" + FormEncode(scope) +
         "&state=" + FormEncode(login.state) + "&nonce=" + FormEncode(login.nonce) +
         "&code_challenge=" + PkceChallengeS256(login.verifier) + "&code_challenge_method=S256";
  return Started{std::move(login.state), std::move(url), std::move(login.cookie)};
}

Status OidcSignIn::CheckLogin(std::string_view login_cookie, std::string_view state) const {
  auto login = logins_.Check(login_cookie, state, clock_->Now());
  if (!login.ok()) return Refusal("OIDC_STATE", login.error().message);
  return Status::Ok();
}

Result<std::string> OidcSignIn::Exchange(const Endpoints& ep, std::string_view code,
                                         std::string_view verifier, std::string_view redirect_uri) {
  http::request<http::string_body> req{http::verb::post, "/", 11};
  // client_secret_basic (RFC 6749 section 2.3.1): both parts form-encoded first.
  req.set(http::field::authorization, "Basic " + Base64Std(FormEncode(config_.client_id) + ":" +
                                                           FormEncode(config_.client_secret)));
  req.set(http::field::content_type, "application/x-www-form-urlencoded");
  req.body() = "grant_type=authorization_code&code=" + FormEncode(code) +
               "&redirect_uri=" + FormEncode(redirect_uri) +
               "&code_verifier=" + FormEncode(verifier);
  auto reply = Send(ep.token, std::move(req), config_.ca_file, timeout_, kMaxTokenReplyBytes,
                    "token endpoint");
  if (!reply.ok()) return Error::Unavailable(reply.error().message);
  auto doc = ParseObject(reply->body, kMaxTokenReplyBytes, "the token endpoint's answer");
  if (reply->status != 200) {
    std::string why = "HTTP " + std::to_string(reply->status);
    if (doc.ok() && !StringMember(*doc, "error").empty()) {
      why += " " + StringMember(*doc, "error");
    }
    return Refusal("OIDC_TOKEN", "the provider refused the code: " + why);
  }
  if (!doc.ok()) return Refusal("OIDC_TOKEN", doc.error().message);
  std::string id_token = StringMember(*doc, "id_token");
  if (id_token.empty()) return Refusal("OIDC_TOKEN", "the token endpoint returned no id_token");
  return id_token;
}

Result<Session> OidcSignIn::SessionFromIdToken(const std::string& id_token,
                                               const LoginCodec::Login& login, Facts* facts) {
  Verifier* verifier = nullptr;
  {
    std::lock_guard lock(mu_);
    verifier = verifier_.get();
  }
  // iss, aud = client_id, exp, signature. Off the network threads (the sign-in's pool), so
  // a key the provider just rotated in may be waited for, bounded.
  auto id = verifier->Verify(id_token, std::chrono::seconds(5));
  if (!id.ok()) return id.error();
  // The signature verified: the claims can be read.
  auto jwt = ParseJwt(id_token);
  if (!jwt.ok()) return jwt.error();
  const json::object& claims = jwt->claims;
  std::string name = OidcPrincipalName(id->agent, config_.issuer);
  if (config_.name_claim == "email") {
    // The person is their e-mail, and only one the provider says it verified: an
    // unverified address could be anyone's, and would vote as them.
    const std::string email = StringMember(claims, "email");
    const json::value* verified = claims.if_contains("email_verified");
    const bool ok =
        verified != nullptr && ((verified->is_bool() && verified->as_bool()) ||
                                (verified->is_string() && verified->as_string() == "true"));
    if (email.empty() || email.find('@') == std::string::npos || !ok) {
      return Refusal("OIDC_EMAIL", "the ID token has no verified e-mail (name_claim: email)");
    }
    name = OidcEmailName(email, config_.issuer);
  }
  if (name.size() > kMaxPrincipalNameBytes || !ValidatePrincipalName(name, "subject").ok()) {
    return Refusal("OIDC_NAME",
                   "the subject cannot be a reviewer name (too long or invisible "
                   "characters)");
  }
  facts->subject = id->agent;
  facts->principal = name;
  const std::string got = StringMember(claims, "nonce");
  if (got.size() != login.nonce.size() || !ConstantTimeEquals(got, login.nonce)) {
    return Refusal("OIDC_NONCE", "the ID token's nonce is not this sign-in's (a replayed token?)");
  }
  if (const json::value* azp = claims.if_contains("azp");
      azp != nullptr && (!azp->is_string() || azp->as_string() != config_.client_id)) {
    return Refusal("OIDC_AZP", "the ID token was issued to another client (azp)");
  }
  // OpenID Connect Core 3.1.3.7: an ID token for several audiences names the party it was
  // issued to in azp; without it, a token another client received (listing this one too)
  // would sign its holder in here.
  if (const json::value* aud = claims.if_contains("aud");
      aud != nullptr && aud->is_array() && !claims.contains("azp") &&
      std::any_of(aud->as_array().begin(), aud->as_array().end(), [&](const json::value& a) {
        return !a.is_string() || a.as_string() != config_.client_id;
      })) {
    return Refusal("OIDC_AZP",
                   "the ID token names several audiences and no azp (the client it was issued to)");
  }
  // The ID token is this sign-in's: from here on its state is spent, whatever the outcome.
  if (Status used = used_.Use(login.state, login.expires_at, clock_->Now()); !used.ok()) {
    if (used.error().kind == ErrorKind::kPermissionDenied) {
      return Refusal("OIDC_STATE", used.error().message);
    }
    return Error::Unavailable("OIDC_BUSY: " + used.error().message);
  }
  std::vector<std::string> values;
  if (const json::value* v = claims.if_contains(config_.role_claim)) {
    if (v->is_string()) values.emplace_back(v->as_string());
    if (v->is_array()) {
      for (const json::value& e : v->as_array()) {
        if (e.is_string()) values.emplace_back(e.as_string());
      }
    }
  }
  Session s;
  s.name = name;
  bool reviewer = false, admin = false;
  for (const std::string& v : values) {
    const bool a = Contains(config_.admin_values, v);
    const bool r = Contains(config_.reviewer_values, v);
    if ((a || r) && !Contains(facts->groups, v)) facts->groups.push_back(v);
    admin = admin || a;
    reviewer = reviewer || r;
  }
  if (!admin && !reviewer) {
    return Refusal("OIDC_NO_ROLE", name + " is neither a reviewer nor an admin (claim '" +
                                       config_.role_claim + "')");
  }
  s.role = admin ? SessionRole::kAdmin : SessionRole::kReviewer;
  s.csrf = NewRandomToken();
  s.expires_at = clock_->Now() + config_.session_lifetime;
  return s;
}

Result<Session> OidcSignIn::Finish(std::string_view login_cookie, std::string_view state,
                                   std::string_view code, std::string_view redirect_uri,
                                   Facts* facts) {
  Facts ignored;
  if (facts == nullptr) facts = &ignored;
  *facts = Facts{};
  auto login = logins_.Check(login_cookie, state, clock_->Now());
  if (!login.ok()) return Refusal("OIDC_STATE", login.error().message);
  // A replay of a finished sign-in stops here, before the provider is asked again.
  if (used_.Used(login->state, clock_->Now())) {
    return Refusal("OIDC_STATE", "this sign-in's callback was already used (a replayed callback)");
  }
  if (code.empty() || code.size() > 4096) return Refusal("OIDC_CODE", "no authorization code");
  Endpoints ep;
  {
    std::lock_guard lock(mu_);
    if (!discovered_) return Error::Unavailable("the provider is not discovered");
    ep = endpoints_;
  }
  auto id_token = Exchange(ep, code, login->verifier, redirect_uri);
  if (!id_token.ok()) return id_token.error();
  return SessionFromIdToken(*id_token, *login, facts);
}

}  // namespace interlock::identity
