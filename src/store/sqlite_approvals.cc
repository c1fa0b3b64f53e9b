// Approvals in the SQLite store (see sqlite_approvals.h and store.h). All SQL of the
// approval queue lives here; every write runs on the writer thread in the batch
// transaction, together with its audit records. The operations are core/approval_txn.h.
#include "store/sqlite_approvals.h"

#include <sqlite3.h>

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include <boost/json.hpp>

#include "common/crypto.h"
#include "common/json.h"
#include "common/principal_name.h"
#include "common/status_macros.h"
#include "core/approval_rules.h"
#include "core/roles.h"
#include "core/run_txn.h"
#include "store/row_codec.h"
#include "store/sqlite_audit_log.h"
#include "store/sqlite_stmt.h"
#include "store/sqlite_store.h"

namespace interlock::store {
namespace {

namespace json = boost::json;

constexpr const char* kApprovalColumns =
    "approval_id, call_id, run_id, agent_id, principal, tool, args_sha256, required, state,"
    " created_ms, deadline_ms, hard_deadline_ms, escalation_level, decided_ms, timeout_s,"
    " auto_deny, records, reason, used_ms, used_call_id, edited_args_sha256";

// Runs a statement that returns no rows.
Status Exec(Stmt& s, std::string_view what) {
  if (!s.ok()) return SqlError(s.db(), what);
  const int rc = s.Step();
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return SqlError(s.db(), what);
  return Status::Ok();
}

core::Approval ApprovalFromRow(const Stmt& q) {
  core::Approval a;
  a.approval_id = q.ColText(0);
  a.call_id = q.ColText(1);
  a.run_id = q.ColText(2);
  a.agent_id = q.ColText(3);
  a.principal = q.ColText(4);
  a.tool = q.ColText(5);
  a.args_sha256 = q.ColText(6);
  a.required = static_cast<int>(q.ColInt(7));
  a.state = core::ParseApprovalState(q.ColText(8)).value_or(core::ApprovalState::kDenied);
  a.created = FromUnixMillis(q.ColInt(9));
  a.deadline = FromUnixMillis(q.ColInt(10));
  a.hard_deadline = FromUnixMillis(q.ColInt(11));
  a.escalation_level = static_cast<int>(q.ColInt(12));
  if (!q.ColNull(13)) a.decided = FromUnixMillis(q.ColInt(13));
  a.timeout_seconds = static_cast<int>(q.ColInt(14));
  a.auto_deny_on_timeout = q.ColInt(15) != 0;
  a.records = static_cast<uint64_t>(std::max<int64_t>(0, q.ColInt(16)));
  a.outcome_reason = q.ColText(17);
  if (!q.ColNull(18)) a.used = FromUnixMillis(q.ColInt(18));
  a.used_call_id = q.ColText(19);
  a.edited_args_sha256 = q.ColText(20);
  return a;
}

Status LoadVotes(sqlite3* db, core::Approval* a) {
  Stmt q(db,
         "SELECT reviewer, verdict, comment, time_ms FROM approval_votes WHERE approval_id = ?"
         " ORDER BY time_ms, reviewer");
  if (!q.ok()) return SqlError(db, "read approval votes");
  q.Text(1, a->approval_id);
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    a->votes.push_back(
        core::ApprovalVote{q.ColText(0), q.ColText(1), q.ColText(2), FromUnixMillis(q.ColInt(3))});
  }
  if (rc != SQLITE_DONE) return SqlError(db, "read approval votes");
  return Status::Ok();
}

// Loads one approval with its votes; NotFound when absent.
Result<core::Approval> LoadApproval(sqlite3* db, std::string_view approval_id) {
  Stmt q(db, std::string("SELECT ") + kApprovalColumns + " FROM approvals WHERE approval_id = ?");
  if (!q.ok()) return SqlError(db, "read approval");
  if (Status st = q.StepToRow(db, "approval", approval_id); !st.ok()) return st.error();
  core::Approval a = ApprovalFromRow(q);
  if (Status s = LoadVotes(db, &a); !s.ok()) return s.error();
  return a;
}

}  // namespace

// --- rows (sqlite_approvals.h) -----------------------------------------------------------

