// Tool-name patterns in tools.allowed and tools.blocked (docs/policy.md, "Tool-name
// patterns"): table-driven decisions and bounded, fixed-seed properties of the resolution
// order (exact beats pattern, more specific beats less, blocked beats allowed at a tie).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "policy/loader.h"
#include "policy/policy.h"
#include "seed_policy.h"

namespace interlock::engine {
namespace INTERLOCK_TEST_NS {

using ::interlock::testing::TestNow;
using policy::AgentPolicy;
using policy::ToolResolution;

constexpr char kGithub[] = R"(agent:
  id: gh
  identity: gh@myco.iam
tools:
  allowed:
    - name: "mcp__github__*"
    - name: "mcp__github__get_*"
      requires_approval: false
    - name: mcp__github__merge_pull_request
      requires_approval: true
    - name: "*_delete_branch"
    - name: "cache_de*"
  blocked:
    - mcp__github__delete_repository
    - "mcp__github__*_repository"
    - "*_delete_*"
    - "mcp__*"
)";

std::shared_ptr<const AgentPolicy> Load(const std::string& text) {
  auto r = policy::ParseAgentPolicy(text, "p.yaml", nullptr);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : nullptr;
}

Decision Decide(const AgentPolicy& p, const std::string& tool) {
  ToolCall call;
  call.tool = tool;
  return Evaluate(&p, RunState{}, call, EvalContext{TestNow(), {}}).decision;
}

struct PatternCase {
  const char* name;
  const char* tool;
  Verdict verdict;
  Code code;
  const char* rule;
};

const PatternCase kCases[] = {
    {"PatternAllowsAToolItMatches", "mcp__github__list_issues", Verdict::kAllow, Code::kAllowed,
     R"(tools.allowed["mcp__github__*"])"},
    {"MoreSpecificAllowedPatternDecides", "mcp__github__get_issue", Verdict::kAllow, Code::kAllowed,
     R"(tools.allowed["mcp__github__get_*"])"},
    {"ExactAllowedEntryBeatsAllowedPattern", "mcp__github__merge_pull_request",
     Verdict::kApprovalRequired, Code::kApprovalRequired,
     R"(tools.allowed["mcp__github__merge_pull_request"].requires_approval)"},
    {"ExactBlockedNameIsNeverWidenedByAPattern", "mcp__github__delete_repository", Verdict::kDeny,
     Code::kToolBlocked, R"(tools.blocked["mcp__github__delete_repository"])"},
    {"MoreSpecificBlockedPatternBeatsAllowedPattern", "mcp__github__fork_repository",
     Verdict::kDeny, Code::kToolBlocked, R"(tools.blocked["mcp__github__*_repository"])"},
    {"BlockedBeatsAllowedAtEqualSpecificity", "cache_delete_all", Verdict::kDeny,
     Code::kToolBlocked, R"(tools.blocked["*_delete_*"])"},
    {"MoreSpecificAllowedPatternBeatsLessSpecificBlocked", "mcp__github__delete_branch",
     Verdict::kAllow, Code::kAllowed, R"(tools.allowed["*_delete_branch"])"},
    {"CatchAllBlockedPatternDeniesOtherServers", "mcp__slack__post", Verdict::kDeny,
     Code::kToolBlocked, R"(tools.blocked["mcp__*"])"},
    {"UnmatchedToolIsDefaultDeny", "Bash", Verdict::kDeny, Code::kToolNotAllowed, "default_deny"},
    {"NoCaseFolding", "MCP__GITHUB__list_issues", Verdict::kDeny, Code::kToolNotAllowed,
     "default_deny"},
    {"StarIsNotARegexDot", "mcp__githubX_list", Verdict::kDeny, Code::kToolBlocked,
     R"(tools.blocked["mcp__*"])"},
    {"PrefixPatternNeedsThePrefix", "github__list_issues", Verdict::kDeny, Code::kToolNotAllowed,
     "default_deny"},
};

class ToolPatternCaseTest : public ::testing::TestWithParam<PatternCase> {};

// Tests that each tool resolves to the entry the documented order picks, with its rule id.
TEST_P(ToolPatternCaseTest, ResolvesToTheDocumentedEntry) {
  const PatternCase& c = GetParam();
  auto p = Load(kGithub);
  ASSERT_NE(p, nullptr);
  const Decision d = Decide(*p, c.tool);
  EXPECT_EQ(d.verdict, c.verdict) << d.reason;
  EXPECT_EQ(d.code, c.code) << d.reason;
  EXPECT_EQ(d.rule, c.rule) << d.reason;
}

INSTANTIATE_TEST_SUITE_P(Table, ToolPatternCaseTest, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<PatternCase>& info) {
                           return std::string(info.param.name);
                         });

