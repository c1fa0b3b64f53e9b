// The egress proxy on its own (`interlock egress`), for agents that run their tools in their
// own processes (they set HTTPS_PROXY / HTTP_PROXY to it):
//
//   interlock egress --policy P [--agent ID] [--store PATH] --listen 127.0.0.1:PORT
//                    [--listen-unix PATH]
//   interlock egress --daemon URL --token-env VAR [--daemon-ca F] [--run ID]
//                    --listen 127.0.0.1:PORT [--listen-unix PATH]
//
// Every connection is decided by the core (the agent's egress.allow; kill switch; run) and
// audited with host, port, address and the bytes each way: locally, in one run created at
// start in the embedded store (core/app/standalone.h); with --daemon, by the daemon
// (POST /v1/runs/{run}/egress, DaemonEgressDecider) in a run it starts for the token's
// agent, or the run --run names (the agent's own, e.g. the run its tool calls go to). Fail
// closed: when the daemon cannot decide, every connection is refused with 403.
//
// The CLI's `egress` command (src/cli/egress_cmd.cc) parses the flags into
// EgressCommandOptions, hands in the embedded store's backend, the daemon client and the
// OpenTelemetry exporter, and calls RunEgressCommand.
// Thread-safety: one proxy per process (it blocks SIGINT and SIGTERM and waits for one).
#ifndef INTERLOCK_DOORS_EGRESS_COMMAND_H_
#define INTERLOCK_DOORS_EGRESS_COMMAND_H_

#include <functional>
#include <memory>
#include <string>

#include "core/app/standalone.h"
#include "doors/egress/decider.h"
#include "interlock/result.h"

namespace interlock::telemetry {
class Sink;
}  // namespace interlock::telemetry

namespace interlock::egress {

// The daemon a --daemon proxy decides through: the one daemon client (the MCP library's
// DaemonEnforcer), adapted by the composition root, so this door has no transport of its
// own. Called from the command's thread; MakeDecider's decider from the proxy's.
class EgressDaemon {
 public:
  virtual ~EgressDaemon() = default;
  // Starts a run for the token's agent: the agent's id.
  virtual Result<std::string> StartRun() = 0;
  // Decides in `run_id` instead of starting a run (the daemon checks on every decision
  // that the run is the token agent's).
  virtual void UseRun(std::string run_id) = 0;
  // The run in use; empty when none is.
  virtual std::string run_id() const = 0;
  // Ends the run in use.
  virtual Status EndRun() = 0;
  // The decider of every connection (DaemonEgressDecider), in the run in use, started on
  // first use when none is. It must not outlive this.
  virtual std::unique_ptr<EgressDecider> MakeDecider() = 0;
};

// The command's flags (docs/mcp.md, "The egress proxy"), and what the composition root hands in.
struct EgressCommandOptions {
  std::string policy;     // --policy (standalone; ignored with --daemon)
  std::string agent;      // --agent (default: the policy's only agent)
  std::string store;      // --store (default: DefaultStorePath())
  bool create = false;    // --create: make a missing directory of a named --store
  std::string daemon;     // --daemon URL
  std::string daemon_ca;  // --daemon-ca
  std::string token_env;  // --token-env
  std::string listen = "127.0.0.1:0";
  std::string listen_unix;
  std::string workspace;  // ${workspace} in the policy (default: the current directory)
  std::string run;        // --daemon: join this run instead of starting one
  // How the embedded store is opened (not owned). Standalone only.
  const core::LocalStores* stores = nullptr;
  // The daemon client of (--daemon, --token-env, --daemon-ca); an error is a usage error.
  std::function<Result<std::unique_ptr<EgressDaemon>>(
      const std::string& url, const std::string& token_env, const std::string& ca_file)>
      connect_daemon;
  // The OpenTelemetry exporter of the OTEL_* variables (docs/telemetry.md: null when they
  // configure none; an error names the bad variable), started once the store is open.
  std::function<Result<std::unique_ptr<telemetry::Sink>>()> start_telemetry;
};

// Serves until SIGINT or SIGTERM: the process's exit code (0; 2 when the proxy could not
// start, said on stderr).
int RunEgressCommand(const EgressCommandOptions& opt);

}  // namespace interlock::egress

#endif  // INTERLOCK_DOORS_EGRESS_COMMAND_H_
