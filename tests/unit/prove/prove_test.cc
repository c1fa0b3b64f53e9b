// interlock prove: each property kind holds, is violated with the expected shortest
// counterexample (which the real decision path must reproduce), or is undecided.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "policy/loader.h"
#include "prove/prove.h"

namespace interlock {
namespace INTERLOCK_TEST_NS {

using prove::PropertyReport;
using V = PropertyReport::Verdict;

constexpr const char* kHead = R"(agent:
  id: "a"
  identity: "a@x.iam"
)";

// A workflow: deploy only after run_tests reported ok; wipe blocked; send_email labelled
// external, read_secret labelled secret; a flow denies secret -> external.
constexpr const char* kWorkflow = R"(tools:
  allowed:
    - name: "run_tests"
    - name: "deploy"
      requires_approval: true
      approvals_required: 2
    - name: "status"
  blocked: ["wipe"]
workflow:
  initial: untested
  always_allowed: ["status"]
  states:
    untested:
      allow: ["run_tests"]
      transitions:
        - {tool: "run_tests", on: ok, to: tested}
    tested:
      allow: ["run_tests", "deploy"]
execution:
  max_steps: 10
)";

constexpr const char* kLabels = R"(tools:
  allowed:
    - name: "read_secret"
      labels: ["secret"]
    - name: "read_public"
    - name: "send_email"
      labels: ["external"]
    - name: "post_*"
      labels: ["external"]
flows:
  - name: "no-leak"
    from: ["secret"]
    to: ["external"]
    action: deny
execution:
  max_steps: 10
)";

constexpr const char* kLeaky = R"(tools:
  allowed:
    - name: "read_secret"
      labels: ["secret"]
    - name: "send_email"
      labels: ["external"]
    - name: "mcp__*"
execution:
  max_steps: 10
)";

constexpr const char* kArgs = R"(tools:
  allowed:
    - name: "transfer"
      constraints:
        arguments:
          amount: {min: 1, max: 100}
          currency: {one_of: ["EUR", "USD"]}
    - name: "fetch"
      constraints:
        arguments:
          url: {pattern: "https://docs\\.example\\.com/.*"}
    - name: "write"
      constraints:
        arguments:
          path: {path_prefix: "/srv/out"}
    - name: "ping"
      rate_limit: {calls: 2, per_seconds: 60}
execution:
  max_steps: 4
)";

constexpr const char* kApprovalChain = R"(tools:
  allowed:
    - name: "unlock"
      requires_approval: true
    - name: "open"
workflow:
  initial: locked
  states:
    locked:
      allow: ["unlock"]
      transitions:
        - {tool: "unlock", on: allowed, to: unlocked}
    unlocked:
      allow: ["open"]
)";

constexpr const char* kRehearse = R"(tools:
  allowed:
    - name: "purge"
      rehearse: {args: {dry_run: true}}
    - name: "restart"
      on_behalf_of: {in: ["alice@x.com"]}
)";

constexpr const char* kRegexWhen = R"(tools:
  allowed:
    - name: "run"
  blocked: ["wipe"]
workflow:
  initial: s
  states:
    s:
      allow:
        - tool: "run"
          when: {command: {pattern: "ls.*"}}
)";

struct Case {
  const char* name;
  const char* policy;
  const char* property;  // one property, YAML under `properties:`
  V verdict;
  // The counterexample as tool names, a result written "tool:ok" / "tool:error".
  std::vector<std::string> path;
  const char* examples = "";
};

std::shared_ptr<const policy::PolicySet> Load(const std::string& body) {
  std::vector<policy::Diagnostic> diags;
  auto p = policy::ParseAgentPolicy(std::string(kHead) + body, "p.yaml", &diags);
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
  auto set = std::make_shared<policy::PolicySet>();
  if (p.ok()) set->agents[(*p)->id] = *p;
  return set;
}

PropertyReport Check(const Case& c) {
  auto set = Load(c.policy);
  const std::string text =
      std::string("properties:\n  - name: p\n    ") + c.property + "\n" + c.examples;
  auto file = prove::ParseProperties(text, "p.props.yaml");
  EXPECT_TRUE(file.ok()) << (file.ok() ? "" : file.error().message);
  auto report = prove::Prove(set, {*file});
  EXPECT_TRUE(report.ok());
  return report->properties.at(0);
}

std::vector<std::string> Path(const PropertyReport& r) {
  std::vector<std::string> out;
  for (const prove::Step& s : r.counterexample) {
    out.push_back(s.tool + (s.result == prove::Step::Report::kOk      ? ":ok"
                            : s.result == prove::Step::Report::kError ? ":error"
                                                                      : ""));
  }
  return out;
}

