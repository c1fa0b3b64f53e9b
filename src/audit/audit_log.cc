#include "audit/audit_log.h"

#include <sqlite3.h>

#include <boost/json/serialize.hpp>

#include "common/crypto.h"
#include "common/json.h"

namespace interlock::audit {
namespace {

constexpr std::string_view kDomain = "interlock.audit.v1";

Error SqlError(sqlite3* db, std::string_view what) {
  return Error::Unavailable("audit " + std::string(what) + ": " + sqlite3_errmsg(db));
}

// Finalizes the statement on every path.
struct Stmt {
  sqlite3_stmt* s = nullptr;
  ~Stmt() { sqlite3_finalize(s); }
};

void BindText(sqlite3_stmt* s, int i, std::string_view v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}

}  // namespace

Status EnsureAuditSchema(sqlite3* db) {
  static constexpr const char* kSchema =
      "CREATE TABLE IF NOT EXISTS audit_log ("
      "  seq INTEGER PRIMARY KEY,"
      "  time_ms INTEGER NOT NULL,"
      "  type TEXT NOT NULL,"
      "  run_id TEXT NOT NULL DEFAULT '',"
      "  call_id TEXT NOT NULL DEFAULT '',"
      "  agent_id TEXT NOT NULL DEFAULT '',"
      "  principal TEXT NOT NULL DEFAULT '',"
      "  body TEXT NOT NULL,"
      "  prev_hash TEXT NOT NULL,"
      "  hash TEXT NOT NULL);"
      "CREATE INDEX IF NOT EXISTS audit_log_run ON audit_log(run_id, seq);"
      "CREATE INDEX IF NOT EXISTS audit_log_time ON audit_log(time_ms);";
  char* err = nullptr;
  if (sqlite3_exec(db, kSchema, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return Error::Unavailable("audit schema: " + msg);
  }
  return Status::Ok();
}

std::string AuditRecordBody(int64_t seq, const AuditEvent& e, std::string_view prev_hash) {
  // Written key by key in sorted order: byte-identical to CanonicalJson() of the record
  // object (the unit test pins that), without deep-copying `data` into a temporary.
  auto str = [](std::string* out, std::string_view v) {
    out->append(boost::json::serialize(boost::json::string_view(v.data(), v.size())));
  };
  std::string out;
  out.reserve(256);
  out.append("{\"agent_id\":");
  str(&out, e.agent_id);
  out.append(",\"call_id\":");
  str(&out, e.call_id);
  out.append(",\"data\":");
  out.append(CanonicalJson(e.data));
  out.append(",\"prev\":");
  str(&out, prev_hash);
  out.append(",\"principal\":");
  str(&out, e.principal);
  out.append(",\"run_id\":");
  str(&out, e.run_id);
  out.append(",\"seq\":");
  out.append(std::to_string(seq));
  out.append(",\"time\":");
  str(&out, FormatRfc3339(e.time));
  out.append(",\"type\":");
  str(&out, e.type);
  out.push_back('}');
  return out;
}

std::string AuditRecordHash(std::string_view prev_hash, std::string_view body) {
  std::string buf;
  buf.reserve(kDomain.size() + prev_hash.size() + body.size() + 2);
  buf.append(kDomain).push_back('\0');
  buf.append(prev_hash).push_back('\0');
  buf.append(body);
  return Sha256Hex(buf);
}

Result<AuditHead> ReadAuditHead(sqlite3* db) {
  Stmt st;
  if (sqlite3_prepare_v2(db, "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1", -1, &st.s,
                         nullptr) != SQLITE_OK) {
    return SqlError(db, "read head");
  }
  AuditHead head;
  const int rc = sqlite3_step(st.s);
  if (rc == SQLITE_ROW) {
    head.seq = sqlite3_column_int64(st.s, 0);
    const unsigned char* h = sqlite3_column_text(st.s, 1);
    head.hash = h ? reinterpret_cast<const char*>(h) : "";
  } else if (rc != SQLITE_DONE) {
    return SqlError(db, "read head");
  }
  return head;
}

Result<AuditHead> AppendAuditEvents(sqlite3* db, std::span<const AuditEvent> events) {
  Result<AuditHead> head = ReadAuditHead(db);
  if (!head.ok() || events.empty()) return head;
  Stmt st;
  if (sqlite3_prepare_v2(db,
                         "INSERT INTO audit_log(seq, time_ms, type, run_id, call_id, agent_id,"
                         " principal, body, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?)",
                         -1, &st.s, nullptr) != SQLITE_OK) {
    return SqlError(db, "prepare append");
  }
  AuditHead h = std::move(head).value();
  for (const AuditEvent& e : events) {
    const int64_t seq = h.seq + 1;
    const std::string body = AuditRecordBody(seq, e, h.hash);
    std::string hash = AuditRecordHash(h.hash, body);
    sqlite3_reset(st.s);
    sqlite3_bind_int64(st.s, 1, seq);
    sqlite3_bind_int64(st.s, 2, ToUnixMillis(e.time));
    BindText(st.s, 3, e.type);
    BindText(st.s, 4, e.run_id);
    BindText(st.s, 5, e.call_id);
    BindText(st.s, 6, e.agent_id);
    BindText(st.s, 7, e.principal);
    BindText(st.s, 8, body);
    BindText(st.s, 9, h.hash);
    BindText(st.s, 10, hash);
    if (sqlite3_step(st.s) != SQLITE_DONE) return SqlError(db, "append");
    h.seq = seq;
    h.hash = std::move(hash);
  }
  return h;
}

}  // namespace interlock::audit
