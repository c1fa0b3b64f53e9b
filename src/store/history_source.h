// HistorySource: the read side governance (drift, trust, fatigue, what-if) uses, so it
// reads history through the store rather than through a database handle (issue 14: no
// sqlite3* in governance's public headers; a PostgreSQL store can implement it later).
//
// The evidence governance needs (per agent the calls, tools and argument values used,
// budget usage per run, approval events with their timings) is all in the audit log's
// decision, result, approval and incident records; a source streams those records in seq
// order, filtered by type, time and agent. Record bodies are handed over as raw JSON
// (the body's `data` member) so a million records are read without a JSON tree each.
//
// SqliteHistorySource reads one SQLite connection (the CLI's read-only handle); the
// daemon's Store is itself a source (Store::ForEachRecord, on its reader connection).
// Thread-safety: a SqliteHistorySource is used on one thread at a time (SQLite's rule).
#ifndef INTERLOCK_STORE_HISTORY_SOURCE_H_
#define INTERLOCK_STORE_HISTORY_SOURCE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "interlock/result.h"

struct sqlite3;

namespace interlock::store {

// One audit record as stored. Views are valid only during the callback.
struct HistoryRecord {
  int64_t seq = 0;
  int64_t time_ms = 0;
  std::string_view type, run_id, call_id, agent_id, principal;
  std::string_view data;  // raw JSON of the body's `data` member
};

struct HistoryFilter {
  std::vector<std::string_view> types;  // empty: every type
  std::optional<int64_t> since_ms;      // inclusive
  std::string agent_id;                 // empty: every agent
};

using HistoryFn = std::function<void(const HistoryRecord&)>;

class HistorySource {
 public:
  virtual ~HistorySource() = default;
  // Calls `fn` for each matching record in seq order. A body that cannot be scanned is
  // an Error (kCorrupt) naming its seq: governance never silently skips history.
  virtual Status ForEachRecord(const HistoryFilter& filter, const HistoryFn& fn) const = 0;
};

// The audit log of one SQLite connection (not owned).
class SqliteHistorySource final : public HistorySource {
 public:
  explicit SqliteHistorySource(sqlite3* db) : db_(db) {}
  Status ForEachRecord(const HistoryFilter& filter, const HistoryFn& fn) const override;

 private:
  sqlite3* db_;
};

// The same read over any connection; SqliteHistorySource and SqliteStore both call it.
Status ForEachSqliteRecord(sqlite3* db, const HistoryFilter& filter, const HistoryFn& fn);

}  // namespace interlock::store

#endif  // INTERLOCK_STORE_HISTORY_SOURCE_H_
