// ExtAuthzServer: the ext_authz door's listener, gRPC `envoy.service.auth.v3.Authorization/
// Check` (the wire-compatible subset of Envoy's protos in proto/, README there) over plain
// HTTP/2 with prior knowledge (h2c, as Envoy's gRPC clusters speak) on loopback, or TLS
// (ALPN h2 only), a listener of its own beside the daemon's HTTP one.
//
// The one unary RPC is served on nghttp2 (the HTTP/2 library Envoy and curl use) over Asio,
// on one io thread of the door's own (il-ext-authz) that reads requests and writes answers
// (docs/performance.md): gRPC's unary protocol (PROTOCOL-HTTP2.md) as far as a Check needs
// it. Anything else is answered as gRPC servers answer it: another :path UNIMPLEMENTED, a
// content-type not application/grpc HTTP 415, a compressed message UNIMPLEMENTED (with
// grpc-accept-encoding: identity), a message over max_body_bytes + 1 MiB RESOURCE_EXHAUSTED
// as soon as its prefix says so (never buffered), a second message, a message cut short or
// one that does not parse INTERNAL. Limits per connection: 256 concurrent streams, 16 KiB of
// headers per request, 256 Checks owed an answer (streams the peer reset included: past it
// the connection is not read), 5 s for the preface (TLS handshake included); at most 1,024
// connections.
//
// Each Check is translated into HttpAttributes (headers from header_map when the gateway sends
// it, else from headers; the body from raw_body when set, else body; a body cut by the
// gateway, `x-envoy-auth-partial-body: true`, is marked partial), decided by
// Door::CheckAsync (no thread waits per call: the answer, made on the store's thread once
// the decision is durable, is posted back to the io thread), and answered as a
// CheckResponse: status OK with ok_response.headers, or a non-OK status with denied_response
// (status, headers, body). The RPC itself always succeeds; Envoy reads the answer's status.
// A Check whose stream the client reset, or whose connection closed, is still decided; its
// answer goes nowhere.
// Thread-safety: Start once, then Shutdown (idempotent) from any thread: it stops accepting,
// sends GOAWAY, gives Checks in flight until `grace`, then closes the connections, and
// returns once every Check taken has been answered and the io thread has joined. The Door
// must outlive the server.
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
  // Checks the config (CheckExtAuthzConfig: plain gRPC on loopback only), reads the TLS
  // files, binds config.host:config.port and starts serving. Errors name the rule, the file
  // or the address.
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
