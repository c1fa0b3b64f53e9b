#include "core/run_txn.h"

#include <algorithm>
#include <string>
#include <utility>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "audit/audit_log.h"

namespace interlock::core {

namespace {

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

// Adds `usage` to the agent's run and appends the `type` event with `data`, to which the
// run's totals after it are added.
Status AddRunUsage(StateTxn& txn, std::string_view run_id, std::string_view agent_id,
                   const Usage& usage, TimePoint now, std::string_view call_id,
                   std::string_view type, boost::json::object data) {
  Result<RunRow> row = LoadOwnRun(txn, run_id, agent_id);
  if (!row.ok()) return row.error();
  interlock::AddUsage(usage, &row->state);
  if (txn.KeepsAudit()) {
    data["run_tokens"] = row->state.tokens;
    data["run_cost_usd"] = Usd(row->state.cost_micros);
    txn.AppendAudit(audit::AuditEvent{type, now, std::string(run_id), std::string(call_id),
                                      std::string(agent_id), std::string(agent_id),
                                      std::move(data)});
  }
  return txn.SaveRun(run_id, std::move(row).value());
}

}  // namespace

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
  return {{"steps", s.steps},
          {"tokens", s.tokens},
          {"cost_usd", Usd(s.cost_micros)},
          {"elapsed_s", static_cast<double>(s.elapsed_ms) / 1e3},
          {"halted", s.halted},
          {"records", std::move(records)}};
}

boost::json::object ResultJson(const CallResult& r) {
  boost::json::object o;
  o["ok"] = r.ok;
  if (r.output_json.size() > kMaxResultOutputBytes) {
    o["output"] = TruncateUtf8(r.output_json, kMaxResultOutputBytes) + "...[truncated " +
                  std::to_string(r.output_json.size()) + " bytes]";
    o["output_truncated"] = true;
  } else if (!r.output_json.empty()) {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(r.output_json, ec);
    if (ec) {
      o["output"] = r.output_json;
    } else {
      o["output"] = std::move(v);
    }
  }
  if (!r.error.empty()) {
    o["error"] = r.error.size() > kMaxResultOutputBytes
                     ? TruncateUtf8(r.error, kMaxResultOutputBytes) + "...[truncated]"
                     : r.error;
  }
  o["usage"] = UsageJson(r.usage);
  return o;
}

Status AddUsageInTxn(StateTxn& txn, std::string_view run_id, std::string_view agent_id,
                     const Usage& usage, TimePoint now) {
  boost::json::object data;
  if (txn.KeepsAudit()) data["usage"] = UsageJson(usage);
  return AddRunUsage(txn, run_id, agent_id, usage, now, "", audit::kUsage, std::move(data));
}

Status RecordResultInTxn(StateTxn& txn, std::string_view call_id, std::string_view agent_id,
                         const CallResult& result, TimePoint now) {
  Result<CallResultRow> call = txn.LoadCallForResult(call_id);
  if (!call.ok()) return call.error();
  if (call->agent_id != agent_id) {
    return Error::Denied("call " + std::string(call_id) + " belongs to another agent");
  }
  if (call->verdict != Verdict::kAllow) {
    return Error::Invalid("call " + std::string(call_id) + " was not allowed, so it has no result");
  }
  if (call->has_result) {
    return Error{ErrorKind::kAlreadyExists,
                 "call " + std::string(call_id) + " already has a result"};
  }
  boost::json::object data;
  std::string stored;
  if (txn.KeepsAudit()) {
    data = ResultJson(result);
    stored = boost::json::serialize(data);
  }
  if (Status s = txn.SaveCallResult(call_id, stored, now); !s.ok()) return s;
  return AddRunUsage(txn, call->run_id, agent_id, result.usage, now, call_id, audit::kResult,
                     std::move(data));
}

Status RecordRehearsalInTxn(StateTxn& txn, std::string_view call_id, std::string_view agent_id,
                            const CallResult& result, TimePoint now, CallRecord* rehearsal) {
  Result<CallResultRow> call = txn.LoadCallForResult(call_id);
  if (!call.ok()) return call.error();
  if (call->agent_id != agent_id) {
    return Error::Denied("call " + std::string(call_id) + " belongs to another agent");
  }
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
  boost::json::object data = ResultJson(result);
  const std::string stored = boost::json::serialize(data);
  if (Status s = txn.SaveCallResult(call_id, stored, now); !s.ok()) return s;
  if (txn.KeepsAudit()) {
    txn.AppendAudit(audit::AuditEvent{audit::kRehearsal, now, call->run_id, std::string(call_id),
                                      std::string(agent_id), std::string(agent_id),
                                      std::move(data)});
  }
  *rehearsal = std::move(rec).value();
  return Status::Ok();
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
