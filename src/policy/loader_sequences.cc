// The loader's sequence keys (issue 15) and egress (issue 16): a rule's labels, rate
// limit, rehearse, on_behalf_of and credential_scope; quotas, egress and flows. See
// loader_internal.h.

#include "policy/loader_internal.h"

#include <map>
#include <set>

namespace interlock::policy::loader_internal {

// ---- Sequences (issue 15): labels, rate limits, quotas, flows, workflow ----

// credential_scope: [scope, ...]: OAuth scope tokens (RFC 6749 section 3.3: printable
// ASCII without space, '"' and '\\'), asked of the identity provider for this tool's calls.
std::optional<std::vector<std::string>> Parser::ParseCredentialScope(const Field& f) {
  auto items = List(f);
  if (!items) return std::nullopt;
  std::vector<std::string> out;
  for (const Field& e : *items) {
    auto s = Name(e);
    if (!s) return std::nullopt;
    const bool token = std::all_of(
        s->begin(), s->end(), [](char c) { return c > 0x20 && c < 0x7f && c != '"' && c != '\\'; });
    if (!token) {
      Error(Mark(e), "invalid-value",
            Describe(f.path) + ": '" + *s + "' is not an OAuth scope (no spaces, quotes or '\\')");
      return std::nullopt;
    }
    if (std::find(out.begin(), out.end(), *s) == out.end()) out.push_back(std::move(*s));
  }
  return out;
}

// on_behalf_of: {required: true, in: [...], groups: [...]}; `required: true` alone is the
// smallest form ("a human must be named"); `required: false` is refused (say nothing).
std::optional<OnBehalfOfRule> Parser::ParseOnBehalfOf(const Field& f) {
  auto m = Map(f, {"required", "in", "groups"});
  if (!m) return std::nullopt;
  OnBehalfOfRule r;
  r.at = Loc(f.key_mark);
  bool ok = true;
  for (const Field& item : m->items) {
    Field g = Member(f.path, item);
    if (item.key == "required") {
      auto v = Bool(g);
      if (!v) {
        ok = false;
      } else if (!*v) {
        Error(Mark(g), "invalid-value",
              Describe(g.path) + ": must be true (leave on_behalf_of out to require nobody)");
        ok = false;
      }
    } else if (item.key == "in" || item.key == "groups") {
      auto v = NameList(g);
      if (!v) {
        ok = false;
      } else if (v->empty()) {
        Error(Mark(g), "invalid-value", Describe(g.path) + ": must not be empty");
        ok = false;
      } else {
        (item.key == "in" ? r.in : r.groups) = std::move(*v);
      }
    }
  }
  if (!ok) return std::nullopt;
  return r;
}

std::optional<std::vector<std::string>> Parser::Labels(const Field& f) {
  auto v = NameList(f);
  if (!v) return std::nullopt;
  std::set<std::string> seen;
  for (const std::string& l : *v) {
    if (!seen.insert(l).second) {
      Error(Mark(f), "duplicate-label", f.path + ": label " + Quote(l) + " is listed twice");
      return std::nullopt;
    }
  }
  return v;
}

std::optional<RateLimit> Parser::ParseRateLimit(const Field& f) {
  auto m = Map(f, {"calls", "per_seconds"});
  if (!m) return std::nullopt;
  RateLimit r;
  r.at = Loc(f.key_mark);
  bool ok = true;
  for (const char* key : {"calls", "per_seconds"}) {
    const Field* g = m->Get(key);
    if (g == nullptr) {
      Error(f.key_mark, "missing-key", f.path + ": missing required key '" + key + "'");
      ok = false;
      continue;
    }
    Field h = *g;
    h.path = f.path + "." + key;
    // A window longer than a day is a quota, not a rate limit.
    auto v = std::string_view(key) == "calls" ? Unsigned(h, 1) : Unsigned(h, 1, kSecondsPerDay);
    if (!v) {
      ok = false;
    } else if (std::string_view(key) == "calls") {
      r.calls = *v;
    } else {
      r.per_seconds = static_cast<int64_t>(*v);
    }
  }
  if (!ok) return std::nullopt;
  return r;
}

std::optional<ToolRule::Rehearse> Parser::ParseRehearse(const Field& f) {
  auto m = Map(f, {"args", "upstream"});
  if (!m) return std::nullopt;
  ToolRule::Rehearse r;
  r.at = Loc(f.key_mark);
  bool ok = true;
  if (const Field* a = m->Get("args")) {
    Field g = *a;
    g.path = f.path + ".args";
    auto kind = KindOf(g);
    if (kind && *kind != Kind::kMap) {
      WrongType(g, *kind, "a mapping of argument names to values");
      ok = false;
    } else if (auto v = JsonValue(g, kMaxRehearseArgsDepth)) {
      r.args = std::move(v->as_object());
      if (r.args.empty()) {
        Error(Mark(g), "invalid-value", Describe(g.path) + ": must name at least one argument");
        ok = false;
      }
    } else {
      ok = false;
    }
  }
  if (const Field* u = m->Get("upstream")) {
    Field g = *u;
    g.path = f.path + ".upstream";
    if (auto v = Name(g)) {
      r.upstream = std::move(*v);
    } else {
      ok = false;
    }
  }
  if (ok && r.args.empty() && r.upstream.empty()) {
    Error(f.key_mark, "missing-key",
          Describe(f.path) +
              ": needs 'args' (merged into the rehearsal's arguments) or "
              "'upstream' (the staging upstream it is sent to), or both");
    ok = false;
  }
  if (!ok) return std::nullopt;
  return r;
}

std::optional<boost::json::value> Parser::JsonValue(const Field& f, int depth) {
  auto kind = KindOf(f);
  if (!kind) return std::nullopt;
  if (*kind != Kind::kMap && *kind != Kind::kList) {
    if (*kind == Kind::kNull) return boost::json::value(nullptr);
    return JsonScalar(f);
  }
  if (depth <= 0) {
    Error(Mark(f), "invalid-value", Describe(f.path) + ": nested too deeply");
    return std::nullopt;
  }
  bool ok = true;
  if (*kind == Kind::kList) {
    auto items = List(f);
    if (!items) return std::nullopt;
    boost::json::array out;
    for (const Field& e : *items) {
      if (auto v = JsonValue(e, depth - 1)) {
        out.push_back(std::move(*v));
      } else {
        ok = false;
      }
    }
    if (!ok) return std::nullopt;
    return boost::json::value(std::move(out));
  }
  auto m = Map(f, {}, /*any_key=*/true);
  if (!m) return std::nullopt;
  boost::json::object out;
  for (const Field& item : m->items) {
    Field g = Member(f.path, item);
    if (auto v = JsonValue(g, depth - 1)) {
      out[item.key] = std::move(*v);
    } else {
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return boost::json::value(std::move(out));
}

void Parser::ParseQuotas(const Field& f, AgentPolicy* p) {
  p->quotas.at = Loc(f.key_mark);
  auto m = Map(f, {"calls_per_day", "tokens_per_day", "cost_usd_per_day"});
  if (!m) return;
  for (const Field& item : m->items) {
    Field g = Member("quotas", item);
    if (item.key == "calls_per_day") {
      p->quotas.calls_per_day = Unsigned(g, 1);
    } else if (item.key == "tokens_per_day") {
      p->quotas.tokens_per_day = Unsigned(g, 1);
    } else {
      p->quotas.cost_micros_per_day = Fixed(g, 6, kMaxCostMicros);
    }
  }
}

// ---- Egress (issue 16): where the agent's tools may connect ----

void Parser::ParseEgress(const Field& f, AgentPolicy* p) {
  p->egress_at = Loc(f.key_mark);
  auto m = Map(f, {"allow"});
  if (!m) return;
  // Present, even when empty or invalid: an invalid file is refused as a whole anyway.
  p->egress.present = true;
  const Field* allow = m->Get("allow");
  if (allow == nullptr) {
    Error(f.key_mark, "missing-key",
          "egress: missing required key 'allow' (a list of host:port entries; [] for none)");
    return;
  }
  auto items = List(*allow);
  if (!items) return;
  std::set<std::string> seen;
  for (const Field& item : *items) {
    // "host:port", or {to: "host:port", tunnel: bool} (CONNECT beyond port 443, or none).
    const Field* to = &item;
    std::optional<bool> tunnel;
    std::optional<Fields> entry;
    if (item.value.IsMap()) {
      entry = Map(item, {"to", "tunnel"});
      if (!entry) continue;
      to = entry->Get("to");
      if (to == nullptr) {
        Error(item.key_mark, "missing-key",
              item.path + ": missing required key 'to' (the entry, \"host:port\")");
        continue;
      }
      if (const Field* t = entry->Get("tunnel")) {
        tunnel = Bool(*t);
        if (!tunnel) continue;
      }
    }
    auto text = String(*to);
    if (!text) continue;
    std::string why;
    auto rule = ParseEgressRule(*text, &why);
    if (!rule) {
      Error(Mark(*to), "invalid-egress", to->path + ": " + Quote(*text) + ": " + why);
      continue;
    }
    rule->tunnel = tunnel;
    if (!seen.insert(rule->text).second) {
      Error(Mark(item), "duplicate-egress", item.path + ": " + Quote(*text) + " is listed twice");
      continue;
    }
    p->egress.allow.push_back(std::move(*rule));
  }
}

void Parser::ParseFlows(const Field& f, AgentPolicy* p) {
  auto items = List(f);
  if (!items) return;
  std::map<std::string, int> names;  // name -> line
  for (const Field& item : *items) {
    auto m = Map(item, {"name", "from", "to", "action", "reason"});
    if (!m) continue;
    FlowRule r;
    r.at = Loc(item.key_mark);
    bool ok = true;
    for (const char* key : {"name", "from", "to", "action"}) {
      if (m->Get(key) == nullptr) {
        Error(item.key_mark, "missing-key", item.path + ": missing required key '" + key + "'");
        ok = false;
      }
    }
    if (!ok) continue;
    auto name = Name(*m->Get("name"));
    if (!name) continue;
    r.name = *name;
    const std::string path = "flows[" + Quote(r.name) + "]";
    if (auto [it, inserted] = names.emplace(r.name, item.key_mark.line + 1); !inserted) {
      Error(m->Get("name")->key_mark, "duplicate-flow",
            path + ": another flow has this name (line " + std::to_string(it->second) + ")");
      continue;
    }
    for (const Field& g0 : m->items) {
      Field g = Member(path, g0);
      if (g0.key == "from" || g0.key == "to") {
        auto v = Labels(g);
        if (!v) {
          ok = false;
        } else if (v->empty()) {
          Error(Mark(g), "invalid-value", g.path + ": name at least one label");
          ok = false;
        } else {
          (g0.key == "from" ? r.from : r.to) = std::move(*v);
        }
      } else if (g0.key == "action") {
        ok = Keep(Enum(g, {"deny", "require_approval"},
                       {FlowRule::Action::kDeny, FlowRule::Action::kRequireApproval}),
                  &r.action) &&
             ok;
      } else if (g0.key == "reason") {
        auto v = String(g);
        if (v && HasControl(*v)) {
          Error(Mark(g), "invalid-value", g.path + ": must not contain control characters");
          v.reset();
        }
        if (v) r.reason = std::move(*v);
        ok = ok && v.has_value();
      }
    }
    if (ok) p->flows.push_back(std::move(r));
  }
}

}  // namespace interlock::policy::loader_internal
