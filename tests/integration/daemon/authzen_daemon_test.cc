// The OpenID AuthZEN 1.0 evaluation API on the daemon (issue 58, docs/gateways.md#authzen):
// the specification's example requests (its actions mapped onto a test policy's tools)
// decided as tool calls of the token's agent through the same decision as
// POST /v1/runs/{run_id}/calls, each in the audit log; a body subject naming another agent is
// decided false on the caller's record, never as that agent. Tests are named after the attack
// or the behaviour they hold.
#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "daemon_harness.h"
#include "daemon_suite.h"
#include "json_lines.h"
#include "temp_dir.h"

namespace interlock::testing {
namespace INTERLOCK_TEST_NS {

namespace json = boost::json;

// The specification's actions as tools: can_read allowed, can_delete blocked, can_transfer
// held for approval.
constexpr char kAuthzenAgent[] = R"(agent:
  id: "authzen-agent"
  identity: "authzen-agent@example.iam"
tools:
  allowed:
    - name: "can_read"
    - name: "can_transfer"
      requires_approval: true
      approval_timeout_seconds: 300
  blocked:
    - "can_delete"
execution:
  max_steps: 10000
)";

// Another agent, allowed what the first is not.
constexpr char kOtherAgent[] = R"(agent:
  id: "other-agent"
  identity: "other-agent@example.iam"
tools:
  allowed:
    - name: "can_delete"
execution:
  max_steps: 10000
)";

// AuthZEN 1.0, section 6.1's example: subject, resource, action (with properties), context.
constexpr char kSpecEvaluation[] = R"({
  "subject": {"type": "user", "id": "authzen-agent", "properties": {"department": "Sales"}},
  "resource": {"type": "account", "id": "123"},
  "action": {"name": "can_read", "properties": {"method": "GET"}},
  "context": {"time": "1985-10-26T01:22-07:00"}
})";

// An evaluation of `action` by the token's agent, on a resource.
std::string AuthzenAsk(const std::string& action, const std::string& subject = "authzen-agent") {
  return R"({"subject":{"type":"user","id":")" + subject +
         R"("},"resource":{"type":"account","id":"123"},"action":{"name":")" + action + R"("}})";
}

class AuthzenDaemonTest : public DaemonSuite {
 protected:
  void SetUp() override {
    const std::string policies =
        WritePolicies({{"authzen-agent.yaml", kAuthzenAgent}, {"other-agent.yaml", kOtherAgent}});
    MakeDaemon(policies);
    agent_ = Token("--agent", "authzen-agent");
    reviewer_ = Token("--reviewer", "rita");
    StartDaemon();
  }

  HttpResult Evaluate(const std::string& body, const std::string& token,
                      const std::string& route = "/access/v1/evaluation",
                      const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    return client_->Request("POST", route, body, token, std::chrono::seconds(15), headers);
  }

  // The audit's record of decision `call_id` (GET /v1/calls/{id} as a reviewer).
  json::value Recorded(const std::string& call_id) {
    HttpResult r = client_->Request("GET", "/v1/calls/" + call_id, "", reviewer_);
    EXPECT_EQ(r.status, 200) << call_id << ": " << r.body;
    return r.json;
  }

  std::string agent_, reviewer_;
};

