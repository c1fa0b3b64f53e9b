// Workflow state machines (docs/policy.md, "workflow"): named states, the tools each one
// permits (with argument conditions and requirements on remembered variables), and the
// transitions a call moves the run along when it is allowed or when its result is
// reported. Validated and immutable once loaded (loader.cc); evaluated purely by the
// engine (src/engine/sequence.h) against RunState::workflow.
// Thread-safety: immutable value types, shared as std::shared_ptr<const Workflow>.
#ifndef INTERLOCK_POLICY_WORKFLOW_H_
#define INTERLOCK_POLICY_WORKFLOW_H_

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "policy/policy.h"

namespace interlock::policy {

// An argument that must equal a value the workflow remembered earlier (`require:`).
struct WorkflowRequire {
  std::string argument;  // top-level argument of the call
  std::string variable;  // a name some transition's `remember:` binds
};

// A variable bound from an argument of the call that fires a transition (`remember:`).
struct WorkflowRemember {
  std::string variable;
  std::string argument;  // top-level argument; a call without it unbinds the variable
};

// What one state permits for one tool. A state may list a tool several times (say,
// deploy to staging freely, to production with approval); the first entry whose
// conditions and requirements hold is the one that applies.
struct WorkflowPermit {
  std::string tool;
  std::string rule;  // workflow.states["s"].allow[1]
  Location at;
  std::vector<ArgConstraint> when;  // argument conditions, all must hold
  std::vector<WorkflowRequire> require;
  bool requires_approval = false;
};

enum class TransitionOn { kAllowed, kOk, kError };
inline const char* TransitionOnName(TransitionOn on) {
  return on == TransitionOn::kAllowed ? "allowed" : on == TransitionOn::kOk ? "ok" : "error";
}

struct WorkflowTransition {
  std::string tool;
  TransitionOn on = TransitionOn::kOk;
  std::vector<ArgConstraint> when;  // argument conditions, all must hold
  std::string to;                   // a state name (validated at load)
  std::vector<WorkflowRemember> remember;
  std::string rule;  // workflow.states["s"].transitions[0]
  Location at;
};

struct WorkflowState {
  std::string name;
  Location at;  // where the state is written
  bool final = false;
  std::vector<WorkflowPermit> allow;
  std::vector<WorkflowTransition> transitions;
};

struct Workflow {
  Location at;  // the `workflow` key
  std::string initial;
  std::vector<std::string> always_allowed;  // tools permitted in every state
  std::map<std::string, WorkflowState, std::less<>> states;
  std::vector<std::string> order;  // state names in document order (for diagrams)

  const WorkflowState* Find(std::string_view name) const {
    auto it = states.find(name);
    return it == states.end() ? nullptr : &it->second;
  }
};

// The workflow as a diagram for reviewers (`interlock check --graph`): states (with the
// tools each permits), the initial state, final states, and transitions labelled
// "tool on [conditions] / remember variables".
enum class DiagramFormat { kMermaid, kDot };
std::string WorkflowDiagram(const Workflow& w, DiagramFormat format);

}  // namespace interlock::policy

#endif  // INTERLOCK_POLICY_WORKFLOW_H_
