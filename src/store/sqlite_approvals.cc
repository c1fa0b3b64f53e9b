// Approvals in the SQLite store (see sqlite_approvals.h and store.h). All SQL of the
// approval queue lives here; every write runs on the writer thread in the batch
// transaction, together with its audit records.
#include "store/sqlite_approvals.h"

#include <sqlite3.h>

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include <boost/json.hpp>

#include "audit/audit_log.h"
#include "common/crypto.h"
#include "common/json.h"
#include "common/principal_name.h"
#include "core/approval_rules.h"
#include "core/roles.h"
#include "core/run_txn.h"
#include "store/sqlite_stmt.h"
#include "store/sqlite_store.h"

namespace interlock::store {
namespace {

namespace json = boost::json;

constexpr const char* kApprovalColumns =
    "approval_id, call_id, run_id, agent_id, principal, tool, args_sha256, required, state,"
    " created_ms, deadline_ms, hard_deadline_ms, escalation_level, decided_ms, timeout_s,"
    " auto_deny, records, reason, used_ms, used_call_id, edited_args_sha256";

Error SqlErr(sqlite3* db, std::string_view what) {
  return Error::Unavailable("store: " + std::string(what) + ": " + sqlite3_errmsg(db));
}

// Runs a statement that returns no rows.
Status Exec(Stmt& s, std::string_view what) {
  if (!s.ok()) return SqlErr(s.db(), what);
  const int rc = s.Step();
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return SqlErr(s.db(), what);
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
  if (!q.ok()) return SqlErr(db, "read approval votes");
  q.Text(1, a->approval_id);
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    a->votes.push_back(
        core::ApprovalVote{q.ColText(0), q.ColText(1), q.ColText(2), FromUnixMillis(q.ColInt(3))});
  }
  if (rc != SQLITE_DONE) return SqlErr(db, "read approval votes");
  return Status::Ok();
}

// Loads one approval with its votes; NotFound when absent.
Result<core::Approval> LoadApproval(sqlite3* db, std::string_view approval_id) {
  Stmt q(db, std::string("SELECT ") + kApprovalColumns + " FROM approvals WHERE approval_id = ?");
  if (!q.ok()) return SqlErr(db, "read approval");
  q.Text(1, approval_id);
  const int rc = q.Step();
  if (rc == SQLITE_DONE) return Error::NotFound("no approval " + std::string(approval_id));
  if (rc != SQLITE_ROW) return SqlErr(db, "read approval");
  core::Approval a = ApprovalFromRow(q);
  if (Status s = LoadVotes(db, &a); !s.ok()) return s.error();
  return a;
}

// Rewrites the settled call's decision (the one GET /v1/calls/{id} answers with).
// `arguments`: a reviewer's edit, which the agent runs the tool with (Decision::arguments).
Status SetCallDecision(sqlite3* db, const std::string& call_id, Verdict verdict, Code code,
                       const std::string& reason, const std::string& rule,
                       const json::object* arguments = nullptr) {
  std::string decision;
  {
    Stmt q(db, "SELECT decision_json FROM calls WHERE call_id = ?");
    if (!q.ok()) return SqlErr(db, "read call");
    q.Text(1, call_id);
    const int rc = q.Step();
    if (rc == SQLITE_DONE) return Error::NotFound("no call " + call_id);
    if (rc != SQLITE_ROW) return SqlErr(db, "read call");
    Result<std::string> d =
        core::SettleDecisionJson(q.ColText(0), verdict, code, reason, rule, arguments);
    if (!d.ok()) return d.error();
    decision = std::move(d).value();
  }
  Stmt u(db, "UPDATE calls SET decision_json = ?, verdict = ?, code = ? WHERE call_id = ?");
  if (!u.ok()) return SqlErr(db, "update call decision");
  u.Text(1, decision).Text(2, VerdictName(verdict)).Text(3, CodeName(code));
  u.Text(4, call_id);
  return Exec(u, "update call decision");
}

Status SetState(sqlite3* db, const core::Approval& a, core::ApprovalState state, TimePoint now,
                const std::string& reason) {
  Stmt u(db,
         "UPDATE approvals SET state = ?, decided_ms = ?, reason = ? WHERE approval_id = ?"
         " AND state = 'pending'");
  if (!u.ok()) return SqlErr(db, "update approval");
  u.Text(1, core::ApprovalStateName(state)).Int(2, ToUnixMillis(now)).Text(3, reason);
  u.Text(4, a.approval_id);
  if (Status s = Exec(u, "update approval"); !s.ok()) return s;
  if (sqlite3_changes(db) != 1) {
    return Error{ErrorKind::kAlreadyExists, "approval " + a.approval_id + " is already decided"};
  }
  return Status::Ok();
}

core::ApprovalRef Ref(const core::Approval& a) {
  return core::ApprovalRef{a.approval_id, a.call_id, a.run_id, a.agent_id, a.tool};
}

// Settles `a` as a deny: state, the call's decision and the audit event.
Status SettleDeny(sqlite3* db, core::Approval* a, core::ApprovalState state, Code code,
                  const std::string& reason, std::string_view event, TimePoint now,
                  std::string_view reviewer, std::string_view comment,
                  std::vector<audit::AuditEvent>* events) {
  if (Status s = SetState(db, *a, state, now, reason); !s.ok()) return s;
  if (Status s = SetCallDecision(db, a->call_id, Verdict::kDeny, code, reason, "approval");
      !s.ok()) {
    return s;
  }
  a->state = state;
  a->decided = now;
  a->outcome_reason = reason;
  events->push_back(core::SettledEvent(Ref(*a), event, code, reason, now, reviewer, comment));
  return Status::Ok();
}

// Pending approvals whose run is in the kill switch's scope.
Result<std::vector<core::Approval>> PendingInScope(sqlite3* db, std::string_view scope,
                                                   std::string_view target) {
  std::string sql =
      std::string("SELECT ") + kApprovalColumns + " FROM approvals WHERE state = 'pending'";
  if (scope == "agent") sql += " AND agent_id = ?";
  if (scope == "run") sql += " AND run_id = ?";
  sql += " ORDER BY created_ms";
  Stmt q(db, sql);
  if (!q.ok()) return SqlErr(db, "read pending approvals");
  if (scope == "agent" || scope == "run") q.Text(1, target);
  std::vector<core::Approval> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) out.push_back(ApprovalFromRow(q));
  if (rc != SQLITE_DONE) return SqlErr(db, "read pending approvals");
  return out;
}