// Tests the specification's example (section 6.1): allowed, decided as the call can_read of
// the token's agent with the arguments the mapping names, and in the audit log.
TEST_F(AuthzenDaemonTest, SpecExampleIsDecidedAsTheTokensToolCallAndAudited) {
  HttpResult r = Evaluate(kSpecEvaluation, agent_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(r.json.at("decision").as_bool()) << r.body;
  const json::value& ctx = r.json.at("context");
  EXPECT_EQ(Str(ctx, "code"), "ALLOWED") << r.body;
  const std::string run_id = Str(ctx, "run_id");
  EXPECT_EQ(run_id.rfind("az-", 0), 0u) << r.body;
  json::value rec = Recorded(Str(ctx, "decision_id"));
  EXPECT_EQ(Str(rec, "agent_id"), "authzen-agent") << json::serialize(rec);
  EXPECT_EQ(Str(rec, "tool"), "can_read");
  HttpResult replay = client_->Request("GET", "/v1/runs/" + run_id + "/replay", "", reviewer_);
  ASSERT_EQ(replay.status, 200) << replay.body;
  for (const char* arg : {"resource_type", "resource_id", "1985-10-26T01:22-07:00", "method"}) {
    EXPECT_NE(replay.body.find(arg), std::string::npos) << arg << ": " << replay.body;
  }
  EXPECT_EQ(replay.body.find("department"), std::string::npos) << "subject.properties is not read";
}

// Tests that a blocked tool is decision false with its code and reason, audited.
TEST_F(AuthzenDaemonTest, BlockedToolIsDecisionFalseWithItsCode) {
  HttpResult r = Evaluate(AuthzenAsk("can_delete"), agent_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(r.json.at("decision").as_bool());
  const json::value& ctx = r.json.at("context");
  EXPECT_EQ(Str(ctx, "code"), "TOOL_BLOCKED") << r.body;
  EXPECT_FALSE(Str(ctx.at("reason_user"), "en").empty()) << r.body;
  EXPECT_EQ(Str(Recorded(Str(ctx, "decision_id")), "code"), "TOOL_BLOCKED");
}

// Tests that a tool held for approval is decision false naming the approval, and that once a
// reviewer approves, the identical evaluation asked again is true exactly once.
TEST_F(AuthzenDaemonTest, ApprovalIsDecisionFalseThenTheIdenticalAskIsAllowedOnce) {
  HttpResult held = Evaluate(AuthzenAsk("can_transfer"), agent_);
  ASSERT_EQ(held.status, 200) << held.body;
  EXPECT_FALSE(held.json.at("decision").as_bool());
  const json::value& ctx = held.json.at("context");
  EXPECT_EQ(Str(ctx, "code"), "APPROVAL_REQUIRED") << held.body;
  const std::string approval = Str(ctx.at("approval"), "approval_id");
  ASSERT_FALSE(approval.empty()) << held.body;
  EXPECT_EQ(Str(ctx.at("approval"), "retry"), "identical-call");
  HttpResult vote = client_->Request(
      "POST", "/v1/approvals/" + approval,
      json::serialize(json::object{{"verdict", "approve"}, {"comment", "ok"}}), reviewer_);
  ASSERT_EQ(vote.status, 200) << vote.body;
  HttpResult again = Evaluate(AuthzenAsk("can_transfer"), agent_);
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_TRUE(again.json.at("decision").as_bool()) << again.body;
  HttpResult third = Evaluate(AuthzenAsk("can_transfer"), agent_);
  EXPECT_FALSE(third.json.at("decision").as_bool()) << third.body;
}

// The attack: a body subject naming another agent (whose policy allows can_delete). It is
// decided false (INVALID_REQUEST) on the caller's own record, never as the other agent; in a
// batch only that entry; and a body naming the subject twice (JSON duplicate keys, the
// second the other agent) is refused before anything is decided.
TEST_F(AuthzenDaemonTest, SubjectImpersonationIsNeverDecidedAsTheOtherAgent) {
  HttpResult r = Evaluate(AuthzenAsk("can_delete", "other-agent"), agent_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(r.json.at("decision").as_bool()) << r.body;
  EXPECT_EQ(Str(r.json.at("context"), "code"), "INVALID_REQUEST") << r.body;
  json::value rec = Recorded(Str(r.json.at("context"), "decision_id"));
  EXPECT_EQ(Str(rec, "agent_id"), "authzen-agent") << json::serialize(rec);
  EXPECT_EQ(Str(rec, "code"), "INVALID_REQUEST");

  HttpResult batch = Evaluate(R"({"resource":{"type":"account","id":"1"},"evaluations":[
      {"subject":{"type":"user","id":"authzen-agent"},"action":{"name":"can_read"}},
      {"subject":{"type":"agent","id":"other-agent"},"action":{"name":"can_delete"}}]})",
                              agent_, "/access/v1/evaluations");
  ASSERT_EQ(batch.status, 200) << batch.body;
  const json::array& e = batch.json.at("evaluations").as_array();
  ASSERT_EQ(e.size(), 2u) << batch.body;
  EXPECT_TRUE(e[0].at("decision").as_bool());
  EXPECT_FALSE(e[1].at("decision").as_bool());
  EXPECT_EQ(Str(e[1].at("context"), "code"), "INVALID_REQUEST");

  HttpResult twice = Evaluate(R"({"subject":{"type":"user","id":"authzen-agent"},
      "subject":{"type":"agent","id":"other-agent"},
      "resource":{"type":"account","id":"1"},"action":{"name":"can_delete"}})",
                              agent_);
  EXPECT_EQ(twice.status, 400) << twice.body;
  EXPECT_EQ(twice.body.find("\"decision\":true"), std::string::npos) << twice.body;
}

