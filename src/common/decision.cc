#include "interlock/decision.h"

#include <array>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "common/decision_json.h"
#include "common/json.h"
#include "common/json_write.h"

namespace interlock {
namespace {

constexpr std::array<std::string_view, kCodeCount> kCodeNames = {
    "ALLOWED",
    "APPROVAL_REQUIRED",
    "TOOL_BLOCKED",
    "TOOL_NOT_ALLOWED",
    "CONSTRAINT_VIOLATED",
    "SCOPE_VIOLATED",
    "RECORD_LIMIT_EXCEEDED",
    "BUDGET_EXCEEDED",
    "RUN_HALTED",
    "FROZEN",
    "KILL_SWITCH",
    "UNKNOWN_AGENT",
    "INVALID_REQUEST",
    "APPROVAL_DENIED",
    "APPROVAL_TIMEOUT",
    "UNAUTHENTICATED",
    "STORE_UNAVAILABLE",
    "AUDIT_UNAVAILABLE",
    "WORKFLOW_VIOLATION",
    "FLOW_VIOLATION",
    "RATE_LIMITED",
    "QUOTA_EXCEEDED",
    "EGRESS_DENIED",
    "REHEARSAL_REQUIRED",
    "REHEARSAL_FAILED",
    "ON_BEHALF_OF_REQUIRED",
    "IDENTITY_MISMATCH",
    "CREDENTIAL_UNAVAILABLE",
};

}  // namespace

std::string_view VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kAllow:
      return "allow";
    case Verdict::kDeny:
      return "deny";
    case Verdict::kApprovalRequired:
      return "approval_required";
    case Verdict::kRehearsalRequired:
      return "rehearsal_required";
  }
  return "deny";
}

std::string_view CodeName(Code c) {
  const auto i = static_cast<size_t>(c);
  return i < kCodeNames.size() ? kCodeNames[i] : "INVALID_REQUEST";
}

std::optional<Code> ParseCode(std::string_view name) {
  for (size_t i = 0; i < kCodeNames.size(); ++i) {
    if (kCodeNames[i] == name) return static_cast<Code>(i);
  }
  return std::nullopt;
}

std::optional<Verdict> ParseVerdict(std::string_view name) {
  if (name == "allow") return Verdict::kAllow;
  if (name == "deny") return Verdict::kDeny;
  if (name == "approval_required") return Verdict::kApprovalRequired;
  if (name == "rehearsal_required") return Verdict::kRehearsalRequired;
  return std::nullopt;
}

boost::json::object RehearsalToJson(const Rehearsal& r) {
  boost::json::object o;
  if (!r.reported) {
    o["args"] = r.args;
    if (!r.upstream.empty()) o["upstream"] = r.upstream;
    if (!r.args_sha256.empty()) o["args_sha256"] = r.args_sha256;
    return o;
  }
  o["call_id"] = r.call_id;
  o["ok"] = r.ok;
  if (!r.output.empty()) o["output"] = r.output;
  if (!r.error.empty()) o["error"] = r.error;
  return o;
}

boost::json::object DecisionToJson(const Decision& d) {
  boost::json::object o;
  o["decision"] = VerdictName(d.verdict);
  o["code"] = CodeName(d.code);
  o["reason"] = d.reason;
  o["rule"] = d.rule;
  if (!d.at.empty()) o["at"] = d.at;
  if (!d.agent_id.empty()) o["agent"] = d.agent_id;
  if (!d.tool.empty()) o["tool"] = d.tool;
  if (d.shadow_verdict) {
    o["shadow"] = true;
    o["shadow_decision"] = VerdictName(*d.shadow_verdict);
    if (d.shadow_code) o["shadow_code"] = CodeName(*d.shadow_code);
  }
  if (d.verdict == Verdict::kApprovalRequired) {
    boost::json::object a;
    a["timeout_seconds"] = d.approval_timeout_seconds;
    a["auto_deny_on_timeout"] = d.auto_deny_on_timeout;
    a["approvals_required"] = d.approvals_required;
    o["approval"] = std::move(a);
  }
  if (d.retry_after_s > 0) o["retry_after_s"] = d.retry_after_s;
  if (!d.declared_labels.empty()) {
    boost::json::array labels;
    for (const std::string& l : d.declared_labels) labels.emplace_back(l);
    o["declared_labels"] = std::move(labels);
  }
  if (d.rehearsal) o["rehearsal"] = RehearsalToJson(*d.rehearsal);
  if (d.arguments) o["arguments"] = *d.arguments;
  if (!d.covered_by.empty()) o["covered_by"] = d.covered_by;
  if (!d.notifications.empty()) {
    boost::json::array arr;
    for (const auto& n : d.notifications) {
      boost::json::object no;
      no["kind"] = n.kind == Notification::Kind::kEscalation ? "escalation" : "flagged";
      no["channel"] = n.channel;
      boost::json::array contacts;
      for (const auto& c : n.contacts) contacts.emplace_back(c);
      no["contacts"] = std::move(contacts);
      no["text"] = n.text;
      arr.emplace_back(std::move(no));
    }
    o["notify"] = std::move(arr);
  }
  return o;
}

