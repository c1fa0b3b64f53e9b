// The policy test file format (docs/policy-tests.md): what it reads, and bad input refused
// with file:line:column (a misspelt key with the nearest known one).
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

#include "policy/loader.h"
#include "policytest/spec.h"

namespace interlock::policytest {
namespace INTERLOCK_TEST_NS {

// Tests that one-call cases, sequences with results, usage and time, and the file's keys are
// read, ${workspace} resolved in the calls.
TEST(PolicyTestSpec, ReadsCasesAndSequences) {
  auto f = ParseTestFile(R"(policy: [p.yaml, more/]
agent: a
workspace: /w
now: "2026-03-01T10:00:00Z"
case_insensitive_paths: true
cases:
  - name: one
    call: {tool: read, args: {path: "${workspace}/x", n: 10, s: "10"}}
    expect: allow
  - name: seq
    adversarial: false
    steps:
      - call: {tool: run_tests, args: {}, usage: {tokens: 5, cost_usd: 0.5}}
        result: {ok: true, usage: {tokens: 1}}
        expect: {decision: allow, code: ALLOWED, rule: 'tools.allowed["run_tests"]', at: p.yaml:7}
      - call: {tool: deploy}
        elapsed_s: 90
        expect: {decision: approval_required}
)",
                         "/d/p.test.yaml");
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->policy, (std::vector<std::string>{"/d/p.yaml", "/d/more/"}));
  EXPECT_EQ(f->agent, "a");
  EXPECT_EQ(f->workspace, "/w");
  EXPECT_EQ(f->now, "2026-03-01T10:00:00Z");
  EXPECT_TRUE(f->case_insensitive_paths);
  ASSERT_EQ(f->cases.size(), 2u);
  const Step& one = f->cases[0].steps.at(0);
  EXPECT_EQ(one.call.at("args").at("path"), "/w/x");
  EXPECT_TRUE(one.call.at("args").at("n").is_int64());   // a plain 10 is a number
  EXPECT_TRUE(one.call.at("args").at("s").is_string());  // a quoted "10" stays a string
  EXPECT_EQ(one.expect.decision, "allow");
  EXPECT_EQ(one.line, 7);
  EXPECT_TRUE(f->cases[0].adversarial);
  const Case& seq = f->cases[1];
  EXPECT_FALSE(seq.adversarial);
  ASSERT_EQ(seq.steps.size(), 2u);
  ASSERT_TRUE(seq.steps[0].result.has_value());
  EXPECT_EQ(seq.steps[0].expect.code, "ALLOWED");
  EXPECT_EQ(seq.steps[0].expect.at, "p.yaml:7");
  EXPECT_EQ(seq.steps[1].elapsed_s, 90.0);
  EXPECT_EQ(seq.steps[1].expect.decision, "approval_required");
}

// Tests that X.test.yaml tests X.yaml beside it and the workspace defaults to its folder.
TEST(PolicyTestSpec, DefaultsToThePolicyBesideIt) {
  auto f = ParseTestFile("cases:\n  - {name: a, call: {tool: t}, expect: deny}\n",
                         "/d/e/agent.test.yaml");
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->policy, (std::vector<std::string>{"/d/e/agent.yaml"}));
  EXPECT_EQ(f->workspace, "/d/e");
}

struct BadSpec {
  const char* text;
  const char* where;  // the message starts with it
  const char* says;   // and contains this
};

