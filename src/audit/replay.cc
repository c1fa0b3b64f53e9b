#include "audit/replay.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/serialize.hpp>

#include "audit/audit_log.h"
#include "common/json.h"

namespace interlock::audit {
namespace {

namespace json = boost::json;

std::string Str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return {};
  if (v->is_string()) return std::string(v->get_string());
  if (v->is_null()) return {};
  return ToJsonText(*v);
}

json::object Obj(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_object() ? v->get_object() : json::object{};
}

}  // namespace

Result<ReplayEvent> ReplayEventFromRecord(int64_t seq, std::string_view body, std::string_view hash,
                                          std::string_view prev_hash) {
  Result<json::value> v = ParseOwnJson(body);
  if (!v.ok() || !v->is_object()) {
    return Error::Corrupt("audit record " + std::to_string(seq) +
                          " has a corrupt body; run `interlock audit verify`");
  }
  json::object& o = v->get_object();
  ReplayEvent e;
  e.seq = seq;
  e.time = Str(o, "time");
  e.type = Str(o, "type");
  e.call_id = Str(o, "call_id");
  e.principal = Str(o, "principal");
  e.data = Obj(o, "data");
  e.hash_ok = AuditRecordHash(prev_hash, body) == hash;
  return e;
}

namespace {

// "" is the workflow's initial state (before the run's first move).
std::string StateName(const std::string& s) { return s.empty() ? "(initial)" : s; }

// A run's sequence state after a call, as the decision's audit record has it: "; workflow
// S vars {...}; labels [...]" (empty for a run without one).
std::string Sequence(const json::object& state_after) {
  std::string out;
  if (const json::object wf = Obj(state_after, "workflow"); !wf.empty()) {
    out += "; workflow " + StateName(Str(wf, "state"));
    if (const json::object vars = Obj(wf, "vars"); !vars.empty()) {
      out += " vars " + CanonicalJson(json::value(vars));
    }
  }
  if (const json::value* l = state_after.if_contains("labels")) {
    out += "; labels " + CanonicalJson(*l);
  }
  return out;
}

std::string Clip(std::string s, size_t n) {
  for (char& c : s) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  if (s.size() <= n) return s;
  return s.substr(0, n - 3) + "...";
}

std::string Money(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_number()) return "-";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "$%.4f", v->to_number<double>());
  return buf;
}

// Seconds with three decimals ("12.345s"), whatever form the number was stored in.
std::string Seconds(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_number()) return "-";
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%.3fs", v->to_number<double>());
  return buf;
}

std::string Budget(const json::object& s) {
  if (s.empty()) return "";
  return "steps=" + Str(s, "steps") + " tok=" + Str(s, "tokens") + " " + Money(s, "cost_usd") +
         (s.contains("elapsed_s") ? " t=" + Seconds(s, "elapsed_s") : "") +
         (s.contains("halted") && s.at("halted").is_bool() && s.at("halted").get_bool() ? " HALTED"
                                                                                        : "");
}

// Display width: UTF-8 code points (continuation bytes do not advance the cursor).
size_t Width(std::string_view s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// Rows of cells printed as columns as wide as their widest cell, two spaces apart; the
// last column is not padded. Cells hold no line breaks or tabs (see OneLine).
std::string Columns(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], Width(row[i]));
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(widths[i] - Width(row[i]) + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string OneLine(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return s;
}

}  // namespace

