#include "identity/oauth.h"

#include <algorithm>

#include <boost/json/array.hpp>

#include "outbound/http_endpoint.h"

namespace interlock::identity {
namespace {

namespace json = boost::json;

// The scheme://authority part of a base URL and its path ("" or "/prefix").
void SplitBase(std::string_view base, std::string_view* origin, std::string_view* path) {
  const size_t scheme = base.find("://");
  const size_t slash =
      scheme == std::string_view::npos ? std::string_view::npos : base.find('/', scheme + 3);
  *origin = slash == std::string_view::npos ? base : base.substr(0, slash);
  *path = slash == std::string_view::npos ? std::string_view() : base.substr(slash);
}

}  // namespace

Status ValidateOAuthConfig(const OAuthConfig& c, const std::vector<IssuerConfig>& issuers) {
  if (c.authorization_servers.empty()) {
    return Error::Invalid("authorization_servers must list at least one identity.jwt issuer");
  }
  for (const std::string& as : c.authorization_servers) {
    const bool known = std::any_of(issuers.begin(), issuers.end(),
                                   [&](const IssuerConfig& i) { return i.issuer == as; });
    if (!known) {
      return Error::Invalid("authorization_servers: '" + as +
                            "' is not an identity.jwt issuer (its keys verify the tokens)");
    }
  }
  if (!c.resource_base.empty()) {
    auto ep = outbound::ParseHttpEndpoint(c.resource_base);
    if (!ep.ok()) return Error::Invalid("resource_base: " + ep.error().message);
    if (ep->has_userinfo || ep->has_query || ep->has_fragment) {
      return Error::Invalid("resource_base must not carry userinfo, a query or a fragment");
    }
    if (c.resource_base.back() == '/') {
      return Error::Invalid("resource_base must not end with '/'");
    }
  }
  for (const std::string& s : c.scopes_supported) {
    if (s.empty() || s.find_first_of(" \"\\,") != std::string::npos) {
      return Error::Invalid("scopes_supported: '" + s + "' is not a scope token");
    }
  }
  for (const auto& [upstream, agent] : c.agents) {
    if (agent.empty()) return Error::Invalid("agents." + upstream + " must name an agent");
  }
  return Status::Ok();
}

std::string McpResourceUrl(std::string_view base, std::string_view upstream) {
  return std::string(base) + "/mcp/" + std::string(upstream);
}

std::string McpResourceMetadataUrl(std::string_view base, std::string_view upstream) {
  std::string_view origin, path;
  SplitBase(base, &origin, &path);
  return std::string(origin) + std::string(kProtectedResourceWellKnown) + std::string(path) +
         "/mcp/" + std::string(upstream);
}

std::string UpstreamOfMetadataPath(std::string_view base, std::string_view path) {
  std::string_view origin, prefix;
  SplitBase(base, &origin, &prefix);
  const std::string want = std::string(kProtectedResourceWellKnown) + std::string(prefix) + "/mcp/";
  if (!path.starts_with(want)) return "";
  const std::string_view name = path.substr(want.size());
  if (name.empty() || name.find('/') != std::string_view::npos) return "";
  return std::string(name);
}

json::object ProtectedResourceMetadata(const OAuthConfig& c, std::string_view base,
                                       std::string_view upstream) {
  json::array servers;
  for (const std::string& s : c.authorization_servers) servers.emplace_back(s);
  json::object o{{"resource", McpResourceUrl(base, upstream)},
                 {"authorization_servers", std::move(servers)},
                 {"bearer_methods_supported", json::array{"header"}},
                 {"resource_name", "Interlock MCP gateway: " + std::string(upstream)}};
  if (!c.scopes_supported.empty()) {
    json::array scopes;
    for (const std::string& s : c.scopes_supported) scopes.emplace_back(s);
    o["scopes_supported"] = std::move(scopes);
  }
  return o;
}

std::string BearerChallenge(const OAuthConfig& c, std::string_view base, std::string_view upstream,
                            bool invalid_token) {
  std::string h = "Bearer resource_metadata=\"" + McpResourceMetadataUrl(base, upstream) + "\"";
  if (!c.scopes_supported.empty()) {
    h += ", scope=\"";
    for (size_t i = 0; i < c.scopes_supported.size(); ++i) {
      if (i > 0) h += ' ';
      h += c.scopes_supported[i];
    }
    h += '"';
  }
  if (invalid_token) h += ", error=\"invalid_token\"";
  return h;
}

}  // namespace interlock::identity
