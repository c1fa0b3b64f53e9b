// Approvals in the PostgreSQL store (see postgres_approvals.h): rows only; the rules are
// core/approval_rules.h.
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

// The approval of call_id (approval ids derive from call ids), or nullptr.
Result<core::Approval*> LoadByCall(const PgApprovalCtx& ctx, std::string_view call_id) {
  Result<core::Approval*> a = LoadInBatch(ctx, core::ApprovalIdForCall(call_id));
  if (!a.ok()) {
    if (a.error().kind == ErrorKind::kNotFound) return static_cast<core::Approval*>(nullptr);
    return a.error();
  }
  return (*a)->call_id == call_id ? *a : nullptr;
}

// Approval ids the query (columns: approval_id) answers, plus this batch's own rows that
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

core::ApprovalRef Ref(const core::Approval& a) {
  return core::ApprovalRef{a.approval_id, a.call_id, a.run_id, a.agent_id, a.tool};
}

std::vector<core::VoteRow> VoteRows(const core::Approval& a) {
  std::vector<core::VoteRow> out;
  out.reserve(a.votes.size());
  for (const core::ApprovalVote& v : a.votes) out.push_back(core::VoteRow{v.reviewer, v.verdict});
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

// Rewrites the settled call's decision (the one GET /v1/calls/{id} answers with) and
// wakes every daemon's long polls on it when the transaction commits.
Status SetCallDecision(const PgApprovalCtx& ctx, const std::string& call_id, Verdict verdict,
                       Code code, const std::string& reason, const std::string& rule,
                       const json::object* arguments = nullptr) {
  ctx.batch->notify.insert(call_id);
  std::string current;
  if (auto it = ctx.batch->decisions.find(call_id); it != ctx.batch->decisions.end()) {
    current = it->second;
  } else if (std::string* mine = ctx.new_call_decision ? ctx.new_call_decision(call_id) : nullptr;
             mine != nullptr) {
    current = *mine;
  } else {
    Result<PgResult> r = ctx.conn->Exec("SELECT decision_json FROM calls WHERE call_id = $1",
                                        {call_id}, ctx.sqlstate);
    if (!r.ok()) return r.error();
    if (r->rows() == 0) return Error::NotFound("no call " + call_id);
    current = std::string(r->Text(0, 0));
  }
  Result<std::string> d = core::SettleDecisionJson(current, verdict, code, reason, rule, arguments);
  if (!d.ok()) return d.error();
  ctx.batch->decisions[call_id] = *d;
  ctx.sql->append("UPDATE calls SET decision_json = " + Lit(*d) +
                  ", verdict = " + Lit(VerdictName(verdict)) + ", code = " + Lit(CodeName(code)) +
                  " WHERE call_id = " + Lit(call_id) + ";");
  return Status::Ok();
}

// Settles pending `a` as `state` (decided now, with `reason`), the call's decision and
// its audit record.
Status Settle(const PgApprovalCtx& ctx, core::Approval* a, core::ApprovalState state,
              Verdict verdict, Code code, const std::string& reason, TimePoint now,
              audit::AuditEvent event, const json::object* arguments = nullptr) {
  AppendUpdateOne(ctx.sql,
                  "UPDATE approvals SET state = " + Lit(core::ApprovalStateName(state)) +
                      ", decided_ms = " + Num(ToUnixMillis(now)) + ", reason = " + Lit(reason) +
                      " WHERE approval_id = " + Lit(a->approval_id) + " AND state = 'pending'");
  if (Status s = SetCallDecision(ctx, a->call_id, verdict, code, reason, "approval", arguments);
      !s.ok()) {
    return s;
  }
  a->state = state;
  a->decided = now;
  a->outcome_reason = reason;
  ctx.events->push_back(std::move(event));
  return Status::Ok();
}

Status CancelForKill(const PgApprovalCtx& ctx, const std::string& scope, const std::string& target,
                     const std::string& kill_reason, const std::string& actor, TimePoint now,
                     std::vector<core::ApprovalChange>* out) {
  std::string where;
  std::vector<std::optional<std::string>> params;
  if (scope == "agent") where = " AND agent_id = $1", params.emplace_back(target);
  if (scope == "run") where = " AND run_id = $1", params.emplace_back(target);
  Result<std::vector<core::Approval*>> pending = PendingWhere(
      ctx, where + " ORDER BY created_ms FOR UPDATE", params, [&](const core::Approval& a) {
        return scope == "global" || (scope == "agent" && a.agent_id == target) ||
               (scope == "run" && a.run_id == target);
      });
  if (!pending.ok()) return pending.error();
  for (core::Approval* a : *pending) {
    const std::string reason = core::KillCancelReason(scope, kill_reason);
    Status s = Settle(
        ctx, a, core::ApprovalState::kCancelled, Verdict::kDeny, Code::kApprovalDenied, reason, now,
        core::SettledEvent(Ref(*a), "cancelled", Code::kApprovalDenied, reason, now, actor, ""));
    if (!s.ok()) return s;
    if (out != nullptr)
      out->push_back(core::ApprovalChange{core::ApprovalChange::Kind::kCancelled, *a});
  }
  return Status::Ok();
}

// --- calls as stored ----------------------------------------------------------------------

uint64_t GetU64(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_uint64()) return v->get_uint64();
  if (v->is_int64()) return static_cast<uint64_t>(std::max<int64_t>(0, v->get_int64()));
  return 0;
}
int64_t GetI64(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
  return 0;
}

