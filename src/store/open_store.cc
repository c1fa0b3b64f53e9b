#include "store/open_store.h"

#include "store/postgres_store.h"
#include "store/sqlite_store.h"

namespace interlock::store {

Result<std::unique_ptr<core::Store>> OpenStore(const StoreOptions& options) {
  if (IsPostgresUri(options.path)) {
    PostgresOptions p;
    p.uri = options.path;
    p.audit_key = options.audit_key;
    p.clock = options.clock;
    p.checkpoint_signer = options.checkpoint_signer;
    p.approval_default_timeout_seconds = options.approval_default_timeout_seconds;
    p.approval_max_wait_seconds = options.approval_max_wait_seconds;
    Result<std::unique_ptr<PostgresStore>> s = PostgresStore::Open(p);
    if (!s.ok()) return s.error();
    return std::unique_ptr<core::Store>(std::move(s).value());
  }
  Result<std::unique_ptr<SqliteStore>> s = SqliteStore::Open(options);
  if (!s.ok()) return s.error();
  return std::unique_ptr<core::Store>(std::move(s).value());
}

}  // namespace interlock::store
