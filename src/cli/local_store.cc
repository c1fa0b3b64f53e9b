#include "cli/local_store.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

#include "audit/keys.h"
#include "common/crypto.h"
#include "common/file.h"
#include "common/private_fs.h"
#include "common/store_path.h"
#include "store/open_store.h"
#include "store/postgres_store.h"
#include "store/sqlite_pins.h"

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
  return store::OpenStore(o);
}

Status PrepareStorePlace(const std::string& path, bool create, std::string_view who) {
  if (path.empty() || path == ":memory:" || store::IsPostgresUri(path)) return Status::Ok();
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if ((st.st_mode & 077) != 0 && S_ISREG(st.st_mode)) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
      std::cerr << "interlock " << who << ": warning: store " << path << " is mode " << mode
                << ": group or others can read every recorded argument and result (chmod 600 "
                << path << "; `interlock doctor` checks it)\n";
    }
    return Status::Ok();
  }
  if (errno != ENOENT) return Error::Unavailable("cannot reach store " + path + ": " + ErrnoText());
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty() && ::stat(parent.c_str(), &st) != 0) {
    Result<std::string> state = StateDirStorePath();
    const bool state_dir = state.ok() && *state == path;
    if (!state_dir && !create) {
      return Error::NotFound("the directory " + parent.string() + " of store " + path +
                             " does not exist: a mistyped path would start a new, empty audit "
                             "trail; create the directory, or pass --create to have it made");
    }
    if (Status s = CreatePrivateDirectories(parent.string()); !s.ok()) return s;
  }
  std::cerr << "interlock " << who << ": no store at " << path
            << ": creating a new one (a new, empty audit trail)\n";
  return Status::Ok();
}

Result<std::unique_ptr<core::PinRows>> OpenLocalPinRows(const std::string& path) {
  return store::OpenSqlitePinRows(path);
}

}  // namespace interlock::cli
