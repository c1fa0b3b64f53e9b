#include "tls_server.h"

#include <boost/json.hpp>

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

void JwksIssuer::Handle(server::HttpRequest req, server::Responder r) {
  namespace http = boost::beast::http;
  server::HttpResponse res(http::status::ok, req.version());
  std::lock_guard lock(mu);
  if (hang) {
    held.push_back(std::move(r));
    return;
  }
  if (req.target() == "/.well-known/openid-configuration") {
    res.body() = boost::json::serialize(
        boost::json::object{{"issuer", issuer}, {"jwks_uri", issuer + "/jwks"}});
  } else if (req.target() == "/jwks") {
    res.body() = jwks;
  } else {
    res.result(http::status::not_found);
  }
  res.prepare_payload();
  r.Send(std::move(res));
}

void JwksIssuer::Release() {
  std::vector<server::Responder> out;
  {
    std::lock_guard lock(mu);
    hang = false;
    out.swap(held);
  }
  for (server::Responder& r : out) {
    server::HttpResponse res(boost::beast::http::status::service_unavailable, 11);
    res.prepare_payload();
    r.Send(std::move(res));
  }
}

}  // namespace interlock::testing
