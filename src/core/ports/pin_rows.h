// PinRows: the rows of the MCP tool pins (table mcp_tool_pins), and nothing else.
//
// The pin rules (new / match / changed, what accepting a changed definition means, that
// accepting is audited) live in one place, core::Pins (core/app/pins.h); a backend only
// reads rows and runs Pins' transaction functions atomically. Backends:
//   SQLite      store::OpenSqlitePinRows(path) (store/sqlite_pins.h): its own connection
//               to the store's file (the store's schema is not touched); audit records
//               are appended to the same database's chain in the same transaction.
//   PostgreSQL  store::PostgresStore::OpenPinRows(): the rows live in the shared database and
//               every write runs in the store's writer transaction, which holds the audit
//               head's lock: one chain, serialized across every daemon of a fleet, so a pin
//               accepted through one daemon (or the CLI) holds on all of them.
//
// Errors are values; every database failure is kUnavailable (the caller fails closed).
// Thread-safety: every method may be called from any thread.
#ifndef INTERLOCK_CORE_PORTS_PIN_ROWS_H_
#define INTERLOCK_CORE_PORTS_PIN_ROWS_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/audit_event.h"
#include "interlock/result.h"

namespace interlock::core {

struct PinRow {
  std::string agent_id;
  std::string tool;
  std::string sha256;
  std::string first_seen;      // RFC 3339
  std::string definition;      // canonical JSON; empty for a pin made before they were kept
  std::string changed_sha256;  // empty unless a different definition was seen
  std::string changed_at;
  std::string changed_definition;  // canonical JSON of the newest changed definition
};

// Which rows a transaction function reads: an empty field matches every value.
struct PinSelect {
  std::string agent_id;
  std::string tool;
  bool changed_only = false;  // only rows with a changed definition pending
};

// What a transaction function writes: rows upserted by (agent_id, tool), every column as
// given (empty changed_* are stored as NULL), and audit records appended to the chain.
struct PinWrite {
  std::vector<PinRow> rows;
  std::vector<audit::AuditEvent> events;
};

// Gets the selected rows (ordered by agent_id, tool) as of the transaction; returns what
// to write. It may run more than once (a conflict re-runs the transaction), so it must
// have no effect besides its result. An error writes nothing and is returned.
using PinFn = std::function<Result<PinWrite>(const std::vector<PinRow>& rows)>;

class PinRows {
 public:
  virtual ~PinRows() = default;
  // The row of (agent_id, tool), nullopt when there is none. A plain read (no lock).
  virtual Result<std::optional<PinRow>> Get(std::string_view agent_id, std::string_view tool) = 0;
  // Every row, ordered by agent_id, tool.
  virtual Result<std::vector<PinRow>> List() = 0;
  // Reads the rows `select` names, locked against every other writer of pins and of the
  // audit chain, runs `fn`, and writes its rows and records in the same transaction:
  // all of them or nothing.
  virtual Status Update(const PinSelect& select, const PinFn& fn) = 0;
};

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_PORTS_PIN_ROWS_H_
