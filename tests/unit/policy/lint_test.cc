#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "policy/loader.h"

namespace interlock::policy {
namespace INTERLOCK_TEST_NS {

using ::testing::HasSubstr;

const std::string kExamples = std::string(INTERLOCK_SOURCE_DIR) + "/examples/policies";

// A policy that passes every lint check; cases add one flaw each.
constexpr const char* kClean = R"(agent:
  id: clean
  identity: clean@myco.iam
tools:
  allowed:
    - name: read
  blocked: [drop]
execution:
  max_steps: 10
  max_wall_clock_seconds: 60
  max_cost_usd: 1
escalation:
  contacts: [alice@myco.com]
)";

std::vector<Diagnostic> LintText(const std::string& text) {
  auto r = ParseAgentPolicy(text, "p.yaml", nullptr);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  if (!r.ok()) return {};
  return Lint(*r.value());
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  const size_t pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos) s.replace(pos, from.size(), to);
  return s;
}

std::set<std::string> Ids(const std::vector<Diagnostic>& diags,
                          Diagnostic::Severity severity = Diagnostic::Severity::kWarning) {
  std::set<std::string> ids;
  for (const Diagnostic& d : diags) {
    if (d.severity == severity) ids.insert(d.id);
  }
  return ids;
}

// Tests that the clean baseline has no warnings at all.
TEST(PolicyLintTest, CleanPolicyHasNoWarnings) { EXPECT_TRUE(Ids(LintText(kClean)).empty()); }

struct LintCase {
  const char* id;
  const char* from;
  const char* to;
  const char* where;
  const char* phrase;
};

const LintCase kLintCases[] = {
    {"no-identity", "  identity: clean@myco.iam\n", "", "p.yaml:1:1", "agent.identity"},
    {"no-execution-bounds", "  max_cost_usd: 1\n", "", "p.yaml:8:1", "max_cost_usd"},
    {"irreversible-without-approval", "    - name: read\n",
     "    - name: read\n      reversible: false\n      requires_approval: false\n", "p.yaml:6:7",
     "irreversible"},
    {"no-blocked-list", "  blocked: [drop]\n", "", "p.yaml:4:1", "tools.blocked"},
    {"no-escalation-contacts", "escalation:\n  contacts: [alice@myco.com]\n", "", "p.yaml:1:1",
     "escalation.contacts"},
    {"approval-without-timeout", "    - name: read\n",
     "    - name: read\n      requires_approval: true\n", "p.yaml:6:7", "approval_timeout_seconds"},
    // A two-person rule on a tool that never asks: found writing the hook's tests.
    {"approvers-without-approval", "    - name: read\n",
     "    - name: read\n      approvals_required: 2\n", "p.yaml:6:7", "no approval at all"},
    {"shadow-mode", "  id: clean\n", "  id: clean\n  mode: shadow\n", "p.yaml:1:1", "shadow"},
    {"escalation-without-target", "escalation:\n  contacts: [alice@myco.com]\n",
     "  on_budget_exceeded: {action: halt_and_escalate}\n", "p.yaml:8:1", "nobody"},
    {"freeze-unknown-tool", "escalation:",
     "freeze:\n  - {name: f, start: 2026-01-01T00:00:00Z, end: 2026-01-02T00:00:00Z, "
     "tools: [raed]}\nescalation:",
     "p.yaml:13:5", "raed"},
};

void PrintTo(const LintCase& c, std::ostream* os) { *os << c.id; }

class LintCaseTest : public ::testing::TestWithParam<LintCase> {};

// Tests that each lint warning is triggered by a minimal flaw, alone and located.
TEST_P(LintCaseTest, TriggersExactlyThisWarning) {
  const LintCase& c = GetParam();
  auto diags = LintText(Replace(kClean, c.from, c.to));
  std::set<std::string> expected = {c.id};
  if (std::string(c.id) == "escalation-without-target") expected.insert("no-escalation-contacts");
  EXPECT_EQ(Ids(diags), expected);
  for (const Diagnostic& d : diags) {
    if (d.id != c.id) continue;
    EXPECT_EQ(d.at.ToString(), c.where) << d.ToString();
    EXPECT_THAT(d.message, HasSubstr(c.phrase));
    EXPECT_THAT(d.ToString(), HasSubstr(std::string("warning: ")));
    EXPECT_THAT(d.ToString(), HasSubstr(std::string("[") + c.id + "]"));
  }
}