// Tests that bad input is refused at its file:line:column, a misspelt key with a suggestion.
TEST(PolicyTestSpec, BadInputNamesFileLineColumn) {
  const BadSpec cases[] = {
      {"cases: []\n", "t.test.yaml:1:1: ", "needs cases"},
      {"cazes: []\n", "t.test.yaml:1:1: ", "did you mean cases?"},
      {"cases:\n  - {name: a, call: {tool: t}, expct: deny}\n",
       "t.test.yaml:2:32: ", "did you mean expect?"},
      {"cases:\n  - {name: a, call: {tool: t}, expect: {decison: deny}}\n",
       "t.test.yaml:2:41: ", "did you mean decision?"},
      {"cases:\n  - {name: a, call: {tool: t}, expect: denied}\n",
       "t.test.yaml:2:40: ", "expect.decision must be one of"},
      {"cases:\n  - {name: a, call: {tool: t}, expect: {decision: deny, code: NOPE}}\n",
       "t.test.yaml:2:40: ", "no decision code"},
      {"cases:\n  - {name: a, call: {args: {}}, expect: deny}\n",
       "t.test.yaml:2:21: ", "call.tool"},
      {"cases:\n  - {name: a, call: {tool: t}}\n", "t.test.yaml:2:5: ", "needs expect"},
      {"cases:\n  - {call: {tool: t}, expect: deny}\n", "t.test.yaml:2:5: ", "needs a name"},
      {"cases:\n  - {name: a, steps: []}\n", "t.test.yaml:2:22: ", "non-empty list"},
      {"cases:\n  - name: a\n    steps:\n      - {call: {tool: t}, expect: deny, reslt: {ok: "
       "true}}\n",
       "t.test.yaml:4:41: ", "did you mean result?"},
      {"cases:\n  - name: a\n    steps:\n      - {call: {tool: t}, expect: deny, result: {ok: "
       "yes}}\n",
       "t.test.yaml:4:54: ", "result.ok must be true or false"},
      {"cases:\n  - name: a\n    call: {tool: t}\n    expect: deny\n    elapsed_s: soon\n",
       "t.test.yaml:5:16: ", "elapsed_s"},
      {"cases:\n  - name: a\n    call: {tool: t}\n    expect: deny\n    steps: []\n",
       "t.test.yaml:3:5: ", "belongs in a step"},
      {"cases:\n  - {name: a, call: {tool: t}, expect: deny}\n  bad: [\n", "t.test.yaml:", ""},
      {"symlinks: {a: /b}\ncases:\n  - {name: a, call: {tool: t}, expect: deny}\n",
       "t.test.yaml:1:12: ", "absolute"},
      {"case_insensitive_paths: maybe\ncases:\n  - {name: a, call: {tool: t}, expect: deny}\n",
       "t.test.yaml:1:25: ", "true or false"},
  };
  for (const BadSpec& b : cases) {
    auto f = ParseTestFile(b.text, "t.test.yaml");
    ASSERT_FALSE(f.ok()) << b.text;
    EXPECT_EQ(f.error().message.rfind(b.where, 0), 0u) << b.text << "\n" << f.error().message;
    EXPECT_NE(f.error().message.find(b.says), std::string::npos) << f.error().message;
  }
}

// Tests that the policy loader skips test and properties files in a directory, and that the
// test files are found beside a policy file or in its directory.
TEST(PolicyTestSpec, CompanionFilesAreNoPolicies) {
  using policy::Companion;
  using policy::CompanionOf;
  EXPECT_EQ(CompanionOf("a.test.yaml"), Companion::kTests);
  EXPECT_EQ(CompanionOf("a.test.yml"), Companion::kTests);
  EXPECT_EQ(CompanionOf("a.props.yaml"), Companion::kProperties);
  EXPECT_EQ(CompanionOf(".test.yaml"), std::nullopt);
  EXPECT_EQ(CompanionOf("a.yaml"), std::nullopt);
  EXPECT_EQ(CompanionOf("test.yaml"), std::nullopt);
  const std::string examples = std::string(INTERLOCK_SOURCE_DIR) + "/examples/policies";
  auto files = FindTestFiles({examples});
  ASSERT_TRUE(files.ok());
  EXPECT_GE(files->size(), 9u);
  auto one = FindTestFiles({examples + "/github-agent.yaml"});
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(*one, std::vector<std::string>{examples + "/github-agent.test.yaml"});
  EXPECT_FALSE(FindTestFiles({examples + "/nope"}).ok());
}

// Tests that every prefix of the shipped test files (the fuzz target's seeds, cut anywhere)
// reads or is refused with an error naming the file.
TEST(PolicyTestSpec, TruncatedFilesAreRefusedWithTheirName) {
  const std::string examples = std::string(INTERLOCK_SOURCE_DIR) + "/examples/policies";
  auto files = FindTestFiles({examples});
  ASSERT_TRUE(files.ok());
  for (const std::string& path : *files) {
    std::ifstream in(path, std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), {});
    ASSERT_TRUE(ParseTestFile(text, path).ok()) << path;
    for (size_t cut = 0; cut < text.size(); cut += 5) {
      auto f = ParseTestFile(text.substr(0, cut), path);
      if (!f.ok()) {
        EXPECT_EQ(f.error().message.rfind(path, 0), 0u) << f.error().message;
      }
    }
  }
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::policytest