Result<RunReplay> ReplayFromEvents(std::string_view run_id, std::vector<ReplayEvent> timeline,
                                   std::vector<ReplayEvent> kills, std::string_view agent_column) {
  RunReplay r;
  r.run_id = std::string(run_id);
  r.timeline = std::move(timeline);
  if (r.timeline.empty()) return Error::NotFound("no audit records for run " + r.run_id);
  r.first_seq = r.timeline.front().seq;
  r.last_seq = r.timeline.back().seq;
  for (const ReplayEvent& e : r.timeline) {
    if (r.agent_id.empty()) {
      if (const json::value* a = e.data.if_contains("agent"); a && a->is_string()) {
        r.agent_id = std::string(a->get_string());
      }
    }
  }
  if (!agent_column.empty()) r.agent_id = std::string(agent_column);
  // Kill switch records are not tied to a run; merge those that applied to this one.
  for (ReplayEvent& k : kills) {
    const std::string scope = Str(k.data, "scope");
    const std::string target = Str(k.data, "target");
    if (scope == "global" || (scope == "agent" && target == r.agent_id) ||
        (scope == "run" && target == r.run_id)) {
      r.timeline.push_back(std::move(k));
    }
  }
  std::stable_sort(r.timeline.begin(), r.timeline.end(),
                   [](const ReplayEvent& a, const ReplayEvent& b) { return a.seq < b.seq; });

  std::map<std::string, size_t> by_call;
  for (const ReplayEvent& e : r.timeline) {
    if (!e.hash_ok) ++r.tampered;
    json::object tagged = e.data;
    tagged["seq"] = e.seq;
    tagged["time"] = e.time;
    if (e.type == kRunStarted) {
      r.started = e.time;
      r.workspace = Str(e.data, "workspace");
      r.workspace_refused = Str(e.data, "workspace_refused");
    } else if (e.type == kRunEnded) {
      r.ended = e.time;
      if (r.status != "halted") r.status = "ended";
    } else if (e.type == kRunHalted) {
      r.status = "halted";
    } else if (e.type == kDecision) {
      ReplayCall c;
      c.seq = e.seq;
      c.time = e.time;
      c.call_id = e.call_id;
      c.tool = Str(e.data, "tool");
      if (const json::value* a = e.data.if_contains("args")) c.args = *a;
      c.decision_json = Obj(e.data, "decision");
      c.decision = Str(c.decision_json, "decision");
      c.code = Str(c.decision_json, "code");
      c.reason = Str(c.decision_json, "reason");
      c.rule = Str(c.decision_json, "rule");
      if (const json::value* sh = c.decision_json.if_contains("shadow"); sh && sh->is_bool()) {
        c.shadow = sh->get_bool();
      }
      c.policy_sha256 = Str(e.data, "policy_sha256");
      c.traceparent = Str(e.data, "traceparent");
      c.usage = Obj(e.data, "usage");
      c.state_after = Obj(e.data, "state_after");
      if (!c.state_after.empty()) r.totals = c.state_after;
      if (!c.call_id.empty()) by_call[c.call_id] = r.calls.size();
      r.calls.push_back(std::move(c));
    } else if (e.type == kDecisionReconciled) {
      // What the agent was told replaces what was recorded (kept in decision_json).
      auto it = by_call.find(e.call_id);
      if (it != by_call.end()) {
        ReplayCall& c = r.calls[it->second];
        const json::object told = Obj(e.data, "told");
        c.decision = Str(told, "decision");
        c.code = Str(told, "code");
        c.reason = Str(told, "reason");
        c.rule = Str(told, "rule");
        c.reconciled = tagged;
      }
    } else if (e.type == kResult || e.type == kApproval) {
      auto it = by_call.find(e.call_id);
      if (it == by_call.end()) continue;  // shown in the timeline only
      ReplayCall& c = r.calls[it->second];
      if (e.type == kResult) {
        c.result = tagged;
      } else {
        c.approvals.push_back(tagged);
      }
    }
    if (e.type != kDecision) {
      if (const json::value* s = e.data.if_contains("state_after"); s && s->is_object()) {
        r.totals = s->get_object();
      }
    }
  }
  return r;
}

namespace {

// "egress api.github.com:443 ALLOWED up 517 down 4102, 10.0.0.1:80 EGRESS_DENIED" from a
// result's outcome receipts (docs/mcp.md#outcome-receipts); "" when it has none.
std::string EgressSummary(const json::object& result) {
  const json::value* e = result.if_contains("egress");
  if (e == nullptr) return {};
  if (!e->is_array()) return "egress " + CanonicalJson(*e);
  std::string out;
  for (const json::value& v : e->get_array()) {
    out += out.empty() ? "egress " : ", ";
    if (!v.is_object()) {
      out += CanonicalJson(v);
      continue;
    }
    const json::object& o = v.get_object();
    if (const json::value* n = o.if_contains("omitted")) {
      out += CanonicalJson(*n) + " more";
      continue;
    }
    const json::value* port = o.if_contains("port");
    out += Str(o, "host") + ":" + (port != nullptr ? CanonicalJson(*port) : "?") + " " +
           Str(o, "code");
    const json::value* up = o.if_contains("bytes_up");
    const json::value* down = o.if_contains("bytes_down");
    if (up != nullptr && down != nullptr &&
        (!up->is_number() || up->to_number<double>() != 0 || !down->is_number() ||
         down->to_number<double>() != 0)) {
      out += " up " + CanonicalJson(*up) + " down " + CanonicalJson(*down);
    }
    if (const json::value* open = o.if_contains("open");
        open && open->is_bool() && open->get_bool()) {
      out += " (open)";
    }
  }
  return out;
}

// "credential token_exchange alice (act agent@x) aud https://mcp.x scopes repo:write
// jti:abc issuer https://idp.x" from a result's upstream credential
// (docs/identity.md#upstream-credentials); "" when it has none.
std::string CredentialSummary(const json::object& result) {
  const json::value* c = result.if_contains("credential");
  if (c == nullptr) return {};
  if (!c->is_object()) return "credential " + CanonicalJson(*c);
  const json::object& o = c->get_object();
  std::string out = "credential " + Str(o, "kind") + " " + Str(o, "subject");
  if (const std::string act = Str(o, "actor"); !act.empty()) out += " (act " + act + ")";
  out += " aud " + Str(o, "audience") + " scopes ";
  std::string scopes;
  if (const json::value* s = o.if_contains("scopes"); s != nullptr && s->is_array()) {
    for (const json::value& x : s->get_array()) {
      if (x.is_string()) scopes += (scopes.empty() ? "" : " ") + std::string(x.get_string());
    }
  }
  out += scopes.empty() ? "-" : scopes;
  out += " " + Str(o, "fingerprint") + " issuer " + Str(o, "issuer");
  return out;
}

}  // namespace

