// The one client of `interlock serve` (docs/api.md) that every caller outside the daemon
// uses: the stdio MCP gateway and the Claude Code hook (through mcp::DaemonEnforcer), the
// egress proxy of `--daemon` (egress::DaemonEgressDecider) and the operator commands. It
// implements the core's port (core/app/daemon_channel.h), so the doors name no transport;
// the composition root (the CLI) hands it in.
//
// Transport: one short-lived connection per request (outbound/http_exchange.h), http:// or
// https:// (TLS 1.2+, the daemon's certificate verified against the system's CAs or the
// address's ca_file, and its name against the URL's host name or IP address; nothing falls
// back to HTTP), with a connect timeout and a per-request timeout, driven on the calling
// thread. Every request carries "Authorization: Bearer TOKEN", the User-Agent and
// "Connection: close"; the token is held in memory only and never put into an error.
// Thread-safety: any thread, concurrently (each request on its own connection).
#ifndef INTERLOCK_DAEMON_CLIENT_DAEMON_CLIENT_H_
#define INTERLOCK_DAEMON_CLIENT_DAEMON_CLIENT_H_

#include <memory>

#include "core/app/daemon_channel.h"
#include "interlock/result.h"

namespace interlock::daemon_client {

// The connector of every CLI command that reaches a daemon. Stateless.
class HttpDaemonConnector final : public core::DaemonConnector {
 public:
  Result<std::unique_ptr<core::DaemonChannel>> Connect(core::DaemonAddress address) const override;
};

// The process's one connector (what a composition root hands to its doors).
const core::DaemonConnector& DefaultConnector();

}  // namespace interlock::daemon_client

#endif  // INTERLOCK_DAEMON_CLIENT_DAEMON_CLIENT_H_
