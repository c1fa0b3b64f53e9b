// Rehearsal before production over the daemon's HTTP API (docs/api.md#rehearsals): the
// two-phase form an agent that runs its tools itself follows, the attacks on it, and the
// reviewer seeing the rehearsal's output. The real `interlock serve` on 127.0.0.1 port 0
// with a temporary store.
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "daemon_harness.h"
#include "json_lines.h"
#include "subprocess.h"
#include "temp_dir.h"
#include "two_agent_daemon_test.h"

namespace interlock::testing {
namespace INTERLOCK_TEST_NS {

namespace json = boost::json;

constexpr char kPolicy[] = R"(agent:
  id: "ops"
  identity: "ops@example.iam"
  autonomy: audit_based
tools:
  allowed:
    - name: "deploy"
      rehearse: {args: {dry_run: true}}
    - name: "drop_table"
      requires_approval: true
      rehearse: {upstream: "staging"}
    - name: "read"
execution:
  max_steps: 100
)";

constexpr char kOtherPolicy[] = R"(agent:
  id: "other"
  identity: "other@example.iam"
tools:
  allowed:
    - name: "deploy"
)";

class RehearsalDaemonTest : public TwoAgentDaemonTest {
 protected:
  void SetUp() override {
    StartDaemon({"ops", kPolicy}, {"other", kOtherPolicy});
    if (HasFatalFailure()) return;
    HttpResult r = client_->Request("POST", "/v1/runs", "", agent_);
    ASSERT_EQ(r.status, 201) << r.body;
    run_ = Str(r.json, "run_id");
  }
  HttpResult Decide(const std::string& body) {
    return client_->Request("POST", "/v1/runs/" + run_ + "/calls", body, agent_);
  }
  HttpResult Rehearsal(const std::string& call, const std::string& body,
                       const std::string& token = "") {
    return client_->Request("POST", "/v1/calls/" + call + "/rehearsal", body,
                            token.empty() ? agent_ : token);
  }
  int64_t Steps() {
    HttpResult r = client_->Request("GET", "/v1/runs/" + run_, "", agent_);
    return r.json.at("steps").to_number<int64_t>();
  }
  std::string run_;
};

// Tests the two-phase form end to end: rehearsal_required with the merged arguments, then
// allow after a successful rehearsal (one step), and REHEARSAL_FAILED with the error text.
TEST_F(RehearsalDaemonTest, TwoPhaseAllowsAfterSuccessAndDeniesAfterFailure) {
  HttpResult first = Decide(R"({"tool":"deploy","args":{"target":"web"}})");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(Str(first.json, "decision"), "rehearsal_required") << first.body;
  EXPECT_EQ(Str(first.json, "code"), "REHEARSAL_REQUIRED");
  EXPECT_EQ(first.json.at("rehearsal").at("args"),
            (json::object{{"target", "web"}, {"dry_run", true}}));
  const std::string call = Str(first.json, "call_id");
  ASSERT_FALSE(call.empty());
  EXPECT_EQ(Steps(), 1);  // the ask is the call's one step (docs/policy.md#rehearsal)

  HttpResult second = Rehearsal(call, R"({"ok":true,"output":"would update 3 resources"})");
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(Str(second.json, "code"), "ALLOWED") << second.body;
  EXPECT_EQ(Str(second.json.at("rehearsal"), "call_id"), call);
  EXPECT_NE(Str(second.json.at("rehearsal"), "output").find("3 resources"), std::string::npos);
  const std::string real = Str(second.json, "call_id");
  EXPECT_NE(real, call);
  EXPECT_EQ(Steps(), 1);  // the real call spends none: still one step
  EXPECT_EQ(
      client_->Request("POST", "/v1/calls/" + real + "/result", R"({"ok":true})", agent_).status,
      204);

  HttpResult again = Decide(R"({"tool":"deploy","args":{"target":"prod"}})");
  HttpResult failed = Rehearsal(Str(again.json, "call_id"),
                                R"({"ok":false,"error":"dry run: would delete 14 resources"})");
  ASSERT_EQ(failed.status, 200) << failed.body;
  EXPECT_EQ(Str(failed.json, "decision"), "deny");
  EXPECT_EQ(Str(failed.json, "code"), "REHEARSAL_FAILED");
  EXPECT_NE(Str(failed.json, "reason").find("would delete 14 resources"), std::string::npos);

  // Both results, linked, in the audit trail: the rehearsal on its call, the decision of
  // the real call naming it.
  HttpResult audit = client_->Request("GET", "/v1/audit?run_id=" + run_, "", reviewer_);
  ASSERT_EQ(audit.status, 200) << audit.body;
  EXPECT_NE(audit.body.find("\"type\":\"rehearsal\""), std::string::npos) << audit.body;
}

