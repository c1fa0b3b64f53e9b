#include "mcp/pins.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <span>

#include <boost/json.hpp>

#include "audit/audit_log.h"
#include "audit/sqlite_util.h"
#include "common/crypto.h"
#include "common/json.h"
#include "common/time.h"

namespace interlock::mcp {

namespace json = boost::json;

namespace {

constexpr std::string_view kPinAccepted = "pin_accepted";
// Beyond this many lines a side, DefinitionDiff shows both sides whole (the LCS table
// would be too large); tool definitions are far smaller.
constexpr size_t kMaxDiffLines = 4000;

// The hash pins had before outputSchema was part of the definition (migration only).
std::string LegacyHash(const json::value& tool) {
  json::object def;
  if (tool.is_object()) {
    for (const char* key : {"name", "description", "inputSchema"}) {
      if (const json::value* v = tool.get_object().if_contains(key)) def[key] = *v;
    }
  }
  return Sha256Hex(CanonicalJson(def));
}

Error DbError(sqlite3* db, std::string_view what) {
  return Error::Unavailable("tool pins: " + std::string(what) + ": " + sqlite3_errmsg(db));
}

std::string Now() { return FormatRfc3339(std::chrono::system_clock::now()); }

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

void PrettyInto(const json::value& v, int indent, std::string* out) {
  const std::string pad(static_cast<size_t>(indent) * 2, ' ');
  const std::string inner(static_cast<size_t>(indent + 1) * 2, ' ');
  if (v.is_object() && !v.get_object().empty()) {
    out->append("{\n");
    bool first = true;
    for (const auto& kv : v.get_object()) {
      if (!first) out->append(",\n");
      first = false;
      out->append(inner + json::serialize(json::value(kv.key())) + ": ");
      PrettyInto(kv.value(), indent + 1, out);
    }
    out->append("\n" + pad + "}");
  } else if (v.is_array() && !v.get_array().empty()) {
    out->append("[\n");
    bool first = true;
    for (const json::value& e : v.get_array()) {
      if (!first) out->append(",\n");
      first = false;
      out->append(inner);
      PrettyInto(e, indent + 1, out);
    }
    out->append("\n" + pad + "]");
  } else {
    out->append(json::serialize(v));
  }
}

std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    lines.push_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return lines;
}

}  // namespace

json::object PinnedDefinition(const json::value& tool) {
  json::object def;
  if (tool.is_object()) {
    for (const char* key : {"name", "description", "inputSchema", "outputSchema"}) {
      if (const json::value* v = tool.get_object().if_contains(key)) def[key] = *v;
    }
  }
  return def;
}

std::string ToolDefinitionHash(const json::value& tool) {
  return Sha256Hex(CanonicalJson(PinnedDefinition(tool)));
}

std::string PrettyJson(std::string_view text) {
  auto v = ParseJsonStrict(text, JsonLimits{8 << 20, 256});
  if (!v.ok()) return std::string(text);
  std::string out;
  PrettyInto(*v, 0, &out);
  return out;
}

std::string DefinitionDiff(std::string_view before, std::string_view after) {
  const std::string a_text = before.empty() ? std::string() : PrettyJson(before);
  const std::string b_text = after.empty() ? std::string() : PrettyJson(after);
  const std::vector<std::string_view> a = Lines(a_text), b = Lines(b_text);
  std::string out;
  auto emit = [&out](std::string_view mark, std::string_view line) {
    out.append(mark);
    out.append(line);
    out.push_back('\n');
  };
  if (a.size() > kMaxDiffLines || b.size() > kMaxDiffLines) {
    for (std::string_view l : a) emit("- ", l);
    for (std::string_view l : b) emit("+ ", l);
    return out;
  }
  // Longest common subsequence of lines, then a walk that prints it in order.
  const size_t n = a.size(), m = b.size();
  std::vector<uint32_t> lcs((n + 1) * (m + 1), 0);
  auto at = [&](size_t i, size_t j) -> uint32_t& { return lcs[i * (m + 1) + j]; };
  for (size_t i = n; i-- > 0;) {
    for (size_t j = m; j-- > 0;) {
      at(i, j) = a[i] == b[j] ? at(i + 1, j + 1) + 1 : std::max(at(i + 1, j), at(i, j + 1));
    }
  }
  size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] == b[j]) {
      emit("  ", a[i]);
      ++i;
      ++j;
    } else if (j < m && (i == n || at(i, j + 1) >= at(i + 1, j))) {
      emit("+ ", b[j++]);
    } else {
      emit("- ", a[i++]);
    }
  }
  return out;
}

