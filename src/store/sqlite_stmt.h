// Statement helpers shared by the SQLite store's files (internal to src/store).
//
// StmtAccess binds parameters and reads columns of a prepared statement; it returns the
// derived type so calls chain. Two lifetimes use it:
//   Query  borrows a statement cached by a Conn (sqlite_store_internal.h) and resets it
//          and clears its bindings on destruction, so the next use starts clean;
//   Stmt   prepares its own statement and finalizes it (approvals are rare next to
//          decisions, so sqlite_approvals.cc prepares per use).
// Thread-safety: none; a statement belongs to the connection's thread (the writer).
#ifndef INTERLOCK_STORE_SQLITE_STMT_H_
#define INTERLOCK_STORE_SQLITE_STMT_H_

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "interlock/result.h"

namespace interlock::store {

// The store's error for a failed SQLite call on `db`: kUnavailable, "store: WHAT: message".
inline Error SqlError(sqlite3* db, std::string_view what) {
  return Error::Unavailable("store: " + std::string(what) + ": " + sqlite3_errmsg(db));
}

template <class Self>
class StmtAccess {
 public:
  Self& Text(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return self();
  }
  // The caller keeps `v` alive until the statement is reset (for a Query: destroyed).
  Self& TextStatic(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    return self();
  }
  Self& Int(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return self();
  }
  Self& Null(int i) {
    sqlite3_bind_null(s_, i);
    return self();
  }
  int Step() { return sqlite3_step(s_); }
  // Binds `key` to ?1 and steps to its row: Ok on it, kNotFound "no WHAT KEY" when there is
  // none, SqlError(db, "read WHAT") when the step fails.
  Status StepToRow(sqlite3* db, std::string_view what, std::string_view key) {
    Text(1, key);
    const int rc = Step();
    if (rc == SQLITE_DONE) {
      return Error::NotFound("no " + std::string(what) + " " + std::string(key));
    }
    if (rc != SQLITE_ROW) return SqlError(db, "read " + std::string(what));
    return Status::Ok();
  }

  std::string ColText(int i) const {
    const unsigned char* t = sqlite3_column_text(s_, i);
    return t == nullptr ? std::string()
                        : std::string(reinterpret_cast<const char*>(t),
                                      static_cast<size_t>(sqlite3_column_bytes(s_, i)));
  }
  int64_t ColInt(int i) const { return sqlite3_column_int64(s_, i); }
  bool ColNull(int i) const { return sqlite3_column_type(s_, i) == SQLITE_NULL; }

 protected:
  explicit StmtAccess(sqlite3_stmt* s) : s_(s) {}
  ~StmtAccess() = default;
  sqlite3_stmt* s_;

 private:
  Self& self() { return static_cast<Self&>(*this); }
};

// A cached statement in use: reset and unbound on destruction.
class Query : public StmtAccess<Query> {
 public:
  explicit Query(sqlite3_stmt* s) : StmtAccess(s) {}
  ~Query() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;
};

// A statement prepared for one use, finalized on destruction; ok() is false when `sql`
// did not prepare (the error is on the connection).
class Stmt : public StmtAccess<Stmt> {
 public:
  Stmt(sqlite3* db, const std::string& sql) : StmtAccess(nullptr), db_(db) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s_, nullptr) != SQLITE_OK) {
      sqlite3_finalize(s_);
      s_ = nullptr;
    }
  }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  bool ok() const { return s_ != nullptr; }
  sqlite3* db() const { return db_; }

 private:
  sqlite3* db_;
};

}  // namespace interlock::store

#endif  // INTERLOCK_STORE_SQLITE_STMT_H_
