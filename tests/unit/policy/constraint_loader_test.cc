// Tests that the issue-13 constraint syntax (argument paths, variables, shell and URL keys,
// combinations) is strictly validated: every mistake is a load error with its stable id
// and the file:line:column where it is written, and nothing half-parsed is ever loaded.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "policy/loader.h"
#include "policy/shell_command.h"

namespace interlock::policy {
namespace INTERLOCK_TEST_NS {

using ::testing::HasSubstr;

LoadOptions Options(std::string workspace = "/home/u/proj") {
  LoadOptions o;
  o.workspace = std::move(workspace);
  o.getenv = [](std::string_view name) -> std::optional<std::string> {
    if (name == "ORG") return "octo-org";
    return std::nullopt;
  };
  return o;
}

// The policy text: an agent with one tool `t` whose `constraints:` block is `block`
// (indented by 6 spaces, so its first key sits at line 6, column 7).
std::string Policy(const std::string& block) {
  return "agent:\n  id: a\ntools:\n  allowed:\n    - name: t\n      constraints:\n" + block;
}

struct Bad {
  const char* name;
  const char* block;    // under `constraints:`
  const char* id;       // the diagnostic id expected
  const char* where;    // "line:column" expected
  const char* message;  // substring of the message
};

class ConstraintLoaderErrorTest : public ::testing::TestWithParam<Bad> {};

TEST_P(ConstraintLoaderErrorTest, IsALoadErrorWithItsPlace) {
  const Bad& b = GetParam();
  std::vector<Diagnostic> diags;
  auto r = ParseAgentPolicy(Policy(b.block), "p.yaml", &diags, Options());
  EXPECT_FALSE(r.ok()) << b.name << " loaded";
  bool found = false;
  for (const Diagnostic& d : diags) {
    if (d.severity != Diagnostic::Severity::kError || d.id != b.id) continue;
    found = true;
    EXPECT_EQ(d.at.ToString(), std::string("p.yaml:") + b.where) << d.ToString();
    EXPECT_THAT(d.message, HasSubstr(b.message)) << d.ToString();
  }
  std::string all;
  for (const Diagnostic& d : diags) all += d.ToString() + "\n";
  EXPECT_TRUE(found) << "no " << b.id << " among:\n" << all;
}

void PrintTo(const Bad& b, std::ostream* os) { *os << b.name; }

INSTANTIATE_TEST_SUITE_P(
    Syntax, ConstraintLoaderErrorTest,
    ::testing::Values(
        Bad{"UnknownVariable", "        arguments:\n          p: {path_prefix: \"${home}\"}\n",
            "unknown-variable", "8:28", "${home}"},
        Bad{"UnsetEnvironmentVariable",
            "        arguments:\n          o: {one_of: [\"${env:NOT_SET_ANYWHERE}\"]}\n",
            "unset-variable", "8:24", "NOT_SET_ANYWHERE is not set"},
        Bad{"UnterminatedVariable",
            "        arguments:\n          o: {one_of: [\"${workspace\"]}\n", "invalid-variable",
            "8:24", "unterminated"},
        Bad{"UnbalancedBracketInPath",
            "        arguments:\n          \"paths[*\": {max_bytes: 1}\n", "invalid-argument-path",
            "8:11", "paths[*"},
        Bad{"EmptySegmentInPath", "        arguments:\n          \"options..x\": {max_bytes: 1}\n",
            "invalid-argument-path", "8:11", "options..x"},
        Bad{"SamePathWrittenTwoWays",
            "        arguments:\n          options.x: {max_bytes: 1}\n          "
            "'options[\"x\"]': {max_bytes: 2}\n",
            "ambiguous-constraint", "9:11", "options.x"},
        Bad{"NotPatternThatIsNotRe2", "        arguments:\n          t: {not_pattern: \"(a\"}\n",
            "invalid-regex", "8:28", "(a"},
        Bad{"MinItemsAboveMaxItems",
            "        arguments:\n          l: {min_items: 3, max_items: 2}\n", "invalid-value",
            "8:11", "min_items is greater than max_items"},
        Bad{"ShellWithoutAllow",
            "        arguments:\n          c:\n            shell: {deny: [\"rm *\"]}\n",
            "empty-constraint", "9:13", "no allow patterns"},
        Bad{"ShellPatternWithGlobCommandName",
            "        arguments:\n          c:\n            shell: {allow: [\"*\"]}\n",
            "invalid-shell-pattern", "9:29", "command name must be literal"},
        Bad{"ShellPatternThatIsAPipeline",
            "        arguments:\n          c:\n            shell: {allow: [\"ls | sh\"]}\n",
            "invalid-shell-pattern", "9:29", "one simple command"},
        Bad{"UnknownShellKey",
            "        arguments:\n          c:\n            shell: {allow: [ls], allow_all: true}\n",
            "unknown-key", "9:34", "allow_all"},
        Bad{"UrlPrefixWithoutScheme",
            "        arguments:\n          u:\n            url: {allow: [\"docs.python.org/\"]}\n",
            "invalid-url", "9:27", "docs.python.org/"},
        Bad{"UrlHostWithWildcardInTheMiddle",
            "        arguments:\n          u:\n            url: {allow: [{hosts: "
            "[\"a.*.org\"]}]}\n",
            "invalid-host", "9:36", "a.*.org"},
        Bad{"UrlRelativePathPrefix",
            "        arguments:\n          u:\n            url: {allow: [{schemes: [https], "
            "path_prefixes: [\"docs/\"]}]}\n",
            "invalid-url", "9:62", "must start with /"},
        Bad{"CombinationTupleOfTheWrongLength",
            "        combinations:\n          - arguments: [owner, repo]\n            one_of:\n    "
            " "
            "         - [octo-org]\n",
            "invalid-value", "10:17", "2"},
        Bad{"CombinationOverAnArrayItem",
            "        combinations:\n          - arguments: [\"paths[*]\", repo]\n            "
            "one_of: [[a, b]]\n",
            "invalid-argument-path", "8:25", "[*]"},
        Bad{"PathPrefixWithDotDot", "        arguments:\n          p: {path_prefix: \"/a/../b\"}\n",
            "invalid-path", "8:28", "/a/../b"}));

// Tests that a workspace of `/` is refused when a policy uses ${workspace}: it would make
// `path_prefix: ${workspace}` allow every path on the machine.
TEST(ConstraintLoaderTest, RootWorkspaceIsRefused) {
  std::vector<Diagnostic> diags;
  auto r =
      ParseAgentPolicy(Policy("        arguments:\n          p: {path_prefix: \"${workspace}\"}\n"),
                       "p.yaml", &diags, Options("/"));
  ASSERT_FALSE(r.ok());
  ASSERT_FALSE(diags.empty());
  EXPECT_EQ(diags[0].id, "invalid-workspace");
  EXPECT_THAT(diags[0].message, HasSubstr("every path"));
}

// Tests that a relative workspace is refused rather than resolved against whatever the
// process's directory happens to be.
TEST(ConstraintLoaderTest, RelativeWorkspaceIsRefused) {
  std::vector<Diagnostic> diags;
  auto r = ParseAgentPolicy(
      Policy("        arguments:\n          p: {path_prefix: \"${workspace}/src\"}\n"), "p.yaml",
      &diags, Options("proj"));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(diags.at(0).message, HasSubstr("not an absolute path"));
}

// Tests that a policy that never writes ${workspace} loads whatever the workspace is.
TEST(ConstraintLoaderTest, WorkspaceIsOnlyCheckedWhenUsed) {
  std::vector<Diagnostic> diags;
  auto r = ParseAgentPolicy(Policy("        arguments:\n          p: {path_prefix: \"/srv\"}\n"),
                            "p.yaml", &diags, Options("/"));
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
}

// Tests that ${workspace} inside a command pattern stays one word when the directory has a
// space: unquoted, `cat /home/u/my proj/**` would allow `cat /home/u/my` (a file outside).
TEST(ConstraintLoaderTest, WorkspaceWithSpaceStaysOneShellWord) {
  std::vector<Diagnostic> diags;
  auto r =
      ParseAgentPolicy(Policy("        arguments:\n          c:\n            shell: {allow: [\"cat "
                              "${workspace}/**\"]}\n"),
                       "p.yaml", &diags, Options("/home/u/my proj"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const ToolRule& t = r.value()->allowed.at("t");
  ASSERT_EQ(t.constraints.size(), 1u);
  const ArgConstraint& c = t.constraints[0];
  ASSERT_NE(c.shell, nullptr);
  std::string why;
  EXPECT_TRUE(CheckShellCommand(*c.shell, "cat '/home/u/my proj/a.txt'", &why)) << why;
  EXPECT_FALSE(CheckShellCommand(*c.shell, "cat /home/u/my", &why)) << "cat /home/u/my was allowed";
}

// Tests that a workspace with a '*' is refused inside command patterns, where it would
// be read as a wildcard.
TEST(ConstraintLoaderTest, WorkspaceWithStarIsRefusedInCommandPatterns) {
  std::vector<Diagnostic> diags;
  auto r =
      ParseAgentPolicy(Policy("        arguments:\n          c:\n            shell: {allow: [\"cat "
                              "${workspace}/**\"]}\n"),
                       "p.yaml", &diags, Options("/home/u/p*"));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(diags.at(0).message, HasSubstr("wildcard"));
}

// Tests that a regular expression written twice in a file is compiled once and checked at
// both places, and that an invalid one is reported at each place it is written.
TEST(ConstraintLoaderTest, RepeatedPatternIsCompiledOnceAndEachBadOneReported) {
  std::vector<Diagnostic> diags;
  auto r = ParseAgentPolicy(Policy("        arguments:\n          a: {pattern: \"x+\"}\n          "
                                   "b: {not_pattern: \"x+\"}\n"),
                            "p.yaml", &diags, Options());
  ASSERT_TRUE(r.ok()) << r.error().message;
  const ToolRule& t = r.value()->allowed.at("t");
  ASSERT_EQ(t.constraints.size(), 2u);
  ASSERT_NE(t.constraints[0].pattern, nullptr);
  EXPECT_EQ(t.constraints[0].pattern, t.constraints[1].not_pattern);
  EXPECT_EQ(t.constraints[0].pattern->pattern(), "x+");

  diags.clear();
  r = ParseAgentPolicy(Policy("        arguments:\n          a: {pattern: \"(a\"}\n          b: "
                              "{not_pattern: \"(a\"}\n"),
                       "p.yaml", &diags, Options());
  ASSERT_FALSE(r.ok());
  std::vector<std::string> bad;
  for (const Diagnostic& d : diags) {
    if (d.id == "invalid-regex") bad.push_back(d.at.ToString());
  }
  EXPECT_THAT(bad, ::testing::ElementsAre("p.yaml:8:24", "p.yaml:9:28"));
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::policy
