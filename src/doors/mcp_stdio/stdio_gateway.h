// The MCP gateway over stdio (`interlock mcp -- SERVER [ARGS...]`): one session between the
// MCP client on this process's stdin/stdout and the server it spawns, every tools/call decided
// by the core (a local policy and the embedded store, through core/app/standalone.h) or by
// `interlock serve` (--daemon), run by the MCP session library (src/mcp: mcp::Gateway).
// The CLI's `mcp` command (src/cli/mcp_cmd.cc) parses the flags into StdioGatewayOptions and
// calls RunStdioGateway; stdio_gateway.cc says the threads and the session's end.
// Thread-safety: one session per process (it owns stdin, stdout and SIGTERM/SIGINT).
#ifndef INTERLOCK_DOORS_MCP_STDIO_STDIO_GATEWAY_H_
#define INTERLOCK_DOORS_MCP_STDIO_STDIO_GATEWAY_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/app/standalone.h"
#include "mcp/revision.h"

namespace interlock::egress {
class EgressDecider;
}  // namespace interlock::egress

namespace interlock::mcp {
class DaemonEnforcer;
}  // namespace interlock::mcp

namespace interlock::telemetry {
class Sink;
}  // namespace interlock::telemetry

namespace interlock::mcp_stdio {

// The decider of the sandbox's egress proxy with --daemon: each connection decided by the
// daemon `daemon` reaches (not owned; outlives the decider) in its current run, for the call
// `in_flight` names (empty: none or several).
using DaemonEgressDeciderFn = std::function<std::unique_ptr<egress::EgressDecider>(
    mcp::DaemonEnforcer* daemon, std::function<std::string()> in_flight)>;

// The gateway's flags (docs/mcp.md).
struct StdioGatewayOptions {
  std::string policy;     // --policy (standalone; ignored with --daemon)
  std::string agent;      // --agent
  std::string store;      // --store (default: DefaultStorePath())
  bool create = false;    // --create: make a missing directory of a named --store
  std::string daemon;     // --daemon URL
  std::string daemon_ca;  // --daemon-ca
  std::string token_env;  // --token-env
  std::string durability = "full";
  std::vector<std::string> secret_env;
  std::vector<std::string> secret_file;
  std::vector<std::string> pass_env;  // --pass-env / --sandbox-env
  std::vector<std::string> forward_methods;
  std::vector<std::string> rehearse_upstreams;  // NAME=COMMAND (split at spaces) or NAME=URL
  int rehearsal_timeout_s = 30;
  int approval_retry_wait_s = mcp::kDefaultRetryWaitSeconds;
  std::vector<std::string> server;
  std::string workspace;  // ${workspace} in the policy (default: the current directory)
  bool sandbox = false;   // run the server under bubblewrap (mcp/sandbox.h)
  std::vector<std::string> sandbox_write;
  std::vector<std::string> sandbox_read;  // under the private /tmp, e.g.
  // Handed in by the composition root (the CLI): how the embedded store is opened (not
  // owned), the egress decider of --sandbox --daemon, and the OpenTelemetry exporter of the
  // OTEL_* variables (docs/telemetry.md: null when they configure none; an error names the
  // bad variable), started once the store is open.
  const core::LocalStores* stores = nullptr;
  DaemonEgressDeciderFn daemon_egress_decider;
  std::function<Result<std::unique_ptr<telemetry::Sink>>()> start_telemetry;
};

// Runs one session until the client or the server ends: the process's exit code (0; 1 when
// the server exited first; 2 when the session could not start, said on stderr; 128+N when
// stopped by signal N).
int RunStdioGateway(const StdioGatewayOptions& opt);

}  // namespace interlock::mcp_stdio

#endif  // INTERLOCK_DOORS_MCP_STDIO_STDIO_GATEWAY_H_
