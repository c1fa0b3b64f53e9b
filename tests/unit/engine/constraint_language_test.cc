// Table-driven tests of the issue-13 argument constraints, from policy YAML to decision:
// nested paths, not_one_of, not_pattern, max_bytes, min_items, combinations, variables,
// and the shell and URL keys (their parsers fail closed until they land).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "policy/loader.h"
#include "seed_policy.h"

namespace interlock::engine {
namespace INTERLOCK_TEST_NS {

using ::interlock::testing::Decide;
using ::testing::HasSubstr;

std::shared_ptr<const policy::AgentPolicy> Load(const std::string& constraints) {
  const std::string text =
      "agent:\n  id: a\ntools:\n  allowed:\n    - name: t\n      constraints:\n" + constraints;
  policy::LoadOptions options;
  options.workspace = "/home/u/proj";
  options.getenv = [](std::string_view name) -> std::optional<std::string> {
    if (name == "ORG") return "octo-org";
    return std::nullopt;
  };
  std::vector<policy::Diagnostic> diags;
  auto r = policy::ParseAgentPolicy(text, "p.yaml", &diags, options);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message) << "\n" << text;
  return r.ok() ? r.value() : nullptr;
}

struct Case {
  const char* name;
  const char* args;
  bool ok;
  const char* reason;  // substring when !ok
};

struct Suite {
  const char* name;
  const char* constraints;  // YAML under `constraints:` (8 spaces of indentation)
  const char* rule;         // expected Decision.rule on a violation
  std::vector<Case> cases;
};

std::vector<Suite> Suites() {
  return {
      {"each_item_path_prefix",
       "        arguments:\n          \"paths[*]\":\n            path_prefix: \"${workspace}\"\n",
       R"(tools.allowed["t"].constraints.arguments["paths[*]"])",
       {{"all_inside", R"({"paths":["/home/u/proj/a","/home/u/proj/b/c"]})", true, ""},
        {"empty_array_passes", R"({"paths":[]})", true, ""},
        {"third_item_escapes", R"({"paths":["/home/u/proj/a","/home/u/proj/b","/etc/passwd"]})",
         false, R"(argument paths[2] resolves to "/etc/passwd")"},
        {"dotdot_escape", R"({"paths":["/home/u/proj/../../../etc/shadow"]})", false,
         "argument paths[0] resolves to \"/etc/shadow\""},
        {"sibling_prefix", R"({"paths":["/home/u/project2/x"]})", false, "paths[0]"},
        {"string_instead_of_array", R"({"paths":"/etc/passwd"})", false,
         "argument paths[*]: paths must be an array, got a string"},
        {"null_item", R"({"paths":["/home/u/proj/a",null]})", false, "argument paths[1] is null"},
        {"number_item", R"({"paths":[1]})", false, "argument paths[0] must be a string"},
        {"missing_array", R"({})", false, "argument paths is missing"}}},
      {"object_field",
       "        arguments:\n          options.recursive:\n            one_of: [false]\n",
       R"(tools.allowed["t"].constraints.arguments["options.recursive"])",
       {{"false", R"({"options":{"recursive":false}})", true, ""},
        {"true_refused", R"({"options":{"recursive":true}})", false,
         "argument options.recursive is true; allowed: false"},
        {"missing_field", R"({"options":{}})", false, "argument options.recursive is missing"},
        {"missing_object", R"({})", false, "argument options is missing"},
        {"array_not_object", R"({"options":[{"recursive":false}]})", false,
         "options must be an object, got an array"}}},
      {"optional_nested",
       "        arguments:\n          options.recursive:\n            optional: true\n"
       "            one_of: [false]\n",
       R"(tools.allowed["t"].constraints.arguments["options.recursive"])",
       {{"missing_object_skips", R"({})", true, ""},
        {"null_field_skips", R"({"options":{"recursive":null}})", true, ""},
        {"present_checked", R"({"options":{"recursive":true}})", false, "allowed: false"},
        {"wrong_type_still_violates", R"({"options":"x"})", false, "must be an object"}}},
      {"field_of_every_item_max_bytes",
       "        arguments:\n          \"edits[*].oldText\":\n            max_bytes: 4\n",
       R"(tools.allowed["t"].constraints.arguments["edits[*].oldText"])",
       {{"short", R"({"edits":[{"oldText":"abcd"},{"oldText":""}]})", true, ""},
        {"utf8_bytes_not_chars", R"({"edits":[{"oldText":"\u00e9\u00e9\u00e9"}]})", false,
         "argument edits[0].oldText is 6 bytes"},
        {"second_item_missing_field", R"({"edits":[{"oldText":"a"},{}]})", false,
         "argument edits[1].oldText is missing"}}},
      {"bracketed_key",
       "        arguments:\n          '[\"a.b\"].c':\n            not_one_of: [\"x\"]\n",
       R"(tools.allowed["t"].constraints.arguments["[\"a.b\"].c"])",
       {{"other_value", R"({"a.b":{"c":"y"}})", true, ""},
        {"refused", R"({"a.b":{"c":"x"}})", false,
         R"(argument ["a.b"].c is "x", which the policy refuses)"},
        {"nested_a_b_is_not_the_key", R"({"a":{"b":{"c":"y"}}})", false, "is missing"}}},
      {"not_one_of_top_level",
       "        arguments:\n          state:\n            not_one_of: [closed, 10]\n",
       R"(tools.allowed["t"].constraints.arguments["state"])",
       {{"open", R"({"state":"open"})", true, ""},
        {"string_ten_is_not_ten", R"({"state":"10"})", true, ""},
        {"closed", R"({"state":"closed"})", false, R"(argument "state" is "closed")"},
        {"ten_as_double", R"({"state":10.0})", false, "refuses"},
        {"missing", R"({})", false, "is missing"}}},
      {"not_pattern_matches_anywhere",
       "        arguments:\n          title:\n            not_pattern: \"(?i)password\"\n",
       R"(tools.allowed["t"].constraints.arguments["title"])",
       {{"clean", R"({"title":"hello"})", true, ""},
        {"middle_of_text", R"({"title":"my PassWord is"})", false,
         "contains a match of the refused pattern"},
        {"not_a_string", R"({"title":["password"]})", false, "must be a string"}}},
      {"max_bytes_non_string_is_compact_json",
       "        arguments:\n          body:\n            max_bytes: 7\n",
       R"(tools.allowed["t"].constraints.arguments["body"])",
       {{"small_object", R"({"body":{"a":1}})", true, ""},
        {"whitespace_not_counted", R"({"body": { "a" : 1 } })", true, ""},
        {"large_object", R"({"body":{"a":12}})", false, "8 bytes as compact JSON"}}},
      {"min_items",
       "        arguments:\n          ids:\n            min_items: 1\n            max_items: 2\n",
       R"(tools.allowed["t"].constraints.arguments["ids"])",
       {{"one", R"({"ids":[1]})", true, ""},
        {"empty", R"({"ids":[]})", false, "has 0 items; the minimum is 1"},
        {"three", R"({"ids":[1,2,3]})", false, "the maximum is 2"},
        {"object", R"({"ids":{}})", false, "must be an array"}}},
      {"combination",
       "        combinations:\n          - arguments: [owner, repo]\n            one_of:\n"
       "              - [\"${env:ORG}\", website]\n              - [octo-org, docs]\n",
       R"(tools.allowed["t"].constraints.combinations[0])",
       {{"first_pair", R"({"owner":"octo-org","repo":"website"})", true, ""},
        {"second_pair", R"({"owner":"octo-org","repo":"docs"})", true, ""},
        {"crossed_pair", R"({"owner":"evil","repo":"docs"})", false,
         R"(arguments ("owner", "repo") are ("evil", "docs"))"},
        {"missing_repo", R"({"owner":"octo-org"})", false, R"(argument "repo" is missing)"},
        {"number_not_string", R"({"owner":"octo-org","repo":1})", false, "allowed"}}},
      {"combination_nested",
       "        combinations:\n          - arguments: [target.owner, target.repo]\n"
       "            one_of: [[o, r]]\n",
       R"(tools.allowed["t"].constraints.combinations[0])",
       {{"match", R"({"target":{"owner":"o","repo":"r"}})", true, ""},
        {"target_is_string", R"({"target":"o/r"})", false, "cannot be reached"}}},
      {"pattern_with_variable_is_quoted",
       "        arguments:\n          file:\n            pattern: "
       "\"${workspace}/[a-z]+\\\\.txt\"\n",
       R"(tools.allowed["t"].constraints.arguments["file"])",
       {{"inside", R"({"file":"/home/u/proj/notes.txt"})", true, ""},
        {"dot_is_literal", R"({"file":"/homeXu/proj/notes.txt"})", false, "does not match"}}},
      {"dollar_dollar_is_literal",
       "        arguments:\n          v:\n            one_of: [\"$$HOME\", \"a$b\"]\n",
       R"(tools.allowed["t"].constraints.arguments["v"])",
       {{"literal", R"({"v":"$HOME"})", true, ""},
        {"lone_dollar_kept", R"({"v":"a$b"})", true, ""},
        {"not_expanded", R"({"v":"/root"})", false, "allowed"}}},
      {"shell_fails_closed_or_checks",
       "        arguments:\n          command:\n            shell:\n              allow: [\"git "
       "status\"]\n",
       R"(tools.allowed["t"].constraints.arguments["command"])",
       {{"array_is_not_a_command", R"({"command":["git","status"]})", false, "must be a string"},
        {"rm_refused", R"({"command":"rm -rf /"})", false, "refused as a shell command"},
        {"missing", R"({})", false, "is missing"}}},
      {"url_fails_closed_or_checks",
       "        arguments:\n          url:\n            url:\n              allow: "
       "[\"https://docs.python.org/\"]\n",
       R"(tools.allowed["t"].constraints.arguments["url"])",
       {{"number_is_not_a_url", R"({"url":1})", false, "must be a string"},
        {"evil_host", R"({"url":"https://evil.example/"})", false, "refused as a URL"}}},
  };
}

TEST(ConstraintLanguage, TableOfConstraints) {
  for (const Suite& s : Suites()) {
    auto p = Load(s.constraints);
    ASSERT_NE(p, nullptr) << s.name;
    for (const Case& c : s.cases) {
      SCOPED_TRACE(std::string(s.name) + "/" + c.name);
      const std::string call = std::string(R"({"tool":"t","args":)") + c.args + "}";
      const Evaluation ev = Decide(p.get(), {}, call);
      if (c.ok) {
        EXPECT_EQ(ev.decision.verdict, Verdict::kAllow) << ev.decision.reason;
      } else {
        EXPECT_EQ(ev.decision.code, Code::kConstraintViolated) << ev.decision.reason;
        EXPECT_THAT(ev.decision.reason, HasSubstr(c.reason));
        EXPECT_EQ(ev.decision.rule, s.rule);
      }
    }
  }
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::engine
