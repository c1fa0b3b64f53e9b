// MCP tool pins in the PostgreSQL store (internal to src/store): the table, and the rows
// PostgresStore's PinRows (core/ports/pin_rows.h) reads and writes. No rule: core::Pins
// decides; these functions map rows.
#ifndef INTERLOCK_STORE_POSTGRES_PINS_H_
#define INTERLOCK_STORE_POSTGRES_PINS_H_

#include <string>
#include <vector>

#include "core/ports/pin_rows.h"
#include "interlock/result.h"
#include "store/postgres_conn.h"

namespace interlock::store::internal {

// The migration that creates mcp_tool_pins (self-contained: it depends on no other
// migration's objects).
inline constexpr const char* kPgPinsMigration =
    "CREATE TABLE mcp_tool_pins ("
    "  agent_id TEXT NOT NULL,"
    "  tool TEXT NOT NULL,"
    "  sha256 TEXT NOT NULL,"
    "  first_seen TEXT NOT NULL,"
    "  definition TEXT NULL,"
    "  changed_sha256 TEXT NULL,"
    "  changed_at TEXT NULL,"
    "  changed_definition TEXT NULL,"
    "  PRIMARY KEY (agent_id, tool));";

// The rows `select` names, ordered by agent_id, tool. exact: (agent_id, tool) exactly as
// given (an empty value is a value); for_update: locked for the caller's transaction.
Result<std::vector<core::PinRow>> PgSelectPins(pg::PgConn& c, const core::PinSelect& select,
                                               bool exact, bool for_update, std::string* sqlstate);

// Appends one upsert per row to `sql` (';'-terminated; empty changed_* and definition are
// NULL).
void AppendPgPinUpserts(std::string* sql, const std::vector<core::PinRow>& rows);

}  // namespace interlock::store::internal

#endif  // INTERLOCK_STORE_POSTGRES_PINS_H_