const Case kCases[] = {
    // never_allowed
    {"BlockedToolNeverAllowedHolds", kWorkflow, "never_allowed: wipe", V::kHolds, {}},
    {"UnlistedToolNeverAllowedHolds", kWorkflow, "never_allowed: rm_rf", V::kHolds, {}},
    {"ReachableToolIsViolatedAfterTheShortestPath",
     kWorkflow,
     "never_allowed: deploy",
     V::kViolated,
     {"run_tests:ok", "deploy"}},
    {"PatternToolNeverAllowedViolatedByAWitnessName",
     kLeaky,
     "never_allowed: \"mcp__*\"",
     V::kViolated,
     {"mcp__"}},
    // needs_approvals
    {"TwoApproversHolds", kWorkflow, "needs_approvals: {tool: deploy, count: 2}", V::kHolds, {}},
    {"ThreeApproversViolated",
     kWorkflow,
     "needs_approvals: {tool: deploy, count: 3}",
     V::kViolated,
     {"run_tests:ok", "deploy"}},
    {"NoApprovalAtAllViolated",
     kWorkflow,
     "needs_approvals: {tool: run_tests}",
     V::kViolated,
     {"run_tests"}},
    // before
    {"DeployOnlyAfterTestsSucceededHolds",
     kWorkflow,
     "before: {tool: deploy, requires: run_tests, result: ok}",
     V::kHolds,
     {}},
    {"StatusBeforeTestsViolated",
     kWorkflow,
     "before: {tool: status, requires: run_tests}",
     V::kViolated,
     {"status"}},
    // never_flows
    {"FlowRuleStopsTheLeakHolds",
     kLabels,
     "never_flows: {label: secret, to: send_email}",
     V::kHolds,
     {}},
    {"FlowRuleCoversPatternToolsHolds",
     kLabels,
     "never_flows: {label: secret, to: \"post_*\"}",
     V::kHolds,
     {}},
    {"NoFlowRuleLeaks",
     kLeaky,
     "never_flows: {label: secret, to: send_email}",
     V::kViolated,
     {"read_secret", "send_email"}},
    // at_most
    {"StepBudgetBoundsCallsPerRunHolds",
     kArgs,
     "at_most: {tool: transfer, calls: 4, per: run}",
     V::kHolds,
     {}},
    {"FifthCallViolatesAtMostThree",
     kArgs,
     "at_most: {tool: transfer, calls: 3, per: run}",
     V::kViolated,
     {"transfer", "transfer", "transfer", "transfer"}},
    {"RateLimitAloneIsUndecidedPerRun",
     kArgs,
     "at_most: {tool: ping, calls: 2, per: run}",
     V::kUndecided,
     {}},
    {"NothingBoundsADayAcrossRunsViolated",
     kArgs,
     "at_most: {tool: transfer, calls: 100, per: day}",
     V::kViolated,
     {"transfer"}},
    {"RateLimitBoundsADay", kArgs, "at_most: {tool: ping, calls: 2880, per: day}", V::kHolds, {}},
    // only_tools
    {"OnlyListedToolsHolds", kWorkflow, "only_tools: [run_tests, deploy, status]", V::kHolds, {}},
    {"UnlistedReachableToolViolated",
     kWorkflow,
     "only_tools: [run_tests, deploy]",
     V::kViolated,
     {"status"}},
    {"UnlistedPatternToolViolated",
     kLeaky,
     "only_tools: [read_secret, send_email]",
     V::kViolated,
     {"mcp__"}},
    // argument constraints: decidable (enumerations, bounds, prefixes) and not (regex)
    {"BoundsAndEnumerationsAreEnumerated",
     kArgs,
     "never_allowed: transfer",
     V::kViolated,
     {"transfer"}},
    {"PathPrefixIsEnumerated", kArgs, "never_allowed: write", V::kViolated, {"write"}},
    {"RegexWithoutExamplesIsUndecided", kArgs, "never_allowed: fetch", V::kUndecided, {}},
    {"RegexWithAnExampleIsViolated",
     kArgs,
     "never_allowed: fetch",
     V::kViolated,
     {"fetch"},
     "examples:\n  url: [\"https://docs.example.com/a\"]\n"},
    // rehearsals (asked, then reported ok) and humans the agent acts for
    {"RehearsedCallIsReplayedThroughItsRehearsal",
     kRehearse,
     "never_allowed: purge",
     V::kViolated,
     {"purge"}},
    {"OnBehalfOfToolIsReachableWithItsHuman",
     kRehearse,
     "never_allowed: restart",
     V::kViolated,
     {"restart"}},
    // a regex in a workflow condition: undecided, unless the tool is refused by its name
    {"RegexConditionIsUndecided", kRegexWhen, "never_allowed: run", V::kUndecided, {}},
    {"BlockedToolHoldsDespiteARegexCondition", kRegexWhen, "never_allowed: wipe", V::kHolds, {}},
    {"RegexConditionWithAnExampleIsViolated",
     kRegexWhen,
     "never_allowed: run",
     V::kViolated,
     {"run"},
     "examples:\n  command: [\"ls -l\"]\n"},
    // approvals in the middle of a path
    {"PathThroughAnApprovalIsFound",
     kApprovalChain,
     "never_allowed: open",
     V::kViolated,
     {"unlock", "open"}},
};

