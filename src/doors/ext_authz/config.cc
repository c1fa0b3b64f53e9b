#include "doors/ext_authz/config.h"

#include "common/host_name.h"

namespace interlock::doors::ext_authz {

Status CheckExtAuthzConfig(const ExtAuthzConfig& c) {
  if (c.tls_cert.empty() != c.tls_key.empty()) {
    return Error::Invalid("ext_authz: tls_cert and tls_key go together");
  }
  // The HTTP listener's rule (cli/serve_cmd.cc): an address literal of loopback.
  if (c.tls_cert.empty() && !IsLoopbackLiteral(c.host)) {
    return Error::Invalid(
        "ext_authz: plain gRPC listens on loopback only; give tls_cert and tls_key to listen "
        "on " +
        c.host);
  }
  return Status::Ok();
}

}  // namespace interlock::doors::ext_authz
