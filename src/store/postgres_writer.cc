// PostgresStore::Impl's writer thread: the queue, batches with their retries, anchors, and
// the reconciliation of a COMMIT whose outcome was not confirmed (postgres_store_internal.h).

#include "common/await.h"
#include "common/status_macros.h"
#include "store/postgres_store_internal.h"

namespace interlock::store {

void PostgresStore::Impl::Submit(Op op) {
  op.enqueued = Clock::now();
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      queue_.push_back(std::move(op));
      cv_.notify_one();
      return;
    }
  }
  op.done(Error::Unavailable("store: closing"));
}

Status PostgresStore::Impl::SubmitAndWait(std::vector<std::string> run_ids,
                                          std::function<Status(Batch&)> apply,
                                          decltype(Op::prefetch) prefetch, core::AnchorNeed anchor,
                                          bool alone) {
  return AwaitCallback<Status>([&](auto done) {
    Submit(Op{std::move(run_ids),
              std::move(apply),
              std::move(done),
              {},
              std::move(prefetch),
              anchor,
              alone});
  });
}

void PostgresStore::Impl::Rollback(PgConn& c) {
  if (!c.Broken()) c.ExecScript("ROLLBACK").ok();
}

void PostgresStore::Impl::WriterLoop() {
  SetThreadName("il-pg-writer");
  std::deque<Op> batch;  // a deque: JoinQueued appends while pointers to its ops live
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, drained
      const size_t n = std::min(queue_.size(), static_cast<size_t>(options_.max_batch));
      for (size_t i = 0; i < n; ++i) {
        // An anchored op commits alone (its checkpoint covers its records only), and so
        // does one whose reads a batch-mate could invalidate (Op::alone).
        const bool alone = queue_.front().Alone();
        if (alone && !batch.empty()) break;
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
        if (alone) break;
      }
    }
    RunOps(batch);
    batch.clear();
  }
}

void PostgresStore::Impl::RunOps(std::deque<Op>& ops) {
  ReconcileOwed();
  const auto now = Clock::now();
  std::vector<Op*> live;
  for (Op& op : ops) {
    if (now - op.enqueued > kMaxQueueWait) {
      op.done(Error::Unavailable("store: postgresql did not answer in time (queued too long)"));
    } else {
      live.push_back(&op);
    }
  }
  if (live.empty()) return;
  std::vector<Status> statuses;
  bool op_fault = false;
  Status s = RunBatch(&live, &statuses, &op_fault, &ops);
  if (!s.ok() && op_fault && live.size() > 1) {
    for (Op* op : live) {
      std::vector<Op*> one{op};
      std::vector<Status> st;
      bool fault = false;
      Status s1 = RunBatch(&one, &st, &fault, nullptr);
      op->done(s1.ok() ? std::move(st[0]) : s1);
    }
    return;
  }
  for (size_t i = 0; i < live.size(); ++i) live[i]->done(s.ok() ? std::move(statuses[i]) : s);
}

Status PostgresStore::Impl::EnsureConnection(std::unique_ptr<PgConn>* conn,
                                             Clock::time_point* down_until) {
  if (*conn != nullptr && !(*conn)->Broken()) return Status::Ok();
  conn->reset();
  if (Clock::now() < *down_until) {
    return Error::Unavailable("store: postgresql unreachable (retrying)");
  }
  return Connect(conn, down_until);
}

Status PostgresStore::Impl::Connect(std::unique_ptr<PgConn>* conn, Clock::time_point* down_until) {
  Result<std::unique_ptr<PgConn>> c = internal::ConnectStore(options_.uri, options_.limits);
  if (!c.ok()) {
    *down_until = Clock::now() + kReconnectBackoff;
    return c.error();
  }
  *conn = std::move(c).value();
  return Status::Ok();
}

void PostgresStore::Impl::JoinQueued(std::deque<Op>* held, std::vector<Op*>* ops) {
  for (const Op* op : *ops) {
    if (op->Alone()) return;
  }
  const auto now = Clock::now();
  std::lock_guard lock(mu_);
  // An operation queued too long stays for RunOps to refuse, as any other.
  while (!queue_.empty() && ops->size() < static_cast<size_t>(options_.max_batch) &&
         !queue_.front().Alone() && now - queue_.front().enqueued <= kMaxQueueWait) {
    held->push_back(std::move(queue_.front()));
    queue_.pop_front();
    ops->push_back(&held->back());
  }
}

