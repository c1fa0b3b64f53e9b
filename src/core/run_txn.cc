#include "core/run_txn.h"

#include <algorithm>
#include <string>
#include <utility>

#include <boost/json/serialize.hpp>

#include "audit/audit_event.h"
#include "common/crypto.h"
#include "common/json.h"
#include "common/json_write.h"
#include "common/status_macros.h"
#include "core/approval_rules.h"
#include "core/lineage.h"

namespace interlock::core {

namespace {

// The first bytes of a cut output kept in its marker (TruncatedOutput).
constexpr size_t kTruncatedOutputPrefixBytes = 1024;

double Usd(int64_t micros) { return static_cast<double>(micros) / 1e6; }

// The run of the agent, for update: kPermissionDenied for another agent's run.
Result<RunRow> LoadOwnRun(StateTxn& txn, std::string_view run_id, std::string_view agent_id) {
  Result<RunRow> row = txn.LoadRunForUpdate(run_id);
  if (!row.ok()) return row.error();
  if (row->agent_id != agent_id) {
    return Error::Denied("run " + std::string(run_id) + " belongs to another agent");
  }
  return row;
}

// Who may report a call's result or rehearsal: its agent, under the principal the call was
// decided for (byte for byte, as NeedsRelease compares a reader's): an agent holding tokens
// for alice and mallory cannot report, with mallory's, the outcome of alice's call, which
// could move alice's run's workflow on a result alice never produced (issue 31).
Status CheckReporter(std::string_view call_id, const CallResultRow& call, std::string_view agent_id,
                     std::string_view principal) {
  if (call.agent_id != agent_id) {
    return Error::Denied("call " + std::string(call_id) + " belongs to another agent");
  }
  if (std::string refusal =
          PrincipalRefusal("call " + std::string(call_id), call.principal, principal);
      !refusal.empty()) {
    return Error::Denied(refusal);
  }
  return Status::Ok();
}

// Adds `usage` to the agent's run and appends the `type` event with `data`, to which the
// run's totals after it are added.
// With `policy` and `result_call`: the result of that call (ok: `result_ok`) may move the
// run's workflow.
Status AddRunUsage(StateTxn& txn, std::string_view run_id, std::string_view agent_id,
                   const Usage& usage, TimePoint now, std::string_view call_id,
                   std::string_view type, boost::json::object data,
                   const policy::AgentPolicy* policy = nullptr,
                   const ToolCall* result_call = nullptr, bool result_ok = true) {
  Result<RunRow> row = LoadOwnRun(txn, run_id, agent_id);
  if (!row.ok()) return row.error();
  interlock::AddUsage(usage, &row->state);
  if (usage.tokens != 0 || usage.cost_micros != 0) {
    INTERLOCK_RETURN_IF_ERROR(txn.AddAgentUsage(agent_id, "", false, usage, now));
  }
  if (policy != nullptr && policy->workflow != nullptr && result_call != nullptr) {
    // A reported result may move the run's workflow (engine::ResultMove), judged against
    // the state the run is in now; audited with the result.
    const std::string before = row->state.workflow_state;
    std::optional<engine::WorkflowMove> move =
        engine::ResultMove(policy, row->state, *result_call, result_ok);
    if (move) engine::ApplyMove(*move, &row->state);
    if (txn.KeepsAudit()) {
      boost::json::object wf = WorkflowAuditJson(row->state);
      if (move) {
        wf["moved_by"] = move->rule;
        wf["from"] = before;
      }
      data["workflow"] = std::move(wf);
    }
  }
  if (txn.KeepsAudit()) {
    data["run_tokens"] = row->state.tokens;
    data["run_cost_usd"] = Usd(row->state.cost_micros);
    txn.AppendAudit(audit::AuditEvent{type, now, std::string(run_id), std::string(call_id),
                                      std::string(agent_id), std::string(agent_id),
                                      std::move(data)});
  }
  // A child's spend is its ancestors' too (docs/governance.md#child-runs).
  INTERLOCK_RETURN_IF_ERROR(ChargeAncestors(txn, *row, usage));
  return txn.SaveRun(run_id, std::move(row).value());
}

// Masks `forms` in a parsed output, inside its base64 content too (an MCP resource's `blob`,
// an image's or audio's `data`: audit::Redactor::MaskEncodedContent). A door's truncation marker
// ({"truncated": true, ..., "prefix": text}: the MCP gateway's) keeps the first bytes of a longer
// output, which may end in the first bytes of a value: that end is masked too.
void MaskOutput(boost::json::value* v, const std::vector<std::string>& forms) {
  if (forms.empty()) return;
  // Encoded content first: the plain pass's masks inside a blob would break its base64.
  audit::Redactor::MaskEncodedContent(v, forms);
  audit::Redactor::MaskSecretsInJson(v, forms);
  boost::json::object* o = v->if_object();
  if (o == nullptr) return;
  const boost::json::value* truncated = o->if_contains("truncated");
  boost::json::value* prefix = o->if_contains("prefix");
  if (truncated == nullptr || !truncated->is_bool() || !truncated->get_bool() ||
      prefix == nullptr || !prefix->is_string()) {
    return;
  }
  std::string text(prefix->get_string());
  if (audit::Redactor::MaskCutSecret(&text, forms)) *prefix = text;
}

}  // namespace

void CutOutputBeforeTheStore(CallResult* r) {
  const size_t whole = r->output_json.size();
  if (whole <= std::min(r->max_output_bytes, kMaxResultOutputBytes)) return;
  const std::vector<std::string> forms =
      r->redacted_args ? audit::Redactor::EchoForms(*r->redacted_args) : std::vector<std::string>{};
  r->output_json = boost::json::serialize(TruncatedOutput(
      audit::Redactor::MaskSecrets(std::move(r->output_json), forms), whole, /*digest=*/true));
  r->output_bytes = whole;
}

boost::json::object TruncatedOutput(std::string_view text, size_t bytes, bool digest) {
  boost::json::object o{{"truncated", true}, {"bytes", bytes}};
  if (digest) o["sha256"] = Sha256Hex(text);
  o["prefix"] = TruncateUtf8(text, kTruncatedOutputPrefixBytes);
  return o;
}

// Truncates `s` to at most `max` bytes on a UTF-8 boundary.
std::string TruncateUtf8(std::string_view s, size_t max) {
  size_t n = std::min(s.size(), max);
  while (n > 0 && n < s.size() && (static_cast<uint8_t>(s[n]) & 0xC0) == 0x80) --n;
  return std::string(s.substr(0, n));
}

boost::json::object UsageJson(const Usage& u) {
  return {{"tokens", u.tokens}, {"cost_usd", Usd(u.cost_micros)}};
}

boost::json::object StateAuditJson(const RunState& s) {
  boost::json::object records;
  for (const auto& [tool, n] : s.records) records[tool] = n;
  boost::json::object o{{"steps", s.steps},
                        {"tokens", s.tokens},
                        {"cost_usd", Usd(s.cost_micros)},
                        {"elapsed_s", static_cast<double>(s.elapsed_ms) / 1e3},
                        {"halted", s.halted},
                        {"records", std::move(records)}};
  if (!s.labels.empty()) o["labels"] = LabelsJson(s);
  if (!s.workflow_state.empty() || !s.workflow_vars.empty()) o["workflow"] = WorkflowAuditJson(s);
  return o;
}

boost::json::array LabelsJson(const RunState& s) {
  boost::json::array a;
  for (const std::string& l : s.labels) a.emplace_back(l);
  return a;
}

boost::json::object WorkflowAuditJson(const RunState& s) {
  boost::json::object vars;
  for (const auto& [k, v] : s.workflow_vars) vars[k] = v;
  return {{"state", s.workflow_state}, {"vars", std::move(vars)}};
}

std::string SequenceStoreJson(const RunState& s) {
  if (s.workflow_state.empty() && s.workflow_vars.empty() && s.labels.empty() && s.grants.empty() &&
      s.workspace.empty() && s.workspace_refused.empty()) {
    return "{}";
  }
  boost::json::object o;
  if (!s.grants.empty()) {
    boost::json::object grants;
    for (const auto& [tool, g] : s.grants) {
      grants[tool] = boost::json::object{
          {"approval_id", g.approval_id}, {"reviewer", g.reviewer}, {"at_ms", g.at_ms}};
    }
    o["grants"] = std::move(grants);
  }
  o["labels"] = LabelsJson(s);
  o["state"] = s.workflow_state;
  boost::json::object vars;
  for (const auto& [k, v] : s.workflow_vars) vars[k] = v;
  o["vars"] = std::move(vars);
  // The run's workspace, fixed when it started (RunState::workspace): kept with its state so
  // every decision of the run reads it in its transaction.
  if (!s.workspace.empty()) o["workspace"] = s.workspace;
  if (!s.workspace_refused.empty()) o["workspace_refused"] = s.workspace_refused;
  std::string out;
  AppendJson(o, JsonStyle::kCanonical, &out);
  return out;
}

Status ParseSequenceStoreJson(std::string_view text, RunState* s) {
  Result<boost::json::value> v = ParseOwnJson(text);
  if (!v.ok() || !v->is_object()) {
    return Error::Corrupt("store: runs.sequence_json is not an object");
  }
  const boost::json::object& o = v->get_object();
  s->workflow_state.clear();
  s->workflow_vars.clear();
  s->labels.clear();
  s->grants.clear();
  s->workspace.clear();
  s->workspace_refused.clear();
  for (const auto& [key, field] : {std::pair{"workspace", &s->workspace},
                                   std::pair{"workspace_refused", &s->workspace_refused}}) {
    if (const boost::json::value* w = o.if_contains(key)) {
      if (!w->is_string()) {
        return Error::Corrupt(std::string("store: runs.sequence_json ") + key + " is no string");
      }
      *field = std::string(w->get_string());
    }
  }
  if (const boost::json::value* grants = o.if_contains("grants")) {
    if (!grants->is_object())
      return Error::Corrupt("store: runs.sequence_json grants is no object");
    for (const auto& kv : grants->get_object()) {
      const boost::json::object* g = kv.value().if_object();
      const boost::json::value* id = g ? g->if_contains("approval_id") : nullptr;
      const boost::json::value* who = g ? g->if_contains("reviewer") : nullptr;
      const boost::json::value* at = g ? g->if_contains("at_ms") : nullptr;
      if (id == nullptr || !id->is_string() || who == nullptr || !who->is_string() ||
          at == nullptr || !at->is_int64()) {
        return Error::Corrupt("store: runs.sequence_json holds a bad grant");
      }
      s->grants.emplace(std::string(kv.key()),
                        RunState::RunGrant{std::string(id->get_string()),
                                           std::string(who->get_string()), at->get_int64()});
    }
  }
  if (const boost::json::value* st = o.if_contains("state")) {
    if (!st->is_string()) return Error::Corrupt("store: runs.sequence_json state is no string");
    s->workflow_state = std::string(st->get_string());
  }
  if (const boost::json::value* vars = o.if_contains("vars")) {
    if (!vars->is_object()) return Error::Corrupt("store: runs.sequence_json vars is no object");
    for (const auto& kv : vars->get_object()) {
      s->workflow_vars.emplace(std::string(kv.key()), kv.value());
    }
  }
  if (const boost::json::value* labels = o.if_contains("labels")) {
    if (!labels->is_array()) return Error::Corrupt("store: runs.sequence_json labels is no array");
    for (const boost::json::value& l : labels->get_array()) {
      if (!l.is_string()) return Error::Corrupt("store: runs.sequence_json holds a bad label");
      s->labels.emplace(l.get_string());
    }
  }
  return Status::Ok();
}

std::string MaskedOutputJson(std::string_view output_json, const std::vector<std::string>& forms) {
  if (forms.empty()) return std::string(output_json);
  Result<boost::json::value> v = ParseOwnJson(output_json);
  if (!v.ok()) return audit::Redactor::MaskSecrets(std::string(output_json), forms);
  MaskOutput(&*v, forms);
  return boost::json::serialize(*v);
}

bool HasRedactedArgs(const boost::json::object& recorded_args) {
  for (const auto& kv : recorded_args) {
    if (audit::Redactor::IsRedacted(kv.value())) return true;
  }
  return false;
}

ResultMask ResultMaskFor(const audit::Redactor& redactor, const boost::json::object& recorded_args,
                         const std::optional<boost::json::object>& plain) {
  ResultMask mask;
  for (const auto& kv : recorded_args) {
    if (!audit::Redactor::IsRedacted(kv.value())) continue;
    const boost::json::value* v = plain ? plain->if_contains(kv.key()) : nullptr;
    if (v == nullptr || redactor.Hash(*v) != kv.value().get_string()) {
      mask.withhold = true;
      return mask;
    }
  }
  // Every value given is masked, vouched for or not (those of an approval's re-submission
  // with edited arguments, a call without redacted arguments): masking more is never a leak.
  if (plain) mask.forms = audit::Redactor::EchoForms(*plain);
  return mask;
}

boost::json::object ResultJson(const CallResult& r, const ResultMask& mask) {
  boost::json::object o;
  o["ok"] = r.ok;
  if (mask.withhold) {
    // Nothing of what the tool answered: it may echo a redacted argument this process
    // cannot mask (docs/audit.md#redaction).
    o["withheld"] = boost::json::object{
        {"reason", "the call has redacted arguments whose values are not known here"},
        {"output_bytes", r.output_bytes != 0 ? r.output_bytes : r.output_json.size()},
        {"error_bytes", r.error.size()}};
  } else {
    const std::vector<std::string>& forms = mask.forms;
    if (r.output_json.size() > std::min(r.max_output_bytes, kMaxResultOutputBytes)) {
      // Masked before it is cut or digested, so no cut leaves a part of a value and the
      // digest confirms no guess of one.
      const std::string text = audit::Redactor::MaskSecrets(r.output_json, forms);
      o["output"] = TruncatedOutput(text, r.output_json.size(), /*digest=*/true);
    } else if (!r.output_json.empty()) {
      Result<boost::json::value> v = ParseOwnJson(r.output_json);
      if (!v.ok()) {
        o["output"] = audit::Redactor::MaskSecrets(r.output_json, forms);
      } else {
        MaskOutput(&*v, forms);
        o["output"] = std::move(*v);
      }
    }
    if (!r.error.empty()) {
      const std::string error = audit::Redactor::MaskSecrets(r.error, forms);
      o["error"] = error.size() > kMaxResultOutputBytes
                       ? TruncateUtf8(error, kMaxResultOutputBytes) + "...[truncated]"
                       : error;
    }
  }
  o["usage"] = UsageJson(r.usage);
  if (!r.egress_json.empty()) {
    Result<boost::json::value> v = ParseOwnJson(r.egress_json);
    // Built by egress::ReceiptBook; anything else is recorded as text, never dropped.
    o["egress"] = v.ok() ? std::move(*v) : boost::json::value(r.egress_json);
  }
  if (!r.credential_json.empty()) {
    Result<boost::json::value> v = ParseOwnJson(r.credential_json);
    // Built by identity::CredentialRecord::ToJson; anything else is kept as text.
    o["credential"] = v.ok() ? std::move(*v) : boost::json::value(r.credential_json);
  }
  return o;
}

Result<std::optional<std::string>> FindIdempotentAnswer(StateTxn& txn, std::string_view run_id,
                                                        const IdempotencyKey& key) {
  Result<std::optional<IdempotencyRow>> row = txn.LoadIdempotency(run_id, key.key);
  if (!row.ok()) return row.error();
  if (!*row) return std::optional<std::string>();
  if ((*row)->request_sha256 != key.request_sha256) {
    return Error{ErrorKind::kAlreadyExists,
                 "Idempotency-Key " + key.key +
                     " was already used in this run with a different request (use a new key "
                     "for a new request)"};
  }
  return std::optional<std::string>(std::move((*row)->answer));
}

Status AddUsageInTxn(StateTxn& txn, std::string_view run_id, std::string_view agent_id,
                     const Usage& usage, TimePoint now, const IdempotencyKey& key) {
  if (!key.key.empty()) {
    Result<RunRow> own = LoadOwnRun(txn, run_id, agent_id);
    if (!own.ok()) return own.error();
    Result<std::optional<std::string>> prior = FindIdempotentAnswer(txn, run_id, key);
    if (!prior.ok()) return prior.error();
    if (*prior) return Status::Ok();  // counted once, by the first request
    if (Status s =
            txn.SaveIdempotency(run_id, key.key, IdempotencyRow{key.request_sha256, ""}, now);
        !s.ok()) {
      return s;
    }
  }
  boost::json::object data;
  if (txn.KeepsAudit()) data["usage"] = UsageJson(usage);
  return AddRunUsage(txn, run_id, agent_id, usage, now, "", audit::kUsage, std::move(data));
}

audit::AuditEvent IncidentEvent(std::string_view call_id, std::string_view run_id,
                                std::string_view agent_id, std::string_view tool,
                                std::string reason, std::string by, TimePoint now) {
  boost::json::object data{{"call_id", call_id},
                           {"tool", tool},
                           {"agent_id", agent_id},
                           {"reason", std::move(reason)},
                           {"by", by}};
  return audit::AuditEvent{
      audit::kIncident,      now,           std::string(run_id), std::string(call_id),
      std::string(agent_id), std::move(by), std::move(data)};
}

Status RecordResultInTxn(StateTxn& txn, const audit::Redactor& redactor, std::string_view call_id,
                         std::string_view agent_id, std::string_view principal,
                         const CallResult& result, TimePoint now) {
  Result<CallResultRow> call = txn.LoadCallForResult(call_id);
  if (!call.ok()) return call.error();
  INTERLOCK_RETURN_IF_ERROR(CheckReporter(call_id, *call, agent_id, principal));
  const IdempotencyKey& key = result.idempotency;
  if (!key.key.empty()) {
    Result<std::optional<std::string>> prior = FindIdempotentAnswer(txn, call->run_id, key);
    if (!prior.ok()) return prior.error();
    if (*prior) return Status::Ok();  // recorded once, by the first request
  }
  if (call->verdict == Verdict::kRehearsalRequired) {
    return Error::Invalid("call " + std::string(call_id) +
                          " awaits its rehearsal: report it to POST /v1/calls/" +
                          std::string(call_id) + "/rehearsal");
  }
  const bool allowed = call->verdict == Verdict::kAllow;
  if (call->has_result) {
    return Error{ErrorKind::kAlreadyExists,
                 "call " + std::string(call_id) +
                     (allowed ? " already has a result"
                              : " was reported run already (recorded as an incident)")};
  }
  if (!key.key.empty()) {
    if (Status s =
            txn.SaveIdempotency(call->run_id, key.key, IdempotencyRow{key.request_sha256, ""}, now);
        !s.ok()) {
      return s;
    }
  }
  boost::json::object data;
  std::string stored;
  if (txn.KeepsAudit() || !allowed) {
    data = ResultJson(result, ResultMaskFor(redactor, call->args, result.redacted_args));
    stored = boost::json::serialize(data);
  }
  INTERLOCK_RETURN_IF_ERROR(txn.SaveCallResult(call_id, stored, now));
  if (!allowed) {
    // The tool ran although Interlock did not allow it: the trail says so, once.
    txn.AppendAudit(IncidentEvent(call_id, call->run_id, agent_id, call->tool,
                                  "a result was reported for call " + std::string(call_id) +
                                      " (decided " + std::string(VerdictName(call->verdict)) +
                                      "): the tool ran although Interlock did not allow it",
                                  "interlock (result reported)", now));
    return Status::Ok();
  }
  const policy::AgentPolicy* policy =
      result.policies != nullptr ? result.policies->Find(agent_id) : nullptr;
  ToolCall done;
  done.tool = std::move(call->tool);
  done.args = std::move(call->args);
  return AddRunUsage(txn, call->run_id, agent_id, result.usage, now, call_id, audit::kResult,
                     std::move(data), policy, &done, result.ok);
}

Status RecordRehearsalInTxn(StateTxn& txn, const audit::Redactor& redactor,
                            std::string_view call_id, std::string_view agent_id,
                            std::string_view principal, const CallResult& result, TimePoint now,
                            CallRecord* rehearsal) {
  Result<CallResultRow> call = txn.LoadCallForResult(call_id);
  if (!call.ok()) return call.error();
  INTERLOCK_RETURN_IF_ERROR(CheckReporter(call_id, *call, agent_id, principal));
  if (call->verdict != Verdict::kRehearsalRequired) {
    return Error::Invalid("call " + std::string(call_id) +
                          " was not decided rehearsal_required, so it awaits no rehearsal");
  }
  if (call->has_result) {
    return Error{ErrorKind::kAlreadyExists,
                 "the rehearsal of call " + std::string(call_id) + " was reported already"};
  }
  Result<CallRecord> rec = txn.LoadCall(call_id);
  if (!rec.ok()) return rec.error();
  boost::json::object data =
      ResultJson(result, ResultMaskFor(redactor, call->args, result.redacted_args));
  const std::string stored = boost::json::serialize(data);
  INTERLOCK_RETURN_IF_ERROR(txn.SaveCallResult(call_id, stored, now));
  if (txn.KeepsAudit()) {
    txn.AppendAudit(audit::AuditEvent{audit::kRehearsal, now, call->run_id, std::string(call_id),
                                      std::string(agent_id), std::string(agent_id),
                                      std::move(data)});
  }
  *rehearsal = std::move(rec).value();
  return Status::Ok();
}

Status HaltRunInTxn(StateTxn& txn, std::string_view run_id, std::string reason, std::string by,
                    TimePoint now) {
  Result<RunRow> row = txn.LoadRunForUpdate(run_id);
  if (!row.ok()) return row.error();
  if (row->ended || row->state.halted) return Status::Ok();
  row->state.halted = true;
  row->state.halt_reason = reason;
  if (txn.KeepsAudit()) {
    txn.AppendAudit(
        audit::AuditEvent{audit::kRunHalted, now, std::string(run_id), "", row->agent_id, by,
                          boost::json::object{{"reason", std::move(reason)}, {"by", by}}});
  }
  return txn.SaveRun(run_id, std::move(row).value());
}

Status EndRunInTxn(StateTxn& txn, std::string_view run_id, std::string_view agent_id,
                   TimePoint now) {
  Result<RunRow> row = LoadOwnRun(txn, run_id, agent_id);
  if (!row.ok()) return row.error();
  if (row->ended) return Status::Ok();
  if (txn.KeepsAudit()) {
    txn.AppendAudit(audit::AuditEvent{audit::kRunEnded, now, std::string(run_id), "",
                                      std::string(agent_id), std::string(agent_id),
                                      boost::json::object{{"state", StateAuditJson(row->state)}}});
  }
  row->ended = true;
  row->ended_at = now;
  return txn.SaveRun(run_id, std::move(row).value());
}

}  // namespace interlock::core
