#include "mcp/local_store.h"

#include "audit/keys.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "common/crypto.h"
#include "store/postgres_store.h"
#include "store/sqlite_store.h"

namespace interlock::mcp {

namespace fs = std::filesystem;

Result<std::string> DefaultStorePath() {
  if (const char* env = std::getenv("INTERLOCK_STORE"); env != nullptr && *env != '\0') {
    return std::string(env);
  }
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg != nullptr && *xdg != '\0') {
    return std::string(xdg) + "/interlock/interlock.db";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return std::string(home) + "/.local/state/interlock/interlock.db";
  }
  return Error::Invalid("neither XDG_STATE_HOME nor HOME is set; pass --store PATH");
}

Result<std::unique_ptr<store::Store>> OpenLocalStore(const std::string& path, bool durable_full) {
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
  // The same key directory as the daemon's, so hashes compare across front doors.
  auto keys = audit::LoadOrCreateAuditKeys(audit::DefaultKeysDir(path));
  if (!keys.ok()) return keys.error();
  store::StoreOptions o;
  o.path = path;
  o.durable_full = durable_full;
  o.audit_key = std::move(keys->hmac_key);
  auto s = store::SqliteStore::Open(o);
  if (!s.ok()) return s.error();
  return std::unique_ptr<store::Store>(std::move(s).value());
}

}  // namespace interlock::mcp
