// ToolCall and RunState: the inputs of a decision besides the policy.
//
// A ToolCall is what an agent proposes; a RunState is what the run has consumed so
// far, as the enforcement point (never the agent) has counted it.
// Thread-safety: plain value types.
#ifndef INTERLOCK_TOOL_CALL_H_
#define INTERLOCK_TOOL_CALL_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace interlock {

// Model or tool consumption reported by the caller. Cost is kept in integer
// micro-dollars so that totals never drift and comparisons are exact.
struct Usage {
  uint64_t tokens = 0;
  int64_t cost_micros = 0;  // USD * 1e6, >= 0
};

// What a call is: a tool call, or a network connection that the egress proxy (src/doors/egress)
// asks about. Set by the front door that builds the call, never read from a request body,
// so that no client can pass a tool call off as a connection or the reverse.
enum class CallKind { kTool, kEgress };

// The tool name an egress decision is recorded under; its arguments are
// {"host": name or IP as asked for, "port": 1-65535, "address": the IP connected to,
//  "call_id": the tool call in flight (optional)}.
inline constexpr char kEgressToolName[] = "egress";

struct ToolCall {
  CallKind kind = CallKind::kTool;
  std::string tool;                 // byte-exact; never case-folded or normalised
  boost::json::object args;         // validated: an object without duplicate keys
  Usage usage;                      // consumed since the previous call of the run
  std::optional<double> elapsed_s;  // client-reported run age (CLI replay only)
  // A granted approval re-submitted with the identical call (docs/approvals.md); the
  // store accepts it only when bound to this agent, run, tool and arguments, and once.
  std::string approval_id;
  // Set by a front door that refuses the request it received but must have the refusal
  // decided and recorded like any call (the MCP gateway: a tools/call sent as a
  // notification, a method that could be taken for tools/call). The engine denies it
  // first, with INVALID_REQUEST, this reason and rule (never shadowed, never allowed).
  std::string refusal_reason;
  std::string refusal_rule;
  // Values that must never be recorded in plaintext (the MCP gateway's upstream
  // credentials). The decision sees the real arguments; the store masks every occurrence
  // (audit::Redactor::MaskSecrets, keys and string values) in what it records: the
  // arguments, the decision reason and the record returned to the caller.
  std::vector<std::string> mask_values;
  // Labels the tool declares for itself, learned by a front door (the MCP gateway maps the
  // tool's `annotations` from tools/list, mcp::AnnotationLabels). Untrusted input: the
  // engine uses them only for a tool whose policy rule writes no `labels:` (the policy
  // always wins), and labels can only make a decision stricter (flows), never looser.
  std::vector<std::string> declared_labels;
  // The caller's W3C trace context when the door found it in the request itself (MCP
  // params._meta.traceparent); the Guard records it like a traceparent header and parents
  // the decision span on it (docs/telemetry.md). Untrusted: used only when well formed.
  std::string traceparent;
  // Its W3C tracestate (MCP params._meta.tracestate), recorded beside a recorded
  // traceparent only; the door passes it only when it is at most 512 printable ASCII
  // characters. MERGE(H6): one more optional field of the decision record.
  std::string tracestate;
  // The outcome of this call's rehearsal (docs/policy.md#rehearsal), set only by the core
  // (Guard::CompleteRehearsal) after the rehearsal call `call_id` recorded it: never taken
  // from a request body.
  struct RehearsalOutcome {
    std::string call_id;
    bool ok = false;
    std::string output;  // canonical JSON, capped
    std::string error;
  };
  std::optional<RehearsalOutcome> rehearsal;
};

struct RunState {
  uint64_t steps = 0;  // calls evaluated so far in this run, denied ones included
  uint64_t tokens = 0;
  int64_t cost_micros = 0;
  int64_t elapsed_ms = 0;  // run age at the moment of this decision
  bool halted = false;
  std::string halt_reason;
  std::map<std::string, uint64_t, std::less<>> records;  // records touched, per tool
  // Sequences (docs/policy.md, "workflow", "labels and flows"). Changed only by calls that
  // proceed (engine::ApplyEffects) and by reported results (engine::ApplyResult).
  std::string workflow_state;  // empty: the policy workflow's initial state
  std::map<std::string, boost::json::value, std::less<>> workflow_vars;  // remembered values
  std::set<std::string, std::less<>> labels;  // labels carried by calls that proceeded
  // Approvals "for the rest of this run", per tool (docs/approvals.md, "For the rest of
  // this run"): a later call of that tool that only needs an approval proceeds, covered by
  // it (core::CoverByRunGrant). Set by a reviewer's vote, removed by a revocation; never
  // for an irreversible tool or one that needs two approvers (checked again at each call).
  struct RunGrant {
    std::string approval_id;
    std::string reviewer;
    int64_t at_ms = 0;
  };
  std::map<std::string, RunGrant, std::less<>> grants;
  // The run's workspace (docs/policy.md, "Variables"): the directory `${workspace}` in its
  // policy stands for, fixed when the run started (a Claude Code session's project,
  // core::ResolveSessionWorkspace). Empty: the daemon's workspace. Never changed by a call.
  std::string workspace;
  // Why the workspace the run was started with was refused (outside every workspace root,
  // `/`, a home directory, a relative cwd): every call of the run is denied with it. Empty:
  // not refused.
  std::string workspace_refused;
};

// Adds reported usage to the run, saturating instead of wrapping.
void AddUsage(const Usage& usage, RunState* state);

// *dst = src, keeping what dst holds already where src holds the same: the map nodes and
// key strings of records, workflow_vars and grants when the keys are the same (a call
// changes counts and values, rarely which tools or variables there are), so a store that
// saves a run into its cached row allocates nothing in the usual case.
void AssignRunState(const RunState& src, RunState* dst);

}  // namespace interlock

#endif  // INTERLOCK_TOOL_CALL_H_
