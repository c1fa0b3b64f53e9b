#include "audit/retention.h"

#include <algorithm>

#include "audit/audit_log.h"
#include "audit/verify.h"

namespace interlock::audit {

Result<PruneReport> PruneAuditLog(PruneTarget& target, audit::CheckpointStore& checkpoints,
                                  const SigningKey& key, const PruneOptions& options) {
  if (options.days < 1) return Error::Invalid("retention must be at least 1 day");
  Result<PublicKey> pub = key.Public();
  if (!pub.ok()) return pub.error();
  Result<std::vector<audit::Checkpoint>> cps = checkpoints.List();
  if (!cps.ok()) return cps.error();

  // Verify outside any write transaction so the daemons are not blocked meanwhile.
  Result<VerifyReport> vr = Error::Internal("unreached");
  {
    Result<std::unique_ptr<audit::RecordSource>> source = target.OpenSource();
    if (!source.ok()) return source.error();
    VerifyOptions vo;
    vo.checkpoints = *cps;
    vo.public_key = &*pub;
    vr = VerifyAuditLog(**source, vo);
  }
  if (!vr.ok()) return vr.error();
  if (!vr->ok) {
    return Error::Corrupt("refusing to prune a log that fails verification: " + VerifySummary(*vr));
  }
  PruneReport report;
  if (vr->records == 0) return report;

  const int64_t cutoff_ms = ToUnixMillis(options.now - std::chrono::hours(24) * options.days);
  // First record to keep: the oldest one at or after the cutoff, and never past the head
  // this verification saw (records appended since are newer still).
  Result<std::optional<int64_t>> found = target.FirstSeqAtOrAfter(cutoff_ms);
  if (!found.ok()) return found.error();
  const int64_t keep = std::min(found->value_or(vr->head_seq), vr->head_seq);
  if (keep <= vr->first_seq) {
    report.first_kept_seq = vr->first_seq;
    return report;
  }

  const int64_t chunk = std::max<int64_t>(1, options.chunk_records);
  for (int64_t first = vr->first_seq; first < keep;) {
    const int64_t upto = std::min(keep, first + chunk);  // delete seq < upto this round
    Result<std::string> hash = target.RecordHash(upto - 1);
    if (!hash.ok()) return hash.error();
    Result<audit::Checkpoint> anchor = MakeCheckpoint(key, upto - 1, *hash, options.now);
    if (!anchor.ok()) return anchor.error();
    // The anchor is durable before any record is deleted: a crash in between leaves a
    // complete log plus one extra checkpoint, which verifies.
    if (Status s = checkpoints.Append(*anchor); !s.ok()) return s.error();
    Result<int64_t> deleted = target.DeleteBefore(upto, *hash);
    if (!deleted.ok()) {
      if (deleted.error().kind != ErrorKind::kCorrupt) return deleted.error();
      return Error::Corrupt(deleted.error().message + "; records from seq " +
                            std::to_string(first) + " on were not deleted");
    }
    report.deleted += *deleted;
    report.anchor = std::move(anchor).value();
    ++report.chunks;
    first = upto;
  }
  report.first_kept_seq = keep;
  return report;
}

}  // namespace interlock::audit
