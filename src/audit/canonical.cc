#include "audit/canonical.h"

#include <algorithm>
#include <charconv>
#include <vector>

#include <boost/json/serialize.hpp>

namespace interlock::audit {
namespace {

// 0: copied as is; otherwise the escape letter ('u': \u00XX). Boost.JSON's table.
constexpr char EscapeOf(unsigned char c) {
  switch (c) {
    case '\b':
      return 'b';
    case '\t':
      return 't';
    case '\n':
      return 'n';
    case '\f':
      return 'f';
    case '\r':
      return 'r';
    case '"':
      return '"';
    case '\\':
      return '\\';
    default:
      return c < 0x20 ? 'u' : 0;
  }
}

double Usd(int64_t micros) { return static_cast<double>(micros) / 1e6; }

}  // namespace

void AppendJsonString(std::string* out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t run = 0;  // start of the pending unescaped run
  for (size_t i = 0; i < s.size(); ++i) {
    const char e = EscapeOf(static_cast<unsigned char>(s[i]));
    if (e == 0) continue;
    out->append(s.data() + run, i - run);
    run = i + 1;
    if (e != 'u') {
      const char esc[2] = {'\\', e};
      out->append(esc, 2);
    } else {
      const auto c = static_cast<unsigned char>(s[i]);
      const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
      out->append(esc, 6);
    }
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
}

void AppendJsonInt(std::string* out, int64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, r.ptr);
}

void AppendJsonUint(std::string* out, uint64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, r.ptr);
}

void AppendJsonDouble(std::string* out, double v) {
  out->append(boost::json::serialize(boost::json::value(v)));
}

void AppendCanonicalJson(std::string* out, const boost::json::object& o) {
  // Small objects (the common case) sort on the stack.
  constexpr size_t kInline = 16;
  const boost::json::key_value_pair* inline_members[kInline];
  std::vector<const boost::json::key_value_pair*> heap;
  const boost::json::key_value_pair** members = inline_members;
  if (o.size() > kInline) {
    heap.resize(o.size());
    members = heap.data();
  }
  size_t n = 0;
  for (const auto& kv : o) members[n++] = &kv;
  // std::string_view compares with char_traits<char>, i.e. as unsigned bytes.
  std::sort(members, members + n, [](const auto* a, const auto* b) {
    return std::string_view(a->key()) < std::string_view(b->key());
  });
  out->push_back('{');
  for (size_t i = 0; i < n; ++i) {
    if (i != 0) out->push_back(',');
    AppendJsonString(out, members[i]->key());
    out->push_back(':');
    AppendCanonicalJson(out, members[i]->value());
  }
  out->push_back('}');
}

void AppendCanonicalJson(std::string* out, const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::object:
      AppendCanonicalJson(out, v.get_object());
      return;
    case boost::json::kind::array: {
      out->push_back('[');
      bool first = true;
      for (const auto& item : v.get_array()) {
        if (!first) out->push_back(',');
        first = false;
        AppendCanonicalJson(out, item);
      }
      out->push_back(']');
      return;
    }
    case boost::json::kind::string:
      AppendJsonString(out, v.get_string());
      return;
    case boost::json::kind::int64:
      AppendJsonInt(out, v.get_int64());
      return;
    case boost::json::kind::uint64:
      AppendJsonUint(out, v.get_uint64());
      return;
    case boost::json::kind::bool_:
      AppendJsonBool(out, v.get_bool());
      return;
    case boost::json::kind::null:
      out->append("null");
      return;
    case boost::json::kind::double_:
      AppendJsonDouble(out, v.get_double());
      return;
  }
}

