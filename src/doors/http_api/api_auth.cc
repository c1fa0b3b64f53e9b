// Authentication at the HTTP door: reads the credential, asks core::Authenticator
// (core/app/authn.h), and answers refusals the HTTP way (401 with a challenge, 503, 403).
#include <algorithm>
#include <string>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "doors/http_api/api.h"
#include "doors/http_api/api_internal.h"

namespace interlock::server {

namespace net = boost::asio;
namespace http = boost::beast::http;
namespace json = boost::json;

bool Api::MetricsTokenMatches(const HttpRequest& req) const {
  const BearerHeader b = ReadBearer(req);
  return b.token && ConstantTimeEquals(*b.token, options_.metrics_token);
}

void Api::NoteAuthFailure(std::string_view why, const core::RefusedSignIn* who) {
  authn_->NoteFailure(why, who);
}

HttpResponse Api::RefusalResponse(const core::AuthnRefusal& refusal, std::string challenge) {
  switch (refusal.outcome) {
    case core::AuthnOutcome::kUnavailable: {
      Decision d = DenyDecision(Code::kStoreUnavailable, refusal.message, "store");
      return JsonResponse(503, DecisionJson(d));
    }
    case core::AuthnOutcome::kForbidden:
      return Forbidden(refusal.message);
    case core::AuthnOutcome::kUnauthenticated:
      break;
  }
  HttpResponse res = JsonError(401, "UNAUTHENTICATED", refusal.message);
  res.set(http::field::www_authenticate, std::move(challenge));
  return res;
}

std::optional<HttpResponse> Api::Authenticate(const HttpRequest& req, Caller* caller) {
  const BearerHeader bearer = ReadBearer(req);
  if (bearer.header.empty() && options_.oidc != nullptr && !SessionCookie(req).empty()) {
    return AuthenticateSession(req, caller);  // a signed-in reviewer's browser
  }
  core::AuthnResult who = authn_->Bearer(bearer.token, !bearer.header.empty());
  if (who.ok()) {
    *caller = std::move(*who.caller);
    return std::nullopt;
  }
  if (who.refusal.outcome == core::AuthnOutcome::kUnavailable) metrics_->RecordStoreError();
  return RefusalResponse(who.refusal,
                         who.refusal.invalid_jwt ? "Bearer error=\"invalid_token\"" : "Bearer");
}

std::string Api::OAuthResourceBase() const {
  if (!options_.oauth.resource_base().empty()) return options_.oauth.resource_base();
  std::lock_guard lock(url_mu_);
  std::string base = public_url_;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base;
}

void Api::HandleOAuthMetadata(const HttpRequest& req, std::string_view path, Responder r) {
  const std::string base = OAuthResourceBase();
  if (base.empty()) return r.Send(JsonError(503, "NOT_READY", "the public URL is not known yet"));
  const std::string upstream = core::McpOAuth::UpstreamOfMetadataPath(base, path);
  if (upstream.empty() || !mcp_->HasUpstream(upstream)) {
    return r.Send(JsonError(404, "NOT_FOUND", "no protected resource here"));
  }
  if (req.method() != http::verb::get) {
    HttpResponse res = JsonError(405, "METHOD_NOT_ALLOWED",
                                 std::string(req.method_string()) + " is not allowed here");
    res.set(http::field::allow, "GET");
    return r.Send(std::move(res));
  }
  HttpResponse res = JsonResponse(200, options_.oauth.Metadata(base, upstream));
  res.set(http::field::cache_control, "max-age=300");
  r.Send(std::move(res));
}

std::optional<HttpResponse> Api::AuthenticateMcp(const HttpRequest& req,
                                                 const std::string& upstream, Caller* caller) {
  const std::string base = OAuthResourceBase();
  if (base.empty()) return JsonError(503, "NOT_READY", "the public URL is not known yet");
  const BearerHeader bearer = ReadBearer(req);
  auto challenge = [&](HttpResponse res, bool invalid_token) {
    res.set(http::field::www_authenticate, options_.oauth.Challenge(base, upstream, invalid_token));
    return res;
  };
  if (!bearer.token || !core::IsJwtShaped(*bearer.token)) {
    // No token, or an Interlock token: as everywhere, with the OAuth challenge.
    std::optional<HttpResponse> fail = Authenticate(req, caller);
    if (fail && fail->result() == http::status::unauthorized) {
      return challenge(std::move(*fail), bearer.token.has_value());
    }
    return fail;
  }
  core::AuthnResult who = options_.oauth.Authenticate(*authn_, *bearer.token, base, upstream);
  if (who.ok()) {
    *caller = std::move(*who.caller);
    return std::nullopt;
  }
  if (who.refusal.outcome != core::AuthnOutcome::kUnauthenticated) {
    return RefusalResponse(who.refusal, "");
  }
  return challenge(JsonError(401, "UNAUTHENTICATED", who.refusal.message), true);
}
}  // namespace interlock::server
