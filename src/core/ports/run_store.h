// RunStore: the state a decision needs, read and written atomically.
//
// The Guard never reads run state, decides, and writes it back in separate steps: it
// hands the store a pure function and the store runs it inside one atomic unit (a
// mutex for MemoryRunStore, a transaction for SQL stores), then makes the outcome
// durable before returning. So two concurrent calls can never both spend the last step
// of a budget, and a decision is never returned that the store has not recorded.
//
// Implementations: MemoryRunStore (core/memory_run_store.h; `interlock decide`, tests) and
// the SQLite and PostgreSQL stores in src/store (the daemon). Thread-safety: every method may be
// called from any thread concurrently.
#ifndef INTERLOCK_CORE_PORTS_RUN_STORE_H_
#define INTERLOCK_CORE_PORTS_RUN_STORE_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

#include "audit/redact.h"
#include "common/path_resolver.h"
#include "common/time.h"
#include "engine/engine.h"
#include "interlock/decision.h"
#include "interlock/result.h"
#include "interlock/tool_call.h"

namespace interlock::core {

class PolicySource;  // core/app/policy_source.h

// The daemon's `role_policies` (docs/governance.md#child-runs): "agent/role" -> the id of the
// policy a child run of that agent in that role decides under, instead of "agent/role"'s.
using RolePolicies = std::map<std::string, std::string, std::less<>>;

struct RunInfo {
  std::string run_id;
  std::string agent_id;
  TimePoint started;
  RunState state;  // as of the last decision (elapsed_ms not maintained here)
  bool ended = false;
  // When the run was ended (POST .../end, the kill switch's end_runs); nullopt while it is
  // not, and for a run ended before the store kept the time.
  std::optional<TimePoint> ended_at;
  // A child run's parent, role and depth (docs/governance.md#child-runs); "", "", 0 for a
  // root run.
  std::string parent_run_id;
  std::string role;
  int depth = 0;
};

// The bounds on a tree of runs (docs/governance.md#child-runs): how deep it may grow (a
// root run is at depth 0) and how many children not yet ended one run may have.
struct ChildRunLimits {
  int max_depth = 4;
  int max_live_children = 16;
};

// A run started as the child of another (core::CreateChildRunInTxn).
struct ChildRunRequest {
  std::string agent_id;  // the caller's (the child's owner), from the authenticated principal
  std::string run_id;    // "" : the store picks one
  std::string parent_run_id;
  // The role the child runs in (a Claude Code sub-agent's agent_type): its policy is
  // agent_id + "/" + role where the policy set has one (core::ChildPolicy). "" none.
  std::string role;
  // Agents other than agent_id whose runs the caller may start children of (a declared
  // delegation); the parent must belong to agent_id or one of these.
  std::vector<std::string> delegating_agents;
  ChildRunLimits limits;
  TimePoint now;
};

// An Idempotency-Key sent with a request (docs/api.md#idempotency): the client's key and the
// SHA-256 (hex) of the request it came with. Kept per run by the store, written in the
// transaction that counts the request: a retry with the key answers what the first request
// was answered and counts nothing; the key with another request is kAlreadyExists. Empty
// key: none.
struct IdempotencyKey {
  std::string key;
  std::string request_sha256;
};

// Everything the store records about one evaluated call.
struct CallRecord {
  std::string call_id;
  std::string run_id;
  std::string agent_id;
  std::string principal;  // authenticated name the call arrived under
  std::string policy_sha256;
  TimePoint at;
  // As recorded (redacted). From Decide, call.args is filled when the store keeps an
  // audit trail or the decision carries notifications (their only readers); a store
  // without audit (MemoryRunStore) leaves it empty otherwise.
  ToolCall call;
  Decision decision;
  RunState state_after;
  // The store answered with a call it recorded earlier instead of a new one: a call
  // re-submitted with its approval_id, or a retry attached to an identical call whose
  // approval is pending (docs/approvals.md). Nothing was spent or recorded for the
  // request; `decision` is that call's current one and state_after the run's current state.
  bool existing = false;
  // The request carried an Idempotency-Key the run already had: this is the answer given to
  // the first request with it (call_id and decision as then), and nothing was recorded.
  bool replayed = false;
};

// What an agent reports after executing an allowed call.
// Results larger than this (output or error, in bytes) are truncated with a marker.
inline constexpr size_t kMaxResultOutputBytes = 64 * 1024;

struct CallResult {
  bool ok = true;
  // Canonical JSON of the output as the tool gave it. The core masks it, then cuts it at
  // max_output_bytes (core::ResultJson): a door never cuts it first, except to send it to
  // another process (core::OutputCutForTransport).
  std::string output_json;
  // The most of the output kept (a door's configured limit; never above
  // kMaxResultOutputBytes). A longer output is kept as a marker (core::ResultJson).
  size_t max_output_bytes = kMaxResultOutputBytes;
  // The whole output's size when output_json holds the marker of an output the core cut
  // before the store's transaction (core::CutOutputBeforeTheStore); 0: output_json's.
  size_t output_bytes = 0;
  std::string error;
  Usage usage;
  // Outcome receipts (docs/mcp.md#outcome-receipts): the canonical JSON array of the
  // connections the call's sandboxed server made while it was in flight, recorded under
  // "egress"; empty: none (the member is left out).
  std::string egress_json;
  // The upstream credential the call was forwarded with (docs/identity.md#upstream-
  // credentials): canonical JSON {kind, issuer, audience, scopes, subject, fingerprint, ...},
  // recorded under "credential" (never the token); empty: none (the member is left out).
  std::string credential_json;
  // The policies the result is judged under (a workflow transition `on: ok|error` of the
  // call's agent moves its run): the snapshot of the door that reports it, never looked up
  // by a store. Null: the result moves no workflow.
  std::shared_ptr<const policy::PolicySet> policies;
  // The report's Idempotency-Key (kept in the call's run): a repeat is Ok and records nothing.
  IdempotencyKey idempotency;
  // The plain values of the call's redacted arguments ({field: value}, core::RedactedValues),
  // masked wherever output or error echo them before either is stored. Set by core::Calls
  // from what the Guard kept at decide time, or by a door holding the call's arguments.
  // Trusted only where each value's HMAC is the recorded argument's; a call recorded with
  // a redacted argument this does not vouch for has its output and error withheld
  // (core::RecordResultInTxn). nullopt: not known.
  std::optional<boost::json::object> redacted_args;
};

// The engine step a store runs inside its atomic unit: given the request's call (passed
// back so the Guard need not keep a copy of it), the run's state (with the
// call's reported usage added and elapsed_ms set), the kill switch covering the call and
// the agent's cross-run counts (set when the request asked for them: DecideRequest::count),
// return the evaluation. Must be pure: a store may run it again after a retry.
using DecideFn = std::function<engine::Evaluation(const ToolCall& call, const RunState& state,
                                                  const std::optional<engine::KillSwitch>& kill,
                                                  const std::optional<engine::AgentUsage>& usage)>;

// What a decision counts across every run of its agent (rate limits and quotas), in the
// decision's transaction: the allowed calls under `rate_key` in the last `window_ms`
// (rate_key empty: none) and, with `day`, the agent's calls, tokens and cost of the
// current UTC day.
struct CountQuery {
  std::string rate_key;
  int64_t window_ms = 0;
  bool day = false;
};

// The identity an agent proved with a JWT (docs/identity.md): written into its decision's
// audit record as "identity". Empty issuer: the agent used an Interlock token.
struct CallerIdentity {
  std::string issuer;
  std::string subject;       // the verified agent claim
  std::string on_behalf_of;  // the human the agent acts for; "" when none
  // The human's groups (identity.jwt on_behalf_of_groups_claim), for policies' on_behalf_of
  // rules; not written in the audit record.
  std::vector<std::string> on_behalf_of_groups;
  // The token's actor chain (identity::VerifiedIdentity::actor_chain), outermost first;
  // written whole in the audit record ("actors") when it is a chain (two or more).
  std::vector<std::string> actors;
};

struct DecideRequest {
  std::string run_id;
  std::string agent_id;   // from the authenticated principal, never from the body
  std::string principal;  // for the record
  std::string policy_sha256;
  TimePoint now;
  ToolCall call;
  std::vector<std::string> redact_fields;  // the tool's `redact:` list, for the audit record
  std::string traceparent;                 // W3C trace context, when the caller sent one
  CallerIdentity identity;                 // set when the caller presented a JWT
  // Set (by the Guard, from the policy) when a rate limit or quota applies to the call: the
  // store counts inside the decision's transaction and passes the counts to `decide`.
  std::optional<CountQuery> count;
  // The rate-limit key a call that proceeds is counted under ("" none: the tool has no
  // rate limit; it still counts towards the day's calls).
  std::string rate_key;
  // A reported result of this call may move the run's workflow (its agent has one): a
  // store that keeps no call rows (MemoryRunStore) keeps this call's tool and arguments.
  bool results_move_workflow = false;
  // The policy snapshot the Guard decides under: the release of an approved call
  // re-submitted with its approval_id applies what the call adds to the run's sequence
  // state (engine::ProceedEffects). Null: nothing is applied.
  std::shared_ptr<const policy::PolicySet> policies;
  // The request's Idempotency-Key, if any.
  IdempotencyKey idempotency;
  // For a child run's decision, which evaluates the call under every policy of its line
  // (core::DecideLine) itself: where path arguments are resolved (null: lexically)
  // and whether the store keeps the runs' sequence state (RunStore::KeepsSequenceState).
  const PathResolver* paths = nullptr;
  bool keeps_sequence_state = false;
  // And the policies' source, for a run with a workspace of its own (EvaluateRunCall),
  // and the daemon's role mapping (RunPolicy; null: none).
  const PolicySource* policy_source = nullptr;
  const RolePolicies* role_policies = nullptr;
};

// The workspace a run starts with (core::ResolveSessionWorkspace): RunState::workspace and
// RunState::workspace_refused.
struct RunWorkspace {
  std::string workspace;
  std::string refused;
  bool empty() const { return workspace.empty() && refused.empty(); }
};

// The run_started record's data for a run started with `w`: {} or {"workspace": ...,
// "workspace_refused": ...}.
boost::json::object RunStartedData(const RunWorkspace& w);

class RunStore {
 public:
  virtual ~RunStore() = default;