Status PostgresStore::Impl::RunBatch(std::vector<Op*>* ops, std::vector<Status>* statuses,
                                     bool* op_fault, std::deque<Op>* held) {
  Status last = Status::Ok();
  bool reconnected = false;
  for (int attempt = 0; attempt < kMaxRetries; ++attempt) {
    INTERLOCK_RETURN_IF_ERROR(EnsureWriter());
    std::string sqlstate;
    bool committing = false;
    statuses->clear();
    last = TryBatch(ops, held, statuses, &sqlstate, &committing);
    if (last.ok()) return last;
    if (!committing && !reconnected && writer_->Broken()) {
      // The server closed the connection since the last batch (a restart, a failover)
      // and nothing of this batch was written: once more on a fresh connection. (A
      // connection lost during the COMMIT is not retried: it may have committed.)
      writer_.reset();
      reconnected = true;
      --attempt;
      continue;
    }
    if (writer_ != nullptr) Rollback(*writer_);
    if (sqlstate == pg::kSerializationFailure || sqlstate == pg::kDeadlockDetected) continue;
    // Anything else: drop the connection (a failover may have made it a standby; the
    // next batch reconnects, to the new primary with target_session_attrs=read-write).
    *op_fault = !sqlstate.empty() && sqlstate.rfind("08", 0) != 0 && sqlstate.rfind("25", 0) != 0 &&
                sqlstate.rfind("57", 0) != 0 && sqlstate.rfind("53", 0) != 0 && sqlstate != "55P03";
    writer_.reset();
    return last;
  }
  return Error::Unavailable("store: postgresql transaction conflicted " +
                            std::to_string(kMaxRetries) + " times: " + last.error().message);
}

Status PostgresStore::Impl::TryBatch(std::vector<Op*>* ops_in, std::deque<Op>* held,
                                     std::vector<Status>* statuses, std::string* sqlstate,
                                     bool* committing) {
  const std::vector<Op*>& ops = *ops_in;
  PgConn& c = *writer_;
  Batch b;
  b.conn = &c;
  b.sqlstate = sqlstate;
  b.options = &options_;
  // Round trip 1: the transaction, the chain head (the lock every writer takes first),
  // the engaged kill switches and, when no operation has rows to read first, every run
  // row the batch touches, locked.
  std::set<std::string> ids;
  bool prefetching = false;
  for (const Op* op : ops) {
    ids.insert(op->run_ids.begin(), op->run_ids.end());
    prefetching = prefetching || static_cast<bool>(op->prefetch);
  }
  std::string script =
      "BEGIN; SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE;"
      " SELECT scope, target, reason FROM kill_switches WHERE engaged = 1"
      " ORDER BY scope, target;";
  std::set<std::string> locked;
  if (!prefetching && !ids.empty()) {
    locked = ids;
    AppendLockRuns(&script, locked);
  }
  Result<std::vector<PgResult>> start = c.ExecScript(script, sqlstate);
  if (!start.ok()) return start.error();
  if (start->size() < 3 || (*start)[1].rows() != 1) {
    return Error::Corrupt("store: the audit head row is missing from the PostgreSQL store");
  }
  b.head.seq = (*start)[1].Int(0, 0);
  b.head.hash = std::string((*start)[1].Text(0, 1));
  const PgResult& kills = (*start)[2];
  for (int i = 0; i < kills.rows(); ++i) {
    b.kills.Set(kills.Text(i, 0), kills.Text(i, 1), true, std::string(kills.Text(i, 2)));
  }
  std::vector<const PgResult*> run_sets;
  if (start->size() == 4) run_sets.push_back(&(*start)[3]);
  // The lock is held: the operations queued meanwhile join (the head, the kills and the
  // rows read so far are as current for them as for the rest: every writer takes the
  // head's lock before reading anything it decides on).
  if (held != nullptr) {
    const size_t before = ops.size();
    JoinQueued(held, ops_in);
    for (size_t i = before; i < ops.size(); ++i) {
      ids.insert(ops[i]->run_ids.begin(), ops[i]->run_ids.end());
      prefetching = prefetching || static_cast<bool>(ops[i]->prefetch);
    }
  }
  // Rows other than runs (calls, tokens): one round trip per operation that needs them,
  // then one for the runs not locked yet. (Locking runs in two steps cannot deadlock
  // with another writer: both hold the audit head's lock first.)
  std::vector<std::optional<Status>> refused(ops.size());
  if (prefetching) {
    for (size_t i = 0; i < ops.size(); ++i) {
      if (!ops[i]->prefetch) continue;
      std::vector<std::string> more;
      Status s = ops[i]->prefetch(c, b, &more, sqlstate);
      if (!s.ok() && s.error().kind == ErrorKind::kUnavailable) return s;
      if (!s.ok()) refused[i] = std::move(s);
      ids.insert(more.begin(), more.end());
    }
  }
  std::set<std::string> rest;
  std::set_difference(ids.begin(), ids.end(), locked.begin(), locked.end(),
                      std::inserter(rest, rest.end()));
  std::optional<std::vector<PgResult>> later;
  if (!rest.empty()) {
    std::string lock;
    AppendLockRuns(&lock, rest);
    Result<std::vector<PgResult>> r = c.ExecScript(lock, sqlstate);
    if (!r.ok()) return r.error();
    later = std::move(r).value();
    if (!later->empty()) run_sets.push_back(&later->front());
  }
  for (const PgResult* runs : run_sets) {
    for (int i = 0; i < runs->rows(); ++i) {
      Result<Row> row = ReadRow(*runs, i, 1);
      if (!row.ok()) return row.error();
      b.runs.emplace(std::string(runs->Text(i, 0)), std::move(row).value());
    }
  }
  ApplyOps(ops, &refused, &b, statuses);
  return CommitBatch(ops, &b, run_sets, sqlstate, committing);
}

