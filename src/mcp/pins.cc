#include "mcp/pins.h"

#include <sqlite3.h>

#include <chrono>

#include <boost/json.hpp>

#include "common/crypto.h"
#include "common/json.h"
#include "common/time.h"

namespace interlock::mcp {

namespace json = boost::json;

std::string ToolDefinitionHash(const json::value& tool) {
  json::object def;
  if (tool.is_object()) {
    for (const char* key : {"name", "description", "inputSchema"}) {
      if (const json::value* v = tool.get_object().if_contains(key)) def[key] = *v;
    }
  }
  return Sha256Hex(CanonicalJson(def));
}

namespace {

// RAII statement.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) {
    ok_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) == SQLITE_OK;
  }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool ok() const { return ok_; }
  sqlite3_stmt* get() { return s_; }
  void Bind(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  std::string Text(int col) {
    const unsigned char* t = sqlite3_column_text(s_, col);
    return t != nullptr ? std::string(reinterpret_cast<const char*>(t)) : std::string();
  }

 private:
  sqlite3_stmt* s_ = nullptr;
  bool ok_ = false;
};

Error DbError(sqlite3* db, std::string_view what) {
  return Error::Unavailable("tool pins: " + std::string(what) + ": " + sqlite3_errmsg(db));
}

std::string Now() { return FormatRfc3339(std::chrono::system_clock::now()); }

}  // namespace

Result<std::unique_ptr<PinStore>> PinStore::Open(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    Error e = Error::Unavailable("tool pins: cannot open " + path + ": " +
                                 (db != nullptr ? sqlite3_errmsg(db) : "out of memory"));
    sqlite3_close(db);
    return e;
  }
  sqlite3_busy_timeout(db, 2000);
  const char* ddl =
      "CREATE TABLE IF NOT EXISTS mcp_tool_pins ("
      " agent_id TEXT NOT NULL, tool TEXT NOT NULL, sha256 TEXT NOT NULL,"
      " first_seen TEXT NOT NULL, changed_sha256 TEXT, changed_at TEXT,"
      " PRIMARY KEY (agent_id, tool))";
  if (sqlite3_exec(db, ddl, nullptr, nullptr, nullptr) != SQLITE_OK) {
    Error e = DbError(db, "create table");
    sqlite3_close(db);
    return e;
  }
  return std::unique_ptr<PinStore>(new PinStore(db));
}

PinStore::~PinStore() { sqlite3_close(db_); }

Result<PinState> PinStore::Check(std::string_view agent_id, std::string_view tool,
                                 std::string_view sha256) {
  std::lock_guard lock(mu_);
  // One statement: insert on first sight; otherwise record a differing hash as changed
  // (clearing it again when the server goes back to the pinned definition).
  Stmt up(db_,
          "INSERT INTO mcp_tool_pins (agent_id, tool, sha256, first_seen) VALUES (?1, ?2, ?3, ?4)"
          " ON CONFLICT (agent_id, tool) DO UPDATE SET"
          " changed_sha256 = CASE WHEN sha256 = ?3 THEN NULL ELSE ?3 END,"
          " changed_at = CASE WHEN sha256 = ?3 THEN NULL"
          "   WHEN changed_sha256 IS ?3 THEN changed_at ELSE ?4 END"
          " RETURNING sha256, first_seen = ?4 AND sha256 = ?3 AND changed_sha256 IS NULL");
  if (!up.ok()) return DbError(db_, "prepare");
  const std::string now = Now();
  up.Bind(1, agent_id);
  up.Bind(2, tool);
  up.Bind(3, sha256);
  up.Bind(4, now);
  if (sqlite3_step(up.get()) != SQLITE_ROW) return DbError(db_, "check");
  const std::string pinned = up.Text(0);
  const bool fresh = sqlite3_column_int(up.get(), 1) != 0;
  if (pinned != sha256) return PinState::kChanged;
  return fresh ? PinState::kNew : PinState::kMatch;
}

Result<std::vector<PinRow>> PinStore::List() {
  std::lock_guard lock(mu_);
  Stmt q(db_,
         "SELECT agent_id, tool, sha256, first_seen, changed_sha256, changed_at"
         " FROM mcp_tool_pins ORDER BY agent_id, tool");
  if (!q.ok()) return DbError(db_, "prepare");
  std::vector<PinRow> rows;
  int rc;
  while ((rc = sqlite3_step(q.get())) == SQLITE_ROW) {
    rows.push_back({q.Text(0), q.Text(1), q.Text(2), q.Text(3), q.Text(4), q.Text(5)});
  }
  if (rc != SQLITE_DONE) return DbError(db_, "list");
  return rows;
}

Result<int> PinStore::Accept(std::string_view tool) {
  std::lock_guard lock(mu_);
  Stmt u(db_,
         "UPDATE mcp_tool_pins SET sha256 = changed_sha256, changed_sha256 = NULL,"
         " changed_at = NULL WHERE changed_sha256 IS NOT NULL AND (?1 = '' OR tool = ?1)");
  if (!u.ok()) return DbError(db_, "prepare");
  u.Bind(1, tool);
  if (sqlite3_step(u.get()) != SQLITE_DONE) return DbError(db_, "accept");
  return sqlite3_changes(db_);
}

}  // namespace interlock::mcp