  // Creates a run for `agent_id` starting at `now`. run_id empty: the store picks one.
  // `workspace`: the run's workspace (RunState::workspace and workspace_refused), kept with
  // its state and named in its run_started record; empty: the daemon's.
  virtual Result<RunInfo> CreateRun(std::string_view agent_id, std::string_view run_id,
                                    TimePoint now, const RunWorkspace& workspace = {}) = 0;
  virtual Result<RunInfo> GetRun(std::string_view run_id) = 0;

  // Creates a run as the child of another (core::CreateChildRunInTxn: the parent exists,
  // has not ended, is not killed, belongs to the caller or a delegating agent; the depth
  // and the parent's live children stay within rq.limits). A store that keeps no tree of
  // runs answers kUnavailable.
  virtual Result<RunInfo> CreateChildRun(const ChildRunRequest& rq) {
    (void)rq;
    return Error::Unavailable("store: this store keeps no child runs");
  }

  // Atomically: load the run (NotFound if absent; PermissionDenied if it belongs to
  // another agent), add the call's usage, set elapsed from `now`, find the kill switch
  // covering (agent, run), call `decide`, apply its effects, record the call, and make
  // all of it durable. Returns the record as stored. Any failure leaves no trace.
  virtual Result<CallRecord> Decide(const DecideRequest& request, const DecideFn& decide) = 0;

