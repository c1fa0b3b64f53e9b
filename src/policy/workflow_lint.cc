// Lint for rules over sequences: workflow shape (unreachable states, dead ends, tools no
// state permits, transitions that can never fire), the lethal trifecta without a flow
// rule, flow labels no tool carries; and the workflow as a Mermaid or Graphviz diagram.
#include <algorithm>
#include <cctype>
#include <set>
#include <string>
#include <vector>

#include "policy/loader.h"
#include "policy/workflow.h"

namespace interlock::policy {
namespace {

bool Names(const std::vector<std::string>& tools, std::string_view tool) {
  return std::any_of(tools.begin(), tools.end(),
                     [&](const std::string& t) { return ToolPatternMatches(t, tool); });
}

bool Permits(const Workflow& w, const WorkflowState& st, std::string_view tool) {
  if (Names(w.always_allowed, tool)) return true;
  return std::any_of(st.allow.begin(), st.allow.end(), [&](const WorkflowPermit& a) {
    return ToolPatternMatches(a.tool, tool) || ToolPatternMatches(tool, a.tool);
  });
}

std::string Q(std::string_view s) { return "\"" + std::string(s) + "\""; }

void LintWorkflow(const AgentPolicy& p, const Workflow& w, std::vector<Diagnostic>* out) {
  auto warn = [&](Location at, std::string id, std::string msg) {
    if (at.file.empty()) at.file = p.file;
    out->push_back({Diagnostic::Severity::kWarning, std::move(at), std::move(id), std::move(msg)});
  };
  // Reachability from the initial state over every transition.
  std::set<std::string> reached{w.initial};
  std::vector<std::string> todo{w.initial};
  while (!todo.empty()) {
    const WorkflowState* st = w.Find(todo.back());
    todo.pop_back();
    if (st == nullptr) continue;
    for (const WorkflowTransition& t : st->transitions) {
      if (reached.insert(t.to).second) todo.push_back(t.to);
    }
  }
  for (const std::string& name : w.order) {
    const WorkflowState& st = *w.Find(name);
    if (reached.count(name) == 0) {
      warn(st.at, "workflow-unreachable-state",
           "workflow state " + Q(name) + " cannot be reached from the initial state " +
               Q(w.initial) + ": no chain of transitions leads to it");
    }
    const bool way_out = std::any_of(st.transitions.begin(), st.transitions.end(),
                                     [&](const WorkflowTransition& t) { return t.to != name; });
    if (!way_out && !st.final) {
      warn(st.at, "workflow-dead-end",
           "workflow state " + Q(name) +
               " has no transition to another state and is not marked final: a run that gets "
               "there is stuck; add a transition or final: true");
    }
    for (const WorkflowTransition& t : st.transitions) {
      if (t.on == TransitionOn::kAllowed && !Permits(w, st, t.tool)) {
        warn(t.at, "workflow-transition-never-fires",
             t.rule + ": fires when tool " + Q(t.tool) + " is allowed in state " + Q(name) +
                 ", which does not permit it");
      }
    }
  }
  for (const auto& [tool, rule] : p.allowed) {
    bool permitted = Names(w.always_allowed, tool);
    for (const auto& [name, st] : w.states) permitted = permitted || Permits(w, st, tool);
    if (!permitted) {
      warn(rule.at, "workflow-tool-never-permitted",
           "tool " + Q(tool) +
               " is allowed but no workflow state permits it, so every call is "
               "WORKFLOW_VIOLATION; add it to a state's allow or to workflow.always_allowed");
    }
  }
}

constexpr const char* kPrivate = "private_data";
constexpr const char* kUntrusted = "untrusted_content";
constexpr const char* kExternal = "external_communication";

bool Has(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// The lethal trifecta: the agent can read private data, take in untrusted content and
// talk to the outside. Covered when, for every tool that talks outside, some flow rule
// fires on it once the run has seen private data and untrusted content.
void LintTrifecta(const AgentPolicy& p, std::vector<Diagnostic>* out) {
  bool priv = false, untrusted = false;
  std::vector<const ToolRule*> external;
  for (const auto& [name, rule] : p.allowed) {
    if (p.blocked.count(name) > 0) continue;
    priv = priv || Has(rule.labels, kPrivate);
    untrusted = untrusted || Has(rule.labels, kUntrusted);
    if (Has(rule.labels, kExternal)) external.push_back(&rule);
  }
  if (!priv || !untrusted || external.empty()) return;
  for (const ToolRule* t : external) {
    const bool covered = std::any_of(p.flows.begin(), p.flows.end(), [&](const FlowRule& f) {
      const bool to = std::all_of(f.to.begin(), f.to.end(),
                                  [&](const std::string& l) { return Has(t->labels, l); });
      const bool from = std::all_of(f.from.begin(), f.from.end(), [&](const std::string& l) {
        return l == kPrivate || l == kUntrusted || Has(t->labels, l);
      });
      return to && from;
    });
    if (covered) continue;
    Location at = t->at;
    if (at.file.empty()) at.file = p.file;
    out->push_back({Diagnostic::Severity::kWarning, at, "lethal-trifecta",
                    "the agent's allowed tools together carry private_data, untrusted_content "
                    "and external_communication, and no flow rule covers tool " +
                        Q(t->name) +
                        ": untrusted input could steer private data out; add a flow from "
                        "[private_data, untrusted_content] to [external_communication] "
                        "(deny or require_approval)"});
  }
}

void LintFlowLabels(const AgentPolicy& p, std::vector<Diagnostic>* out) {
  std::set<std::string, std::less<>> carried;
  // A tool that writes no `labels:` takes labels from its MCP annotations through the
  // gateway (docs/mcp.md, "Labels from annotations"): only these three.
  bool unlabelled = false;
  for (const auto& [name, rule] : p.allowed) {
    carried.insert(rule.labels.begin(), rule.labels.end());
    unlabelled = unlabelled || (!rule.labels_written && rule.labels.empty());
  }
  for (const FlowRule& f : p.flows) {
    std::set<std::string_view> named;  // a label in both `from` and `to` is reported once
    for (const auto* list : {&f.from, &f.to}) {
      for (const std::string& l : *list) {
        if (carried.count(l) > 0 || !named.insert(l).second) continue;
        const bool from_annotations =
            unlabelled && (l == "destructive" || l == kExternal || l == kUntrusted);
        Location at = f.at;
        if (at.file.empty()) at.file = p.file;
        out->push_back(
            {Diagnostic::Severity::kWarning, at, "flow-label-unused",
             "flow " + Q(f.name) + " names label " + Q(l) +
                 ", which no allowed tool carries in the policy: " +
                 (from_annotations ? "only tools without labels: that declare it in their MCP "
                                     "annotations (through the MCP gateway) can fire it; give "
                                     "the tools their labels in the policy to be sure"
                                   : "the flow never fires; check the spelling")});
      }
    }
  }
}

bool PlainName(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

// Mermaid and DOT identifiers: the state names when every one is a plain identifier,
// else s0, s1, ... in document order (a state name may hold any byte but control ones).
std::string Id(const std::vector<std::string>& order, std::string_view name) {
  if (std::all_of(order.begin(), order.end(), [](const std::string& n) { return PlainName(n); })) {
    return std::string(name);
  }
  auto it = std::find(order.begin(), order.end(), name);
  return "s" + std::to_string(it - order.begin());
}

std::string Escape(std::string_view s, bool dot) {
  std::string out;
  for (char c : s) {
    if (c == '"') {
      out += dot ? "\\\"" : "#quot;";
    } else if (dot && c == '\\') {
      out += "\\\\";
    } else {
      out += c;
    }
  }
  return out;
}

std::string EdgeLabel(const WorkflowTransition& t) {
  std::string s = t.tool + " " + TransitionOnName(t.on);
  for (const ArgConstraint& c : t.when) {
    s += c.one_of.size() == 1 && c.one_of[0].is_string()
             ? " [" + (c.path.empty() ? c.argument : c.path) + "=" +
                   std::string(c.one_of[0].get_string()) + "]"
             : " [" + (c.path.empty() ? c.argument : c.path) + " ...]";
  }
  if (!t.remember.empty()) {
    s += " / remember";
    for (const WorkflowRemember& r : t.remember) s += " " + r.variable;
  }
  return s;
}

std::string StateLabel(const WorkflowState& st, bool with_name) {
  std::vector<std::string> tools;
  for (const WorkflowPermit& a : st.allow) {
    if (std::find(tools.begin(), tools.end(), a.tool) == tools.end()) tools.push_back(a.tool);
  }
  std::string s = with_name ? st.name : "";
  if (!tools.empty()) {
    if (with_name) s += ": ";
    for (size_t i = 0; i < tools.size(); ++i) s += (i ? ", " : "") + tools[i];
  }
  return s;
}

}  // namespace

std::vector<Diagnostic> LintSequences(const AgentPolicy& p) {
  std::vector<Diagnostic> out;
  if (p.workflow) LintWorkflow(p, *p.workflow, &out);
  LintTrifecta(p, &out);
  LintFlowLabels(p, &out);
  return out;
}

std::string WorkflowDiagram(const Workflow& w, DiagramFormat format) {
  const bool dot = format == DiagramFormat::kDot;
  std::string out = dot ? "digraph workflow {\n  rankdir=LR;\n  node [shape=box, style=rounded];\n"
                        : "stateDiagram-v2\n";
  if (!w.always_allowed.empty()) {
    std::string tools;
    for (size_t i = 0; i < w.always_allowed.size(); ++i) {
      tools += (i ? ", " : "") + w.always_allowed[i];
    }
    out += dot ? "  label=\"in every state: " + Escape(tools, true) + "\";\n  labelloc=b;\n"
               : "  %% in every state: " + tools + "\n";
  }
  for (const std::string& name : w.order) {
    const WorkflowState& st = *w.Find(name);
    const std::string id = Id(w.order, name);
    if (dot) {
      out += "  " + id + " [label=\"" + Escape(StateLabel(st, true), true) + "\"" +
             (st.final ? ", peripheries=2" : "") + "];\n";
    } else {
      // Mermaid shows the id as the state's title; the description lists what it permits.
      const bool named = id == name;
      const std::string label = StateLabel(st, !named);
      if (!label.empty()) out += "  " + id + " : " + Escape(label, false) + "\n";
    }
  }
  if (dot) {
    out += "  start [shape=point];\n  start -> " + Id(w.order, w.initial) + ";\n";
  } else {
    out += "  [*] --> " + Id(w.order, w.initial) + "\n";
  }
  for (const std::string& name : w.order) {
    const WorkflowState& st = *w.Find(name);
    for (const WorkflowTransition& t : st.transitions) {
      if (dot) {
        out += "  " + Id(w.order, name) + " -> " + Id(w.order, t.to) + " [label=\"" +
               Escape(EdgeLabel(t), true) + "\"];\n";
      } else {
        out += "  " + Id(w.order, name) + " --> " + Id(w.order, t.to) + " : " +
               Escape(EdgeLabel(t), false) + "\n";
      }
    }
    if (st.final && !dot) out += "  " + Id(w.order, name) + " --> [*]\n";
  }
  if (dot) out += "}\n";
  return out;
}

}  // namespace interlock::policy
