// Approvals in the PostgreSQL store (see postgres_approvals.h): rows only; the operations
// are core/approval_txn.h.
#include "store/postgres_approvals.h"

#include <algorithm>
#include <limits>
#include <tuple>
#include <utility>

#include <boost/json.hpp>

#include "audit/canonical.h"
#include "common/decision_json.h"
#include "common/json.h"
#include "common/principal_name.h"
#include "core/approval_rules.h"
#include "store/postgres_read.h"
#include "store/row_codec.h"

namespace interlock::store::internal {
namespace {

namespace json = boost::json;
using pg::PgConn;
using pg::PgResult;

constexpr const char* kApprovalColumns =
    "approval_id, call_id, run_id, agent_id, principal, tool, args_sha256, required, state,"
    " created_ms, deadline_ms, hard_deadline_ms, escalation_level, decided_ms, timeout_s,"
    " auto_deny, records, reason, used_ms, used_call_id, edited_args_sha256";

std::string Num(int64_t v) { return std::to_string(v); }

core::Approval ApprovalFromRow(const PgResult& r, int i) {
  core::Approval a;
  a.approval_id = std::string(r.Text(i, 0));
  a.call_id = std::string(r.Text(i, 1));
  a.run_id = std::string(r.Text(i, 2));
  a.agent_id = std::string(r.Text(i, 3));
  a.principal = std::string(r.Text(i, 4));
  a.tool = std::string(r.Text(i, 5));
  a.args_sha256 = std::string(r.Text(i, 6));
  a.required = static_cast<int>(r.Int(i, 7));
  // An unknown state is never pending (fail closed).
  a.state = core::ParseApprovalState(r.Text(i, 8)).value_or(core::ApprovalState::kDenied);
  a.created = FromUnixMillis(r.Int(i, 9));
  a.deadline = FromUnixMillis(r.Int(i, 10));
  a.hard_deadline = FromUnixMillis(r.Int(i, 11));
  a.escalation_level = static_cast<int>(r.Int(i, 12));
  if (!r.IsNull(i, 13)) a.decided = FromUnixMillis(r.Int(i, 13));
  a.timeout_seconds = static_cast<int>(r.Int(i, 14));
  a.auto_deny_on_timeout = r.Int(i, 15) != 0;
  a.records = static_cast<uint64_t>(std::max<int64_t>(0, r.Int(i, 16)));
  a.outcome_reason = std::string(r.Text(i, 17));
  if (!r.IsNull(i, 18)) a.used = FromUnixMillis(r.Int(i, 18));
  a.used_call_id = std::string(r.Text(i, 19));
  a.edited_args_sha256 = std::string(r.Text(i, 20));
  return a;
}

Status LoadVotes(PgConn& c, std::string* sqlstate, core::Approval* a) {
  Result<PgResult> r = c.Exec(
      "SELECT reviewer, verdict, comment, time_ms FROM approval_votes WHERE approval_id = $1"
      " ORDER BY time_ms, reviewer",
      {a->approval_id}, sqlstate);
  if (!r.ok()) return r.error();
  for (int i = 0; i < r->rows(); ++i) {
    a->votes.push_back(core::ApprovalVote{std::string(r->Text(i, 0)), std::string(r->Text(i, 1)),
                                          std::string(r->Text(i, 2)),
                                          FromUnixMillis(r->Int(i, 3))});
  }
  return Status::Ok();
}

// One approval with its votes from the database (locked when `lock`); nullopt when absent.
Result<std::optional<core::Approval>> ReadApproval(PgConn& c, std::string* sqlstate,
                                                   std::string_view approval_id, bool lock) {
  Result<PgResult> r =
      c.Exec(std::string("SELECT ") + kApprovalColumns + " FROM approvals WHERE approval_id = $1" +
                 (lock ? " FOR UPDATE" : ""),
             {std::string(approval_id)}, sqlstate);
  if (!r.ok()) return r.error();
  if (r->rows() == 0) return std::optional<core::Approval>();
  core::Approval a = ApprovalFromRow(*r, 0);
  if (Status s = LoadVotes(c, sqlstate, &a); !s.ok()) return s.error();
  return std::optional<core::Approval>(std::move(a));
}

// The approval as this batch sees it: its own row when it read or wrote it, else the
// database's, locked. NotFound when absent.
Result<core::Approval*> LoadInBatch(const PgApprovalCtx& ctx, std::string_view approval_id) {
  auto it = ctx.batch->rows.find(approval_id);
  if (it != ctx.batch->rows.end()) return &it->second;
  Result<std::optional<core::Approval>> r =
      ReadApproval(*ctx.conn, ctx.sqlstate, approval_id, true);
  if (!r.ok()) return r.error();
  if (!*r) return Error::NotFound("no approval " + std::string(approval_id));
  auto [at, inserted] = ctx.batch->rows.emplace(std::string(approval_id), std::move(**r));
  return &at->second;
}

// core::Approval ids the query (columns: approval_id) answers, plus this batch's own rows that
// match `also`, ordered by (created, id) as the batch sees them.
Result<std::vector<core::Approval*>> PendingWhere(
    const PgApprovalCtx& ctx, const std::string& where,
    const std::vector<std::optional<std::string>>& params,
    const std::function<bool(const core::Approval&)>& also) {
  Result<PgResult> r = ctx.conn->Exec(
      "SELECT approval_id FROM approvals WHERE state = 'pending'" + where, params, ctx.sqlstate);
  if (!r.ok()) return r.error();
  std::vector<core::Approval*> out;
  std::set<std::string> seen;
  for (int i = 0; i < r->rows(); ++i) {
    Result<core::Approval*> a = LoadInBatch(ctx, r->Text(i, 0));
    if (!a.ok()) return a.error();
    seen.insert((*a)->approval_id);
    if ((*a)->state == core::ApprovalState::kPending) out.push_back(*a);
  }
  for (auto& [id, a] : ctx.batch->rows) {
    if (!seen.contains(id) && a.state == core::ApprovalState::kPending && also(a))
      out.push_back(&a);
  }
  std::sort(out.begin(), out.end(), [](const core::Approval* x, const core::Approval* y) {
    return std::tie(x->created, x->approval_id) < std::tie(y->created, y->approval_id);
  });
  return out;
}

// Appends `update` (an UPDATE ... RETURNING 1) so that it must change exactly one row: a
// row another transaction changed meanwhile aborts this one (40001, re-run).
void AppendUpdateOne(std::string* sql, std::string_view update) {
  sql->append("WITH u AS (");
  sql->append(update);
  sql->append(" RETURNING 1) SELECT interlock_expect_rows(count(*), 1) FROM u;");
}

std::string Lit(std::string_view s) {
  std::string out;
  pg::AppendLiteral(&out, s);
  return out;
}

// --- calls as stored ----------------------------------------------------------------------

// The arguments and decision may be held by reference (postgres_read.h).
const std::string& SelectCall() {
  static const std::string sql =
      std::string("SELECT c.run_id, c.agent_id, c.principal, c.time_ms, c.tool, ") +
      kPgCallArgsJson + ", c.usage_tokens, c.usage_cost_micros, " + kPgCallDecisionJson +
      ", c.state_after_json, c.result_json, " + kPgCallPolicySha256 +
      " FROM calls c WHERE c.call_id = $1";
  return sql;
}

Result<core::StoredCall> ReadCall(PgConn& c, std::string* sqlstate, std::string_view call_id) {
  Result<PgResult> r = c.Exec(SelectCall(), {std::string(call_id)}, sqlstate);
  if (!r.ok()) return r.error();
  if (r->rows() == 0) return Error::NotFound("no call " + std::string(call_id));
  CallRowColumns row;
  row.call_id = call_id;
  row.run_id = r->Text(0, 0);
  row.agent_id = r->Text(0, 1);
  row.principal = r->Text(0, 2);
  row.time_ms = r->Int(0, 3);
  row.tool = r->Text(0, 4);
  row.args_json = r->Text(0, 5);
  row.usage_tokens = r->Int(0, 6);
  row.usage_cost_micros = r->Int(0, 7);
  row.decision_json = r->Text(0, 8);
  row.state_after_json = r->Text(0, 9);
  if (!r->IsNull(0, 10)) row.result_json = r->Text(0, 10);
  row.policy_sha256 = r->Text(0, 11);
  return DecodeCallRow(row);
}

}  // namespace

// --- rows (core::ApprovalRows) ---------------------------------------------------------------

Result<std::optional<core::Approval>> PgApprovalRows::Load(std::string_view approval_id) {
  Result<core::Approval*> a = LoadInBatch(ctx_, approval_id);
  if (!a.ok()) {
    if (a.error().kind == ErrorKind::kNotFound) return std::optional<core::Approval>();
    return a.error();
  }
  return std::optional<core::Approval>(**a);
}

Result<std::vector<core::Approval>> PgApprovalRows::Pending(const core::PendingQuery& q) {
  using Kind = core::PendingQuery::Kind;
  std::string where;
  std::vector<std::optional<std::string>> params;
  std::function<bool(const core::Approval&)> also;
  switch (q.kind) {
    case Kind::kAll:
      where = " ORDER BY created_ms FOR UPDATE";
      also = [](const core::Approval&) { return true; };
      break;
    case Kind::kAgent:
      where = " AND agent_id = $1 ORDER BY created_ms FOR UPDATE";
      params.emplace_back(std::string(q.agent_id));
      also = [&](const core::Approval& a) { return a.agent_id == q.agent_id; };
      break;
    case Kind::kRun:
      where = " AND run_id = $1 ORDER BY created_ms FOR UPDATE";
      params.emplace_back(std::string(q.run_id));
      also = [&](const core::Approval& a) { return a.run_id == q.run_id; };
      break;
    case Kind::kTwin:
      where = " AND run_id = $1 AND agent_id = $2 AND tool = $3 AND args_sha256 = $4";
      params = {std::string(q.run_id), std::string(q.agent_id), std::string(q.tool),
                std::string(q.args_sha256)};
      also = [&](const core::Approval& a) {
        return a.run_id == q.run_id && a.agent_id == q.agent_id && a.tool == q.tool &&
               a.args_sha256 == q.args_sha256;
      };
      break;
    case Kind::kDue:
      where = " AND deadline_ms <= $1::bigint ORDER BY deadline_ms LIMIT " +
              Num(core::PendingQuery::kMaxDue) + " FOR UPDATE";
      params.emplace_back(Num(ToUnixMillis(q.due)));
      also = [&](const core::Approval& a) {
        return ToUnixMillis(a.deadline) <= ToUnixMillis(q.due);
      };
      break;
  }
  Result<std::vector<core::Approval*>> found = PendingWhere(ctx_, where, params, also);
  if (!found.ok()) return found.error();
  std::vector<core::Approval> out;
  out.reserve(found->size());
  for (const core::Approval* a : *found) out.push_back(*a);
  if (q.kind == Kind::kDue) {
    std::stable_sort(out.begin(), out.end(), [](const core::Approval& x, const core::Approval& y) {
      return x.deadline < y.deadline;
    });
  }
  return out;
}

Result<std::vector<core::Approval>> PgApprovalRows::DecidedTwins(const core::PendingQuery& q,
                                                                 TimePoint decided_since) {
  const int64_t since = ToUnixMillis(decided_since);
  auto twin = [&](const core::Approval& a) {
    return a.state != core::ApprovalState::kPending && a.decided &&
           ToUnixMillis(*a.decided) >= since && a.run_id == q.run_id && a.agent_id == q.agent_id &&
           a.tool == q.tool && a.args_sha256 == q.args_sha256;
  };
  // Through approvals_decided; each row as this batch sees it (LoadInBatch), then the
  // batch's own rows the database does not have decided yet.
  Result<PgResult> r = ctx_.conn->Exec(
      "SELECT approval_id FROM approvals WHERE decided_ms >= $1::bigint AND state <> 'pending'"
      " AND run_id = $2 AND agent_id = $3 AND tool = $4 AND args_sha256 = $5",
      {Num(since), std::string(q.run_id), std::string(q.agent_id), std::string(q.tool),
       std::string(q.args_sha256)},
      ctx_.sqlstate);
  if (!r.ok()) return r.error();
  std::vector<core::Approval> out;
  std::set<std::string> seen;
  for (int i = 0; i < r->rows(); ++i) {
    Result<core::Approval*> a = LoadInBatch(ctx_, r->Text(i, 0));
    if (!a.ok()) return a.error();
    seen.insert((*a)->approval_id);
    if (twin(**a)) out.push_back(**a);
  }
  for (const auto& [id, a] : ctx_.batch->rows) {
    if (!seen.contains(id) && twin(a)) out.push_back(a);
  }
  for (core::Approval& a : out) a.votes.clear();
  std::sort(out.begin(), out.end(), [](const core::Approval& x, const core::Approval& y) {
    return std::tie(x.created, x.approval_id) < std::tie(y.created, y.approval_id);
  });
  return out;
}

Status PgApprovalRows::Insert(const core::Approval& a) {
  std::string& sql = *ctx_.sql;
  sql.append(
      "INSERT INTO approvals(approval_id, call_id, run_id, agent_id, principal, tool,"
      " args_sha256, required, state, created_ms, deadline_ms, hard_deadline_ms, timeout_s,"
      " auto_deny, records) VALUES (");
  for (const std::string* t : {&a.approval_id, &a.call_id, &a.run_id, &a.agent_id, &a.principal,
                               &a.tool, &a.args_sha256}) {
    pg::AppendLiteral(&sql, *t);
    sql.push_back(',');
  }
  sql.append(Num(a.required) + ",'pending'," + Num(ToUnixMillis(a.created)) + "," +
             Num(ToUnixMillis(a.deadline)) + "," + Num(ToUnixMillis(a.hard_deadline)) + "," +
             Num(a.timeout_seconds) + "," + (a.auto_deny_on_timeout ? "1" : "0") + "," +
             Num(static_cast<int64_t>(a.records)) + ");");
  ctx_.batch->rows[a.approval_id] = a;
  return Status::Ok();
}

Status PgApprovalRows::InsertVote(std::string_view approval_id, const core::ApprovalVote& v) {
  Result<core::Approval*> a = LoadInBatch(ctx_, approval_id);
  if (!a.ok()) return a.error();
  ctx_.sql->append(
      "INSERT INTO approval_votes(approval_id, reviewer, verdict, comment, time_ms)"
      " VALUES (" +
      Lit(approval_id) + "," + Lit(v.reviewer) + "," + Lit(v.verdict) + "," + Lit(v.comment) + "," +
      Num(ToUnixMillis(v.at)) + ");");
  (*a)->votes.push_back(v);
  return Status::Ok();
}

Status PgApprovalRows::Update(const core::Approval& before, const core::Approval& after) {
  Result<core::Approval*> row = LoadInBatch(ctx_, before.approval_id);
  if (!row.ok()) return row.error();
  auto ms = [](const std::optional<TimePoint>& t) {
    return t ? Num(ToUnixMillis(*t)) : std::string("NULL");
  };
  AppendUpdateOne(
      ctx_.sql,
      "UPDATE approvals SET state = " + Lit(core::ApprovalStateName(after.state)) +
          ", decided_ms = " + ms(after.decided) + ", reason = " + Lit(after.outcome_reason) +
          ", escalation_level = " + Num(after.escalation_level) +
          ", deadline_ms = " + Num(ToUnixMillis(after.deadline)) +
          ", records = " + Num(static_cast<int64_t>(after.records)) +
          ", edited_args_sha256 = " + Lit(after.edited_args_sha256) +
          ", used_ms = " + ms(after.used) + ", used_call_id = " + Lit(after.used_call_id) +
          " WHERE approval_id = " + Lit(before.approval_id) +
          " AND state = " + Lit(core::ApprovalStateName(before.state)) +
          " AND escalation_level = " + Num(before.escalation_level) +
          (before.used ? " AND used_ms IS NOT NULL" : " AND used_ms IS NULL"));
  std::vector<core::ApprovalVote> votes = std::move((*row)->votes);  // core::InsertVote keeps them
  **row = after;
  (*row)->votes = std::move(votes);
  return Status::Ok();
}

Result<std::string> PgApprovalRows::LoadDecisionJson(std::string_view call_id) {
  if (auto it = ctx_.batch->decisions.find(call_id); it != ctx_.batch->decisions.end()) {
    return it->second;
  }
  if (std::string* mine = ctx_.new_call_decision ? ctx_.new_call_decision(call_id) : nullptr;
      mine != nullptr) {
    return *mine;
  }
  static const std::string sql =
      std::string("SELECT ") + kPgCallDecisionJson + " FROM calls c WHERE c.call_id = $1";
  Result<PgResult> r = ctx_.conn->Exec(sql, {std::string(call_id)}, ctx_.sqlstate);
  if (!r.ok()) return r.error();
  if (r->rows() == 0) return Error::NotFound("no call " + std::string(call_id));
  return std::string(r->Text(0, 0));
}

// Wakes every daemon's long polls on the call when the transaction commits.
Status PgApprovalRows::SaveDecision(std::string_view call_id, std::string_view decision_json,
                                    Verdict verdict, Code code) {
  ctx_.batch->notify.insert(std::string(call_id));
  ctx_.batch->decisions[std::string(call_id)] = std::string(decision_json);
  ctx_.sql->append("UPDATE calls SET decision_json = " + Lit(decision_json) +
                   ", verdict = " + Lit(VerdictName(verdict)) + ", code = " + Lit(CodeName(code)) +
                   " WHERE call_id = " + Lit(call_id) + ";");
  return Status::Ok();
}

// One kill type: core::KillEntry.
Result<std::vector<core::KillEntry>> PgApprovalRows::EngagedKills() {
  Result<PgResult> kills = ctx_.conn->Exec(
      "SELECT scope, target, reason, actor FROM kill_switches WHERE engaged = 1"
      " ORDER BY scope, target",
      {}, ctx_.sqlstate);
  if (!kills.ok()) return kills.error();
  std::vector<core::KillEntry> out;
  for (int i = 0; i < kills->rows(); ++i) {
    out.push_back(core::KillEntry{std::string(kills->Text(i, 0)),
                                  std::string(kills->Text(i, 1)),
                                  true,
                                  std::string(kills->Text(i, 2)),
                                  std::string(kills->Text(i, 3)),
                                  {}});
  }
  return out;
}

Result<core::CallRecord> PgLoadCallInBatch(const PgApprovalCtx& ctx, std::string_view call_id) {
  core::CallRecord rec;
  if (std::optional<core::CallRecord> mine = ctx.new_call ? ctx.new_call(call_id) : std::nullopt) {
    rec = std::move(*mine);
  } else {
    Result<core::StoredCall> stored = ReadCall(*ctx.conn, ctx.sqlstate, call_id);
    if (!stored.ok()) return stored.error();
    rec = std::move(stored->record);
  }
  if (auto it = ctx.batch->decisions.find(call_id); it != ctx.batch->decisions.end()) {
    Result<json::object> d = ParseColumn(it->second, "calls.decision_json");
    if (!d.ok()) return d.error();
    std::optional<Decision> decision = DecisionFromJson(*d);
    if (!decision) return Error::Corrupt("store: calls.decision_json is bad");
    rec.decision = std::move(*decision);
  }
  return rec;
}

void AppendPgNotifies(const PgApprovalBatch& b, std::string* sql) {
  for (const std::string& call_id : b.notify) {
    sql->append("SELECT pg_notify(");
    pg::AppendLiteral(sql, kPgCallsChannel);
    sql->push_back(',');
    pg::AppendLiteral(sql, call_id);
    sql->append(");");
  }
}

// --- reads ------------------------------------------------------------------------------

Result<std::vector<core::Approval>> PgListApprovals(PgConn& c, const core::ApprovalFilter& filter) {
  std::string sql = std::string("SELECT ") + kApprovalColumns + " FROM approvals";
  std::vector<std::optional<std::string>> params;
  switch (filter.which) {
    case core::ApprovalFilter::Which::kPending:
      sql +=
          " WHERE state = 'pending' AND created_ms > $1::bigint ORDER BY created_ms, approval_id";
      params.emplace_back(Num(filter.created_since ? ToUnixMillis(*filter.created_since)
                                                   : std::numeric_limits<int64_t>::min()));
      break;
    case core::ApprovalFilter::Which::kDecided:
      sql += " WHERE state <> 'pending' AND decided_ms >= $1::bigint ORDER BY decided_ms DESC";
      params.emplace_back(Num(filter.decided_since ? ToUnixMillis(*filter.decided_since) : 0));
      break;
    case core::ApprovalFilter::Which::kAll:
      sql += " ORDER BY created_ms DESC";
      break;
  }
  sql += " LIMIT " + Num(static_cast<int64_t>(std::clamp<size_t>(filter.limit, 1, 1000)));
  Result<PgResult> r = c.Exec(sql, params);
  if (!r.ok()) return r.error();
  std::vector<core::Approval> out;
  for (int i = 0; i < r->rows(); ++i) out.push_back(ApprovalFromRow(*r, i));
  if (filter.with_votes) {
    for (core::Approval& a : out) {
      if (Status s = LoadVotes(c, nullptr, &a); !s.ok()) return s.error();
    }
  }
  return out;
}

Result<core::Approval> PgGetApproval(PgConn& c, std::string_view approval_id) {
  Result<std::optional<core::Approval>> r = ReadApproval(c, nullptr, approval_id, false);
  if (!r.ok()) return r.error();
  if (!*r) return Error::NotFound("no approval " + std::string(approval_id));
  return std::move(**r);
}

Result<core::StoredCall> PgGetCall(PgConn& c, std::string_view call_id) {
  return ReadCall(c, nullptr, call_id);
}

}  // namespace interlock::store::internal
