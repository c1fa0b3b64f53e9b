#include "core/decide_txn.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include <boost/json/serialize.hpp>

#include "audit/canonical.h"
#include "common/decision_json.h"
#include "common/json.h"
#include "common/json_write.h"
#include "common/status_macros.h"
#include "core/approval_rules.h"
#include "core/approval_txn.h"
#include "core/lineage.h"
#include "core/redacted_values.h"
#include "core/run_txn.h"
#include "policy/texts.h"

namespace interlock::core {

namespace {

int64_t ElapsedMs(TimePoint started, TimePoint now) {
  using std::chrono::milliseconds;
  // Both as stored: whole milliseconds since the epoch.
  const int64_t from = std::chrono::duration_cast<milliseconds>(started.time_since_epoch()).count();
  const int64_t to = std::chrono::duration_cast<milliseconds>(now.time_since_epoch()).count();
  return std::max<int64_t>(0, to - from);
}

// Keeps the answer to a request with an Idempotency-Key (none: nothing) in its run, before
// the run is saved: {"call_id", "decision" (as answered, masked), "existing",
// "decided_for" (the caller it was made for: principal, issuer, subject, on_behalf_of)}.
Status RememberAnswer(StateTxn& txn, const DecideRequest& rq, const std::string& call_id,
                      const Decision& decision, bool existing) {
  if (rq.idempotency.key.empty()) return Status::Ok();
  boost::json::object answer{{"call_id", call_id},
                             {"decision", DecisionToJson(decision)},
                             {"existing", existing},
                             {"decided_for", boost::json::object{
                                                 {"principal", rq.principal},
                                                 {"issuer", rq.identity.issuer},
                                                 {"subject", rq.identity.subject},
                                                 {"on_behalf_of", rq.identity.on_behalf_of},
                                             }}};
  return txn.SaveIdempotency(
      rq.run_id, rq.idempotency.key,
      IdempotencyRow{rq.idempotency.request_sha256, boost::json::serialize(answer)}, rq.now);
}

// Why the answer kept with the request's Idempotency-Key is not the requester's to have
// again (IdentityRefusal), or "". An answer kept before the caller was kept with it names
// nobody: refused (fail closed).
std::string ReplayRefusal(const std::string& answer, const DecideRequest& rq) {
  const std::string what = "the answer to Idempotency-Key " + rq.idempotency.key;
  Result<boost::json::value> v = ParseOwnJson(answer);
  const boost::json::object* o = v.ok() ? v->if_object() : nullptr;
  const boost::json::value* f = o != nullptr ? o->if_contains("decided_for") : nullptr;
  if (f == nullptr || !f->is_object()) {
    return IdentityRefusal(what, "a caller it does not name", nullptr, rq);
  }
  auto str = [&](const char* k) {
    const boost::json::value* x = f->get_object().if_contains(k);
    return x != nullptr && x->is_string() ? std::string(x->get_string()) : std::string();
  };
  const CallerIdentity decided{str("issuer"), str("subject"), str("on_behalf_of"), {}, {}};
  return IdentityRefusal(what, str("principal"), &decided, rq);
}

// Turns any evaluation into deny/IDENTITY_MISMATCH with `refusal` (no-op when empty): the
// request asked for a decision made for another identity. Whatever the engine said, it is
// not this caller's decision; its other effects (the step, a halt) stand.
void RefuseForIdentity(const std::string& refusal, engine::Evaluation* ev) {
  if (refusal.empty()) return;
  Decision deny = DenyDecision(Code::kIdentityMismatch, refusal, "identity");
  deny.agent_id = ev->decision.agent_id;
  deny.tool = ev->decision.tool;
  ev->decision = std::move(deny);
  ev->effects.consume_records = false;
}

// The answer kept with the request's Idempotency-Key, again (CallRecord::replayed): the same
// call id and decision, the run's state as it is now. Writes nothing.
Status ReplayAnswer(const std::string& answer, const RunRow& row, const DecideRequest& rq,
                    CallRecord* rec) {
  Result<boost::json::value> v = ParseOwnJson(answer);
  const boost::json::object* o = v.ok() ? v->if_object() : nullptr;
  const boost::json::value* id = o != nullptr ? o->if_contains("call_id") : nullptr;
  const boost::json::value* d = o != nullptr ? o->if_contains("decision") : nullptr;
  std::optional<Decision> decision;
  if (d != nullptr && d->is_object()) decision = DecisionFromJson(d->get_object());
  if (id == nullptr || !id->is_string() || !decision) {
    return Error::Corrupt("store: the answer kept with Idempotency-Key " + rq.idempotency.key +
                          " is unreadable");
  }
  *rec = CallRecord{};
  rec->call_id = std::string(id->get_string());
  rec->run_id = rq.run_id;
  rec->agent_id = rq.agent_id;
  rec->principal = rq.principal;
  rec->policy_sha256 = rq.policy_sha256;
  rec->at = rq.now;
  rec->call.tool = rq.call.tool;
  rec->decision = std::move(*decision);
  const boost::json::value* existing = o->if_contains("existing");
  rec->existing = existing != nullptr && existing->is_bool() && existing->get_bool();
  rec->replayed = true;
  rec->state_after = row.state;
  rec->state_after.elapsed_ms = ElapsedMs(row.started, rq.now);
  return Status::Ok();
}

// Answers with call_id, recorded earlier in the same run (CallRecord::existing): releases
// it first when `release`. Writes nothing else and leaves the run untouched, except that
// a release that delivers the allow applies what the call adds to the run's sequence
// state (labels, a transition `on: allowed`) and counts it for rate limits and quotas.
Status AnswerWithEarlierCall(StateTxn& txn, const std::string& call_id, RunRow& row,
                             const std::vector<Ancestor>& line, const DecideRequest& rq,
                             bool release, CallRecord* rec) {
  bool released_now = false;
  if (release) {
    Result<std::optional<engine::KillSwitch>> kill = LineKill(txn, rq.agent_id, rq.run_id, line);
    if (!kill.ok()) return kill.error();
    const bool ended = row.ended || !EndedLineRefusal(rq.run_id, line).empty();
    const ReleaseContext ctx{std::move(kill).value(), row.state.halted, ended,
                             row.state.halt_reason, rq.now};
    INTERLOCK_RETURN_IF_ERROR(ReleaseInTxn(txn, call_id, ctx, &released_now));
  }
  Result<CallRecord> call = txn.LoadCall(call_id);
  if (!call.ok()) {
    if (call.error().kind != ErrorKind::kNotFound) return call.error();
    return Error::Invalid("call " + call_id + " of this approval is no longer stored");
  }
  call->decision.notifications.clear();  // notified when it was decided
  if (Status s = RememberAnswer(txn, rq, call_id, call->decision, /*existing=*/true); !s.ok()) {
    return s;
  }
  if (released_now && rq.policies != nullptr) {
    const policy::AgentPolicy* agent = rq.policies->Find(rq.agent_id);
    if (Status s = ApplyRelease(txn, agent, *call, rq.agent_id, rq.now, &row.state); !s.ok()) {
      return s;
    }
    if (Status s = txn.SaveRun(rq.run_id, row); !s.ok()) return s;  // the last write
  }
  *rec = std::move(call).value();
  rec->decision.notifications.clear();  // notified when it was decided
  rec->existing = true;
  rec->state_after = row.state;
  rec->state_after.elapsed_ms = ElapsedMs(row.started, rq.now);
  return Status::Ok();
}

// The audit record's data: args, decision, policy, state after, tool, trace, usage, in
// canonical key order. Sets the spans of the args and decision texts inside it.
// A child run's decision names every run of its line ("lineage": AppendLineJson).
std::string DecisionData(const boost::json::object& args, const Decision& decision,
                         const RunState& state, const DecideRequest& rq,
                         const std::vector<LineVerdict>& line, std::string_view* args_json,
                         std::string_view* decision_json) {
  std::string data;
  data.reserve(512);
  data.append("{\"args\":");
  const size_t args_at = data.size();
  AppendJson(args, JsonStyle::kCanonical, &data);
  const size_t args_len = data.size() - args_at;
  data.append(",\"decision\":");
  const size_t decision_at = data.size();
  AppendDecisionJson(decision, JsonStyle::kCanonical, &data);
  const size_t decision_len = data.size() - decision_at;
  if (!rq.identity.issuer.empty()) {  // absent for Interlock tokens: older records unchanged
    data.append(",\"identity\":{");
    if (rq.identity.actors.size() > 1) {  // a delegation chain, whole ("actors" < "issuer")
      data.append("\"actors\":[");
      for (size_t i = 0; i < rq.identity.actors.size(); ++i) {
        if (i > 0) data.push_back(',');
        AppendJsonString(rq.identity.actors[i], &data);
      }
      data.append("],");
    }
    data.append("\"issuer\":");
    AppendJsonString(rq.identity.issuer, &data);
    if (!rq.identity.on_behalf_of.empty()) {
      data.append(",\"on_behalf_of\":");
      AppendJsonString(rq.identity.on_behalf_of, &data);
    }
    data.append(",\"subject\":");
    AppendJsonString(rq.identity.subject, &data);
    data.push_back('}');
  }
  if (!line.empty()) {  // keys in canonical order: identity < lineage < policy_sha256
    data.append(",\"lineage\":");
    AppendLineJson(line, &data);
  }
  data.append(",\"policy_sha256\":");
  AppendJsonString(rq.policy_sha256, &data);
  data.append(",\"state_after\":");
  audit::AppendCanonicalAuditState(&data, state);
  data.append(",\"tool\":");
  AppendJsonString(rq.call.tool, &data);
  if (!rq.traceparent.empty()) {
    data.append(",\"traceparent\":");
    AppendJsonString(rq.traceparent, &data);
    if (!rq.call.tracestate.empty()) {  // keys in canonical order: traceparent < tracestate
      data.append(",\"tracestate\":");
      AppendJsonString(rq.call.tracestate, &data);
    }
  }
  data.append(",\"usage\":");
  audit::AppendCanonicalUsage(&data, rq.call.usage);
  data.push_back('}');
  *args_json = std::string_view(data.data() + args_at, args_len);
  *decision_json = std::string_view(data.data() + decision_at, decision_len);
  return data;
}

}  // namespace

Status ApplyRelease(StateTxn& txn, const policy::AgentPolicy* agent, const CallRecord& recorded,
                    std::string_view agent_id, TimePoint now, RunState* state) {
  if (agent == nullptr) return Status::Ok();
  const ToolCall* call = &recorded.call;
  ToolCall with_labels;
  if (call->declared_labels.empty() && !recorded.decision.declared_labels.empty()) {
    with_labels.tool = recorded.call.tool;
    with_labels.args = recorded.call.args;
    with_labels.declared_labels = recorded.decision.declared_labels;
    call = &with_labels;
  }
  engine::SequenceEffects fx = engine::ProceedEffects(agent, *state, *call);
  for (std::string& l : fx.add_labels) state->labels.insert(std::move(l));
  if (fx.move) engine::ApplyMove(*fx.move, state);
  std::string key;
  engine::RateLimitFor(agent, call->tool, &key);
  return txn.AddAgentUsage(agent_id, key, true, Usage{}, now);
}

Result<bool> NeedsRelease(const CallRecord& call, std::string_view agent_id,
                          std::string_view principal) {
  if (call.agent_id != agent_id) {
    return Error::Denied("call " + call.call_id + " belongs to another agent");
  }
  // Every call, not only an approved one: a poll of a call still pending would otherwise
  // become the release the moment it is granted, and an answer is the decision handed out.
  if (std::string refusal = PrincipalRefusal("call " + call.call_id, call.principal, principal);
      !refusal.empty()) {
    return Error::Denied(refusal);
  }
  return call.decision.verdict == Verdict::kAllow && call.decision.rule == "approval";
}

std::optional<audit::AuditEvent> RefusedReleaseRecord(const CallRecord& call,
                                                      std::string_view approval_id,
                                                      std::string_view agent_id,
                                                      std::string_view principal, TimePoint now) {
  if (call.agent_id != agent_id) return std::nullopt;
  const bool approval =
      call.decision.verdict == Verdict::kApprovalRequired ||
      (call.decision.verdict == Verdict::kAllow && call.decision.rule == "approval");
  if (!approval) return std::nullopt;
  std::string refusal = PrincipalRefusal("call " + call.call_id, call.principal, principal);
  if (refusal.empty()) return std::nullopt;
  audit::AuditEvent ev = SettledEvent(
      ApprovalRef{approval_id, call.call_id, call.run_id, call.agent_id, call.call.tool},
      "release_refused", Code::kIdentityMismatch, refusal, now, "", "");
  ev.principal = std::string(principal);
  return ev;
}

Result<bool> CheckReleaseRead(const CallRecord& call, std::string_view agent_id,
                              std::string_view principal, TimePoint now,
                              const AppendRecordsFn& append) {
  Result<bool> release = NeedsRelease(call, agent_id, principal);
  if (release.ok()) return release;
  // Another identity's read of a call sent for approval is recorded, as the decide path
  // records a redemption by another identity; refused whether or not that record lands.
  if (std::optional<audit::AuditEvent> refused =
          RefusedReleaseRecord(call, ApprovalIdForCall(call.call_id), agent_id, principal, now)) {
    std::vector<audit::AuditEvent> records;
    records.push_back(std::move(*refused));
    if (Status s = append(std::move(records)); !s.ok()) return s.error();
  }
  return release;
}

void RefuseApproval(const std::string& refusal, engine::Evaluation* ev) {
  Decision& d = ev->decision;
  // Kill switch, budgets, halts and blocks stand: an approval never overrides a deny.
  if (refusal.empty() || d.verdict == Verdict::kDeny) return;
  Decision deny = DenyDecision(Code::kApprovalDenied, refusal, "approval");
  deny.agent_id = d.agent_id;
  deny.tool = d.tool;
  d = std::move(deny);
  ev->effects.consume_records = false;
}

namespace {

// Fail closed: an allow is not handed out again once a kill switch covers the run (the
// agent may never have received it); the kill switch's deny is answered instead, with the
// same call id. Nothing is recorded either way.
Status WithholdReplayIfKilled(StateTxn& txn, const DecideRequest& rq,
                              const std::vector<Ancestor>& line, CallRecord* rec) {
  if (rec->decision.verdict == Verdict::kDeny) return Status::Ok();
  Result<std::optional<engine::KillSwitch>> kill = LineKill(txn, rq.agent_id, rq.run_id, line);
  if (!kill.ok()) return kill.error();
  if (*kill) {
    Decision deny =
        DenyDecision(Code::kKillSwitch,
                     "kill switch engaged (" + (*kill)->scope + "): " + (*kill)->reason +
                         "; the earlier answer to this Idempotency-Key is withheld",
                     "kill_switch." + (*kill)->scope);
    deny.agent_id = rec->decision.agent_id;
    deny.tool = rec->decision.tool;
    rec->decision = std::move(deny);
  }
  return Status::Ok();
}

// Rate limits and quotas: counted here, in the decision's transaction (exact); nullopt
// when the request asks for no count.
Result<std::optional<engine::AgentUsage>> CountUsage(StateTxn& txn, const DecideRequest& rq) {
  if (!rq.count) return std::optional<engine::AgentUsage>();
  Result<engine::AgentUsage> counted = txn.CountAgentUsage(rq.agent_id, *rq.count, rq.now);
  if (!counted.ok()) return counted.error();
  engine::AgentUsage usage = *counted;
  // The day's totals include this call's reported usage (as the run's do); its call is
  // not counted until it proceeds.
  RunState day;
  day.tokens = usage.day_tokens;
  day.cost_micros = usage.day_cost_micros;
  interlock::AddUsage(rq.call.usage, &day);
  usage.day_tokens = day.tokens;
  usage.day_cost_micros = day.cost_micros;
  return std::optional<engine::AgentUsage>(usage);
}

// The audit records of a decision: the decision itself, the run's halt if it caused one,
// and its escalations.
void AppendDecisionAudit(StateTxn& txn, const DecideRequest& rq, const std::string& call_id,
                         std::string data, const RunState& state, bool was_halted,
                         const Decision& decision) {
  audit::AuditEvent decision_event{audit::kDecision, rq.now,       rq.run_id, call_id,
                                   rq.agent_id,      rq.principal, {}};
  decision_event.data_json = std::move(data);
  txn.AppendAudit(std::move(decision_event));
  if (state.halted && !was_halted) {
    txn.AppendAudit(audit::AuditEvent{audit::kRunHalted, rq.now, rq.run_id, call_id, rq.agent_id,
                                      rq.principal,
                                      boost::json::object{{"reason", state.halt_reason}}});
  }
  for (const Notification& n : decision.notifications) {
    if (n.kind != Notification::Kind::kEscalation) continue;
    boost::json::array contacts;
    for (const std::string& c : n.contacts) contacts.emplace_back(c);
    txn.AppendAudit(audit::AuditEvent{
        audit::kEscalation, rq.now, rq.run_id, call_id, rq.agent_id, rq.principal,
        boost::json::object{
            {"channel", n.channel}, {"contacts", std::move(contacts)}, {"text", n.text}}});
  }
}

// The request's names into the call's record: moved when the caller gave the request up
// (owned == &rq), else copied.
void TakeRequestNames(const DecideRequest& rq, DecideRequest* owned, CallRecord* rec) {
  if (owned != nullptr) {
    rec->run_id = std::move(owned->run_id);
    rec->agent_id = std::move(owned->agent_id);
    rec->principal = std::move(owned->principal);
    rec->policy_sha256 = std::move(owned->policy_sha256);
    rec->call.tool = std::move(owned->call.tool);
  } else {
    rec->run_id = rq.run_id;
    rec->agent_id = rq.agent_id;
    rec->principal = rq.principal;
    rec->policy_sha256 = rq.policy_sha256;
    rec->call.tool = rq.call.tool;
  }
}

// What of the call's redacted arguments a decision reason may quote (a constraint's
// `argument "password" is "..."`: policy::ShowValue, the canonical JSON cut at 80 bytes),
// to mask in the reason: each value as ShowValue shows it (quoted, so a short value is
// masked there too) and the forms a result is masked with. Empty without redacted ones.
std::vector<std::string> ReasonMask(const DecideRequest& rq) {
  std::vector<std::string> forms;
  if (rq.redact_fields.empty()) return forms;
  const boost::json::object picked = RedactedValues::Pick(rq.call.args, rq.redact_fields);
  if (picked.empty()) return forms;
  forms = audit::Redactor::EchoForms(picked);
  for (const auto& kv : picked) {
    std::string shown = policy::ShowValue(kv.value());
    if (shown.rfind("an ", 0) == 0) continue;  // "an array of N items": no value in it
    if (shown.size() > 3 && shown.ends_with("...")) shown.resize(shown.size() - 3);
    forms.push_back(std::move(shown));
  }
  return forms;
}

// A rehearsal's arguments are the call's own with the rule's merged in: recorded redacted
// and masked like them; the caller gets them as they are (it sends the rehearsal). The
// decision as recorded, when it asks for a rehearsal not yet reported.
std::optional<Decision> RecordRehearsal(const audit::Redactor& redactor, const DecideRequest& rq,
                                        Decision* decision) {
  if (!decision->rehearsal || decision->rehearsal->reported) return std::nullopt;
  decision->rehearsal->args_sha256 = ArgsSha256(rq);
  std::optional<Decision> recorded = *decision;
  boost::json::value masked(redactor.RedactArgs(recorded->rehearsal->args, rq.redact_fields));
  audit::Redactor::MaskSecretsInJson(&masked, rq.call.mask_values);
  recorded->rehearsal->args = std::move(masked.get_object());
  return recorded;
}

// The earlier call an identical retry of an APPROVAL_REQUIRED call is answered with, if
// any (empty call_id: none). A retry of a call still waiting for its approval attaches to it:
// no second approval, no step spent (a retry the engine denies now is recorded as a deny).
// None pending: the verdict an identical call was given answers the retry (a grant not yet
// released is redeemed now, once; a reviewer's deny refuses it). Either only for the
// identity the call was made for: anyone else asks for their own.
Result<TwinVerdict> EarlierTwinInTxn(StateTxn& txn, const DecideRequest& rq) {
  Result<std::string> pending_id = PendingTwinInTxn(txn, rq);
  if (!pending_id.ok()) return pending_id.error();
  if (!pending_id->empty()) {
    Result<CallRecord> pending = txn.LoadCall(*pending_id);
    if (!pending.ok()) return pending.error();
    if (IdentityRefusal("call " + *pending_id, pending->principal, nullptr, rq).empty()) {
      return TwinVerdict{*pending_id, false};
    }
  }
  Result<TwinVerdict> decided = DecidedTwinInTxn(txn, rq);
  if (!decided.ok()) return decided.error();
  if (decided->call_id.empty()) return TwinVerdict{};
  Result<CallRecord> earlier = txn.LoadCall(decided->call_id);
  if (!earlier.ok()) return earlier.error();
  if (!IdentityRefusal("call " + decided->call_id, earlier->principal, nullptr, rq).empty()) {
    return TwinVerdict{};
  }
  return *decided;
}

// The evaluation of a call: a root run's by `decide`; a child run's (docs/governance.md#
// child-runs) under the run's own policy (RunPolicy: its role's, else its agent's) and
// under each ancestor's, against each run's own state (with the call's usage added), the
// strictest standing (CombineLine).
// *verdicts names every run's; *ancestor_fx is each ancestor's effects, in line order.
// Without a policy snapshot no ancestor can be asked: a deny.
engine::Evaluation DecideLine(const DecideRequest& rq, const RunRow& row, const RunState& state,
                              std::vector<Ancestor>& line, const DecideFn& decide,
                              const std::optional<engine::KillSwitch>& kill,
                              const std::optional<engine::AgentUsage>& usage,
                              std::vector<LineVerdict>* verdicts,
                              std::vector<engine::Effects>* ancestor_fx) {
  if (line.empty()) return decide(rq.call, state, kill, usage);  // a root run
  const policy::PolicySet* set = rq.policies.get();
  if (set == nullptr) {
    engine::Evaluation ev;
    ev.decision = DenyDecision(Code::kStoreUnavailable,
                               "run " + rq.run_id +
                                   " is a child run, and no policy snapshot came with the call "
                                   "to judge it under its parent's policy",
                               "runs.lineage");
    ev.decision.agent_id = rq.agent_id;
    ev.decision.tool = rq.call.tool;
    return ev;
  }
  EvalSettings settings{rq.now, rq.identity.on_behalf_of, &rq.identity.on_behalf_of_groups,
                        rq.paths, rq.keeps_sequence_state};
  settings.source = rq.policy_source;
  std::string own_id;
  const policy::AgentPolicy* own =
      RunPolicy(set, row.agent_id, row.role, rq.role_policies, &own_id);
  // The Guard's step decides under the agent's own policy; a role's is evaluated here.
  engine::Evaluation ev = own == set->Find(rq.agent_id)
                              ? decide(rq.call, state, kill, usage)
                              : EvaluateRunCall(set, own, rq.call, state, kill, usage, settings);
  verdicts->push_back(LineVerdict{rq.run_id, std::move(own_id), ev.decision});
  for (Ancestor& a : line) {
    interlock::AddUsage(rq.call.usage, &a.row.state);
    a.row.state.elapsed_ms = ElapsedMs(a.row.started, rq.now);
    std::string id;
    const policy::AgentPolicy* p =
        RunPolicy(set, a.row.agent_id, a.row.role, rq.role_policies, &id);
    engine::Evaluation pe = EvaluateRunCall(set, p, rq.call, a.row.state, kill, usage, settings);
    verdicts->push_back(LineVerdict{a.run_id, std::move(id), std::move(pe.decision)});
    ancestor_fx->push_back(std::move(pe.effects));
  }
  CombineLine(*verdicts, &ev, ancestor_fx);
  return ev;
}

// A run that has ended, or whose ancestor has, decides nothing more.
Status CheckNotEnded(const std::string& run_id, const RunRow& row,
                     const std::vector<Ancestor>& line) {
  if (row.ended) return Error::Invalid("run " + run_id + " has ended");
  if (std::string ended = EndedLineRefusal(run_id, line); !ended.empty()) {
    return Error::Invalid(ended);
  }
  return Status::Ok();
}

// The ancestors take the call's effects (a step each, the records it touches when it
// proceeds), each halt recorded on its own run, and are saved (before the run itself).
Status SaveLine(StateTxn& txn, const DecideRequest& rq, const std::string& call_id,
                std::vector<Ancestor>& line, const std::vector<engine::Effects>& fx) {
  for (size_t i = 0; i < line.size() && i < fx.size(); ++i) {
    RunState& st = line[i].row.state;
    const bool was_halted = st.halted;
    engine::ApplyEffects(fx[i], rq.call.tool, &st);
    if (st.halted && !was_halted && txn.KeepsAudit()) {
      txn.AppendAudit(audit::AuditEvent{
          audit::kRunHalted, rq.now, line[i].run_id, call_id, line[i].row.agent_id, rq.principal,
          boost::json::object{{"reason", st.halt_reason}, {"child_run_id", rq.run_id}}});
    }
    INTERLOCK_RETURN_IF_ERROR(txn.SaveRun(line[i].run_id, line[i].row));
  }
  return Status::Ok();
}

// The arguments as recorded: redacted, the caller's credentials masked (in the reason too),
// built only for a reader: the audit record, or a notification (which quotes them). A store
// without audit answering a call nobody is told about (`interlock decide`) skips the copy.
boost::json::object RecordedArgs(const audit::Redactor& redactor, const DecideRequest& rq,
                                 bool keeps_audit, Decision* decision) {
  boost::json::object args;
  if (keeps_audit || !decision->notifications.empty()) {
    args = redactor.RedactArgs(rq.call.args, rq.redact_fields);
  }
  if (!rq.call.mask_values.empty()) {
    // Credentials of the caller (the MCP gateway's upstream secrets): decided on the real
    // arguments, never recorded. Keys too; the reason may quote an argument.
    boost::json::value masked(std::move(args));
    audit::Redactor::MaskSecretsInJson(&masked, rq.call.mask_values);
    args = std::move(masked.get_object());
    decision->reason = audit::Redactor::MaskSecrets(decision->reason, rq.call.mask_values);
  }
  if (const std::vector<std::string> forms = ReasonMask(rq); !forms.empty()) {
    decision->reason = audit::Redactor::MaskSecrets(std::move(decision->reason), forms);
  }
  return args;
}

// What follows the call's row: the agent's cross-run counts, the key's answer, the
// ancestors, and last the run itself.
Status SaveAfterCall(StateTxn& txn, const DecideRequest& rq, const std::string& call_id,
                     const engine::Evaluation& ev, bool key_taken, std::vector<Ancestor>& line,
                     const std::vector<engine::Effects>& ancestor_fx, const RunRow& row) {
  // The agent's cross-run counts: a call that proceeds counts (denied ones never do); the
  // usage it reports counts towards the day either way, as it does towards the run.
  const bool proceeds = ev.effects.consume_records;
  if (proceeds || rq.call.usage.tokens != 0 || rq.call.usage.cost_micros != 0) {
    if (Status s = txn.AddAgentUsage(rq.agent_id, proceeds ? rq.rate_key : std::string_view(),
                                     proceeds, rq.call.usage, rq.now);
        !s.ok()) {
      return s;
    }
  }

  // The key's answer stays the one it was made for (a replay by another identity is
  // recorded, not remembered).
  if (!key_taken) {
    if (Status s = RememberAnswer(txn, rq, call_id, ev.decision, /*existing=*/false); !s.ok()) {
      return s;
    }
  }

  INTERLOCK_RETURN_IF_ERROR(SaveLine(txn, rq, call_id, line, ancestor_fx));
  // Last: the run takes the new state (a backend copies it into the row it caches; the
  // answer takes this one).
  INTERLOCK_RETURN_IF_ERROR(txn.SaveRun(rq.run_id, row));
  return Status::Ok();
}

}  // namespace

Status DecideInTxn(StateTxn& txn, const audit::Redactor& redactor, const DecideRequest& rq,
                   const DecideFn& decide, CallRecord* rec, DecideRequest* owned) {
  Result<RunRow> loaded = txn.LoadRunForUpdate(rq.run_id);
  if (!loaded.ok()) return loaded.error();
  RunRow& row = *loaded;
  if (row.agent_id != rq.agent_id) {
    return Error::Denied("run " + rq.run_id + " belongs to another agent");
  }
  // A child run's ancestors, for update: their ends, kill switches, policies and budgets
  // bind it (docs/governance.md#child-runs). None for a root run.
  Result<std::vector<Ancestor>> loaded_line = LoadAncestors(txn, row);
  if (!loaded_line.ok()) return loaded_line.error();
  std::vector<Ancestor>& line = *loaded_line;
  // A retry with the Idempotency-Key of an earlier request of this run: its answer again,
  // nothing counted (checked before the run's end: a retry of a call decided before the run
  // ended gets the answer it was given).
  // A replay for another identity is no replay: it is decided (refused) and recorded as a
  // call of its own, and the key keeps the answer it had.
  std::string identity_refusal;
  bool key_taken = false;  // by another identity's answer
  if (!rq.idempotency.key.empty()) {
    Result<std::optional<std::string>> prior = FindIdempotentAnswer(txn, rq.run_id, rq.idempotency);
    if (!prior.ok()) return prior.error();
    if (*prior) identity_refusal = ReplayRefusal(**prior, rq);
    key_taken = !identity_refusal.empty();
    if (*prior && identity_refusal.empty()) {
      INTERLOCK_RETURN_IF_ERROR(ReplayAnswer(**prior, row, rq, rec));
      return WithholdReplayIfKilled(txn, rq, line, rec);
    }
  }
  INTERLOCK_RETURN_IF_ERROR(CheckNotEnded(rq.run_id, row, line));
  Result<std::optional<engine::KillSwitch>> kill = LineKill(txn, rq.agent_id, rq.run_id, line);
  if (!kill.ok()) return kill.error();
  // One approval, one execution: a re-submission bound to its approval answers with the
  // approved call (released now if it was not yet), never a second one; and only to the
  // identity the call was made for.
  Result<Resubmission> resubmission =
      identity_refusal.empty() ? FindResubmissionInTxn(txn, rq) : Resubmission{};
  if (!resubmission.ok()) return resubmission.error();
  if (!resubmission->original_call_id.empty()) {
    Result<CallRecord> original = txn.LoadCall(resubmission->original_call_id);
    if (!original.ok()) return original.error();
    identity_refusal =
        IdentityRefusal("approval " + rq.call.approval_id, original->principal, nullptr, rq);
    if (identity_refusal.empty()) {
      return AnswerWithEarlierCall(txn, resubmission->original_call_id, row, line, rq,
                                   /*release=*/true, rec);
    }
  }
  // The run's new state is built in the loaded row itself (no copy); what the usage and
  // the clock change is kept to put back if the call attaches to an earlier one.
  RunState& state = row.state;
  const bool was_halted = state.halted;
  const uint64_t tokens_before = state.tokens;
  const int64_t cost_before = state.cost_micros;
  const int64_t elapsed_before = state.elapsed_ms;
  interlock::AddUsage(rq.call.usage, &state);
  state.elapsed_ms = ElapsedMs(row.started, rq.now);
  Result<std::optional<engine::AgentUsage>> usage = CountUsage(txn, rq);
  if (!usage.ok()) return usage.error();
  std::vector<LineVerdict> verdicts;
  std::vector<engine::Effects> ancestor_fx;
  engine::Evaluation ev =
      DecideLine(rq, row, state, line, decide, *kill, *usage, &verdicts, &ancestor_fx);
  RefuseApproval(resubmission->refusal, &ev);
  RefuseForIdentity(identity_refusal, &ev);
  if (ev.decision.verdict == Verdict::kApprovalRequired) {
    Result<TwinVerdict> twin = EarlierTwinInTxn(txn, rq);
    if (!twin.ok()) return twin.error();
    if (!twin->call_id.empty()) {
      state.tokens = tokens_before;
      state.cost_micros = cost_before;
      state.elapsed_ms = elapsed_before;
      return AnswerWithEarlierCall(txn, twin->call_id, row, line, rq, /*release=*/twin->redeem,
                                   rec);
    }
  }
  engine::ApplyEffects(ev.effects, rq.call.tool, &state);

  // Every JSON text is written once, canonically, and shared: the audit record's data
  // holds the args and the decision, and the call row binds the same bytes.
  const bool keeps_audit = txn.KeepsAudit();
  boost::json::object args = RecordedArgs(redactor, rq, keeps_audit, &ev.decision);
  const std::optional<Decision> recorded_rehearsal = RecordRehearsal(redactor, rq, &ev.decision);
  const Decision& recorded = recorded_rehearsal ? *recorded_rehearsal : ev.decision;
  std::string_view args_json, decision_json;
  std::string data;
  if (keeps_audit) {
    data = DecisionData(args, recorded, state, rq, verdicts, &args_json, &decision_json);
  }
  Result<std::string> call_id =
      txn.InsertCall(NewCall{rq, recorded, state, args_json, decision_json});
  if (!call_id.ok()) return call_id.error();

  if (keeps_audit) {
    AppendDecisionAudit(txn, rq, *call_id, std::move(data), state, was_halted, ev.decision);
  }
  INTERLOCK_RETURN_IF_ERROR(AfterDecideInTxn(txn, rq, *call_id, ev));
  if (Status s = SaveAfterCall(txn, rq, *call_id, ev, key_taken, line, ancestor_fx, row); !s.ok()) {
    return s;
  }

  rec->call_id = std::move(call_id).value();
  rec->at = rq.now;
  TakeRequestNames(rq, owned, rec);
  if (!args.empty()) rec->call.args = std::move(args);  // else it is empty already
  rec->call.usage = rq.call.usage;
  rec->call.elapsed_s = rq.call.elapsed_s;
  rec->decision = std::move(ev.decision);
  rec->state_after = std::move(state);
  return Status::Ok();
}

}  // namespace interlock::core
