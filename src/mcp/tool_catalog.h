// ListServerTools: what an MCP server offers, read the way a client would, for
// `interlock init` and `interlock check --against-server`.
//
// Starts the server over one of the existing upstream transports (StdioUpstream for a
// command, HttpUpstream for a Streamable HTTP URL), sends `initialize`, then
// `notifications/initialized`, then `tools/list` (following `nextCursor` page by page),
// and ends the session. It never sends `tools/call` or any other method. Requests the
// server sends in between (ping, roots/list, sampling, elicitation) are answered: ping
// with an empty result, anything else with a JSON-RPC error (method not found). The
// whole exchange is bounded by `timeout`; the child (and its process group) is always
// ended and reaped on return.
// Fail closed: a missing or malformed reply, an error reply, a tool without a string name,
// a duplicate tool name, a repeated cursor or too many pages is an error, never a partial
// list.
// Thread-safety: a free function; each call owns its own upstream.
#ifndef INTERLOCK_MCP_TOOL_CATALOG_H_
#define INTERLOCK_MCP_TOOL_CATALOG_H_

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "common/http_connector.h"
#include "interlock/result.h"
#include "mcp/sandbox.h"

namespace interlock::mcp {

struct ServerSpec {
  std::vector<std::string> command;  // stdio: argv of the server (argv[0] in PATH)
  // stdio: the child's complete environment (mcp/server_env.h); unset: BaseServerEnv().
  std::optional<std::map<std::string, std::string>> env;
  // stdio: the sandbox the server runs in (SpawnServer), never without it; unset: none.
  // A staging server of a sandboxed upstream gets one (docs/mcp.md#rehearsal).
  std::optional<SandboxSpec> sandbox;
  // Set: the server is not started; every attempt fails with this (a sandbox that could
  // not be prepared for it: fail closed, the rest of the gateway goes on).
  std::optional<Error> refused;
  std::string url;  // or: a Streamable HTTP endpoint
  // HTTP: the outbound client it is reached through (HttpUpstreamOptions::connector).
  const HttpConnector* connector = nullptr;
  std::map<std::string, std::string> headers;  // HTTP: sent with every request
  std::string ca_file;                         // HTTP (https): trust only these CAs
  std::chrono::milliseconds timeout{30000};    // for the whole exchange
  size_t max_pages = 1000;                     // tools/list pages followed at most
};

struct ServerTool {
  std::string name;
  std::string title;        // `title`, else annotations.title, else ""
  std::string description;  // as sent (may hold newlines and anything else)
  boost::json::object annotations;
  boost::json::value input_schema;  // null when absent
};

struct ServerCatalog {
  std::string server_name;     // serverInfo.name, "" when absent
  std::string server_version;  // serverInfo.version
  std::string protocol_version;
  std::vector<ServerTool> tools;  // in the server's order
};

Result<ServerCatalog> ListServerTools(const ServerSpec& spec);

// An annotation hint: true/false when the server sent a boolean, unset otherwise.
std::optional<bool> ToolHint(const ServerTool& tool, std::string_view hint);

// The labels a tool declares for itself through its MCP `annotations` (a tools/list entry,
// `tool`), which the engine uses for a tool whose policy rule writes no `labels:`
// (ToolCall::declared_labels; docs/mcp.md, "Labels from annotations"). With the MCP
// specification's defaults for absent hints (readOnlyHint false, destructiveHint true,
// openWorldHint true), a hint that is not a boolean counting as absent:
//   destructive             destructiveHint true, or absent and readOnlyHint not true
//   external_communication  openWorldHint true, or absent and readOnlyHint not true
//   untrusted_content       as external_communication (an open world answers too)
// Annotations are untrusted server input, so contradictory hints read the strict way
// (readOnlyHint true with destructiveHint true is destructive) and a tool without any
// annotations gets every default label. Sorted, no duplicates.
std::vector<std::string> AnnotationLabels(const boost::json::value& tool);

// The names of inputSchema.properties, or unset when the schema declares no `properties`
// object (then nothing can be said about argument names).
std::optional<std::vector<std::string>> DeclaredArguments(const ServerTool& tool);

}  // namespace interlock::mcp

#endif  // INTERLOCK_MCP_TOOL_CATALOG_H_
