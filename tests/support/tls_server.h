// StartTlsServer: the daemon's own HttpServer serving a test handler (an identity provider,
// a JWKS endpoint) over https on 127.0.0.1, port 0, one thread, with a test certificate
// (MakeSelfSignedCert(dir, name, "IP:127.0.0.1") from subprocess.h, which is also the CA a
// client trusts). The caller owns the handler and metrics, which must outlive the server,
// and calls Shutdown() (or destroys the server) before them.
#ifndef INTERLOCK_TESTS_SUPPORT_TLS_SERVER_H_
#define INTERLOCK_TESTS_SUPPORT_TLS_SERVER_H_

#include <memory>
#include <string>

#include "daemon/metrics.h"
#include "doors/http_api/http_server.h"
#include "subprocess.h"

namespace interlock::testing {

// The started server; nullptr when it could not start.
std::unique_ptr<server::HttpServer> StartTlsServer(const TestCert& cert,
                                                   server::RequestHandler* handler,
                                                   server::Metrics* metrics);

// "https://127.0.0.1:PORT" of a started server (an issuer's URL).
std::string HttpsUrl(const server::HttpServer& server);

}  // namespace interlock::testing

#endif  // INTERLOCK_TESTS_SUPPORT_TLS_SERVER_H_