INSTANTIATE_TEST_SUITE_P(Table, LintCaseTest, ::testing::ValuesIn(kLintCases),
                         [](const ::testing::TestParamInfo<LintCase>& info) {
                           std::string n;
                           for (const char* p = info.param.id; *p; ++p) n += *p == '-' ? '_' : *p;
                           return n;
                         });

// Tests that gate_all autonomy or an irreversible tool implies approval, so a missing
// timeout is flagged, while an explicit requires_approval: false is not.
TEST(PolicyLintTest, ImpliedApprovalNeedsTimeout) {
  auto gate_all = LintText(Replace(kClean, "  id: clean\n", "  id: clean\n  autonomy: gate_all\n"));
  EXPECT_EQ(Ids(gate_all), std::set<std::string>{"approval-without-timeout"});
  auto irreversible = LintText(
      Replace(kClean, "    - name: read\n", "    - name: read\n      reversible: false\n"));
  EXPECT_EQ(Ids(irreversible), std::set<std::string>{"approval-without-timeout"});
  auto explicit_no = LintText(Replace(kClean, "    - name: read\n",
                                      "    - name: read\n      autonomy: gate_all\n"
                                      "      requires_approval: false\n"));
  EXPECT_TRUE(Ids(explicit_no).empty());
}

// Tests that the seed policy shows exactly the expected warnings and the sugar info.
TEST(PolicyLintTest, SeedWarnings) {
  std::vector<Diagnostic> load_diags;
  const std::string file = kExamples + "/support-agent-v2.yaml";
  auto r = LoadPolicySet({file}, &load_diags);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(load_diags.empty());  // the loader reports errors only; Lint() is separate
  const std::vector<Diagnostic> diags = Lint(*r.value()->Find("support-agent-v2"));
  EXPECT_EQ(Ids(diags), std::set<std::string>{"no-escalation-contacts"});
  EXPECT_EQ(Ids(diags, Diagnostic::Severity::kInfo), std::set<std::string>{"sugar-argument"});
  for (const Diagnostic& d : diags) {
    if (d.id != "sugar-argument") continue;
    EXPECT_EQ(d.at.ToString(), file + ":12:9");
    EXPECT_THAT(d.message, HasSubstr("allowed_statuses constrains the argument 'status'"));
  }
}

// Tests that the deploy and coding examples are lint-clean apart from intended shadow mode.
TEST(PolicyLintTest, ExamplesAreNearlyClean) {
  auto r =
      LoadPolicySet({kExamples + "/deploy-agent.yaml", kExamples + "/coding-agent.yaml"}, nullptr);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(Ids(Lint(*r.value()->Find("deploy-agent"))).empty());
  EXPECT_EQ(Ids(Lint(*r.value()->Find("coding-agent"))), std::set<std::string>{"shadow-mode"});
}

// Tests that Diagnostic::ToString has the documented shape.
TEST(PolicyLintTest, DiagnosticFormat) {
  Diagnostic d{Diagnostic::Severity::kWarning, {"f.yaml", 3, 5}, "shadow-mode", "msg"};
  EXPECT_EQ(d.ToString(), "f.yaml:3:5: warning: msg [shadow-mode]");
  d.at = {};
  d.severity = Diagnostic::Severity::kError;
  EXPECT_EQ(d.ToString(), "error: msg [shadow-mode]");
  d.at = {"f.yaml", 0, 0};
  d.severity = Diagnostic::Severity::kInfo;
  EXPECT_EQ(d.ToString(), "f.yaml: info: msg [shadow-mode]");
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::policy