// The operations, in memory. A failed one leaves nothing: what it appended is dropped
// (rows change only as its last step).
void PostgresStore::Impl::ApplyOps(const std::vector<Op*>& ops,
                                   std::vector<std::optional<Status>>* refused_in, Batch* batch,
                                   std::vector<Status>* statuses) {
  std::vector<std::optional<Status>>& refused = *refused_in;
  Batch& b = *batch;
  for (size_t i = 0; i < ops.size(); ++i) {
    if (refused[i]) {
      statuses->push_back(std::move(*refused[i]));
      continue;
    }
    const size_t calls = b.calls.size(), events = b.events.size(),
                 kill_writes = b.kill_writes.size(), sql_size = b.sql.size(), hits = b.hits.size(),
                 idem_writes = b.idem_writes.size();
    const auto day_adds = b.day_adds;
    std::optional<internal::PgApprovalBatch> approvals;
    if (!b.approvals.rows.empty() || !b.approvals.notify.empty()) approvals = b.approvals;
    Status s = ops[i]->apply(b);
    if (!s.ok()) {
      if (approvals) {
        b.approvals = std::move(*approvals);
      } else {
        b.approvals = internal::PgApprovalBatch{};
      }
      b.idem_writes.resize(idem_writes);
      b.calls.resize(calls);
      b.events.resize(events);
      b.kill_writes.resize(kill_writes);
      b.sql.resize(sql_size);
      b.hits.resize(hits);
      b.day_adds = day_adds;
    }
    statuses->push_back(std::move(s));
  }
}