// The votes of `a` as the core's rules read them (views into a.votes).
std::vector<core::VoteRow> VoteRows(const core::Approval& a) {
  std::vector<core::VoteRow> out;
  out.reserve(a.votes.size());
  for (const core::ApprovalVote& v : a.votes) out.push_back(core::VoteRow{v.reviewer, v.verdict});
  return out;
}

Status CancelForKill(sqlite3* db, std::string_view scope, std::string_view target,
                     std::string_view kill_reason, std::string_view actor, TimePoint now,
                     std::vector<audit::AuditEvent>* events,
                     std::vector<core::ApprovalChange>* out) {
  Result<std::vector<core::Approval>> pending = PendingInScope(db, scope, target);
  if (!pending.ok()) return pending.error();
  for (core::Approval& a : *pending) {
    const std::string reason = core::KillCancelReason(scope, kill_reason);
    Status s = SettleDeny(db, &a, core::ApprovalState::kCancelled, Code::kApprovalDenied, reason,
                          "cancelled", now, actor, "", events);
    if (!s.ok()) return s;
    if (out != nullptr)
      out->push_back(core::ApprovalChange{core::ApprovalChange::Kind::kCancelled, a});
  }
  return Status::Ok();
}

}  // namespace

// --- hooks (sqlite_approvals.h) ---------------------------------------------------------

