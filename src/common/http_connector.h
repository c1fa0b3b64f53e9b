// HttpConnector: how a client that lives in a door reaches an http(s) URL through
// Interlock's one outbound client (outbound/: the URL parser, the Host header and the
// verifying TLS client every outgoing connection uses; outbound/http_connector.h is the
// implementation). A door or door library (mcp::HttpUpstream, the MCP doors' url:
// upstreams) is handed one by its composition root instead of naming outbound/ itself, as
// it is handed a Clock.
// Thread-safety: every method is const and may be called from any thread.
#ifndef INTERLOCK_COMMON_HTTP_CONNECTOR_H_
#define INTERLOCK_COMMON_HTTP_CONNECTOR_H_

#include <memory>
#include <string>
#include <string_view>

#include "interlock/result.h"

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl
typedef struct ssl_st SSL;

namespace interlock {

// Where a URL leads: what a request to it is sent to and says.
struct HttpTarget {
  bool tls = false;           // https://
  std::string host;           // as written, IPv6 literals without brackets
  std::string port;           // as written, or the scheme's default
  std::string target;         // the request target: the encoded path ("/" when empty), ?query
  std::string host_header;    // the Host header (IPv6 in brackets, a default port left out)
  bool has_userinfo = false;  // reported, not refused: the caller decides
};

class HttpConnector {
 public:
  virtual ~HttpConnector() = default;
  // An http:// or https:// URL with a host; kInvalidArgument otherwise, with a message the
  // caller prefixes with what the URL is for.
  virtual Result<HttpTarget> Target(std::string_view url) const = 0;
  // A client context verifying the peer's chain against the system's CAs, or only the
  // certificates in `ca_file` when it is not empty.
  virtual Result<std::unique_ptr<boost::asio::ssl::context>> TlsContext(
      const std::string& ca_file) const = 0;
  // Sets the name the peer's certificate must carry on a connection before its handshake;
  // an error means the caller must refuse the connection.
  virtual Status ExpectPeerName(SSL* ssl, const std::string& host) const = 0;
};

}  // namespace interlock

#endif  // INTERLOCK_COMMON_HTTP_CONNECTOR_H_
