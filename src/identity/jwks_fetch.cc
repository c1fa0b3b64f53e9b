#include "identity/jwks_fetch.h"

#include <boost/beast/http.hpp>

#include "common/json.h"
#include "outbound/http_endpoint.h"
#include "outbound/http_exchange.h"
#include "outbound/tls_client.h"

namespace interlock::identity {

namespace http = boost::beast::http;

Result<std::string> HttpsJwksFetcher::Get(const std::string& url, const std::string& ca_file,
                                          size_t max_bytes, const char* what) {
  auto ep = outbound::ParseHttpEndpoint(url);
  if (!ep.ok()) return Error::Invalid(std::string(what) + " URL: " + ep.error().message);
  if (!ep->tls) return Error::Invalid(std::string(what) + " must be fetched over https: " + url);
  auto tls = outbound::MakeTlsClientContext(ca_file);
  if (!tls.ok()) return tls.error();
  std::string target = ep->path.empty() ? "/" : ep->path;
  if (ep->has_query) target += "?" + ep->query;
  http::request<http::string_body> req{http::verb::get, target, 11};
  req.set(http::field::host, outbound::HostHeader(ep->host, ep->port, "443"));
  req.set(http::field::accept, "application/json");
  req.set(http::field::user_agent, "interlock-jwks");
  req.set(http::field::connection, "close");
  outbound::ExchangeOptions o;
  o.peer = std::string("the ") + what + " server";
  o.connect_timeout = timeout_;
  o.timeout = timeout_;
  o.max_reply_bytes = max_bytes;
  auto r = outbound::HttpExchange(ep->host, ep->port, tls->get(), req, o);
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