namespace internal {

Result<Resubmission> ApprovalResubmission(sqlite3* db, const core::DecideRequest& rq) {
  const std::string& id = rq.call.approval_id;
  Resubmission out;
  if (id.empty()) return out;
  Result<core::Approval> a = LoadApproval(db, id);
  if (!a.ok()) {
    if (a.error().kind != ErrorKind::kNotFound) return a.error();
    out.refusal = "approval " + id + " cannot be used: no such approval";
    return out;
  }
  // An approval of edited arguments is redeemed with those, never with the original.
  out.refusal = core::RedemptionRefusal(
      id, a->agent_id, a->run_id, a->tool,
      a->edited_args_sha256.empty() ? a->args_sha256 : a->edited_args_sha256, rq);
  if (out.refusal.empty()) out.original_call_id = a->call_id;
  return out;
}

Result<std::string> ApprovalPendingTwin(sqlite3* db, const core::DecideRequest& rq) {
  Stmt q(db,
         "SELECT call_id, principal FROM approvals WHERE state = 'pending' AND run_id = ?"
         " AND agent_id = ? AND tool = ? AND args_sha256 = ? ORDER BY created_ms, approval_id");
  if (!q.ok()) return SqlErr(db, "read pending approvals");
  q.Text(1, rq.run_id).Text(2, rq.agent_id).Text(3, rq.call.tool);
  q.Text(4, core::ArgsSha256(rq));
  const std::string me = PrincipalKey(rq.principal);
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    if (PrincipalKey(q.ColText(1)) == me) return q.ColText(0);
  }
  if (rc != SQLITE_DONE) return SqlErr(db, "read pending approvals");
  return std::string();
}

Status ApprovalRelease(sqlite3* db, const std::string& call_id, const ReleaseContext& ctx,
                       std::vector<audit::AuditEvent>* events, bool* released_now) {
  core::Approval a;
  {
    Stmt q(db, std::string("SELECT ") + kApprovalColumns + " FROM approvals WHERE call_id = ?");
    if (!q.ok()) return SqlErr(db, "read approval");
    q.Text(1, call_id);
    const int rc = q.Step();
    if (rc == SQLITE_DONE) return Status::Ok();  // not a call that waited for approval
    if (rc != SQLITE_ROW) return SqlErr(db, "read approval");
    a = ApprovalFromRow(q);
  }
  if (a.state != core::ApprovalState::kGranted || a.used) return Status::Ok();
  const core::ReleaseOutcome release = core::DecideRelease(ctx);
  const Code code = release.code;
  const std::string& reason = release.reason;
  const std::string& rule = release.rule;
  if (code == Code::kAllowed) {
    Stmt u(db,
           "UPDATE approvals SET used_ms = ?, used_call_id = ? WHERE approval_id = ?"
           " AND state = 'granted' AND used_ms IS NULL");
    if (!u.ok()) return SqlErr(db, "release approval");
    u.Int(1, ToUnixMillis(ctx.now)).Text(2, call_id).Text(3, a.approval_id);
    if (Status s = Exec(u, "release approval"); !s.ok()) return s;
    events->push_back(core::ReleasedEvent(Ref(a), ctx.now));
    if (released_now != nullptr) *released_now = true;
    return Status::Ok();
  }
  // Granted but never delivered: the call does not run. The grant stays on record (votes,
  // decided_ms); the approval ends cancelled with the reason.
  Stmt u(db,
         "UPDATE approvals SET state = 'cancelled', reason = ? WHERE approval_id = ?"
         " AND state = 'granted' AND used_ms IS NULL");
  if (!u.ok()) return SqlErr(db, "cancel approval");
  u.Text(1, reason).Text(2, a.approval_id);
  if (Status s = Exec(u, "cancel approval"); !s.ok()) return s;
  if (Status s = SetCallDecision(db, call_id, Verdict::kDeny, code, reason, rule); !s.ok()) {
    return s;
  }
  events->push_back(core::CancelledAfterGrantEvent(Ref(a), release, ctx.now));
  return Status::Ok();
}

