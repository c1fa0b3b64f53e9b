#include "outbound/tls_client.h"

#include <arpa/inet.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/ssl.hpp>

namespace interlock::outbound {

namespace ssl = boost::asio::ssl;

Result<std::unique_ptr<ssl::context>> MakeTlsClientContext(const std::string& ca_file) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  ctx->set_verify_mode(ssl::verify_peer);
  boost::system::error_code ec;
  if (ca_file.empty()) {
    ctx->set_default_verify_paths(ec);
  } else {
    ctx->load_verify_file(ca_file, ec);
  }
  if (ec) {
    return Error::Invalid("cannot load CA certificates" +
                          (ca_file.empty() ? std::string() : " from " + ca_file) + ": " +
                          ec.message());
  }
  return ctx;
}

Status ExpectPeerName(SSL* ssl, const std::string& host) {
  in6_addr addr6{};
  in_addr addr4{};
  const bool is_ip = inet_pton(AF_INET, host.c_str(), &addr4) == 1 ||
                     inet_pton(AF_INET6, host.c_str(), &addr6) == 1;
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  const bool set = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1
                         : X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0) == 1 &&
                               SSL_set_tlsext_host_name(ssl, host.c_str()) == 1;
  if (!set) return Error::Unavailable("cannot set the TLS name to verify (" + host + ")");
  return Status::Ok();
}

}  // namespace interlock::outbound
