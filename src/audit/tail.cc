#include "audit/tail.h"

#include <algorithm>
#include <vector>

#include "audit/audit_log.h"

namespace interlock::audit {
namespace {

TailReport Fail(TailReport r, int64_t seq, std::string problem) {
  r.ok = false;
  r.bad_seq = seq;
  r.problem = std::move(problem);
  return r;
}

// A run head naming a record past the end ("" when none does).
Result<std::string> RunHeadPastEnd(audit::RecordSource& source, int64_t last_seq,
                                   int64_t* bad_seq) {
  Result<bool> linked = source.RunLinks();
  if (!linked.ok()) return linked.error();
  if (!*linked) return std::string();
  std::string run;
  int64_t head = 0;
  if (Status s = source.ForEachRunHead([&](std::string_view run_id, int64_t seq) {
        if (seq > last_seq && seq > head) {
          run.assign(run_id);
          head = seq;
        }
        return true;
      });
      !s.ok()) {
    return s.error();
  }
  if (head == 0) return std::string();
  *bad_seq = last_seq + 1;
  return "run " + run + "'s head names seq " + std::to_string(head) + " but the log ends at seq " +
         std::to_string(last_seq) + ": records were deleted from the tail";
}

// The latest checkpoint by seq (the last one in the file among equals).
const audit::Checkpoint* Latest(std::span<const audit::Checkpoint> cps) {
  const audit::Checkpoint* latest = nullptr;
  for (const audit::Checkpoint& cp : cps) {
    if (latest == nullptr || cp.seq >= latest->seq) latest = &cp;
  }
  return latest;
}

// Records from `cp.seq` to the end: the first has the signed hash, each one after it
// chains onto its predecessor and hashes to its stored hash. `problem` stays empty when
// all do. A checkpoint for the record just before the first one (a prune's anchor) must
// be the first record's prev; an older one covers pruned records only.
Status CheckFromCheckpoint(audit::RecordSource& source, int64_t first_seq,
                           const audit::Checkpoint& cp, std::string* problem, int64_t* bad_seq) {
  int64_t expected = std::max(cp.seq, first_seq);
  std::string prev;
  bool have_prev = false;
  if (cp.seq == first_seq - 1) {
    prev = cp.hash;
    have_prev = true;
  }
  if (Status s = source.StartScanFrom(expected); !s.ok()) return s;
  const std::string where = "the signed checkpoint for seq " + std::to_string(cp.seq) + " of " +
                            cp.time +
                            (cp.line > 0 ? " (line " + std::to_string(cp.line) + ")" : "");
  audit::AuditRow rec;
  for (;;) {
    Result<bool> more = source.Next(&rec);
    if (!more.ok()) return more.error();
    if (!*more) return Status::Ok();
    const int64_t seq = rec.seq;
    const std::string_view prev_col = rec.prev_hash;
    const std::string_view hash = rec.hash;
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
    if (AuditRecordHash(prev_col, rec.body) != hash) {
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

Result<TailReport> CheckAuditTail(audit::RecordSource& source, const TailCheckOptions& options) {
  if (!options.checkpoints.empty() && options.public_key == nullptr) {
    return Error::Invalid("checkpoints were given without the public key that checks them");
  }
  if (Status s = source.CheckReadable(); !s.ok()) return s.error();

  TailReport r;
  Result<audit::LogBounds> bounds = source.Bounds();
  if (!bounds.ok()) return bounds.error();
  const AuditHead& last = bounds->last;
  r.head_seq = last.seq;

  int64_t bad = 0;
  Result<bool> has_row = source.KeepsHeadRow();
  if (!has_row.ok()) return has_row.error();
  if (*has_row) {
    Result<std::optional<AuditHead>> row = source.HeadRow();
    if (!row.ok()) return row.error();
    if (std::string p = HeadRowProblem(last, *row, &bad); !p.empty()) {
      return Fail(std::move(r), bad, std::move(p));
    }
  }
  Result<std::string> run = RunHeadPastEnd(source, last.seq, &bad);
  if (!run.ok()) return run.error();
  if (!run->empty()) return Fail(std::move(r), bad, std::move(run).value());

  const audit::Checkpoint* cp = Latest(options.checkpoints);
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
  if (cp->seq > last.seq) {
    return Fail(std::move(r), last.seq + 1,
                (last.seq == 0 ? std::string("the log is empty")
                               : "the log ends at seq " + std::to_string(last.seq)) +
                    " but a signed checkpoint for seq " + std::to_string(cp->seq) + " of " +
                    cp->time + " exists: records " + std::to_string(last.seq + 1) + ".." +
                    std::to_string(cp->seq) + " were truncated from the tail");
  }
  std::string problem;
  if (Status s = CheckFromCheckpoint(source, bounds->first_seq, *cp, &problem, &bad); !s.ok()) {
    return s.error();
  }
  if (!problem.empty()) return Fail(std::move(r), bad, std::move(problem));
  r.ok = true;
  return r;
}

Status TailRefusal(const TailReport& r, const std::string& store,
                   const std::string& checkpoint_file, const std::string& keys_dir) {
  if (r.ok) return Status::Ok();
  return Error::Corrupt(
      "the audit log fails its tail check at seq " + std::to_string(r.bad_seq) + ": " + r.problem +
      ".\nRefusing to start: appending now would build on a log with records missing. "
      "Investigate first: copy the store and " +
      checkpoint_file + " somewhere read-only and run\n  interlock audit verify --store " + store +
      " --checkpoints " + checkpoint_file + " --pubkey " + keys_dir + "/" +
      std::string(kPublicKeyFile) +
      "\n(docs/audit.md, \"At 3 a.m.\"). If the store was restored from a backup, the "
      "records after its last one are lost: keep " +
      checkpoint_file + " as evidence and start with a new checkpoint file (--checkpoints).");
}

Status CheckSourceTail(audit::RecordSource& source, const std::string& store_label,
                       const std::string& checkpoint_file, const std::string& keys_dir,
                       const PublicKey& key) {
  Result<std::vector<audit::Checkpoint>> cps = source.StoredCheckpoints();
  if (!cps.ok()) return cps.error();
  if (Result<std::vector<audit::Checkpoint>> read = ReadCheckpoints(checkpoint_file); read.ok()) {
    for (audit::Checkpoint& cp : *read) cps->push_back(std::move(cp));
  } else if (read.error().kind != ErrorKind::kNotFound) {
    return read.error();
  }
  Result<TailReport> r = CheckAuditTail(source, {.checkpoints = *cps, .public_key = &key});
  if (!r.ok()) return r.error();
  return TailRefusal(*r, store_label, checkpoint_file, keys_dir);
}

}  // namespace interlock::audit
