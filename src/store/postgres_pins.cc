#include "store/postgres_pins.h"

#include <optional>

namespace interlock::store::internal {

namespace {

constexpr const char* kCols =
    "agent_id, tool, sha256, first_seen, definition, changed_sha256, changed_at,"
    " changed_definition";

void AppendOrNull(std::string* sql, const std::string& v) {
  if (v.empty()) {
    sql->append("NULL");
  } else {
    pg::AppendLiteral(sql, v);
  }
}

}  // namespace

Result<std::vector<core::PinRow>> PgSelectPins(pg::PgConn& c, const core::PinSelect& select,
                                               bool exact, bool for_update, std::string* sqlstate) {
  if (select.agent_id.find('\0') != std::string::npos ||
      select.tool.find('\0') != std::string::npos) {
    // libpq's parameters are C strings: a NUL would cut the name and read another's pin.
    return Error::Invalid("tool pins: an agent id or tool name with a NUL byte");
  }
  std::string sql = std::string("SELECT ") + kCols + " FROM mcp_tool_pins WHERE ";
  sql.append(exact ? "agent_id = $1 AND tool = $2"
                   : "($1 = '' OR agent_id = $1) AND ($2 = '' OR tool = $2)");
  if (select.changed_only) sql.append(" AND changed_sha256 IS NOT NULL");
  sql.append(" ORDER BY agent_id, tool");
  if (for_update) sql.append(" FOR UPDATE");
  Result<pg::PgResult> r = c.Exec(sql, {select.agent_id, select.tool}, sqlstate);
  if (!r.ok()) {
    return Error::Unavailable("tool pins: " + r.error().message);
  }
  std::vector<core::PinRow> rows;
  rows.reserve(static_cast<size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i) {
    core::PinRow p;
    p.agent_id = std::string(r->Text(i, 0));
    p.tool = std::string(r->Text(i, 1));
    p.sha256 = std::string(r->Text(i, 2));
    p.first_seen = std::string(r->Text(i, 3));
    p.definition = std::string(r->Text(i, 4));
    p.changed_sha256 = std::string(r->Text(i, 5));
    p.changed_at = std::string(r->Text(i, 6));
    p.changed_definition = std::string(r->Text(i, 7));
    rows.push_back(std::move(p));
  }
  return rows;
}

void AppendPgPinUpserts(std::string* sql, const std::vector<core::PinRow>& rows) {
  for (const core::PinRow& r : rows) {
    sql->append(std::string("INSERT INTO mcp_tool_pins (") + kCols + ") VALUES (");
    pg::AppendLiteral(sql, r.agent_id);
    sql->push_back(',');
    pg::AppendLiteral(sql, r.tool);
    sql->push_back(',');
    pg::AppendLiteral(sql, r.sha256);
    sql->push_back(',');
    pg::AppendLiteral(sql, r.first_seen);
    for (const std::string* v :
         {&r.definition, &r.changed_sha256, &r.changed_at, &r.changed_definition}) {
      sql->push_back(',');
      AppendOrNull(sql, *v);
    }
    sql->append(
        ") ON CONFLICT (agent_id, tool) DO UPDATE SET sha256 = excluded.sha256,"
        " first_seen = excluded.first_seen, definition = excluded.definition,"
        " changed_sha256 = excluded.changed_sha256, changed_at = excluded.changed_at,"
        " changed_definition = excluded.changed_definition;");
  }
}

}  // namespace interlock::store::internal
