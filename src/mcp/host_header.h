// The Host header Interlock's HTTP clients send (the daemon client of the gateway and
// hook, and url: MCP upstreams): an IPv6 literal goes in brackets (RFC 7230 section 5.4,
// RFC 3986 section 3.2.2), and the port is left out when it is the scheme's default.
#ifndef INTERLOCK_MCP_HOST_HEADER_H_
#define INTERLOCK_MCP_HOST_HEADER_H_

#include <string>
#include <string_view>

namespace interlock::mcp {

inline std::string HostHeader(std::string_view host, std::string_view port,
                              std::string_view default_port) {
  std::string out;
  if (host.find(':') != std::string_view::npos) {
    out.append("[").append(host).append("]");
  } else {
    out.append(host);
  }
  if (port != default_port) out.append(":").append(port);
  return out;
}

}  // namespace interlock::mcp

#endif  // INTERLOCK_MCP_HOST_HEADER_H_