// The last two round trips: the batch's new runs, calls and audit records as binary array
// parameters (BinaryWrites), then every other write, the head row, the anchor and the
// COMMIT. The rows' own round trip costs less than the server's reading of their text in
// the script (docs/performance.md, "The fleet": PostgreSQL's CPU per decision 35 -> 30 µs
// and the fleet +10-12% with the records alone).
Status PostgresStore::Impl::CommitBatch(const std::vector<Op*>& ops, Batch* batch,
                                        const std::vector<const PgResult*>& run_sets,
                                        std::string* sqlstate, bool* committing) {
  PgConn& c = *writer_;
  Batch& b = *batch;
  const int64_t first_seq = b.head.seq + 1;  // of the records this batch appends
  BinaryWrites rows;
  std::string sql = Flush(b, &rows);
  Result<std::optional<audit::Checkpoint>> anchor = AnchorBatch(ops, b, &sql);
  if (!anchor.ok()) return anchor.error();
  const std::string statement = rows.Statement();
  if (statement.empty() && sql.empty() && !*anchor) {
    // Nothing to write (the approval sweep's every 250 ms with nothing due, a read under
    // the head's lock): ROLLBACK. A COMMIT would flush the head row lock's WAL and wait for
    // the disk and a synchronous standby while holding the lock every writer of the fleet
    // takes first (a stalled standby then made the other daemons' calls fail on that lock).
    Result<std::vector<PgResult>> done = c.ExecScript("ROLLBACK", sqlstate);
    return done.ok() ? Status::Ok() : Status(done.error());
  }
  if (!statement.empty()) {
    // Nothing is committed yet: a failure here is a failed batch like any other.
    Result<PgResult> inserted = rows.Exec(c, statement, sqlstate);
    if (!inserted.ok()) return inserted.error();
  }
  sql.append("COMMIT");
  *committing = true;
  c.TakeWarning();  // only the warnings of this round trip count
  // The client bounds this round trip: a COMMIT waiting for a synchronous standby that
  // stopped answering ignores statement_timeout (pg::PgConn::ExecScript).
  Result<std::vector<PgResult>> done = c.ExecScript(
      sql, sqlstate, std::chrono::milliseconds(options_.limits.statement_timeout_ms + 1000));
  if (!done.ok()) return done.error();
  // A COMMIT the server reports done with a WARNING (its wait for a synchronous standby
  // cancelled) may be lost by a failover: fail closed, as when
  // the connection drops during the COMMIT (the rows may stay; nobody is told allow).
  if (std::string warning = c.TakeWarning(); !warning.empty()) {
    // Its rows stay on this primary: the trail says, in the same chain, that the
    // callers were told STORE_UNAVAILABLE (Reconcile), before they are told when it can.
    const std::string told = "store: postgresql COMMIT not confirmed (" + warning +
                             "): the decision may not have reached the synchronous standby";
    Unconfirmed u = MakeUnconfirmed(b, first_seq, run_sets, warning, told);
    const Status reconciled = Reconcile(c, u);
    std::fprintf(stderr,
                 "interlock: store: postgresql COMMIT not confirmed (%s): %zu operation(s) "
                 "answered STORE_UNAVAILABLE; %s\n",
                 warning.c_str(), ops.size(),
                 reconciled.ok() ? "reconciled in the audit trail"
                                 : ("reconciled later, with the next batch (" +
                                    reconciled.error().message + ")")
                                       .c_str());
    if (!reconciled.ok()) Defer(std::move(u));
    return Error::Unavailable(told);
  }
  if (*anchor && options_.checkpoint_signer.mirror) {
    // The local copy, once the row committed (a copy of a rolled-back attempt would
    // name a record that never was).
    if (Status m = options_.checkpoint_signer.mirror(**anchor); !m.ok()) {
      // Counted with the anchoring failures: the anchor exists only where a database
      // writer could delete it.
      const uint64_t n = anchor_failures_.fetch_add(1) + 1;
      std::fprintf(stderr,
                   "interlock: audit: the checkpoint of seq %lld is in the database but not "
                   "in the local checkpoint file (%llu anchoring failures so far): %s\n",
                   static_cast<long long>((*anchor)->seq), static_cast<unsigned long long>(n),
                   m.error().message.c_str());
    }
  }
  return Status::Ok();
}

PostgresStore::Impl::Unconfirmed PostgresStore::Impl::MakeUnconfirmed(
    const Batch& b, int64_t first_seq, const std::vector<const PgResult*>& run_sets,
    const std::string& warning, const std::string& told) {
  Unconfirmed u;
  u.first_seq = first_seq;
  u.last_seq = b.head.seq;
  u.warning = warning;
  u.told_reason = told;
  u.calls = b.calls;
  for (size_t i = 0; i < b.events.size(); ++i) {
    if (b.events[i].type == audit::kDecision && !b.events[i].call_id.empty()) {
      u.decision_seq.emplace(b.events[i].call_id, first_seq + static_cast<int64_t>(i));
    }
  }
  for (const PgResult* runs : run_sets) {  // new runs stay (empty)
    for (int i = 0; i < runs->rows(); ++i) {
      const std::string id(runs->Text(i, 0));
      auto it = b.runs.find(id);
      if (it == b.runs.end() || it->second.is_new || !it->second.dirty) continue;
      Result<Row> row = ReadRow(*runs, i, 1);
      if (!row.ok()) continue;
      u.before.emplace(id, std::move(row).value());
      u.version_after.emplace(id, it->second.db_version + 1);  // Flush's version + 1
    }
  }
  u.idem_writes = b.idem_writes;
  u.day_adds = b.day_adds;
  u.hits = b.hits;
  return u;
}

