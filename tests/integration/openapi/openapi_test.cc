// docs/openapi.yaml against the daemon, both ways (issue 19, "The API becomes a contract"):
// (a) a real `interlock serve` (127.0.0.1 port 0, temp store) is driven through every
// documented route; every answer's status must be documented for its operation and its
// JSON body must fit the documented schema, and every documented status must have been
// provoked (but the few listed in kNotProvoked, each with its reason); (b) the routes the
// daemon serves (server::ApiRoutes, the router's table) are exactly the documented ones.
// A doctored copy of the document proves the checks catch drift.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "daemon_harness.h"
#include "doors/http_api/api.h"
#include "json_lines.h"
#include "openapi_check.h"
#include "subprocess.h"
#include "temp_dir.h"
#include "wait.h"

namespace interlock::testing {
namespace INTERLOCK_TEST_NS {

namespace json = boost::json;

std::string ReadSpecText() {
  std::ifstream in(std::string(INTERLOCK_SOURCE_DIR) + "/docs/openapi.yaml");
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::set<std::string> ServedRoutes() {
  std::set<std::string> out;
  for (const server::ApiRoute& r : server::ApiRoutes()) {
    out.insert(std::string(r.method) + " " + std::string(r.path));
  }
  return out;
}

// Documented statuses this test does not provoke, with the reason (each is covered by the
// suite named, or cannot be provoked against a healthy daemon).
const std::map<std::string, std::string> kNotProvoked = {
    {"GET /readyz 503", "needs a store that is down (fleet_pgtest)"},
    {"GET /v1/governance/drift 429",
     "needs reports slower than this test: ReportCache.QueueIsBounded"},
    {"GET /v1/governance/trust 429",
     "needs reports slower than this test: ReportCache.QueueIsBounded"},
    {"GET /v1/governance/fatigue 429",
     "needs reports slower than this test: ReportCache.QueueIsBounded"},
    {"GET /v1/runs/{run_id}/replay 503", "needs a store that is down (fleet_pgtest)"},
    {"GET /v1/drills 503", "needs a store that is down (as the other reads)"},
    {"POST /v1/drills 503", "needs a store that is down (as the other reads)"},
    {"POST /v1/drills 409", "needs two drills at once on one daemon; a drill takes milliseconds"},
    {"POST /mcp/{upstream} 200", "MCP sessions: mcp_http_test"},
    {"POST /mcp/{upstream} 202", "MCP sessions: mcp_http_test"},
    {"POST /mcp/{upstream} 400", "MCP sessions: mcp_http_test"},
    {"POST /mcp/{upstream} 401", "MCP sessions: mcp_http_test"},
    {"POST /mcp/{upstream} 403", "MCP sessions: mcp_http_test"},
    {"POST /mcp/{upstream} 406", "MCP sessions: mcp_http_test"},
    {"POST /mcp/{upstream} 413", "MCP sessions: mcp_http_test"},
    {"POST /mcp/{upstream} 429", "MCP sessions: mcp_http_test"},
    {"POST /mcp/{upstream} 503", "MCP sessions: mcp_http_test"},
    {"GET /mcp/{upstream} 200", "MCP sessions: mcp_http_test"},
    {"GET /mcp/{upstream} 400", "MCP sessions: mcp_http_test"},
    {"GET /mcp/{upstream} 406", "MCP sessions: mcp_http_test"},
    {"GET /mcp/{upstream} 409", "MCP sessions: mcp_http_test"},
    {"DELETE /mcp/{upstream} 204", "MCP sessions: mcp_http_test"},
    {"GET /ui/oidc/login 302", "OpenID Connect sign-in: oidc_signin_test"},
    {"GET /ui/oidc/login 503", "OpenID Connect sign-in: oidc_signin_test"},
    {"GET /ui/oidc/callback 302", "OpenID Connect sign-in: oidc_signin_test"},
    {"GET /ui/oidc/callback 400", "OpenID Connect sign-in: oidc_signin_test"},
    {"GET /ui/oidc/callback 403", "OpenID Connect sign-in: oidc_signin_test"},
    {"GET /ui/oidc/callback 503", "OpenID Connect sign-in: oidc_signin_test"},
    {"POST /ui/oidc/logout 204", "OpenID Connect sign-in: oidc_signin_test"},
    {"POST /ui/oidc/logout 403", "OpenID Connect sign-in: oidc_signin_test"},
    {"POST /v1/slack/interactions 200", "Slack callbacks: slack_integration_test"},
    {"POST /v1/slack/interactions 400", "Slack callbacks: slack_integration_test"},
    {"POST /v1/slack/interactions 401", "Slack callbacks: slack_integration_test"},
};

constexpr char kPolicy[] = R"(agent:
  id: "support"
  identity: "support@example.iam"
  autonomy: audit_based
tools:
  allowed:
    - name: "read"
    - name: "send"
      requires_approval: true
      constraints:
        arguments:
          to: {one_of: ["x", "y"], optional: true}
    - name: "deploy"
      rehearse: {args: {dry_run: true}}
egress:
  allow: ["127.0.0.1:9"]
execution:
  max_steps: 1000
)";

constexpr char kOtherPolicy[] = R"(agent:
  id: "other"
  identity: "other@example.iam"
tools:
  allowed: [read]
)";

// (b) The daemon serves exactly the documented routes.
TEST(OpenApi, ServedRoutesAreExactlyTheDocumentedOnes) {
  OpenApiSpec spec;
  std::string error;
  ASSERT_TRUE(spec.Load(ReadSpecText(), &error)) << error;
  const std::vector<std::string> drift = RouteDrift(spec.Routes(), ServedRoutes());
  EXPECT_TRUE(drift.empty()) << ::testing::PrintToString(drift);
}

// A route the daemon serves that the document lacks is caught.
TEST(OpenApi, UndocumentedRouteFailsTheCheck) {
  OpenApiSpec spec;
  std::string error;
  ASSERT_TRUE(spec.Load(ReadSpecText(), &error)) << error;
  spec.root().at("paths").as_object().erase("/v1/runs/{run_id}/usage");
  const std::vector<std::string> drift = RouteDrift(spec.Routes(), ServedRoutes());
  ASSERT_EQ(drift.size(), 1u) << ::testing::PrintToString(drift);
  EXPECT_EQ(drift[0], "undocumented: POST /v1/runs/{run_id}/usage");
}

// A documented route the daemon does not serve is caught too.
TEST(OpenApi, DocumentedRouteTheDaemonLacksFailsTheCheck) {
  OpenApiSpec spec;
  std::string error;
  ASSERT_TRUE(spec.Load(ReadSpecText(), &error)) << error;
  spec.root().at("paths").as_object()["/v1/runs/{run_id}/pause"] =
      json::object{{"post", json::object{{"responses", json::object{}}}}};
  const std::vector<std::string> drift = RouteDrift(spec.Routes(), ServedRoutes());
  ASSERT_EQ(drift.size(), 1u) << ::testing::PrintToString(drift);
  EXPECT_EQ(drift[0], "not served: POST /v1/runs/{run_id}/pause");
}

// An answer whose shape left the documented schema is caught: a required member missing, a
// wrong type, a value outside an enum, an undocumented status.
TEST(OpenApi, AnswerOutsideTheSchemaFailsTheCheck) {
  OpenApiSpec spec;
  std::string error;
  ASSERT_TRUE(spec.Load(ReadSpecText(), &error)) << error;
  const std::string path = "/v1/runs/{run_id}/calls";
  EXPECT_TRUE(
      spec.CheckAnswer("POST", path, 200, R"({"decision":"allow","code":"ALLOWED","reason":"ok"})")
          .empty());
  EXPECT_FALSE(
      spec.CheckAnswer("POST", path, 200, R"({"decision":"allow","code":"ALLOWED"})").empty());
  EXPECT_FALSE(
      spec.CheckAnswer("POST", path, 200, R"({"decision":"maybe","code":"ALLOWED","reason":""})")
          .empty());
  EXPECT_FALSE(
      spec.CheckAnswer("POST", path, 200, R"({"decision":"allow","code":"ALLOWED","reason":1})")
          .empty());
  EXPECT_FALSE(spec.CheckAnswer("POST", path, 299, "").empty());
  EXPECT_FALSE(spec.CheckAnswer("POST", path, 200, "not json").empty());
}

// (a) Every documented route against a real daemon.
class OpenApiDaemon : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(spec_.Load(ReadSpecText(), &error)) << error;
    const std::string policies = dir_.path() + "/policies";
    std::filesystem::create_directories(policies);
    std::ofstream(policies + "/support.yaml") << kPolicy;
    std::ofstream(policies + "/other.yaml") << kOtherPolicy;
    // governance.wait_ms 0: a report is never waited for, so the first ask of each is the
    // documented 202 (computing) and a later one the 200 (daemon/report_cache.h).
    const std::string config = dir_.path() + "/interlock.yaml";
    std::ofstream(config) << "governance:\n  wait_ms: 0\n";
    daemon_ = std::make_unique<Daemon>(dir_.path(), policies, config);
    agent_ = CreateToken(daemon_->store(), "--agent", "support");
    other_ = CreateToken(daemon_->store(), "--agent", "other");
    reviewer_ = CreateToken(daemon_->store(), "--reviewer", "rita");
    reviewer2_ = CreateToken(daemon_->store(), "--reviewer", "rob");
    admin_ = CreateToken(daemon_->store(), "--admin", "ada");
    ASSERT_TRUE(daemon_->Start()) << daemon_->log();
    client_ = std::make_unique<HttpClient>(daemon_->port());
  }
  void TearDown() override {
    client_.reset();
    if (daemon_) daemon_->Stop();
  }

  // Sends the request, checks the answer against the operation (method, documented path),
  // and records the status as provoked.
  HttpResult Call(const std::string& method, const std::string& path, const std::string& target,
                  const std::string& body, const std::string& token,
                  const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    HttpResult r = client_->Request(method, target, body, token, std::chrono::seconds(10), headers);
    for (const std::string& p : spec_.CheckAnswer(method, path, r.status, r.body)) {
      ADD_FAILURE() << p << " (" << method << " " << target << ": " << r.body.substr(0, 300) << ")";
    }
    provoked_.insert(method + " " + path + " " + std::to_string(r.status));
    return r;
  }

  // The same for a request sent as raw bytes on a fresh connection (answers that close it).
  void RawCall(const std::string& method, const std::string& path, const std::string& bytes) {
    const std::string raw = RawExchange(daemon_->port(), bytes, std::chrono::seconds(5));
    int status = 0;
    if (raw.rfind("HTTP/1.1 ", 0) == 0) status = std::atoi(raw.c_str() + 9);
    const size_t head_end = raw.find("\r\n\r\n");
    const std::string body = head_end == std::string::npos ? "" : raw.substr(head_end + 4);
    for (const std::string& p : spec_.CheckAnswer(method, path, status, body)) {
      ADD_FAILURE() << p << " (raw " << method << " " << path << ": " << raw.substr(0, 300) << ")";
    }
    provoked_.insert(method + " " + path + " " + std::to_string(status));
  }

  OpenApiSpec spec_;
  TempDir dir_;
  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<HttpClient> client_;
  std::string agent_, other_, reviewer_, reviewer2_, admin_;
  std::set<std::string> provoked_;
};

