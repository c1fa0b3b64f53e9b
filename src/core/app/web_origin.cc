#include "core/app/web_origin.h"

#include "outbound/http_endpoint.h"

namespace interlock::core {

std::string WebOrigin(std::string_view url) {
  auto ep = outbound::ParseHttpEndpoint(url);
  if (!ep.ok()) return "";
  const bool v6 = ep->host.find(':') != std::string::npos;
  std::string origin =
      std::string(ep->tls ? "https" : "http") + "://" + (v6 ? "[" + ep->host + "]" : ep->host);
  if (ep->port != (ep->tls ? "443" : "80")) origin += ":" + ep->port;
  return origin;
}

}  // namespace interlock::core
