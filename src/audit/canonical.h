// The audit log's own record shapes (usage, run state, records) as canonical JSON text,
// written with the one writer family (common/json_write.h, JsonStyle::kCanonical)
// straight into a caller's buffer: the store's decision path writes the audit record's
// `data` and the calls row once, from the same pieces. A decision is written by
// AppendDecisionJson(d, JsonStyle::kCanonical, out), a boost::json value by
// AppendJson(v, JsonStyle::kCanonical, out).
//
// Contract: the bytes are hashed into the audit chain and never change for a given value
// (CanonicalTest pins them against CanonicalJson of the equivalent tree, and literally).
// Thread-safety: pure functions.
#ifndef INTERLOCK_AUDIT_CANONICAL_H_
#define INTERLOCK_AUDIT_CANONICAL_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "interlock/tool_call.h"

namespace interlock::audit {

// CanonicalJson of {"tokens", "cost_usd"} as the audit log reports usage.
void AppendCanonicalUsage(std::string* out, const Usage& u);

// CanonicalJson of the run state as the audit log reports it (state_after, run_ended):
// {"cost_usd","elapsed_s","halted","records","steps","tokens"}.
void AppendCanonicalAuditState(std::string* out, const RunState& s);

// {"tool": n, ...} for the run's records, keys in byte order.
void AppendCanonicalRecords(std::string* out, const RunState& s);

}  // namespace interlock::audit

#endif  // INTERLOCK_AUDIT_CANONICAL_H_
