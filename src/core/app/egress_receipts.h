// The egress of a sandboxed tool server as the doors that run one see it: the outcome
// receipts of its connections by tool call (docs/mcp.md#outcome-receipts), and the proxy
// of one MCP session, which the composition root starts and the door only holds
// (docs/mcp.md#sandbox-and-egress). The egress door (doors/egress/) implements both; the
// MCP doors and the API read receipts through EgressReceipts without naming it.
// Thread-safety: EgressReceipts may be called from any thread.
#ifndef INTERLOCK_CORE_APP_EGRESS_RECEIPTS_H_
#define INTERLOCK_CORE_APP_EGRESS_RECEIPTS_H_

#include <functional>
#include <memory>
#include <string>

#include "interlock/result.h"

namespace interlock::core {

// Receipts of the connections decided while a tool call was in flight, by that call.
class EgressReceipts {
 public:
  virtual ~EgressReceipts() = default;
  // Removes the receipts of `call_id` and returns them as the canonical JSON the call's
  // result record carries under "egress", or "" when the call has none.
  virtual std::string TakeJson(const std::string& call_id) = 0;
};

// What one session's egress proxy is started for.
struct SessionEgressRequest {
  std::string socket_path;  // the Unix socket the sandbox's bridge connects to
  std::string agent_id;     // connections are decided for this agent ...
  std::string run_id;       // ... in this run
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
  virtual EgressReceipts* receipts() = 0;
};

// Starts a session's egress proxy (the composition root binds the Guard and the store).
using SessionEgressStarter =
    std::function<Result<std::unique_ptr<SessionEgress>>(SessionEgressRequest request)>;

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_APP_EGRESS_RECEIPTS_H_