void AppendDecisionJsonMembers(const Decision& d, std::string* out) {
  // Same members, same order as DecisionToJson. Keys, verdict and code names are fixed
  // ASCII words that need no escaping, so they are appended as they are printed.
  auto name = [out](std::string_view member, std::string_view word) {
    out->append(member);
    out->append(word);
    out->push_back('"');
  };
  auto str = [out](std::string_view member, std::string_view v) {
    out->append(member);
    AppendJsonString(v, out);
  };
  name("\"decision\":\"", VerdictName(d.verdict));
  name(",\"code\":\"", CodeName(d.code));
  str(",\"reason\":", d.reason);
  str(",\"rule\":", d.rule);
  if (!d.at.empty()) str(",\"at\":", d.at);
  if (!d.agent_id.empty()) str(",\"agent\":", d.agent_id);
  if (!d.tool.empty()) str(",\"tool\":", d.tool);
  if (d.shadow_verdict) {
    out->append(",\"shadow\":true");
    name(",\"shadow_decision\":\"", VerdictName(*d.shadow_verdict));
    if (d.shadow_code) name(",\"shadow_code\":\"", CodeName(*d.shadow_code));
  }
  if (d.verdict == Verdict::kApprovalRequired) {
    out->append(",\"approval\":{\"timeout_seconds\":");
    AppendJsonInt(d.approval_timeout_seconds, out);
    out->append(d.auto_deny_on_timeout ? ",\"auto_deny_on_timeout\":true"
                                       : ",\"auto_deny_on_timeout\":false");
    out->append(",\"approvals_required\":");
    AppendJsonInt(d.approvals_required, out);
    out->push_back('}');
  }
  if (d.retry_after_s > 0) {
    out->append(",\"retry_after_s\":");
    AppendJsonInt(d.retry_after_s, out);
  }
  if (!d.declared_labels.empty()) {
    out->append(",\"declared_labels\":[");
    for (size_t i = 0; i < d.declared_labels.size(); ++i) {
      if (i > 0) out->push_back(',');
      AppendJsonString(d.declared_labels[i], out);
    }
    out->push_back(']');
  }
  if (d.rehearsal) {
    out->append(",\"rehearsal\":");
    out->append(boost::json::serialize(RehearsalToJson(*d.rehearsal)));
  }
  if (d.arguments) {
    out->append(",\"arguments\":");
    out->append(boost::json::serialize(*d.arguments));
  }
  if (!d.covered_by.empty()) {
    out->append(",\"covered_by\":");
    AppendJsonString(d.covered_by, out);
  }
  if (!d.notifications.empty()) {
    out->append(",\"notify\":[");
    bool first = true;
    for (const auto& n : d.notifications) {
      if (!first) out->push_back(',');
      first = false;
      out->append(n.kind == Notification::Kind::kEscalation ? "{\"kind\":\"escalation\""
                                                            : "{\"kind\":\"flagged\"");
      str(",\"channel\":", n.channel);
      out->append(",\"contacts\":[");
      for (size_t i = 0; i < n.contacts.size(); ++i) {
        if (i > 0) out->push_back(',');
        AppendJsonString(n.contacts[i], out);
      }
      out->push_back(']');
      str(",\"text\":", n.text);
      out->push_back('}');
    }
    out->push_back(']');
  }
}

