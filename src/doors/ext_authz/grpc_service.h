// ExtAuthzServer: the ext_authz door's listener, gRPC `envoy.service.auth.v3.Authorization/
// Check` (the wire-compatible subset of Envoy's protos in proto/, README there) over plain
// HTTP/2 on loopback or TLS, a listener of its own beside the daemon's HTTP one.
//
// Each Check is translated into HttpAttributes (headers from header_map when the gateway sends
// it, else from headers; the body from raw_body when set, else body; a body cut by the
// gateway, `x-envoy-auth-partial-body: true`, is marked partial), decided by
// Door::CheckAsync (gRPC's asynchronous API on one thread of the door's, il-ext-authz, that
// both takes requests and writes answers: the core's asynchronous decision comes back to it
// through an alarm on its completion queue, no thread waits per call; docs/performance.md),
// and answered as a CheckResponse: status
// OK with ok_response.headers, or a non-OK status with denied_response (status, headers,
// body). The RPC itself always succeeds; Envoy reads the answer's status.
// Thread-safety: Start once, then Shutdown (idempotent) from any thread: Checks in flight
// get until `grace`, and Shutdown returns once every Check taken has been answered (a Check
// cancelled at `grace` is still answered, into the cancelled call). The Door must outlive
// the server.
#ifndef INTERLOCK_DOORS_EXT_AUTHZ_GRPC_SERVICE_H_
#define INTERLOCK_DOORS_EXT_AUTHZ_GRPC_SERVICE_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "doors/ext_authz/door.h"
#include "interlock/result.h"

namespace interlock::doors::ext_authz {

class ExtAuthzServer {
 public:
  // Reads the TLS files, binds config.host:config.port and starts serving. Errors name the
  // file or the address.
  static Result<std::unique_ptr<ExtAuthzServer>> Start(Door* door);
  ~ExtAuthzServer();
  ExtAuthzServer(const ExtAuthzServer&) = delete;
  ExtAuthzServer& operator=(const ExtAuthzServer&) = delete;

  uint16_t port() const { return port_; }
  bool tls() const { return tls_; }
  // Stops accepting; RPCs in flight get until `grace` to finish; returns once every Check
  // taken has been answered.
  void Shutdown(std::chrono::milliseconds grace = std::chrono::seconds(5));

  class Impl;

 private:
  ExtAuthzServer() = default;
  std::unique_ptr<Impl> impl_;
  uint16_t port_ = 0;
  bool tls_ = false;
};

}  // namespace interlock::doors::ext_authz

#endif  // INTERLOCK_DOORS_EXT_AUTHZ_GRPC_SERVICE_H_
