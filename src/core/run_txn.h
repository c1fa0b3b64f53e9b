// The rules of the writes an agent makes to its run outside a decision, as transaction
// functions over the StateTxn port (docs/design.md#state-port): usage reported between
// calls, a call's result, and the end of a run.
//
// Every backend runs these inside its atomic unit, as it runs DecideInTxn: they check
// before they write, and save the run row last (StateTxn::SaveRun). The ownership checks
// (a run or call of another agent is kPermissionDenied), the one-result-per-call and
// allowed-calls-only rules, the result's size cap and the audit events (usage, result,
// run_ended) live here once.
#ifndef INTERLOCK_CORE_RUN_TXN_H_
#define INTERLOCK_CORE_RUN_TXN_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "audit/redact.h"
#include "common/time.h"
#include "core/ports/run_store.h"
#include "core/ports/state_txn.h"
#include "interlock/result.h"
#include "interlock/tool_call.h"

namespace interlock::core {

// Adds usage not tied to a call to the run (audit event "usage"). With a key (`key.key` not
// empty): a repeat of it in the run is Ok and adds nothing (kAlreadyExists: another request).
Status AddUsageInTxn(StateTxn& txn, std::string_view run_id, std::string_view agent_id,
                     const Usage& usage, TimePoint now, const IdempotencyKey& key = {});

// The answer recorded with `key` in run_id, when the run has it (a repeat: nullopt otherwise);
// kAlreadyExists when the key came with another request (its hash differs).
Result<std::optional<std::string>> FindIdempotentAnswer(StateTxn& txn, std::string_view run_id,
                                                        const IdempotencyKey& key);

// The "incident" audit record (docs/audit.md) {call_id, tool, agent_id, reason, by} that
// `interlock incident mark` writes and Interlock writes itself when it learns that a call
// it did not allow ran; the console's governance pages and the trust report count it.
audit::AuditEvent IncidentEvent(std::string_view call_id, std::string_view run_id,
                                std::string_view agent_id, std::string_view tool,
                                std::string reason, std::string by, TimePoint now);

// Records the result of an allowed call, without one yet, and adds its usage to the run
// (audit event "result"). With result.idempotency: a repeat of the key in the call's run is
// Ok and records nothing. kNotFound, kPermissionDenied (another agent's call, or a call
// decided under another principal than `principal`, the reporter's as its decisions record
// it: an agent acting for mallory never reports alice's result, which could move her run's
// workflow), kAlreadyExists (a second result).
// kInvalidArgument: the call awaits its rehearsal (RecordRehearsalInTxn takes that report).
// A result reported for a call that was NOT allowed (denied, or held for approval and
// not released) says the tool ran anyway: it is stored as the call's
// result (masked as any) with an "incident" record (IncidentEvent, by "interlock (result
// reported)") in the same transaction, counts no usage and moves no workflow, and is Ok;
// a second report of it is kAlreadyExists, so a resent report records one incident.
// A result echoing a redacted argument is stored masked (ResultMaskFor, with `redactor`,
// the store's audit key).
Status RecordResultInTxn(StateTxn& txn, const audit::Redactor& redactor, std::string_view call_id,
                         std::string_view agent_id, std::string_view principal,
                         const CallResult& result, TimePoint now);

// Records the outcome of the rehearsal of call_id (decided REHEARSAL_REQUIRED, without an
// outcome yet) as its result (audit event "rehearsal") and returns the call as recorded, so
// the caller can decide the real call. kNotFound, kPermissionDenied (another agent's call,
// or another principal's, as RecordResultInTxn), kInvalidArgument (the call awaits no
// rehearsal), kAlreadyExists (reported already).
// The outcome is masked as a result is (ResultMaskFor).
Status RecordRehearsalInTxn(StateTxn& txn, const audit::Redactor& redactor,
                            std::string_view call_id, std::string_view agent_id,
                            std::string_view principal, const CallResult& result, TimePoint now,
                            CallRecord* rehearsal);

// Ends the run (audit event "run_ended"); a run already ended is left as it is (Ok).
// Halts open run `run_id` with `reason` (a system action, not the agent's: the daemon's
// wall-clock deadline sweep, core::Calls::HaltOverdueRuns): later calls are denied
// RUN_HALTED. Audited as "run_halted" {reason, by}. An ended or already halted run is left
// as it is (Ok). kNotFound.
Status HaltRunInTxn(StateTxn& txn, std::string_view run_id, std::string reason, std::string by,
                    TimePoint now);

Status EndRunInTxn(StateTxn& txn, std::string_view run_id, std::string_view agent_id,
                   TimePoint now);

// The run state as the audit log reports it (dollars and seconds), with the run's labels
// ("labels") and workflow position ("workflow": {"state", "vars"}) when it has any.
boost::json::object StateAuditJson(const RunState& s);
boost::json::array LabelsJson(const RunState& s);
boost::json::object WorkflowAuditJson(const RunState& s);

// RunState's sequence fields (workflow state and variables, labels) as a store keeps them
// in the run row: canonical JSON {"labels":[...],"state":"...","vars":{...}}, "{}" when the
// run has none; with the run's workspace ("workspace", "workspace_refused": RunState) when it
// has one. The parser fails (kCorrupt) on anything else.
std::string SequenceStoreJson(const RunState& s);
Status ParseSequenceStoreJson(std::string_view text, RunState* s);

// What of a result may be stored (docs/audit.md#redaction). A call recorded with
// redacted arguments (a top-level value "hmac-sha256:<64 hex>", as audit::Redactor writes
// it) is stored masked with the values in `plain` when each such argument's value there
// hashes (`redactor`) to the recorded one; otherwise nothing of its output and error is
// stored (`withhold`): the value echoed may be one nobody here knows. Every value of
// `plain` is masked (more than the recorded ones: an approval's edited arguments too).
struct ResultMask {
  bool withhold = false;
  std::vector<std::string> forms;  // audit::Redactor::EchoForms of the plain values
};
ResultMask ResultMaskFor(const audit::Redactor& redactor, const boost::json::object& recorded_args,
                         const std::optional<boost::json::object>& plain);
// `output_json` (JSON text, or any text) with `forms` masked in it, as ResultJson masks
// a result's output.
std::string MaskedOutputJson(std::string_view output_json, const std::vector<std::string>& forms);
// True when `recorded_args` holds a value redacted as audit::Redactor::Hash writes it.
bool HasRedactedArgs(const boost::json::object& recorded_args);

// The marker kept for an output cut at a limit (truncated JSON is not JSON):
// {"truncated": true, "bytes": `bytes` (the whole output's), "sha256" (with `digest`: of
// `text`), "prefix": `text`'s first KiB}. `text` must already be masked where it is stored.
boost::json::object TruncatedOutput(std::string_view text, size_t bytes, bool digest);

// Cuts `r`'s output, when over its limit, on the caller's thread instead of in the store's
// transaction (a store's writer is shared by every agent), exactly as ResultJson would:
// masked with the echo forms of r->redacted_args first. Without those values the call is
// either one without redacted arguments (nothing to mask) or one whose result is withheld
// whole; r->output_bytes keeps the whole size for the withheld record.
void CutOutputBeforeTheStore(CallResult* r);

// The result as stored and audited: output and error masked with `mask` (or left out,
// with a "withheld" member saying so and their sizes), then cut: an output over
// min(r.max_output_bytes, kMaxResultOutputBytes) is kept as TruncatedOutput of its masked
// text, an error at kMaxResultOutputBytes.
boost::json::object ResultJson(const CallResult& r, const ResultMask& mask = {});

// Truncates `s` to at most `max` bytes on a UTF-8 boundary.
std::string TruncateUtf8(std::string_view s, size_t max);

// Usage as the audit log reports it: {"tokens", "cost_usd"}.
boost::json::object UsageJson(const Usage& u);

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_RUN_TXN_H_