// Tests that an agent can report no rehearsal for another agent's call, cannot report one
// twice, cannot turn a failed rehearsal into ok afterwards, and cannot skip the rehearsal
// by posting a result for the rehearsal_required call.
TEST_F(RehearsalDaemonTest, ForeignDoubleLateAndSkippedRehearsalsAreRefused) {
  HttpResult first = Decide(R"({"tool":"deploy","args":{"target":"web"}})");
  const std::string call = Str(first.json, "call_id");
  ASSERT_FALSE(call.empty()) << first.body;

  // Skipping the rehearsal: the call was never allowed, so it takes no result.
  EXPECT_EQ(
      client_->Request("POST", "/v1/calls/" + call + "/result", R"({"ok":true})", agent_).status,
      400);
  // Another agent's call.
  EXPECT_EQ(Rehearsal(call, R"({"ok":true})", other_).status, 403);
  // A reviewer cannot report it either.
  EXPECT_EQ(Rehearsal(call, R"({"ok":true})", reviewer_).status, 403);

  HttpResult failed = Rehearsal(call, R"({"ok":false,"error":"boom"})");
  EXPECT_EQ(Str(failed.json, "code"), "REHEARSAL_FAILED") << failed.body;
  // Ok after the deny, and a second report: refused, nothing decided.
  HttpResult late = Rehearsal(call, R"({"ok":true})");
  EXPECT_EQ(late.status, 409) << late.body;
  // A rehearsal for a call that is not rehearsal_required (the real call's id).
  EXPECT_EQ(Rehearsal(Str(failed.json, "call_id"), R"({"ok":true})").status, 400);
  // A call of a tool without rehearse.
  HttpResult plain = Decide(R"({"tool":"read"})");
  EXPECT_EQ(Str(plain.json, "code"), "ALLOWED");
  EXPECT_EQ(Rehearsal(Str(plain.json, "call_id"), R"({"ok":true})").status, 400);
  // Other arguments than those rehearsed.
  HttpResult next = Decide(R"({"tool":"deploy","args":{"target":"web"}})");
  HttpResult swapped =
      Rehearsal(Str(next.json, "call_id"), R"({"ok":true,"args":{"target":"prod"}})");
  EXPECT_EQ(swapped.status, 400) << swapped.body;
  // Unknown call, malformed bodies.
  EXPECT_EQ(Rehearsal("call-nope", R"({"ok":true})").status, 404);
  HttpResult fresh = Decide(R"({"tool":"deploy","args":{"target":"web"}})");
  EXPECT_EQ(Rehearsal(Str(fresh.json, "call_id"), R"({"ok":"yes"})").status, 400);
  EXPECT_EQ(Rehearsal(Str(fresh.json, "call_id"), R"({"ok":true,"rehearsed":true})").status, 400);
}

