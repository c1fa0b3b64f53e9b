// The policy test runner: cases decided through core::OfflineRun, failures printed with the
// policy line that decided them, sequences (results, usage, time), JUnit XML, exit codes and
// `interlock check`'s diagnostics.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "policytest/runner.h"
#include "policytest_fixture.h"

namespace interlock::policytest {
namespace INTERLOCK_TEST_NS {

using testing::PolicyFolder;
using testing::PolicyWith;

constexpr const char* kTools =
    "    - name: read_file\n"
    "      constraints:\n"
    "        arguments:\n"
    "          path: {path_prefix: /srv/data}\n"
    "    - run_tests\n"
    "    - name: deploy\n"
    "      requires_approval: true\n";

std::string Policy() { return PolicyWith(kTools, "  blocked:\n    - delete_file\n"); }

// Tests that passing cases give exit 0 and an ok summary.
TEST(PolicyTestRunner, PassingCasesExitZero) {
  PolicyFolder d(Policy(), R"(cases:
  - {name: reads, call: {tool: read_file, args: {path: /srv/data/a}}, expect: allow}
  - name: outside
    call: {tool: read_file, args: {path: /etc/passwd}}
    expect: {decision: deny, code: CONSTRAINT_VIOLATED, at: p.yaml:10}
  - {name: blocked, call: {tool: delete_file}, expect: {decision: deny, code: TOOL_BLOCKED, rule: 'tools.blocked["delete_file"]'}}
  - {name: approval, call: {tool: deploy}, expect: approval_required}
)");
  const FileReport r = d.Run();
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.cases.size(), 4u);
  for (const CaseReport& c : r.cases)
    EXPECT_TRUE(c.ok()) << c.name << ": " << (c.failures.empty() ? "" : c.failures[0].what);
  EXPECT_EQ(ExitCode({r}), kTestsPassed);
  EXPECT_NE(FormatReports({r}, false).find("ok: 4 case(s), 0 failed"), std::string::npos);
}

// Tests that a failing case exits 1 and is printed with its test line and the policy line
// (location and text) that decided it.
TEST(PolicyTestRunner, FailurePrintsTheDecidingPolicyLine) {
  PolicyFolder d(Policy(), R"(cases:
  - name: wrongly expected
    call: {tool: delete_file}
    expect: allow
)");
  const FileReport r = d.Run();
  ASSERT_EQ(r.cases.size(), 1u);
  ASSERT_EQ(r.cases[0].failures.size(), 1u);
  EXPECT_EQ(ExitCode({r}), kTestsFailed);
  const std::string text = FormatReports({r}, false);
  EXPECT_NE(text.find("p.test.yaml:2: case \"wrongly expected\": expected allow, got deny "
                      "TOOL_BLOCKED by rule tools.blocked[\"delete_file\"] at "),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("p.yaml:15:7: - delete_file\n"), std::string::npos) << text;
  EXPECT_NE(text.find("failed: 1 case(s), 1 failed"), std::string::npos) << text;
}

struct SequenceCase {
  const char* name;
  std::string policy;
  const char* tests;
};

// Tests that sequences see earlier steps: results move a workflow, reported usage spends a
// budget, elapsed time opens a rate limit window; each table row passes only if the runner
// carries the run's state from step to step.
TEST(PolicyTestRunner, SequencesCarryResultsUsageAndTime) {
  const std::string workflow = PolicyWith(
      "    - run_tests\n    - deploy\n",
      "workflow:\n  initial: untested\n  states:\n    untested:\n      allow: [run_tests]\n"
      "      transitions:\n        - {tool: run_tests, on: ok, to: tested}\n"
      "    tested:\n      allow: [run_tests, deploy]\n");
  const std::string budget =
      "agent:\n  id: a\n  identity: a@example.iam\n  mode: enforce\ntools:\n  allowed:\n"
      "    - work\nexecution:\n  max_steps: 100\n  max_cost_usd: 1.00\n"
      "  on_budget_exceeded: {action: deny}\n";
  const std::string rate =
      PolicyWith("    - {name: ping, rate_limit: {calls: 1, per_seconds: 60}}\n");
  const SequenceCase cases[] = {
      {"workflow", workflow, R"(cases:
  - name: deploy only after a passing test run
    steps:
      - {call: {tool: deploy}, expect: deny}
      - {call: {tool: run_tests}, result: {ok: false}, expect: allow}
      - {call: {tool: deploy}, expect: deny}
      - {call: {tool: run_tests}, result: {ok: true}, expect: allow}
      - {call: {tool: deploy}, expect: allow}
)"},
      {"usage", budget, R"(cases:
  - name: the budget is spent by reported usage
    steps:
      - {call: {tool: work, usage: {cost_usd: 0.6}}, expect: allow}
      - {call: {tool: work}, result: {ok: true, usage: {cost_usd: 0.6}}, expect: allow}
      - {call: {tool: work}, expect: {decision: deny, code: BUDGET_EXCEEDED}}
)"},
      {"time", rate, R"(cases:
  - name: the window opens after a minute
    steps:
      - {call: {tool: ping}, expect: allow}
      - {call: {tool: ping}, elapsed_s: 30, expect: {decision: deny, code: RATE_LIMITED}}
      - {call: {tool: ping}, elapsed_s: 61, expect: allow}
)"},
  };
  for (const SequenceCase& c : cases) {
    PolicyFolder d(c.policy, c.tests);
    const FileReport r = d.Run();
    ASSERT_EQ(r.error, "") << c.name;
    ASSERT_EQ(r.cases.size(), 1u);
    EXPECT_TRUE(r.cases[0].ok()) << c.name << ":\n" << FormatReports({r}, false);
  }
}

// Tests that exit codes tell a failure (1) from a file or policy that does not read (2).
TEST(PolicyTestRunner, ExitCodes) {
  PolicyFolder ok(Policy(), "cases:\n  - {name: a, call: {tool: run_tests}, expect: allow}\n");
  PolicyFolder failing(Policy(), "cases:\n  - {name: a, call: {tool: run_tests}, expect: deny}\n");
  PolicyFolder bad_spec(Policy(), "cases:\n  - {name: a, call: {tool: run_tests}}\n");
  PolicyFolder bad_policy("agent: [\n", "cases:\n  - {name: a, call: {tool: x}, expect: deny}\n");
  PolicyFolder no_agent(Policy(),
                        "agent: b\ncases:\n  - {name: a, call: {tool: x}, expect: deny}\n");
  EXPECT_EQ(ExitCode({ok.Run()}), kTestsPassed);
  EXPECT_EQ(ExitCode({failing.Run()}), kTestsFailed);
  EXPECT_EQ(ExitCode({bad_spec.Run()}), kTestsUnreadable);
  EXPECT_EQ(ExitCode({bad_policy.Run()}), kTestsUnreadable);
  EXPECT_EQ(ExitCode({no_agent.Run()}), kTestsUnreadable);
  EXPECT_EQ(ExitCode({ok.Run(), failing.Run(), bad_spec.Run()}), kTestsUnreadable);
  EXPECT_EQ(ExitCode({ok.Run(), failing.Run()}), kTestsFailed);
  EXPECT_NE(FormatReports({bad_spec.Run()}, false).find("p.test.yaml:2:5: "), std::string::npos);
}

// A small XML well-formedness check: elements nest and close, attribute values are quoted,
// text and attributes hold no raw '<' and every '&' starts a known entity.
bool WellFormedXml(const std::string& x, std::string* why) {
  size_t i = 0;
  if (x.rfind("<?xml ", 0) == 0) i = x.find("?>") + 2;
  std::vector<std::string> open;
  auto entity_ok = [&](size_t at) {
    for (const char* e : {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#10;", "&#9;", "&#13;"})
      if (x.compare(at, std::string(e).size(), e) == 0) return true;
    return false;
  };
  while (i < x.size()) {
    if (x[i] == '&' && !entity_ok(i)) return *why = "bad entity at " + std::to_string(i), false;
    if (x[i] != '<') {
      ++i;
      continue;
    }
    const size_t end = x.find('>', i);
    if (end == std::string::npos) return *why = "unclosed tag", false;
    std::string tag = x.substr(i + 1, end - i - 1);
    bool quoted = false;
    for (size_t k = 0; k < tag.size(); ++k) {
      if (tag[k] == '"') quoted = !quoted;
      if (quoted && tag[k] == '<') return *why = "raw < in an attribute", false;
      if (quoted && tag[k] == '&' && !entity_ok(i + 1 + k)) return *why = "bad entity", false;
    }
    if (quoted) return *why = "unbalanced quotes in <" + tag + ">", false;
    if (tag[0] == '/') {
      if (open.empty() || open.back() != tag.substr(1))
        return *why = "mismatched </" + tag + ">", false;
      open.pop_back();
    } else if (tag.back() != '/') {
      open.push_back(tag.substr(0, tag.find(' ')));
    }
    i = end + 1;
  }
  if (!open.empty()) return *why = "unclosed <" + open.back() + ">", false;
  return true;
}

// Tests that the JUnit XML is well-formed and counts tests, failures and errors, with text
// that needs escaping (quotes, <, &, newlines) in names and messages.
TEST(PolicyTestRunner, JUnitXmlIsWellFormed) {
  PolicyFolder d(Policy(), R"(cases:
  - {name: "passes <&>", call: {tool: run_tests}, expect: allow}
  - {name: "fails \"quoted\" & <b>", call: {tool: delete_file}, expect: allow}
)");
  PolicyFolder bad(Policy(), "cases:\n  - {name: a, call: {tool: run_tests}}\n");
  const std::string xml = JUnitXml({d.Run(), bad.Run()});
  std::string why;
  EXPECT_TRUE(WellFormedXml(xml, &why)) << why << "\n" << xml;
  EXPECT_NE(xml.find("<testsuites name=\"interlock test\" tests=\"3\" failures=\"1\" errors=\"1\""),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("name=\"fails &quot;quoted&quot; &amp; &lt;b&gt;\""), std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<failure message="), std::string::npos);
  EXPECT_NE(xml.find("<error message="), std::string::npos);
  EXPECT_TRUE(WellFormedXml(JUnitXml({}), &why)) << why;
}

// Tests that `interlock check`'s part reports each failing step at its test file line, and
// nothing for passing tests.
TEST(PolicyTestRunner, CheckReportsFailuresAsDiagnostics) {
  PolicyFolder d(Policy(), R"(cases:
  - {name: good, call: {tool: run_tests}, expect: allow}
  - {name: bad, call: {tool: delete_file}, expect: allow}
)");
  for (const std::string& path : {d.dir(), d.Path("p.yaml")}) {
    const std::vector<policy::Diagnostic> diags = CheckTestsBeside({path});
    ASSERT_EQ(diags.size(), 1u) << path;
    EXPECT_EQ(diags[0].id, "policy-test-failed");
    EXPECT_EQ(diags[0].at.line, 3);
    EXPECT_NE(diags[0].message.find("case \"bad\": expected allow"), std::string::npos);
  }
  PolicyFolder good(Policy(), "cases:\n  - {name: a, call: {tool: run_tests}, expect: allow}\n");
  EXPECT_TRUE(CheckTestsBeside({good.dir()}).empty());
}

// Tests that the shipped example policies pass their tests, and with --adversarial no
// variant of a refused call is allowed.
TEST(PolicyTestRunner, ShippedExamplesPassAdversarially) {
  auto files = FindTestFiles({std::string(INTERLOCK_SOURCE_DIR) + "/examples/policies"});
  ASSERT_TRUE(files.ok());
  std::vector<FileReport> reports;
  for (const std::string& f : *files) reports.push_back(RunTestFile(f, {.adversarial = true}));
  EXPECT_EQ(ExitCode(reports), kTestsPassed) << FormatReports(reports, true);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::policytest