void PostgresStore::Impl::AppendUndoneCounts(const Unconfirmed& u, std::string* sql) {
  for (const Batch::IdemWrite& w : u.idem_writes) {
    sql->append("DELETE FROM idempotency_keys WHERE run_id = ");
    pg::AppendLiteral(sql, w.run_id);
    sql->append(" AND idem_key = ");
    pg::AppendLiteral(sql, w.key);
    sql->append(";");
  }
  for (const auto& [key, d] : u.day_adds) {
    sql->append("UPDATE agent_days SET calls = calls - ");
    AppendUint(sql, d.calls);
    // What the batch added, as it was written (ClampToInt64): a day held at the maximum
    // comes back no lower than zero.
    sql->append(", tokens = GREATEST(tokens - ");
    AppendInt(sql, ClampToInt64(d.tokens));
    sql->append(", 0), cost_micros = GREATEST(cost_micros - ");
    AppendInt(sql, d.cost_micros);
    sql->append(", 0) WHERE agent_id = ");
    pg::AppendLiteral(sql, key.first);
    sql->append(" AND day = ");
    AppendInt(sql, key.second);
    sql->append(";");
  }
  for (const auto& [agent, key, at] : u.hits) {
    sql->append(
        "DELETE FROM rate_hits WHERE ctid IN (SELECT ctid FROM rate_hits"
        " WHERE agent_id = ");
    pg::AppendLiteral(sql, agent);
    sql->append(" AND rate_key = ");
    pg::AppendLiteral(sql, key);
    sql->append(" AND at_ms = ");
    AppendInt(sql, at);
    sql->append(" LIMIT 1);");
  }
}

Status PostgresStore::Impl::Reconcile(PgConn& c, const Unconfirmed& u) {
  std::string sqlstate;
  std::string sql =
      "BEGIN; SET LOCAL synchronous_commit = local; SET LOCAL lock_timeout = 250;"
      " SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE;";
  constexpr size_t kHeadResults = 4;  // BEGIN, two SETs, the head
  Result<std::vector<PgResult>> first = c.ExecScript(sql, &sqlstate);
  if (!first.ok() || first->size() != kHeadResults || (*first)[kHeadResults - 1].rows() != 1) {
    Rollback(c);
    return first.ok() ? Error::Corrupt("store: the audit head row is missing") : first.error();
  }
  // Each run the batch changed goes back to its state before, where it is still at the
  // version the batch left (a later batch may have moved it on: then it stays).
  std::set<std::string, std::less<>> restored;
  BinaryWrites runs;
  std::string scratch;
  for (const auto& [id, row] : u.before) {
    FillRunUpdate(id, u.version_after.find(id)->second, row, runs.run_updates, &scratch);
  }
  if (const std::string statement = runs.RestoreStatement(); !statement.empty()) {
    Result<PgResult> updated = runs.Exec(c, statement, &sqlstate);
    if (!updated.ok()) {
      Rollback(c);
      return updated.error();
    }
    for (int i = 0; i < updated->rows(); ++i) restored.emplace(updated->Text(i, 0));
  }
  Batch r;
  r.head.seq = (*first)[kHeadResults - 1].Int(0, 0);
  r.head.hash = std::string((*first)[kHeadResults - 1].Text(0, 1));
  const TimePoint now = Now();
  const std::string reason =
      "the store's COMMIT was not confirmed by the synchronous standby (" + u.warning + ")";
  boost::json::object batch{{"first_seq", u.first_seq},
                            {"last_seq", u.last_seq},
                            {"calls", u.calls.size()},
                            {"warning", u.warning},
                            {"reason", reason}};
  r.events.push_back(
      audit::AuditEvent{audit::kCommitUnconfirmed, now, "", "", "", "", std::move(batch)});
  std::string ids;
  sql.clear();
  for (const PendingCall& p : u.calls) {
    // The answer the Guard made of this store's error (core/guard.cc), as the agent got it.
    Decision told = DenyDecision(Code::kStoreUnavailable, u.told_reason, "store");
    told.agent_id = p.agent_id;
    told.tool = p.tool;
    std::string told_json;
    AppendDecisionJson(told, JsonStyle::kCanonical, &told_json);
    sql.append("UPDATE calls SET verdict = ");
    pg::AppendLiteral(&sql, VerdictName(told.verdict));
    sql.append(", code = ");
    pg::AppendLiteral(&sql, CodeName(told.code));
    sql.append(", decision_json = ");
    pg::AppendLiteral(&sql, told_json);
    sql.append(" WHERE call_id = ");
    pg::AppendLiteral(&sql, p.call_id);
    sql.append(";");
    // Both written by this store; text that no longer parses is recorded as text.
    auto own = [](const std::string& text) {
      Result<boost::json::value> v = ParseOwnJson(text);
      return v.ok() ? std::move(*v) : boost::json::value(text);
    };
    boost::json::object d{{"tool", p.tool},
                          {"recorded", own(p.decision_json)},
                          {"told", own(told_json)},
                          {"budget_restored", restored.count(p.run_id) > 0}};
    if (auto it = u.decision_seq.find(p.call_id); it != u.decision_seq.end()) {
      d["recorded_seq"] = it->second;
    }
    if (auto it = u.before.find(p.run_id); it != u.before.end() && restored.count(p.run_id)) {
      std::string state;
      audit::AppendCanonicalAuditState(&state, it->second.state);
      d["state_after"] = own(state);
    }
    if (p.verdict == VerdictName(Verdict::kApprovalRequired)) d["approval"] = "cancelled";
    r.events.push_back(audit::AuditEvent{audit::kDecisionReconciled, now, p.run_id, p.call_id,
                                         p.agent_id, p.principal, std::move(d)});
    if (!ids.empty()) ids.push_back(',');
    pg::AppendLiteral(&ids, p.call_id);
  }
  if (!ids.empty()) {
    sql.append("UPDATE approvals SET state = 'cancelled', decided_ms = ");
    AppendInt(&sql, Millis(now));
    sql.append(", reason = ");
    pg::AppendLiteral(&sql, reason);
    sql.append(" WHERE state = 'pending' AND call_id IN (" + ids + ");");
  }
  AppendUndoneCounts(u, &sql);
  // The records as a batch writes them (BinaryWrites), the head row in the script.
  BinaryWrites rows;
  AppendEvents(r, &sql, nullptr, rows);
  if (const std::string statement = rows.Statement(); !statement.empty()) {
    if (Result<PgResult> inserted = rows.Exec(c, statement, &sqlstate); !inserted.ok()) {
      Rollback(c);
      return inserted.error();
    }
  }
  sql.append("COMMIT");
  Result<std::vector<PgResult>> done = c.ExecScript(
      sql, &sqlstate, std::chrono::milliseconds(options_.limits.statement_timeout_ms + 1000));
  if (!done.ok()) {
    Rollback(c);
    return done.error();
  }
  return Status::Ok();
}

