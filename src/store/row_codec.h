// Row helpers the SQLite and PostgreSQL stores share (internal to src/store): ids, the run
// state as a call row stores it, a run row as a batch holds it, a run row's records map,
// and a call row read back. One definition, so the two backends write and read the same
// bytes.
#ifndef INTERLOCK_STORE_ROW_CODEC_H_
#define INTERLOCK_STORE_ROW_CODEC_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "core/ports/approvals.h"
#include "core/ports/state_txn.h"
#include "interlock/result.h"
#include "interlock/tool_call.h"

namespace interlock::store::internal {

// `prefix` and 16 hex digits of randomness. Unguessable (a caller must not enumerate other
// agents' calls or runs); the CSPRNG is drawn in 4 KiB refills per thread.
std::string NewId(std::string_view prefix);

// A run row (the runs table's columns) as a store's batch holds it. A backend adds what
// its writer tracks besides (PostgreSQL: the version as read, whether to INSERT).
struct StoredRunRow {
  std::string agent_id;
  int64_t started_ms = 0;
  RunState state;
  bool ended = false;
  std::optional<int64_t> ended_ms;  // when it was ended (null for older rows)
  // Fixed when the run is created (core::RunRow's): never written by SaveRun.
  std::string parent_run_id;
  std::string role;
  int depth = 0;
  uint64_t version = 0;  // as core::RunRow::version: bumped by every SaveRun
  bool dirty = false;    // changed in this batch, not yet written
};

// The row as the core's transaction functions read it (StateTxn::LoadRunForUpdate: the
// version loaded, the place in the tree of runs; ended_at is not read back).
core::RunRow ToCoreRunRow(const StoredRunRow& row);

// The run state as calls.state_after_json stores it (exact integers):
// {"steps","tokens","cost_micros","elapsed_ms","halted","halt_reason","records"}.
void AppendStateStoreJson(std::string* out, const RunState& s);

// runs.records_json: {"tool": count, ...}. Anything else is kCorrupt (a tampered row).
Result<std::map<std::string, uint64_t, std::less<>>> ParseRecords(std::string_view text);

// A JSON column this store wrote (`column`: "calls.decision_json", ...): its object, or
// kCorrupt naming the column (a tampered row).
Result<boost::json::object> ParseColumn(std::string_view text, std::string_view column);

// The reason of a stored decision (calls.decision_json), for a listing; empty when the
// column is unreadable (the call's own read reports that as kCorrupt).
std::string DecisionReason(std::string_view decision_json);

// A call row's columns as both stores select them (the arguments and the decision resolved
// when the row holds them by reference to its decision record).
struct CallRowColumns {
  std::string_view call_id;
  std::string_view run_id;
  std::string_view agent_id;
  std::string_view principal;
  int64_t time_ms = 0;
  std::string_view tool;
  std::string_view args_json;
  int64_t usage_tokens = 0;
  int64_t usage_cost_micros = 0;
  std::string_view decision_json;
  std::string_view state_after_json;
  std::optional<std::string_view> result_json;  // nullopt: no result reported yet
  std::string_view policy_sha256;
};

// The call these columns hold. kCorrupt, naming the column, when one of the JSON columns is
// not the object this store writes, or the decision's verdict or code is not one Interlock
// knows: a tampered row never reads as a decision, an allow least of all.
Result<core::StoredCall> DecodeCallRow(const CallRowColumns& row);

}  // namespace interlock::store::internal

#endif  // INTERLOCK_STORE_ROW_CODEC_H_
