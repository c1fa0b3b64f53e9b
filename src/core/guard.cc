#include "core/guard.h"

#include <boost/json/serialize.hpp>

#include "common/await.h"
#include "core/approval_rules.h"
#include "core/lineage.h"
#include "core/run_txn.h"

namespace interlock::core {

bool ValidTraceparent(std::string_view v) {
  if (v.size() != 55 || v[2] != '-' || v[35] != '-' || v[52] != '-') return false;
  auto hex = [&](size_t from, size_t n, bool must_be_nonzero) {
    bool nonzero = false;
    for (size_t i = from; i < from + n; ++i) {
      const char c = v[i];
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
      nonzero |= c != '0';
    }
    return nonzero || !must_be_nonzero;
  };
  return v.substr(0, 2) == "00" && hex(3, 32, true) && hex(36, 16, true) && hex(53, 2, false);
}

// What the engine step needs, in one place: the in-line path hands the store a closure
// of one pointer to it (std::function keeps it without allocating).
struct Guard::Prepared {
  struct Step {
    std::shared_ptr<const policy::PolicySet> set;
    const policy::AgentPolicy* agent = nullptr;
    TimePoint now;
    bool history_missing = false;
    // The request's tool resolved once (the store hands the engine that same call).
    std::optional<policy::ToolResolution> resolved;
    // Copies (usually empty, so free): the request is moved into the store.
    std::string on_behalf_of;
    std::vector<std::string> on_behalf_of_groups;
    // Where path arguments are resolved (Guard::SetPathResolver). Not owned.
    const PathResolver* paths = nullptr;
    // The policies' source, for a run's own workspace (PolicySource::ForWorkspace).
    const PolicySource* source = nullptr;
    engine::Evaluation operator()(const ToolCall& c, const RunState& state,
                                  const std::optional<engine::KillSwitch>& kill,
                                  const std::optional<engine::AgentUsage>& usage) const {
      EvalSettings s{now, on_behalf_of, &on_behalf_of_groups, paths, !history_missing};
      if (resolved) s.resolved = &*resolved;
      s.source = source;
      return EvaluateRunCall(set.get(), agent, c, state, kill, usage, s);
    }
  };
  DecideRequest request;
  Step step;
  telemetry::DecisionSpan span;
  // The plain values of the call's redacted arguments (RedactedValues::Pick), kept for the
  // call's result once it is decided.
  boost::json::object redacted;
  // When the Guard took the call (DecisionObserver's `took`).
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

void Guard::Prepare(std::string_view agent_id, std::string_view principal, std::string_view run_id,
                    std::string_view traceparent, IdempotencyKey idempotency,
                    const CallerIdentity* identity, Prepared* out) const {
  // One snapshot for the whole decision: a concurrent reload cannot split it. The
  // snapshot is owned by the step, so it outlives an asynchronous store.
  std::shared_ptr<const policy::PolicySet> set = policies_->Current();
  const policy::AgentPolicy* agent = set ? set->Find(agent_id) : nullptr;

  DecideRequest& request = out->request;
  request.run_id = std::string(run_id);
  request.agent_id = std::string(agent_id);
  request.principal = std::string(principal);
  request.policy_sha256 = set ? set->sha256 : std::string();
  request.policies = set;
  request.now = clock_->Now();
  // The caller's trace context: the door's argument (an HTTP header), else the call's own
  // (MCP params._meta.traceparent). With telemetry on, a call without one is recorded
  // under the decision span's own trace, so every record names a trace.
  if (traceparent.empty()) traceparent = request.call.traceparent;
  out->span.Start(telemetry_, traceparent);
  if (ValidTraceparent(traceparent)) {
    request.traceparent = std::string(traceparent);
  } else if (out->span.active()) {
    request.traceparent = out->span.AuditTraceparent();
  }
  if (out->span.active()) out->span.set_args_sha256(ArgsSha256(request));
  request.idempotency = std::move(idempotency);
  if (identity != nullptr) request.identity = *identity;
  // One resolution of the tool for the redaction, the rate limit and the engine.
  Prepared::Step& step = out->step;
  if (agent != nullptr && request.call.kind == CallKind::kTool) {
    step.resolved = agent->Resolve(request.call.tool);
    const policy::ToolRule* rule = step.resolved->rule;
    if (rule != nullptr) request.redact_fields = rule->redact;
    if (rule != nullptr && !rule->redact.empty() && redacted_values_ != nullptr) {
      out->redacted = RedactedValues::Pick(request.call.args, rule->redact);
    }
    std::string key;
    const policy::RateLimit* limit = engine::RateLimitOfRule(rule, &key);
    // What the store counts across the agent's runs, in the decision's transaction.
    if (limit != nullptr || agent->quotas.any()) {
      CountQuery q;
      if (limit != nullptr) {
        q.rate_key = key;
        q.window_ms = limit->per_seconds * 1000;
      }
      q.day = agent->quotas.any();
      request.count = std::move(q);
      request.rate_key = std::move(key);
    }
    request.results_move_workflow = agent->workflow != nullptr;
  }
  // Workflows and flow rules judge a call by the run's history; a store that does not
  // keep it would make every call look like the first. Denied (and recorded) instead.
  // Egress decisions read no history.
  step.history_missing = agent != nullptr && request.call.kind == CallKind::kTool &&
                         (agent->workflow != nullptr || !agent->flows.empty()) &&
                         !store_->KeepsSequenceState();
  step.set = std::move(set);
  step.agent = agent;
  step.now = request.now;
  step.on_behalf_of = request.identity.on_behalf_of;
  step.on_behalf_of_groups = request.identity.on_behalf_of_groups;
  step.paths = paths_;
  step.source = policies_;
  request.paths = paths_;
  request.keeps_sequence_state = store_->KeepsSequenceState();
  request.policy_source = policies_;
  request.role_policies = role_policies_;
}

GuardResponse Guard::DecideInline(Prepared& p, std::string_view agent_id) {
  // The store answers before DecideInto returns: the step and the caller's strings
  // outlive the call, so nothing is copied for the answer. The record is written in
  // place and takes the request's strings (the request is not read after a success).
  const Prepared::Step& step = p.step;
  CallRecord rec;
  Status s = store_->DecideInto(
      std::move(p.request),
      [&step](
          const ToolCall& c, const RunState& state, const std::optional<engine::KillSwitch>& kill,
          const std::optional<engine::AgentUsage>& usage) { return step(c, state, kill, usage); },
      &rec);
  if (!s.ok()) {
    Result<CallRecord> failed = s.error();
    return Finish(failed, agent_id, p.request.call.tool, p.span, p.redacted,
                  p.started);  // left as on failure
  }
  return FinishRecord(rec, agent_id, p.span, p.redacted, p.started);
}

void Guard::DecideAsync(std::string_view agent_id, std::string_view principal,
                        std::string_view run_id, ToolCall&& call, DoneFn done,
                        std::string_view traceparent, IdempotencyKey idempotency,
                        const CallerIdentity* identity) {
  // The call is moved in as the request is made (a move-assignment of its arguments
  // object would cost more).
  Prepared p{{.call = std::move(call)}, {}, {}, {}};
  Prepare(agent_id, principal, run_id, traceparent, std::move(idempotency), identity, &p);
  if (store_->DecidesInline()) {
    done(DecideInline(p, agent_id));
    return;
  }
  std::string tool = p.request.call.tool;
  store_->DecideAsync(
      std::move(p.request), DecideFn(std::move(p.step)),
      [this, agent_id = std::string(agent_id), tool = std::move(tool), done = std::move(done),
       span = std::move(p.span), redacted = std::move(p.redacted),
       started = p.started](Result<CallRecord>&& rec) mutable {
        done(Finish(rec, agent_id, tool, span, redacted, started));
      });
}

GuardResponse Guard::Decide(std::string_view agent_id, std::string_view principal,
                            std::string_view run_id, ToolCall&& call) {
  if (store_->DecidesInline()) {  // answered here, straight into the caller's response
    Prepared p{{.call = std::move(call)}, {}, {}, {}};
    Prepare(agent_id, principal, run_id, {}, {}, nullptr, &p);
    return DecideInline(p, agent_id);
  }
  return AwaitCallback<GuardResponse>([&](auto done) {
    DecideAsync(agent_id, principal, run_id, std::move(call), std::move(done));
  });
}

GuardResponse Guard::CompleteRehearsal(std::string_view agent_id, std::string_view principal,
                                       std::string_view call_id, const CallResult& rehearsal,
                                       std::optional<boost::json::object> args,
                                       std::vector<std::string> mask_values) {
  const auto started = std::chrono::steady_clock::now();
  auto refuse = [&](ErrorKind kind, std::string why, std::string tool) {
    GuardResponse out;
    const Code code = kind == ErrorKind::kUnavailable || kind == ErrorKind::kInternal ||
                              kind == ErrorKind::kCorrupt
                          ? Code::kStoreUnavailable
                          : Code::kInvalidRequest;
    out.decision = DenyDecision(code, std::move(why), "rehearsal");
    out.decision.agent_id = std::string(agent_id);
    out.decision.tool = std::move(tool);
    out.error = kind;
    return Observed(agent_id, std::move(out), started);
  };
  // The rehearsal ran with the call's arguments: its outcome is masked as a result is.
  CallResult reported = rehearsal;
  if (!reported.redacted_args && redacted_values_ != nullptr) {
    reported.redacted_args = redacted_values_->Find(call_id, clock_->Now());
  }
  // Its own record: cut here (not in the store's transaction) when over the limit; the
  // real call's decision below takes its first bytes from the whole outcome.
  CallResult recorded = reported;
  CutOutputBeforeTheStore(&recorded);
  Result<CallRecord> planned =
      store_->RecordRehearsal(call_id, agent_id, principal, recorded, clock_->Now());
  if (!planned.ok()) return refuse(planned.error().kind, planned.error().message, "");
  if (redacted_values_ != nullptr) redacted_values_->Forget(call_id);
  const CallRecord& a = *planned;
  if (!a.decision.rehearsal || a.decision.rehearsal->args_sha256.empty()) {
    return refuse(ErrorKind::kInvalidArgument,
                  "call " + std::string(call_id) + " has no recorded rehearsal plan", a.call.tool);
  }
  DecideRequest bound;
  bound.call.tool = a.call.tool;
  bound.call.args = args ? std::move(*args) : a.call.args;
  if (ArgsSha256(bound) != a.decision.rehearsal->args_sha256) {
    return refuse(ErrorKind::kInvalidArgument,
                  std::string(args ? "the arguments are not those of call "
                                   : "the recorded arguments of call ") +
                      std::string(call_id) +
                      (args ? " (its rehearsal was planned for others)"
                            : " were redacted or masked: send the call's arguments with the "
                              "rehearsal's outcome"),
                  a.call.tool);
  }
  ToolCall call = std::move(bound.call);
  call.mask_values = std::move(mask_values);
  ToolCall::RehearsalOutcome outcome;
  outcome.call_id = std::string(call_id);
  outcome.ok = rehearsal.ok;
  // The outcome goes into the real call's decision record: masked as the rehearsal's own
  // record (with the values this process kept; without them, withheld when the call has
  // redacted arguments).
  ResultMask mask;
  if (reported.redacted_args) {
    mask.forms = audit::Redactor::EchoForms(*reported.redacted_args);
  } else {
    mask.withhold = HasRedactedArgs(a.call.args);
  }
  if (mask.withhold) {
    outcome.output = boost::json::serialize(ResultJson(reported, mask).at("withheld"));
  } else {
    outcome.output =
        TruncateUtf8(MaskedOutputJson(reported.output_json, mask.forms), kMaxRehearsalOutputBytes);
    outcome.error = TruncateUtf8(audit::Redactor::MaskSecrets(reported.error, mask.forms),
                                 kMaxRehearsalOutputBytes);
  }
  call.rehearsal = std::move(outcome);
  return Decide(agent_id, principal, a.run_id, std::move(call));
}

GuardResponse Guard::Observed(std::string_view agent_id, GuardResponse response,
                              std::chrono::steady_clock::time_point started) const {
  if (observer_ != nullptr) {
    observer_->Decided(agent_id, response, std::chrono::steady_clock::now() - started);
  }
  return response;
}

GuardResponse Guard::Finish(Result<CallRecord>& rec, std::string_view agent_id,
                            std::string_view tool, telemetry::DecisionSpan& span,
                            boost::json::object& redacted,
                            std::chrono::steady_clock::time_point started) {
  GuardResponse out;
  if (!rec.ok()) {
    // Fail closed: without recorded state there is no decision but deny.
    const Error& e = rec.error();
    Code code = Code::kStoreUnavailable;
    if (e.kind == ErrorKind::kNotFound || e.kind == ErrorKind::kPermissionDenied ||
        e.kind == ErrorKind::kInvalidArgument) {
      code = Code::kInvalidRequest;
    }
    out.decision = DenyDecision(code, e.message, "store");
    out.decision.agent_id = std::string(agent_id);
    out.decision.tool = std::string(tool);
    out.error = e.kind;
    if (span.active()) span.End(out.decision, {.error = true});
    return Observed(agent_id, std::move(out), started);
  }
  return FinishRecord(*rec, agent_id, span, redacted, started);
}

GuardResponse Guard::FinishRecord(CallRecord& rec, std::string_view agent_id,
                                  telemetry::DecisionSpan& span, boost::json::object& redacted,
                                  std::chrono::steady_clock::time_point started) {
  // An answer with an earlier call's decision (a re-submission of an edited approval, a
  // replay) carries the arguments to run: opened, or no answer but a deny.
  if (Status s = OpenSealedArguments(store_->redactor(), rec.call_id, &rec.decision); !s.ok()) {
    Result<CallRecord> failed = s.error();
    return Finish(failed, agent_id, rec.call.tool, span, redacted, started);
  }
  // A denied call has no result; any other may get one (after its approval or rehearsal).
  if (!redacted.empty() && redacted_values_ != nullptr && !rec.call_id.empty() &&
      rec.decision.verdict != Verdict::kDeny) {
    redacted_values_->Keep(rec.call_id, std::move(redacted), clock_->Now());
  }
  if (notifier_ != nullptr) {
    // A notice logged meanwhile carries the decision span's trace and span ids.
    telemetry::ScopedContext in_span(span.active() ? &span.context() : nullptr);
    for (const Notification& n : rec.decision.notifications) notifier_->Notify(n, rec);
  }
  if (rec.decision.agent_id.empty()) rec.decision.agent_id = std::string(agent_id);
  if (span.active()) {
    span.End(rec.decision, {.run_id = rec.run_id,
                            .call_id = rec.call_id,
                            .principal = rec.principal,
                            .existing_call = rec.existing,
                            .recorded_args = &rec.call.args});
  }
  return Answer(rec, agent_id, started);
}

GuardResponse Guard::Answer(CallRecord& rec, std::string_view agent_id,
                            std::chrono::steady_clock::time_point started) const {
  // Built from the record's members (move-constructed): no default Decision and RunState
  // made first and then assigned over, once per decision. One named result and one
  // return, so it is built in the caller's place: a second return in this function
  // would cost a move of the whole response per decision (~5% of `interlock decide`).
  GuardResponse out{std::move(rec.decision),
                    std::move(rec.call_id),
                    std::move(rec.state_after),
                    rec.existing,
                    rec.replayed,
                    std::nullopt};
  if (observer_ != nullptr) {
    observer_->Decided(agent_id, out, std::chrono::steady_clock::now() - started);
  }
  return out;
}

}  // namespace interlock::core
