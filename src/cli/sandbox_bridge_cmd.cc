// `interlock sandbox-bridge` (hidden): runs inside the sandbox of `interlock mcp
// --sandbox`, before the MCP server. It listens on 127.0.0.1:PORT in the sandbox's own
// network namespace, forwards each connection to the egress proxy's Unix socket bound
// into the sandbox, and execs the server (mcp/sandbox.h).
#include <memory>
#include <string>
#include <vector>

#include "cli/command.h"
#include "mcp/sandbox.h"

namespace interlock::cli {
namespace {

struct BridgeOptions {
  std::string socket;
  uint16_t port = mcp::kBridgePort;
  std::vector<std::string> command;
  bool ready = false;
};

void AddSandboxBridge(CLI::App& app, int* exit_code) {
  auto [cmd, opt] = AddSubcommand<BridgeOptions>(
      app, "sandbox-bridge", "", exit_code, [](const BridgeOptions& o) {
        return mcp::RunSandboxBridge(o.socket, o.port, o.command, o.ready);
      });
  cmd->group("");  // hidden: started by interlock mcp --sandbox inside the sandbox
  cmd->add_option("--socket", opt->socket)->required();
  cmd->add_option("--port", opt->port);
  cmd->add_flag("--ready", opt->ready);
  cmd->add_option("command", opt->command)->required();
}

const CommandRegistration kRegisterSandboxBridge("sandbox-bridge", &AddSandboxBridge);

}  // namespace
}  // namespace interlock::cli
