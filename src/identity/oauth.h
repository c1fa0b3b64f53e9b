// MCP clients authorizing with OAuth 2.1 (MCP authorization, 2025-06-18 and 2025-11-25):
// the daemon's /mcp/{upstream} endpoints as OAuth protected resources.
//
// What is configured (identity.oauth, docs/identity.md#mcp-clients-with-oauth-21): the
// public base URL the resources are named under (never the request's Host header), the
// authorization servers (each an identity.jwt issuer, whose keys verify the tokens), the
// scopes advertised, and the agent OAuth clients of each upstream act as. The pure parts
// live here: the resource and metadata URLs, the RFC 9728 metadata document and the
// WWW-Authenticate challenge. Thread-safety: immutable values and free functions.
#ifndef INTERLOCK_IDENTITY_OAUTH_H_
#define INTERLOCK_IDENTITY_OAUTH_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "identity/verifier.h"
#include "interlock/result.h"

namespace interlock::identity {

inline constexpr std::string_view kProtectedResourceWellKnown =
    "/.well-known/oauth-protected-resource";

struct OAuthConfig {
  // "https://interlock.example.com" (a path prefix allowed, no trailing '/'); empty: the
  // daemon's approvals.public_url, else its listener's address.
  std::string resource_base;
  std::vector<std::string> authorization_servers;  // issuers; non-empty turns OAuth on
  std::vector<std::string> scopes_supported;       // advertised (metadata, challenge)
  std::map<std::string, std::string> agents;       // upstream -> the agent its clients are
  bool enabled() const { return !authorization_servers.empty(); }
};

// Checks the section against the configured issuers: every authorization server is an
// identity.jwt issuer; resource_base an http(s) URL without userinfo, query or fragment;
// scopes non-empty tokens without spaces or quotes. kInvalidArgument naming the field.
Status ValidateOAuthConfig(const OAuthConfig& c, const std::vector<IssuerConfig>& issuers);

// "{base}/mcp/{upstream}": the resource (RFC 8707) and the token's required audience.
std::string McpResourceUrl(std::string_view base, std::string_view upstream);
// "{origin}/.well-known/oauth-protected-resource{path of the resource}" (RFC 9728 s. 3.1).
std::string McpResourceMetadataUrl(std::string_view base, std::string_view upstream);
// The upstream a metadata path names ("/.well-known/oauth-protected-resource/mcp/NAME"),
// given the base's own path prefix; "" when the path is not one.
std::string UpstreamOfMetadataPath(std::string_view base, std::string_view path);

// The RFC 9728 document for one upstream.
boost::json::object ProtectedResourceMetadata(const OAuthConfig& c, std::string_view base,
                                              std::string_view upstream);

// `Bearer resource_metadata="...", scope="..."[, error="invalid_token"]`.
std::string BearerChallenge(const OAuthConfig& c, std::string_view base, std::string_view upstream,
                            bool invalid_token);

}  // namespace interlock::identity

#endif  // INTERLOCK_IDENTITY_OAUTH_H_