// Tests that a deny by pattern says which pattern denied it.
TEST(ToolPatternTest, BlockedByPatternReasonNamesThePattern) {
  auto p = Load(kGithub);
  ASSERT_NE(p, nullptr);
  const Decision d = Decide(*p, "mcp__slack__post");
  EXPECT_NE(d.reason.find(R"(by pattern "mcp__*")"), std::string::npos) << d.reason;
}

// Tests that ViewTool hides tools a pattern blocks and shows those a pattern allows.
TEST(ToolPatternTest, ViewToolFollowsResolution) {
  auto p = Load(kGithub);
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(ViewTool(p.get(), "mcp__github__list_issues").visible);
  EXPECT_FALSE(ViewTool(p.get(), "mcp__github__delete_repository").visible);
  EXPECT_FALSE(ViewTool(p.get(), "mcp__slack__post").visible);
  EXPECT_FALSE(ViewTool(p.get(), "Bash").visible);
}

// Tests that two allowed patterns of equal specificity resolve to the one written first.
TEST(ToolPatternTest, FirstWrittenAllowedPatternWinsATie) {
  auto p = Load(R"(agent: {id: a}
tools:
  allowed:
    - name: "b_*"
      requires_approval: true
    - name: "*_c"
)");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->Resolve("b_c").entry, "b_*");
  EXPECT_EQ(Decide(*p, "b_c").rule, R"(tools.allowed["b_*"].requires_approval)");
}

// Tests that constraints on a pattern entry apply to every tool it matches, under the
// pattern's rule id.
TEST(ToolPatternTest, ConstraintsOfAPatternApplyToMatchedTools) {
  auto p = Load(R"(agent: {id: a}
tools:
  allowed:
    - name: "fs_read_*"
      constraints:
        arguments:
          path: {one_of: ["/srv/a"]}
)");
  ASSERT_NE(p, nullptr);
  ToolCall call;
  call.tool = "fs_read_file";
  call.args["path"] = "/etc/passwd";
  const Decision d = Evaluate(p.get(), RunState{}, call, EvalContext{TestNow(), {}}).decision;
  EXPECT_EQ(d.verdict, Verdict::kDeny);
  EXPECT_EQ(d.code, Code::kConstraintViolated);
  EXPECT_EQ(d.rule.rfind(R"(tools.allowed["fs_read_*"])", 0), 0u) << d.rule;
}

// Tests that a pattern entry's max_records_per_run is one budget for every tool it
// decides: spreading a bulk read over tools the pattern matches does not multiply it.
TEST(ToolPatternTest, RecordBudgetOfAPatternIsSharedByItsTools) {
  auto p = Load(R"(agent: {id: a}
tools:
  allowed:
    - name: "db_read_*"
      constraints: {max_records_per_run: 10}
    - name: db_read_audit
      constraints: {max_records_per_run: 10}
)");
  ASSERT_NE(p, nullptr);
  RunState state;
  state.records["db_read_users"] = 6;
  state.records["db_read_orders"] = 4;
  state.records["db_read_audit"] = 9;  // its own entry, its own budget
  ToolCall call;
  call.tool = "db_read_invoices";
  Decision d = Evaluate(p.get(), state, call, EvalContext{TestNow(), {}}).decision;
  EXPECT_EQ(d.code, Code::kRecordLimitExceeded) << d.reason;
  EXPECT_EQ(d.rule, R"(tools.allowed["db_read_*"].constraints.max_records_per_run)");
  EXPECT_NE(d.reason.find("already touched 10"), std::string::npos) << d.reason;
  state.records["db_read_orders"] = 3;
  d = Evaluate(p.get(), state, call, EvalContext{TestNow(), {}}).decision;
  EXPECT_EQ(d.code, Code::kAllowed) << d.reason;
}

// Tests that a freeze window naming a pattern entry freezes every tool the entry decides.
TEST(ToolPatternTest, FreezeWindowNamingAPatternFreezesItsTools) {
  auto p = Load(R"(agent: {id: a}
tools:
  allowed:
    - "deploy_*"
)");
  ASSERT_NE(p, nullptr);
  AgentPolicy q = *p;
  policy::FreezeWindow w;
  w.name = "release";
  w.start = TestNow() - std::chrono::hours(1);
  w.end = TestNow() + std::chrono::hours(1);
  w.tools = {"deploy_*"};
  q.freezes.push_back(w);
  EXPECT_EQ(Decide(q, "deploy_web").code, Code::kFrozen);
  EXPECT_EQ(Decide(*p, "deploy_web").code, Code::kAllowed);
}