json::object ReplayToJson(const RunReplay& r) {
  json::object o;
  o["run_id"] = r.run_id;
  o["agent_id"] = r.agent_id;
  o["status"] = r.status;
  o["started"] = r.started;
  o["ended"] = r.ended;
  if (!r.workspace.empty()) o["workspace"] = r.workspace;
  if (!r.workspace_refused.empty()) o["workspace_refused"] = r.workspace_refused;
  o["first_seq"] = r.first_seq;
  o["last_seq"] = r.last_seq;
  o["records"] = r.timeline.size();
  o["tampered_records"] = r.tampered;
  o["totals"] = r.totals;
  json::array calls;
  for (const ReplayCall& c : r.calls) {
    json::object j;
    j["seq"] = c.seq;
    j["time"] = c.time;
    j["call_id"] = c.call_id;
    j["tool"] = c.tool;
    j["args"] = c.args;
    j["decision"] = c.decision;
    j["code"] = c.code;
    j["reason"] = c.reason;
    j["rule"] = c.rule;
    j["shadow"] = c.shadow;
    j["decision_detail"] = c.decision_json;
    j["policy_sha256"] = c.policy_sha256;
    if (!c.traceparent.empty()) j["traceparent"] = c.traceparent;
    j["usage"] = c.usage;
    j["state_after"] = c.state_after;
    j["result"] = c.result ? json::value(*c.result) : json::value(nullptr);
    // Outcome receipts: the destinations the call's sandboxed server contacted.
    const json::value* egress = c.result ? c.result->if_contains("egress") : nullptr;
    j["egress"] = egress != nullptr ? *egress : json::value(json::array());
    // The upstream credential the call was forwarded with (never the token).
    if (const json::value* cred = c.result ? c.result->if_contains("credential") : nullptr) {
      j["credential"] = *cred;
    }
    json::array ap;
    for (const json::object& a : c.approvals) ap.push_back(a);
    j["approvals"] = std::move(ap);
    if (c.reconciled) j["reconciled"] = *c.reconciled;
    calls.push_back(std::move(j));
  }
  o["calls"] = std::move(calls);
  json::array tl;
  for (const ReplayEvent& e : r.timeline) {
    json::object j;
    j["seq"] = e.seq;
    j["time"] = e.time;
    j["type"] = e.type;
    j["call_id"] = e.call_id;
    j["principal"] = e.principal;
    j["data"] = e.data;
    if (!e.hash_ok) j["hash_ok"] = false;
    tl.push_back(std::move(j));
  }
  o["timeline"] = std::move(tl);
  return o;
}

