// Guard: the one decision path every front door calls (HTTP, MCP, hook, CLI).
//
//   policy snapshot -> RunStore::Decide { kill switch -> run state -> engine } -> notify
//
// Front doors authenticate, parse and translate; they never re-implement a check.
// Decide() never fails open: an unavailable store or audit sink becomes a deny with
// STORE_UNAVAILABLE / AUDIT_UNAVAILABLE.
// Thread-safety: Decide() may be called from any thread concurrently. The Guard does
// not own its collaborators; they must outlive it.
#ifndef INTERLOCK_CORE_GUARD_H_
#define INTERLOCK_CORE_GUARD_H_

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/time.h"
#include "core/app/policy_source.h"
#include "core/path_links.h"
#include "core/ports/run_store.h"
#include "core/redacted_values.h"
#include "interlock/decision.h"
#include "interlock/outcome.h"
#include "interlock/tool_call.h"
#include "telemetry/decision_span.h"

namespace interlock::core {

// Receives notifications (escalations, flagged calls). Must not block: implementations
// queue and deliver on their own thread.
class Notifier {
 public:
  virtual ~Notifier() = default;
  virtual void Notify(const Notification& n, const CallRecord& context) = 0;
};

struct GuardResponse {
  Decision decision;
  std::string call_id;         // empty when the call could not be recorded
  RunState state;              // run state after this call (for replay and clients)
  bool existing_call = false;  // an earlier call answered (CallRecord::existing)
  bool replayed = false;       // the answer kept with the request's Idempotency-Key

  // Set when the request itself could not be evaluated (unknown run: kNotFound; run of
  // another agent: kPermissionDenied; store down: kUnavailable). The decision is then a
  // deny; HTTP maps these to 404 / 403 / 200-with-STORE_UNAVAILABLE.
  std::optional<ErrorKind> error;

  // What the answer is, for the door to map in its one function (interlock/outcome.h):
  // computed from the decision and the error, never stored apart from them.
  Outcome outcome() const { return OutcomeOf(decision, error); }
};

// Told of every answer the Guard gives, whichever door asked (the daemon's metrics count
// decisions here, so a door cannot forget to): `took` runs from the Guard's receipt of the
// call to its answer. Called on the deciding thread before the door gets the answer; must
// not block.
class DecisionObserver {
 public:
  virtual ~DecisionObserver() = default;
  virtual void Decided(std::string_view agent_id, const GuardResponse& response,
                       std::chrono::nanoseconds took) = 0;
};

// True for a well-formed W3C traceparent of version 00 with non-zero ids.
bool ValidTraceparent(std::string_view v);

class Guard {
 public:
  Guard(const PolicySource* policies, RunStore* store, const Clock* clock,
        Notifier* notifier /* may be null */)
      : policies_(policies), store_(store), clock_(clock), notifier_(notifier) {}

  // Decides one call for `agent_id` (taken from the authenticated principal) in run_id.
  // On a store that answers in line (RunStore::DecidesInline) the answer is built in the
  // caller's place, with no promise, future or callback.
  GuardResponse Decide(std::string_view agent_id, std::string_view principal,
                       std::string_view run_id, ToolCall&& call);
  GuardResponse Decide(std::string_view agent_id, std::string_view principal,
                       std::string_view run_id, const ToolCall& call) {
    return Decide(agent_id, principal, run_id, ToolCall(call));
  }

  // The same, asynchronously (see RunStore::DecideAsync); `done` runs exactly once, with
  // the response the Guard built (an rvalue: `done` may move it where it is needed, so a
  // response crosses to its door's thread without a copy or a chain of moves).
  using DoneFn = std::function<void(GuardResponse&&)>;
  // `traceparent` is the caller's W3C trace context; recorded in the audit trail when it
  // is well formed ("00-<32 hex>-<16 hex>-<2 hex>"), dropped otherwise.
  // `idempotency`: the request's Idempotency-Key (DecideRequest::idempotency), if any.
  // `identity`, when given, is the verified JWT identity the caller presented (recorded).
  // The call is taken (moved from) by the request the store decides.
  void DecideAsync(std::string_view agent_id, std::string_view principal, std::string_view run_id,
                   ToolCall&& call, DoneFn done, std::string_view traceparent = {},
                   IdempotencyKey idempotency = {}, const CallerIdentity* identity = nullptr);

  // The current policy snapshot, for a door that reports a call's result: a result is
  // judged under it (CallResult::policies; a workflow transition `on: ok|error` moves the
  // run), so that every door moves workflows the same way.
  std::shared_ptr<const policy::PolicySet> Policies() const { return policies_->Current(); }
  // Where the snapshots come from, for a door building its core facades (core::Calls) over
  // the same policies as this Guard.
  const PolicySource* policy_source() const { return policies_; }