// A random tool-ish name over a small alphabet, so that random patterns match often.
std::string RandomName(std::mt19937_64& rng, size_t max_len) {
  static constexpr char kAlphabet[] = "ab_";
  std::string s;
  const size_t n = rng() % (max_len + 1);
  for (size_t i = 0; i < n; ++i) s.push_back(kAlphabet[rng() % 3]);
  return s;
}

std::string RandomPattern(std::mt19937_64& rng, size_t max_len = 5) {
  std::string s;
  const size_t n = 1 + rng() % max_len;
  for (size_t i = 0; i < n; ++i) {
    const char c = "ab_*"[rng() % 4];
    if (c == '*' && !s.empty() && s.back() == '*') continue;  // the loader refuses `**`
    s.push_back(c);
  }
  return s;
}

size_t Literal(std::string_view s) { return s.size() - std::count(s.begin(), s.end(), '*'); }

// A random policy: a few exact names and patterns, each either allowed or blocked.
AgentPolicy RandomPolicy(std::mt19937_64& rng) {
  AgentPolicy p;
  p.id = "prop";
  int line = 1;
  const size_t n = 1 + rng() % 8;
  for (size_t i = 0; i < n; ++i) {
    const std::string name = rng() % 3 == 0 ? RandomName(rng, 4) : RandomPattern(rng);
    if (name.empty() || p.allowed.count(name) || p.blocked.count(name)) continue;
    policy::Location at{"p.yaml", line++, 7};
    if (rng() % 2 == 0) {
      p.blocked.emplace(name, at);
    } else {
      policy::ToolRule r;
      r.name = name;
      r.at = at;
      p.allowed.emplace(name, r);
    }
  }
  p.IndexToolPatterns();
  return p;
}

// Tests, over random policies and names (fixed seed, bounded), that resolution follows
// the documented order: a blocked exact name stays blocked whatever the patterns; an exact
// entry beats every pattern; the deciding pattern matches and no matching pattern is more
// specific; at equal specificity a matching blocked pattern beats an allowed one.
TEST(ToolPatternPropertyTest, ResolutionFollowsTheDocumentedOrder) {
  std::mt19937_64 rng(13);
  for (int iter = 0; iter < 3000; ++iter) {
    const AgentPolicy p = RandomPolicy(rng);
    for (int k = 0; k < 20; ++k) {
      const std::string tool = RandomName(rng, 6);
      const ToolResolution r = p.Resolve(tool);
      SCOPED_TRACE("tool \"" + tool + "\"");
      if (p.blocked.count(tool)) {
        ASSERT_EQ(r.kind, ToolResolution::Kind::kBlocked);  // never widened by a pattern
        ASSERT_EQ(r.entry, tool);
        continue;
      }
      if (p.allowed.count(tool)) {
        ASSERT_EQ(r.kind, ToolResolution::Kind::kAllowed);  // exact beats pattern
        ASSERT_EQ(r.entry, tool);
        continue;
      }
      // Brute force over every entry that matches.
      size_t best = 0;
      bool any = false, best_blocked = false;
      auto consider = [&](const std::string& name, bool blocked) {
        if (!policy::ToolPatternMatches(name, tool)) return;
        const size_t lit = Literal(name);
        if (!any || lit > best || (lit == best && blocked)) best_blocked = blocked;
        if (!any || lit > best) best = lit;
        any = true;
      };
      for (const auto& [name, at] : p.blocked) consider(name, true);
      for (const auto& [name, rule] : p.allowed) consider(name, false);
      if (!any) {
        ASSERT_EQ(r.kind, ToolResolution::Kind::kNone);
        continue;
      }
      ASSERT_NE(r.kind, ToolResolution::Kind::kNone);
      ASSERT_TRUE(policy::ToolPatternMatches(r.entry, tool));
      ASSERT_EQ(Literal(r.entry), best) << r.entry;
      ASSERT_EQ(r.kind == ToolResolution::Kind::kBlocked, best_blocked) << r.entry;
      ASSERT_TRUE(r.pattern);
    }
  }
}

