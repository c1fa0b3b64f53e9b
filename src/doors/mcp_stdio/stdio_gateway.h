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

#include "common/http_connector.h"
#include "common/time.h"
#include "core/app/daemon_channel.h"
#include "core/app/session_egress.h"
#include "core/app/standalone.h"
#include "mcp/revision.h"

namespace interlock::core {
class Guard;
}  // namespace interlock::core

namespace interlock::mcp {
class DaemonEnforcer;
}  // namespace interlock::mcp

namespace interlock::telemetry {
class Sink;
}  // namespace interlock::telemetry

namespace interlock::mcp_stdio {

// Who decides each connection of a --sandbox server's egress proxy: the session's own
// deciders, made after the flags are handed in: the daemon when `daemon` is set (--daemon:
// in its current run), else the local `guard` over `store`. Pointers not owned; they
// outlive the proxy.
struct SandboxDeciders {
  core::Guard* guard = nullptr;
  core::Store* store = nullptr;
  const Clock* clock = nullptr;
  mcp::DaemonEnforcer* daemon = nullptr;
};
// Binds the session's deciders into the starter of its egress proxy (the egress door's,
// core/app/session_egress.h), as the daemon binds its Guard for the MCP-over-HTTP door; the
// composition root's (cli/mcp_cmd.cc). The gateway starts the proxy once, on the sandbox's
// socket, for this session's agent and run; it fails closed when it cannot.
using SandboxEgressFn = std::function<core::SessionEgressStarter(const SandboxDeciders&)>;

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
  // owned), the egress proxy of --sandbox, and the OpenTelemetry exporter of the
  // OTEL_* variables (docs/telemetry.md: null when they configure none; an error names the
  // bad variable), started once the store is open.
  const core::LocalStores* stores = nullptr;
  // The daemon client --daemon asks through (not owned); with --daemon and none, the
  // session does not start.
  const core::DaemonConnector* daemon_connector = nullptr;
  SandboxEgressFn sandbox_egress;
  // The outbound client a --rehearse-upstream URL is reached through (not owned).
  const HttpConnector* connector = nullptr;
  std::function<Result<std::unique_ptr<telemetry::Sink>>()> start_telemetry;
};

// Runs one session until the client or the server ends: the process's exit code (0; 1 when
// the server exited first; 2 when the session could not start, said on stderr; 128+N when
// stopped by signal N).
int RunStdioGateway(const StdioGatewayOptions& opt);

}  // namespace interlock::mcp_stdio

#endif  // INTERLOCK_DOORS_MCP_STDIO_STDIO_GATEWAY_H_
