// Pins: tool pinning against "rug pulls" (an MCP server that changes a tool's
// description or schema after the user approved it). The rules live here, once; the rows
// live in a PinRows backend (core/ports/pin_rows.h): the SQLite database's table
// mcp_tool_pins on its own connection, or the shared PostgreSQL store (a fleet: a pin
// accepted through any daemon or the CLI holds on every daemon).
//
// The first time the gateway sees a tool (per agent id), it records the tool's pinned
// definition, the canonical JSON {"name","description","inputSchema","outputSchema"}
// (fields present only when the server sent them), and its SHA-256. A later definition
// with another hash is recorded as the changed definition (`changed_sha256`,
// `changed_definition`) and the tool is blocked (removed from tools/list, calls not
// forwarded) until an operator reviews it (`interlock mcp pins show`: both definitions
// and a line diff, so an instruction injected into a description is visible) and runs
// `interlock mcp pins accept`, which makes the changed definition the pinned one and
// appends a `pin_accepted` audit record in the same transaction (no record, no
// acceptance).
//
// Older SQLite pin tables held hashes only (of name, description and inputSchema): the
// SQLite backend adds the definition columns, and Check fills in a row's definition the
// next time the server shows the same definition (re-hashing it when the server also
// sends an outputSchema), so an upgrade neither blocks unchanged tools nor loses a pin.
//
// Errors are values; an unreadable pin table makes Check fail, and the gateway then
// treats the tool as not pinned (fail closed: hidden and not callable).
// Thread-safety: every method may be called from any thread (the backend's guarantee).
#ifndef INTERLOCK_CORE_APP_PINS_H_
#define INTERLOCK_CORE_APP_PINS_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "core/ports/pin_rows.h"
#include "interlock/result.h"

namespace interlock::core {

// The pinned part of a tools/list entry: {"name","description","inputSchema",
// "outputSchema"}, each only when present in `tool`.
boost::json::object PinnedDefinition(const boost::json::value& tool);
// Hex SHA-256 of the canonical JSON of PinnedDefinition(tool).
std::string ToolDefinitionHash(const boost::json::value& tool);

// A line diff of the pretty-printed JSON texts `before` and `after` (canonical JSON, as
// stored): unchanged lines start with "  ", removed ones with "- ", added ones with "+ ".
// Either side may be empty (not recorded). Bounded: beyond a few thousand lines each
// side is shown whole, removed then added.
std::string DefinitionDiff(std::string_view before, std::string_view after);

// The JSON text pretty-printed, two spaces per level, keys in their stored order; the
// text itself when it is not JSON.
std::string PrettyJson(std::string_view text);

enum class PinState { kNew, kMatch, kChanged };

// What the pin rules make of a tool definition (sha256, canonical `definition`) seen at
// `now` given the pin row as stored (nullopt: none): the state, and the row to write
// (nullopt: nothing changes). Pure; Pins::Check applies it inside the backend's
// transaction.
struct PinOutcome {
  PinState state = PinState::kChanged;
  std::optional<PinRow> write;
};
PinOutcome DecidePin(const std::optional<PinRow>& row, std::string_view agent_id,
                     std::string_view tool_name, const boost::json::value& tool,
                     std::string_view now);

class Pins {
 public:
  // `rows`: cli::OpenLocalPinRows (a SQLite file) or Store::OpenPinRows (the daemon's
  // store, PostgreSQL included); the composition root opens them, the gateway never does.
  explicit Pins(std::unique_ptr<PinRows> rows) : rows_(std::move(rows)) {}
  Pins(const Pins&) = delete;
  Pins& operator=(const Pins&) = delete;

  // Pins `tool` (a tools/list entry) on first sight (kNew), else compares it with the
  // pin. A changed definition is recorded, the newest one kept. A definition that
  // matches and needs no write costs one read (no lock).
  Result<PinState> Check(std::string_view agent_id, std::string_view tool_name,
                         const boost::json::value& tool);
  // Pins are made of definitions now, not hashes: a caller passing a hash fails to build.
  Result<PinState> Check(std::string_view, std::string_view, std::string_view) = delete;
  Result<std::vector<PinRow>> List();
  // Accepts the changed definition of `tool` (every agent), or of every tool when empty,
  // and appends one `pin_accepted` audit record per accepted pin (data: agent_id, tool,
  // from_sha256, to_sha256, by) in the same transaction: no record, no acceptance.
  // `reviewed_sha256` (non-empty): the changed definition the person reviewed; a selected
  // pin whose pending definition is another one (the server changed it again after the
  // review) fails the whole acceptance (kInvalidArgument, saying what is pending now), and
  // nothing is accepted.
  // Returns how many pins changed.
  Result<int> Accept(std::string_view tool, std::string_view by = "interlock",
                     std::string_view reviewed_sha256 = {});

 private:
  std::unique_ptr<PinRows> rows_;
};

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_APP_PINS_H_
