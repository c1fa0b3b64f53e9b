#include "identity/jwks_fetch.h"

#include <boost/beast/http.hpp>

#include "common/json.h"
#include "outbound/http_exchange.h"

namespace interlock::identity {

namespace http = boost::beast::http;

Result<std::string> HttpsJwksFetcher::Get(const std::string& url, const std::string& ca_file,
                                          size_t max_bytes, const char* what) {
  http::request<http::string_body> req{http::verb::get, "/", 11};
  req.set(http::field::user_agent, "interlock-jwks");
  auto r = outbound::HttpsJsonExchange(url, ca_file, std::move(req),
                                       {.peer = std::string("the ") + what + " server",
                                        .connect_timeout = timeout_,
                                        .timeout = timeout_,
                                        .max_reply_bytes = max_bytes},
                                       what);
  if (!r.ok()) return r.error();
  if (r->status != 200) {
    return Error::Unavailable(std::string(what) + " " + url + " answered HTTP " +
                              std::to_string(r->status));
  }
  return std::move(r->body);
}

Result<std::string> HttpsJwksFetcher::Fetch(const IssuerConfig& issuer) {
  std::string jwks_uri = issuer.jwks_uri;
  if (jwks_uri.empty()) {
    {
      std::lock_guard lock(mu_);
      if (auto it = discovered_.find(issuer.issuer); it != discovered_.end()) jwks_uri = it->second;
    }
    if (jwks_uri.empty()) {
      std::string base = issuer.issuer;
      while (!base.empty() && base.back() == '/') base.pop_back();
      auto doc = Get(base + "/.well-known/openid-configuration", issuer.ca_file, kMaxDiscoveryBytes,
                     "OIDC discovery");
      if (!doc.ok()) return doc.error();
      JsonLimits limits;
      limits.max_bytes = kMaxDiscoveryBytes;
      limits.max_depth = 16;
      auto v = ParseJsonStrict(*doc, limits);
      if (!v.ok()) return Error::Invalid("OIDC discovery document: " + v.error().message);
      if (!v->is_object()) return Error::Invalid("OIDC discovery document is not an object");
      if (StringMember(v->as_object(), "issuer") != issuer.issuer) {
        return Error::Invalid("OIDC discovery document names another issuer");
      }
      jwks_uri = StringMember(v->as_object(), "jwks_uri");
      if (jwks_uri.empty()) return Error::Invalid("OIDC discovery document has no jwks_uri");
    }
  }
  auto keys = Get(jwks_uri, issuer.ca_file, kMaxJwksBytes, "JWKS");
  std::lock_guard lock(mu_);
  if (!keys.ok()) {
    discovered_.erase(issuer.issuer);  // discover again next time
    return keys.error();
  }
  if (issuer.jwks_uri.empty()) discovered_[issuer.issuer] = jwks_uri;
  return keys;
}

}  // namespace interlock::identity
