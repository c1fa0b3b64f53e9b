// McpHeaders: the HTTP headers of a Streamable HTTP MCP request to the daemon's MCP door,
// for HttpClient::Request. Header-only.
#ifndef INTERLOCK_TESTS_INTEGRATION_DAEMON_MCP_HEADERS_H_
#define INTERLOCK_TESTS_INTEGRATION_DAEMON_MCP_HEADERS_H_

#include <string>
#include <utility>
#include <vector>

namespace interlock::testing {

// Accept (JSON and an event stream) and Content-Type (JSON); then Mcp-Session-Id when
// `session` is set, and MCP-Protocol-Version when `version` is.
inline std::vector<std::pair<std::string, std::string>> McpHeaders(
    const std::string& session = "", const std::string& version = "") {
  std::vector<std::pair<std::string, std::string>> h = {
      {"Accept", "application/json, text/event-stream"}, {"Content-Type", "application/json"}};
  if (!session.empty()) h.emplace_back("Mcp-Session-Id", session);
  if (!version.empty()) h.emplace_back("MCP-Protocol-Version", version);
  return h;
}

}  // namespace interlock::testing

#endif  // INTERLOCK_TESTS_INTEGRATION_DAEMON_MCP_HEADERS_H_
