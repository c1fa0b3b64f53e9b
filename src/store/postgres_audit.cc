#include "store/postgres_audit.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "audit/audit_log.h"
#include "common/status_macros.h"
#include "store/postgres_conn.h"
#include "store/postgres_read.h"
#include "store/postgres_store.h"

namespace interlock::store {
namespace {

// pg_try_advisory_lock key of the fleet's one pruner ("ilck" "prun").
constexpr int64_t kPruneLockKey = 0x696c636b7072756e;

class PgCheckpointStore final : public audit::CheckpointStore {
 public:
  PgCheckpointStore(std::string uri, std::string mirror_file)
      : uri_(std::move(uri)), mirror_file_(std::move(mirror_file)) {}

  Result<audit::AuditHead> CommittedHead() override {
    Result<pg::PgConn*> c = Conn();
    if (!c.ok()) return c.error();
    Result<pg::PgResult> r = (*c)->Exec(
        "SELECT h.seq, h.hash, l.seq, l.hash FROM audit_head h LEFT JOIN LATERAL"
        " (SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1) l ON true WHERE h.id = 1",
        {});
    if (!r.ok()) return Dropped(r.error());
    if (r->rows() != 1) {
      return Error::Corrupt("store: the audit head row is missing from the PostgreSQL store");
    }
    audit::AuditHead last;
    if (!r->IsNull(0, 2)) {
      last.seq = r->Int(0, 2);
      last.hash = std::string(r->Text(0, 3));
    }
    const audit::AuditHead row{r->Int(0, 0), std::string(r->Text(0, 1))};
    if (std::string p = audit::HeadRowProblem(last, row); !p.empty()) {
      return Error::Corrupt("the audit log's tail is missing: " + p);
    }
    return last;
  }

  Status Append(const audit::Checkpoint& cp) override {
    Result<pg::PgConn*> c = Conn();
    if (!c.ok()) return c.error();
    // The file first: its head is committed, so a line with no row is harmless, while a
    // row whose line failed would be inserted again at every retry (the checkpointer
    // retries an Append that failed), one duplicate a second for as long as the file fails.
    if (!mirror_file_.empty()) {
      INTERLOCK_RETURN_IF_ERROR(audit::AppendCheckpoint(mirror_file_, cp));
    }
    Result<pg::PgResult> r = (*c)->Exec("INSERT INTO audit_checkpoints(seq, line) VALUES ($1, $2)",
                                        {std::to_string(cp.seq), audit::CheckpointToJsonLine(cp)});
    if (!r.ok()) return Dropped(r.error());
    return Status::Ok();
  }

  Result<std::vector<audit::Checkpoint>> List() override {
    Result<pg::PgConn*> c = Conn();
    if (!c.ok()) return c.error();
    Result<std::vector<audit::Checkpoint>> rows = internal::PgReadCheckpoints(**c);
    if (!rows.ok()) return Dropped(rows.error());
    if (mirror_file_.empty()) return rows;
    Result<std::vector<audit::Checkpoint>> file = audit::ReadCheckpoints(mirror_file_);
    if (!file.ok()) {
      if (file.error().kind == ErrorKind::kNotFound) return rows;
      return file.error();
    }
    for (audit::Checkpoint& cp : *file) rows->push_back(std::move(cp));
    return rows;
  }

 private:
  Result<pg::PgConn*> Conn() {
    if (conn_ != nullptr && !conn_->Broken()) return conn_.get();
    conn_.reset();
    Result<std::unique_ptr<pg::PgConn>> c = internal::ConnectStore(uri_, pg::PgLimits{});
    if (!c.ok()) return c.error();
    conn_ = std::move(c).value();
    return conn_.get();
  }
  // A failed statement may leave the connection unusable: the next call reconnects.
  Error Dropped(Error e) {
    conn_.reset();
    return e;
  }

  std::string uri_, mirror_file_;
  std::unique_ptr<pg::PgConn> conn_;
};

class PgPruneTarget final : public audit::PruneTarget {
 public:
  PgPruneTarget(std::string uri, std::unique_ptr<pg::PgConn> conn)
      : uri_(std::move(uri)), conn_(std::move(conn)) {}
  // Releases the prune lock before closing the connection: a closed connection's lock is
  // released only when its server process has exited, after the close returned, so the
  // next pruner could still find it held (PostgresPruneLock.OnlyOnePrunerAtATime). A
  // connection that cannot answer leaves it to the server, as before.
  ~PgPruneTarget() override {
    if (conn_ != nullptr && !conn_->Broken()) {
      (void)conn_->Exec("SELECT pg_advisory_unlock(" + std::to_string(kPruneLockKey) + ")", {});
    }
  }

  Result<std::unique_ptr<audit::RecordSource>> OpenSource() override {
    return OpenPostgresRecordSource(uri_);
  }

  Result<std::optional<int64_t>> FirstSeqAtOrAfter(int64_t time_ms) override {
    // The time index finds the cutoff, the primary key the smallest seq after it.
    Result<pg::PgResult> r = conn_->Exec("SELECT min(seq) FROM audit_log WHERE time_ms >= $1",
                                         {std::to_string(time_ms)});
    if (!r.ok()) return r.error();
    if (r->rows() == 0 || r->IsNull(0, 0)) return std::optional<int64_t>();
    return std::optional<int64_t>(r->Int(0, 0));
  }