// Tests, over random policies (fixed seed, bounded), that adding an allowed pattern,
// however broad or specific, never turns a tool an exact blocked entry blocks into
// anything but a TOOL_BLOCKED deny, decided by the engine itself.
TEST(ToolPatternPropertyTest, AddedAllowedPatternNeverWidensABlockedExactName) {
  std::mt19937_64 rng(1313);
  for (int iter = 0; iter < 2000; ++iter) {
    AgentPolicy p = RandomPolicy(rng);
    const std::string tool = RandomName(rng, 5);
    if (tool.empty() || p.allowed.count(tool)) continue;
    p.blocked.emplace(tool, policy::Location{"p.yaml", 90, 7});
    for (int k = 0; k < 4; ++k) {
      std::string pattern = RandomPattern(rng);
      if (k == 0) pattern = "*";
      if (p.allowed.count(pattern) || p.blocked.count(pattern)) continue;
      policy::ToolRule r;
      r.name = pattern;
      r.at = {"p.yaml", 100 + k, 7};
      p.allowed.emplace(pattern, r);
    }
    p.IndexToolPatterns();
    const Decision d = Decide(p, tool);
    ASSERT_EQ(d.verdict, Verdict::kDeny) << tool << ": " << d.reason;
    ASSERT_EQ(d.code, Code::kToolBlocked) << tool << ": " << d.reason;
    ASSERT_EQ(d.rule, "tools.blocked[\"" + tool + "\"]");
  }
}

// Tests, over random pattern pairs of equal specificity (fixed seed, bounded), that when a
// blocked and an allowed pattern both match a tool and nothing more specific does, the
// blocked one decides, whichever is written first.
TEST(ToolPatternPropertyTest, BlockedPatternBeatsAllowedPatternOfEqualSpecificity) {
  std::mt19937_64 rng(4242);
  // Both patterns come from the tool: a run of `len` bytes replaced by `*` at two
  // random places, so both match it with the same number of literal bytes.
  auto star = [&](const std::string& tool, size_t len) {
    const size_t at = rng() % (tool.size() - len + 1);
    return tool.substr(0, at) + "*" + tool.substr(at + len);
  };
  int checked = 0;
  for (int iter = 0; iter < 20000 && checked < 2000; ++iter) {
    const std::string tool = RandomName(rng, 8);
    if (tool.empty()) continue;
    const size_t len = rng() % (tool.size() + 1);
    const std::string allow = star(tool, len);
    const std::string block = star(tool, len);
    if (allow == block) continue;
    ASSERT_EQ(Literal(allow), Literal(block));
    ASSERT_TRUE(policy::ToolPatternMatches(allow, tool) && policy::ToolPatternMatches(block, tool));
    for (bool allow_first : {true, false}) {
      AgentPolicy p;
      p.id = "prop";
      policy::ToolRule r;
      r.name = allow;
      r.at = {"p.yaml", allow_first ? 1 : 2, 7};
      p.allowed.emplace(allow, r);
      p.blocked.emplace(block, policy::Location{"p.yaml", allow_first ? 2 : 1, 7});
      p.IndexToolPatterns();
      const Decision d = Decide(p, tool);
      ASSERT_EQ(d.code, Code::kToolBlocked) << allow << " / " << block << " on " << tool;
      ASSERT_EQ(d.rule, "tools.blocked[\"" + block + "\"]");
    }
    ++checked;
  }
  EXPECT_GT(checked, 1000);
}

// Tests, over random pairs (fixed seed, bounded), that the exact overlap decision agrees
// with brute force over every short name: two patterns overlap iff some name matches both.
TEST(ToolPatternPropertyTest, OverlapAgreesWithBruteForce) {
  std::mt19937_64 rng(7);
  // Every name over {a, b, _} up to length 6: a shortest common name consumes each literal
  // byte of either side at most once, so two patterns of at most 3 bytes need at most 6.
  std::vector<std::string> names{""};
  for (size_t len = 1, from = 0; len <= 6; ++len) {
    const size_t to = names.size();
    for (size_t i = from; i < to; ++i) {
      for (char c : std::string("ab_")) names.push_back(names[i] + c);
    }
    from = to;
  }
  for (int iter = 0; iter < 2000; ++iter) {
    const std::string a = rng() % 4 == 0 ? RandomName(rng, 3) : RandomPattern(rng, 3);
    const std::string b = RandomPattern(rng, 3);
    const bool brute = std::any_of(names.begin(), names.end(), [&](const std::string& n) {
      return policy::ToolPatternMatches(a, n) && policy::ToolPatternMatches(b, n);
    });
    ASSERT_EQ(policy::ToolPatternsOverlap(a, b), brute) << a << " vs " << b;
    ASSERT_EQ(policy::ToolPatternsOverlap(b, a), brute) << b << " vs " << a;
  }
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::engine
