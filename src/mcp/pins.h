// PinStore: tool pinning against "rug pulls" (an MCP server that changes a tool's
// description or schema after the user approved it).
//
// The first time the gateway sees a tool (per agent id), it records the SHA-256 of the
// canonical JSON {"name","description","inputSchema"} in table mcp_tool_pins of the
// Interlock SQLite database, through its own connection (the store's schema is not
// touched). A later definition with another hash is recorded as `changed_sha256` and
// the tool is blocked (removed from tools/list, calls not forwarded) until an operator
// runs `interlock mcp pins accept`, which makes the changed hash the pinned one.
// Errors are values; an unreadable pin table makes Check fail, and the gateway then
// treats the tool as not pinned (fail closed: hidden and not callable).
// Thread-safety: every method may be called from any thread (one connection, a mutex).
#ifndef INTERLOCK_MCP_PINS_H_
#define INTERLOCK_MCP_PINS_H_

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "interlock/result.h"

struct sqlite3;

namespace interlock::mcp {

// Hex SHA-256 of the canonical JSON of the tool's name, description and inputSchema.
std::string ToolDefinitionHash(const boost::json::value& tool);

enum class PinState { kNew, kMatch, kChanged };

struct PinRow {
  std::string agent_id;
  std::string tool;
  std::string sha256;
  std::string first_seen;      // RFC 3339
  std::string changed_sha256;  // empty unless a different definition was seen
  std::string changed_at;
};

class PinStore {
 public:
  static Result<std::unique_ptr<PinStore>> Open(const std::string& path);
  ~PinStore();
  PinStore(const PinStore&) = delete;
  PinStore& operator=(const PinStore&) = delete;

  // Pins on first sight (kNew), else compares. A changed definition is recorded.
  Result<PinState> Check(std::string_view agent_id, std::string_view tool, std::string_view sha256);
  Result<std::vector<PinRow>> List();
  // Accepts the changed definition of `tool` (every agent), or of every tool when empty.
  // Returns how many pins changed.
  Result<int> Accept(std::string_view tool);

 private:
  explicit PinStore(sqlite3* db) : db_(db) {}
  std::mutex mu_;
  sqlite3* db_;
};

}  // namespace interlock::mcp

#endif  // INTERLOCK_MCP_PINS_H_