Result<std::unique_ptr<PinStore>> PinStore::Open(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    Error e = Error::Unavailable("tool pins: cannot open " + path + ": " +
                                 (db != nullptr ? sqlite3_errmsg(db) : "out of memory"));
    sqlite3_close(db);
    return e;
  }
  std::unique_ptr<PinStore> store(new PinStore(db));
  sqlite3_busy_timeout(db, 2000);
  const char* ddl =
      "CREATE TABLE IF NOT EXISTS mcp_tool_pins ("
      " agent_id TEXT NOT NULL, tool TEXT NOT NULL, sha256 TEXT NOT NULL,"
      " first_seen TEXT NOT NULL, changed_sha256 TEXT, changed_at TEXT,"
      " definition TEXT, changed_definition TEXT,"
      " PRIMARY KEY (agent_id, tool))";
  // One writer at a time, so two gateways opening an old table at once do not both add
  // the columns (the second ALTER would fail).
  audit::Transaction tx(db);
  if (Status s = tx.Begin("IMMEDIATE"); !s.ok()) return s.error();
  if (sqlite3_exec(db, ddl, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return DbError(db, "create table");
  }
  for (std::string_view column : {"definition", "changed_definition"}) {
    if (Status s = AddColumnIfMissing(db, column); !s.ok()) return s.error();
  }
  if (Status s = tx.Commit(); !s.ok()) return s.error();
  return store;
}

PinStore::~PinStore() { sqlite3_close(db_); }

Result<PinState> PinStore::Check(std::string_view agent_id, std::string_view tool_name,
                                 const json::value& tool) {
  const std::string definition = CanonicalJson(PinnedDefinition(tool));
  const std::string sha256 = Sha256Hex(definition);
  const std::string now = Now();
  std::lock_guard lock(mu_);
  audit::Transaction tx(db_);
  if (Status s = tx.Begin("IMMEDIATE"); !s.ok()) return s.error();
  std::string pinned, pinned_definition, changed;
  bool found = false;
  {
    audit::Statement q;
    if (Status s = q.Prepare(db_,
                             "SELECT sha256, definition, changed_sha256 FROM mcp_tool_pins"
                             " WHERE agent_id = ? AND tool = ?");
        !s.ok()) {
      return s.error();
    }
    q.BindText(1, agent_id);
    q.BindText(2, tool_name);
    const int rc = sqlite3_step(q.get());
    if (rc == SQLITE_ROW) {
      found = true;
      pinned = std::string(q.Text(0));
      pinned_definition = std::string(q.Text(1));
      changed = std::string(q.Text(2));
    } else if (rc != SQLITE_DONE) {
      return DbError(db_, "check");
    }
  }
  // A pin made before definitions were kept matches its legacy hash: re-pin the same
  // definition under the current hash and keep its text.
  const bool same =
      pinned == sha256 || (found && pinned_definition.empty() && pinned == LegacyHash(tool));
  PinState state = PinState::kChanged;
  const char* sql = nullptr;
  if (!found) {
    state = PinState::kNew;
    sql =
        "INSERT INTO mcp_tool_pins (agent_id, tool, sha256, first_seen, definition)"
        " VALUES (?1, ?2, ?3, ?4, ?5)";
  } else if (same) {
    state = PinState::kMatch;
    // The server went back to the pinned definition: nothing is pending any more.
    if (!changed.empty() || pinned_definition.empty() || pinned != sha256) {
      sql =
          "UPDATE mcp_tool_pins SET sha256 = ?3, definition = ?5, changed_sha256 = NULL,"
          " changed_at = NULL, changed_definition = NULL WHERE agent_id = ?1 AND tool = ?2";
    }
  } else if (changed != sha256) {
    sql =
        "UPDATE mcp_tool_pins SET changed_sha256 = ?3, changed_at = ?4,"
        " changed_definition = ?5 WHERE agent_id = ?1 AND tool = ?2";
  }
  if (sql != nullptr) {
    audit::Statement u;
    if (Status s = u.Prepare(db_, sql); !s.ok()) return s.error();
    u.BindText(1, agent_id);
    u.BindText(2, tool_name);
    u.BindText(3, sha256);
    u.BindText(4, now);
    u.BindText(5, definition);
    if (sqlite3_step(u.get()) != SQLITE_DONE) return DbError(db_, "record the pin");
  }
  if (Status s = tx.Commit(); !s.ok()) return s.error();
  return state;
}