// Section 7's example shape: top-level defaults and three evaluations, answered in order;
// each semantic: execute_all answers all, deny_on_first_deny stops at the first deny,
// permit_on_first_permit at the first permit. Every answer is a decision in the audit.
TEST_F(AuthzenDaemonTest, EvaluationsInOrderWithEachSemantic) {
  const std::string entries = R"("evaluations":[
      {"action":{"name":"can_delete"},"resource":{"type":"document","id":"boxcarring.md"}},
      {"action":{"name":"can_read"},"resource":{"type":"document","id":"subject-search.md"}},
      {"action":{"name":"can_delete"},"resource":{"type":"document","id":"search.md"}}])";
  const std::string defaults =
      R"("subject":{"type":"user","id":"authzen-agent"},"context":{"time":"2024-05-31T15:22-07:00"},)";
  auto ask = [&](const std::string& semantic) {
    std::string body = "{" + defaults + entries;
    if (!semantic.empty()) body += R"(,"options":{"evaluations_semantic":")" + semantic + "\"}";
    body += "}";
    HttpResult r = Evaluate(body, agent_, "/access/v1/evaluations");
    EXPECT_EQ(r.status, 200) << r.body;
    std::string decisions;
    for (const json::value& e : r.json.at("evaluations").as_array()) {
      decisions += e.at("decision").as_bool() ? "T" : "F";
      EXPECT_FALSE(Str(Recorded(Str(e.at("context"), "decision_id")), "code").empty());
    }
    return decisions;
  };
  EXPECT_EQ(ask(""), "FTF");
  EXPECT_EQ(ask("execute_all"), "FTF");
  EXPECT_EQ(ask("deny_on_first_deny"), "F");
  EXPECT_EQ(ask("permit_on_first_permit"), "FT");
}

// Tests that wrong shapes are 400 with `decision` false and a reason naming the field, and
// that nothing is decided for them.
TEST_F(AuthzenDaemonTest, MalformedRequestsAre400NamingTheFieldAndDecisionFalse) {
  const std::string subject = R"("subject":{"type":"user","id":"authzen-agent"},)";
  const std::string resource = R"("resource":{"type":"account","id":"1"},)";
  struct Case {
    std::string body;
    const char* field;
  };
  const Case cases[] = {
      {"not json", ""},
      {"{" + subject + resource + R"("x":1})", "'x'"},
      {"{" + subject + R"("action":{"name":"can_read"}})", "resource"},
      {"{" + subject + resource + R"("action":{"name":""}})", "action.name"},
      {"{" + subject + resource + R"("action":{"name":42}})", "action.name"},
      {"{" + subject + resource + R"("action":"can_read"})", "action"},
      {"{" + subject + resource + R"("action":{"name":"can_read","verb":"x"}})", "'verb'"},
      {"{" + subject + resource + R"("action":{"name":"can_read"},"context":"x"})", "context"},
      {"{" + subject + R"("resource":{"type":"a","id":"1","properties":{"a":1}},)" +
           R"("action":{"name":"can_read"},"context":{"a":2}})",
       "'a'"},
      {"{" + subject + resource + R"("action":{"name":"can_read"},"context":{"resource_id":"2"}})",
       "resource_id"},
      {"{" + subject + resource + R"("action":{"name":")" + std::string(300, 'a') + R"("}})",
       "action"},
  };
  for (const Case& c : cases) {
    HttpResult r = Evaluate(c.body, agent_);
    EXPECT_EQ(r.status, 400) << c.body << " -> " << r.body;
    ASSERT_TRUE(r.json.is_object()) << r.body;
    EXPECT_FALSE(r.json.at("decision").as_bool()) << r.body;
    EXPECT_NE(Str(r.json, "reason").find(c.field), std::string::npos) << c.body << " -> " << r.body;
  }
  HttpResult sem = Evaluate(
      "{" + subject + resource +
          R"("evaluations":[{"action":{"name":"can_read"}}],"options":{"evaluations_semantic":"first_wins"}})",
      agent_, "/access/v1/evaluations");
  EXPECT_EQ(sem.status, 400) << sem.body;
  EXPECT_NE(sem.body.find("evaluations_semantic"), std::string::npos) << sem.body;
  HttpResult entry = Evaluate(
      "{" + subject + resource + R"("evaluations":[{"action":{"name":"can_read"}},{"action":{}}]})",
      agent_, "/access/v1/evaluations");
  EXPECT_EQ(entry.status, 400) << entry.body;
  EXPECT_NE(entry.body.find("evaluations[1].action.name"), std::string::npos) << entry.body;
  HttpResult audit = client_->Request("GET", "/v1/audit?limit=1000", "", reviewer_);
  EXPECT_EQ(audit.body.find("can_read"), std::string::npos) << "nothing decided";
}

