// The adversarial families: each catches a policy with a weakness planted for it (the
// issue's three among them), the shipped-style strict rules let none through, and the count
// is bounded.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

#include <boost/json.hpp>

#include "policytest/runner.h"
#include "policytest/variants.h"
#include "policytest_fixture.h"

namespace interlock::policytest {
namespace INTERLOCK_TEST_NS {

using testing::PolicyFolder;
using testing::PolicyWith;

struct Planted {
  const char* family;  // a flip of this family must be reported
  const char* tools;   // the policy's allowed tools (and blocked ones after `  blocked:`)
  const char* call;    // the refused call, as YAML flow
  const char* extra;   // more test file keys
};

const Planted kPlanted[] = {
    // The issue's three.
    {"path-dotdot",
     "    - name: read_file\n      constraints:\n        arguments:\n"
     "          path: {pattern: \"/srv/data.*\"}\n",
     "{tool: read_file, args: {path: /etc/passwd}}", ""},
    {"url-userinfo",
     "    - name: fetch\n      constraints:\n        arguments:\n"
     "          url: {pattern: \".*docs\\\\.myco\\\\.com.*\"}\n",
     "{tool: fetch, args: {url: \"https://evil.example/\"}}", ""},
    {"git-config-case",
     "    - name: Bash\n      constraints:\n        arguments:\n"
     "          command:\n            shell:\n              allow: [\"git *\"]\n"
     "              deny: [\"git -c core.pager*\"]\n",
     "{tool: Bash, args: {command: \"git -c core.pager=sh log\"}}", ""},
    // The same shell rule: the value through --config-env, and an alias that runs a line.
    {"git-config-env",
     "    - name: Bash\n      constraints:\n        arguments:\n"
     "          command: {not_pattern: \"-c core\\\\.pager\"}\n",
     "{tool: Bash, args: {command: \"git -c core.pager=sh log\"}}", ""},
    {"git-alias",
     "    - name: Bash\n      constraints:\n        arguments:\n"
     "          command:\n            shell:\n              allow: [\"git *\", \"ls\"]\n",
     "{tool: Bash, args: {command: \"rm -rf /srv\"}}", ""},
    // Text rules over a shell line: spellings, wrappers, re-entry, groups, a line after an
    // allowed command.
    {"shell-quote",
     "    - name: Bash\n      constraints:\n        arguments:\n"
     "          command: {not_pattern: \"rm -rf\"}\n",
     "{tool: Bash, args: {command: \"rm -rf /srv\"}}", ""},
    {"shell-substitution",
     "    - name: Bash\n      constraints:\n        arguments:\n"
     "          command: {not_pattern: \"^rm \"}\n",
     "{tool: Bash, args: {command: \"rm -rf /srv\"}}", ""},
    {"shell-expansion",
     "    - name: Bash\n      constraints:\n        arguments:\n"
     "          command: {not_pattern: \"^rm \"}\n",
     "{tool: Bash, args: {command: \"rm -rf /srv\"}}", ""},
    {"shell-brace",
     "    - name: Bash\n      constraints:\n        arguments:\n"
     "          command: {not_pattern: \"rm -rf\"}\n",
     "{tool: Bash, args: {command: \"rm -rf /srv\"}}", ""},
    {"shell-ifs",
     "    - name: Bash\n      constraints:\n        arguments:\n"
     "          command: {not_pattern: \"rm -rf\"}\n",
     "{tool: Bash, args: {command: \"rm -rf /srv\"}}", ""},
    {"shell-wrapper",
     "    - name: Bash\n      constraints:\n        arguments:\n"
     "          command: {not_pattern: \"^rm \"}\n",
     "{tool: Bash, args: {command: \"rm -rf /srv\"}}", ""},
    {"shell-reentry",
     "    - name: Bash\n      constraints:\n        arguments:\n"
     "          command: {not_pattern: \"^rm \"}\n",
     "{tool: Bash, args: {command: \"rm -rf /srv\"}}", ""},
    {"shell-heredoc",
     "    - name: Bash\n      constraints:\n        arguments:\n"
     "          command: {not_pattern: \"^rm \"}\n",
     "{tool: Bash, args: {command: \"rm -rf /srv\"}}", ""},
    {"shell-group",
     "    - name: Bash\n      constraints:\n        arguments:\n"
     "          command: {not_pattern: \"^rm \"}\n",
     "{tool: Bash, args: {command: \"rm -rf /srv\"}}", ""},
    {"shell-after-allowed",
     "    - name: Bash\n      constraints:\n        arguments:\n"
     "          command: {pattern: \"git status.*\"}\n",
     "{tool: Bash, args: {command: \"rm -rf /srv\"}}", ""},
    {"program-option-split",
     "    - name: Bash\n      constraints:\n        arguments:\n"
     "          command:\n            shell:\n              allow: [\"git diff *\"]\n"
     "              deny: [\"git diff --output=*\"]\n",
     "{tool: Bash, args: {command: \"git diff --output=/etc/cron.d/x\"}}", ""},
    // Path spellings against a text rule.
    {"path-slashes",
     "    - name: read_file\n      constraints:\n        arguments:\n"
     "          path: {not_pattern: \"^/etc/\"}\n",
     "{tool: read_file, args: {path: /etc/passwd}}", ""},
    {"path-dots",
     "    - name: read_file\n      constraints:\n        arguments:\n"
     "          path: {not_pattern: \"^/etc/\"}\n",
     "{tool: read_file, args: {path: /etc/passwd}}", ""},
    {"path-trailing",
     "    - name: read_file\n      constraints:\n        arguments:\n"
     "          path: {not_pattern: \"^/etc/ssh$\"}\n",
     "{tool: read_file, args: {path: /etc/ssh}}", ""},
    {"path-case",
     "    - name: read_file\n      constraints:\n        arguments:\n"
     "          path: {not_pattern: \"^/Users/dev/secrets\"}\n",
     "{tool: read_file, args: {path: /Users/dev/secrets/key}}", "case_insensitive_paths: true\n"},
    {"path-unicode-nfd",
     "    - name: read_file\n      constraints:\n        arguments:\n"
     "          path: {not_pattern: \"caf\\u00e9\"}\n",
     "{tool: read_file, args: {path: \"/Users/dev/caf\\u00e9/key\"}}",
     "case_insensitive_paths: true\n"},
    // URL spellings against a text rule.
    {"url-case",
     "    - name: fetch\n      constraints:\n        arguments:\n"
     "          url: {not_pattern: \"evil\\\\.example\"}\n",
     "{tool: fetch, args: {url: \"https://evil.example/x\"}}", ""},
    {"url-percent-host",
     "    - name: fetch\n      constraints:\n        arguments:\n"
     "          url: {not_pattern: \"evil\\\\.example\"}\n",
     "{tool: fetch, args: {url: \"https://evil.example/x\"}}", ""},
    {"url-idna",
     "    - name: fetch\n      constraints:\n        arguments:\n"
     "          url: {not_pattern: \"evil\\\\.example\"}\n",
     "{tool: fetch, args: {url: \"https://evil.example/x\"}}", ""},
    {"url-host-dot",
     "    - name: fetch\n      constraints:\n        arguments:\n"
     "          url: {not_pattern: \"evil\\\\.example/\"}\n",
     "{tool: fetch, args: {url: \"https://evil.example/x\"}}", ""},
    {"url-percent-path",
     "    - name: fetch\n      constraints:\n        arguments:\n"
     "          url: {not_pattern: \"/admin\"}\n",
     "{tool: fetch, args: {url: \"https://site.example/admin\"}}", ""},
    {"url-ip",
     "    - name: fetch\n      constraints:\n        arguments:\n"
     "          url: {not_pattern: \"169\\\\.254\\\\.169\\\\.254\"}\n",
     "{tool: fetch, args: {url: \"http://169.254.169.254/latest/meta-data\"}}", ""},
    {"url-fragment",
     "    - name: fetch\n      constraints:\n        arguments:\n"
     "          url: {pattern: \".*docs\\\\.myco\\\\.com.*\"}\n",
     "{tool: fetch, args: {url: \"https://evil.example/\"}}", ""},
    // Tool names and argument types.
    {"tool-case", "    - \"*\"\n  blocked:\n    - delete_file\n", "{tool: delete_file}", ""},
    {"tool-unicode", "    - \"*\"\n  blocked:\n    - delete_file\n", "{tool: delete_file}", ""},
    {"arg-type",
     "    - name: update_issue\n      constraints:\n        arguments:\n"
     "          state: {not_one_of: [closed]}\n",
     "{tool: update_issue, args: {state: closed}}", ""},
};

// Tests that each family catches the policy planted for it: the refused call passes its
// case, and --adversarial reports a variant of that family as allowed, with the rule.
TEST(PolicyTestVariants, EachFamilyCatchesItsPlantedWeakness) {
  for (const Planted& p : kPlanted) {
    PolicyFolder d(PolicyWith(p.tools), std::string(p.extra) +
                                            "cases:\n  - name: refused\n    call: " + p.call +
                                            "\n    expect: deny\n");
    const FileReport plain = d.Run(false);
    ASSERT_EQ(plain.error, "") << p.family;
    ASSERT_EQ(ExitCode({plain}), kTestsPassed) << p.family << "\n" << FormatReports({plain}, false);
    const FileReport r = d.Run(true);
    EXPECT_EQ(ExitCode({r}), kTestsFailed) << p.family;
    ASSERT_EQ(r.cases.size(), 1u);
    std::set<std::string> families;
    for (const Flip& f : r.cases[0].flips) families.insert(f.family);
    EXPECT_TRUE(families.count(p.family)) << p.family << " not among the flips:\n"
                                          << FormatReports({r}, true);
    const std::string text = FormatReports({r}, true);
    EXPECT_NE(text.find("variant [" + std::string(p.family) + "]"), std::string::npos) << text;
    EXPECT_NE(text.find("is ALLOWED by rule tools.allowed["), std::string::npos) << text;
  }
}

// Tests that a variant of a denied call that reaches a human (approval) is a flip too, and
// that a variant of a call expected to need approval flips only when it is allowed.
TEST(PolicyTestVariants, ReachingAHumanIsAFlipOfADenial) {
  const std::string tools =
      "    - {name: \"*\", requires_approval: true}\n  blocked:\n    - delete_file\n";
  PolicyFolder d(PolicyWith(tools), R"(cases:
  - {name: denied, call: {tool: delete_file}, expect: deny}
  - {name: held, call: {tool: send}, expect: approval_required}
)");
  const FileReport r = d.Run(true);
  ASSERT_EQ(r.cases.size(), 2u);
  ASSERT_FALSE(r.cases[0].flips.empty());
  EXPECT_EQ(r.cases[0].flips[0].verdict, "APPROVAL_REQUIRED");
  EXPECT_TRUE(r.cases[1].flips.empty()) << FormatReports({r}, true);
  EXPECT_NE(FormatReports({r}, true).find("is APPROVAL_REQUIRED by rule"), std::string::npos);
}

// Tests the issue's three examples by the exact variant that gets through.
TEST(PolicyTestVariants, TheIssuesThreeVariants) {
  const struct {
    size_t planted;
    const char* variant;
  } cases[] = {{0, "/srv/data/../../etc/passwd"},
               {1, "https://docs.myco.com@evil.example/"},
               {2, "git -c CORE.PAGER=sh log"}};
  for (const auto& c : cases) {
    const Planted& p = kPlanted[c.planted];
    PolicyFolder d(PolicyWith(p.tools), std::string("cases:\n  - name: refused\n    call: ") +
                                            p.call + "\n    expect: deny\n");
    const FileReport r = d.Run(true);
    ASSERT_EQ(r.cases.size(), 1u);
    const auto& flips = r.cases[0].flips;
    EXPECT_TRUE(
        std::any_of(flips.begin(), flips.end(), [&](const Flip& f) { return f.what == c.variant; }))
        << c.variant << "\n"
        << FormatReports({r}, true);
  }
}

// Tests that the strict forms of the same rules (path_prefix, url allow, the shell reader)
// let no variant through.
TEST(PolicyTestVariants, StrictRulesHold) {
  const std::string tools =
      "    - name: read_file\n      constraints:\n        arguments:\n"
      "          path: {path_prefix: /srv/data}\n"
      "    - name: fetch\n      constraints:\n        arguments:\n"
      "          url:\n            url:\n              allow: [\"https://docs.myco.com/\"]\n"
      "    - name: Bash\n      constraints:\n        arguments:\n"
      "          command:\n            shell:\n              allow: [\"git status\", \"git log\", "
      "\"ls\"]\n"
      "              deny: [\"rm -rf *\"]\n";
  PolicyFolder d(PolicyWith(tools, "  blocked:\n    - delete_file\n"), R"(cases:
  - {name: path, call: {tool: read_file, args: {path: /etc/passwd}}, expect: deny}
  - {name: url, call: {tool: fetch, args: {url: "https://evil.example/"}}, expect: deny}
  - {name: shell, call: {tool: Bash, args: {command: "rm -rf /srv"}}, expect: deny}
  - {name: git, call: {tool: Bash, args: {command: "git -c core.pager=sh log"}}, expect: deny}
  - {name: tool, call: {tool: delete_file}, expect: deny}
)");
  const FileReport r = d.Run(true);
  EXPECT_EQ(ExitCode({r}), kTestsPassed) << FormatReports({r}, true);
  size_t variants = 0;
  for (const CaseReport& c : r.cases) variants += c.variants;
  EXPECT_GT(variants, 50u);
}

// Tests the links a test file names: a text rule is caught by a path through a link inside
// the allowed tree (path-symlink), path_prefix is not (the runner resolves the named links,
// as the daemon resolves the file system's), and the host's own links never count.
TEST(PolicyTestVariants, SymlinksNamedInTheTestFile) {
  const char* tests = R"(symlinks: {/srv/data/link: /etc, /srv/data/loop: /srv/data/loop}
cases:
  - {name: outside, call: {tool: read_file, args: {path: /etc/passwd}}, expect: deny}
  - {name: through the link, call: {tool: read_file, args: {path: /srv/data/link/passwd}}, expect: __}
  - {name: a loop, call: {tool: read_file, args: {path: /srv/data/loop/x}}, expect: deny}
)";
  auto with = [&](const char* expect) {
    std::string t = tests;
    t.replace(t.find("__"), 2, expect);
    return t;
  };
  PolicyFolder weak(PolicyWith("    - name: read_file\n      constraints:\n        arguments:\n"
                               "          path: {pattern: \"/srv/data/.*\"}\n"),
                    with("allow"));
  FileReport r = weak.Run(true);
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.cases.size(), 3u);
  bool found = false;
  for (const Flip& f : r.cases[0].flips)
    found = found || (f.family == "path-symlink" && f.what == "/srv/data/link/passwd");
  EXPECT_TRUE(found) << FormatReports({r}, true);
  PolicyFolder strict(PolicyWith("    - name: read_file\n      constraints:\n        arguments:\n"
                                 "          path: {path_prefix: /srv/data}\n"),
                      with("{decision: deny, code: CONSTRAINT_VIOLATED}"));
  r = strict.Run(true);
  EXPECT_EQ(ExitCode({r}), kTestsPassed) << FormatReports({r}, true);
}

