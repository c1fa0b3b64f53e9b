// RecordColumns: the columns every audit record is stored with besides its body and hashes
// (seq, time, type and the ids it is indexed by), as one value that both readers of the log
// hand out: core::HistoryRecord (governance's filtered stream, history_source.h) and
// audit::AuditRow (the whole row verify reads, record_source.h). A value: views into the
// reader's buffer, valid as the reader that filled it says.
#ifndef INTERLOCK_AUDIT_RECORD_COLUMNS_H_
#define INTERLOCK_AUDIT_RECORD_COLUMNS_H_

#include <cstdint>
#include <string_view>

namespace interlock::audit {

struct RecordColumns {
  int64_t seq = 0;
  int64_t time_ms = 0;
  std::string_view type, run_id, call_id, agent_id, principal;
};

}  // namespace interlock::audit

#endif  // INTERLOCK_AUDIT_RECORD_COLUMNS_H_