Status ApprovalAfterDecide(sqlite3* db, const StoreOptions& options, const core::DecideRequest& rq,
                           const std::string& call_id, const engine::Evaluation& ev,
                           std::vector<audit::AuditEvent>* events) {
  std::optional<core::NewApproval> created = core::ApprovalForDecision(
      rq, call_id, ev, options.approval_default_timeout_seconds, options.approval_max_wait_seconds);
  if (!created) return Status::Ok();
  const core::Approval& a = created->approval;
  const core::ApprovalPlan& plan = created->plan;
  const int64_t now_ms = ToUnixMillis(a.created);
  const int64_t deadline = ToUnixMillis(a.deadline);
  const int64_t hard = ToUnixMillis(a.hard_deadline);
  Stmt q(db,
         "INSERT INTO approvals(approval_id, call_id, run_id, agent_id, principal, tool,"
         " args_sha256, required, state, created_ms, deadline_ms, hard_deadline_ms, timeout_s,"
         " auto_deny, records) VALUES (?,?,?,?,?,?,?,?,'pending',?,?,?,?,?,?)");
  if (!q.ok()) return SqlErr(db, "create approval");
  q.Text(1, a.approval_id).Text(2, a.call_id).Text(3, a.run_id).Text(4, a.agent_id);
  q.Text(5, a.principal).Text(6, a.tool).Text(7, a.args_sha256).Int(8, a.required);
  q.Int(9, now_ms).Int(10, deadline).Int(11, hard).Int(12, a.timeout_seconds);
  q.Int(13, a.auto_deny_on_timeout ? 1 : 0).Int(14, static_cast<int64_t>(a.records));
  if (Status s = Exec(q, "create approval"); !s.ok()) return s;
  events->push_back(
      core::RequestedEvent(Ref(a), plan, a.auto_deny_on_timeout, a.args_sha256, rq.now));
  return Status::Ok();
}

Status ApprovalOnKill(sqlite3* db, const core::KillEntry& entry,
                      std::vector<audit::AuditEvent>* events) {
  if (!entry.engaged) return Status::Ok();
  return CancelForKill(db, entry.scope, entry.target, entry.reason, entry.actor, entry.at, events,
                       nullptr);
}

}  // namespace internal

// --- SqliteStore methods ----------------------------------------------------------------

Result<std::vector<core::Approval>> SqliteStore::ListApprovals(const core::ApprovalFilter& filter) {
  std::vector<core::Approval> out;
  Status s = RunOnWriter([&](sqlite3* db, std::vector<audit::AuditEvent>*) -> Status {
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
    if (!q.ok()) return SqlErr(db, "list approvals");
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
    if (rc != SQLITE_DONE) return SqlErr(db, "list approvals");
    for (core::Approval& a : out) {
      if (!filter.with_votes) break;
      if (Status vs = LoadVotes(db, &a); !vs.ok()) return vs;
    }
    return Status::Ok();
  });
  if (!s.ok()) return s.error();
  return out;
}

