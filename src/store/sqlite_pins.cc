// The SQLite backend of core::PinRows (pin_rows.h): rows only, on a connection of its own.
#include <sqlite3.h>

#include <mutex>
#include <span>

#include "common/status_macros.h"
#include "core/ports/pin_rows.h"
#include "store/sqlite_audit_log.h"
#include "store/sqlite_audit_util.h"
#include "store/sqlite_pins.h"

namespace interlock::store {
namespace {

constexpr const char* kCols =
    "agent_id, tool, sha256, first_seen, definition, changed_sha256, changed_at,"
    " changed_definition";

Error DbError(sqlite3* db, std::string_view what) {
  return Error::Unavailable("tool pins: " + std::string(what) + ": " + sqlite3_errmsg(db));
}

core::PinRow ReadRow(const audit::Statement& q) {
  core::PinRow r;
  r.agent_id = std::string(q.Text(0));
  r.tool = std::string(q.Text(1));
  r.sha256 = std::string(q.Text(2));
  r.first_seen = std::string(q.Text(3));
  r.definition = std::string(q.Text(4));
  r.changed_sha256 = std::string(q.Text(5));
  r.changed_at = std::string(q.Text(6));
  r.changed_definition = std::string(q.Text(7));
  return r;
}

// Binds `v`, or NULL when it is empty (the changed_* columns: NULL means none pending).
void BindOrNull(audit::Statement& q, int i, std::string_view v) {
  if (v.empty()) {
    sqlite3_bind_null(q.get(), i);
  } else {
    q.BindText(i, v);
  }
}

// Adds a column to mcp_tool_pins unless it is there (tables made before it existed).
Status AddColumnIfMissing(sqlite3* db, std::string_view column) {
  audit::Statement q;
  if (Status s = q.Prepare(db, "SELECT 1 FROM pragma_table_info('mcp_tool_pins') WHERE name = ?");
      !s.ok()) {
    return s;
  }
  q.BindText(1, column);
  const int rc = sqlite3_step(q.get());
  if (rc == SQLITE_ROW) return Status::Ok();
  if (rc != SQLITE_DONE) return DbError(db, "read the table's columns");
  const std::string ddl = "ALTER TABLE mcp_tool_pins ADD COLUMN " + std::string(column) + " TEXT";
  if (sqlite3_exec(db, ddl.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
    return DbError(db, "add column " + std::string(column));
  }
  return Status::Ok();
}

class SqlitePinRows final : public core::PinRows {
 public:
  explicit SqlitePinRows(sqlite3* db) : db_(db) {}
  ~SqlitePinRows() override { sqlite3_close(db_); }
  SqlitePinRows(const SqlitePinRows&) = delete;
  SqlitePinRows& operator=(const SqlitePinRows&) = delete;

  Status Migrate() {
    const char* ddl =
        "CREATE TABLE IF NOT EXISTS mcp_tool_pins ("
        " agent_id TEXT NOT NULL, tool TEXT NOT NULL, sha256 TEXT NOT NULL,"
        " first_seen TEXT NOT NULL, changed_sha256 TEXT, changed_at TEXT,"
        " definition TEXT, changed_definition TEXT,"
        " PRIMARY KEY (agent_id, tool))";
    // One writer at a time, so two gateways opening an old table at once do not both add
    // the columns (the second ALTER would fail).
    audit::Transaction tx(db_);
    INTERLOCK_RETURN_IF_ERROR(tx.Begin("IMMEDIATE"));
    if (sqlite3_exec(db_, ddl, nullptr, nullptr, nullptr) != SQLITE_OK) {
      return DbError(db_, "create table");
    }
    for (std::string_view column : {"definition", "changed_definition"}) {
      INTERLOCK_RETURN_IF_ERROR(AddColumnIfMissing(db_, column));
    }
    return tx.Commit();
  }

  Result<std::optional<core::PinRow>> Get(std::string_view agent_id,
                                          std::string_view tool) override {
    std::lock_guard lock(mu_);
    Result<std::vector<core::PinRow>> rows =
        Select(core::PinSelect{std::string(agent_id), std::string(tool), false}, /*exact=*/true);
    if (!rows.ok()) return rows.error();
    if (rows->empty()) return std::optional<core::PinRow>();
    return std::optional<core::PinRow>(std::move(rows->front()));
  }

  Result<std::vector<core::PinRow>> List() override {
    std::lock_guard lock(mu_);
    return Select(core::PinSelect{}, false);
  }

  Status Update(const core::PinSelect& select, const core::PinFn& fn) override {
    std::lock_guard lock(mu_);
    audit::Transaction tx(db_);
    INTERLOCK_RETURN_IF_ERROR(tx.Begin("IMMEDIATE"));
    Result<std::vector<core::PinRow>> rows = Select(select, false);
    if (!rows.ok()) return rows.error();
    Result<core::PinWrite> write = fn(*rows);
    if (!write.ok()) return write.error();
    for (const core::PinRow& r : write->rows) {
      audit::Statement u;
      if (Status s = u.Prepare(
              db_, std::string("INSERT INTO mcp_tool_pins (") + kCols +
                       ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                       " ON CONFLICT (agent_id, tool) DO UPDATE SET sha256 = excluded.sha256,"
                       " first_seen = excluded.first_seen, definition = excluded.definition,"
                       " changed_sha256 = excluded.changed_sha256,"
                       " changed_at = excluded.changed_at,"
                       " changed_definition = excluded.changed_definition");
          !s.ok()) {
        return s;
      }
      u.BindText(1, r.agent_id);
      u.BindText(2, r.tool);
      u.BindText(3, r.sha256);
      u.BindText(4, r.first_seen);
      BindOrNull(u, 5, r.definition);
      BindOrNull(u, 6, r.changed_sha256);
      BindOrNull(u, 7, r.changed_at);
      BindOrNull(u, 8, r.changed_definition);
      if (sqlite3_step(u.get()) != SQLITE_DONE) return DbError(db_, "record the pin");
    }
    if (!write->events.empty()) {
      auto head = audit::AppendAuditEvents(db_, std::span<const audit::AuditEvent>(write->events));
      if (!head.ok()) {
        return Error::Unavailable("tool pins: cannot write the audit record (nothing written): " +
                                  head.error().message);
      }
    }
    return tx.Commit();
  }

 private:
  // exact: agent_id and tool compared as given (an empty value is a value).
  Result<std::vector<core::PinRow>> Select(const core::PinSelect& s, bool exact) {
    audit::Statement q;
    if (Status st = q.Prepare(
            db_, std::string("SELECT ") + kCols +
                     " FROM mcp_tool_pins WHERE (?4 OR ?1 = '' OR agent_id = ?1)"
                     " AND (?4 OR ?2 = '' OR tool = ?2) AND (?3 = 0 OR changed_sha256 IS NOT NULL)"
                     " AND (NOT ?4 OR (agent_id = ?1 AND tool = ?2))"
                     " ORDER BY agent_id, tool");
        !st.ok()) {
      return st.error();
    }
    q.BindText(1, s.agent_id);
    q.BindText(2, s.tool);
    q.BindInt64(3, s.changed_only ? 1 : 0);
    q.BindInt64(4, exact ? 1 : 0);
    std::vector<core::PinRow> rows;
    int rc;
    while ((rc = sqlite3_step(q.get())) == SQLITE_ROW) rows.push_back(ReadRow(q));
    if (rc != SQLITE_DONE) return DbError(db_, "read");
    return rows;
  }

  std::mutex mu_;
  sqlite3* db_;
};

}  // namespace

Result<std::unique_ptr<core::PinRows>> OpenSqlitePinRows(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    Error e = Error::Unavailable("tool pins: cannot open " + path + ": " +
                                 (db != nullptr ? sqlite3_errmsg(db) : "out of memory"));
    sqlite3_close(db);
    return e;
  }
  auto rows = std::make_unique<SqlitePinRows>(db);
  sqlite3_busy_timeout(db, 2000);
  if (Status s = rows->Migrate(); !s.ok()) return s.error();
  return std::unique_ptr<core::PinRows>(std::move(rows));
}

}  // namespace interlock::store
