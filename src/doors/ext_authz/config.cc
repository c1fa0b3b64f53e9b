#include "doors/ext_authz/config.h"

#include <string_view>

namespace interlock::doors::ext_authz {

namespace {

bool ExtAuthzLoopback(std::string_view host) {
  return host == "127.0.0.1" || host == "::1" || host == "[::1]" || host == "localhost" ||
         host.starts_with("127.");
}

}  // namespace

Status CheckExtAuthzConfig(const ExtAuthzConfig& c) {
  if (c.tls_cert.empty() != c.tls_key.empty()) {
    return Error::Invalid("ext_authz: tls_cert and tls_key go together");
  }
  if (c.tls_cert.empty() && !ExtAuthzLoopback(c.host)) {
    return Error::Invalid(
        "ext_authz: plain gRPC listens on loopback only; give tls_cert and tls_key to listen "
        "on " +
        c.host);
  }
  return Status::Ok();
}

}  // namespace interlock::doors::ext_authz
