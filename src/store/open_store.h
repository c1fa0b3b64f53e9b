// OpenStore: the one way to open the daemon's store from a `--store` / `store:` value.
//
// "postgresql://..." or "postgres://..." (a libpq URI, multi-host and
// target_session_attrs=read-write included) opens a PostgresStore; anything else is a
// SQLite file path (or ":memory:"). PostgreSQL ignores the SQLite-only options (path
// creation, durability, batch size) and anchors through `checkpoint_signer` (a file
// `anchor` alone is refused there: it would sign outside the record's transaction).
#ifndef INTERLOCK_STORE_OPEN_STORE_H_
#define INTERLOCK_STORE_OPEN_STORE_H_

#include <memory>

#include "core/ports/store.h"
#include "interlock/result.h"
#include "store/store_options.h"

namespace interlock::store {

Result<std::unique_ptr<core::Store>> OpenStore(const StoreOptions& options);

}  // namespace interlock::store

#endif  // INTERLOCK_STORE_OPEN_STORE_H_
