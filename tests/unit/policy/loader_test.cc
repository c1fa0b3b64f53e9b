#include "policy/loader.h"
#include "temp_dir.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace interlock::policy {
namespace INTERLOCK_TEST_NS {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const std::string kExamples = std::string(INTERLOCK_SOURCE_DIR) + "/examples/policies";

Result<std::shared_ptr<const AgentPolicy>> Parse(std::string_view text,
                                                 std::vector<Diagnostic>* diags = nullptr) {
  return ParseAgentPolicy(text, "p.yaml", diags);
}

std::shared_ptr<const AgentPolicy> MustParse(std::string_view text) {
  auto r = Parse(text);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? r.value() : nullptr;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

using ::interlock::testing::TempDir;

// Tests that the seed's agent-policy.yaml loads into exactly the model the seed describes.
TEST(PolicyLoaderTest, SeedLoadsToExpectedModel) {
  const std::string file = kExamples + "/support-agent-v2.yaml";
  auto set = LoadPolicySet({file}, nullptr);
  ASSERT_TRUE(set.ok()) << set.error().message;
  const AgentPolicy* p = set.value()->Find("support-agent-v2");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->identity, "support-agent@myco.iam");
  EXPECT_EQ(p->file, file);
  EXPECT_EQ(p->sha256.size(), 64u);
  EXPECT_EQ(p->mode, Mode::kEnforce);
  EXPECT_EQ(p->autonomy, Autonomy::kExceptionBased);
  ASSERT_EQ(p->allowed.size(), 3u);

  const ToolRule& read = p->allowed.at("read_customer_record");
  ASSERT_TRUE(read.scope.has_value());
  EXPECT_EQ(*read.scope,
            (std::vector<std::string>{"customer_id", "order_history", "contact_info"}));
  EXPECT_EQ(read.scope_argument, "fields");
  EXPECT_EQ(read.at.ToString(), file + ":7:7");
  EXPECT_FALSE(read.requires_approval.has_value());

  const ToolRule& update = p->allowed.at("update_order_status");
  EXPECT_EQ(update.max_records_per_run, 10u);
  ASSERT_EQ(update.constraints.size(), 1u);
  const ArgConstraint& status = update.constraints[0];
  EXPECT_EQ(status.argument, "status");
  EXPECT_EQ(status.rule, "tools.allowed[\"update_order_status\"].constraints.allowed_statuses");
  EXPECT_EQ(status.at.ToString(), file + ":12:9");
  EXPECT_FALSE(status.optional);
  ASSERT_EQ(status.one_of.size(), 3u);
  EXPECT_EQ(status.one_of[0], boost::json::value("cancelled"));
  EXPECT_EQ(status.one_of[1], boost::json::value("refunded"));
  EXPECT_EQ(status.one_of[2], boost::json::value("processing"));

  const ToolRule& email = p->allowed.at("send_customer_email");
  EXPECT_EQ(email.requires_approval, true);
  EXPECT_EQ(email.approval_timeout_seconds, 300);
  EXPECT_TRUE(email.auto_deny_on_timeout);
  EXPECT_EQ(email.approvals_required, 1);

  ASSERT_EQ(p->blocked.size(), 3u);
  EXPECT_EQ(p->blocked.count("delete_customer_record"), 1u);
  EXPECT_EQ(p->blocked.count("access_payment_raw"), 1u);
  EXPECT_EQ(p->blocked.count("bulk_send_email"), 1u);
  EXPECT_EQ(p->blocked.at("access_payment_raw").ToString(), file + ":19:7");

  EXPECT_EQ(p->execution.max_steps, 25u);
  EXPECT_EQ(p->execution.max_tokens_per_run, 50000u);
  EXPECT_EQ(p->execution.max_wall_clock_ms, 120000);
  EXPECT_EQ(p->execution.max_cost_micros, 2000000);
  EXPECT_EQ(p->execution.on_budget_exceeded, BudgetAction::kHaltAndEscalate);
  EXPECT_EQ(p->execution.notify, "#oncall-agents");
  EXPECT_TRUE(p->escalation_contacts.empty());
  EXPECT_TRUE(p->freezes.empty());
  EXPECT_EQ(p->trust_threshold, 200u);
}

// Tests that every example policy loads together, without errors, as one PolicySet.
TEST(PolicyLoaderTest, EveryExampleLoads) {
  std::vector<Diagnostic> diags;
  auto set = LoadPolicySet({kExamples}, &diags);
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_NE(set.value()->Find("support-agent-v2"), nullptr);
  EXPECT_NE(set.value()->Find("deploy-agent"), nullptr);
  EXPECT_NE(set.value()->Find("coding-agent"), nullptr);
  EXPECT_EQ(set.value()->sha256.size(), 64u);
  for (const Diagnostic& d : diags) EXPECT_NE(d.severity, Diagnostic::Severity::kError);
}

// Tests that the deploy example carries its two-person gate, freeze and escalation.
TEST(PolicyLoaderTest, DeployExampleModel) {
  auto r = LoadPolicySet({kExamples + "/deploy-agent.yaml"}, nullptr);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const AgentPolicy* p = r.value()->Find("deploy-agent");
  ASSERT_NE(p, nullptr);
  const ToolRule& del = p->allowed.at("delete_environment");
  EXPECT_EQ(del.reversible, false);
  EXPECT_EQ(del.approvals_required, 2);
  EXPECT_EQ(del.blast_radius, BlastRadius::kLarge);
  EXPECT_EQ(del.redact, std::vector<std::string>{"confirmation_token"});
  ASSERT_EQ(p->freezes.size(), 1u);
  EXPECT_LT(p->freezes[0].start, p->freezes[0].end);
  EXPECT_EQ(p->escalation_contacts.size(), 3u);
  const ToolRule& deploy = p->allowed.at("deploy_service");
  ASSERT_EQ(deploy.constraints.size(), 4u);
  for (const ArgConstraint& c : deploy.constraints) {
    if (c.argument == "service") {
      ASSERT_NE(c.pattern, nullptr);
      EXPECT_TRUE(RE2::FullMatch("billing-api", *c.pattern));
      EXPECT_FALSE(RE2::FullMatch("Billing api", *c.pattern));
    }
    if (c.argument == "manifest_path") {
      EXPECT_TRUE(c.optional);
      EXPECT_EQ(c.path_prefixes,
                (std::vector<std::string>{"/srv/deploy/manifests", "/srv/deploy/overlays"}));
    }
  }
}

// Tests that tools/execution nested under agent (the seed's flattened layout) give the
// same model as the top-level layout.
TEST(PolicyLoaderTest, NestedLayoutMatchesTopLevel) {
  const std::string top = ReadAll(kExamples + "/support-agent-v2.yaml");
  // Indent everything from `tools:` on by two spaces: it moves under `agent:`.
  const size_t tools = top.find("\ntools:");
  ASSERT_NE(tools, std::string::npos);
  std::string nested = top.substr(0, tools + 1);
  std::istringstream rest(top.substr(tools + 1));
  for (std::string line; std::getline(rest, line);) nested += "  " + line + "\n";
  ASSERT_THAT(nested, HasSubstr("\n  tools:\n    allowed:"));
  ASSERT_THAT(nested, HasSubstr("\n  execution:\n    max_steps: 25"));
  auto a = MustParse(top);
  auto b = MustParse(nested);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->id, b->id);
  EXPECT_EQ(a->identity, b->identity);
  ASSERT_EQ(a->allowed.size(), b->allowed.size());
  for (const auto& [name, rule] : a->allowed) {
    const ToolRule& other = b->allowed.at(name);
    EXPECT_EQ(rule.scope, other.scope);
    EXPECT_EQ(rule.max_records_per_run, other.max_records_per_run);
    EXPECT_EQ(rule.requires_approval, other.requires_approval);
    EXPECT_EQ(rule.approval_timeout_seconds, other.approval_timeout_seconds);
    ASSERT_EQ(rule.constraints.size(), other.constraints.size());
    for (size_t i = 0; i < rule.constraints.size(); ++i) {
      EXPECT_EQ(rule.constraints[i].rule, other.constraints[i].rule);
      EXPECT_EQ(rule.constraints[i].one_of, other.constraints[i].one_of);
    }
  }
  EXPECT_EQ(a->blocked.size(), b->blocked.size());
  EXPECT_EQ(a->execution.max_steps, b->execution.max_steps);
  EXPECT_EQ(a->execution.max_tokens_per_run, b->execution.max_tokens_per_run);
  EXPECT_EQ(a->execution.max_wall_clock_ms, b->execution.max_wall_clock_ms);
  EXPECT_EQ(a->execution.max_cost_micros, b->execution.max_cost_micros);
  EXPECT_EQ(a->execution.on_budget_exceeded, b->execution.on_budget_exceeded);
  EXPECT_EQ(a->execution.notify, b->execution.notify);
}

