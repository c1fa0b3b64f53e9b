// RecordSource: the audit log as stored, read through an interface, so that verify (and
// every reader of the whole log) runs over any backend: SQLite (in src/store/)
// or PostgreSQL (store/postgres_read.h).
//
// A source streams the stored records in seq order with every column (the hashed body,
// prev_hash, hash and the unhashed columns), then answers the head row and, when the
// backend keeps run links (audit/audit_log.h), the run heads. A source reads one snapshot
// where the backend offers one (PostgreSQL: one REPEATABLE READ transaction), so a
// daemon appending while it reads never looks like a truncated tail.
// Thread-safety: one thread at a time; views in an AuditRow are valid until the next
// call on the source.
#ifndef INTERLOCK_AUDIT_RECORD_SOURCE_H_
#define INTERLOCK_AUDIT_RECORD_SOURCE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "audit/audit_event.h"
#include "audit/checkpoint_store.h"
#include "audit/record_columns.h"
#include "interlock/result.h"

namespace interlock::audit {

// One stored record: the row as the table holds it (its columns, body and hashes),
// unchecked.
struct AuditRow : RecordColumns {
  std::string_view body;  // the hashed canonical JSON
  std::string_view prev_hash, hash;
  int64_t run_prev = 0;  // the run link; 0 when the source has none (RunLinks() false)
};

// The first and the last record of a log (both 0 / empty when it is empty).
struct LogBounds {
  int64_t first_seq = 0;
  audit::AuditHead last;
};

class RecordSource {
 public:
  virtual ~RecordSource() = default;

  // Whether this is an audit log at all (an Error for a foreign or unreadable store).
  virtual Status CheckReadable() = 0;
  // Whether records carry run links and the source keeps run heads (audit/audit_log.h).
  virtual Result<bool> RunLinks() = 0;
  // Starts the scan over every record in seq order; Next() then yields them.
  virtual Status StartScan() = 0;
  // Starts a scan over the records with seq >= `from_seq` (the tail check reads from
  // the latest checkpoint on, not the whole log).
  virtual Status StartScanFrom(int64_t from_seq) = 0;
  // The first and the last record.
  virtual Result<LogBounds> Bounds() = 0;
  // The signed checkpoints the backend keeps itself, in the same snapshot as the records
  // (PostgreSQL's table, docs/audit.md "Fleet"); none for a backend whose checkpoints
  // live in a file only (SQLite). Their signatures are unchecked here.
  virtual Result<std::vector<Checkpoint>> StoredCheckpoints() { return std::vector<Checkpoint>{}; }
  // The next record; false after the last.
  virtual Result<bool> Next(AuditRow* out) = 0;
  // Whether the log keeps a head row (false: a SQLite log from before the row).
  virtual Result<bool> KeepsHeadRow() = 0;
  // The head row (the log's last record as the writer last wrote it); nullopt when the
  // row is missing. Only called when KeepsHeadRow().
  virtual Result<std::optional<audit::AuditHead>> HeadRow() = 0;
  // Every run head (run_id, head_seq); the callback's false stops early. Only called
  // when RunLinks().
  virtual Status ForEachRunHead(const std::function<bool(std::string_view, int64_t)>& fn) = 0;
  // Whether run `run_id` has a head row. Only called when RunLinks().
  virtual Result<bool> HasRunHead(std::string_view run_id) = 0;
};

}  // namespace interlock::audit

#endif  // INTERLOCK_AUDIT_RECORD_SOURCE_H_
