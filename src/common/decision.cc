#include "interlock/decision.h"

#include <array>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

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

namespace {

std::string_view NotificationKindName(Notification::Kind k) {
  return k == Notification::Kind::kEscalation ? "escalation" : "flagged";
}

// The members of a decision, in the order people read them: the one definition of its JSON
// form. `Sink` is ObjectSink (a boost::json::object) or TextSink (a JsonObjectWriter, in
// either style); each member is written once here and nowhere else.
template <typename Sink>
void DecisionMembers(const Decision& d, std::string_view agent_key, Sink& o) {
  o.Word("decision", VerdictName(d.verdict));
  o.Word("code", CodeName(d.code));
  o.String("reason", d.reason);
  o.String("rule", d.rule);
  if (!d.at.empty()) o.String("at", d.at);
  if (!d.agent_id.empty()) o.String(agent_key, d.agent_id);
  if (!d.tool.empty()) o.String("tool", d.tool);
  if (d.shadow_verdict) {
    o.Bool("shadow", true);
    o.Word("shadow_decision", VerdictName(*d.shadow_verdict));
    if (d.shadow_code) o.Word("shadow_code", CodeName(*d.shadow_code));
  }
  if (d.verdict == Verdict::kApprovalRequired) {
    o.Object("approval", [&](Sink& a) {
      a.Int("timeout_seconds", d.approval_timeout_seconds);
      a.Bool("auto_deny_on_timeout", d.auto_deny_on_timeout);
      a.Int("approvals_required", d.approvals_required);
    });
  }
  if (d.retry_after_s > 0) o.Int("retry_after_s", d.retry_after_s);  // RATE_LIMITED, QUOTA_...
  if (!d.declared_labels.empty()) {
    o.Array("declared_labels", d.declared_labels, [](Sink& a, const std::string& l) { a.Item(l); });
  }
  if (d.rehearsal) o.Value("rehearsal", RehearsalToJson(*d.rehearsal));
  if (d.arguments) o.Value("arguments", *d.arguments);
  if (!d.sealed_arguments.empty()) {
    o.Array("sealed_arguments", d.sealed_arguments,
            [](Sink& a, const std::string& f) { a.Item(f); });
  }
  if (!d.covered_by.empty()) o.String("covered_by", d.covered_by);  // approved for the run
  if (!d.notifications.empty()) {
    o.Array("notify", d.notifications, [](Sink& a, const Notification& n) {
      a.ItemObject([&](Sink& no) {
        no.Word("kind", NotificationKindName(n.kind));
        no.String("channel", n.channel);
        no.Array("contacts", n.contacts, [](Sink& c, const std::string& s) { c.Item(s); });
        no.String("text", n.text);
      });
    });
  }
}

// DecisionMembers into a boost::json object (an array while Array's items are added).
struct ObjectSink {
  boost::json::object* o = nullptr;
  boost::json::array* a = nullptr;

  void String(std::string_view k, std::string_view v) { (*o)[k] = v; }
  void Word(std::string_view k, std::string_view v) { (*o)[k] = v; }
  void Int(std::string_view k, int64_t v) { (*o)[k] = v; }
  void Bool(std::string_view k, bool v) { (*o)[k] = v; }
  void Value(std::string_view k, boost::json::value v) { (*o)[k] = std::move(v); }
  template <typename F>
  void Object(std::string_view k, F f) {
    boost::json::object sub;
    ObjectSink s{&sub, nullptr};
    f(s);
    (*o)[k] = std::move(sub);
  }
  template <typename List, typename F>
  void Array(std::string_view k, const List& list, F f) {
    boost::json::array arr;
    ObjectSink s{nullptr, &arr};
    for (const auto& item : list) f(s, item);
    (*o)[k] = std::move(arr);
  }
  void Item(std::string_view v) { a->emplace_back(v); }
  template <typename F>
  void ItemObject(F f) {
    boost::json::object sub;
    ObjectSink s{&sub, nullptr};
    f(s);
    a->emplace_back(std::move(sub));
  }
};

// DecisionMembers as text, through a JsonObjectWriter (kCanonical sorts each object's
// members as it closes); inside an array, `w` is null and items go to `out`.
struct TextSink {
  JsonObjectWriter* w = nullptr;
  std::string* out = nullptr;
  JsonStyle style = JsonStyle::kReadable;
  bool first = true;  // in an array: no item yet

  void String(std::string_view k, std::string_view v) { w->String(k, v); }
  void Word(std::string_view k, std::string_view v) { w->Word(k, v); }
  void Int(std::string_view k, int64_t v) { w->Int(k, v); }
  void Bool(std::string_view k, bool v) { w->Bool(k, v); }
  void Value(std::string_view k, const boost::json::object& v) { w->Object(k, v); }
  template <typename F>
  void Object(std::string_view k, F f) {
    JsonObjectWriter sub(style, w->Key(k));
    TextSink s{&sub, nullptr, style};
    f(s);
    sub.End();
  }
  template <typename List, typename F>
  void Array(std::string_view k, const List& list, F f) {
    std::string* o = w->Key(k);
    o->push_back('[');
    TextSink s{nullptr, o, style};
    for (const auto& item : list) f(s, item);
    o->push_back(']');
  }
  void Comma() {
    if (!first) out->push_back(',');
    first = false;
  }
  void Item(std::string_view v) {
    Comma();
    AppendJsonString(v, out);
  }
  template <typename F>
  void ItemObject(F f) {
    Comma();
    JsonObjectWriter sub(style, out);
    TextSink s{&sub, nullptr, style};
    f(s);
    sub.End();
  }
};

}  // namespace

boost::json::object DecisionToJson(const Decision& d, std::string_view agent_key) {
  boost::json::object o;
  ObjectSink sink{&o, nullptr};
  DecisionMembers(d, agent_key, sink);
  return o;
}

boost::json::object DecisionToJson(const Decision& d) { return DecisionToJson(d, "agent"); }

void AppendDecisionJson(const Decision& d, JsonStyle style, std::string* out,
                        std::string_view agent_key) {
  JsonObjectWriter w(style, out);
  TextSink sink{&w, nullptr, style};
  DecisionMembers(d, agent_key, sink);
  w.End();
}

void AppendDecisionJsonMembers(const Decision& d, std::string* out) {
  JsonObjectWriter w = JsonObjectWriter::Continuing(out, false);
  TextSink sink{&w, nullptr, JsonStyle::kReadable};
  DecisionMembers(d, "agent", sink);
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
  if (const boost::json::value* l = o.if_contains("sealed_arguments");
      l != nullptr && l->is_array()) {
    for (const boost::json::value& v : l->get_array()) {
      // A name that is no string is kept as one that cannot be opened: never dropped.
      d.sealed_arguments.emplace_back(v.is_string() ? std::string(v.get_string()) : "");
    }
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