std::string ReplayToText(const RunReplay& r) {
  std::string out;
  out += "run " + r.run_id + "  agent " + r.agent_id + "  status " + r.status + "\n";
  out += "started " + (r.started.empty() ? "-" : r.started) + "  ended " +
         (r.ended.empty() ? "-" : r.ended) + "  records " + std::to_string(r.timeline.size()) +
         " (seq " + std::to_string(r.first_seq) + ".." + std::to_string(r.last_seq) + ")\n";
  if (!r.workspace.empty()) out += "workspace " + r.workspace + "\n";
  if (!r.workspace_refused.empty()) out += "REFUSED: " + r.workspace_refused + "\n";
  if (r.tampered > 0) {
    out += "WARNING: " + std::to_string(r.tampered) +
           " record(s) do not match their hash (marked !); run `interlock audit verify`\n";
  }
  out += "\n";
  std::vector<std::vector<std::string>> rows;
  rows.push_back(
      {"SEQ", "TIME", "EVENT", "CALL", "TOOL", "OUTCOME", "RULE", "BUDGET AFTER", "DETAIL"});
  for (const ReplayEvent& e : r.timeline) {
    std::string tool, outcome, rule, budget, detail;
    const json::object& d = e.data;
    if (e.type == kDecision) {
      tool = Str(d, "tool");
      const json::object dec = Obj(d, "decision");
      // The code names the verdict (ALLOWED, APPROVAL_REQUIRED, TOOL_BLOCKED, ...).
      outcome = Str(dec, "code").empty() ? Str(dec, "decision") : Str(dec, "code");
      if (dec.contains("shadow")) outcome += " (shadow)";
      rule = Str(dec, "rule");
      budget = Budget(Obj(d, "state_after"));
      detail = "args " + (d.contains("args") ? CanonicalJson(d.at("args")) : "{}");
      detail += Sequence(Obj(d, "state_after"));  // before the reason: not clipped away
      if (const std::string reason = Str(dec, "reason"); !reason.empty()) {
        detail += "; " + reason;
      }
    } else if (e.type == kResult) {
      const json::value* ok = d.if_contains("ok");
      outcome = ok && ok->is_bool() && ok->get_bool() ? "ok" : "error";
      budget = Budget(Obj(d, "state_after"));
      const std::string err = Str(d, "error");
      detail = err.empty() ? "output " + (d.contains("output") ? CanonicalJson(d.at("output"))
                                                               : std::string("null"))
                           : "error " + err;
      if (d.contains("usage")) detail += "; usage " + CanonicalJson(d.at("usage"));
      if (const std::string e = EgressSummary(d); !e.empty()) detail = e + "; " + detail;
      if (const std::string c = CredentialSummary(d); !c.empty()) detail = c + "; " + detail;
      if (const json::object wf = Obj(d, "workflow"); !wf.empty()) {
        // The workflow move the result made (issue 15), or where the run stays.
        detail += wf.contains("moved_by")
                      ? "; workflow " + StateName(Str(wf, "from")) + " -> " +
                            StateName(Str(wf, "state")) + " (" + Str(wf, "moved_by") + ")"
                      : "; workflow stays " + StateName(Str(wf, "state"));
      }
    } else if (e.type == kApproval) {
      outcome = Str(d, "event");
      detail = "reviewer " + (Str(d, "reviewer").empty() ? "-" : Str(d, "reviewer"));
      if (const std::string c = Str(d, "comment"); !c.empty()) detail += ": " + c;
      if (const std::string a = Str(d, "approval_id"); !a.empty()) detail += " [" + a + "]";
    } else if (e.type == kDecisionReconciled) {
      tool = Str(d, "tool");
      const json::object told = Obj(d, "told");
      outcome = "told " + Str(told, "code");
      budget = Budget(Obj(d, "state_after"));
      detail =
          "recorded at seq " +
          CanonicalJson(d.contains("recorded_seq") ? d.at("recorded_seq") : json::value(nullptr)) +
          " was not released; " + Str(told, "reason");
    } else if (e.type == kKillSwitch) {
      const json::value* eng = d.if_contains("engaged");
      outcome = eng && eng->is_bool() && eng->get_bool() ? "ENGAGED" : "released";
      detail =
          Str(d, "scope") + " " + Str(d, "target") + " by " + e.principal + ": " + Str(d, "reason");
    } else {
      budget = Budget(Obj(d, "state_after"));
      detail = CanonicalJson(d);
    }
    std::string seq = std::to_string(e.seq);
    if (!e.hash_ok) seq += "!";
    // Only the free-text detail is clipped; ids and names are shown whole.
    rows.push_back(
        {seq, OneLine(e.time), OneLine(e.type), OneLine(e.call_id.empty() ? "-" : e.call_id),
         OneLine(tool.empty() ? "-" : tool), OneLine(outcome.empty() ? "-" : outcome),
         OneLine(rule.empty() ? "-" : rule), budget.empty() ? "-" : budget, Clip(detail, 160)});
  }
  out += Columns(rows);
  out += "\ntotals: " + (r.totals.empty() ? std::string("-") : Budget(r.totals)) + "  calls " +
         std::to_string(r.calls.size()) + "\n";
  return out;
}

}  // namespace interlock::audit
