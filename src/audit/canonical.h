// Writers for canonical JSON text (docs/audit.md: object keys sorted by bytes, no
// whitespace, numbers as Boost.JSON prints them) that append to a caller's buffer
// instead of building a boost::json tree and serialising every scalar into its own
// string. The store's decision path uses them to write the audit record's `data` and
// the calls row once, from the same pieces.
//
// Contract: every function here produces exactly the bytes CanonicalJson()
// (common/json.h) or boost::json::serialize() would produce for the same value; the unit
// tests pin that, byte for byte, because the output is hashed into the audit chain.
// Thread-safety: pure functions.
#ifndef INTERLOCK_AUDIT_CANONICAL_H_
#define INTERLOCK_AUDIT_CANONICAL_H_

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "interlock/decision.h"
#include "interlock/tool_call.h"

namespace interlock::audit {

// `s` as a JSON string, escaped exactly as boost::json::serialize escapes it.
void AppendJsonString(std::string* out, std::string_view s);
void AppendJsonInt(std::string* out, int64_t v);
void AppendJsonUint(std::string* out, uint64_t v);
// As Boost.JSON prints a double (e.g. "2E-2"); not the readable form.
void AppendJsonDouble(std::string* out, double v);
inline void AppendJsonBool(std::string* out, bool v) { out->append(v ? "true" : "false"); }

// CanonicalJson(v), appended.
void AppendCanonicalJson(std::string* out, const boost::json::value& v);
void AppendCanonicalJson(std::string* out, const boost::json::object& o);

// CanonicalJson(DecisionToJson(d)), written without building the object.
void AppendCanonicalDecision(std::string* out, const Decision& d);

// CanonicalJson of {"tokens", "cost_usd"} as the audit log reports usage.
void AppendCanonicalUsage(std::string* out, const Usage& u);

// CanonicalJson of the run state as the audit log reports it (state_after, run_ended):
// {"cost_usd","elapsed_s","halted","records","steps","tokens"}.
void AppendCanonicalAuditState(std::string* out, const RunState& s);

// {"tool": n, ...} for the run's records, keys in byte order.
void AppendCanonicalRecords(std::string* out, const RunState& s);

}  // namespace interlock::audit

#endif  // INTERLOCK_AUDIT_CANONICAL_H_
