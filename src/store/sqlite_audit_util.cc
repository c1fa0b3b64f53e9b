#include "store/sqlite_audit_util.h"

#include <sys/stat.h>

#include <sqlite3.h>

namespace interlock::audit {

void SqliteCloser::operator()(sqlite3* db) const { sqlite3_close_v2(db); }

Error SqliteError(sqlite3* db, std::string_view what) {
  return Error::Unavailable(std::string(what) + ": " + (db ? sqlite3_errmsg(db) : "no database"));
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Status Statement::Prepare(sqlite3* db, std::string_view sql) {
  sqlite3_finalize(stmt_);
  stmt_ = nullptr;
  if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr) !=
      SQLITE_OK) {
    return SqliteError(db, "prepare");
  }
  return Status::Ok();
}

void Statement::BindText(int i, std::string_view v) {
  sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}

void Statement::BindInt64(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }

std::string_view Statement::Text(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  if (p == nullptr) return {};
  return {reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(stmt_, col))};
}

int64_t Statement::Int64(int col) const { return sqlite3_column_int64(stmt_, col); }

void ReadRecordColumns(const Statement& st, audit::RecordColumns* out) {
  out->seq = st.Int64(0);
  out->time_ms = st.Int64(1);
  out->type = st.Text(2);
  out->run_id = st.Text(3);
  out->call_id = st.Text(4);
  out->agent_id = st.Text(5);
  out->principal = st.Text(6);
}

Transaction::~Transaction() {
  if (open_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

Status Transaction::Begin(std::string_view mode) {
  const std::string sql = "BEGIN " + std::string(mode);
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
    return SqliteError(db_, "begin transaction");
  }
  open_ = true;
  return Status::Ok();
}

Status Transaction::Commit() {
  if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return SqliteError(db_, "commit");
  }
  open_ = false;
  return Status::Ok();
}

Status CheckAuditReadable(sqlite3* db, bool have_checkpoints, bool have_public_key) {
  if (have_checkpoints && !have_public_key) {
    return Error::Invalid(
        "checkpoints were given without the public key needed to check their signatures");
  }
  Result<bool> has = HasAuditTable(db);
  if (!has.ok()) return has.error();
  if (!*has) return Error::Corrupt("not an Interlock store (it has no audit_log table)");
  return Status::Ok();
}

Result<bool> HasAuditTable(sqlite3* db) {
  Statement st;
  if (Status s = st.Prepare(db,
                            "SELECT count(*) FROM sqlite_master WHERE type='table' AND "
                            "name='audit_log'");
      !s.ok()) {
    return Error::Corrupt("not a readable SQLite database (" + std::string(sqlite3_errmsg(db)) +
                          ")");
  }
  const int rc = sqlite3_step(st.get());
  if (rc != SQLITE_ROW) {
    return Error::Corrupt("not a readable SQLite database (" + std::string(sqlite3_errmsg(db)) +
                          ")");
  }
  return st.Int64(0) > 0;
}

Result<SqliteDb> OpenAuditStore(const std::string& path, bool read_only) {
  if (path.rfind("postgresql://", 0) == 0 || path.rfind("postgres://", 0) == 0) {
    return Error::Invalid(
        "this command does not work on a PostgreSQL store yet (docs/operations.md, "
        "\"PostgreSQL\", lists the commands that do)");
  }
  struct stat sb;
  if (::stat(path.c_str(), &sb) != 0) {
    return Error::NotFound("store " + path + " does not exist");
  }
  if (!S_ISREG(sb.st_mode)) return Error::Invalid("store " + path + " is not a regular file");
  sqlite3* raw = nullptr;
  const int flags =
      (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  SqliteDb db(raw);
  if (rc != SQLITE_OK) {
    return Error::Unavailable("cannot open store " + path + ": " +
                              (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_busy_timeout(db.get(), 5000);
  Result<bool> has = HasAuditTable(db.get());
  if (!has.ok()) return Error::Corrupt("store " + path + " is " + has.error().message);
  if (!*has) {
    return Error::Corrupt("store " + path +
                          " is an SQLite database but not an Interlock store (it has no "
                          "audit_log table)");
  }
  return db;
}

}  // namespace interlock::audit