Result<std::vector<PinRow>> PinStore::List() {
  std::lock_guard lock(mu_);
  audit::Statement q;
  if (Status s = q.Prepare(db_,
                           "SELECT agent_id, tool, sha256, first_seen, definition, changed_sha256,"
                           " changed_at, changed_definition FROM mcp_tool_pins"
                           " ORDER BY agent_id, tool");
      !s.ok()) {
    return s.error();
  }
  std::vector<PinRow> rows;
  int rc;
  while ((rc = sqlite3_step(q.get())) == SQLITE_ROW) {
    PinRow r;
    r.agent_id = std::string(q.Text(0));
    r.tool = std::string(q.Text(1));
    r.sha256 = std::string(q.Text(2));
    r.first_seen = std::string(q.Text(3));
    r.definition = std::string(q.Text(4));
    r.changed_sha256 = std::string(q.Text(5));
    r.changed_at = std::string(q.Text(6));
    r.changed_definition = std::string(q.Text(7));
    rows.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return DbError(db_, "list");
  return rows;
}

Result<int> PinStore::Accept(std::string_view tool, std::string_view by) {
  std::lock_guard lock(mu_);
  audit::Transaction tx(db_);
  if (Status s = tx.Begin("IMMEDIATE"); !s.ok()) return s.error();
  std::vector<audit::AuditEvent> events;
  const TimePoint now = std::chrono::system_clock::now();
  {
    audit::Statement q;
    if (Status s = q.Prepare(db_,
                             "SELECT agent_id, tool, sha256, changed_sha256 FROM mcp_tool_pins"
                             " WHERE changed_sha256 IS NOT NULL AND (?1 = '' OR tool = ?1)"
                             " ORDER BY agent_id, tool");
        !s.ok()) {
      return s.error();
    }
    q.BindText(1, tool);
    int rc;
    while ((rc = sqlite3_step(q.get())) == SQLITE_ROW) {
      const std::string agent(q.Text(0));
      events.push_back(audit::AuditEvent{kPinAccepted, now, "", "", agent, std::string(by),
                                         json::object{{"agent_id", agent},
                                                      {"tool", q.Text(1)},
                                                      {"from_sha256", q.Text(2)},
                                                      {"to_sha256", q.Text(3)},
                                                      {"by", by}}});
    }
    if (rc != SQLITE_DONE) return DbError(db_, "accept");
  }
  if (events.empty()) return 0;
  audit::Statement u;
  if (Status s = u.Prepare(db_,
                           "UPDATE mcp_tool_pins SET sha256 = changed_sha256,"
                           " definition = changed_definition, changed_sha256 = NULL,"
                           " changed_at = NULL, changed_definition = NULL"
                           " WHERE changed_sha256 IS NOT NULL AND (?1 = '' OR tool = ?1)");
      !s.ok()) {
    return s.error();
  }
  u.BindText(1, tool);
  if (sqlite3_step(u.get()) != SQLITE_DONE) return DbError(db_, "accept");
  const int n = sqlite3_changes(db_);
  if (auto h = audit::AppendAuditEvents(db_, std::span<const audit::AuditEvent>(events)); !h.ok()) {
    return Error::Unavailable("tool pins: cannot write the audit record (nothing accepted): " +
                              h.error().message);
  }
  if (Status s = tx.Commit(); !s.ok()) return s.error();
  return n;
}

}  // namespace interlock::mcp