  // Where decision spans go (docs/telemetry.md); not owned, never null (default: off).
  // Set before the first decision.
  void SetTelemetry(telemetry::Sink* sink) { telemetry_ = sink; }

  // Who is told of every answer (DecisionObserver); not owned; null: nobody. Set before the
  // first decision.
  void SetDecisionObserver(DecisionObserver* observer) { observer_ = observer; }

  // Where the plain values of a call's redacted arguments are kept until its result is
  // recorded (core::Calls masks the result with them); not owned. Default: the process's
  // (RedactedValues::Process()). Null: kept nowhere (a store that records no results).
  // Set before the first decision.
  void SetRedactedValues(RedactedValues* values) { redacted_values_ = values; }

  // Where path arguments learn the path the OS will open (PathResolver); not
  // owned, never null. Default: the file system (OsPaths()). Set before the first decision.
  void SetPathResolver(const PathResolver* paths) { paths_ = paths; }

  // The daemon's `role_policies` (RunPolicy): the policy a child run in a role decides
  // under, where it names one. Not owned; null: none. Set before the first decision.
  void SetRolePolicies(const RolePolicies* mapped) { role_policies_ = mapped; }

  // The second phase of a rehearsed call (docs/policy.md#rehearsal): records the outcome of
  // the rehearsal of `call_id` (a call of `agent_id` decided REHEARSAL_REQUIRED, reported
  // once), then decides the real call in the same run, as one step: its decision carries the
  // outcome (allow, APPROVAL_REQUIRED with the output for the reviewer) or is
  // REHEARSAL_FAILED. `args`: the call's arguments as first sent, needed when the recorded
  // ones were redacted or masked; they must be those the rehearsal was planned for
  // (args_sha256). nullopt: the recorded ones. `mask_values` as ToolCall::mask_values.
  // Errors (response.error): kNotFound, kPermissionDenied (another agent's call),
  // kInvalidArgument (no rehearsal awaited, or other arguments), kAlreadyExists (reported
  // twice), kUnavailable; the decision is then a deny.
  GuardResponse CompleteRehearsal(std::string_view agent_id, std::string_view principal,
                                  std::string_view call_id, const CallResult& rehearsal,
                                  std::optional<boost::json::object> args,
                                  std::vector<std::string> mask_values = {});

 private:
  // The store request and the engine step of one call (guard.cc).
  struct Prepared;
  // Fills *out around the call it holds already (out->request.call).
  void Prepare(std::string_view agent_id, std::string_view principal, std::string_view run_id,
               std::string_view traceparent, IdempotencyKey idempotency,
               const CallerIdentity* identity, Prepared* out) const;
  // The in-line store's path (DecidesInline): decides `p` and answers.
  GuardResponse DecideInline(Prepared& p, std::string_view agent_id);

  // Takes what it needs out of `rec` (moved from, not copied); ends `span`. `redacted`:
  // the plain values of the call's redacted arguments, kept for its result (moved from).
  // `started`: when the Guard took the call (the observer's `took`).
  GuardResponse Finish(Result<CallRecord>& rec, std::string_view agent_id, std::string_view tool,
                       telemetry::DecisionSpan& span, boost::json::object& redacted,
                       std::chrono::steady_clock::time_point started);
  // Finish's success path: the record the store wrote.
  GuardResponse FinishRecord(CallRecord& rec, std::string_view agent_id,
                             telemetry::DecisionSpan& span, boost::json::object& redacted,
                             std::chrono::steady_clock::time_point started);
  // FinishRecord's answer: the response made of `rec`'s members (moved from), told to
  // the observer.
  GuardResponse Answer(CallRecord& rec, std::string_view agent_id,
                       std::chrono::steady_clock::time_point started) const;
  // Tells the observer of `response`, and returns it.
  GuardResponse Observed(std::string_view agent_id, GuardResponse response,
                         std::chrono::steady_clock::time_point started) const;

  const PolicySource* policies_;
  RunStore* store_;
  const Clock* clock_;
  Notifier* notifier_;
  telemetry::Sink* telemetry_ = telemetry::NoopSink();
  DecisionObserver* observer_ = nullptr;
  RedactedValues* redacted_values_ = RedactedValues::Process();
  const PathResolver* paths_ = OsPaths();
  const RolePolicies* role_policies_ = nullptr;
};

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_GUARD_H_