namespace internal {

Result<std::optional<core::Approval>> SqliteApprovalRows::Load(std::string_view approval_id) {
  Result<core::Approval> a = LoadApproval(db_, approval_id);
  if (!a.ok()) {
    if (a.error().kind == ErrorKind::kNotFound) return std::optional<core::Approval>();
    return a.error();
  }
  return std::optional<core::Approval>(std::move(a).value());
}

Result<std::vector<core::Approval>> SqliteApprovalRows::Pending(const core::PendingQuery& pq) {
  using Kind = core::PendingQuery::Kind;
  std::string sql =
      std::string("SELECT ") + kApprovalColumns + " FROM approvals WHERE state = 'pending'";
  switch (pq.kind) {
    case Kind::kAll:
      break;
    case Kind::kAgent:
      sql += " AND agent_id = ?1";
      break;
    case Kind::kRun:
      sql += " AND run_id = ?2";
      break;
    case Kind::kTwin:
      sql += " AND run_id = ?2 AND agent_id = ?1 AND tool = ?3 AND args_sha256 = ?4";
      break;
    case Kind::kDue:
      sql += " AND deadline_ms <= ?5 ORDER BY deadline_ms LIMIT " +
             std::to_string(core::PendingQuery::kMaxDue);
      break;
  }
  if (pq.kind != Kind::kDue) sql += " ORDER BY created_ms, approval_id";
  Stmt q(db_, sql);
  if (!q.ok()) return SqlError(db_, "read pending approvals");
  if (pq.kind == Kind::kAgent || pq.kind == Kind::kTwin) q.Text(1, pq.agent_id);
  if (pq.kind == Kind::kRun || pq.kind == Kind::kTwin) q.Text(2, pq.run_id);
  if (pq.kind == Kind::kTwin) q.Text(3, pq.tool).Text(4, pq.args_sha256);
  if (pq.kind == Kind::kDue) q.Int(5, ToUnixMillis(pq.due));
  std::vector<core::Approval> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) out.push_back(ApprovalFromRow(q));
  if (rc != SQLITE_DONE) return SqlError(db_, "read pending approvals");
  return out;
}

Result<std::vector<core::Approval>> SqliteApprovalRows::DecidedTwins(const core::PendingQuery& pq,
                                                                     TimePoint decided_since) {
  // Through approvals_decided: the recently decided approvals, then the twin's columns.
  Stmt q(db_, std::string("SELECT ") + kApprovalColumns +
                  " FROM approvals WHERE decided_ms >= ?5 AND state <> 'pending' AND run_id = ?2"
                  " AND agent_id = ?1 AND tool = ?3 AND args_sha256 = ?4"
                  " ORDER BY created_ms, approval_id");
  if (!q.ok()) return SqlError(db_, "read decided approvals");
  q.Text(1, pq.agent_id).Text(2, pq.run_id).Text(3, pq.tool).Text(4, pq.args_sha256);
  q.Int(5, ToUnixMillis(decided_since));
  std::vector<core::Approval> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) out.push_back(ApprovalFromRow(q));
  if (rc != SQLITE_DONE) return SqlError(db_, "read decided approvals");
  return out;
}

Status SqliteApprovalRows::Insert(const core::Approval& a) {
  Stmt q(db_,
         "INSERT INTO approvals(approval_id, call_id, run_id, agent_id, principal, tool,"
         " args_sha256, required, state, created_ms, deadline_ms, hard_deadline_ms, timeout_s,"
         " auto_deny, records) VALUES (?,?,?,?,?,?,?,?,'pending',?,?,?,?,?,?)");
  if (!q.ok()) return SqlError(db_, "create approval");
  q.Text(1, a.approval_id).Text(2, a.call_id).Text(3, a.run_id).Text(4, a.agent_id);
  q.Text(5, a.principal).Text(6, a.tool).Text(7, a.args_sha256).Int(8, a.required);
  q.Int(9, ToUnixMillis(a.created)).Int(10, ToUnixMillis(a.deadline));
  q.Int(11, ToUnixMillis(a.hard_deadline)).Int(12, a.timeout_seconds);
  q.Int(13, a.auto_deny_on_timeout ? 1 : 0).Int(14, static_cast<int64_t>(a.records));
  return Exec(q, "create approval");
}

Status SqliteApprovalRows::InsertVote(std::string_view approval_id, const core::ApprovalVote& v) {
  Stmt q(db_,
         "INSERT INTO approval_votes(approval_id, reviewer, verdict, comment, time_ms)"
         " VALUES (?,?,?,?,?)");
  if (!q.ok()) return SqlError(db_, "record vote");
  q.Text(1, approval_id).Text(2, v.reviewer).Text(3, v.verdict).Text(4, v.comment);
  q.Int(5, ToUnixMillis(v.at));
  return Exec(q, "record vote");
}

