// Tests that the keys for rules over sequences (workflow, labels, flows, rate_limit,
// quotas) load strictly, with every mistake reported at file:line:column, and that lint
// and the diagram see what a reviewer needs to see.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "policy/loader.h"
#include "policy/workflow.h"
#include "policy_text.h"

namespace interlock::policy {
namespace INTERLOCK_TEST_NS {

using ::testing::HasSubstr;

using ::interlock::testing::MustParsePolicy;
using ::interlock::testing::PolicyDiagnostics;

std::string LintText(const AgentPolicy& p) {
  std::string out;
  for (const Diagnostic& d : Lint(p)) out += d.ToString() + "\n";
  return out;
}

constexpr const char* kTools = R"(agent: {id: "a"}
tools:
  allowed: ["x", "y"]
  blocked: ["z"]
)";

// Tests that a workflow naming a state that does not exist is a located load error, so a
// typo in `to:` cannot leave a run stranded in a state nobody wrote.
TEST(WorkflowLoader, UnknownStatesAreLocatedErrors) {
  const std::string e = PolicyDiagnostics(std::string(kTools) + R"(workflow:
  initial: start
  states:
    begin:
      allow: ["x"]
      transitions:
        - {tool: "x", on: ok, to: "ned"}
)");
  EXPECT_THAT(e, HasSubstr("p.yaml:5:1: error: workflow.initial: no state named \"start\""));
  EXPECT_THAT(e, HasSubstr("p.yaml:11:11: error: workflow.states[\"begin\"].transitions[0].to: "
                           "no state named \"ned\""));
  EXPECT_THAT(e, Not(HasSubstr("LOADED")));
}

// Tests that a workflow cannot permit a blocked tool or one the policy does not allow:
// the workflow only orders what tools.allowed already allows.
TEST(WorkflowLoader, BlockedAndUnknownToolsAreErrors) {
  const std::string e = PolicyDiagnostics(std::string(kTools) + R"(workflow:
  initial: s
  always_allowed: ["zz"]
  states:
    s:
      final: true
      allow: ["x", "z", {tool: "w"}]
)");
  EXPECT_THAT(e, HasSubstr("[workflow-tool-blocked]"));
  EXPECT_THAT(e, HasSubstr("p.yaml:11:25: error: workflow.states[\"s\"].allow[2]: tool \"w\" is "
                           "not in tools.allowed"));
  EXPECT_THAT(e, HasSubstr("tool \"zz\" is not in tools.allowed"));
}

// Tests that `require` must name a variable some transition remembers.
TEST(WorkflowLoader, RequireOfAVariableNeverRememberedIsAnError) {
  const std::string e = PolicyDiagnostics(std::string(kTools) + R"(workflow:
  initial: s
  states:
    s:
      final: true
      allow: [{tool: "x", require: {version: tested}}]
)");
  EXPECT_THAT(e, HasSubstr("p.yaml:10:15: error: workflow.states[\"s\"].allow[0].require: variable "
                           "\"tested\" is never remembered by a transition"));
}

// Tests that typos in the new keys are errors, never silently ignored.
TEST(SequenceLoader, TyposAndBadValuesAreErrors) {
  const std::string e = PolicyDiagnostics(R"(agent: {id: "a"}
tools:
  allowed:
    - name: "x"
      labels: ["p", "p"]
      rate_limit: {calls: 0, per_second: 5}
flows:
  - {name: "f", from: [], to: ["q"], action: warn}
quotas: {cost_usd_per_day: -1, calls_per_dya: 3}
workflow:
  initial: s
  states:
    s:
      final: yes
      transitions: [{tool: "x", on: done, to: s}]
)");
  EXPECT_THAT(e, HasSubstr("p.yaml:5:15: error: tools.allowed[\"x\"].labels: label \"p\" is "
                           "listed twice"));
  EXPECT_THAT(e, HasSubstr("unknown key 'per_second' in tools.allowed[\"x\"].rate_limit; did you "
                           "mean per_seconds?"));
  EXPECT_THAT(e, HasSubstr("rate_limit.calls: must be >= 1, got 0"));
  EXPECT_THAT(e, HasSubstr("flows[\"f\"].from: name at least one label"));
  EXPECT_THAT(e, HasSubstr("'warn' is not one of: deny, require_approval"));
  EXPECT_THAT(e, HasSubstr("unknown key 'calls_per_dya' in quotas"));
  EXPECT_THAT(e, HasSubstr("quotas.cost_usd_per_day"));
  EXPECT_THAT(e, HasSubstr("final: expected true or false"));
  EXPECT_THAT(e, HasSubstr("'done' is not one of: allowed, ok, error"));
  EXPECT_THAT(e, Not(HasSubstr("LOADED")));
}

// Tests that the keys load into the model the engine reads.
TEST(SequenceLoader, LoadsTheModel) {
  auto p = MustParsePolicy(R"(agent: {id: "a"}
tools:
  allowed:
    - {name: "x", labels: [private_data], rate_limit: {calls: 3, per_seconds: 60}}
    - "y"
flows:
  - {name: "f", from: [private_data], to: [external_communication], action: require_approval}
quotas: {calls_per_day: 10, tokens_per_day: 20, cost_usd_per_day: 1.5}
workflow:
  initial: s
  always_allowed: ["y"]
  states:
    s:
      allow:
        - {tool: "x", when: {"env": ["a", "b"], "n": {min: 1}, "o.p": true}, require: {v: w}}
      transitions:
        - {tool: "x", on: allowed, to: t, remember: {w: v}}
    t:
      final: true
)");
  ASSERT_NE(p, nullptr);
  const ToolRule& x = p->allowed.at("x");
  EXPECT_EQ(x.labels, std::vector<std::string>{"private_data"});
  ASSERT_TRUE(x.rate_limit.has_value());
  EXPECT_EQ(x.rate_limit->calls, 3u);
  EXPECT_EQ(x.rate_limit->per_seconds, 60);
  ASSERT_EQ(p->flows.size(), 1u);
  EXPECT_EQ(p->flows[0].action, FlowRule::Action::kRequireApproval);
  EXPECT_EQ(p->quotas.cost_micros_per_day, 1'500'000);
  ASSERT_NE(p->workflow, nullptr);
  const WorkflowState* s = p->workflow->Find("s");
  ASSERT_NE(s, nullptr);
  ASSERT_EQ(s->allow.size(), 1u);
  EXPECT_EQ(s->allow[0].when.size(), 3u);
  EXPECT_EQ(s->allow[0].when[2].path, "o.p");
  EXPECT_EQ(s->transitions[0].on, TransitionOn::kAllowed);
  EXPECT_TRUE(p->workflow->Find("t")->final);
}

// Tests that lint points at unreachable states, dead ends and tools no state permits.
TEST(SequenceLint, UnreachableDeadEndAndNeverPermitted) {
  auto p = MustParsePolicy(std::string(kTools) + R"(workflow:
  initial: s
  states:
    s:
      allow: ["x"]
      transitions: [{tool: "x", on: ok, to: t}]
    t:
      allow: ["x"]
    island:
      final: true
)");
  ASSERT_NE(p, nullptr);
  const std::string l = LintText(*p);
  EXPECT_THAT(l, HasSubstr("p.yaml:13:5: warning: workflow state \"island\" cannot be reached"));
  EXPECT_THAT(l, HasSubstr("p.yaml:11:5: warning: workflow state \"t\" has no transition"));
  EXPECT_THAT(l, Not(HasSubstr("workflow state \"island\" has no transition")));
  EXPECT_THAT(l, HasSubstr("tool \"y\" is allowed but no workflow state permits it"));
}

constexpr const char* kTrifecta = R"(agent: {id: "a"}
tools:
  allowed:
    - {name: "read", labels: [untrusted_content]}
    - {name: "db", labels: [private_data]}
    - {name: "mail", labels: [external_communication]}
)";