Result<core::Approval> SqliteStore::GetApproval(std::string_view approval_id) {
  std::optional<Result<core::Approval>> out;
  Status s = RunOnWriter([&](sqlite3* db, std::vector<audit::AuditEvent>*) -> Status {
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
  if (!q.ok()) return SqlErr(db, "read run");
  q.Text(1, run_id);
  const int rc = q.Step();
  if (rc == SQLITE_DONE) return Error::NotFound("no run " + std::string(run_id));
  if (rc != SQLITE_ROW) return SqlErr(db, "read run");
  RunState state;
  if (Status s = core::ParseSequenceStoreJson(q.ColText(0), &state); !s.ok()) return s.error();
  if (agent_id != nullptr) *agent_id = q.ColText(1);
  return state;
}

Status SaveSequence(sqlite3* db, std::string_view run_id, const RunState& state) {
  Stmt u(db, "UPDATE runs SET sequence_json = ? WHERE run_id = ?");
  if (!u.ok()) return SqlErr(db, "update run");
  u.Text(1, core::SequenceStoreJson(state)).Text(2, run_id);
  return Exec(u, "update run");
}

Status AddRunGrant(sqlite3* db, std::string_view run_id, std::string_view tool,
                   const RunState::RunGrant& grant) {
  Result<RunState> state = LoadSequence(db, run_id, nullptr);
  if (!state.ok()) return state.error();
  state->grants.insert_or_assign(std::string(tool), grant);
  return SaveSequence(db, run_id, *state);
}

}  // namespace

Status SqliteStore::RevokeRunGrant(std::string_view run_id, std::string_view tool,
                                   const core::Principal& actor, std::string_view reason,
                                   TimePoint now) {
  if (Status rs = core::CheckMayVote(actor.role); !rs.ok()) return rs;
  return RunOnWriter([&](sqlite3* db, std::vector<audit::AuditEvent>* events) -> Status {
    std::string agent_id;
    Result<RunState> state = LoadSequence(db, run_id, &agent_id);
    if (!state.ok()) return state.error();
    Result<audit::AuditEvent> ev =
        core::RevokeRunGrant(&*state, run_id, agent_id, tool, actor.name, reason, now);
    if (!ev.ok()) return ev.error();
    if (Status s = SaveSequence(db, run_id, *state); !s.ok()) return s;
    events->push_back(std::move(ev).value());
    return Status::Ok();
  });
}

Result<core::VoteOutcome> SqliteStore::Vote(const core::VoteRequest& rq) {
  if (Status rs = core::CheckMayVote(rq.reviewer.role); !rs.ok()) return rs.error();
  core::VoteOutcome out;
  const audit::Redactor& redactor = AuditRedactor();
  Status s = RunOnWriter([&](sqlite3* db, std::vector<audit::AuditEvent>* events) -> Status {
    Result<core::Approval> loaded = LoadApproval(db, rq.approval_id);
    if (!loaded.ok()) return loaded.error();
    core::Approval& a = *loaded;
    const core::ApprovalPolicyFacts facts = a.state == core::ApprovalState::kPending && rq.policy
                                                ? rq.policy(a.agent_id, a.tool)
                                                : core::ApprovalPolicyFacts{};
    core::VoteInput in{Ref(a),
                       a.state == core::ApprovalState::kPending,
                       core::ApprovalStateName(a.state),
                       a.principal,
                       facts.identity,
                       a.required,
                       a.records,
                       VoteRows(a),
                       rq.reviewer.name,
                       rq.approve,
                       rq.comment,
                       rq.now};
    in.max_records_per_run = facts.max_records_per_run;
    // The run as it is now: halted or ended, and the records it has touched.
    json::object records;
    if (in.pending) {
      Stmt q(db, "SELECT records_json, halted, ended FROM runs WHERE run_id = ?");
      if (!q.ok()) return SqlErr(db, "read run");
      q.Text(1, a.run_id);
      const int rc = q.Step();
      if (rc != SQLITE_ROW) return SqlErr(db, "read run");
      boost::system::error_code ec;
      json::value v = json::parse(q.ColText(0), ec);
      if (ec || !v.is_object()) return Error::Corrupt("store: runs.records_json is bad");
      records = std::move(v.get_object());
      in.run_halted_or_ended = q.ColInt(1) != 0 || q.ColInt(2) != 0;
      if (const json::value* u = records.if_contains(a.tool); u != nullptr) {
        if (u->is_uint64()) in.run_records_used = u->get_uint64();
        if (u->is_int64()) {
          in.run_records_used = static_cast<uint64_t>(std::max<int64_t>(0, u->get_int64()));
        }
      }
    }
    // A reviewer's edit (core::EvaluateEdit judged it): PlanVote refuses it for a deny or
    // an approval needing two people, and a grant consumes the edited call's records.
    if (rq.edit) {
      in.edit = &*rq.edit;
      in.original_args_sha256 = a.args_sha256;
      in.redactor = &redactor;
    }
    in.for_run = rq.for_run;
    in.for_run_refusal = facts.run_grant_refusal;
    // The rules (core/approval_rules.h): who may vote, the two-person rule, the re-check.
    Result<core::VotePlan> plan = core::PlanVote(in);
    if (!plan.ok()) return plan.error();
    const char* verdict = rq.approve ? "approve" : "deny";
    {
      Stmt q(db,
             "INSERT INTO approval_votes(approval_id, reviewer, verdict, comment, time_ms)"
             " VALUES (?,?,?,?,?)");
      if (!q.ok()) return SqlErr(db, "record vote");
      q.Text(1, a.approval_id).Text(2, rq.reviewer.name).Text(3, verdict).Text(4, rq.comment);
      q.Int(5, ToUnixMillis(rq.now));
      if (Status es = Exec(q, "record vote"); !es.ok()) return es;
    }
    a.votes.push_back(core::ApprovalVote{rq.reviewer.name, verdict, rq.comment, rq.now});
    if (plan->kind == core::VotePlan::Kind::kVoted) {
      events->push_back(std::move(plan->event));
      out.approval = a;
      return Status::Ok();
    }
    out.settled = true;
    const bool granted = plan->kind == core::VotePlan::Kind::kGranted;
    if (granted && plan->edit != nullptr) {
      a.records = plan->edit->records;
      a.edited_args_sha256 = plan->edit->args_sha256;
      Stmt u(db, "UPDATE approvals SET records = ?, edited_args_sha256 = ? WHERE approval_id = ?");
      if (!u.ok()) return SqlErr(db, "record edited arguments");
      u.Int(1, static_cast<int64_t>(a.records)).Text(2, a.edited_args_sha256);
      u.Text(3, a.approval_id);
      if (Status es = Exec(u, "record edited arguments"); !es.ok()) return es;
    }
    if (granted && plan->run_grant) {
      // For the rest of the run: the grant joins the run's state (core::CoverByRunGrant).
      if (Status gs = AddRunGrant(db, a.run_id, a.tool, *plan->run_grant); !gs.ok()) return gs;
    }
    if (granted && plan->run_records_after) {
      records[a.tool] = *plan->run_records_after;
      Stmt u(db, "UPDATE runs SET records_json = ? WHERE run_id = ?");
      if (!u.ok()) return SqlErr(db, "update run records");
      u.Text(1, json::serialize(records)).Text(2, a.run_id);
      if (Status es = Exec(u, "update run records"); !es.ok()) return es;
    }
    const core::ApprovalState state =
        granted ? core::ApprovalState::kGranted : core::ApprovalState::kDenied;
    if (Status es = SetState(db, a, state, rq.now, plan->reason); !es.ok()) return es;
    if (Status es = SetCallDecision(db, a.call_id, granted ? Verdict::kAllow : Verdict::kDeny,
                                    plan->code, plan->reason, "approval",
                                    granted && plan->edit != nullptr ? &plan->edit->args : nullptr);
        !es.ok()) {
      return es;
    }
    a.state = state;
    a.decided = rq.now;
    a.outcome_reason = plan->reason;
    events->push_back(std::move(plan->event));
    out.approval = a;
    return Status::Ok();
  });
  if (!s.ok()) return s.error();
  return out;
}

Result<core::Approval> SqliteStore::WithdrawApproval(std::string_view approval_id,
                                                     std::string_view agent_id,
                                                     std::string_view principal,
                                                     std::string_view reason, TimePoint now) {
  core::Approval out;
  std::optional<Error> refused;  // by another identity: recorded, then answered
  Status s = RunOnWriter([&](sqlite3* db, std::vector<audit::AuditEvent>* events) -> Status {
    refused.reset();
    Result<core::Approval> loaded = LoadApproval(db, approval_id);
    if (!loaded.ok()) return loaded.error();
    core::Approval& a = *loaded;
    if (Status ws = core::CheckWithdraw(a.approval_id, a.agent_id, a.principal, agent_id, principal,
                                        a.state == core::ApprovalState::kPending,
                                        core::ApprovalStateName(a.state));
        !ws.ok()) {
      if (auto rec = core::RefusedWithdrawRecord(Ref(a), a.principal, agent_id, principal, now)) {
        events->push_back(std::move(*rec));  // committed with this (otherwise empty) write
        refused = ws.error();
        return Status::Ok();
      }
      return ws;
    }
    const std::string why = core::WithdrawnReason(a.approval_id, a.agent_id, reason);
    if (Status ds = SetState(db, a, core::ApprovalState::kWithdrawn, now, why); !ds.ok()) return ds;
    if (Status ds =
            SetCallDecision(db, a.call_id, Verdict::kDeny, Code::kApprovalDenied, why, "approval");
        !ds.ok()) {
      return ds;
    }
    a.state = core::ApprovalState::kWithdrawn;
    a.decided = now;
    a.outcome_reason = why;
    events->push_back(core::WithdrawnEvent(Ref(a), reason, why, now));
    out = a;
    return Status::Ok();
  });
  if (!s.ok()) return s.error();
  if (refused) return *refused;
  return out;
}

Result<std::vector<core::ApprovalChange>> SqliteStore::ExpireApprovals(TimePoint now) {
  std::vector<core::ApprovalChange> out;
  Status s = RunOnWriter([&](sqlite3* db, std::vector<audit::AuditEvent>* events) -> Status {
    out.clear();
    // Kill switches engaged by another process (`interlock kill engage --store`).
    std::vector<std::pair<std::string, std::string>> kills;
    std::map<std::pair<std::string, std::string>, std::pair<std::string, std::string>> why;
    {
      Stmt q(db, "SELECT scope, target, reason, actor FROM kill_switches WHERE engaged = 1");
      if (!q.ok()) return SqlErr(db, "read kill switches");
      int rc;
      while ((rc = q.Step()) == SQLITE_ROW) {
        kills.emplace_back(q.ColText(0), q.ColText(1));
        why[kills.back()] = {q.ColText(2), q.ColText(3)};
      }
      if (rc != SQLITE_DONE) return SqlErr(db, "read kill switches");
    }
    for (const auto& k : kills) {
      Status ks =
          CancelForKill(db, k.first, k.second, why[k].first, why[k].second, now, events, &out);
      if (!ks.ok()) return ks;
    }
    std::vector<core::Approval> due;
    {
      Stmt q(db, std::string("SELECT ") + kApprovalColumns +
                     " FROM approvals WHERE state = 'pending' AND deadline_ms <= ?"
                     " ORDER BY deadline_ms LIMIT 500");
      if (!q.ok()) return SqlErr(db, "read due approvals");
      q.Int(1, ToUnixMillis(now));
      int rc;
      while ((rc = q.Step()) == SQLITE_ROW) due.push_back(ApprovalFromRow(q));
      if (rc != SQLITE_DONE) return SqlErr(db, "read due approvals");
    }
    for (core::Approval& a : due) {
      // Time out or escalate (core/approval_rules.h).
      const core::DeadlineOutcome next =
          core::OnDeadline(a.auto_deny_on_timeout, a.timeout_seconds, a.escalation_level,
                           a.deadline, a.hard_deadline, now);
      if (next.time_out) {
        Status ts = SettleDeny(db, &a, core::ApprovalState::kTimedOut, Code::kApprovalTimeout,
                               next.reason, "timed_out", now, "", "", events);
        if (!ts.ok()) return ts;
        out.push_back(core::ApprovalChange{core::ApprovalChange::Kind::kTimedOut, a});
        continue;
      }
      const int64_t next_ms = ToUnixMillis(next.next_deadline);
      Stmt u(db,
             "UPDATE approvals SET escalation_level = escalation_level + 1, deadline_ms = ?"
             " WHERE approval_id = ? AND state = 'pending'");
      if (!u.ok()) return SqlErr(db, "escalate approval");
      u.Int(1, next_ms).Text(2, a.approval_id);
      if (Status es = Exec(u, "escalate approval"); !es.ok()) return es;
      a.escalation_level += 1;
      a.deadline = next.next_deadline;
      events->push_back(core::EscalatedEvent(Ref(a), a.escalation_level, a.deadline, now));
      out.push_back(core::ApprovalChange{core::ApprovalChange::Kind::kEscalated, a});
    }
    return Status::Ok();
  });
  if (!s.ok()) return s.error();
  return out;
}

Result<std::vector<core::CallSummary>> SqliteStore::ListRunCalls(std::string_view run_id,
                                                                 size_t limit) {
  std::vector<core::CallSummary> out;
  Status s = RunOnWriter([&](sqlite3* db, std::vector<audit::AuditEvent>*) -> Status {
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
    if (!q.ok()) return SqlErr(db, "list run calls");
    q.Text(1, run_id).Int(2, static_cast<int64_t>(std::clamp<size_t>(limit, 1, 1000)));
    int rc;
    while ((rc = q.Step()) == SQLITE_ROW) {
      core::CallSummary c;
      c.call_id = q.ColText(0);
      c.at = FromUnixMillis(q.ColInt(1));
      c.tool = q.ColText(2);
      c.verdict = q.ColText(3);
      c.code = q.ColText(4);
      boost::system::error_code ec;
      json::value d = json::parse(q.ColText(5), ec);
      if (!ec && d.is_object()) {
        if (const json::value* r = d.get_object().if_contains("reason"); r && r->is_string()) {
          c.reason = std::string(r->get_string());
        }
      }
      out.push_back(std::move(c));
    }
    if (rc != SQLITE_DONE) return SqlErr(db, "list run calls");
    std::reverse(out.begin(), out.end());
    return Status::Ok();
  });
  if (!s.ok()) return s.error();
  return out;
}

}  // namespace interlock::store
