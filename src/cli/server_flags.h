// The flags naming an MCP server to read tools from, shared by `interlock init` and
// `interlock check --against-server`: the server command after `--` (stdio), or
// --url for a Streamable HTTP server with --header, --header-env and --ca, and --timeout;
// --pass-env for a command (it starts with the base environment only, mcp/server_env.h).
#ifndef INTERLOCK_CLI_SERVER_FLAGS_H_
#define INTERLOCK_CLI_SERVER_FLAGS_H_

#include <string>
#include <vector>

#include "interlock/result.h"
#include "mcp/tool_catalog.h"

namespace CLI {
class App;
}  // namespace CLI

namespace interlock::cli {

struct ServerFlags {
  std::string url;
  std::vector<std::string> headers;     // "Name: value"
  std::vector<std::string> header_env;  // "Name=VARIABLE": the value from the environment
  std::string ca_file;
  std::vector<std::string> pass_env;  // command: variables passed from Interlock's environment
  int timeout_seconds = 30;
};

// Adds --url, --header, --header-env, --ca, --pass-env and --timeout to `cmd`.
void AddServerFlags(CLI::App* cmd, ServerFlags* flags);

// The server the flags and `command` (the words after --) name; exactly one of the two.
Result<mcp::ServerSpec> MakeServerSpec(const ServerFlags& flags,
                                       const std::vector<std::string>& command);

// `text` made safe for one YAML comment or terminal line: its first line only, control
// characters, Unicode line/paragraph separators and bidirectional controls replaced by a
// space, runs of spaces collapsed, cut at `max_bytes` (on a UTF-8 boundary, with "...").
std::string OneLine(std::string_view text, size_t max_bytes);

}  // namespace interlock::cli

#endif  // INTERLOCK_CLI_SERVER_FLAGS_H_
