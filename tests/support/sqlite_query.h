// Queries of a store file, each on a connection of its own (read-only: what another daemon
// or reader sees, committed data only), and statements run on it (SqliteExec). Header-only;
// the test links SQLite.
#ifndef INTERLOCK_TESTS_SUPPORT_SQLITE_QUERY_H_
#define INTERLOCK_TESTS_SUPPORT_SQLITE_QUERY_H_

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace interlock::testing {

// The first column of the query's first row; -1 when the file cannot be opened or the
// query yields no row.
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

// Runs `sql` (one statement or several) on the store file, read-write; whether it ran.
inline bool SqliteExec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  const bool ok = sqlite3_open(path.c_str(), &db) == SQLITE_OK &&
                  sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK;
  sqlite3_close(db);
  return ok;
}

// The first two columns of every row of the query, as text (NULL as ""); none when the file
// cannot be opened.
inline std::vector<std::pair<std::string, std::string>> SqliteTextPairs(const std::string& path,
                                                                        const std::string& sql) {
  std::vector<std::pair<std::string, std::string>> out;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr);
    auto text = [&](int column) {
      const unsigned char* t = sqlite3_column_text(st, column);
      return t == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(t));
    };
    while (st != nullptr && sqlite3_step(st) == SQLITE_ROW) out.emplace_back(text(0), text(1));
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return out;
}

}  // namespace interlock::testing

#endif  // INTERLOCK_TESTS_SUPPORT_SQLITE_QUERY_H_
