// SessionEgress: the egress proxy of one sandboxed MCP session as the MCP doors hold it
// (docs/mcp.md#sandbox-and-egress): the composition root starts it (the egress door's
// StartSessionEgress, doors/egress/proxy.h) and the door reads the outcome receipts of its
// connections by tool call (docs/mcp.md#outcome-receipts) without naming the egress door.
// The MCP-over-HTTP door's starter is bound by `interlock serve` to its Guard
// (cli/serve_cmd.cc); the stdio gateway's by `interlock mcp` to the session's own Guard or
// daemon client, once the session has them (doors/mcp_stdio/stdio_gateway.h,
// SandboxEgressFn).
// Thread-safety: TakeReceiptsJson may be called from any thread.
#ifndef INTERLOCK_CORE_APP_SESSION_EGRESS_H_
#define INTERLOCK_CORE_APP_SESSION_EGRESS_H_

#include <functional>
#include <memory>
#include <string>

#include "interlock/result.h"

namespace interlock::core {

// What one session's egress proxy is started for.
struct SessionEgressRequest {
  std::string socket_path;  // the Unix socket the sandbox's bridge connects to
  std::string agent_id;     // connections are decided for this agent ...
  std::string run_id;       // ... in this run (through a daemon: the daemon's run)
  // The id of the one tool call in flight ("" when none, or more than one): a connection
  // decided meanwhile is that call's (its receipt, its audit record). Any thread.
  std::function<std::string()> call_in_flight;
};

// A running egress proxy of one session: listening, deciding each connection through the
// core, keeping receipts. Destroying it stops the proxy (its thread joined, connections
// closed) before its receipts go.
class SessionEgress {
 public:
  virtual ~SessionEgress() = default;
  // Removes the receipts of the connections decided while `call_id` was in flight and
  // returns them as the canonical JSON the call's result record carries under "egress",
  // or "" when the call has none.
  virtual std::string TakeReceiptsJson(const std::string& call_id) = 0;
};

// Starts a session's egress proxy (the composition root binds the Guard and the store).
using SessionEgressStarter =
    std::function<Result<std::unique_ptr<SessionEgress>>(SessionEgressRequest request)>;

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_APP_SESSION_EGRESS_H_
