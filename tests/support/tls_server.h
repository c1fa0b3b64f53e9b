// StartTlsServer: the daemon's own HttpServer serving a test handler (an identity provider,
// a JWKS endpoint) over https on 127.0.0.1, port 0, one thread, with a test certificate
// (MakeSelfSignedCert(dir, name, "IP:127.0.0.1") from subprocess.h, which is also the CA a
// client trusts). The caller owns the handler and metrics, which must outlive the server,
// and calls Shutdown() (or destroys the server) before them.
#ifndef INTERLOCK_TESTS_SUPPORT_TLS_SERVER_H_
#define INTERLOCK_TESTS_SUPPORT_TLS_SERVER_H_

#include <memory>
#include <mutex>
#include <string>
#include <vector>

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

// A JWT issuer: serves its discovery document ({issuer, jwks_uri: issuer + "/jwks"}) and
// its key set (`jwks`), 404 for anything else. While `hang` is set it holds every request
// unanswered (a provider that accepts and never answers) until Release().
class JwksIssuer final : public server::RequestHandler {
 public:
  void Handle(server::HttpRequest req, server::Responder r) override;
  // Answers every held request (503) and stops hanging.
  void Release();

  std::mutex mu;
  std::string issuer;
  std::string jwks;
  bool hang = false;
  std::vector<server::Responder> held;
};

// Makes the test certificate "idp" (IP:127.0.0.1) in `dir` into *cert and serves `idp`
// (a handler with `mu`, `issuer` and `jwks`) with it into *server, then names the issuer
// in idp->issuer and publishes `jwks` in idp->jwks. Returns the issuer's URL; "" when
// cert->error is set or the server did not start (*server stays nullptr).
template <typename Idp>
std::string StartTlsIssuer(const std::string& dir, Idp* idp, server::Metrics* metrics,
                           const std::string& jwks, TestCert* cert,
                           std::unique_ptr<server::HttpServer>* server) {
  *cert = MakeSelfSignedCert(dir, "idp", "IP:127.0.0.1");
  if (!cert->error.empty()) return "";
  *server = StartTlsServer(*cert, idp, metrics);
  if (*server == nullptr) return "";
  std::lock_guard lock(idp->mu);
  idp->issuer = HttpsUrl(**server);
  idp->jwks = jwks;
  return idp->issuer;
}

}  // namespace interlock::testing

#endif  // INTERLOCK_TESTS_SUPPORT_TLS_SERVER_H_