// Tests that lint warns about the lethal trifecta until a flow rule covers it.
TEST(SequenceLint, LethalTrifectaWithoutAFlowIsAWarning) {
  auto bare = MustParsePolicy(kTrifecta);
  ASSERT_NE(bare, nullptr);
  EXPECT_THAT(LintText(*bare), HasSubstr("p.yaml:6:7: warning: the agent's allowed tools together "
                                         "carry private_data, untrusted_content and "
                                         "external_communication"));
  auto partial = MustParsePolicy(std::string(kTrifecta) + R"(flows:
  - {name: "f", from: [private_data, code_execution], to: [external_communication], action: deny}
)");
  ASSERT_NE(partial, nullptr);
  EXPECT_THAT(LintText(*partial), HasSubstr("[lethal-trifecta]"));
  EXPECT_THAT(LintText(*partial), HasSubstr("label \"code_execution\", which no allowed tool"));
  auto covered = MustParsePolicy(std::string(kTrifecta) + R"(flows:
  - {name: "f", from: [untrusted_content], to: [external_communication], action: require_approval}
)");
  ASSERT_NE(covered, nullptr);
  EXPECT_THAT(LintText(*covered), Not(HasSubstr("[lethal-trifecta]")));
}

// Tests that a flow naming an unused label is reported once even when the label is in both
// `from` and `to`, and that a label MCP annotations can give an unlabelled tool is worded as
// such (the flow can fire through the gateway) rather than as a spelling mistake.
TEST(SequenceLint, UnusedFlowLabelOnceAndAnnotationLabelsNamed) {
  auto p = MustParsePolicy(R"(agent: {id: "a"}
tools:
  allowed:
    - {name: "web"}
    - {name: "db", labels: [private_data]}
flows:
  - {name: "d", from: [destructive], to: [destructive], action: deny}
  - {name: "t", from: [typo_label], to: [typo_label], action: deny}
)");
  ASSERT_NE(p, nullptr);
  const std::string text = LintText(*p);
  const std::string once = "flow \"d\" names label \"destructive\"";
  EXPECT_EQ(text.find(once), text.rfind(once)) << text;
  EXPECT_THAT(text, HasSubstr("can fire it"));
  EXPECT_THAT(text, HasSubstr("label \"typo_label\", which no allowed tool carries in the policy: "
                              "the flow never fires"));
  auto labelled = MustParsePolicy(R"(agent: {id: "a"}
tools:
  allowed:
    - {name: "web", labels: []}
flows:
  - {name: "d", from: [destructive], to: [destructive], action: deny}
)");
  ASSERT_NE(labelled, nullptr);
  EXPECT_THAT(LintText(*labelled), HasSubstr("the flow never fires"));
}

