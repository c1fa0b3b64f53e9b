#include "store/read_sql.h"

namespace interlock::store::internal {

std::optional<RunCursor> ParseRunCursor(std::string_view cursor) {
  const size_t colon = cursor.find(':');
  if (colon == 0 || colon == std::string_view::npos || colon > 18 || colon + 1 >= cursor.size()) {
    return std::nullopt;
  }
  RunCursor c;
  for (char ch : cursor.substr(0, colon)) {
    if (ch < '0' || ch > '9') return std::nullopt;
    c.started_ms = c.started_ms * 10 + (ch - '0');
  }
  c.run_id = std::string(cursor.substr(colon + 1));
  return c;
}

std::string ListRunsSqlWith(const core::RunFilter& f, const Placeholder& p) {
  std::string sql =
      "SELECT run_id, agent_id, started_ms, steps, tokens, cost_micros, halted, halt_reason,"
      " ended, records_json, sequence_json, ended_ms, parent_run_id, role, depth FROM runs"
      " WHERE 1 = 1";
  if (!f.agent_id.empty()) sql += " AND agent_id = " + p(1);
  if (!f.parent_run_id.empty()) sql += " AND parent_run_id = " + p(7);
  if (f.started_since) sql += " AND started_ms >= " + p(2);
  if (f.started_until) sql += " AND started_ms < " + p(3);
  if (!f.cursor.empty()) {
    sql +=
        " AND (started_ms < " + p(4) + " OR (started_ms = " + p(4) + " AND run_id < " + p(5) + "))";
  }
  switch (f.state) {
    case core::RunListState::kAny:
      break;
    case core::RunListState::kActive:
      sql += " AND halted = 0 AND ended = 0";
      break;
    case core::RunListState::kEnded:
      sql += " AND halted = 0 AND ended = 1";
      break;
    case core::RunListState::kHalted:
      sql += " AND halted = 1";
      break;
  }
  return sql + " ORDER BY started_ms DESC, run_id DESC LIMIT " + p(6);
}

}  // namespace interlock::store::internal