struct BadCase {
  const char* name;
  const char* yaml;
  const char* where;   // "p.yaml:line:col"
  const char* phrase;  // recognisable part of the message
};

const BadCase kBadCases[] = {
    {"unknown key typo",
     "agent:\n  id: a\ntools:\n  allowed:\n    - name: x\n"
     "      requires_aproval: true\n",
     "p.yaml:6:7", "did you mean requires_approval?"},
    {"unknown top-level key", "agent:\n  id: a\ntools: {}\nexecutoin: {}\n", "p.yaml:4:1",
     "did you mean execution?"},
    {"wrong type",
     "agent:\n  id: a\ntools:\n  allowed:\n    - name: x\n"
     "      approval_timeout_seconds: \"300\"\n",
     "p.yaml:6:33", "expected an integer, got a string"},
    {"negative bound", "agent:\n  id: a\ntools: {}\nexecution:\n  max_steps: -1\n", "p.yaml:5:14",
     "must be >= 0"},
    {"negative cost", "agent:\n  id: a\ntools: {}\nexecution:\n  max_cost_usd: -0.5\n",
     "p.yaml:5:17", "must be >= 0"},
    {"sub-micro cost", "agent:\n  id: a\ntools: {}\nexecution:\n  max_cost_usd: 0.0000001\n",
     "p.yaml:5:17", "more decimal places"},
    {"infinite cost", "agent:\n  id: a\ntools: {}\nexecution:\n  max_cost_usd: .inf\n",
     "p.yaml:5:17", "finite"},
    {"approvals out of range",
     "agent:\n  id: a\ntools:\n  allowed:\n    - name: x\n"
     "      approvals_required: 6\n",
     "p.yaml:6:27", "must be between 1 and 5"},
    {"tool allowed and blocked", "agent:\n  id: a\ntools:\n  allowed: [x]\n  blocked: [x]\n",
     "p.yaml:5:13", "both allowed"},
    {"duplicate allowed tool", "agent:\n  id: a\ntools:\n  allowed: [x, {name: x}]\n",
     "p.yaml:4:16", "listed twice in tools.allowed"},
    {"duplicate blocked tool", "agent:\n  id: a\ntools:\n  blocked:\n    - x\n    - x\n",
     "p.yaml:6:7", "listed twice in tools.blocked"},
    {"duplicate mapping key", "agent:\n  id: a\n  id: b\ntools: {}\n", "p.yaml:3:3",
     "duplicate key 'id'"},
    {"invalid regex",
     "agent:\n  id: a\ntools:\n  allowed:\n    - name: x\n      constraints:\n"
     "        arguments:\n          q:\n            pattern: \"a(\"\n",
     "p.yaml:9:22", "invalid regular expression"},
    {"bad rfc3339",
     "agent:\n  id: a\ntools: {}\nfreeze:\n  - name: f\n"
     "    start: \"2026-13-01T00:00:00Z\"\n    end: \"2026-12-02T00:00:00Z\"\n",
     "p.yaml:6:12", "RFC 3339"},
    {"freeze start after end",
     "agent:\n  id: a\ntools: {}\nfreeze:\n  - name: f\n"
     "    start: 2026-12-02T00:00:00Z\n    end: 2026-12-02T00:00:00Z\n",
     "p.yaml:7:5", "start must be before end"},
    {"uninferable allowed_ key",
     "agent:\n  id: a\ntools:\n  allowed:\n    - name: x\n"
     "      constraints:\n        allowed_x: [1]\n",
     "p.yaml:7:9", "allowed_x: cannot infer argument; use constraints.arguments"},
    {"relative path_prefix",
     "agent:\n  id: a\ntools:\n  allowed:\n    - name: x\n"
     "      constraints:\n        arguments:\n          path:\n"
     "            path_prefix: workspace/src\n",
     "p.yaml:9:26", "must be an absolute path"},
    {"climbing path_prefix",
     "agent:\n  id: a\ntools:\n  allowed:\n    - name: x\n"
     "      constraints:\n        arguments:\n          path:\n"
     "            path_prefix: [/workspace, /workspace/../etc]\n",
     "p.yaml:9:39", "'..' segment"},
    {"int overflow",
     "agent:\n  id: a\ntools: {}\nexecution:\n"
     "  max_tokens_per_run: 99999999999999999999\n",
     "p.yaml:5:23", "out of range"},
    {"yes as bool",
     "agent:\n  id: a\ntools:\n  allowed:\n    - name: x\n"
     "      requires_approval: yes\n",
     "p.yaml:6:26", "expected true or false"},
    {"empty file", "", "p.yaml:1:1", "empty"},
    {"comment-only file", "# nothing here\n", "p.yaml:1:1", "empty"},
    {"two documents", "agent: {id: a}\ntools: {}\n---\nagent: {id: b}\ntools: {}\n", "p.yaml:3:1",
     "more than one YAML document"},
    {"missing agent.id", "agent:\n  identity: x@y\ntools: {}\n", "p.yaml:1:1",
     "missing required key agent.id"},
    {"bad agent.id", "agent:\n  id: \"a b\"\ntools: {}\n", "p.yaml:2:7", "must be 1 to 128"},
    {"missing tools", "agent:\n  id: a\n", "p.yaml:1:1", "missing required key 'tools'"},
    {"tools at top level and nested", "agent:\n  id: a\n  tools: {}\ntools: {}\n", "p.yaml:3:3",
     "written both at the top level"},
    {"execution at top level and nested",
     "agent:\n  id: a\n  execution: {}\ntools: {}\nexecution: {}\n", "p.yaml:3:3",
     "written both at the top level"},
    {"sugar and arguments on one argument",
     "agent:\n  id: a\ntools:\n  allowed:\n    - name: x\n      constraints:\n"
     "        allowed_statuses: [a]\n        arguments:\n          status: {max_length: 3}\n",
     "p.yaml:9:11", "constrained both by"},
    {"empty argument constraint",
     "agent:\n  id: a\ntools:\n  allowed:\n    - name: x\n"
     "      constraints:\n        arguments:\n"
     "          q: {optional: true}\n",
     "p.yaml:8:11", "no checks"},
    {"min greater than max",
     "agent:\n  id: a\ntools:\n  allowed:\n    - name: x\n"
     "      constraints:\n        arguments:\n"
     "          n: {min: 5, max: 1}\n",
     "p.yaml:8:11", "min is greater than max"},
    {"zero max_records_per_run",
     "agent:\n  id: a\ntools:\n  allowed:\n    - name: x\n"
     "      constraints:\n        max_records_per_run: 0\n",
     "p.yaml:7:30", "must be >= 1"},
    {"control character in tool name", "agent:\n  id: a\ntools:\n  allowed: [\"a\\tb\"]\n",
     "p.yaml:4:13", "control characters"},
    {"bad enum", "agent:\n  id: a\n  mode: enforcing\ntools: {}\n", "p.yaml:3:9",
     "did you mean enforce?"},
    {"yaml syntax error", "agent:\n  id: [a\ntools: {}\n", "p.yaml:", "invalid YAML"},
    {"document is a list", "- a\n- b\n", "p.yaml:1:1", "expected a mapping, got a list"},
    {"unsupported tag", "agent:\n  id: !custom a\ntools: {}\n", "p.yaml:2:7",
     "unsupported YAML tag"},
    {"credential scope with a space",
     "agent:\n  id: a\ntools:\n  allowed:\n    - name: x\n"
     "      credential_scope: [\"repo:read admin\"]\n",
     "p.yaml:6:26", "is not an OAuth scope"},
    {"credential scope not a list",
     "agent:\n  id: a\ntools:\n  allowed:\n    - name: x\n      credential_scope: repo\n",
     "p.yaml:6:25", "list"},
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

class BadPolicyTest : public ::testing::TestWithParam<BadCase> {};

// Tests that each bad policy is rejected with its location and a recognisable message.
TEST_P(BadPolicyTest, RejectedWithLocation) {
  const BadCase& c = GetParam();
  std::vector<Diagnostic> diags;
  auto r = Parse(c.yaml, &diags);
  ASSERT_FALSE(r.ok()) << c.name;
  EXPECT_THAT(r.error().message, HasSubstr(std::string(c.where)))
      << c.name << ": " << r.error().message;
  EXPECT_THAT(r.error().message, HasSubstr(c.phrase)) << c.name << ": " << r.error().message;
  bool has_error = false;
  for (const Diagnostic& d : diags) has_error |= d.severity == Diagnostic::Severity::kError;
  EXPECT_TRUE(has_error) << c.name;
}

INSTANTIATE_TEST_SUITE_P(Table, BadPolicyTest, ::testing::ValuesIn(kBadCases),
                         [](const ::testing::TestParamInfo<BadCase>& info) {
                           std::string n;
                           for (const char* p = info.param.name; *p; ++p) {
                             n += std::isalnum(static_cast<unsigned char>(*p)) ? *p : '_';
                           }
                           return n;
                         });

// Tests that a tool's credential_scope loads as written, and that a tool without one has none.
TEST(PolicyLoaderTest, CredentialScopeLoads) {
  auto r = Parse(
      "agent:\n  id: a\ntools:\n  allowed:\n    - name: w\n"
      "      credential_scope: [\"repo:write\", \"repo:write\", \"issues:read\"]\n"
      "    - name: r\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const AgentPolicy& a = **r;
  const policy::ToolRule* w = a.Resolve("w").rule;
  ASSERT_NE(w, nullptr);
  ASSERT_TRUE(w->credential_scope.has_value());
  EXPECT_EQ(*w->credential_scope, (std::vector<std::string>{"repo:write", "issues:read"}));
  EXPECT_FALSE(a.Resolve("r").rule->credential_scope.has_value());
}

// Tests that inputs on which yaml-cpp 0.7's LoadAll loops forever are rejected promptly
// (regression: fuzz_policy_loader timeout).
TEST(PolicyLoaderTest, RegressionLoadAllInfiniteLoop) {
  for (const char* text : {"\n,\n    ", ",", "a: 1\n,\n", "[:", "{:", "[[:"}) {
    auto r = Parse(text);
    EXPECT_FALSE(r.ok()) << text;
  }
}

// Tests that every error in a file is reported, not just the first.
TEST(PolicyLoaderTest, CollectsAllErrors) {
  std::vector<Diagnostic> diags;
  auto r = Parse(
      "agent:\n  id: a\n  mode: loud\ntools:\n  allowed:\n    - name: x\n"
      "      requires_aproval: true\n      reversible: maybe\nexecution:\n  max_steps: -3\n",
      &diags);
  ASSERT_FALSE(r.ok());
  int errors = 0;
  for (const Diagnostic& d : diags) errors += d.severity == Diagnostic::Severity::kError;
  EXPECT_EQ(errors, 4) << r.error().message;
  EXPECT_THAT(r.error().message, HasSubstr("p.yaml:3:9"));
  EXPECT_THAT(r.error().message, HasSubstr("p.yaml:7:7"));
  EXPECT_THAT(r.error().message, HasSubstr("p.yaml:8:19"));
  EXPECT_THAT(r.error().message, HasSubstr("p.yaml:10:14"));
}

// Tests that the checks across fields still run when an entry has its own error: a tool
// with a bad key that is also blocked, a constraint with a bad pattern whose min exceeds
// its max, and an argument constrained twice; all reported in one pass, in file order.
TEST(PolicyLoaderTest, CrossFieldErrorsReportedBesideFieldErrors) {
  std::vector<Diagnostic> diags;
  auto r = Parse(
      "agent:\n  id: a\ntools:\n  allowed:\n"
      "    - name: refund\n      requires_approval: yes\n"  // 6: wrong type
      "    - name: lookup\n      constraints:\n"
      "        allowed_statuses: [1, [2]]\n"  // 9: bad item
      "        arguments:\n"
      "          amount: {min: 10, max: 5, pattern: \"(\"}\n"  // 11: regex; min > max
      "          status: {one_of: [a]}\n"                      // 12: constrained twice
      "  blocked:\n    - refund\n",                            // 14: allowed + blocked
      &diags);
  ASSERT_FALSE(r.ok());
  std::vector<std::string> ids;
  std::vector<int> lines;
  for (const Diagnostic& d : diags) {
    if (d.severity != Diagnostic::Severity::kError) continue;
    ids.push_back(d.id);
    lines.push_back(d.at.line);
  }
  EXPECT_THAT(ids,
              ::testing::ElementsAre("wrong-type", "wrong-type", "invalid-value", "invalid-regex",
                                     "ambiguous-constraint", "allowed-and-blocked"))
      << r.error().message;
  EXPECT_TRUE(std::is_sorted(lines.begin(), lines.end())) << r.error().message;
  EXPECT_THAT(r.error().message, HasSubstr("min is greater than max"));
  EXPECT_THAT(r.error().message, HasSubstr("p.yaml:14:7"));
}

// Tests that a quoted "10" is a string constraint value and a plain 10 an integer one.
TEST(PolicyLoaderTest, QuotedAndPlainScalarsKeepTheirType) {
  auto make = [](const char* values) {
    return std::string(
               "agent: {id: a}\ntools:\n  allowed:\n    - name: x\n      constraints:\n"
               "        allowed_statuses: ") +
           values + "\n";
  };
  auto quoted = MustParse(make("[\"10\"]"));
  auto plain = MustParse(make("[10]"));
  auto mixed = MustParse(make("[10.5, true, '10', abc, 0x1F, -7, null_ish]"));
  ASSERT_TRUE(quoted && plain && mixed);
  const auto& q = quoted->allowed.at("x").constraints.at(0).one_of;
  const auto& p = plain->allowed.at("x").constraints.at(0).one_of;
  const auto& m = mixed->allowed.at("x").constraints.at(0).one_of;
  ASSERT_EQ(q.size(), 1u);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_TRUE(q[0].is_string());
  EXPECT_EQ(q[0].as_string(), "10");
  EXPECT_TRUE(p[0].is_int64());
  EXPECT_EQ(p[0].as_int64(), 10);
  ASSERT_EQ(m.size(), 7u);
  EXPECT_TRUE(m[0].is_double());
  EXPECT_TRUE(m[1].is_bool());
  EXPECT_TRUE(m[2].is_string());
  EXPECT_TRUE(m[3].is_string());
  EXPECT_EQ(m[4].as_int64(), 31);
  EXPECT_EQ(m[5].as_int64(), -7);
  EXPECT_TRUE(m[6].is_string());
}

struct SugarCase {
  const char* key;
  const char* argument;
};

// Tests that allowed_<plural> sugar singularises by the documented rules.
TEST(PolicyLoaderTest, SugarSingularisation) {
  const SugarCase cases[] = {
      {"allowed_statuses", "status"},   {"allowed_categories", "category"},
      {"allowed_addresses", "address"}, {"allowed_environments", "environment"},
      {"allowed_boxes", "box"},         {"allowed_branches", "branch"},
      {"allowed_wishes", "wish"},       {"allowed_waltzes", "waltz"},
      {"allowed_regions", "region"},
  };
  for (const SugarCase& c : cases) {
    auto p = MustParse(std::string("agent: {id: a}\ntools:\n  allowed:\n    - name: x\n"
                                   "      constraints:\n        ") +
                       c.key + ": [v]\n");
    ASSERT_TRUE(p) << c.key;
    EXPECT_EQ(p->allowed.at("x").constraints.at(0).argument, c.argument) << c.key;
    EXPECT_EQ(p->allowed.at("x").constraints.at(0).rule,
              std::string("tools.allowed[\"x\"].constraints.") + c.key);
  }
}

// Tests that argument constraints keep every check and normalise path prefixes.
TEST(PolicyLoaderTest, ArgumentConstraintsParsed) {
  auto p = MustParse(
      "agent: {id: a}\ntools:\n  allowed:\n    - name: x\n      constraints:\n"
      "        arguments:\n"
      "          path: {path_prefix: \"/workspace//src/./\"}\n"
      "          n: {min: -1.5, max: 10, optional: true}\n"
      "          s: {max_length: 0, pattern: \"[a-z]+\"}\n"
      "          l: {max_items: 3, one_of: [1, \"1\"]}\n");
  ASSERT_TRUE(p);
  const auto& cs = p->allowed.at("x").constraints;
  ASSERT_EQ(cs.size(), 4u);
  EXPECT_EQ(cs[0].argument, "path");
  EXPECT_EQ(cs[0].rule, "tools.allowed[\"x\"].constraints.arguments[\"path\"]");
  EXPECT_EQ(cs[0].at.ToString(), "p.yaml:7:11");
  EXPECT_EQ(cs[0].path_prefixes, std::vector<std::string>{"/workspace/src"});
  EXPECT_EQ(cs[1].min, -1.5);
  EXPECT_EQ(cs[1].max, 10.0);
  EXPECT_TRUE(cs[1].optional);
  EXPECT_EQ(cs[2].max_length, 0u);
  ASSERT_NE(cs[2].pattern, nullptr);
  EXPECT_EQ(cs[3].max_items, 3u);
  ASSERT_EQ(cs[3].one_of.size(), 2u);
  EXPECT_TRUE(cs[3].one_of[0].is_int64());
  EXPECT_TRUE(cs[3].one_of[1].is_string());
}

// Tests that decimal budgets convert exactly to integer micro-dollars and milliseconds.
TEST(PolicyLoaderTest, ExactDecimalBudgets) {
  struct Case {
    const char* cost;
    int64_t micros;
  };
  const Case cases[] = {{"2.00", 2000000}, {"0", 0},        {"0.000001", 1},   {"1e3", 1000000000},
                        {"12", 12000000},  {"0.1", 100000}, {"2.5E-1", 250000}};
  for (const Case& c : cases) {
    auto p = MustParse(std::string("agent: {id: a}\ntools: {}\nexecution:\n  max_cost_usd: ") +
                       c.cost + "\n  max_wall_clock_seconds: 1.5\n");
    ASSERT_TRUE(p) << c.cost;
    EXPECT_EQ(p->execution.max_cost_micros, c.micros) << c.cost;
    EXPECT_EQ(p->execution.max_wall_clock_ms, 1500);
  }
  EXPECT_FALSE(Parse("agent: {id: a}\ntools: {}\nexecution:\n  max_cost_usd: 1e20\n").ok());
  EXPECT_FALSE(Parse("agent: {id: a}\ntools: {}\nexecution:\n  max_cost_usd: \"2\"\n").ok());
}

// Tests that a bare string in tools.allowed is a tool with no extras, with defaults.
TEST(PolicyLoaderTest, BareToolNameAndDefaults) {
  auto p = MustParse("agent: {id: a}\ntools:\n  allowed:\n    - search_docs\n");
  ASSERT_TRUE(p);
  const ToolRule& t = p->allowed.at("search_docs");
  EXPECT_EQ(t.at.ToString(), "p.yaml:4:7");
  EXPECT_FALSE(t.scope.has_value());
  EXPECT_EQ(t.scope_argument, "fields");
  EXPECT_FALSE(t.requires_approval.has_value());
  EXPECT_TRUE(t.auto_deny_on_timeout);
  EXPECT_EQ(t.approvals_required, 1);
  EXPECT_EQ(t.blast_radius, BlastRadius::kSmall);
  EXPECT_FALSE(t.autonomy.has_value());
  EXPECT_EQ(p->execution.on_budget_exceeded, BudgetAction::kHalt);
}

// Tests that anchors and aliases are accepted.
TEST(PolicyLoaderTest, AnchorsAndAliases) {
  auto p = MustParse(
      "agent: {id: a}\ntools:\n  allowed:\n"
      "    - name: x\n      scope: &fields [a, b]\n    - name: y\n      scope: *fields\n");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->allowed.at("y").scope, p->allowed.at("x").scope);
}

// Tests that two files in a directory with the same agent.id are rejected at the second.
TEST(PolicyLoaderTest, DuplicateAgentIdAcrossFiles) {
  TempDir dir;
  dir.Write("a.yaml", "agent:\n  id: same\ntools: {}\n");
  const std::string b = dir.Write("b.yml", "# second\nagent:\n  id: same\ntools: {}\n");
  dir.Write("notes.txt", "ignored");
  auto r = LoadPolicySet({dir.path()}, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr(b + ":3:3"));
  EXPECT_THAT(r.error().message, HasSubstr("agent.id 'same' is already defined"));
}

// Tests that two agents sharing one service-account identity are rejected.
TEST(PolicyLoaderTest, DuplicateIdentityAcrossFiles) {
  TempDir dir;
  dir.Write("a.yaml", "agent:\n  id: a\n  identity: svc@x\ntools: {}\n");
  const std::string b = dir.Write("b.yaml", "agent:\n  id: b\n  identity: svc@x\ntools: {}\n");
  auto r = LoadPolicySet({dir.path()}, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr(b + ":3:3"));
  EXPECT_THAT(r.error().message, HasSubstr("already used by agent 'a'"));
}

// Tests that properties beside the policies (`interlock prove`, *.props.yaml / *.props.yml)
// are no policy: a directory holding them loads its policies only.
TEST(PolicyLoaderTest, PropertiesFilesBesideThePoliciesAreSkipped) {
  TempDir dir;
  dir.Write("a.yaml", "agent:\n  id: a\n  identity: svc@x\ntools: {}\n");
  dir.Write("a.props.yaml", "properties:\n  - {name: p, never_allowed: x}\n");
  dir.Write("b.props.yml", "properties: []\n");
  auto r = LoadPolicySet({dir.path()}, nullptr);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)->agents.size(), 1u);
  TempDir only;
  only.Write("a.props.yaml", "properties: []\n");
  EXPECT_FALSE(LoadPolicySet({only.path()}, nullptr).ok());
}

