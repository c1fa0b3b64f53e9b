// Loader and lint rules for tool-name patterns (docs/policy.md, "Tool-name patterns").
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "policy/loader.h"

namespace interlock::policy {
namespace INTERLOCK_TEST_NS {

std::string Policy(const std::string& allowed, const std::string& blocked) {
  return "agent: {id: a, identity: a@x}\ntools:\n  allowed:\n" + allowed + "  blocked:\n" + blocked;
}

std::vector<Diagnostic> LoadErrors(const std::string& text) {
  std::vector<Diagnostic> diags;
  auto r = ParseAgentPolicy(text, "p.yaml", &diags);
  EXPECT_FALSE(r.ok());
  return diags;
}

std::vector<Diagnostic> Overlaps(const std::string& text) {
  auto r = ParseAgentPolicy(text, "p.yaml", nullptr);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  std::vector<Diagnostic> out;
  if (!r.ok()) return out;
  for (Diagnostic& d : Lint(**r)) {
    if (d.id == "overlapping-tools") out.push_back(std::move(d));
  }
  return out;
}

bool HasId(const std::vector<Diagnostic>& diags, const std::string& id) {
  for (const Diagnostic& d : diags) {
    if (d.id == id) return true;
  }
  return false;
}

// Tests that a pattern listed twice is the same error as a name listed twice.
TEST(ToolPatternLoadTest, DuplicatePatternIsAnError) {
  auto diags = LoadErrors(Policy("    - \"mcp__*\"\n    - name: \"mcp__*\"\n", "    - x\n"));
  EXPECT_TRUE(HasId(diags, "duplicate-tool"));
  diags = LoadErrors(Policy("    - y\n", "    - \"*_delete\"\n    - \"*_delete\"\n"));
  EXPECT_TRUE(HasId(diags, "duplicate-tool"));
}

// Tests that the same pattern both allowed and blocked is refused like a name.
TEST(ToolPatternLoadTest, PatternBothAllowedAndBlockedIsAnError) {
  auto diags = LoadErrors(Policy("    - \"mcp__*\"\n", "    - \"mcp__*\"\n"));
  EXPECT_TRUE(HasId(diags, "allowed-and-blocked"));
  diags = LoadErrors(Policy("    - drop\n", "    - drop\n"));
  EXPECT_TRUE(HasId(diags, "allowed-and-blocked"));
}

// Tests that `**` (a second spelling of `*`, which would hide duplicates) is refused
// with its location.
TEST(ToolPatternLoadTest, DoubleStarIsRefused) {
  auto diags = LoadErrors(Policy("    - \"mcp__**\"\n", "    - x\n"));
  ASSERT_TRUE(HasId(diags, "invalid-value"));
  EXPECT_EQ(diags[0].at.line, 4);
}

// Tests that `*` alone loads, and lint warns that it allows every tool.
TEST(ToolPatternLintTest, StarAloneAllowedWarns) {
  auto r = ParseAgentPolicy(Policy("    - \"*\"\n", "    - drop\n"), "p.yaml", nullptr);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(HasId(Lint(**r), "allow-every-tool"));
  auto d = Overlaps(Policy("    - \"*\"\n", "    - drop\n"));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_NE(d[0].message.find("an exact name beats any pattern"), std::string::npos)
      << d[0].message;
}

// Tests that an allowed pattern covering a blocked name is reported, naming both and
// saying the exact entry decides.
TEST(ToolPatternLintTest, PatternOverExactNameNamesBothAndTheWinner) {
  auto d = Overlaps(Policy("    - \"mcp__github__*\"\n", "    - mcp__github__delete_repository\n"));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].severity, Diagnostic::Severity::kWarning);
  EXPECT_NE(d[0].message.find("tools.allowed entry \"mcp__github__*\" (4:7)"), std::string::npos)
      << d[0].message;
  EXPECT_NE(d[0].message.find("tools.blocked entry \"mcp__github__delete_repository\""),
            std::string::npos)
      << d[0].message;
  EXPECT_NE(d[0].message.find("\"mcp__github__delete_repository\" is decided by its own entry"),
            std::string::npos)
      << d[0].message;
}

// Tests the winner named for pattern pairs: specificity, then blocked, then first written.
TEST(ToolPatternLintTest, PatternPairsNameTheWinner) {
  auto d = Overlaps(Policy("    - \"mcp__*\"\n", "    - \"*_delete\"\n"));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_NE(d[0].message.find("more specific pattern"), std::string::npos) << d[0].message;
  EXPECT_NE(d[0].message.find(": \"*_delete\" decides"), std::string::npos) << d[0].message;

  d = Overlaps(Policy("    - \"ab_*\"\n", "    - \"*_cd\"\n"));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_NE(d[0].message.find("blocked beats allowed: \"*_cd\""), std::string::npos)
      << d[0].message;

  d = Overlaps(Policy("    - \"ab_*\"\n    - \"*_cd\"\n", "    - x\n"));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_NE(d[0].message.find("written first wins: \"ab_*\""), std::string::npos) << d[0].message;
}

// Tests that entries that can never match the same tool are not reported.
TEST(ToolPatternLintTest, DisjointPatternsAreNotReported) {
  EXPECT_TRUE(Overlaps(Policy("    - \"mcp__github__*\"\n    - \"mcp__slack__*\"\n",
                              "    - \"mcp__jira__*\"\n    - read_file\n"))
                  .empty());
  EXPECT_TRUE(Overlaps(Policy("    - \"a*b\"\n", "    - \"b*a\"\n")).empty());
}

// Tests that a freeze window naming a tool matched only by an allowed pattern is fine.
TEST(ToolPatternLintTest, FreezeWindowToolMatchedByPatternIsKnown) {
  auto r = ParseAgentPolicy(R"(agent: {id: a}
tools:
  allowed: ["deploy_*"]
freeze:
  - name: release
    start: "2026-12-20T00:00:00Z"
    end: "2027-01-02T00:00:00Z"
    tools: [deploy_prod]
)",
                            "p.yaml", nullptr);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(HasId(Lint(**r), "freeze-unknown-tool"));
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::policy
