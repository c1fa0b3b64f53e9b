// SQL of the store's read paths that SQLite and PostgreSQL share (internal to src/store):
// the text is portable, only the parameter placeholders differ (SQLite "?N", PostgreSQL
// "$N" numbered densely, since PostgreSQL refuses a parameter the text does not use).
// Thread-safety: pure functions.
#ifndef INTERLOCK_STORE_READ_SQL_H_
#define INTERLOCK_STORE_READ_SQL_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/ports/store.h"

namespace interlock::store::internal {

// The placeholder text of logical parameter `n` (1-based), e.g. "?3" or "$2".
using Placeholder = std::function<std::string(int n)>;

// A ListRuns cursor: "<started_ms>:<run_id>" of the last run of the previous page.
struct RunCursor {
  int64_t started_ms = 0;
  std::string run_id;
};
std::optional<RunCursor> ParseRunCursor(std::string_view cursor);

// Logical parameters: 1 agent, 2 since, 3 until, 4 cursor started_ms, 5 cursor run_id,
// 6 limit, 7 parent run. Only the conditions the filter uses are in the text (so the planner picks
// the index that matches them: runs_agent_started with an agent, else runs_started). Selects
// run_id, then the run columns agent_id, started_ms, steps, tokens, cost_micros, halted,
// halt_reason, ended, records_json, sequence_json, parent_run_id, role, depth; newest first.
std::string ListRunsSqlWith(const core::RunFilter& f, const Placeholder& param);

}  // namespace interlock::store::internal

#endif  // INTERLOCK_STORE_READ_SQL_H_
