// TLS for Interlock's outgoing HTTPS connections (the gateway, hook and reviewers' CLI to
// the daemon, the daemon to url: MCP upstreams and webhooks): one way to build a verifying client
// context and to pin the name a peer's certificate must carry, so no caller can forget half of it.
#ifndef INTERLOCK_OUTBOUND_TLS_CLIENT_H_
#define INTERLOCK_OUTBOUND_TLS_CLIENT_H_

#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>

#include "interlock/result.h"

typedef struct ssl_st SSL;

namespace interlock::outbound {

// A client context that verifies the peer's chain against the system's CAs, or only the
// certificates in `ca_file` when it is not empty; TLS 1.2 at least.
Result<std::unique_ptr<boost::asio::ssl::context>> MakeTlsClientContext(const std::string& ca_file);

// Sets the name the peer's certificate must carry on a connection before its handshake:
// an IP address (SAN IP) or a host name (SAN DNS, also sent as SNI). Fails when the name
// cannot be set: without it only the chain would be checked, so the caller must refuse.
Status ExpectPeerName(SSL* ssl, const std::string& host);

}  // namespace interlock::outbound

#endif  // INTERLOCK_OUTBOUND_TLS_CLIENT_H_
