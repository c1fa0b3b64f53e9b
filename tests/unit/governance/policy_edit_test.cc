// The minimal policy text edit behind `interlock trust promote`, and the drift writer.
#include <gtest/gtest.h>

#include <string>

#include "governance/trust.h"
#include "policy/loader.h"
#include "policy/writer.h"

namespace interlock::governance {
namespace INTERLOCK_TEST_NS {

constexpr const char* kText = R"(# header comment
agent:
  id: "a"
  identity: "a@x"
tools:
  allowed:
    # first
    - name: "read"      # trailing
      scope: ["id"]
    - scope: ["x"]
      name: late
      autonomy: gate_all   # was gated
    - "bare"   # bare entry
    - plain
  blocked: ["drop"]
)";

struct Case {
  const char* tool;
  const char* stage;
  const char* want_fragment;
};

// Tests that each entry shape gets its autonomy set with every other byte kept.
TEST(PolicyEditTest, SetsAutonomyKeepingLayout) {
  const Case cases[] = {
      {"read", "audit_based",
       "    - name: \"read\"      # trailing\n      autonomy: audit_based\n"},
      {"late", "exception_based", "      autonomy: exception_based   # was gated\n"},
      {"bare", "gate_all", "    - name: \"bare\"   # bare entry\n      autonomy: gate_all\n"},
      {"plain", "gate_all", "    - name: plain\n      autonomy: gate_all\n  blocked"},
  };
  for (const Case& c : cases) {
    Result<std::string> out = SetToolAutonomyText(kText, c.tool, c.stage);
    ASSERT_TRUE(out.ok()) << c.tool << ": " << out.error().message;
    EXPECT_NE(out->find(c.want_fragment), std::string::npos) << c.tool << "\n" << *out;
    EXPECT_NE(out->find("# header comment\n"), std::string::npos);
    std::vector<policy::Diagnostic> d;
    auto p = policy::ParseAgentPolicy(*out, "t.yaml", &d);
    ASSERT_TRUE(p.ok()) << *out;
    EXPECT_STREQ(policy::AutonomyName(*(*p)->allowed.at(c.tool).autonomy), c.stage);
  }
}

// Tests that unknown tools and flow-style lists are refused rather than guessed at.
TEST(PolicyEditTest, RefusesWhatItCannotEditSafely) {
  EXPECT_FALSE(SetToolAutonomyText(kText, "nope", "gate_all").ok());
  EXPECT_FALSE(SetToolAutonomyText("tools:\n  allowed: [a, b]\n", "a", "gate_all").ok());
}

// Tests that the drift writer keeps quoted numbers as strings and removes by position.
TEST(PolicyEditTest, WriterKeepsScalarTypes) {
  const std::string text =
      "agent:\n  id: a\n  identity: a@x\ntools:\n  allowed:\n    - name: t\n"
      "      constraints:\n        allowed_codes: [\"10\", \"20\", 30]\n    - name: u\n"
      "execution:\n  max_steps: 25\n  max_cost_usd: 2.00\n";
  policy::PolicyEdits e;
  e.remove_tools = {"u"};
  e.remove_values.push_back({"t", "tools.allowed[\"t\"].constraints.allowed_codes", "code", {1}});
  e.max_steps = 10;
  e.max_cost_micros = 250000;
  Result<std::string> out = policy::ApplyPolicyEdits(text, e);
  ASSERT_TRUE(out.ok()) << out.error().message;
  std::vector<policy::Diagnostic> d;
  auto p = policy::ParseAgentPolicy(*out, "t.yaml", &d);
  ASSERT_TRUE(p.ok()) << *out;
  const auto& c = (*p)->allowed.at("t").constraints.at(0);
  ASSERT_EQ(c.one_of.size(), 2u);
  EXPECT_TRUE(c.one_of[0].is_string());
  EXPECT_TRUE(c.one_of[1].is_number());
  EXPECT_EQ((*p)->allowed.count("u"), 0u);
  EXPECT_EQ(*(*p)->execution.max_steps, 10u);
  EXPECT_EQ(*(*p)->execution.max_cost_micros, 250000);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::governance
