// The MCP tool pins (core/ports/pin_rows.h) in a SQLite database.
// Thread-safety: see core::PinRows.
#ifndef INTERLOCK_STORE_SQLITE_PINS_H_
#define INTERLOCK_STORE_SQLITE_PINS_H_

#include <memory>
#include <string>

#include "core/ports/pin_rows.h"
#include "interlock/result.h"

namespace interlock::store {

// The pin rows of the SQLite database at `path` (":memory:" for tests): creates the
// table, and migrates one made before definitions were kept.
Result<std::unique_ptr<core::PinRows>> OpenSqlitePinRows(const std::string& path);

}  // namespace interlock::store

#endif  // INTERLOCK_STORE_SQLITE_PINS_H_
