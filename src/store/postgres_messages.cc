// Chat messages posted for approvals (core/ports/approval_messages.h) in the PostgreSQL
// store: table approval_messages (schema 15), shared by every daemon of a fleet. Writes
// go through the writer's batch transaction; reads use the reader connection.
#include "store/postgres_store.h"
#include "store/postgres_store_internal.h"

namespace interlock::store {
namespace {

constexpr const char* kPgMessageColumns = "approval_id, service, channel, ts, final, updated_ms";

Result<std::vector<core::ApprovalMessage>> PgMessageRows(const pg::PgResult& r) {
  std::vector<core::ApprovalMessage> out;
  out.reserve(static_cast<size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    core::ApprovalMessage m;
    m.approval_id = std::string(r.Text(i, 0));
    m.service = std::string(r.Text(i, 1));
    m.channel = std::string(r.Text(i, 2));
    m.ts = std::string(r.Text(i, 3));
    m.final = r.Int(i, 4) != 0;
    m.updated = FromUnixMillis(r.Int(i, 5));
    out.push_back(std::move(m));
  }
  return out;
}

bool PgMessageHasNul(std::string_view a, std::string_view b) {
  return a.find('\0') != std::string_view::npos || b.find('\0') != std::string_view::npos;
}

}  // namespace

Result<bool> PostgresStore::PutApprovalMessage(const core::ApprovalMessage& m,
                                               bool only_if_absent) {
  if (PgMessageHasNul(m.approval_id, m.service)) {
    return Error::Invalid("approval messages: an id with a NUL byte");
  }
  std::string sql =
      std::string("INSERT INTO approval_messages (") + kPgMessageColumns + ") VALUES (";
  for (const std::string* v : {&m.approval_id, &m.service, &m.channel, &m.ts}) {
    pg::AppendLiteral(&sql, *v);
    sql.push_back(',');
  }
  sql += std::string(m.final ? "1" : "0") + "," + std::to_string(ToUnixMillis(m.updated)) +
         ") ON CONFLICT (approval_id, service) ";
  if (!only_if_absent) {
    sql +=
        "DO UPDATE SET channel = excluded.channel, ts = excluded.ts,"
        " final = greatest(approval_messages.final, excluded.final),"
        " updated_ms = excluded.updated_ms;";
    Status s = impl_->SubmitAndWait({}, [sql](Impl::Batch& b) {
      b.sql.append(sql);  // a retry re-runs the operation on a fresh batch
      return Status::Ok();
    });
    if (!s.ok()) return s.error();
    return true;
  }
  // The claim: every writer of every daemon takes the audit head's lock before its
  // prefetch, so the row read here is exact until this batch commits the insert.
  sql += "DO NOTHING;";
  const std::string id = m.approval_id, svc = m.service;
  bool wrote = false;
  Status s = impl_->SubmitAndWait(
      {},
      [&](Impl::Batch& b) {
        if (wrote) b.sql.append(sql);
        return Status::Ok();
      },
      [&](PgConn& c, Impl::Batch&, std::vector<std::string>*, std::string* sqlstate) -> Status {
        Result<PgResult> r = c.Exec(
            "SELECT 1 FROM approval_messages WHERE approval_id = $1 AND service = $2 FOR UPDATE",
            {id, svc}, sqlstate);
        if (!r.ok()) return Error::Unavailable("approval messages: " + r.error().message);
        wrote = r->rows() == 0;
        return Status::Ok();
      },
      core::AnchorNeed::kNone, /*alone=*/true);
  if (!s.ok()) return s.error();
  return wrote;
}

Result<std::optional<core::ApprovalMessage>> PostgresStore::GetApprovalMessage(
    std::string_view approval_id, std::string_view service) {
  if (PgMessageHasNul(approval_id, service)) {
    return Error::Invalid("approval messages: an id with a NUL byte");
  }
  const std::string id(approval_id), svc(service);
  return impl_->Read<std::optional<core::ApprovalMessage>>(
      [&](PgConn& c) -> Result<std::optional<core::ApprovalMessage>> {
        Result<PgResult> r = c.Exec(std::string("SELECT ") + kPgMessageColumns +
                                        " FROM approval_messages WHERE approval_id = $1"
                                        " AND service = $2",
                                    {id, svc});
        if (!r.ok()) return Error::Unavailable("approval messages: " + r.error().message);
        Result<std::vector<core::ApprovalMessage>> rows = PgMessageRows(*r);
        if (!rows.ok()) return rows.error();
        if (rows->empty()) return std::optional<core::ApprovalMessage>();
        return std::optional<core::ApprovalMessage>(std::move(rows->front()));
      });
}

Result<std::vector<core::ApprovalMessage>> PostgresStore::ListOpenApprovalMessages(
    std::string_view service) {
  if (PgMessageHasNul(service, {})) return Error::Invalid("approval messages: a NUL byte");
  const std::string svc(service);
  return impl_->Read<std::vector<core::ApprovalMessage>>(
      [&](PgConn& c) -> Result<std::vector<core::ApprovalMessage>> {
        Result<PgResult> r = c.Exec(std::string("SELECT ") + kPgMessageColumns +
                                        " FROM approval_messages WHERE service = $1 AND final = 0"
                                        " ORDER BY updated_ms, approval_id LIMIT " +
                                        std::to_string(core::kMaxOpenApprovalMessages),
                                    {svc});
        if (!r.ok()) return Error::Unavailable("approval messages: " + r.error().message);
        return PgMessageRows(*r);
      });
}

}  // namespace interlock::store
