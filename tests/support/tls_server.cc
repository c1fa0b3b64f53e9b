#include "tls_server.h"

namespace interlock::testing {

std::unique_ptr<server::HttpServer> StartTlsServer(const TestCert& cert,
                                                   server::RequestHandler* handler,
                                                   server::Metrics* metrics) {
  server::HttpServerOptions o;
  o.port = 0;
  o.threads = 1;
  o.tls_cert_file = cert.cert;
  o.tls_key_file = cert.key;
  auto s = std::make_unique<server::HttpServer>(o, handler, metrics);
  if (!s->Start().ok()) return nullptr;
  return s;
}

std::string HttpsUrl(const server::HttpServer& server) {
  return "https://127.0.0.1:" + std::to_string(server.local_endpoint().port());
}

}  // namespace interlock::testing