// Tests who may ask: no token or a wrong one is 401, a reviewer's token 403 (only agents
// propose calls), on both routes.
TEST_F(AuthzenDaemonTest, NoTokenIs401AndReviewerTokenIs403) {
  for (const char* route : {"/access/v1/evaluation", "/access/v1/evaluations"}) {
    EXPECT_EQ(Evaluate(kSpecEvaluation, "", route).status, 401) << route;
    EXPECT_EQ(Evaluate(kSpecEvaluation, "not-a-token", route).status, 401) << route;
    EXPECT_EQ(Evaluate(kSpecEvaluation, reviewer_, route).status, 403) << route;
  }
}

// Tests the run: X-Interlock-Run names a run of the caller's and the evaluation is decided
// there; an unknown run is 404, another agent's run 403 (never decided in it), and a value
// that is no run id 400.
TEST_F(AuthzenDaemonTest, NamedRunIsUsedAndAnotherAgentsRunIsRefused) {
  HttpResult run = client_->Request("POST", "/v1/runs", "", agent_);
  ASSERT_EQ(run.status, 201) << run.body;
  const std::string run_id = Str(run.json, "run_id");
  HttpResult r =
      Evaluate(kSpecEvaluation, agent_, "/access/v1/evaluation", {{"X-Interlock-Run", run_id}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(r.json.at("decision").as_bool()) << r.body;
  EXPECT_EQ(Str(r.json.at("context"), "run_id"), run_id);
  EXPECT_EQ(Str(Recorded(Str(r.json.at("context"), "decision_id")), "run_id"), run_id);
  EXPECT_EQ(
      Evaluate(kSpecEvaluation, agent_, "/access/v1/evaluation", {{"X-Interlock-Run", "nope"}})
          .status,
      404);
  EXPECT_EQ(Evaluate(kSpecEvaluation, agent_, "/access/v1/evaluation",
                     {{"X-Interlock-Run", "not a run id!"}})
                .status,
            400);
  const std::string other = CreateToken(daemon_->store(), "--agent", "other-agent");
  HttpResult theirs = client_->Request("POST", "/v1/runs", "", other);
  ASSERT_EQ(theirs.status, 201) << theirs.body;
  HttpResult stolen = Evaluate(kSpecEvaluation, agent_, "/access/v1/evaluations",
                               {{"X-Interlock-Run", Str(theirs.json, "run_id")}});
  EXPECT_EQ(stolen.status, 403) << stolen.body;
  EXPECT_EQ(stolen.body.find("\"decision\":true"), std::string::npos) << stolen.body;
}

// Tests that Idempotency-Key is refused (400) rather than silently ignored: an AuthZEN
// evaluation asked again is decided again.
TEST_F(AuthzenDaemonTest, IdempotencyKeyIsRefusedNotIgnored) {
  HttpResult r =
      Evaluate(kSpecEvaluation, agent_, "/access/v1/evaluation", {{"Idempotency-Key", "k-1"}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("Idempotency-Key"), std::string::npos) << r.body;
}

// Tests that a store that cannot answer (locked by another connection) is decision false
// with STORE_UNAVAILABLE, never a permit, and the next evaluation once it answers is true.
TEST_F(AuthzenDaemonTest, StoreDownIsDecisionFalseNeverTrue) {
  ASSERT_EQ(Evaluate(kSpecEvaluation, agent_).status, 200);  // the AuthZEN run exists
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(daemon_->store().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  HttpResult r = Evaluate(kSpecEvaluation, agent_);
  sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  ASSERT_TRUE(r.json.is_object()) << r.body;
  EXPECT_FALSE(r.json.at("decision").as_bool()) << r.body;
  EXPECT_EQ(Str(r.json.at("context"), "code"), "STORE_UNAVAILABLE") << r.body;
  HttpResult after = Evaluate(kSpecEvaluation, agent_);
  ASSERT_EQ(after.status, 200) << after.body;
  EXPECT_TRUE(after.json.at("decision").as_bool()) << after.body;
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::testing