  Result<std::string> RecordHash(int64_t seq) override {
    Result<pg::PgResult> r =
        conn_->Exec("SELECT hash FROM audit_log WHERE seq = $1", {std::to_string(seq)});
    if (!r.ok()) return r.error();
    if (r->rows() == 0) {
      return Error::Corrupt("record " + std::to_string(seq) + " vanished while pruning");
    }
    return std::string(r->Text(0, 0));
  }

  Result<int64_t> DeleteBefore(int64_t upto, std::string_view anchor_hash) override {
    const std::string anchor = std::to_string(upto - 1);
    Result<std::vector<pg::PgResult>> locked = conn_->ExecScript(
        "BEGIN; SELECT hash FROM audit_log WHERE seq = " + anchor + " FOR UPDATE");
    if (!locked.ok()) return Rollback(locked.error());
    if (locked->size() < 2 || locked->back().rows() != 1 ||
        locked->back().Text(0, 0) != anchor_hash) {
      return Rollback(Error::Corrupt("record " + anchor + " changed while pruning"));
    }
    // Old rows only: the daemons' writers append at the head and never wait on these.
    // The table's checkpoints of pruned records go too, except the anchor (they could no
    // longer be checked; the writers' files keep them): the table stays the size of the
    // retained log, and so do the reads of every start and verify.
    // A call row that refers to a pruned decision record for its arguments and decision
    // (postgres_read.h) gets the texts back first: call rows outlive their records.
    const std::string upto_s = std::to_string(upto);
    Result<std::vector<pg::PgResult>> done = conn_->ExecScript(
        std::string("UPDATE calls c SET args_json = ") + internal::kPgCallArgsJson +
        ", decision_json = " + internal::kPgCallDecisionJson +
        ", policy_sha256 = " + internal::kPgCallPolicySha256 +
        ", decision_seq = NULL, args_len = NULL, decision_len = NULL FROM audit_log a"
        " WHERE a.type = 'decision' AND a.seq < " +
        upto_s + " AND c.call_id = a.call_id AND c.decision_seq = a.seq;" +
        "DELETE FROM audit_log WHERE seq < " + upto_s +
        "; DELETE FROM audit_checkpoints WHERE seq < " + anchor +
        // The durable batches (schema 11) go with them: a batch across the cut keeps its
        // retained records only, so a rebuild (EnsureAuditLog) brings back none it pruned.
        "; DELETE FROM audit_batches WHERE last_seq < " + upto_s +
        "; UPDATE audit_batches SET first_seq = " + upto_s +
        ", records = (SELECT json_agg(r ORDER BY (r->>0)::bigint)::text FROM"
        " json_array_elements(records::json) r WHERE (r->>0)::bigint >= " +
        upto_s + ") WHERE first_seq < " + upto_s + " AND last_seq >= " + upto_s + "; COMMIT");
    if (!done.ok()) return Rollback(done.error());
    if (done->size() < 2) return Rollback(Error::Internal("store: prune answered too few results"));
    return (*done)[1].Affected();
  }

 private:
  Error Rollback(Error e) {
    if (!conn_->Broken()) conn_->ExecScript("ROLLBACK").ok();
    return e;
  }

  std::string uri_;
  std::unique_ptr<pg::PgConn> conn_;  // holds the advisory lock
};

// Migrates the database to this binary's schema (the checkpoint table is schema 7), as a
// daemon's start does, so a CLI run before any daemon of this version finds its table.
Status Migrate(const std::string& uri) {
  PostgresOptions o;
  o.uri = uri;
  o.listen = false;
  Result<std::unique_ptr<PostgresStore>> s = PostgresStore::Open(o);
  if (!s.ok()) return s.error();
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<audit::CheckpointStore>> OpenPostgresCheckpointStore(
    const std::string& uri, const std::string& mirror_file) {
  if (Status s = Migrate(uri); !s.ok()) return s.error();
  return std::unique_ptr<audit::CheckpointStore>(
      std::make_unique<PgCheckpointStore>(uri, mirror_file));
}

Result<std::unique_ptr<audit::PruneTarget>> OpenPostgresPruneTarget(const std::string& uri) {
  Result<std::unique_ptr<pg::PgConn>> c = internal::ConnectStore(uri, pg::PgLimits{});
  if (!c.ok()) return c.error();
  Result<pg::PgResult> r =
      (*c)->Exec("SELECT pg_try_advisory_lock(" + std::to_string(kPruneLockKey) + ")", {});
  if (!r.ok()) return r.error();
  if (r->rows() != 1 || r->Text(0, 0) != "t") {
    return Error{ErrorKind::kAlreadyExists,
                 "another process of the fleet is pruning the audit log now (it holds the "
                 "prune lock); nothing was pruned"};
  }
  return std::unique_ptr<audit::PruneTarget>(
      std::make_unique<PgPruneTarget>(uri, std::move(c).value()));
}

}  // namespace interlock::store