Result<json::object> ParseObject(std::string_view text, std::string_view what) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return Error::Corrupt("store: " + std::string(what) + " is bad");
  return std::move(v.get_object());
}

// calls.state_after_json (row_codec.h, AppendStateStoreJson).
RunState StateFromStoreJson(const json::object& o) {
  RunState s;
  s.steps = GetU64(o, "steps");
  s.tokens = GetU64(o, "tokens");
  s.cost_micros = GetI64(o, "cost_micros");
  s.elapsed_ms = GetI64(o, "elapsed_ms");
  const json::value* h = o.if_contains("halted");
  s.halted = h != nullptr && h->is_bool() && h->get_bool();
  if (const json::value* r = o.if_contains("halt_reason"); r != nullptr && r->is_string()) {
    s.halt_reason = std::string(r->get_string());
  }
  if (const json::value* r = o.if_contains("records"); r != nullptr && r->is_object()) {
    for (const auto& kv : r->get_object()) {
      s.records[std::string(kv.key())] = GetU64(r->get_object(), kv.key());
    }
  }
  return s;
}

core::CallResult ResultFromStoreJson(const json::object& o) {
  core::CallResult r;
  const json::value* ok = o.if_contains("ok");
  r.ok = ok == nullptr || !ok->is_bool() || ok->get_bool();
  if (const json::value* v = o.if_contains("output")) r.output_json = CanonicalJson(*v);
  if (const json::value* e = o.if_contains("error"); e != nullptr && e->is_string()) {
    r.error = std::string(e->get_string());
  }
  if (const json::value* u = o.if_contains("usage"); u != nullptr && u->is_object()) {
    r.usage.tokens = GetU64(u->get_object(), "tokens");
    const json::value* c = u->get_object().if_contains("cost_usd");
    if (c != nullptr && c->is_number()) {
      r.usage.cost_micros = static_cast<int64_t>(c->to_number<double>() * 1e6 + 0.5);
    }
  }
  return r;
}

constexpr const char* kSelectCall =
    "SELECT run_id, agent_id, principal, time_ms, tool, args_json, usage_tokens,"
    " usage_cost_micros, decision_json, state_after_json, result_json, policy_sha256"
    " FROM calls WHERE call_id = $1";

Result<core::StoredCall> ReadCall(PgConn& c, std::string* sqlstate, std::string_view call_id) {
  Result<PgResult> r = c.Exec(kSelectCall, {std::string(call_id)}, sqlstate);
  if (!r.ok()) return r.error();
  if (r->rows() == 0) return Error::NotFound("no call " + std::string(call_id));
  core::StoredCall out;
  core::CallRecord& rec = out.record;
  rec.call_id = std::string(call_id);
  rec.run_id = std::string(r->Text(0, 0));
  rec.agent_id = std::string(r->Text(0, 1));
  rec.principal = std::string(r->Text(0, 2));
  rec.at = FromUnixMillis(r->Int(0, 3));
  rec.call.tool = std::string(r->Text(0, 4));
  Result<json::object> args = ParseObject(r->Text(0, 5), "calls.args_json");
  if (!args.ok()) return args.error();
  rec.call.args = std::move(args).value();
  rec.call.usage.tokens = static_cast<uint64_t>(r->Int(0, 6));
  rec.call.usage.cost_micros = r->Int(0, 7);
  Result<json::object> d = ParseObject(r->Text(0, 8), "calls.decision_json");
  if (!d.ok()) return d.error();
  std::optional<Decision> decision = DecisionFromJson(*d);
  if (!decision) return Error::Corrupt("store: calls.decision_json is bad");
  rec.decision = std::move(*decision);
  Result<json::object> st = ParseObject(r->Text(0, 9), "calls.state_after_json");
  if (!st.ok()) return st.error();
  rec.state_after = StateFromStoreJson(*st);
  if (!r->IsNull(0, 10)) {
    Result<json::object> res = ParseObject(r->Text(0, 10), "calls.result_json");
    if (!res.ok()) return res.error();
    out.result = ResultFromStoreJson(*res);
  }
  rec.policy_sha256 = std::string(r->Text(0, 11));
  return out;
}

}  // namespace