// Tests that a tool needing approval goes into the queue only after its rehearsal, and the
// reviewer sees the rehearsal's output beside the arguments.
TEST_F(RehearsalDaemonTest, ApprovalShowsTheRehearsalOutput) {
  HttpResult first = Decide(R"({"tool":"drop_table","args":{"table":"users"}})");
  EXPECT_EQ(Str(first.json, "code"), "REHEARSAL_REQUIRED") << first.body;
  EXPECT_EQ(Str(first.json.at("rehearsal"), "upstream"), "staging");
  HttpResult pending = client_->Request("GET", "/v1/approvals", "", reviewer_);
  ASSERT_EQ(pending.status, 200);
  EXPECT_EQ(pending.json.at("approvals").as_array().size(), 0u) << pending.body;

  HttpResult second =
      Rehearsal(Str(first.json, "call_id"), R"({"ok":true,"output":{"content":[{"type":"text",)"
                                            R"("text":"in staging this deletes 14 resources"}]}})");
  ASSERT_EQ(Str(second.json, "code"), "APPROVAL_REQUIRED") << second.body;
  const std::string approval = Str(second.json, "approval_id");
  ASSERT_FALSE(approval.empty());
  HttpResult shown = client_->Request("GET", "/v1/approvals/" + approval, "", reviewer_);
  ASSERT_EQ(shown.status, 200) << shown.body;
  EXPECT_EQ(shown.json.at("args"), (json::object{{"table", "users"}}));
  EXPECT_NE(Str(shown.json.at("rehearsal"), "output").find("deletes 14 resources"),
            std::string::npos)
      << shown.body;
  EXPECT_EQ(shown.json.at("rehearsal").at("ok"), true);
}

// Tests `interlock mcp --daemon` (the gateway reporting through POST /v1/calls/{id}/rehearsal):
// a successful dry run lets the real call reach the server, a failed one denies it with
// REHEARSAL_FAILED and the server never sees the real call.
TEST_F(RehearsalDaemonTest, McpGatewayWithDaemonRehearsesThroughTheApi) {
  const std::string setup =
      RunSetupScriptOnce(std::string(INTERLOCK_SOURCE_DIR) + "/scripts/setup-node-tests.sh");
  ASSERT_EQ(setup, "");
  const std::string node = std::string(INTERLOCK_SOURCE_DIR) + "/tests/integration/mcp/node";
  const std::string log = dir_.path() + "/server.log";
  auto call = [](int id, const std::string& target) {
    return json::serialize(json::object{
               {"jsonrpc", "2.0"},
               {"id", id},
               {"method", "tools/call"},
               {"params", json::object{{"name", "deploy"},
                                       {"arguments", json::object{{"target", target}}}}}}) +
           "\n";
  };
  const std::string msgs = dir_.Write(
      "msgs.jsonl",
      std::string(
          R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"it","version":"1"}}})"
          "\n"
          R"({"jsonrpc":"2.0","method":"notifications/initialized"})"
          "\n") +
          call(2, "web") + call(3, "fail-prod"));
  ProcessResult run = RunProcess({"/usr/bin/env",
                                  "IL_TOKEN=" + agent_,
                                  "XDG_STATE_HOME=" + dir_.path() + "/state",
                                  "REHEARSAL_LOG=" + log,
                                  "node",
                                  node + "/raw_client.mjs",
                                  msgs,
                                  "--",
                                  std::string(INTERLOCK_BINARY_DIR) + "/interlock",
                                  "mcp",
                                  "--daemon",
                                  "http://127.0.0.1:" + std::to_string(daemon_->port()),
                                  "--token-env",
                                  "IL_TOKEN",
                                  "--store",
                                  dir_.path() + "/pins.db",
                                  "--pass-env",
                                  "REHEARSAL_LOG",
                                  "--",
                                  "node",
                                  node + "/rehearsal_server.mjs"},
                                 "", std::chrono::seconds(90));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::string out = run.out;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  const json::value all = json::parse(out.substr(out.rfind('\n') + 1));
  std::string deployed, denied;
  for (const json::value& m : all.at("messages").as_array()) {
    const json::object& o = m.as_object();
    if (o.contains("method") || !o.contains("result") ||
        !o.at("result").as_object().contains("content")) {
      continue;
    }
    const std::string text(o.at("result").at("content").at(0).at("text").as_string());
    if (o.at("id") == json::value(2)) deployed = text;
    if (o.at("id") == json::value(3)) denied = text;
  }
  EXPECT_EQ(deployed, "deployed web") << run.out << run.err;
  EXPECT_NE(denied.find("REHEARSAL_FAILED"), std::string::npos) << denied;
  EXPECT_NE(denied.find("would delete 14 resources"), std::string::npos) << denied;
  std::ifstream in(log);
  const std::string saw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(saw.find(R"({"target":"fail-prod"})"), std::string::npos) << saw;
  EXPECT_NE(saw.find(R"({"target":"web"})"), std::string::npos) << saw;
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::testing