void AppendCanonicalDecision(std::string* out, const Decision& d) {
  // Keys in byte order: agent, approval, at, code, covered_by, decision, declared_labels, notify,
  // reason, rehearsal,
  // retry_after_s, rule, shadow, shadow_code, shadow_decision, tool (DecisionToJson's
  // optional ones only when it writes them).
  char sep = '{';
  auto key = [&](std::string_view k) {
    out->push_back(sep);
    sep = ',';
    out->push_back('"');
    out->append(k);
    out->append("\":");
  };
  if (!d.agent_id.empty()) {
    key("agent");
    AppendJsonString(out, d.agent_id);
  }
  if (d.verdict == Verdict::kApprovalRequired) {
    key("approval");
    out->append("{\"approvals_required\":");
    AppendJsonInt(out, d.approvals_required);
    out->append(",\"auto_deny_on_timeout\":");
    AppendJsonBool(out, d.auto_deny_on_timeout);
    out->append(",\"timeout_seconds\":");
    AppendJsonInt(out, d.approval_timeout_seconds);
    out->push_back('}');
  }
  if (!d.at.empty()) {
    key("at");
    AppendJsonString(out, d.at);
  }
  key("code");
  AppendJsonString(out, CodeName(d.code));
  if (!d.covered_by.empty()) {  // an allow covered by an approval for the rest of the run
    key("covered_by");
    AppendJsonString(out, d.covered_by);
  }
  key("decision");
  AppendJsonString(out, VerdictName(d.verdict));
  if (!d.declared_labels.empty()) {
    key("declared_labels");
    out->push_back('[');
    for (size_t i = 0; i < d.declared_labels.size(); ++i) {
      if (i > 0) out->push_back(',');
      AppendJsonString(out, d.declared_labels[i]);
    }
    out->push_back(']');
  }
  if (!d.notifications.empty()) {
    key("notify");
    out->push_back('[');
    bool first = true;
    for (const Notification& n : d.notifications) {
      if (!first) out->push_back(',');
      first = false;
      out->append("{\"channel\":");
      AppendJsonString(out, n.channel);
      out->append(",\"contacts\":[");
      for (size_t i = 0; i < n.contacts.size(); ++i) {
        if (i != 0) out->push_back(',');
        AppendJsonString(out, n.contacts[i]);
      }
      out->append("],\"kind\":");
      AppendJsonString(out, n.kind == Notification::Kind::kEscalation ? "escalation" : "flagged");
      out->append(",\"text\":");
      AppendJsonString(out, n.text);
      out->push_back('}');
    }
    out->push_back(']');
  }
  key("reason");
  AppendJsonString(out, d.reason);
  if (d.rehearsal) {
    key("rehearsal");
    AppendCanonicalJson(out, RehearsalToJson(*d.rehearsal));
  }
  if (d.retry_after_s > 0) {  // RATE_LIMITED, QUOTA_EXCEEDED
    key("retry_after_s");
    AppendJsonInt(out, d.retry_after_s);
  }
  key("rule");
  AppendJsonString(out, d.rule);
  if (d.shadow_verdict) {
    key("shadow");
    out->append("true");
    if (d.shadow_code) {
      key("shadow_code");
      AppendJsonString(out, CodeName(*d.shadow_code));
    }
    key("shadow_decision");
    AppendJsonString(out, VerdictName(*d.shadow_verdict));
  }
  if (!d.tool.empty()) {
    key("tool");
    AppendJsonString(out, d.tool);
  }
  out->push_back('}');
}

void AppendCanonicalUsage(std::string* out, const Usage& u) {
  out->append("{\"cost_usd\":");
  AppendJsonDouble(out, Usd(u.cost_micros));
  out->append(",\"tokens\":");
  AppendJsonUint(out, u.tokens);
  out->push_back('}');
}

void AppendCanonicalRecords(std::string* out, const RunState& s) {
  // std::map<std::string, ..., std::less<>> iterates in char_traits<char> order, which
  // compares as unsigned bytes: the canonical key order.
  out->push_back('{');
  bool first = true;
  for (const auto& [tool, n] : s.records) {
    if (!first) out->push_back(',');
    first = false;
    AppendJsonString(out, tool);
    out->push_back(':');
    AppendJsonUint(out, n);
  }
  out->push_back('}');
}

void AppendCanonicalAuditState(std::string* out, const RunState& s) {
  out->append("{\"cost_usd\":");
  AppendJsonDouble(out, Usd(s.cost_micros));
  out->append(",\"elapsed_s\":");
  AppendJsonDouble(out, static_cast<double>(s.elapsed_ms) / 1e3);
  out->append(",\"halted\":");
  AppendJsonBool(out, s.halted);
  if (!s.labels.empty()) {
    // Sequences (issue 15): only for a run that has any, so that the records of every
    // other run stay as they were.
    out->append(",\"labels\":[");
    bool first = true;
    for (const std::string& l : s.labels) {
      if (!first) out->push_back(',');
      first = false;
      AppendJsonString(out, l);
    }
    out->push_back(']');
  }
  out->append(",\"records\":");
  AppendCanonicalRecords(out, s);
  out->append(",\"steps\":");
  AppendJsonUint(out, s.steps);
  out->append(",\"tokens\":");
  AppendJsonUint(out, s.tokens);
  if (!s.workflow_state.empty() || !s.workflow_vars.empty()) {
    out->append(",\"workflow\":{\"state\":");
    AppendJsonString(out, s.workflow_state);
    out->append(",\"vars\":{");
    bool first = true;
    for (const auto& [k, v] : s.workflow_vars) {  // std::map: sorted keys
      if (!first) out->push_back(',');
      first = false;
      AppendJsonString(out, k);
      out->push_back(':');
      AppendCanonicalJson(out, v);
    }
    out->append("}}");
  }
  out->push_back('}');
}

}  // namespace interlock::audit
