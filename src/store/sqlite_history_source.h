// SqliteHistorySource: governance's read side (core/ports/history_source.h) over one
// SQLite connection, and the reads SqliteStore shares with it.
// Thread-safety: a SqliteHistorySource is used on one thread at a time (SQLite's rule).
#ifndef INTERLOCK_STORE_SQLITE_HISTORY_SOURCE_H_
#define INTERLOCK_STORE_SQLITE_HISTORY_SOURCE_H_

#include <cstdint>

#include "core/ports/history_source.h"
#include "interlock/result.h"

struct sqlite3;

namespace interlock::store {

// The audit log of one SQLite connection (not owned).
class SqliteHistorySource final : public core::HistorySource {
 public:
  explicit SqliteHistorySource(sqlite3* db) : db_(db) {}
  Status ForEachRecord(const core::HistoryFilter& filter, const core::HistoryFn& fn) const override;
  Result<int64_t> LastSeq() const override;

 private:
  sqlite3* db_;
};

// The same reads over any connection; SqliteHistorySource and SqliteStore both call them.
Status ForEachSqliteRecord(sqlite3* db, const core::HistoryFilter& filter,
                           const core::HistoryFn& fn);
Result<int64_t> SqliteLastSeq(sqlite3* db);

}  // namespace interlock::store

#endif  // INTERLOCK_STORE_SQLITE_HISTORY_SOURCE_H_
