// The loader's `workflow` section (issue 15): states, permits, transitions and the
// references they make. See loader_internal.h.

#include "policy/loader_internal.h"

#include <set>

namespace interlock::policy::loader_internal {

// Argument conditions: `argument: value` (equals), `argument: [a, b]` (one of), or the
// mapping of constraints.arguments (one_of, pattern, min, ...).
bool Parser::ParseConditions(const Field& f, const std::string& rule_id,
                             std::vector<ArgConstraint>* out) {
  auto args = Map(f, {}, /*any_key=*/true);
  if (!args) return false;
  bool ok = true;
  std::set<std::string> claimed;
  for (const Field& arg : args->items) {
    const std::string id = rule_id + ".when[" + Quote(arg.key) + "]";
    Field a = arg;
    a.path = id;
    if (arg.key.empty() || HasControl(arg.key)) {
      Error(arg.key_mark, "invalid-value",
            id + ": argument names must be non-empty without control characters");
      ok = false;
      continue;
    }
    std::string why;
    auto path = ParseArgPath(arg.key, &why);
    if (!path) {
      Error(arg.key_mark, "invalid-argument-path", id + ": " + why);
      ok = false;
      continue;
    }
    if (!claimed.insert(path->normalised).second) {
      Error(arg.key_mark, "ambiguous-constraint",
            id + ": the argument is named twice; put all its checks under one entry");
      ok = false;
      continue;
    }
    auto kind = KindOf(a);
    if (!kind) {
      ok = false;
      continue;
    }
    std::optional<ArgConstraint> c;
    if (*kind == Kind::kMap) {
      c = ParseArgument(a, id, *path);
    } else {
      ArgConstraint k;
      k.argument = path->argument;
      k.steps = path->steps;
      if (!k.steps.empty()) k.path = path->normalised;
      k.rule = id;
      k.at = Loc(arg.key_mark);
      if (*kind == Kind::kList) {
        if (auto items = List(a)) {
          for (const Field& e : *items) {
            if (auto v = ConstraintScalar(e)) k.one_of.push_back(std::move(*v));
          }
          if (k.one_of.size() != items->size()) {
            ok = false;
            continue;
          }
          if (k.one_of.empty()) {
            Error(arg.key_mark, "empty-constraint", id + ": the list is empty");
            ok = false;
            continue;
          }
        }
      } else if (auto v = ConstraintScalar(a)) {
        k.one_of.push_back(std::move(*v));
      } else {
        ok = false;
        continue;
      }
      c = std::move(k);
    }
    if (!c) {
      ok = false;
      continue;
    }
    out->push_back(std::move(*c));
  }
  return ok;
}

bool Parser::NamePairs(const Field& f, std::string_view key_what,
                       const std::function<void(std::string, std::string)>& add) {
  auto r = Map(f, {}, /*any_key=*/true);
  if (!r) return false;
  bool ok = true;
  for (const Field& e0 : r->items) {
    Field e = e0;
    e.path = f.path + "[" + Quote(e0.key) + "]";
    auto value = Name(e);
    if (e0.key.empty() || HasControl(e0.key) || !value) {
      if (value) {
        Error(e0.key_mark, "invalid-value",
              e.path + ": invalid " + std::string(key_what) + " name");
      }
      ok = false;
      continue;
    }
    add(e0.key, std::move(*value));
  }
  return ok;
}

std::optional<WorkflowPermit> Parser::ParsePermit(const Field& f) {
  auto kind = KindOf(f);
  if (!kind) return std::nullopt;
  WorkflowPermit w;
  w.at = Loc(f.key_mark);
  w.rule = f.path;
  if (*kind == Kind::kString) {
    auto name = Name(f);
    if (!name) return std::nullopt;
    w.tool = std::move(*name);
    return w;
  }
  if (*kind != Kind::kMap) {
    WrongType(f, *kind, "a tool name or a mapping with 'tool'");
    return std::nullopt;
  }
  auto m = Map(f, {"tool", "when", "require", "requires_approval"});
  if (!m) return std::nullopt;
  const Field* tool = m->Get("tool");
  if (tool == nullptr) {
    Error(f.key_mark, "missing-key", f.path + ": missing required key 'tool'");
    return std::nullopt;
  }
  bool ok = true;
  for (const Field& g0 : m->items) {
    Field g = Member(f.path, g0);
    if (g0.key == "tool") {
      ok = Keep(Name(g), &w.tool) && ok;
    } else if (g0.key == "when") {
      ok = ParseConditions(g, f.path, &w.when) && ok;
    } else if (g0.key == "requires_approval") {
      ok = Keep(Bool(g), &w.requires_approval) && ok;
    } else if (g0.key == "require") {
      // {argument: variable}
      ok = NamePairsInto(g, "argument", &w.require) && ok;
    }
  }
  if (!ok) return std::nullopt;
  return w;
}

std::optional<WorkflowTransition> Parser::ParseTransition(const Field& f) {
  auto m = Map(f, {"tool", "on", "when", "to", "remember"});
  if (!m) return std::nullopt;
  bool ok = true;
  for (const char* key : {"tool", "on", "to"}) {
    if (m->Get(key) == nullptr) {
      Error(f.key_mark, "missing-key", f.path + ": missing required key '" + key + "'");
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  WorkflowTransition t;
  t.at = Loc(f.key_mark);
  t.rule = f.path;
  for (const Field& g0 : m->items) {
    Field g = Member(f.path, g0);
    if (g0.key == "tool" || g0.key == "to") {
      ok = Keep(Name(g), &(g0.key == "tool" ? t.tool : t.to)) && ok;
    } else if (g0.key == "on") {
      ok = Keep(Enum(g, {"allowed", "ok", "error"},
                     {TransitionOn::kAllowed, TransitionOn::kOk, TransitionOn::kError}),
                &t.on) &&
           ok;
    } else if (g0.key == "when") {
      ok = ParseConditions(g, f.path, &t.when) && ok;
    } else if (g0.key == "remember") {
      // {variable: argument}
      ok = NamePairsInto(g, "variable", &t.remember) && ok;
    }
  }
  if (!ok) return std::nullopt;
  return t;
}

std::optional<WorkflowState> Parser::ParseWorkflowState(const Field& f, const std::string& name) {
  WorkflowState st;
  st.name = name;
  st.at = Loc(f.key_mark);
  auto kind = KindOf(f);
  if (!kind) return std::nullopt;
  if (*kind == Kind::kNull) return st;  // `done:` a state that permits nothing extra
  auto m = Map(f, {"allow", "transitions", "final"});
  if (!m) return std::nullopt;
  bool ok = true;
  for (const Field& g0 : m->items) {
    Field g = Member(f.path, g0);
    if (g0.key == "final") {
      ok = Keep(Bool(g), &st.final) && ok;
      continue;
    }
    auto items = List(g);
    if (!items) {
      ok = false;
      continue;
    }
    for (const Field& e : *items) {
      if (g0.key == "allow") {
        if (auto w = ParsePermit(e)) {
          st.allow.push_back(std::move(*w));
        } else {
          ok = false;
        }
      } else if (auto t = ParseTransition(e)) {
        st.transitions.push_back(std::move(*t));
      } else {
        ok = false;
      }
    }
  }
  if (!ok) return std::nullopt;
  return st;
}

void Parser::ParseWorkflow(const Field& f, AgentPolicy* p) {
  auto m = Map(f, {"initial", "always_allowed", "states"});
  if (!m) return;
  auto w = std::make_shared<Workflow>();
  w->at = Loc(f.key_mark);
  const int before = errors_;
  for (const char* key : {"initial", "states"}) {
    if (m->Get(key) == nullptr) {
      Error(f.key_mark, "missing-key", "workflow: missing required key '" + std::string(key) + "'");
    }
  }
  if (const Field* g = m->Get("initial")) {
    if (auto v = Name(*g)) w->initial = std::move(*v);
  }
  if (const Field* g = m->Get("always_allowed")) {
    if (auto v = NameList(*g)) w->always_allowed = std::move(*v);
  }
  if (const Field* g = m->Get("states")) {
    if (auto states = Map(*g, {}, /*any_key=*/true)) {
      if (states->items.empty()) {
        Error(g->key_mark, "invalid-value", "workflow.states: declare at least one state");
      }
      for (const Field& s0 : states->items) {
        Field s = s0;
        s.path = "workflow.states[" + Quote(s0.key) + "]";
        if (s0.key.empty() || HasControl(s0.key)) {
          Error(s0.key_mark, "invalid-value", s.path + ": invalid state name");
          continue;
        }
        if (auto st = ParseWorkflowState(s, s0.key)) {
          w->order.push_back(s0.key);
          w->states.emplace(s0.key, std::move(*st));
        }
      }
    }
  }
  if (errors_ != before) return;
  CheckWorkflow(*w, *p);
  if (errors_ != before) return;
  p->workflow = std::move(w);
}

// References a workflow makes must resolve: states, tools (allowed, not blocked) and
// variables. Reachability and dead ends are Lint() warnings (a drawing in progress).
void Parser::CheckWorkflow(const Workflow& w, const AgentPolicy& p) {
  auto at = [](const Location& l) {
    YAML::Mark m;
    m.line = l.line - 1;
    m.column = l.column - 1;
    return m;
  };
  auto check_tool = [&](const std::string& tool, const Location& l, const std::string& where) {
    if (tool.find('*') != std::string::npos) {  // a pattern: some allowed entry must overlap
      for (const auto& [name, rule] : p.allowed) {
        if (ToolPatternsOverlap(name, tool)) return;
      }
    } else {
      const ToolResolution r = p.Resolve(tool);
      if (r.kind == ToolResolution::Kind::kBlocked) {
        Error(at(l), "workflow-tool-blocked",
              where + ": tool " + Quote(tool) + " is blocked (at " + LineCol(*r.at) +
                  "); a workflow cannot permit it");
        return;
      }
      if (r.kind == ToolResolution::Kind::kAllowed) return;
    }
    Error(at(l), "workflow-unknown-tool",
          where + ": tool " + Quote(tool) +
              " is not in tools.allowed; a workflow only orders tools the policy allows");
  };
  if (!w.initial.empty() && w.Find(w.initial) == nullptr) {
    Error(at(w.at), "workflow-unknown-state",
          "workflow.initial: no state named " + Quote(w.initial) + " in workflow.states");
  }
  for (const std::string& t : w.always_allowed) check_tool(t, w.at, "workflow.always_allowed");
  std::set<std::string> remembered;
  for (const auto& [name, st] : w.states) {
    for (const WorkflowTransition& t : st.transitions) {
      for (const WorkflowRemember& r : t.remember) remembered.insert(r.variable);
    }
  }
  for (const auto& [name, st] : w.states) {
    for (const WorkflowPermit& a : st.allow) {
      check_tool(a.tool, a.at, a.rule);
      for (const WorkflowRequire& r : a.require) {
        if (remembered.count(r.variable) == 0) {
          Error(at(a.at), "workflow-unknown-variable",
                a.rule + ".require: variable " + Quote(r.variable) +
                    " is never remembered by a transition; add remember: to one");
        }
      }
    }
    for (const WorkflowTransition& t : st.transitions) {
      check_tool(t.tool, t.at, t.rule);
      if (w.Find(t.to) == nullptr) {
        Error(at(t.at), "workflow-unknown-state",
              t.rule + ".to: no state named " + Quote(t.to) + " in workflow.states");
      }
    }
  }
}

}  // namespace interlock::policy::loader_internal