  // The same, asynchronously: `done` runs exactly once, on a store thread or inline, and
  // must not block. Stores with a writer thread (group commit) override this so that
  // front doors never hold a thread while a batch commits.
  using DecideCallback = std::function<void(Result<CallRecord>)>;
  virtual void DecideAsync(DecideRequest request, DecideFn decide, DecideCallback done) {
    done(Decide(request, decide));
  }
  // True when DecideAsync is the default above (Decide, answered in line): the Guard then
  // calls Decide itself, with no callback that must outlive the call (no closure holding
  // copies of the request's strings). A store that overrides DecideAsync leaves it false.
  virtual bool DecidesInline() const { return false; }
  // Decide, for the Guard's in-line path: on success the record is written into *rec
  // (no Result<CallRecord> to move it through) and the request's strings and call may be
  // moved into it; on failure *rec and `request` are left as they were.
  virtual Status DecideInto(DecideRequest&& request, const DecideFn& decide, CallRecord* rec) {
    Result<CallRecord> r = Decide(request, decide);
    if (!r.ok()) return r.error();
    *rec = std::move(r).value();
    return Status::Ok();
  }

  // Adds usage not tied to a call (model tokens between tool calls).
  virtual Status AddUsage(std::string_view run_id, std::string_view agent_id,
                          const Usage& usage) = 0;

  // AddUsage with an Idempotency-Key (empty key: AddUsage): a repeat of the key in the run
  // with the same request is Ok and adds nothing; with another request kAlreadyExists.
  // A store that keeps no keys answers kUnavailable (never counts twice).
  virtual Status AddUsageOnce(std::string_view run_id, std::string_view agent_id,
                              const Usage& usage, const IdempotencyKey& key) {
    if (key.key.empty()) return AddUsage(run_id, agent_id, usage);
    return Error::Unavailable("store: this store keeps no idempotency keys");
  }

  // Records a reported result of an allowed call (see core::Store::RecordResult).
  // `principal`: the reporter's, as its decisions record it; a call decided under another
  // is kPermissionDenied (core::RecordResultInTxn).
  virtual Status RecordResult(std::string_view call_id, std::string_view agent_id,
                              std::string_view principal, const CallResult& result, TimePoint now) {
    (void)call_id, (void)agent_id, (void)principal, (void)result, (void)now;
    return Error::Unavailable("store: this store records no results");
  }

  // Records the outcome of the rehearsal of call_id (core::RecordRehearsalInTxn) and returns
  // that call as recorded (only to the principal it was decided for, as RecordResult). A
  // store that does not keep calls answers kUnavailable.
  virtual Result<CallRecord> RecordRehearsal(std::string_view call_id, std::string_view agent_id,
                                             std::string_view principal, const CallResult& result,
                                             TimePoint now) {
    (void)call_id, (void)agent_id, (void)principal, (void)result, (void)now;
    return Error{ErrorKind::kUnavailable, "this store does not support rehearsals"};
  }

  // Whether the store keeps a run's sequence state (workflow state and variables, labels
  // seen: RunState's issue-15 fields) from one call to the next. A store that does not is
  // never asked to decide for a policy that needs them: the Guard denies instead
  // (a workflow or flow rule judged without its history would be a bypass).
  virtual bool KeepsSequenceState() const { return false; }
  // The redactor of the store's audit key, which seals and opens a reviewer's edit of
  // redacted arguments (core::OpenSealedArguments); nullptr for a store without one
  // (which refuses edits).
  virtual const audit::Redactor* redactor() const { return nullptr; }
};

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_PORTS_RUN_STORE_H_