// Tests that the diagram shows states, the start, final states and labelled transitions.
TEST(WorkflowDiagram, MermaidAndDot) {
  auto p = MustParsePolicy(std::string(kTools) + R"(workflow:
  initial: s
  states:
    s:
      allow: ["x"]
      transitions: [{tool: "x", on: ok, when: {env: "staging"}, to: "t \"q\"", remember: {v: a}}]
    "t \"q\"":
      final: true
      allow: ["y"]
)");
  ASSERT_NE(p, nullptr);
  const std::string m = WorkflowDiagram(*p->workflow, DiagramFormat::kMermaid);
  EXPECT_THAT(m, HasSubstr("stateDiagram-v2\n"));
  EXPECT_THAT(m, HasSubstr("  [*] --> s0\n"));
  EXPECT_THAT(m, HasSubstr("  s0 --> s1 : x ok [env=staging] / remember v\n"));
  EXPECT_THAT(m, HasSubstr("  s1 : t #quot;q#quot;: y\n"));
  EXPECT_THAT(m, HasSubstr("  s1 --> [*]\n"));
  const std::string d = WorkflowDiagram(*p->workflow, DiagramFormat::kDot);
  EXPECT_THAT(d, HasSubstr("digraph workflow {"));
  EXPECT_THAT(d, HasSubstr("s1 [label=\"t \\\"q\\\": y\", peripheries=2];"));
  EXPECT_THAT(d, HasSubstr("s0 -> s1 [label=\"x ok [env=staging] / remember v\"];"));
}

// Tests that the shipped sequence examples load with no sequence warning.
TEST(SequenceLint, ShippedExamplesAreClean) {
  for (const char* f : {"release-agent.yaml", "inbox-agent.yaml", "notifier-agent.yaml"}) {
    std::vector<Diagnostic> diags;
    auto set =
        LoadPolicySet({std::string(INTERLOCK_SOURCE_DIR) + "/examples/policies/" + f}, &diags);
    ASSERT_TRUE(set.ok()) << set.error().message;
    for (const auto& [id, agent] : (*set)->agents) {
      for (const Diagnostic& d : LintSequences(*agent)) ADD_FAILURE() << d.ToString();
    }
  }
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::policy
