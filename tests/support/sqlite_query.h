// SqliteFirstInt: the first column of a query's first row in a store file, read on a
// connection of its own (read-only: what another daemon or reader sees, committed data only).
// -1 when the file cannot be opened or the query yields no row. Header-only; the test links
// SQLite.
#ifndef INTERLOCK_TESTS_SUPPORT_SQLITE_QUERY_H_
#define INTERLOCK_TESTS_SUPPORT_SQLITE_QUERY_H_

#include <sqlite3.h>

#include <cstdint>
#include <string>

namespace interlock::testing {

inline int64_t SqliteFirstInt(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  int64_t n = -1;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr);
    if (st != nullptr && sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return n;
}

}  // namespace interlock::testing

#endif  // INTERLOCK_TESTS_SUPPORT_SQLITE_QUERY_H_
