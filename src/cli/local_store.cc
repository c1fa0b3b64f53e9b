#include "cli/local_store.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "audit/keys.h"
#include "common/crypto.h"
#include "store/postgres_store.h"
#include "store/sqlite_pins.h"
#include "store/sqlite_store.h"

namespace interlock::cli {

namespace fs = std::filesystem;

bool IsPostgresStore(std::string_view path) { return store::IsPostgresUri(path); }

Result<std::unique_ptr<core::Store>> OpenLocalStore(const std::string& path, bool durable_full,
                                                    StoreUse use) {
  if (store::IsPostgresUri(path)) {
    // (The URI is not repeated: it may hold a password.)
    return Error::Invalid(
        "a PostgreSQL store is served by `interlock serve`; this front door keeps a local "
        "SQLite store");
  }
  std::error_code ec;
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) fs::create_directories(parent, ec);
  if (ec) return Error::Unavailable("cannot create " + parent.string() + ": " + ec.message());
  // The same key directory as the daemon's, so hashes compare across front doors. Only
  // the HMAC key is read: these doors never sign (the missing keys are still created).
  auto hmac_key = audit::LoadOrCreateHmacKey(audit::DefaultKeysDir(path));
  if (!hmac_key.ok()) return hmac_key.error();
  store::StoreOptions o;
  o.path = path;
  o.durable_full = durable_full;
  o.one_shot = use == StoreUse::kOneShot;
  o.commit_on_caller = use == StoreUse::kFewCallers;
  o.audit_key = std::move(*hmac_key);
  auto s = store::SqliteStore::Open(o);
  if (!s.ok()) return s.error();
  return std::unique_ptr<core::Store>(std::move(s).value());
}

Result<std::unique_ptr<core::PinRows>> OpenLocalPinRows(const std::string& path) {
  return store::OpenSqlitePinRows(path);
}

}  // namespace interlock::cli
