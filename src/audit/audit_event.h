// AuditEvent and AuditHead: the audit log's values as the core and every backend see them
// (record types, one event to append, the head of the chain), with no database type, so
// that the core's ports (core/ports/) can name them. How records are chained and stored
// is audit_log.h's business (the chain) and the stores' (src/store/: SQLite, PostgreSQL).
// Thread-safety: plain values.
#ifndef INTERLOCK_AUDIT_AUDIT_EVENT_H_
#define INTERLOCK_AUDIT_AUDIT_EVENT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "common/time.h"

namespace interlock::audit {

inline constexpr std::string_view kGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

// Record types (stable strings; docs/audit.md lists their data fields).
inline constexpr std::string_view kDecision = "decision";
inline constexpr std::string_view kResult = "result";
// The outcome of a rehearsal (docs/policy.md#rehearsal), on the rehearsal's call; the real
// call's decision names that call in decision.rehearsal.call_id.
inline constexpr std::string_view kRehearsal = "rehearsal";
inline constexpr std::string_view kUsage = "usage";
inline constexpr std::string_view kRunStarted = "run_started";
inline constexpr std::string_view kRunEnded = "run_ended";
inline constexpr std::string_view kRunHalted = "run_halted";
inline constexpr std::string_view kEscalation = "escalation";
inline constexpr std::string_view kApproval = "approval";
inline constexpr std::string_view kKillSwitch = "kill_switch";
inline constexpr std::string_view kPolicyLoaded = "policy_loaded";
inline constexpr std::string_view kPolicyRejected = "policy_rejected";
inline constexpr std::string_view kTokenCreated = "token_created";
inline constexpr std::string_view kTokenRevoked = "token_revoked";
inline constexpr std::string_view kAuthFailed = "auth_failed";
inline constexpr std::string_view kSignedIn = "signed_in";
inline constexpr std::string_view kSignedOut = "signed_out";
inline constexpr std::string_view kFailOpen = "fail_open";
inline constexpr std::string_view kIncident = "incident";
inline constexpr std::string_view kTrustChanged = "trust_changed";
// A PostgreSQL COMMIT reported with a WARNING (its wait for the synchronous standby
// cancelled): the batch's records stand on the primary, every caller was told
// STORE_UNAVAILABLE; then one kDecisionReconciled per call of the batch says so.
inline constexpr std::string_view kCommitUnconfirmed = "commit_unconfirmed";
inline constexpr std::string_view kDecisionReconciled = "decision_reconciled";

struct AuditEvent {
  std::string_view type;
  TimePoint time;
  std::string run_id;
  std::string call_id;
  std::string agent_id;
  std::string principal;
  boost::json::object data;  // already redacted: no secret may be in here
  // When not empty: the canonical JSON of the data (audit/canonical.h), used instead of
  // `data`, which is then ignored. The store's hot path writes it from pre-serialised
  // pieces; the record (body and hash) is byte-identical either way.
  std::string data_json = {};
};

struct AuditHead {
  int64_t seq = 0;  // last sequence number written (0: empty log)
  std::string hash = std::string(kGenesisHash);
};

}  // namespace interlock::audit

#endif  // INTERLOCK_AUDIT_AUDIT_EVENT_H_
