// EgressProxy: the forward proxy that is a sandboxed tool server's only way out (and
// `interlock egress`'s whole job).
//
//   client --(CONNECT host:port | GET http://host:port/...)--> proxy
//     parse (request.h; 400 on anything else) -> resolve the name here, never in the
//     sandbox -> for the address about to be connected to: EgressDecider (the core) ->
//     403 with Interlock's decision, or connect and relay bytes both ways untouched
//     (TLS passes through; nothing is intercepted) -> report bytes each way.
//
// The decision is made on the address actually connected to, after resolution, so a
// name that resolves to an internal address is refused (DNS rebinding). One request per
// client connection for absolute-form requests (Connection: close). Bounded: the head
// is at most kMaxHeadBytes and must arrive within head_timeout; connects time out; a
// relay closes after idle_timeout without traffic; connections beyond max_connections
// are closed at once.
// Threads: Start() runs one I/O thread; the destructor stops and joins it. The decider's
// callbacks may arrive on any thread and are posted back to it.
#ifndef INTERLOCK_DOORS_EGRESS_PROXY_H_
#define INTERLOCK_DOORS_EGRESS_PROXY_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/app/session_egress.h"
#include "doors/egress/decider.h"
#include "interlock/result.h"

namespace interlock::egress {

struct ProxyOptions {
  std::chrono::milliseconds head_timeout{10'000};
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds idle_timeout{300'000};
  size_t max_connections = 512;
  size_t max_addresses = 4;  // resolved addresses tried, in the resolver's order
};

// Called on the proxy's thread once per decided connection, after it ended (open: false,
// the final bytes). Must not block.
using OutcomeFn = std::function<void(const EgressOutcome&)>;

class EgressProxy {
 public:
  // `on_decided`, when set, is also called on the proxy's thread once per decided
  // connection, as soon as it is decided and before the client sees a byte of the answer:
  // `open` true for an allowed one (about to be connected; `live` counts its bytes), false
  // for a refused one (final). For outcome receipts (egress/receipts.h).
  EgressProxy(EgressDecider* decider /* not owned */, ProxyOptions options,
              OutcomeFn on_outcome = {}, OutcomeFn on_decided = {});
  ~EgressProxy();
  EgressProxy(const EgressProxy&) = delete;
  EgressProxy& operator=(const EgressProxy&) = delete;

  // Listens on a TCP address ("127.0.0.1", port 0: any free port); returns the port.
  Result<uint16_t> ListenTcp(const std::string& address, uint16_t port);
  // Listens on a Unix socket at `path` (removed first if it is a socket; mode 0600).
  Status ListenUnix(const std::string& path);
  // Starts the I/O thread. Call after the Listen*() calls.
  void Start();
  // Stops accepting and closes every connection; joins the thread. Idempotent.
  void Stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// The egress of one sandboxed MCP session (core/app/session_egress.h): a proxy listening on
// `socket_path`, each connection decided by `decider` (owned: destroyed after the proxy
// stops), its outcomes kept as receipts by the call in flight (ReceiptBook). Started;
// destroying it stops the proxy first. An error (the socket cannot be listened on) starts
// nothing.
Result<std::unique_ptr<core::SessionEgress>> StartSessionEgress(
    std::unique_ptr<EgressDecider> decider, const std::string& socket_path);
// The same, each connection decided by `guard` for the request's agent and run
// (GuardEgressDecider, its result recorded through `store`) on `request.socket_path`. None
// of the pointers is owned; all must outlive it.
Result<std::unique_ptr<core::SessionEgress>> StartSessionEgress(core::Guard* guard,
                                                                core::Store* store,
                                                                const Clock* clock,
                                                                core::SessionEgressRequest request);

}  // namespace interlock::egress

#endif  // INTERLOCK_DOORS_EGRESS_PROXY_H_