// Tests that --max-variants bounds the variants of each refused call, and says so.
TEST(PolicyTestVariants, CountIsBounded) {
  Seeds seeds;
  seeds.paths = {"/srv/data", "/home/dev"};
  seeds.hosts = {"docs.myco.com"};
  seeds.commands = {"git status", "ls"};
  const boost::json::object call =
      boost::json::parse(R"({"tool":"Bash","args":{"command":"git -c core.pager=sh log /etc/x"}})")
          .as_object();
  bool capped = false;
  const auto all = GenerateVariants(call, seeds, {.max_variants = 100000}, &capped);
  EXPECT_FALSE(capped);
  EXPECT_GT(all.size(), 20u);
  std::set<std::string> distinct;
  for (const Variant& v : all) distinct.insert(boost::json::serialize(v.call));
  EXPECT_EQ(distinct.size(), all.size());  // no duplicates
  EXPECT_FALSE(distinct.count(boost::json::serialize(call)));
  const auto few = GenerateVariants(call, seeds, {.max_variants = 5}, &capped);
  EXPECT_EQ(few.size(), 5u);
  EXPECT_TRUE(capped);

  PolicyFolder d(PolicyWith(kPlanted[5].tools),
                 std::string("cases:\n  - name: refused\n    call: ") + kPlanted[5].call +
                     "\n    expect: deny\n");
  const FileReport r = d.Run(true, 3);
  ASSERT_EQ(r.cases.size(), 1u);
  EXPECT_EQ(r.cases[0].variants, 3u);
  EXPECT_TRUE(r.cases[0].capped);
  EXPECT_NE(FormatReports({r}, true).find("more variants than --max-variants"), std::string::npos);
}

