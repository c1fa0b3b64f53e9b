// Where Interlock's HTTP clients connect (the gateway's and hook's daemon client, the
// reviewers' CLI, url: MCP upstreams, webhooks): one parser for their http(s) URLs and one
// Host header, so they agree on defaults, IPv6 literals and errors.
#ifndef INTERLOCK_OUTBOUND_HTTP_ENDPOINT_H_
#define INTERLOCK_OUTBOUND_HTTP_ENDPOINT_H_

#include <string>
#include <string_view>

#include "interlock/result.h"

namespace interlock::outbound {

struct HttpEndpoint {
  bool tls = false;   // https://
  std::string host;   // as written (percent-encoded), IPv6 literals without brackets
  std::string port;   // as written, or the scheme's default (80, 443)
  std::string path;   // encoded, possibly empty
  std::string query;  // encoded, without '?'; empty when there is none
  bool has_userinfo = false;
  bool has_query = false;
  bool has_fragment = false;
};

// An http:// or https:// URL with a host (userinfo, query and fragment are reported, not
// refused); kInvalidArgument otherwise, with a message the caller prefixes with what the
// URL is for.
Result<HttpEndpoint> ParseHttpEndpoint(std::string_view url);

// The Host header: an IPv6 literal in brackets (RFC 7230 section 5.4, RFC 3986 section
// 3.2.2), the port left out when it is the scheme's default.
std::string HostHeader(std::string_view host, std::string_view port, std::string_view default_port);

}  // namespace interlock::outbound

#endif  // INTERLOCK_OUTBOUND_HTTP_ENDPOINT_H_
