#include "outbound/http_connector.h"

#include <boost/asio/ssl/context.hpp>

#include "outbound/http_endpoint.h"
#include "outbound/tls_client.h"

namespace interlock::outbound {

Result<HttpTarget> OutboundConnector::Target(std::string_view url) const {
  Result<HttpEndpoint> e = ParseHttpEndpoint(url);
  if (!e.ok()) return e.error();
  HttpTarget t;
  t.tls = e->tls;
  t.host_header = HostHeader(e->host, e->port, e->tls ? "443" : "80");
  t.host = std::move(e->host);
  t.port = std::move(e->port);
  t.target = e->path.empty() ? "/" : e->path;
  if (e->has_query) t.target += "?" + e->query;
  t.has_userinfo = e->has_userinfo;
  return t;
}

Result<std::unique_ptr<boost::asio::ssl::context>> OutboundConnector::TlsContext(
    const std::string& ca_file) const {
  return MakeTlsClientContext(ca_file);
}

Status OutboundConnector::ExpectPeerName(SSL* ssl, const std::string& host) const {
  return outbound::ExpectPeerName(ssl, host);
}

const HttpConnector* Connector() {
  static const OutboundConnector connector{};
  return &connector;
}

}  // namespace interlock::outbound
