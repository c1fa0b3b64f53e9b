// HistorySource: the read side governance (drift, trust, fatigue, what-if) uses, so it
// reads history through the store rather than through a database handle (issue 14: no
// database handle in governance's public headers; each backend implements it).
//
// The evidence governance needs (per agent the calls, tools and argument values used,
// budget usage per run, approval events with their timings) is all in the audit log's
// decision, result, approval and incident records; a source streams those records in seq
// order, filtered by type, time and agent. Record bodies are handed over as raw JSON
// (the body's `data` member) so a million records are read without a JSON tree each.
//
// store::SqliteHistorySource (store/sqlite_history_source.h) reads one SQLite connection
// (the CLI's read-only handle); the daemon's Store is itself a source
// (Store::ForEachRecord, on its reader connection).
// Thread-safety: as the implementation says (SQLite: one thread at a time).
#ifndef INTERLOCK_CORE_PORTS_HISTORY_SOURCE_H_
#define INTERLOCK_CORE_PORTS_HISTORY_SOURCE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/record_columns.h"
#include "interlock/result.h"

namespace interlock::core {

// One audit record as stored: its columns and the body's `data`. Views are valid only
// during the callback.
struct HistoryRecord : audit::RecordColumns {
  std::string_view data;  // raw JSON of the body's `data` member
};

struct HistoryFilter {
  std::vector<std::string_view> types;  // empty: every type
  std::optional<int64_t> since_ms;      // inclusive
  std::string agent_id;                 // empty: every agent
  // When set and it becomes true, the read ends early with kUnavailable (a daemon shutting
  // down does not wait for a report over a million records).
  const std::atomic<bool>* stop = nullptr;
};

using HistoryFn = std::function<void(const HistoryRecord&)>;

class HistorySource {
 public:
  virtual ~HistorySource() = default;
  // Calls `fn` for each matching record in seq order. A body that cannot be scanned is
  // an Error (kCorrupt) naming its seq: governance never silently skips history.
  virtual Status ForEachRecord(const HistoryFilter& filter, const HistoryFn& fn) const = 0;
  // The seq of the newest audit record (0: an empty log). A report computed when the log
  // ended at this seq is current until it changes (the console's governance cache,
  // daemon/report_cache.h). Default: kUnavailable (the caller then treats every report as
  // possibly stale).
  virtual Result<int64_t> LastSeq() const {
    return Error::Unavailable("this history source cannot tell its last seq");
  }
};

// Another source (not owned) whose reads end early once `stop` is set.
class StoppableSource final : public HistorySource {
 public:
  StoppableSource(const HistorySource* source, const std::atomic<bool>* stop)
      : source_(source), stop_(stop) {}
  Status ForEachRecord(const HistoryFilter& filter, const HistoryFn& fn) const override {
    HistoryFilter f = filter;
    f.stop = stop_;
    return source_->ForEachRecord(f, fn);
  }
  Result<int64_t> LastSeq() const override { return source_->LastSeq(); }

 private:
  const HistorySource* source_;
  const std::atomic<bool>* stop_;
};

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_PORTS_HISTORY_SOURCE_H_