TEST_F(OpenApiDaemon, EveryDocumentedRouteAnswersAsDocumented) {
  // Health, readiness, metrics, the reviewer page.
  Call("GET", "/healthz", "/healthz", "", "");
  Call("GET", "/readyz", "/readyz", "", "");
  Call("GET", "/metrics", "/metrics", "", "");
  Call("GET", "/ui", "/ui", "", "");
  Call("GET", "/ui/{asset}", "/ui/app.js", "", "");
  Call("GET", "/ui/{asset}", "/ui/no-such-file.js", "", "");
  Call("GET", "/ui/{page}/{id}", "/ui/runs/run-1", "", "");
  Call("GET", "/ui/{page}/{id}", "/ui/no-such-page/1", "", "");
  // Reviewer sign-in with OpenID Connect is not configured here: 404 (the session: 200,
  // configured false).
  Call("GET", "/ui/oidc/login", "/ui/oidc/login", "", "");
  Call("GET", "/ui/oidc/callback", "/ui/oidc/callback?state=x&code=y", "", "");
  Call("GET", "/ui/oidc/session", "/ui/oidc/session", "", "");
  Call("POST", "/ui/oidc/logout", "/ui/oidc/logout", "", "");
  const std::string summary = "/v1/metrics/summary";
  Call("GET", summary, summary, "", reviewer_);
  Call("GET", summary, summary, "", agent_);
  Call("GET", summary, summary, "", "");
  // Governance (admin only): each report, an unknown agent, a bad query, other tokens.
  for (const std::string report : {"drift", "trust", "fatigue"}) {
    const std::string g = "/v1/governance/" + report;
    EXPECT_EQ(Call("GET", g, g, "", admin_).status, 202);
    // Computed off the request path: asked again until it is there (bounded).
    HttpResult ready;
    WaitUntil([&] { return (ready = Call("GET", g, g, "", admin_)).status != 202; },
              std::chrono::seconds(10), std::chrono::milliseconds(25));
    EXPECT_EQ(ready.status, 200) << ready.body;
    Call("GET", g, g + "?refresh=1", "", admin_);
    Call("GET", g, g + "?agent=support", "", admin_);
    Call("GET", g, g + "?agent=nobody", "", admin_);
    Call("GET", g, g + "?bogus=1", "", admin_);
    Call("GET", g, g, "", reviewer_);
    Call("GET", g, g, "", "");
  }
  // No MCP upstreams configured: 404 for every method.
  Call("POST", "/mcp/{upstream}", "/mcp/none", "{}", agent_);
  Call("GET", "/mcp/{upstream}", "/mcp/none", "", agent_);
  Call("DELETE", "/mcp/{upstream}", "/mcp/none", "", agent_);

  // Runs.
  const std::string runs = "/v1/runs";
  Call("POST", runs, runs, "", "");
  Call("POST", runs, runs, "", reviewer_);
  Call("POST", runs, runs, R"({"claude_code_session":"s-1"})", agent_);
  Call("POST", runs, runs, R"({"claude_code_session":""})", agent_);
  HttpResult created = Call("POST", runs, runs, "", agent_);
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string run = Str(created.json, "run_id");
  Call("GET", runs, runs, "", reviewer_);
  Call("GET", runs, runs + "?limit=0", "", reviewer_);
  Call("GET", runs, runs, "", agent_);
  Call("GET", runs, runs, "", "");
  const std::string run_path = "/v1/runs/{run_id}";
  Call("GET", run_path, "/v1/runs/" + run, "", agent_);
  Call("GET", run_path, "/v1/runs/" + run, "", other_);
  Call("GET", run_path, "/v1/runs/no-such-run", "", agent_);
  Call("GET", run_path, "/v1/runs/" + run, "", "");
  const std::string replay = "/v1/runs/{run_id}/replay";
  Call("GET", replay, "/v1/runs/" + run + "/replay", "", reviewer_);
  Call("GET", replay, "/v1/runs/" + run + "/replay", "", agent_);
  Call("GET", replay, "/v1/runs/no-such-run/replay", "", reviewer_);
  Call("GET", replay, "/v1/runs/" + run + "/replay", "", "");

  // Calls.
  const std::string calls = "/v1/runs/{run_id}/calls";
  const std::string calls_target = "/v1/runs/" + run + "/calls";
  HttpResult allowed = Call("POST", calls, calls_target, R"({"tool":"read"})", agent_);
  ASSERT_EQ(Str(allowed.json, "decision"), "allow") << allowed.body;
  const std::string call = Str(allowed.json, "call_id");
  Call("POST", calls, calls_target, R"({"tool":"rm"})", agent_);  // a deny: still 200
  Call("POST", calls, calls_target, R"({"tool":)", agent_);
  Call("POST", calls, calls_target, R"({"tool":"read"})", reviewer_);
  Call("POST", calls, "/v1/runs/no-such-run/calls", R"({"tool":"read"})", agent_);
  Call("POST", calls, calls_target, R"({"tool":"read"})", "");
  // Declared too large: refused from the headers, before the body is read (and the
  // connection closed), so it goes on a raw connection of its own.
  RawCall("POST", calls,
          "POST " + calls_target + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + agent_ +
              "\r\nContent-Length: 2097152\r\n\r\n{\"tool\":");
  Call("POST", calls, calls_target, R"({"tool":"read"})", agent_,
       {{"Idempotency-Key", "k-openapi"}});
  Call("POST", calls, calls_target, R"({"tool":"read"})", agent_,
       {{"Idempotency-Key", "k-openapi"}});
  Call("POST", calls, calls_target, R"({"tool":"read","args":{"other":1}})", agent_,
       {{"Idempotency-Key", "k-openapi"}});
  HttpResult pending = Call("POST", calls, calls_target, R"({"tool":"send"})", agent_);
  ASSERT_EQ(Str(pending.json, "decision"), "approval_required") << pending.body;
  const std::string approval = Str(pending.json, "approval_id");
  const std::string pending_call = Str(pending.json, "call_id");
  HttpResult pending2 =
      Call("POST", calls, calls_target, R"({"tool":"send","args":{"to":"x"}})", agent_);
  const std::string approval2 = Str(pending2.json, "approval_id");

  // Usage.
  const std::string usage = "/v1/runs/{run_id}/usage";
  const std::string usage_target = "/v1/runs/" + run + "/usage";
  Call("POST", usage, usage_target, R"({"tokens":10})", agent_);
  Call("POST", usage, usage_target, R"({"tokens":"x"})", agent_);
  Call("POST", usage, usage_target, R"({"tokens":10})", reviewer_);
  Call("POST", usage, "/v1/runs/no-such-run/usage", R"({"tokens":10})", agent_);
  Call("POST", usage, usage_target, R"({"tokens":10})", "");
  Call("POST", usage, usage_target, R"({"tokens":10})", agent_, {{"Idempotency-Key", "u1"}});
  Call("POST", usage, usage_target, R"({"tokens":11})", agent_, {{"Idempotency-Key", "u1"}});

  // One call.
  const std::string call_path = "/v1/calls/{call_id}";
  Call("GET", call_path, "/v1/calls/" + call, "", agent_);
  Call("GET", call_path, "/v1/calls/" + call + "?wait=x", "", agent_);
  Call("GET", call_path, "/v1/calls/" + call, "", other_);
  Call("GET", call_path, "/v1/calls/no-such-call", "", agent_);
  Call("GET", call_path, "/v1/calls/" + call, "", "");

  // Results.
  const std::string result = "/v1/calls/{call_id}/result";
  const std::string result_target = "/v1/calls/" + call + "/result";
  Call("POST", result, result_target, R"({"ok":"yes"})", agent_);
  Call("POST", result, result_target, R"({"ok":true})", other_);
  Call("POST", result, "/v1/calls/no-such-call/result", R"({"ok":true})", agent_);
  Call("POST", result, result_target, R"({"ok":true})", "");
  Call("POST", result, result_target, R"({"ok":true})", agent_, {{"Idempotency-Key", "r1"}});
  Call("POST", result, result_target, R"({"ok":true})", agent_, {{"Idempotency-Key", "r1"}});
  Call("POST", result, result_target, R"({"ok":false})", agent_, {{"Idempotency-Key", "r1"}});
  Call("POST", result, result_target, R"({"ok":true})", agent_);  // a second result

  // Rehearsals.
  const std::string rehearsal = "/v1/calls/{call_id}/rehearsal";
  HttpResult planned =
      Call("POST", calls, calls_target, R"({"tool":"deploy","args":{"to":"web"}})", agent_);
  const std::string planned_call = Str(planned.json, "call_id");
  const std::string rehearsal_target = "/v1/calls/" + planned_call + "/rehearsal";
  Call("POST", rehearsal, rehearsal_target, R"({"ok":"yes"})", agent_);
  Call("POST", rehearsal, rehearsal_target, R"({"ok":true})", other_);
  Call("POST", rehearsal, "/v1/calls/no-such-call/rehearsal", R"({"ok":true})", agent_);
  Call("POST", rehearsal, rehearsal_target, R"({"ok":true})", "");
  Call("POST", rehearsal, rehearsal_target, R"({"ok":true,"output":"fine"})", agent_);
  Call("POST", rehearsal, rehearsal_target, R"({"ok":true,"output":"fine"})", agent_);

  // Egress.
  const std::string egress = "/v1/runs/{run_id}/egress";
  const std::string egress_target = "/v1/runs/" + run + "/egress";
  const std::string egress_body = R"({"host":"127.0.0.1","port":9,"address":"127.0.0.1"})";
  HttpResult e = Call("POST", egress, egress_target, egress_body, agent_);
  const std::string egress_call = Str(e.json, "call_id");
  Call("POST", egress, egress_target, R"({"host":1})", agent_);
  Call("POST", egress, egress_target, egress_body, other_);
  Call("POST", egress, "/v1/runs/no-such-run/egress", egress_body, agent_);
  Call("POST", egress, egress_target, egress_body, "");
  const std::string egress_result = "/v1/calls/{call_id}/egress-result";
  const std::string er_target = "/v1/calls/" + egress_call + "/egress-result";
  const std::string bytes = R"({"ok":true,"bytes_up":1,"bytes_down":2})";
  Call("POST", egress_result, er_target, R"({"ok":true})", agent_);
  Call("POST", egress_result, er_target, bytes, other_);
  Call("POST", egress_result, "/v1/calls/no-such-call/egress-result", bytes, agent_);
  Call("POST", egress_result, er_target, bytes, "");
  Call("POST", egress_result, er_target, bytes, agent_);
  Call("POST", egress_result, er_target, bytes, agent_);

  // Tool view.
  const std::string view = "/v1/tools/view";
  Call("POST", view, view, R"({"tools":["read","rm"]})", agent_);
  Call("POST", view, view, R"({"tools":1})", agent_);
  Call("POST", view, view, R"({"tools":[]})", reviewer_);
  Call("POST", view, view, R"({"tools":[]})", "");

  // Claude Code's HTTP hook: always 200, a refusal is a deny in the hook's JSON.
  const std::string hook = "/v1/hooks/claude-code";
  Call("POST", hook, hook,
       R"({"session_id":"s","hook_event_name":"PreToolUse","tool_name":"read","tool_input":{}})",
       agent_);
  Call("POST", hook, hook, R"({"hook_event_name":"PreToolUse"})", "");

  // AuthZEN 1.0 (docs/gateways.md#authzen): the specification's example shapes, its subject
  // the token's agent; a wrong shape is 400; no token 401; a reviewer's token 403.
  const std::string eval = "/access/v1/evaluation";
  const std::string evals = "/access/v1/evaluations";
  const std::string subject = R"("subject":{"type":"user","id":"support"})";
  EXPECT_EQ(
      Call("POST", eval, eval,
           "{" + subject +
               R"(,"resource":{"type":"account","id":"123"},"action":{"name":"read",)"
               R"("properties":{"method":"GET"}},"context":{"time":"1985-10-26T01:22-07:00"}})",
           agent_)
          .status,
      200);
  Call("POST", eval, eval, R"({"action":{"name":"read"}})", agent_);
  Call("POST", eval, eval, "{}", "");
  Call("POST", eval, eval, "{}", reviewer_);
  Call("POST", evals, evals,
       "{" + subject +
           R"(,"context":{"time":"2024-05-31T15:22-07:00"},"action":{"name":"read"},)"
           R"("evaluations":[{"resource":{"type":"document","id":"boxcarring.md"}},)"
           R"({"resource":{"type":"document","id":"subject-search.md"},"action":{"name":"rm"}}]})",
       agent_);
  Call("POST", evals, evals,
       "{" + subject + R"(,"action":{"name":"read"},"resource":{"type":"document","id":"a"}})",
       agent_);
  Call("POST", evals, evals, R"({"evaluations":{}})", agent_);
  Call("POST", evals, evals, "{}", "");
  Call("POST", evals, evals, "{}", reviewer_);
  // X-Interlock-Run naming no run: 404; an Idempotency-Key: 400.
  for (const std::string& az : {eval, evals}) {
    Call("POST", az, az,
         "{" + subject + R"(,"action":{"name":"read"},"resource":{"type":"document","id":"a"}})",
         agent_, {{"X-Interlock-Run", "no-such-run"}});
    Call("POST", az, az, "{}", agent_, {{"Idempotency-Key", "k"}});
  }

  // Slack's callback: 404 without a slack: section (slack_integration_test signs them).
  const std::string slack = "/v1/slack/interactions";
  Call("POST", slack, slack, "payload=%7B%7D", "");

  // Approvals.
  const std::string approvals = "/v1/approvals";
  Call("GET", approvals, approvals, "", reviewer_);
  Call("GET", approvals, approvals + "?state=x", "", reviewer_);
  Call("GET", approvals, approvals, "", agent_);
  Call("GET", approvals, approvals, "", "");
  const std::string one = "/v1/approvals/{approval_id}";
  Call("GET", one, "/v1/approvals/" + approval, "", reviewer_);
  Call("GET", one, "/v1/approvals/" + approval, "", agent_);
  Call("GET", one, "/v1/approvals/no-such-approval", "", reviewer_);
  Call("GET", one, "/v1/approvals/" + approval, "", "");
  Call("POST", one, "/v1/approvals/" + approval, R"({"verdict":"maybe"})", reviewer_);
  Call("POST", one, "/v1/approvals/" + approval, R"({"verdict":"approve"})", agent_);
  Call("POST", one, "/v1/approvals/no-such-approval", R"({"verdict":"approve"})", reviewer_);
  Call("POST", one, "/v1/approvals/" + approval, R"({"verdict":"approve"})", "");
  Call("POST", one, "/v1/approvals/" + approval, R"({"verdict":"deny","arguments":{}})", reviewer_);
  Call("POST", one, "/v1/approvals/" + approval, R"({"verdict":"approve","arguments":[]})",
       reviewer_);
  Call("POST", one, "/v1/approvals/" + approval,
       R"({"verdict":"approve","arguments":{"to":"not-allowed"}})", reviewer_);
  Call("POST", one, "/v1/approvals/" + approval, R"({"verdict":"deny","scope":"run"})", reviewer_);
  Call("POST", one, "/v1/approvals/" + approval, R"({"verdict":"approve","scope":"run"})",
       reviewer_);
  Call("POST", one, "/v1/approvals/" + approval, R"({"verdict":"approve"})", reviewer_);
  // The approval above was for the rest of the run: revoked here (later calls ask again).
  const std::string revoke = "/v1/runs/{run_id}/grants/revoke";
  const std::string revoke_target = "/v1/runs/" + run + "/grants/revoke";
  Call("POST", revoke, revoke_target, R"({"tool":"send"})", "");
  Call("POST", revoke, revoke_target, R"({"tool":"send"})", agent_);
  Call("POST", revoke, revoke_target, R"({"reason":"no tool"})", reviewer_);
  Call("POST", revoke, revoke_target, R"({"tool":"send","reason":"done"})", reviewer_);
  Call("POST", revoke, revoke_target, R"({"tool":"send"})", reviewer_);  // none left: 404
  const std::string withdraw = "/v1/approvals/{approval_id}/withdraw";
  const std::string wd_target = "/v1/approvals/" + approval2 + "/withdraw";
  Call("POST", withdraw, wd_target, R"({"reason":1})", agent_);
  Call("POST", withdraw, wd_target, R"({"reason":"gone"})", other_);
  Call("POST", withdraw, "/v1/approvals/no-such-approval/withdraw", "{}", agent_);
  Call("POST", withdraw, wd_target, "{}", "");
  Call("POST", withdraw, wd_target, R"({"reason":"gone"})", agent_);
  Call("POST", withdraw, wd_target, R"({"reason":"gone"})", agent_);
  (void)pending_call;

  // Kill switches and the audit log.
  const std::string kill = "/v1/kill";
  Call("GET", kill, kill, "", reviewer_);
  Call("GET", kill, kill, "", agent_);
  Call("GET", kill, kill, "", "");
  Call("POST", kill, kill, R"({"scope":"run","target":")" + run + R"(","engaged":true})", admin_);
  Call("POST", kill, kill, R"({"scope":"galaxy","engaged":true})", admin_);
  Call("POST", kill, kill, R"({"scope":"global","engaged":true})", reviewer_);
  Call("POST", kill, kill, R"({"scope":"global","engaged":true})", "");
  const std::string drills = "/v1/drills";
  Call("GET", drills, drills, "", reviewer_);
  Call("GET", drills, drills, "", agent_);
  Call("GET", drills, drills, "", "");
  Call("POST", drills, drills, "{}", admin_);
  Call("POST", drills, drills, R"({"doors":[]})", admin_);
  Call("POST", drills, drills, "{}", reviewer_);
  Call("POST", drills, drills, "{}", "");
  const std::string audit = "/v1/audit";
  Call("GET", audit, audit, "", reviewer_);
  Call("GET", audit, audit + "?limit=0", "", reviewer_);
  Call("GET", audit, audit, "", agent_);
  Call("GET", audit, audit, "", "");

  // End.
  const std::string end = "/v1/runs/{run_id}/end";
  Call("POST", end, "/v1/runs/" + run + "/end", "", other_);
  Call("POST", end, "/v1/runs/no-such-run/end", "", agent_);
  Call("POST", end, "/v1/runs/" + run + "/end", "", "");
  Call("POST", end, "/v1/runs/" + run + "/end", "", agent_);

  // Every documented status was provoked (or is listed, with its reason).
  for (const std::string& route : spec_.Routes()) {
    const size_t space = route.find(' ');
    const std::string method = route.substr(0, space), path = route.substr(space + 1);
    for (int status : spec_.Statuses(method, path)) {
      const std::string key = route + " " + std::to_string(status);
      if (provoked_.count(key) == 0 && kNotProvoked.count(key) == 0) {
        ADD_FAILURE() << "documented but never provoked: " << key;
      }
    }
  }
}

