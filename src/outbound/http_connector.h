// The outbound client as an HttpConnector (common/http_connector.h): what the composition
// roots hand the doors whose clients connect to http(s) URLs (mcp::HttpUpstream).
// Stateless; thread-safe.
#ifndef INTERLOCK_OUTBOUND_HTTP_CONNECTOR_H_
#define INTERLOCK_OUTBOUND_HTTP_CONNECTOR_H_

#include "common/http_connector.h"

namespace interlock::outbound {

class OutboundConnector final : public HttpConnector {
 public:
  Result<HttpTarget> Target(std::string_view url) const override;
  Result<std::unique_ptr<boost::asio::ssl::context>> TlsContext(
      const std::string& ca_file) const override;
  Status ExpectPeerName(SSL* ssl, const std::string& host) const override;
};

// The process's one OutboundConnector (it holds nothing).
const HttpConnector* Connector();

}  // namespace interlock::outbound

#endif  // INTERLOCK_OUTBOUND_HTTP_CONNECTOR_H_
