// The embedded store the standalone front doors (`interlock mcp`, `interlock hook`) use:
// default location and opening with the deployment's audit HMAC key, which lives next to
// the database as PATH.key (the convention of `interlock serve`), created 0600 on first
// use so redacted hashes stay comparable across sessions.
// Thread-safety: free functions.
#ifndef INTERLOCK_MCP_LOCAL_STORE_H_
#define INTERLOCK_MCP_LOCAL_STORE_H_

#include <memory>
#include <string>

#include "interlock/result.h"
#include "store/store.h"

namespace interlock::mcp {

// The one default store of every command (docs/operations.md#the-store): $INTERLOCK_STORE,
// else $XDG_STATE_HOME/interlock/interlock.db, else
// $HOME/.local/state/interlock/interlock.db. An error when none of them is set.
Result<std::string> DefaultStorePath();

// Opens (creating the parent directory, the database and the key when missing).
// durable_full: fsync every commit (the default); false: WAL with synchronous=NORMAL, a
// committed record survives a crash of the process but not of the OS or the machine
// (`interlock mcp --durability normal`, docs/mcp.md). The backend (SQLite) is this
// function's business: callers see the store::Store interface only.
Result<std::unique_ptr<store::Store>> OpenLocalStore(const std::string& path,
                                                     bool durable_full = true);

}  // namespace interlock::mcp

#endif  // INTERLOCK_MCP_LOCAL_STORE_H_
