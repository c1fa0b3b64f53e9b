// Chat messages posted for approvals (core/ports/approval_messages.h) in the SQLite store:
// table approval_messages (schema 12), written and read on the writer thread like the
// approvals themselves.
#include <sqlite3.h>

#include "store/sqlite_stmt.h"
#include "store/sqlite_store.h"

namespace interlock::store {
namespace {

constexpr const char* kSqliteMessageColumns =
    "approval_id, service, channel, ts, final, updated_ms";

core::ApprovalMessage SqliteMessageRow(const Stmt& q) {
  core::ApprovalMessage m;
  m.approval_id = q.ColText(0);
  m.service = q.ColText(1);
  m.channel = q.ColText(2);
  m.ts = q.ColText(3);
  m.final = q.ColInt(4) != 0;
  m.updated = FromUnixMillis(q.ColInt(5));
  return m;
}

Error SqliteMessageError(sqlite3* db, std::string_view what) {
  return Error::Unavailable("approval messages: " + std::string(what) + ": " + sqlite3_errmsg(db));
}

}  // namespace

Result<bool> SqliteStore::PutApprovalMessage(const core::ApprovalMessage& m, bool only_if_absent) {
  bool wrote = false;
  Status s = RunOnWriter([&](sqlite3* db, std::vector<audit::AuditEvent>*) -> Status {
    Stmt q(db, std::string("INSERT INTO approval_messages (") + kSqliteMessageColumns +
                   ") VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (approval_id, service) " +
                   (only_if_absent ? "DO NOTHING"
                                   : "DO UPDATE SET channel = excluded.channel, ts = excluded.ts,"
                                     " final = max(final, excluded.final),"
                                     " updated_ms = excluded.updated_ms"));
    if (!q.ok()) return SqliteMessageError(db, "prepare");
    q.Text(1, m.approval_id)
        .Text(2, m.service)
        .Text(3, m.channel)
        .Text(4, m.ts)
        .Int(5, m.final ? 1 : 0)
        .Int(6, ToUnixMillis(m.updated));
    if (q.Step() != SQLITE_DONE) return SqliteMessageError(db, "record");
    wrote = sqlite3_changes(db) > 0;
    return Status::Ok();
  });
  if (!s.ok()) return s.error();
  return wrote;
}

Result<std::optional<core::ApprovalMessage>> SqliteStore::GetApprovalMessage(
    std::string_view approval_id, std::string_view service) {
  std::optional<core::ApprovalMessage> out;
  Status s = ReadOnWriter([&](sqlite3* db, std::vector<audit::AuditEvent>*) -> Status {
    Stmt q(db, std::string("SELECT ") + kSqliteMessageColumns +
                   " FROM approval_messages WHERE approval_id = ?1 AND service = ?2");
    if (!q.ok()) return SqliteMessageError(db, "prepare");
    q.Text(1, approval_id).Text(2, service);
    const int rc = q.Step();
    if (rc == SQLITE_ROW) out = SqliteMessageRow(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return SqliteMessageError(db, "read");
    return Status::Ok();
  });
  if (!s.ok()) return s.error();
  return out;
}

Result<std::vector<core::ApprovalMessage>> SqliteStore::ListOpenApprovalMessages(
    std::string_view service) {
  std::vector<core::ApprovalMessage> out;
  Status s = ReadOnWriter([&](sqlite3* db, std::vector<audit::AuditEvent>*) -> Status {
    Stmt q(db, std::string("SELECT ") + kSqliteMessageColumns +
                   " FROM approval_messages WHERE service = ?1 AND final = 0"
                   " ORDER BY updated_ms, approval_id LIMIT ?2");
    if (!q.ok()) return SqliteMessageError(db, "prepare");
    q.Text(1, service).Int(2, static_cast<int64_t>(core::kMaxOpenApprovalMessages));
    int rc;
    while ((rc = q.Step()) == SQLITE_ROW) out.push_back(SqliteMessageRow(q));
    if (rc != SQLITE_DONE) return SqliteMessageError(db, "read");
    return Status::Ok();
  });
  if (!s.ok()) return s.error();
  return out;
}

}  // namespace interlock::store
