#include "audit/tail.h"

#include <sqlite3.h>

#include <algorithm>
#include <vector>

#include "audit/audit_log.h"
#include "audit/sqlite_util.h"

namespace interlock::audit {
namespace {

TailReport Fail(TailReport r, int64_t seq, std::string problem) {
  r.ok = false;
  r.bad_seq = seq;
  r.problem = std::move(problem);
  return r;
}

// A run head naming a record past the end ("" when none does).
Result<std::string> RunHeadPastEnd(sqlite3* db, int64_t last_seq, int64_t* bad_seq) {
  Result<bool> linked = HasRunLinks(db);
  if (!linked.ok()) return linked.error();
  if (!*linked) return std::string();
  Statement st;
  if (Status s = st.Prepare(db,
                            "SELECT run_id, head_seq FROM audit_runs WHERE head_seq > ?1"
                            " ORDER BY head_seq DESC LIMIT 1");
      !s.ok()) {
    return s.error();
  }
  st.BindInt64(1, last_seq);
  const int rc = sqlite3_step(st.get());
  if (rc == SQLITE_DONE) return std::string();
  if (rc != SQLITE_ROW) return SqliteError(db, "read audit_runs");
  *bad_seq = last_seq + 1;
  return "run " + std::string(st.Text(0)) + "'s head names seq " + std::to_string(st.Int64(1)) +
         " but the log ends at seq " + std::to_string(last_seq) +
         ": records were deleted from the tail";
}

// The latest checkpoint by seq (the last one in the file among equals).
const Checkpoint* Latest(std::span<const Checkpoint> cps) {
  const Checkpoint* latest = nullptr;
  for (const Checkpoint& cp : cps) {
    if (latest == nullptr || cp.seq >= latest->seq) latest = &cp;
  }
  return latest;
}

// Records from `cp.seq` to the end: the first has the signed hash, each one after it
// chains onto its predecessor and hashes to its stored hash. `problem` stays empty when
// all do. A checkpoint for the record just before the first one (a prune's anchor) must
// be the first record's prev; an older one covers pruned records only.
Status CheckFromCheckpoint(sqlite3* db, const Checkpoint& cp, std::string* problem,
                           int64_t* bad_seq) {
  Statement first;
  if (Status s = first.Prepare(db, "SELECT MIN(seq) FROM audit_log"); !s.ok()) return s;
  if (sqlite3_step(first.get()) != SQLITE_ROW) return SqliteError(db, "read audit_log");
  const int64_t first_seq = first.Int64(0);
  int64_t expected = std::max(cp.seq, first_seq);
  std::string prev;
  bool have_prev = false;
  if (cp.seq == first_seq - 1) {
    prev = cp.hash;
    have_prev = true;
  }
  Statement st;
  if (Status s = st.Prepare(db,
                            "SELECT seq, body, prev_hash, hash FROM audit_log WHERE seq >= ?1"
                            " ORDER BY seq");
      !s.ok()) {
    return s;
  }
  st.BindInt64(1, expected);
  const std::string where = "the signed checkpoint for seq " + std::to_string(cp.seq) + " of " +
                            cp.time +
                            (cp.line > 0 ? " (line " + std::to_string(cp.line) + ")" : "");
  for (;;) {
    const int rc = sqlite3_step(st.get());
    if (rc == SQLITE_DONE) return Status::Ok();
    if (rc != SQLITE_ROW) return SqliteError(db, "read audit_log");
    const int64_t seq = st.Int64(0);
    const std::string_view prev_col = st.Text(2);
    const std::string_view hash = st.Text(3);
    const std::string seq_s = std::to_string(seq);
    if (seq != expected) {
      *bad_seq = expected;
      *problem = expected == cp.seq
                     ? "record " + std::to_string(cp.seq) + ", named by " + where + ", is missing"
                     : "records " + std::to_string(expected) + ".." + std::to_string(seq - 1) +
                           " are missing";
      return Status::Ok();
    }
    if (seq == cp.seq && hash != cp.hash) {
      *bad_seq = seq;
      *problem = "record " + seq_s + "'s hash differs from " + where +
                 ": the log was rewritten after the checkpoint";
      return Status::Ok();
    }
    if (have_prev && prev_col != prev) {
      *bad_seq = seq;
      *problem = "record " + seq_s + "'s prev hash does not match " +
                 (seq == cp.seq + 1 ? where : "record " + std::to_string(seq - 1)) +
                 " (a record was inserted, replaced or reordered)";
      return Status::Ok();
    }
    if (AuditRecordHash(prev_col, st.Text(1)) != hash) {
      *bad_seq = seq;
      *problem = "record " + seq_s + ": hash mismatch (its body or hash was modified)";
      return Status::Ok();
    }
    prev.assign(hash);
    have_prev = true;
    ++expected;
  }
}

}  // namespace

Result<TailReport> CheckAuditTail(sqlite3* db, const TailCheckOptions& options) {
  if (Status s =
          CheckAuditReadable(db, !options.checkpoints.empty(), options.public_key != nullptr);
      !s.ok()) {
    return s.error();
  }

  TailReport r;
  Result<AuditHead> last = ReadLastRecord(db);
  if (!last.ok()) return last.error();
  r.head_seq = last->seq;

  int64_t bad = 0;
  Result<bool> has_row = HasHeadRow(db);
  if (!has_row.ok()) return has_row.error();
  if (*has_row) {
    Result<std::optional<AuditHead>> row = ReadHeadRow(db);
    if (!row.ok()) return row.error();
    if (std::string p = HeadRowProblem(*last, *row, &bad); !p.empty()) {
      return Fail(std::move(r), bad, std::move(p));
    }
  }
  Result<std::string> run = RunHeadPastEnd(db, last->seq, &bad);
  if (!run.ok()) return run.error();
  if (!run->empty()) return Fail(std::move(r), bad, std::move(run).value());

  const Checkpoint* cp = Latest(options.checkpoints);
  if (cp == nullptr) {
    r.ok = true;
    return r;
  }
  r.checkpoint_seq = cp->seq;
  if (!VerifyCheckpoint(*options.public_key, *cp)) {
    return Fail(std::move(r), cp->seq,
                "the latest checkpoint (seq " + std::to_string(cp->seq) +
                    ") has a bad signature (forged or altered checkpoint, or a different key)");
  }
  if (cp->seq > last->seq) {
    return Fail(std::move(r), last->seq + 1,
                (last->seq == 0 ? std::string("the log is empty")
                                : "the log ends at seq " + std::to_string(last->seq)) +
                    " but a signed checkpoint for seq " + std::to_string(cp->seq) + " of " +
                    cp->time + " exists: records " + std::to_string(last->seq + 1) + ".." +
                    std::to_string(cp->seq) + " were truncated from the tail");
  }
  std::string problem;
  if (Status s = CheckFromCheckpoint(db, *cp, &problem, &bad); !s.ok()) return s.error();
  if (!problem.empty()) return Fail(std::move(r), bad, std::move(problem));
  r.ok = true;
  return r;
}

Status CheckStoreTail(const std::string& store_path, const std::string& checkpoint_file,
                      const std::string& keys_dir, const PublicKey& key) {
  std::vector<Checkpoint> cps;
  if (Result<std::vector<Checkpoint>> read = ReadCheckpoints(checkpoint_file); read.ok()) {
    cps = std::move(read).value();
  } else if (read.error().kind != ErrorKind::kNotFound) {
    return read.error();
  }
  Result<SqliteDb> db = OpenAuditStore(store_path, /*read_only=*/true);
  if (!db.ok()) return db.error();
  Result<TailReport> r = CheckAuditTail(db->get(), {.checkpoints = cps, .public_key = &key});
  if (!r.ok()) return r.error();
  if (r->ok) return Status::Ok();
  return Error::Corrupt(
      "the audit log fails its tail check at seq " + std::to_string(r->bad_seq) + ": " +
      r->problem +
      ".\nRefusing to start: appending now would build on a log with records missing. "
      "Investigate first: copy the store and " +
      checkpoint_file +
      " somewhere read-only and run\n  interlock audit verify --store COPY --checkpoints " +
      checkpoint_file + " --pubkey " + keys_dir + "/" + std::string(kPublicKeyFile) +
      "\n(docs/audit.md, \"At 3 a.m.\"). If the store was restored from a backup, the "
      "records after its last one are lost: keep " +
      checkpoint_file + " as evidence and start with a new checkpoint file (--checkpoints).");
}

}  // namespace interlock::audit