// Tests that git's case variants keep a subsection's case (git-config(1): subsection names
// are case sensitive), so `url.<base>.insteadOf` still names the same base.
TEST(PolicyTestVariants, GitCaseKeepsTheSubsection) {
  std::vector<std::string> texts;
  for (const ValueVariant& v :
       ShellVariants("git -c url.https://a.example/.insteadOf=x fetch", {})) {
    if (v.family == "git-config-case") texts.push_back(v.text);
  }
  EXPECT_EQ(texts, (std::vector<std::string>{"git -c URL.https://a.example/.INSTEADOF=x fetch",
                                             "git -c Url.https://a.example/.InsteadOf=x fetch"}));
}

// Tests the seeds read from a policy: path prefixes, hosts and allowed commands.
TEST(PolicyTestVariants, SeedsComeFromThePolicy) {
  EXPECT_EQ(RegexLiteralPrefix("/srv/data.*"), "/srv/data");
  EXPECT_EQ(RegexLiteralPrefix("^/a/b\\.c/x?"), "/a/b.c/");
  EXPECT_EQ(RegexLiteralPrefix(".*docs\\.myco\\.com.*"), "");
  EXPECT_EQ(RegexLongestLiteral(".*docs\\.myco\\.com.*"), "docs.myco.com");
  PolicyFolder d(PolicyWith("    - name: r\n      constraints:\n        arguments:\n"
                            "          path: {path_prefix: /srv/data/}\n"
                            "          url: {pattern: \".*docs\\\\.myco\\\\.com.*\"}\n"
                            "          command:\n            shell:\n              allow: [\"git "
                            "status\", \"npm run *\"]\n"),
                 "cases:\n  - {name: a, call: {tool: r}, expect: deny}\n");
  const Seeds s = CollectSeeds({d.Path("p.yaml")}, "/w");
  EXPECT_EQ(s.paths, std::vector<std::string>{"/srv/data"});
  EXPECT_EQ(s.hosts, std::vector<std::string>{"docs.myco.com"});
  EXPECT_EQ(s.commands, (std::vector<std::string>{"git status", "npm run"}));
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::policytest