// Tests that who may call what is the route table's role column and nothing else: for every
// row that names roles, a token of each role it does not name is refused with 403 (an id
// that could exist, a body that does not matter: the role is checked before either is
// read). Claude Code's hook answers its refusal as a deny Claude Code honours (200); the
// MCP routes answer 404 on a daemon without MCP upstreams and are covered by mcp_http_test.
TEST_F(OpenApiDaemon, EveryRouteRefusesTheRolesItsRowDoesNotName) {
  const std::map<std::string, std::string> tokens = {
      {"agent", agent_}, {"reviewer", reviewer_}, {"admin", admin_}};
  int refused = 0;
  for (const server::ApiRoute& route : server::ApiRoutes()) {
    const std::string roles(route.role);
    if (roles == "none" || roles == "any" || roles == "metrics") continue;
    std::string path(route.path);
    if (path.rfind("/mcp/", 0) == 0) continue;
    for (const char* name : {"{run_id}", "{call_id}", "{approval_id}"}) {
      if (const size_t at = path.find(name); at != std::string::npos) {
        path.replace(at, std::string(name).size(), "id-that-could-exist");
      }
    }
    for (const auto& [role, token] : tokens) {
      if (("," + roles + ",").find("," + role + ",") != std::string::npos) continue;
      const std::string method(route.method);
      HttpResult r = client_->Request(method, path, "{}", token);
      if (path == "/v1/hooks/claude-code") {
        EXPECT_EQ(r.status, 200) << role << " " << method << " " << path;
        EXPECT_NE(r.body.find("only agent tokens"), std::string::npos) << r.body;
        EXPECT_NE(r.body.find("deny"), std::string::npos) << r.body;
      } else {
        EXPECT_EQ(r.status, 403) << role << " " << method << " " << path << ": " << r.body;
      }
      ++refused;
    }
  }
  EXPECT_GE(refused, 40);  // every role-bearing route, each role it leaves out
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::testing
