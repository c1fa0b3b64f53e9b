// The embedded store the standalone front doors (`interlock mcp`, `interlock hook`,
// `interlock egress`) use, opened with the deployment's audit HMAC key, which lives next to
// the database as PATH.key (the convention of `interlock serve`), created 0600 on first
// use so redacted hashes stay comparable across sessions.
//
// A composition root (docs/design.md, "Layers and the rule"): the one place besides
// `interlock serve` and the operator commands that names a backend. The doors that call it
// see the core's ports only (core::Store, core::PinRows).
// Thread-safety: free functions.
#ifndef INTERLOCK_CLI_LOCAL_STORE_H_
#define INTERLOCK_CLI_LOCAL_STORE_H_

#include <memory>
#include <string>
#include <string_view>

#include "core/app/standalone.h"
#include "core/ports/pin_rows.h"
#include "core/ports/store.h"
#include "interlock/result.h"

namespace interlock::cli {

// Whether `path` names a PostgreSQL store (a postgresql:// or postgres:// URI) rather than
// a SQLite file.
bool IsPostgresStore(std::string_view path);

// Makes the place of a SQLite store ready before a command that may create it opens it
// (docs/operations.md#the-store). The state directory's own store (StateDirStorePath) has
// its missing directories made, 0700. Any other path was named (--store, `store:`,
// $INTERLOCK_STORE), and a missing directory of it is refused unless `create` (--create):
// a typo would otherwise start a new, empty audit trail in which every token is unknown.
// A store that does not exist yet is announced on stderr ("interlock <who>: no store at
// PATH: creating a new one"); an existing one that group or others can read is warned
// about (its mode is left as it is: `interlock doctor` fails it). The store itself is
// created 0600 by the backend. ":memory:" and PostgreSQL URIs: nothing to do.
Status PrepareStorePlace(const std::string& path, bool create, std::string_view who);

// Opens (creating the database and the key when missing; the directory must exist:
// PrepareStorePlace).
// durable_full: fsync every commit (the default); false: WAL with synchronous=NORMAL, a
// committed record survives a crash of the process but not of the OS or the machine
// (`interlock mcp --durability normal`, docs/mcp.md). `use` says how the process uses it.
// A PostgreSQL URI is refused: a fleet's doors are served by `interlock serve`.
using StoreUse = core::LocalStoreUse;
Result<std::unique_ptr<core::Store>> OpenLocalStore(const std::string& path,
                                                    bool durable_full = true,
                                                    StoreUse use = StoreUse::kConcurrent);

// The MCP tool pins of the SQLite store at `path` (":memory:" for tests), on a connection of
// their own.
Result<std::unique_ptr<core::PinRows>> OpenLocalPinRows(const std::string& path);

// The functions above as the standalone doors' facade takes them (core::LocalStores): what
// the CLI hands `interlock hook claude-code`, `interlock mcp` and `interlock egress`.
// Stateless.
class EmbeddedStores final : public core::LocalStores {
 public:
  bool IsPostgres(std::string_view path) const override { return IsPostgresStore(path); }
  Status PreparePlace(const std::string& path, bool create, std::string_view who) const override {
    return PrepareStorePlace(path, create, who);
  }
  Result<std::unique_ptr<core::Store>> Open(const std::string& path, bool durable_full,
                                            core::LocalStoreUse use) const override {
    return OpenLocalStore(path, durable_full, use);
  }
  Result<std::unique_ptr<core::PinRows>> OpenPinRows(const std::string& path) const override {
    return OpenLocalPinRows(path);
  }
};

}  // namespace interlock::cli

#endif  // INTERLOCK_CLI_LOCAL_STORE_H_