Status SqliteApprovalRows::Update(const core::Approval& before, const core::Approval& after) {
  Stmt u(db_,
         "UPDATE approvals SET state = ?, decided_ms = ?, reason = ?, escalation_level = ?,"
         " deadline_ms = ?, records = ?, edited_args_sha256 = ?, used_ms = ?, used_call_id = ?"
         " WHERE approval_id = ? AND state = ? AND escalation_level = ?"
         " AND (used_ms IS NULL) = ?");
  if (!u.ok()) return SqlError(db_, "update approval");
  u.Text(1, core::ApprovalStateName(after.state));
  if (after.decided) u.Int(2, ToUnixMillis(*after.decided));
  u.Text(3, after.outcome_reason).Int(4, after.escalation_level);
  u.Int(5, ToUnixMillis(after.deadline)).Int(6, static_cast<int64_t>(after.records));
  u.Text(7, after.edited_args_sha256);
  if (after.used) u.Int(8, ToUnixMillis(*after.used));
  u.Text(9, after.used_call_id).Text(10, before.approval_id);
  u.Text(11, core::ApprovalStateName(before.state)).Int(12, before.escalation_level);
  u.Int(13, before.used ? 0 : 1);
  INTERLOCK_RETURN_IF_ERROR(Exec(u, "update approval"));
  if (sqlite3_changes(db_) != 1) {
    return Error{ErrorKind::kAlreadyExists,
                 "approval " + before.approval_id + " is already decided"};
  }
  return Status::Ok();
}

Result<std::string> SqliteApprovalRows::LoadDecisionJson(std::string_view call_id) {
  Stmt q(db_, "SELECT decision_json FROM calls WHERE call_id = ?");
  if (!q.ok()) return SqlError(db_, "read call");
  if (Status st = q.StepToRow(db_, "call", call_id); !st.ok()) return st.error();
  return q.ColText(0);
}

Status SqliteApprovalRows::SaveDecision(std::string_view call_id, std::string_view decision_json,
                                        Verdict verdict, Code code) {
  Stmt u(db_, "UPDATE calls SET decision_json = ?, verdict = ?, code = ? WHERE call_id = ?");
  if (!u.ok()) return SqlError(db_, "update call decision");
  u.Text(1, decision_json).Text(2, VerdictName(verdict)).Text(3, CodeName(code));
  u.Text(4, call_id);
  return Exec(u, "update call decision");
}

// One kill type: core::KillEntry.
Result<std::vector<core::KillEntry>> SqliteApprovalRows::EngagedKills() {
  Stmt q(db_, "SELECT scope, target, reason, actor FROM kill_switches WHERE engaged = 1");
  if (!q.ok()) return SqlError(db_, "read kill switches");
  std::vector<core::KillEntry> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    out.push_back(
        core::KillEntry{q.ColText(0), q.ColText(1), true, q.ColText(2), q.ColText(3), {}});
  }
  if (rc != SQLITE_DONE) return SqlError(db_, "read kill switches");
  return out;
}

}  // namespace internal

// --- SqliteStore methods ----------------------------------------------------------------

Result<std::vector<core::Approval>> SqliteStore::ListApprovals(const core::ApprovalFilter& filter) {
  std::vector<core::Approval> out;
  Status s = ReadOnWriter([&](sqlite3* db, std::vector<audit::AuditEvent>*) -> Status {
    std::string sql = std::string("SELECT ") + kApprovalColumns + " FROM approvals";
    switch (filter.which) {
      case core::ApprovalFilter::Which::kPending:
        sql += " WHERE state = 'pending' AND created_ms > ? ORDER BY created_ms, approval_id";
        break;
      case core::ApprovalFilter::Which::kDecided:
        sql += " WHERE state <> 'pending' AND decided_ms >= ? ORDER BY decided_ms DESC";
        break;
      case core::ApprovalFilter::Which::kAll:
        sql += " ORDER BY created_ms DESC";
        break;
    }
    sql += " LIMIT ?";
    Stmt q(db, sql);
    if (!q.ok()) return SqlError(db, "list approvals");
    int i = 1;
    if (filter.which == core::ApprovalFilter::Which::kDecided) {
      q.Int(i++, filter.decided_since ? ToUnixMillis(*filter.decided_since) : 0);
    } else if (filter.which == core::ApprovalFilter::Which::kPending) {
      q.Int(i++, filter.created_since ? ToUnixMillis(*filter.created_since)
                                      : std::numeric_limits<int64_t>::min());
    }
    q.Int(i, static_cast<int64_t>(std::clamp<size_t>(filter.limit, 1, 1000)));
    int rc;
    while ((rc = q.Step()) == SQLITE_ROW) out.push_back(ApprovalFromRow(q));
    if (rc != SQLITE_DONE) return SqlError(db, "list approvals");
    for (core::Approval& a : out) {
      if (!filter.with_votes) break;
      INTERLOCK_RETURN_IF_ERROR(LoadVotes(db, &a));
    }
    return Status::Ok();
  });
  if (!s.ok()) return s.error();
  return out;
}