// --- the rows of a decision -----------------------------------------------------------------

Result<core::Resubmission> PgApprovalRows::FindResubmission(const core::DecideRequest& rq) {
  const std::string& id = rq.call.approval_id;
  core::Resubmission out;
  if (id.empty()) return out;
  Result<core::Approval*> a = LoadInBatch(ctx_, id);
  if (!a.ok()) {
    if (a.error().kind != ErrorKind::kNotFound) return a.error();
    out.refusal = "approval " + id + " cannot be used: no such approval";
    return out;
  }
  const core::Approval& x = **a;
  // An approval of edited arguments is redeemed with those, never with the original.
  out.refusal = core::RedemptionRefusal(
      id, x.agent_id, x.run_id, x.tool,
      x.edited_args_sha256.empty() ? x.args_sha256 : x.edited_args_sha256, rq);
  if (out.refusal.empty()) out.original_call_id = x.call_id;
  return out;
}

Result<std::string> PgApprovalRows::PendingTwin(const core::DecideRequest& rq) {
  const std::string sha = core::ArgsSha256(rq);
  Result<std::vector<core::Approval*>> pending =
      PendingWhere(ctx_, " AND run_id = $1 AND agent_id = $2 AND tool = $3 AND args_sha256 = $4",
                   {rq.run_id, rq.agent_id, rq.call.tool, sha}, [&](const core::Approval& a) {
                     return a.run_id == rq.run_id && a.agent_id == rq.agent_id &&
                            a.tool == rq.call.tool && a.args_sha256 == sha;
                   });
  if (!pending.ok()) return pending.error();
  const std::string me = PrincipalKey(rq.principal);
  for (const core::Approval* a : *pending) {
    if (PrincipalKey(a->principal) == me) return a->call_id;
  }
  return std::string();
}

Status PgApprovalRows::Release(const std::string& call_id, const core::ReleaseContext& rctx,
                               bool* released_now) {
  Result<core::Approval*> found = LoadByCall(ctx_, call_id);
  if (!found.ok()) return found.error();
  core::Approval* a = *found;
  if (a == nullptr) return Status::Ok();  // not a call that waited for approval
  if (a->state != core::ApprovalState::kGranted || a->used) return Status::Ok();
  const core::ReleaseOutcome release = core::DecideRelease(rctx);
  const std::string where =
      " WHERE approval_id = " + Lit(a->approval_id) + " AND state = 'granted' AND used_ms IS NULL";
  if (release.code == Code::kAllowed) {
    AppendUpdateOne(ctx_.sql, "UPDATE approvals SET used_ms = " + Num(ToUnixMillis(rctx.now)) +
                                  ", used_call_id = " + Lit(call_id) + where);
    a->used = rctx.now;
    a->used_call_id = call_id;
    ctx_.events->push_back(core::ReleasedEvent(Ref(*a), rctx.now));
    if (released_now != nullptr) *released_now = true;
    return Status::Ok();
  }
  // Granted but never delivered: the call does not run. The grant stays on record.
  AppendUpdateOne(ctx_.sql, "UPDATE approvals SET state = 'cancelled', reason = " +
                                Lit(release.reason) + where);
  if (Status s = SetCallDecision(ctx_, call_id, Verdict::kDeny, release.code, release.reason,
                                 release.rule);
      !s.ok()) {
    return s;
  }
  a->state = core::ApprovalState::kCancelled;
  a->outcome_reason = release.reason;
  ctx_.events->push_back(core::CancelledAfterGrantEvent(Ref(*a), release, rctx.now));
  return Status::Ok();
}

Status PgApprovalRows::AfterDecide(const core::DecideRequest& rq, const std::string& call_id,
                                   const engine::Evaluation& ev) {
  std::optional<core::NewApproval> created = core::ApprovalForDecision(
      rq, call_id, ev, ctx_.default_timeout_seconds, ctx_.max_wait_seconds);
  if (!created) return Status::Ok();
  core::Approval& a = created->approval;
  const core::ApprovalPlan& plan = created->plan;
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
  ctx_.events->push_back(
      core::RequestedEvent(Ref(a), plan, a.auto_deny_on_timeout, a.args_sha256, rq.now));
  ctx_.batch->rows[a.approval_id] = std::move(a);
  return Status::Ok();
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
    Result<json::object> d = ParseObject(it->second, "calls.decision_json");
    if (!d.ok()) return d.error();
    std::optional<Decision> decision = DecisionFromJson(*d);
    if (!decision) return Error::Corrupt("store: calls.decision_json is bad");
    rec.decision = std::move(*decision);
  }
  return rec;
}

// --- operations -------------------------------------------------------------------------

Status PgVote(const PgApprovalCtx& ctx, core::StateTxn& txn, const core::VoteRequest& rq,
              core::VoteOutcome* out) {
  Result<core::Approval*> loaded = LoadInBatch(ctx, rq.approval_id);
  if (!loaded.ok()) return loaded.error();
  core::Approval a = **loaded;  // changed in the batch only once nothing can fail
  const bool pending = a.state == core::ApprovalState::kPending;
  const core::ApprovalPolicyFacts facts =
      pending && rq.policy ? rq.policy(a.agent_id, a.tool) : core::ApprovalPolicyFacts{};
  core::VoteInput in{Ref(a),      pending,        core::ApprovalStateName(a.state),
                     a.principal, facts.identity, a.required,
                     a.records,   VoteRows(a),    rq.reviewer.name,
                     rq.approve,  rq.comment,     rq.now};
  in.max_records_per_run = facts.max_records_per_run;
  std::optional<core::RunRow> run;
  if (pending) {
    Result<core::RunRow> r = txn.LoadRunForUpdate(a.run_id);
    if (!r.ok()) return r.error();
    run = std::move(r).value();
    in.run_halted_or_ended = run->state.halted || run->ended;
    if (auto it = run->state.records.find(a.tool); it != run->state.records.end()) {
      in.run_records_used = it->second;
    }
  }
  // A reviewer's edit (core::EvaluateEdit judged it): PlanVote refuses it for a deny or an
  // approval needing two people, and a grant consumes the edited call's records.
  if (rq.edit) {
    if (ctx.redactor == nullptr) return Error::Unavailable("store: no audit redactor for an edit");
    in.edit = &*rq.edit;
    in.original_args_sha256 = a.args_sha256;
    in.redactor = ctx.redactor;
  }
  in.for_run = rq.for_run;
  in.for_run_refusal = facts.run_grant_refusal;
  Result<core::VotePlan> plan = core::PlanVote(in);
  if (!plan.ok()) return plan.error();
  const char* verdict = rq.approve ? "approve" : "deny";
  ctx.sql->append(
      "INSERT INTO approval_votes(approval_id, reviewer, verdict, comment, time_ms)"
      " VALUES (" +
      Lit(a.approval_id) + "," + Lit(rq.reviewer.name) + "," + Lit(verdict) + "," +
      Lit(rq.comment) + "," + Num(ToUnixMillis(rq.now)) + ");");
  a.votes.push_back(core::ApprovalVote{rq.reviewer.name, verdict, rq.comment, rq.now});
  if (plan->kind == core::VotePlan::Kind::kVoted) {
    ctx.events->push_back(std::move(plan->event));
    **loaded = a;
    out->approval = std::move(a);
    return Status::Ok();
  }
  out->settled = true;
  const bool granted = plan->kind == core::VotePlan::Kind::kGranted;
  const json::object* edited_args = nullptr;
  if (granted && plan->edit != nullptr) {
    a.records = plan->edit->records;
    a.edited_args_sha256 = plan->edit->args_sha256;
    edited_args = &plan->edit->args;
    AppendUpdateOne(ctx.sql,
                    "UPDATE approvals SET records = " + Num(static_cast<int64_t>(a.records)) +
                        ", edited_args_sha256 = " + Lit(a.edited_args_sha256) +
                        " WHERE approval_id = " + Lit(a.approval_id) + " AND state = 'pending'");
  }
  if (Status s =
          Settle(ctx, &a, granted ? core::ApprovalState::kGranted : core::ApprovalState::kDenied,
                 granted ? Verdict::kAllow : Verdict::kDeny, plan->code, plan->reason, rq.now,
                 std::move(plan->event), edited_args);
      !s.ok()) {
    return s;
  }
  **loaded = a;
  out->approval = std::move(a);
  if (granted && (plan->run_records_after || plan->run_grant)) {
    // The records the call touches are consumed now, and an approval for the rest of the
    // run joins the run's state (the run's last write).
    if (plan->run_records_after) {
      run->state.records[out->approval.tool] = *plan->run_records_after;
    }
    if (plan->run_grant) {
      run->state.grants.insert_or_assign(out->approval.tool, *plan->run_grant);
    }
    return txn.SaveRun(out->approval.run_id, std::move(*run));
  }
  return Status::Ok();
}

Status PgWithdraw(const PgApprovalCtx& ctx, std::string_view approval_id, std::string_view agent_id,
                  std::string_view principal, std::string_view reason, TimePoint now,
                  core::Approval* out, std::optional<Error>* refused) {
  Result<core::Approval*> loaded = LoadInBatch(ctx, approval_id);
  if (!loaded.ok()) return loaded.error();
  core::Approval& a = **loaded;
  if (Status s = core::CheckWithdraw(a.approval_id, a.agent_id, a.principal, agent_id, principal,
                                     a.state == core::ApprovalState::kPending,
                                     core::ApprovalStateName(a.state));
      !s.ok()) {
    // Another identity's attempt is recorded with the batch (which commits: the op
    // succeeds), and answered by the caller as the refusal it is.
    if (auto rec = core::RefusedWithdrawRecord(Ref(a), a.principal, agent_id, principal, now)) {
      ctx.events->push_back(std::move(*rec));
      *refused = s.error();
      return Status::Ok();
    }
    return s;
  }
  const std::string why = core::WithdrawnReason(a.approval_id, a.agent_id, reason);
  audit::AuditEvent ev = core::WithdrawnEvent(Ref(a), reason, why, now);
  if (Status s = Settle(ctx, &a, core::ApprovalState::kWithdrawn, Verdict::kDeny,
                        Code::kApprovalDenied, why, now, std::move(ev));
      !s.ok()) {
    return s;
  }
  *out = a;
  return Status::Ok();
}

Status PgExpire(const PgApprovalCtx& ctx, TimePoint now, std::vector<core::ApprovalChange>* out) {
  out->clear();
  // Kill switches engaged by another daemon or process (`interlock kill engage --store`).
  Result<PgResult> kills = ctx.conn->Exec(
      "SELECT scope, target, reason, actor FROM kill_switches WHERE engaged = 1"
      " ORDER BY scope, target",
      {}, ctx.sqlstate);
  if (!kills.ok()) return kills.error();
  for (int i = 0; i < kills->rows(); ++i) {
    Status s =
        CancelForKill(ctx, std::string(kills->Text(i, 0)), std::string(kills->Text(i, 1)),
                      std::string(kills->Text(i, 2)), std::string(kills->Text(i, 3)), now, out);
    if (!s.ok()) return s;
  }
  const int64_t now_ms = ToUnixMillis(now);
  Result<std::vector<core::Approval*>> due = PendingWhere(
      ctx, " AND deadline_ms <= $1::bigint ORDER BY deadline_ms LIMIT 500 FOR UPDATE",
      {Num(now_ms)}, [&](const core::Approval& a) { return ToUnixMillis(a.deadline) <= now_ms; });
  if (!due.ok()) return due.error();
  for (core::Approval* a : *due) {
    // Time out or escalate (core/approval_rules.h). Under the batch's locks, so a
    // deadline is acted on once, whichever daemon's sweeper comes first.
    const core::DeadlineOutcome next =
        core::OnDeadline(a->auto_deny_on_timeout, a->timeout_seconds, a->escalation_level,
                         a->deadline, a->hard_deadline, now);
    if (next.time_out) {
      Status s = Settle(ctx, a, core::ApprovalState::kTimedOut, Verdict::kDeny,
                        Code::kApprovalTimeout, next.reason, now,
                        core::SettledEvent(Ref(*a), "timed_out", Code::kApprovalTimeout,
                                           next.reason, now, "", ""));
      if (!s.ok()) return s;
      out->push_back(core::ApprovalChange{core::ApprovalChange::Kind::kTimedOut, *a});
      continue;
    }
    AppendUpdateOne(
        ctx.sql, "UPDATE approvals SET escalation_level = escalation_level + 1, deadline_ms = " +
                     Num(ToUnixMillis(next.next_deadline)) +
                     " WHERE approval_id = " + Lit(a->approval_id) +
                     " AND state = 'pending' AND escalation_level = " + Num(a->escalation_level));
    a->escalation_level += 1;
    a->deadline = next.next_deadline;
    ctx.events->push_back(core::EscalatedEvent(Ref(*a), a->escalation_level, a->deadline, now));
    out->push_back(core::ApprovalChange{core::ApprovalChange::Kind::kEscalated, *a});
  }
  return Status::Ok();
}

Status PgOnKill(const PgApprovalCtx& ctx, const core::KillEntry& entry) {
  if (!entry.engaged) return Status::Ok();
  return CancelForKill(ctx, entry.scope, entry.target, entry.reason, entry.actor, entry.at,
                       nullptr);
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
