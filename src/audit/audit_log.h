// The audit log's chain: append-only, hash-chained records, whatever stores them (the
// SQLite store and the PostgreSQL store, both in src/store/).
//
// Record n carries hash_n = SHA-256("interlock.audit.v1" 0x00 prev_hash 0x00 body_n), where
// body_n is the canonical JSON of the record (seq, time, type, ids, data, prev) and
// prev_hash is hash_{n-1} (64 '0' for the first record ever written). Changing, deleting,
// inserting or reordering any record breaks the chain from that point. Deleting the
// tail is caught by the head row (the SQLite store's, in src/store/) unless the deleter rewinds it
// too, and then by signed checkpoints (checkpoint.h).
//
// Pure functions of their arguments: no database, thread-safe.
#ifndef INTERLOCK_AUDIT_AUDIT_LOG_H_
#define INTERLOCK_AUDIT_AUDIT_LOG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "audit/audit_event.h"

namespace interlock::audit {

// The head row (the SQLite store's) against the log's last record: "" when the
// head row agrees with `last` (the last record, seq 0 for an empty log);
// otherwise one sentence naming what is missing, and *bad_seq (if given) the first seq
// missing or wrong.
std::string HeadRowProblem(const AuditHead& last, const std::optional<AuditHead>& row,
                           int64_t* bad_seq = nullptr);

// The domain every record hash begins with (AuditRecordHash, and verify.cc's chain hasher).
inline constexpr std::string_view kAuditHashDomain = "interlock.audit.v1";

// Canonical body of a record and its chain hash (exposed for verifiers and tests).
std::string AuditRecordBody(int64_t seq, const AuditEvent& e, std::string_view prev_hash);
std::string AuditRecordHash(std::string_view prev_hash, std::string_view body);
// AuditRecordBody into `out` (cleared first), reusing its capacity.
void AppendAuditRecordBody(std::string* out, int64_t seq, const AuditEvent& e,
                           std::string_view prev_hash);

}  // namespace interlock::audit

#endif  // INTERLOCK_AUDIT_AUDIT_LOG_H_