Decision DenyDecision(Code code, std::string reason, std::string rule) {
  Decision d;
  d.verdict = Verdict::kDeny;
  d.code = code;
  d.reason = std::move(reason);
  d.rule = std::move(rule);
  return d;
}

namespace {
std::string Str(const boost::json::object& o, std::string_view key) { return StringMember(o, key); }
}  // namespace

std::optional<Decision> DecisionFromJson(const boost::json::object& o) {
  auto verdict = ParseVerdict(Str(o, "decision"));
  auto code = ParseCode(Str(o, "code"));
  if (!verdict || !code) return std::nullopt;
  Decision d;
  d.verdict = *verdict;
  d.code = *code;
  d.reason = Str(o, "reason");
  d.rule = Str(o, "rule");
  d.at = Str(o, "at");
  d.agent_id = Str(o, "agent");
  if (d.agent_id.empty()) d.agent_id = Str(o, "agent_id");
  d.tool = Str(o, "tool");
  if (const boost::json::value* r = o.if_contains("retry_after_s"); r != nullptr && r->is_int64()) {
    d.retry_after_s = r->get_int64();  // RATE_LIMITED, QUOTA_EXCEEDED
  }
  if (const boost::json::value* s = o.if_contains("shadow");
      s != nullptr && s->is_bool() && s->get_bool()) {
    d.shadow_verdict = ParseVerdict(Str(o, "shadow_decision"));
    d.shadow_code = ParseCode(Str(o, "shadow_code"));
  }
  if (const boost::json::value* a = o.if_contains("approval"); a != nullptr && a->is_object()) {
    const boost::json::object& ao = a->get_object();
    if (const boost::json::value* t = ao.if_contains("timeout_seconds");
        t != nullptr && t->is_int64()) {
      d.approval_timeout_seconds = static_cast<int>(t->get_int64());
    }
    if (const boost::json::value* b = ao.if_contains("auto_deny_on_timeout"); b && b->is_bool()) {
      d.auto_deny_on_timeout = b->get_bool();
    }
    if (const boost::json::value* n = ao.if_contains("approvals_required"); n && n->is_int64()) {
      d.approvals_required = static_cast<int>(n->get_int64());
    }
  }
  if (const boost::json::value* r = o.if_contains("rehearsal"); r != nullptr && r->is_object()) {
    const boost::json::object& ro = r->get_object();
    Rehearsal reh;
    reh.reported = ro.contains("ok");
    if (const boost::json::value* a = ro.if_contains("args"); a != nullptr && a->is_object()) {
      reh.args = a->get_object();
    }
    reh.upstream = Str(ro, "upstream");
    reh.args_sha256 = Str(ro, "args_sha256");
    reh.call_id = Str(ro, "call_id");
    if (const boost::json::value* ok = ro.if_contains("ok"); ok != nullptr && ok->is_bool()) {
      reh.ok = ok->get_bool();
    }
    reh.output = Str(ro, "output");
    reh.error = Str(ro, "error");
    d.rehearsal = std::move(reh);
  }
  if (const boost::json::value* a = o.if_contains("arguments"); a != nullptr && a->is_object()) {
    d.arguments = a->get_object();
  }
  d.covered_by = Str(o, "covered_by");
  if (const boost::json::value* l = o.if_contains("declared_labels");
      l != nullptr && l->is_array()) {
    for (const boost::json::value& v : l->get_array()) {
      if (v.is_string()) d.declared_labels.emplace_back(v.get_string());
    }
  }
  if (const boost::json::value* n = o.if_contains("notify"); n != nullptr && n->is_array()) {
    for (const boost::json::value& item : n->get_array()) {
      if (!item.is_object()) continue;
      const boost::json::object& no = item.get_object();
      Notification note;
      note.kind = Str(no, "kind") == "flagged" ? Notification::Kind::kFlagged
                                               : Notification::Kind::kEscalation;
      note.channel = Str(no, "channel");
      note.text = Str(no, "text");
      if (const boost::json::value* c = no.if_contains("contacts"); c != nullptr && c->is_array()) {
        for (const boost::json::value& x : c->get_array()) {
          if (x.is_string()) note.contacts.emplace_back(x.get_string());
        }
      }
      d.notifications.push_back(std::move(note));
    }
  }
  return d;
}

}  // namespace interlock
