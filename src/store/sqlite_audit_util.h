// Helpers for the readers of a SQLite store file's audit log (sqlite_audit_read.h,
// sqlite_audit_retention.h, sqlite_record_source.h and the CLI): RAII for SQLite
// connections and statements, and opening a store file so that a missing, foreign or
// corrupt file is a clear Error. In the audit namespace, as before the move from src/audit/.
// Thread-safety: a connection is used by one thread at a time (SQLite's rule).
#ifndef INTERLOCK_STORE_SQLITE_AUDIT_UTIL_H_
#define INTERLOCK_STORE_SQLITE_AUDIT_UTIL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "audit/record_columns.h"
#include "interlock/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace interlock::audit {

struct SqliteCloser {
  void operator()(sqlite3* db) const;
};
using SqliteDb = std::unique_ptr<sqlite3, SqliteCloser>;

// Opens the store at `path` and checks that it is an Interlock store (an SQLite
// database with an audit_log table). Never creates a file when read_only.
Result<SqliteDb> OpenAuditStore(const std::string& path, bool read_only);

// Whether `db` holds an audit_log table; an Error when the file is not a database.
Result<bool> HasAuditTable(sqlite3* db);

// The checks every reader of a whole log starts with (verify, the daemon's tail check):
// checkpoints need the key that signed them, and `db` must hold an audit_log table.
Status CheckAuditReadable(sqlite3* db, bool have_checkpoints, bool have_public_key);

// A prepared statement, finalized on every path.
class Statement {
 public:
  Statement() = default;
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Status Prepare(sqlite3* db, std::string_view sql);
  sqlite3_stmt* get() const { return stmt_; }
  void BindText(int i, std::string_view v);
  void BindInt64(int i, int64_t v);
  // Column text as a view valid until the next Step()/Reset(); "" for NULL.
  std::string_view Text(int col) const;
  int64_t Int64(int col) const;

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

// The record columns of an audit_log row selected as "seq, time_ms, type, run_id, call_id,
// agent_id, principal, ..." (columns 0 to 6), as views valid until the next step.
void ReadRecordColumns(const Statement& st, audit::RecordColumns* out);

Error SqliteError(sqlite3* db, std::string_view what);

// RAII transaction: BEGIN IMMEDIATE on Begin(), ROLLBACK unless Commit() succeeded.
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) {}
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  Status Begin(std::string_view mode = "IMMEDIATE");
  Status Commit();

 private:
  sqlite3* db_;
  bool open_ = false;
};

}  // namespace interlock::audit

#endif  // INTERLOCK_STORE_SQLITE_AUDIT_UTIL_H_