// Tests file-level errors: a missing path, a directory without policies, no paths.
TEST(PolicyLoaderTest, FileLevelErrors) {
  TempDir dir;
  dir.Write("readme.md", "# not a policy");
  auto empty_dir = LoadPolicySet({dir.path()}, nullptr);
  ASSERT_FALSE(empty_dir.ok());
  EXPECT_THAT(empty_dir.error().message, HasSubstr("no *.yaml or *.yml"));
  auto missing = LoadPolicySet({dir.path() + "/nope.yaml"}, nullptr);
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.error().message, HasSubstr("nope.yaml: error: no such file"));
  EXPECT_FALSE(LoadPolicySet({}, nullptr).ok());
}

// Tests that a file named explicitly loads whatever its extension, and once when named twice.
TEST(PolicyLoaderTest, ExplicitFileAnyExtension) {
  TempDir dir;
  const std::string f = dir.Write("policy.txt", "agent: {id: a}\ntools: {}\n");
  auto r = LoadPolicySet({f, f}, nullptr);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value()->agents.size(), 1u);
}

// Tests that the set digest depends on every file's bytes and is order-independent.
TEST(PolicyLoaderTest, SetDigest) {
  TempDir dir;
  const std::string a = dir.Write("a.yaml", "agent: {id: a}\ntools: {}\n");
  const std::string b = dir.Write("b.yaml", "agent: {id: b}\ntools: {}\n");
  auto ab = LoadPolicySet({a, b}, nullptr);
  auto ba = LoadPolicySet({b, a}, nullptr);
  ASSERT_TRUE(ab.ok() && ba.ok());
  EXPECT_EQ(ab.value()->sha256, ba.value()->sha256);
  dir.Write("b.yaml", "agent: {id: b}\ntools: {}\n# changed\n");
  auto changed = LoadPolicySet({a, b}, nullptr);
  ASSERT_TRUE(changed.ok());
  EXPECT_NE(changed.value()->sha256, ab.value()->sha256);
  EXPECT_EQ(changed.value()->Find("a")->sha256, ab.value()->Find("a")->sha256);
  EXPECT_EQ(changed.value()->Find("zzz"), nullptr);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::policy