class ProveCase : public ::testing::TestWithParam<Case> {};

TEST_P(ProveCase, VerdictAndShortestCounterexample) {
  const Case& c = GetParam();
  const PropertyReport r = Check(c);
  EXPECT_EQ(static_cast<int>(r.verdict), static_cast<int>(c.verdict)) << r.summary;
  if (c.verdict == V::kViolated) {
    EXPECT_EQ(Path(r), c.path) << r.summary;
    // Replayed through the real decision path: the engine reproduces it.
    EXPECT_TRUE(r.replay.reproduced) << r.replay.mismatch;
    if (!r.replay.stopped_at_human) {
      EXPECT_EQ(r.replay.replayed, r.counterexample.size());
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Kinds, ProveCase, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

// Every counterexample of the table, replayed again on its own: the engine decides each
// step as the search said (a counterexample it does not reproduce is a checker bug).
TEST(ProveReplay, EveryCounterexampleIsReproducedStepByStep) {
  for (const Case& c : kCases) {
    if (c.verdict != V::kViolated) continue;
    const PropertyReport r = Check(c);
    auto set = Load(c.policy);
    const prove::Replay replay = prove::ReplayCounterexample(set, "a", r.start, r.counterexample);
    EXPECT_TRUE(replay.reproduced) << c.name << ": " << replay.mismatch;
    const size_t expected = replay.stopped_at_human ? replay.replayed : r.counterexample.size();
    EXPECT_EQ(replay.replayed, expected) << c.name;
  }
}

// A counterexample whose last step the engine decides otherwise is caught by the replay.
TEST(ProveReplay, AWrongCounterexampleIsNotReproduced) {
  auto set = Load(kWorkflow);
  prove::Step s;
  s.tool = "deploy";  // denied in the initial state: WORKFLOW_VIOLATION
  s.verdict = Verdict::kApprovalRequired;
  s.code = "APPROVAL_REQUIRED";
  const prove::Replay replay =
      prove::ReplayCounterexample(set, "a", prove::SearchStart(*set->Find("a")), {s});
  EXPECT_FALSE(replay.reproduced);
  EXPECT_NE(replay.mismatch.find("WORKFLOW_VIOLATION"), std::string::npos) << replay.mismatch;
}

TEST(ProveReport, ExitCodesAndText) {
  auto set = Load(kWorkflow);
  auto file = prove::ParseProperties(
      "properties:\n  - {name: ok, never_allowed: wipe}\n  - {name: bad, never_allowed: deploy}\n",
      "f.props.yaml");
  ASSERT_TRUE(file.ok()) << file.error().message;
  auto report = prove::Prove(set, {*file});
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->ExitCode(), 1);
  const std::string text = prove::FormatText(*report);
  EXPECT_NE(text.find("f.props.yaml:2:5: holds: ok"), std::string::npos) << text;
  EXPECT_NE(text.find("VIOLATED: bad"), std::string::npos) << text;
  EXPECT_NE(text.find("{\"result\":{\"ok\":true}}"), std::string::npos) << text;
  EXPECT_NE(text.find("2 properties: 1 hold, 1 violated, 0 undecided"), std::string::npos);
  report->properties.pop_back();
  EXPECT_EQ(report->ExitCode(), 0);
}

TEST(ProveReport, UnknownAgentIsBadInputWithLocation) {
  auto set = Load(kWorkflow);
  auto file = prove::ParseProperties(
      "properties:\n  - {name: x, agent: nobody, never_allowed: wipe}\n", "f.props.yaml");
  ASSERT_TRUE(file.ok());
  auto report = prove::Prove(set, {*file});
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().message.rfind("f.props.yaml:2:5: ", 0), 0u) << report.error().message;
}

// The shipped example policies hold every property stated beside them.
TEST(ProveExamples, ShippedPropertiesHold) {
  const std::string dir = std::string(INTERLOCK_SOURCE_DIR) + "/examples/policies";
  std::vector<policy::Diagnostic> diags;
  auto set = policy::LoadPolicySet({dir}, &diags);
  ASSERT_TRUE(set.ok()) << set.error().message;
  std::vector<prove::PropertiesFile> files;
  for (const std::string& f : prove::FindPropertiesFiles(dir)) {
    auto parsed = prove::ReadProperties(f);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    files.push_back(*parsed);
  }
  ASSERT_GE(files.size(), 5u);
  auto report = prove::Prove(*set, files);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->ExitCode(), 0) << prove::FormatText(*report);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock
