// PostgresStore::Impl's Flush: the SQL one batch's writes become, sent in one round trip,
// and its helpers (postgres_store_internal.h).

#include "store/postgres_store_internal.h"

#include <boost/container/small_vector.hpp>

#include "core/lineage.h"

namespace interlock::store {

internal::PgApprovalCtx PostgresStore::Impl::ApprovalCtx(Batch& b) {
  internal::PgApprovalCtx ctx;
  ctx.conn = b.conn;
  ctx.sqlstate = b.sqlstate;
  ctx.batch = &b.approvals;
  ctx.sql = &b.sql;
  if (b.options != nullptr) {
    ctx.default_timeout_seconds = b.options->approval_default_timeout_seconds;
    ctx.max_wait_seconds = b.options->approval_max_wait_seconds;
  }
  ctx.new_call_decision = [&b](std::string_view call_id) -> std::string* {
    for (PendingCall& p : b.calls) {
      if (p.call_id == call_id) return &p.decision_json;
    }
    return nullptr;
  };
  ctx.new_call = [&b](std::string_view call_id) -> std::optional<core::CallRecord> {
    for (const PendingCall& p : b.calls) {
      if (p.call_id == call_id) return RecordOf(p);
    }
    return std::nullopt;
  };
  return ctx;
}

core::CallRecord PostgresStore::Impl::RecordOf(const PendingCall& p) {
  core::CallRecord r;
  r.call_id = p.call_id;
  r.run_id = p.run_id;
  r.agent_id = p.agent_id;
  r.principal = p.principal;
  r.policy_sha256 = p.policy_sha256;
  r.at = FromUnixMillis(p.time_ms);
  r.call.tool = p.tool;
  Result<boost::json::value> args = ParseOwnJson(p.args_json);
  if (args.ok() && args->is_object()) r.call.args = std::move(args->get_object());
  r.call.usage.tokens = p.usage_tokens;
  r.call.usage.cost_micros = p.usage_cost_micros;
  Result<boost::json::value> d = ParseOwnJson(p.decision_json);
  std::optional<Decision> decision;
  if (d.ok() && d->is_object()) decision = DecisionFromJson(d->get_object());
  if (decision) {
    r.decision = std::move(*decision);
  } else {
    // Unreadable (never: the core composed it): a deny, never an allow.
    r.decision.verdict = Verdict::kDeny;
    r.decision.code = Code::kStoreUnavailable;
  }
  return r;
}

void PostgresStore::Impl::AppendLockRuns(std::string* sql, const std::set<std::string>& ids) {
  // The runs named and their ancestors (a child run's decision is its line's: lineage.h):
  // a run's parent never changes, so the set read here is the set locked.
  sql->append("SELECT run_id, ");
  sql->append(kSelectRunCols);
  sql->append(
      " FROM runs WHERE run_id IN (WITH RECURSIVE line(id, parent, n) AS ("
      "SELECT run_id, parent_run_id, 0 FROM runs WHERE run_id IN (");
  bool first = true;
  for (const std::string& id : ids) {
    if (!first) sql->push_back(',');
    first = false;
    pg::AppendLiteral(sql, id);
  }
  sql->append(
      ") UNION SELECT r.run_id, r.parent_run_id, line.n + 1 FROM runs r JOIN line"
      " ON r.run_id = line.parent WHERE line.parent <> '' AND line.n < ");
  sql->append(std::to_string(core::kMaxRunDepth));
  sql->append(") SELECT id FROM line) ORDER BY run_id FOR UPDATE;");
}

std::string PostgresStore::Impl::Flush(Batch& b, BinaryWrites* binary) {
  // The records first (they number themselves from b.head): a call row refers to its
  // decision record when that is stored compact.
  std::string head;                                       // the head row's update
  std::map<std::string_view, int64_t> compact_decisions;  // call id -> seq
  AppendEvents(b, &head, &compact_decisions, *binary);
  FillRuns(b, binary->runs, binary->run_updates);
  FillCalls(b, compact_decisions, binary->calls);
  std::string sql;
  sql.reserve(1024 + head.size());
  AppendIdempotencyWrites(b, &sql);
  AppendOtherWrites(b, &sql);
  sql.append(head);
  // Wake-ups: delivered to every listening daemon if, and when, this commits.
  internal::AppendPgNotifies(b.approvals, &sql);
  return sql;
}

namespace {

// ",steps,tokens,cost_micros,halted,halt_reason,ended,records_json,sequence_json"
void AppendRunState(const Row& r, BinaryColumns& v, std::string* records) {
  v.Uint(r.state.steps);
  v.Uint(r.state.tokens);
  v.Int(r.state.cost_micros);
  v.Int(r.state.halted ? 1 : 0);
  v.Text(r.state.halt_reason);
  v.Int(r.ended ? 1 : 0);
  records->clear();
  audit::AppendCanonicalRecords(records, r.state);
  v.Text(*records);
  v.Text(core::SequenceStoreJson(r.state));
}

}  // namespace

// The runs this batch created (kInsertRuns' columns) and changed (kUpdateRuns').
void PostgresStore::Impl::FillRuns(const Batch& b, BinaryColumns& created, BinaryColumns& changed) {
  std::string records;
  for (auto& [run_id, r] : b.runs) {
    if (r.is_new) {
      created.Text(run_id);
      created.Text(r.agent_id);
      created.Int(r.started_ms);
      AppendRunState(r, created, &records);
      created.Text(r.parent_run_id);
      created.Text(r.role);
      created.Int(r.depth);
    } else if (r.dirty) {
      FillRunUpdate(run_id, r.db_version, r, changed, &records);
    }
  }
}

void PostgresStore::Impl::FillRunUpdate(std::string_view run_id, uint64_t version, const Row& r,
                                        BinaryColumns& changed, std::string* scratch) {
  changed.Text(run_id);
  changed.Uint(version);
  AppendRunState(r, changed, scratch);
}

// The calls decided (kInsertCalls' columns), compact when their decision record is in
// this batch.
void PostgresStore::Impl::FillCalls(const Batch& b,
                                    const std::map<std::string_view, int64_t>& compact_decisions,
                                    BinaryColumns& v) {
  for (const PendingCall& p : b.calls) {
    for (const std::string* t : {&p.call_id, &p.run_id, &p.agent_id, &p.principal}) v.Text(*t);
    v.Int(p.time_ms);
    v.Text(p.tool);
    const int64_t seq = ReferencedSeq(b, compact_decisions, p);
    if (seq > 0) {
      v.Null();
    } else {
      v.Text(p.args_json);
    }
    v.Uint(p.usage_tokens);
    v.Int(p.usage_cost_micros);
    if (seq > 0) {
      v.Null();
    } else {
      v.Text(p.decision_json);
    }
    for (const std::string* t : {&p.verdict, &p.code, &p.state_json}) v.Text(*t);
    if (seq > 0 && PolicyFollowsDecision(b, seq, p)) {
      v.Null();
    } else {
      v.Text(p.policy_sha256);
    }
    if (seq > 0) {
      v.Int(seq);
      v.Uint(p.args_json.size());
      v.Uint(p.decision_json.size());
    } else {
      v.Null();
      v.Null();
      v.Null();
    }
  }
}

// The idempotency keys saved.
void PostgresStore::Impl::AppendIdempotencyWrites(const Batch& b, std::string* out) {
  std::string& sql = *out;
  if (!b.idem_writes.empty()) {
    sql.append(
        "INSERT INTO idempotency_keys(run_id, idem_key, request_sha256, answer, created_ms)"
        " VALUES ");
    for (size_t i = 0; i < b.idem_writes.size(); ++i) {
      const Batch::IdemWrite& w = b.idem_writes[i];
      if (i > 0) sql.push_back(',');
      sql.push_back('(');
      for (const std::string* t : {&w.run_id, &w.key, &w.row.request_sha256, &w.row.answer}) {
        pg::AppendLiteral(&sql, *t);
        sql.push_back(',');
      }
      AppendInt(&sql, w.at_ms);
      sql.push_back(')');
    }
    sql.push_back(';');
  }
}

// Kill switches, the operations' own SQL (tokens, results, ended runs), and the rate
// and daily counters.
void PostgresStore::Impl::AppendOtherWrites(const Batch& b, std::string* out) {
  std::string& sql = *out;
  for (const core::KillEntry& e : b.kill_writes) {
    sql.append(
        "INSERT INTO kill_switches(scope, target, engaged, reason, actor, time_ms) VALUES (");
    pg::AppendLiteral(&sql, e.scope);
    sql.push_back(',');
    pg::AppendLiteral(&sql, e.target);
    sql.append(e.engaged ? ",1," : ",0,");
    pg::AppendLiteral(&sql, e.reason);
    sql.push_back(',');
    pg::AppendLiteral(&sql, e.actor);
    sql.push_back(',');
    AppendInt(&sql, Millis(e.at));
    sql.append(
        ") ON CONFLICT (scope, target) DO UPDATE SET engaged = excluded.engaged,"
        " reason = excluded.reason, actor = excluded.actor, time_ms = excluded.time_ms;");
  }
  sql.append(b.sql);
  for (const auto& [key, w] : b.windows) {
    // Calls past their window are never counted again.
    sql.append("DELETE FROM rate_hits WHERE agent_id = ");
    pg::AppendLiteral(&sql, key.first);
    sql.append(" AND rate_key = ");
    pg::AppendLiteral(&sql, key.second);
    sql.append(" AND at_ms <= ");
    AppendInt(&sql, w.since_ms);
    sql.append(";");
  }
  for (const auto& [agent, key, at] : b.hits) {
    sql.append("INSERT INTO rate_hits(agent_id, rate_key, at_ms) VALUES (");
    pg::AppendLiteral(&sql, agent);
    sql.push_back(',');
    pg::AppendLiteral(&sql, key);
    sql.push_back(',');
    AppendInt(&sql, at);
    sql.append(");");
  }
  for (const auto& [key, d] : b.day_adds) {
    sql.append("INSERT INTO agent_days(agent_id, day, calls, tokens, cost_micros) VALUES (");
    pg::AppendLiteral(&sql, key.first);
    sql.push_back(',');
    AppendInt(&sql, key.second);
    sql.push_back(',');
    AppendUint(&sql, d.calls);
    sql.push_back(',');
    // The day's totals stop at the column's maximum, as SQLite's (kBumpDay): a sum past it
    // failed the batch ("bigint out of range"; RunOps then re-runs its operations alone).
    AppendInt(&sql, ClampToInt64(d.tokens));
    sql.push_back(',');
    AppendInt(&sql, d.cost_micros);
    sql.append(
        ") ON CONFLICT (agent_id, day) DO UPDATE SET calls = agent_days.calls + excluded.calls,"
        " tokens = LEAST(agent_days.tokens::numeric + excluded.tokens,"
        " 9223372036854775807)::bigint,"
        " cost_micros = LEAST(agent_days.cost_micros::numeric + excluded.cost_micros,"
        " 9223372036854775807)::bigint;");
  }
}

void PostgresStore::Impl::AppendEvents(Batch& b, std::string* sql,
                                       std::map<std::string_view, int64_t>* compact_decisions,
                                       BinaryWrites& w) {
  if (b.events.empty()) return;
  BinaryColumns& v = w.events;
  std::string& log = w.log;
  log.push_back('[');
  w.log_first = b.head.seq + 1;
  std::string body, data;
  for (const audit::AuditEvent& e : b.events) {
    const int64_t seq = b.head.seq + 1;
    audit::AppendAuditRecordBody(&body, seq, e, b.head.hash);
    std::string hash = audit::AuditRecordHash(b.head.hash, body);
    if (log.size() > 1) log.push_back(',');
    log.push_back('[');
    v.Int(seq);
    AppendInt(&log, seq);
    v.Int(Millis(e.time));
    log.push_back(',');
    AppendInt(&log, Millis(e.time));
    for (std::string_view t : {e.type, std::string_view(e.run_id), std::string_view(e.call_id),
                               std::string_view(e.agent_id), std::string_view(e.principal)}) {
      v.Text(t);
      log.push_back(',');
      AppendJsonString(t, &log);
    }
    // body, data: one of them NULL.
    std::string_view stored_body, stored_data;
    const bool compact = CompactForm(e, b.head.hash);
    if (compact) {
      if (compact_decisions != nullptr && e.type == audit::kDecision && !e.call_id.empty() &&
          !e.data_json.empty()) {
        compact_decisions->emplace(e.call_id, seq);
      }
      if (e.data_json.empty()) {
        data.clear();
        AppendJson(e.data, JsonStyle::kCanonical, &data);
        stored_data = data;
      } else {
        stored_data = e.data_json;
      }
      v.Null();
      v.Text(stored_data);
      log.append(",null,");
      AppendJsonString(stored_data, &log);
    } else {
      stored_body = body;
      v.Text(stored_body);
      v.Null();
      log.push_back(',');
      AppendJsonString(stored_body, &log);
      log.append(",null");
    }
    v.Text(b.head.hash);
    v.Text(hash);
    log.push_back(',');
    AppendJsonString(b.head.hash, &log);
    log.push_back(',');
    AppendJsonString(hash, &log);
    log.push_back(']');
    b.head.seq = seq;
    b.head.hash = std::move(hash);
  }
  log.push_back(']');
  w.log_last = b.head.seq;
  sql->append("UPDATE audit_head SET seq = ");
  AppendInt(sql, b.head.seq);
  sql->append(", hash = ");
  pg::AppendLiteral(sql, b.head.hash);
  sql->append(" WHERE id = 1;");
}

int64_t PostgresStore::Impl::ReferencedSeq(
    const Batch& b, const std::map<std::string_view, int64_t>& compact_decisions,
    const PendingCall& p) {
  auto it = compact_decisions.find(p.call_id);
  if (it == compact_decisions.end()) return 0;
  // AppendEvents has run: b.head is the batch's last record.
  const int64_t first_seq = b.head.seq - static_cast<int64_t>(b.events.size()) + 1;
  const std::string& data = b.events[static_cast<size_t>(it->second - first_seq)].data_json;
  constexpr std::string_view kArgs = "{\"args\":", kDecision = ",\"decision\":";
  const size_t decision_at = kArgs.size() + p.args_json.size() + kDecision.size();
  if (data.size() < decision_at + p.decision_json.size() || !data.starts_with(kArgs) ||
      data.compare(kArgs.size(), p.args_json.size(), p.args_json) != 0 ||
      data.compare(kArgs.size() + p.args_json.size(), kDecision.size(), kDecision) != 0 ||
      data.compare(decision_at, p.decision_json.size(), p.decision_json) != 0) {
    return 0;
  }
  return it->second;
}

bool PostgresStore::Impl::PolicyFollowsDecision(const Batch& b, int64_t seq, const PendingCall& p) {
  const int64_t first_seq = b.head.seq - static_cast<int64_t>(b.events.size()) + 1;
  const std::string& data = b.events[static_cast<size_t>(seq - first_seq)].data_json;
  constexpr std::string_view kPolicy = ",\"policy_sha256\":\"";
  const size_t at = 8 + p.args_json.size() + 12 + p.decision_json.size();
  for (char ch : p.policy_sha256) {
    if (static_cast<unsigned char>(ch) < 0x20 || ch == '"' || ch == '\\') return false;
  }
  return data.size() > at + kPolicy.size() + p.policy_sha256.size() &&
         data.compare(at, kPolicy.size(), kPolicy) == 0 &&
         data.compare(at + kPolicy.size(), p.policy_sha256.size(), p.policy_sha256) == 0 &&
         data[at + kPolicy.size() + p.policy_sha256.size()] == '"';
}

bool PostgresStore::Impl::CompactForm(const audit::AuditEvent& e, std::string_view prev) {
  constexpr int64_t kYear2100Ms = 4'102'444'800'000;
  const int64_t ms = Millis(e.time);
  if (ms < 0 || ms >= kYear2100Ms) return false;
  for (std::string_view s : {e.type, std::string_view(e.run_id), std::string_view(e.call_id),
                             std::string_view(e.agent_id), std::string_view(e.principal), prev}) {
    for (char ch : s) {
      if (static_cast<unsigned char>(ch) < 0x20 || ch == '"' || ch == '\\') return false;
    }
  }
  return true;
}

inline namespace pg_internal {

BinaryColumns::BinaryColumns(std::initializer_list<const char*> types)
    : types_(types.begin(), types.end()), elems_(types.size()), nulls_(types.size(), false) {}

std::string& BinaryColumns::Next() {
  std::string& c = elems_[next_];
  next_ = (next_ + 1) % elems_.size();
  if (next_ == 0) ++rows_;
  return c;
}

namespace {
void PutInt32(std::string* out, int32_t v) {
  const auto u = static_cast<uint32_t>(v);
  const char b[4] = {static_cast<char>(u >> 24), static_cast<char>(u >> 16),
                     static_cast<char>(u >> 8), static_cast<char>(u)};
  out->append(b, 4);
}
}  // namespace

void BinaryColumns::Text(std::string_view v) {
  std::string& c = Next();
  PutInt32(&c, static_cast<int32_t>(v.size()));
  c.append(v);
}

void BinaryColumns::Int(int64_t v) {
  std::string& c = Next();
  PutInt32(&c, 8);
  const auto u = static_cast<uint64_t>(v);
  PutInt32(&c, static_cast<int32_t>(u >> 32));
  PutInt32(&c, static_cast<int32_t>(u & 0xffffffffu));
}

void BinaryColumns::Null() {
  nulls_[next_] = true;
  PutInt32(&Next(), -1);
}

void BinaryColumns::Params(std::vector<unsigned>* types, std::vector<std::string>* values) const {
  constexpr unsigned kInt8 = 20, kText = 25, kInt8Array = 1016, kTextArray = 1009;
  for (size_t i = 0; i < elems_.size(); ++i) {
    const bool text = types_[i] == "text";
    types->push_back(text ? kTextArray : kInt8Array);
    std::string a;
    PutInt32(&a, 1);                  // dimensions
    PutInt32(&a, nulls_[i] ? 1 : 0);  // has nulls
    PutInt32(&a, static_cast<int32_t>(text ? kText : kInt8));
    PutInt32(&a, static_cast<int32_t>(rows_));  // length
    PutInt32(&a, 1);                            // lower bound
    a.append(elems_[i]);
    values->push_back(std::move(a));
  }
}

std::string BinaryColumns::Unnest(size_t first) const {
  std::string u = "unnest(";
  for (size_t i = 0; i < types_.size(); ++i) {
    if (i > 0) u.push_back(',');
    u += "$" + std::to_string(first + i) + "::" + types_[i] + "[]";
  }
  u.push_back(')');
  return u;
}

namespace {

struct BinaryPart {
  const BinaryColumns* rows;
  const char* insert;
};

// The non-empty parts of `w`, in the order the statement writes them: runs before the
// calls that name them, and the records last (the statement's main query).
boost::container::small_vector<BinaryPart, 3> PartsOf(const BinaryWrites& w) {
  boost::container::small_vector<BinaryPart, 3> parts;
  for (BinaryPart p : {BinaryPart{&w.runs, kInsertRuns}, BinaryPart{&w.calls, kInsertCalls},
                       BinaryPart{&w.events, kInsertEvents}}) {
    if (p.rows->rows() > 0) parts.push_back(p);
  }
  return parts;
}

}  // namespace

std::string BinaryWrites::Statement() const {
  const auto parts = PartsOf(*this);
  const size_t updates = run_updates.rows();
  std::string sql;
  size_t next = 1;
  if (!log.empty()) {
    // The durable copy of the records (schema 11), its text the first parameter.
    sql += "WITH wl AS (INSERT INTO audit_batches(first_seq, last_seq, records) VALUES (" +
           std::to_string(log_first) + ", " + std::to_string(log_last) + ", $1::text))";
    next = 2;
  }
  for (size_t i = 0; i < parts.size(); ++i) {
    // The last insert is the main query, unless the run updates' check is.
    const bool main = i + 1 == parts.size() && updates == 0;
    if (!main) sql += (sql.empty() ? "WITH w" : ", w") + std::to_string(i) + " AS (";
    if (main && !sql.empty()) sql.push_back(' ');
    sql += parts[i].insert;
    sql += parts[i].rows->Unnest(next);
    next += parts[i].rows->columns();
    if (!main) sql.push_back(')');
  }
  if (updates > 0) {
    // Every changed run must still be at the version this batch read, or the whole
    // transaction aborts (40001, interlock_expect_rows) and the batch re-runs.
    sql += parts.empty() && log.empty() ? "WITH u AS (" : ", u AS (";
    sql += kUpdateRuns;
    sql += run_updates.Unnest(next);
    sql += kRunUpdateMatch;
    sql += " RETURNING 1) SELECT interlock_expect_rows(count(*), " + std::to_string(updates) +
           ") FROM u";
  }
  return sql;
}

std::string BinaryWrites::RestoreStatement() const {
  if (run_updates.rows() == 0) return "";
  std::string sql = kUpdateRuns;
  sql += run_updates.Unnest(1);
  sql += kRunUpdateMatch;
  sql += " RETURNING runs.run_id";
  return sql;
}

Result<PgResult> BinaryWrites::Exec(PgConn& c, const std::string& statement,
                                    std::string* sqlstate) const {
  std::vector<unsigned> types;
  std::vector<std::string> values;
  Params(&types, &values);
  return c.ExecBinary(statement, types, values, sqlstate);
}

void BinaryWrites::Params(std::vector<unsigned>* types, std::vector<std::string>* values) const {
  if (!log.empty()) {
    constexpr unsigned kText = 25;  // binary text: the bytes
    types->push_back(kText);
    values->push_back(log);
  }
  for (const BinaryPart& p : PartsOf(*this)) p.rows->Params(types, values);
  if (run_updates.rows() > 0) run_updates.Params(types, values);
}

}  // namespace pg_internal

}  // namespace interlock::store

namespace interlock::store {

Result<int> PostgresStore::Impl::Txn::CountLiveChildren(std::string_view parent_run_id) {
  // The children as committed, less those this batch ended, and those it created.
  Result<PgResult> r =
      b_.conn->Exec("SELECT run_id FROM runs WHERE parent_run_id = $1 AND ended = 0",
                    {std::string(parent_run_id)}, b_.sqlstate);
  if (!r.ok()) return r.error();
  int n = 0;
  for (int i = 0; i < r->rows(); ++i) {
    auto it = b_.runs.find(r->Text(i, 0));
    n += it != b_.runs.end() && it->second.ended ? 0 : 1;
  }
  for (const auto& [id, row] : b_.runs) {
    n += row.is_new && row.parent_run_id == parent_run_id && !row.ended ? 1 : 0;
  }
  return n;
}

}  // namespace interlock::store