Result<core::Approval> SqliteStore::GetApproval(std::string_view approval_id) {
  std::optional<Result<core::Approval>> out;
  Status s = ReadOnWriter([&](sqlite3* db, std::vector<audit::AuditEvent>*) -> Status {
    out.emplace(LoadApproval(db, approval_id));
    return Status::Ok();
  });
  if (!s.ok()) return s.error();
  return std::move(*out);
}

namespace {

// The run's sequence state (runs.sequence_json) as the core reads it.
Result<RunState> LoadSequence(sqlite3* db, std::string_view run_id, std::string* agent_id) {
  Stmt q(db, "SELECT sequence_json, agent_id FROM runs WHERE run_id = ?");
  if (!q.ok()) return SqlError(db, "read run");
  if (Status st = q.StepToRow(db, "run", run_id); !st.ok()) return st.error();
  RunState state;
  if (Status s = core::ParseSequenceStoreJson(q.ColText(0), &state); !s.ok()) return s.error();
  if (agent_id != nullptr) *agent_id = q.ColText(1);
  return state;
}

Status SaveSequence(sqlite3* db, std::string_view run_id, const RunState& state) {
  Stmt u(db, "UPDATE runs SET sequence_json = ? WHERE run_id = ?");
  if (!u.ok()) return SqlError(db, "update run");
  u.Text(1, core::SequenceStoreJson(state)).Text(2, run_id);
  return Exec(u, "update run");
}

}  // namespace

Status SqliteStore::RevokeRunGrant(std::string_view run_id, std::string_view tool,
                                   const core::Principal& actor, std::string_view reason,
                                   TimePoint now) {
  INTERLOCK_RETURN_IF_ERROR(core::CheckMayVote(actor.role));
  return RunOnWriter([&](sqlite3* db, std::vector<audit::AuditEvent>* events) -> Status {
    std::string agent_id;
    Result<RunState> state = LoadSequence(db, run_id, &agent_id);
    if (!state.ok()) return state.error();
    Result<audit::AuditEvent> ev =
        core::RevokeRunGrant(&*state, run_id, agent_id, tool, actor.name, reason, now);
    if (!ev.ok()) return ev.error();
    INTERLOCK_RETURN_IF_ERROR(SaveSequence(db, run_id, *state));
    events->push_back(std::move(ev).value());
    return Status::Ok();
  });
}

Result<std::vector<core::CallSummary>> SqliteStore::ListRunCalls(std::string_view run_id,
                                                                 size_t limit) {
  std::vector<core::CallSummary> out;
  Status s = ReadOnWriter([&](sqlite3* db, std::vector<audit::AuditEvent>*) -> Status {
    // Through the run's audit records (audit_log.h, "Records of a run"): every call has
    // exactly one decision record, written in the same transaction (calls has no run
    // index: see migration 3).
    static const std::string kSql =
        audit::RunRecordsCte(1) +
        "SELECT c.call_id, c.time_ms, c.tool, c.verdict, c.code, c.decision_json"
        " FROM run_records r JOIN audit_log a ON a.seq = r.seq"
        " JOIN calls c ON c.call_id = a.call_id"
        " WHERE a.run_id = ?1 AND a.type = 'decision' ORDER BY a.seq DESC LIMIT ?2";
    Stmt q(db, kSql);
    if (!q.ok()) return SqlError(db, "list run calls");
    q.Text(1, run_id).Int(2, static_cast<int64_t>(std::clamp<size_t>(limit, 1, 1000)));
    int rc;
    while ((rc = q.Step()) == SQLITE_ROW) {
      core::CallSummary c;
      c.call_id = q.ColText(0);
      c.at = FromUnixMillis(q.ColInt(1));
      c.tool = q.ColText(2);
      c.verdict = q.ColText(3);
      c.code = q.ColText(4);
      c.reason = internal::DecisionReason(q.ColText(5));
      out.push_back(std::move(c));
    }
    if (rc != SQLITE_DONE) return SqlError(db, "list run calls");
    std::reverse(out.begin(), out.end());
    return Status::Ok();
  });
  if (!s.ok()) return s.error();
  return out;
}

}  // namespace interlock::store