void PostgresStore::Impl::Defer(Unconfirmed u) {
  if (unreconciled_.size() >= kMaxUnreconciled) {
    std::fprintf(stderr,
                 "interlock: store: the reconciliation of records %lld..%lld is given up: "
                 "the trail keeps decisions the agents were told were denied\n",
                 static_cast<long long>(unreconciled_.front().first_seq),
                 static_cast<long long>(unreconciled_.front().last_seq));
    unreconciled_.pop_front();
  }
  unreconciled_.push_back(std::move(u));
}

void PostgresStore::Impl::ReconcileOwed() {
  while (!unreconciled_.empty()) {
    if (!EnsureWriter().ok()) return;
    if (!Reconcile(*writer_, unreconciled_.front()).ok()) return;
    std::fprintf(stderr, "interlock: store: records %lld..%lld reconciled in the audit trail\n",
                 static_cast<long long>(unreconciled_.front().first_seq),
                 static_cast<long long>(unreconciled_.front().last_seq));
    unreconciled_.pop_front();
  }
}

Result<std::optional<audit::Checkpoint>> PostgresStore::Impl::AnchorBatch(
    const std::vector<Op*>& ops, const Batch& b, std::string* sql) {
  if (ops.size() != 1 || ops[0]->anchor == core::AnchorNeed::kNone || b.events.empty() ||
      !options_.checkpoint_signer) {
    return std::optional<audit::Checkpoint>();
  }
  Result<audit::Checkpoint> cp = options_.checkpoint_signer.sign(b.head);
  if (cp.ok()) {
    sql->append("INSERT INTO audit_checkpoints(seq, line) VALUES (");
    AppendInt(sql, cp->seq);
    sql->push_back(',');
    pg::AppendLiteral(sql, audit::CheckpointToJsonLine(*cp));
    sql->append(");");
    return std::optional<audit::Checkpoint>(std::move(cp).value());
  }
  if (Status failed = core::AnchorFailed(ops[0]->anchor, b.head.seq, cp.error(), &anchor_failures_);
      !failed.ok()) {
    return failed.error();
  }
  return std::optional<audit::Checkpoint>();
}

}  // namespace interlock::store
