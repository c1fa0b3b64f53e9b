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

// The egress proxy a --sandbox server reaches the network through, as the gateway drives
// it; built by the composition root from the egress door (cli/mcp_cmd.cc).
class SandboxEgress {
 public:
  virtual ~SandboxEgress() = default;
  // Listens on the Unix socket `path` (in the sandbox's socket directory) and serves.
  virtual Status Listen(const std::string& path) = 0;
  // Stops serving; the proxy terminates and reaps what it runs.
  virtual void Stop() = 0;
  // The receipts of `call_id`'s connections as a JSON array (GatewayOptions::egress_receipts;
  // empty: none), taken once.
  virtual std::string TakeReceiptsJson(const std::string& call_id) = 0;
};

// Who decides each connection of the sandbox's egress proxy: the daemon when `daemon` is
// set (--daemon: in its current run), else the local `guard` over `store` in run `run_id`
// of `agent_id`; each connection for the call `in_flight` names (empty: none or several).
// Pointers not owned; they outlive the proxy.
struct SandboxEgressContext {
  core::Guard* guard = nullptr;
  core::Store* store = nullptr;
  const Clock* clock = nullptr;
  std::string agent_id;
  std::string run_id;
  mcp::DaemonEnforcer* daemon = nullptr;
  std::function<std::string()> in_flight;
};
using SandboxEgressFn = std::function<std::unique_ptr<SandboxEgress>(SandboxEgressContext)>;

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
