// Integration tests of human approval gates: the real `interlock serve` on 127.0.0.1
// port 0 with a temporary store, reviewers and agents over HTTP (docs/approvals.md).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "daemon_harness.h"
#include "daemon_policies.h"
#include "json_lines.h"
#include "open_run.h"
#include "subprocess.h"
#include "temp_dir.h"

namespace interlock::testing {
namespace INTERLOCK_TEST_NS {

namespace json = boost::json;
using namespace std::chrono_literals;

const std::string kAgent = std::string(kApprAgentHead) + R"(    - name: "escalating"
      requires_approval: true
      approval_timeout_seconds: 1
      auto_deny_on_timeout: false
    - name: "bulk_update"
      requires_approval: true
      approval_timeout_seconds: 300
      constraints:
        max_records_per_run: 3
    - name: "mail_customer"
      requires_approval: true
      approval_timeout_seconds: 300
      redact: ["api_key"]
      constraints:
        allowed_recipients: ["a@example.com", "b@example.com"]
escalation:
  contacts: ["alice@example.com", "bob@example.com"]
execution:
  max_steps: 100000
  on_budget_exceeded:
    action: "deny"
    notify: "#approvals"
)";

constexpr char kOtherAgent[] = R"(agent:
  id: "other-agent"
  identity: "other-agent@example.iam"
tools:
  allowed:
    - name: "send_email"
      requires_approval: true
      approval_timeout_seconds: 300
execution:
  max_steps: 100000
)";

class ApprovalsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    policies_ = dir_.path() + "/policies";
    std::filesystem::create_directories(policies_);
    std::ofstream(policies_ + "/appr.yaml") << kAgent;
    std::ofstream(policies_ + "/other.yaml") << kOtherAgent;
    config_ = dir_.Write(
        "interlock.yaml",
        "webhooks:\n  \"#approvals\": \"http://127.0.0.1:" + std::to_string(receiver_.port()) +
            "/hook\"\nnotifier:\n  initial_backoff_ms: 50\n"
            "durability: normal\n"
            "limits:\n  max_wait_seconds: 60\n  max_connections: 4000\n"
            "approvals:\n  max_wait_seconds: 3\n  sweep_ms: 100\n"
            "  public_url: \"http://reviews.example\"\n");
    daemon_ = std::make_unique<Daemon>(dir_.path(), policies_, config_);
    agent_ = CreateToken(daemon_->store(), "--agent", "appr-agent");
    other_agent_ = CreateToken(daemon_->store(), "--agent", "other-agent");
    alice_ = CreateToken(daemon_->store(), "--reviewer", "alice");
    bob_ = CreateToken(daemon_->store(), "--reviewer", "bob");
    admin_ = CreateToken(daemon_->store(), "--admin", "root");
    ASSERT_FALSE(bob_.empty());
    ASSERT_TRUE(daemon_->Start()) << daemon_->log();
    client_ = std::make_unique<HttpClient>(daemon_->port());
  }

  std::string NewRun(const std::string& token) { return OpenRun(*client_, token); }

  HttpResult Call(const std::string& run, const std::string& body, const std::string& token = "") {
    return client_->Request("POST", "/v1/runs/" + run + "/calls", body,
                            token.empty() ? agent_ : token);
  }

  HttpResult Vote(const std::string& id, const std::string& token, const std::string& verdict,
                  const std::string& comment = "looks fine") {
    return client_->Request(
        "POST", "/v1/approvals/" + id,
        json::serialize(json::object{{"verdict", verdict}, {"comment", comment}}), token);
  }

  // A call of mail_customer (its api_key redacted) held for a reviewer in `run`: its call
  // and approval ids.
  std::pair<std::string, std::string> HeldMailCall(const std::string& run) {
    HttpResult r = Call(
        run,
        R"({"tool":"mail_customer","args":{"recipient":"a@example.com","body":"hi","api_key":"sk-orig"}})");
    EXPECT_EQ(Str(r.json, "decision"), "approval_required") << r.body;
    return {Str(r.json, "call_id"), Str(r.json, "approval_id")};
  }

  // Long-polls the call on its own connection.
  std::future<HttpResult> Wait(const std::string& call_id, int seconds = 30) {
    const int port = daemon_->port();
    const std::string token = agent_;
    return std::async(std::launch::async, [port, call_id, seconds, token] {
      HttpClient c(port);
      return c.Request("GET", "/v1/calls/" + call_id + "?wait=" + std::to_string(seconds), "",
                       token, std::chrono::seconds(seconds + 10));
    });
  }

  TempDir dir_;
  WebhookReceiver receiver_;
  std::string policies_, config_;
  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<HttpClient> client_;
  std::string agent_, other_agent_, alice_, bob_, admin_;
};

// Tests that an approved call reaches the waiting agent as allow/ALLOWED, that the
// reviewer page data masks redacted arguments, and that a second verdict gets 409.
TEST_F(ApprovalsTest, ApproveAllowsWaitingAgent) {
  const std::string run = NewRun(agent_);
  HttpResult r = Call(run, R"({"tool":"send_email","args":{"to":"x@y.z","api_key":"sk-123"}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Str(r.json, "decision"), "approval_required");
  const std::string call = Str(r.json, "call_id");
  const std::string id = Str(r.json, "approval_id");
  ASSERT_FALSE(id.empty()) << r.body;
  auto waiting = Wait(call);

  HttpResult list = client_->Request("GET", "/v1/approvals?state=pending", "", alice_);
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_NE(list.body.find(id), std::string::npos);
  HttpResult detail = client_->Request("GET", "/v1/approvals/" + id, "", alice_);
  ASSERT_EQ(detail.status, 200) << detail.body;
  EXPECT_EQ(detail.body.find("sk-123"), std::string::npos) << detail.body;
  EXPECT_NE(detail.body.find("hmac-sha256:"), std::string::npos);
  EXPECT_EQ(Str(detail.json, "identity"), "appr-agent@example.iam");
  EXPECT_TRUE(detail.json.as_object().contains("run_calls"));
  EXPECT_TRUE(detail.json.as_object().contains("time_left_s"));

  std::this_thread::sleep_for(200ms);  // pace: the poll is parked (or sees the vote: same)
  HttpResult v = Vote(id, alice_, "approve");
  ASSERT_EQ(v.status, 200) << v.body;
  EXPECT_EQ(Str(v.json, "state"), "granted");
  ASSERT_EQ(waiting.wait_for(10s), std::future_status::ready);
  HttpResult got = waiting.get();
  EXPECT_EQ(Str(got.json, "decision"), "allow") << got.body;
  EXPECT_EQ(Str(got.json, "code"), "ALLOWED");
  EXPECT_EQ(Str(got.json, "approval_id"), id);

  EXPECT_EQ(Vote(id, bob_, "deny").status, 409);
  // The webhook saw the new approval with a link to the page.
  auto bodies = receiver_.WaitFor(1, 5s);
  ASSERT_FALSE(bodies.empty());
  EXPECT_NE(bodies[0].find("http://reviews.example/ui/#/approvals/" + id), std::string::npos)
      << bodies[0];
}

// Tests that a deny verdict reaches the waiting agent as deny/APPROVAL_DENIED.
TEST_F(ApprovalsTest, DenyDeniesWaitingAgent) {
  const std::string run = NewRun(agent_);
  HttpResult r = Call(run, R"({"tool":"send_email","args":{"to":"x@y.z"}})");
  const std::string id = Str(r.json, "approval_id");
  auto waiting = Wait(Str(r.json, "call_id"));
  std::this_thread::sleep_for(200ms);  // pace: the poll is parked
  HttpResult v = Vote(id, bob_, "deny", "not this one");
  ASSERT_EQ(v.status, 200) << v.body;
  HttpResult got = waiting.get();
  EXPECT_EQ(Str(got.json, "decision"), "deny") << got.body;
  EXPECT_EQ(Str(got.json, "code"), "APPROVAL_DENIED");
  EXPECT_NE(Str(got.json, "reason").find("not this one"), std::string::npos);
  EXPECT_EQ(Vote(id, alice_, "approve").status, 409);
  HttpResult decided = client_->Request("GET", "/v1/approvals?state=decided", "", alice_);
  EXPECT_NE(decided.body.find(id), std::string::npos);
}

// Tests that auto_deny_on_timeout denies the call with APPROVAL_TIMEOUT at the deadline.
TEST_F(ApprovalsTest, TimeoutAutoDenies) {
  const std::string run = NewRun(agent_);
  HttpResult r = Call(run, R"({"tool":"quick","args":{}})");
  ASSERT_EQ(Str(r.json, "decision"), "approval_required");
  const auto start = std::chrono::steady_clock::now();
  HttpResult got = Wait(Str(r.json, "call_id"), 20).get();
  EXPECT_EQ(Str(got.json, "decision"), "deny") << got.body;
  EXPECT_EQ(Str(got.json, "code"), "APPROVAL_TIMEOUT");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(Vote(Str(r.json, "approval_id"), alice_, "approve").status, 409);
}

// Tests that auto_deny_on_timeout: false escalates (webhook to the next contact) and is
// denied APPROVAL_TIMEOUT at the hard maximum, never allowed by itself.
TEST_F(ApprovalsTest, TimeoutEscalatesThenDeniesAtHardMaximum) {
  const std::string run = NewRun(agent_);
  HttpResult r = Call(run, R"({"tool":"escalating","args":{}})");
  const std::string id = Str(r.json, "approval_id");
  HttpResult got = Wait(Str(r.json, "call_id"), 20).get();
  EXPECT_EQ(Str(got.json, "code"), "APPROVAL_TIMEOUT") << got.body;
  auto bodies = receiver_.WaitFor(3, 5s);
  bool escalated = false;
  for (const std::string& b : bodies) {
    if (b.find("escalated") != std::string::npos && b.find(id) != std::string::npos &&
        b.find("bob@example.com") != std::string::npos) {
      escalated = true;
    }
  }
  EXPECT_TRUE(escalated) << bodies.size();
}

// Tests that a pending approval survives a restart with its deadline and still works.
TEST_F(ApprovalsTest, RestartKeepsPendingApproval) {
  const std::string run = NewRun(agent_);
  HttpResult r = Call(run, R"({"tool":"send_email","args":{"to":"a@b.c"}})");
  const std::string id = Str(r.json, "approval_id");
  HttpResult before = client_->Request("GET", "/v1/approvals/" + id, "", alice_);
  ASSERT_EQ(daemon_->Stop(), 0);
  ASSERT_TRUE(daemon_->Start()) << daemon_->log();
  client_ = std::make_unique<HttpClient>(daemon_->port());
  HttpResult after = client_->Request("GET", "/v1/approvals/" + id, "", alice_);
  ASSERT_EQ(after.status, 200) << after.body;
  EXPECT_EQ(Str(after.json, "state"), "pending");
  EXPECT_EQ(Str(after.json, "deadline"), Str(before.json, "deadline"));
  auto waiting = Wait(Str(r.json, "call_id"));
  std::this_thread::sleep_for(200ms);  // pace: the poll is parked
  ASSERT_EQ(Vote(id, alice_, "approve").status, 200);
  EXPECT_EQ(Str(waiting.get().json, "code"), "ALLOWED");
}

// Tests the two-person rule: the same reviewer twice does not count; two distinct allow.
TEST_F(ApprovalsTest, TwoPersonRule) {
  const std::string run = NewRun(agent_);
  HttpResult r = Call(run, R"({"tool":"drop_table","args":{"table":"t"}})");
  const std::string id = Str(r.json, "approval_id");
  HttpResult a1 = Vote(id, alice_, "approve");
  ASSERT_EQ(a1.status, 200) << a1.body;
  EXPECT_EQ(Str(a1.json, "state"), "pending");
  EXPECT_EQ(Vote(id, alice_, "approve").status, 409);
  HttpResult call = client_->Request("GET", "/v1/calls/" + Str(r.json, "call_id"), "", agent_);
  EXPECT_EQ(Str(call.json, "decision"), "approval_required");
  HttpResult a2 = Vote(id, bob_, "approve");
  ASSERT_EQ(a2.status, 200) << a2.body;
  EXPECT_EQ(Str(a2.json, "state"), "granted");
  call = client_->Request("GET", "/v1/calls/" + Str(r.json, "call_id"), "", agent_);
  EXPECT_EQ(Str(call.json, "code"), "ALLOWED");
}

// Tests that agents never vote and a principal cannot approve its own call.
TEST_F(ApprovalsTest, AgentAndSelfApprovalRefused) {
  const std::string run = NewRun(agent_);
  HttpResult r = Call(run, R"({"tool":"send_email","args":{}})");
  const std::string id = Str(r.json, "approval_id");
  EXPECT_EQ(Vote(id, agent_, "approve").status, 403);
  EXPECT_EQ(Vote(id, other_agent_, "approve").status, 403);
  EXPECT_EQ(client_->Request("GET", "/v1/approvals", "", agent_).status, 403);
  const std::string self = CreateToken(daemon_->store(), "--reviewer", "appr-agent@example.iam");
  const std::string self2 = CreateToken(daemon_->store(), "--admin", "appr-agent");
  HttpResult s1 = Vote(id, self, "approve");
  EXPECT_EQ(s1.status, 403) << s1.body;
  EXPECT_EQ(Vote(id, self2, "approve").status, 403);
  EXPECT_EQ(client_->Request("GET", "/v1/approvals/" + id, "", alice_).json.at("state"), "pending");
}

// Tests that a granted approval is bound to agent, run, tool and arguments, and that the
// bound re-submission answers with the original call, however often it comes.
TEST_F(ApprovalsTest, ApprovalBindingAndReplay) {
  const std::string run = NewRun(agent_);
  HttpResult r = Call(run, R"({"tool":"send_email","args":{"to":"a@b.c","n":1}})");
  const std::string id = Str(r.json, "approval_id");
  ASSERT_EQ(Vote(id, alice_, "approve").status, 200);
  auto with = [&](const std::string& args) {
    return R"({"tool":"send_email","approval_id":")" + id + R"(","args":)" + args + "}";
  };
  HttpResult changed = Call(run, with(R"({"to":"evil@b.c","n":1})"));
  EXPECT_EQ(Str(changed.json, "code"), "APPROVAL_DENIED") << changed.body;
  const std::string run2 = NewRun(agent_);
  HttpResult other_run = Call(run2, with(R"({"to":"a@b.c","n":1})"));
  EXPECT_EQ(Str(other_run.json, "code"), "APPROVAL_DENIED") << other_run.body;
  const std::string orun = NewRun(other_agent_);
  HttpResult other_agent = Call(orun, with(R"({"to":"a@b.c","n":1})"), other_agent_);
  EXPECT_EQ(Str(other_agent.json, "code"), "APPROVAL_DENIED") << other_agent.body;
  // Key order does not matter (canonical JSON): the answer is the original call, allowed...
  HttpResult ok = Call(run, with(R"({"n":1,"to":"a@b.c"})"));
  EXPECT_EQ(Str(ok.json, "code"), "ALLOWED") << ok.body;
  EXPECT_EQ(Str(ok.json, "rule"), "approval");
  EXPECT_EQ(Str(ok.json, "call_id"), Str(r.json, "call_id"));
  EXPECT_EQ(Str(ok.json, "approval_id"), id);
  EXPECT_TRUE(ok.json.as_object().at("existing_call").as_bool());
  // ...and so is every later one: still that one call, never a second.
  HttpResult replay = Call(run, with(R"({"to":"a@b.c","n":1})"));
  EXPECT_EQ(Str(replay.json, "call_id"), Str(r.json, "call_id")) << replay.body;
}

// Tests that the long poll answering allow and a re-submission with the approval_id do
// not make two executions: the re-submission answers the same call id, spends no step,
// and the audit trail holds one decision record for the run's one call.
TEST_F(ApprovalsTest, GrantedCallDeliveredTwiceRunsOnce) {
  const std::string run = NewRun(agent_);
  const std::string body = R"({"tool":"send_email","args":{"to":"ceo@corp","wire":1000000}})";
  HttpResult r = Call(run, body);
  const std::string call = Str(r.json, "call_id");
  const std::string id = Str(r.json, "approval_id");
  auto waiting = Wait(call);
  std::this_thread::sleep_for(200ms);  // pace: the poll is parked
  ASSERT_EQ(Vote(id, alice_, "approve").status, 200);
  HttpResult got = waiting.get();
  ASSERT_EQ(Str(got.json, "code"), "ALLOWED") << got.body;
  const auto steps = [&] {
    return client_->Request("GET", "/v1/runs/" + run, "", agent_).json.at("steps").as_int64();
  };
  const int64_t before = steps();
  std::string again = body;
  again.insert(1, R"("approval_id":")" + id + R"(",)");
  HttpResult second = Call(run, again);
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(Str(second.json, "call_id"), call) << second.body;
  EXPECT_EQ(Str(second.json, "decision"), "allow");
  EXPECT_EQ(steps(), before);
  HttpResult audit = client_->Request("GET", "/v1/audit?run_id=" + run, "", admin_);
  ASSERT_EQ(audit.status, 200) << audit.body;
  int decisions = 0;
  for (const json::value& rec : audit.json.at("records").as_array()) {
    if (Str(rec, "type") == "decision") {
      ++decisions;
      EXPECT_EQ(Str(rec, "call_id"), call);
    }
  }
  EXPECT_EQ(decisions, 1);
}

// Tests that an identical retry while the approval is pending (a hook re-posting the same
// call) answers the existing call_id and approval_id instead of queueing another one.
TEST_F(ApprovalsTest, IdenticalRetryWhilePendingAttachesToIt) {
  const std::string run = NewRun(agent_);
  HttpResult first = Call(run, R"({"tool":"send_email","args":{"to":"a@b.c","n":7}})");
  HttpResult retry = Call(run, R"({"tool":"send_email","args":{"n":7,"to":"a@b.c"}})");
  ASSERT_EQ(retry.status, 200) << retry.body;
  EXPECT_EQ(Str(retry.json, "decision"), "approval_required");
  EXPECT_EQ(Str(retry.json, "call_id"), Str(first.json, "call_id"));
  EXPECT_EQ(Str(retry.json, "approval_id"), Str(first.json, "approval_id"));
  HttpResult list = client_->Request("GET", "/v1/approvals?state=pending", "", alice_);
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.json.at("approvals").as_array().size(), 1u) << list.body;
}

// Tests that a call granted but not yet delivered is denied KILL_SWITCH when the global
// kill switch is engaged before the agent reads it, and stays denied after release.
TEST_F(ApprovalsTest, KillSwitchStopsGrantedCallNotYetDelivered) {
  const std::string run = NewRun(agent_);
  HttpResult r = Call(run, R"({"tool":"send_email","args":{"to":"all@corp"}})");
  const std::string call = Str(r.json, "call_id");
  ASSERT_EQ(Vote(Str(r.json, "approval_id"), alice_, "approve").status, 200);
  HttpResult k = client_->Request(
      "POST", "/v1/kill", R"({"scope":"global","engaged":true,"reason":"incident"})", admin_);
  ASSERT_EQ(k.status, 200) << k.body;
  HttpResult got = Wait(call, 5).get();
  EXPECT_EQ(Str(got.json, "decision"), "deny") << got.body;
  EXPECT_EQ(Str(got.json, "code"), "KILL_SWITCH");
  ASSERT_EQ(
      client_->Request("POST", "/v1/kill", R"({"scope":"global","engaged":false})", admin_).status,
      200);
  HttpResult later = client_->Request("GET", "/v1/calls/" + call, "", agent_);
  EXPECT_EQ(Str(later.json, "code"), "KILL_SWITCH") << later.body;
  HttpResult a = client_->Request("GET", "/v1/approvals/" + Str(r.json, "approval_id"), "", bob_);
  EXPECT_EQ(Str(a.json, "state"), "cancelled") << a.body;
}

// Tests that `token create` refuses names with invisible or control characters and agent
// ids no policy defines (unless --force), each with a clear error.
TEST_F(ApprovalsTest, TokenCreateRefusesLookalikeNamesAndUnknownAgents) {
  int rc = 0;
  auto create = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"token", "create", "--store", daemon_->store()});
    ProcessResult p = RunProcess([&] {
      std::vector<std::string> argv = {std::string(INTERLOCK_BINARY_DIR) + "/interlock"};
      argv.insert(argv.end(), args.begin(), args.end());
      return argv;
    }());
    rc = p.exit_code;
    return p.err;
  };
  EXPECT_NE(create({"--reviewer", "alice	"}).find("U+0009"), std::string::npos);
  EXPECT_NE(rc, 0);
  EXPECT_NE(create({"--reviewer", "ali​ce"}).find("U+200B"), std::string::npos);
  EXPECT_NE(rc, 0);
  EXPECT_NE(create({"--admin", "appr-agent "}).find("ends with a space"), std::string::npos);
  EXPECT_NE(rc, 0);
  EXPECT_NE(create({"--agent", "appr-agnet", "--policy", policies_}).find("no policy defines"),
            std::string::npos);
  EXPECT_EQ(rc, 1);
  EXPECT_NE(create({"--agent", "appr-agent"}).find("--policy"), std::string::npos);
  EXPECT_EQ(rc, 2);
  create({"--agent", "appr-agent", "--policy", policies_});
  EXPECT_EQ(rc, 0);
  create({"--agent", "appr-agnet", "--force"});
  EXPECT_EQ(rc, 0);
}

// Tests that records are consumed on grant and re-checked against max_records_per_run.
TEST_F(ApprovalsTest, RecordsRecheckedOnGrant) {
  const std::string run = NewRun(agent_);
  HttpResult a = Call(run, R"({"tool":"bulk_update","args":{"ids":[1,2]}})");
  HttpResult b = Call(run, R"({"tool":"bulk_update","args":{"ids":[3,4]}})");
  ASSERT_EQ(Vote(Str(a.json, "approval_id"), alice_, "approve").status, 200);
  HttpResult vb = Vote(Str(b.json, "approval_id"), alice_, "approve");
  ASSERT_EQ(vb.status, 200) << vb.body;
  HttpResult call = client_->Request("GET", "/v1/calls/" + Str(b.json, "call_id"), "", agent_);
  EXPECT_EQ(Str(call.json, "code"), "RECORD_LIMIT_EXCEEDED") << call.body;
}

// Tests that engaging the kill switch denies every pending approval in its scope at once.
TEST_F(ApprovalsTest, KillSwitchDeniesPendingApprovals) {
  const std::string run = NewRun(agent_);
  HttpResult r1 = Call(run, R"({"tool":"send_email","args":{"i":1}})");
  HttpResult r2 = Call(run, R"({"tool":"send_email","args":{"i":2}})");
  const std::string orun = NewRun(other_agent_);
  HttpResult o = Call(orun, R"({"tool":"send_email","args":{}})", other_agent_);
  auto waiting = Wait(Str(r1.json, "call_id"));
  std::this_thread::sleep_for(200ms);  // pace: the poll is parked
  HttpResult k = client_->Request(
      "POST", "/v1/kill", R"({"scope":"agent","target":"appr-agent","engaged":true,"reason":"x"})",
      admin_);
  ASSERT_EQ(k.status, 200) << k.body;
  HttpResult got = waiting.get();
  EXPECT_EQ(Str(got.json, "code"), "APPROVAL_DENIED") << got.body;
  EXPECT_NE(Str(got.json, "reason").find("kill switch"), std::string::npos);
  HttpResult c2 = client_->Request("GET", "/v1/calls/" + Str(r2.json, "call_id"), "", agent_);
  EXPECT_EQ(Str(c2.json, "code"), "APPROVAL_DENIED");
  HttpResult oa = client_->Request("GET", "/v1/approvals/" + Str(o.json, "approval_id"), "", bob_);
  EXPECT_EQ(Str(oa.json, "state"), "pending");  // other agent: out of scope
}

// Tests the CLI: list, approve, a second verdict (409 -> exit 1), an agent token (403),
// an unreachable daemon (exit 1) and a URL that is not http(s) (exit 2).
TEST_F(ApprovalsTest, Cli) {
  const std::string run = NewRun(agent_);
  HttpResult r = Call(run, R"({"tool":"send_email","args":{}})");
  const std::string id = Str(r.json, "approval_id");
  const std::string url = "--url=http://127.0.0.1:" + std::to_string(daemon_->port());
  int code = -1;
  ::setenv("INTERLOCK_TOKEN", alice_.c_str(), 1);
  std::string out = RunInterlock({"approvals", url, "list"}, &code);
  EXPECT_EQ(code, 0);
  EXPECT_NE(out.find(id), std::string::npos) << out;
  RunInterlock({"approvals", url, "approve", id, "--comment", "ok"}, &code);
  EXPECT_EQ(code, 0);
  RunInterlock({"approvals", url, "deny", id}, &code);
  EXPECT_EQ(code, 1);
  ::setenv("INTERLOCK_TOKEN", agent_.c_str(), 1);
  RunInterlock({"approvals", url, "show", id}, &code);
  EXPECT_EQ(code, 1);
  RunInterlock({"approvals", "--url=http://127.0.0.1:1", "list"}, &code);
  EXPECT_EQ(code, 1);
  RunInterlock({"approvals", "--url=ftp://127.0.0.1:1", "list"}, &code);
  EXPECT_EQ(code, 2);  // bad usage, not an unreachable daemon
  ::unsetenv("INTERLOCK_TOKEN");
  RunInterlock({"approvals", url, "list"}, &code);
  EXPECT_EQ(code, 2);
  HttpResult call = client_->Request("GET", "/v1/calls/" + Str(r.json, "call_id"), "", agent_);
  EXPECT_EQ(Str(call.json, "code"), "ALLOWED");
}

long StatusField(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

// Tests that a thousand agents long-polling at once hold no thread each and little
// memory, and that every one of them gets its final decision.
TEST_F(ApprovalsTest, ThousandWaitingAgents) {
  constexpr int kAgents = 1000;
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur < 4096 && lim.rlim_max >= 4096) {
    lim.rlim_cur = 4096;
    setrlimit(RLIMIT_NOFILE, &lim);
    // The daemon inherits the limit only when started after this point.
    daemon_->Stop();
    ASSERT_TRUE(daemon_->Start()) << daemon_->log();
    client_ = std::make_unique<HttpClient>(daemon_->port());
  }
  if (lim.rlim_cur < 2200) GTEST_SKIP() << "RLIMIT_NOFILE too small for 1000 connections";
  const pid_t pid = daemon_->pid();
  const long threads_before = StatusField(pid, "Threads");
  std::vector<std::string> calls;
  std::string run;
  for (int i = 0; i < kAgents; ++i) {
    if (i % 100 == 0) run = NewRun(agent_);
    HttpResult r = Call(run, R"({"tool":"send_email","args":{"i":)" + std::to_string(i) + "}}");
    ASSERT_EQ(Str(r.json, "decision"), "approval_required") << r.body;
    calls.push_back(Str(r.json, "call_id"));
  }
  std::vector<int> fds;
  for (const std::string& call : calls) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(daemon_->port()));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    const std::string req = "GET /v1/calls/" + call +
                            "?wait=60 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
                            agent_ + "\r\nConnection: close\r\n\r\n";
    ASSERT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
    fds.push_back(fd);
  }
  std::this_thread::sleep_for(1500ms);  // pace: every poll is parked
  const long threads_waiting = StatusField(pid, "Threads");
  const long rss_kb = StatusField(pid, "VmRSS");
  EXPECT_LE(threads_waiting, threads_before + 4) << threads_before;
  EXPECT_LT(threads_waiting, 64);
  EXPECT_LT(rss_kb, 256 * 1024) << "RSS " << rss_kb << " kB";
  // Nobody has an answer yet.
  std::vector<pollfd> pfds;
  for (int fd : fds) pfds.push_back(pollfd{fd, POLLIN, 0});
  EXPECT_EQ(::poll(pfds.data(), pfds.size(), 0), 0);
  // One kill switch settles all of them; every poll answers with the final decision.
  HttpResult k = client_->Request(
      "POST", "/v1/kill", R"({"scope":"agent","target":"appr-agent","engaged":true})", admin_);
  ASSERT_EQ(k.status, 200);
  int denied = 0;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  for (int fd : fds) {
    std::string got;
    char buf[4096];
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 1000) <= 0) continue;
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
    if (got.find("APPROVAL_DENIED") != std::string::npos) ++denied;
    ::close(fd);
  }
  EXPECT_EQ(denied, kAgents);
}

// Tests that the call answers (POST /v1/runs/{run}/calls and GET /v1/calls/{id}) carry
// the reviewer page's deep link next to approval_id, built from approvals.public_url.
TEST_F(ApprovalsTest, CallAnswersCarryTheApprovalUrl) {
  const std::string run = NewRun(agent_);
  HttpResult r = Call(run, R"({"tool":"send_email","args":{"to":"x@y.z"}})");
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string id = Str(r.json, "approval_id");
  ASSERT_FALSE(id.empty()) << r.body;
  EXPECT_EQ(Str(r.json, "approval_url"), "http://reviews.example/ui/#/approvals/" + id);
  HttpResult got = client_->Request("GET", "/v1/calls/" + Str(r.json, "call_id"), "", agent_);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(Str(got.json, "approval_url"), "http://reviews.example/ui/#/approvals/" + id);
}

// Tests that the webhook of a new approval carries its reviewer page as a field of its own
// (approval_url, with approval_id), and that the link alone opens nothing: the page's API
// answers 401 without a signed-in reviewer and 403 to an agent's token, so a link forwarded
// to the wrong channel approves nothing.
TEST_F(ApprovalsTest, WebhookCarriesTheApprovalLinkWhichStillNeedsSignIn) {
  const std::string run = NewRun(agent_);
  HttpResult r = Call(run, R"({"tool":"send_email","args":{"to":"x@y.z"}})");
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string id = Str(r.json, "approval_id");
  ASSERT_FALSE(id.empty()) << r.body;
  auto bodies = receiver_.WaitFor(1, 5s);
  ASSERT_FALSE(bodies.empty());
  json::value body = json::parse(bodies[0]);
  EXPECT_EQ(Str(body, "event"), "approval_requested") << bodies[0];
  EXPECT_EQ(Str(body, "approval_id"), id) << bodies[0];
  EXPECT_EQ(Str(body, "approval_url"), "http://reviews.example/ui/#/approvals/" + id) << bodies[0];

  EXPECT_EQ(client_->Request("GET", "/v1/approvals/" + id, "", "").status, 401);
  EXPECT_EQ(client_
                ->Request("POST", "/v1/approvals/" + id,
                          R"({"verdict":"approve","comment":"from the link"})", "")
                .status,
            401);
  EXPECT_EQ(client_->Request("GET", "/v1/approvals/" + id, "", agent_).status, 403);
  HttpResult still = client_->Request("GET", "/v1/approvals/" + id, "", alice_);
  ASSERT_EQ(still.status, 200) << still.body;
  EXPECT_EQ(Str(still.json, "state"), "pending") << still.body;
}

// Tests that a reviewer's deny comment reaches the agent in the decision's reason, with
// the reviewer's name, so the model can adapt ("denied by bob: wrong recipient").
TEST_F(ApprovalsTest, DenyCommentReachesTheAgentInTheReason) {
  const std::string run = NewRun(agent_);
  HttpResult r = Call(run, R"({"tool":"send_email","args":{"to":"ceo@y.z"}})");
  const std::string id = Str(r.json, "approval_id");
  ASSERT_FALSE(id.empty()) << r.body;
  ASSERT_EQ(Vote(id, bob_, "deny", "wrong recipient").status, 200);
  HttpResult got = client_->Request("GET", "/v1/calls/" + Str(r.json, "call_id"), "", agent_);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(Str(got.json, "code"), "APPROVAL_DENIED") << got.body;
  EXPECT_NE(Str(got.json, "reason").find("denied by bob: wrong recipient"), std::string::npos)
      << got.body;
}

// Tests POST /v1/approvals/{id}/withdraw: only the agent that made the call may withdraw
// (reviewers, admins and other agents get 403), the waiting long poll ends with
// deny/APPROVAL_DENIED, the approval reads withdrawn with its reason, a reviewer's later
// vote is refused with 409, a second withdrawal is 409, and the audit trail names the
// agent and the reason.
TEST_F(ApprovalsTest, WithdrawnApprovalRefusesLaterVotes) {
  const std::string run = NewRun(agent_);
  HttpResult r = Call(run, R"({"tool":"send_email","args":{"to":"x@y.z"}})");
  const std::string id = Str(r.json, "approval_id");
  const std::string call = Str(r.json, "call_id");
  ASSERT_FALSE(id.empty()) << r.body;
  auto waiting = Wait(call);
  const std::string path = "/v1/approvals/" + id + "/withdraw";
  const std::string body = R"({"reason":"the MCP client cancelled the request"})";
  EXPECT_EQ(client_->Request("POST", path, body, alice_).status, 403);
  EXPECT_EQ(client_->Request("POST", path, body, admin_).status, 403);
  EXPECT_EQ(client_->Request("POST", path, body, other_agent_).status, 403);
  EXPECT_EQ(client_->Request("POST", path, R"({"reason":7})", agent_).status, 400);
  EXPECT_EQ(client_->Request("POST", path, R"({"why":"x"})", agent_).status, 400);
  EXPECT_EQ(client_->Request("POST", "/v1/approvals/apr_nope/withdraw", body, agent_).status, 404);
  std::this_thread::sleep_for(200ms);  // pace: the poll is parked (or sees the vote: same)

  HttpResult w = client_->Request("POST", path, body, agent_);
  ASSERT_EQ(w.status, 200) << w.body;
  EXPECT_EQ(Str(w.json, "state"), "withdrawn");
  ASSERT_EQ(waiting.wait_for(10s), std::future_status::ready);
  HttpResult got = waiting.get();
  EXPECT_EQ(Str(got.json, "decision"), "deny") << got.body;
  EXPECT_EQ(Str(got.json, "code"), "APPROVAL_DENIED");
  EXPECT_NE(Str(got.json, "reason").find("was withdrawn"), std::string::npos) << got.body;

  HttpResult v = Vote(id, alice_, "approve");
  EXPECT_EQ(v.status, 409) << v.body;
  EXPECT_NE(v.body.find("withdrawn"), std::string::npos) << v.body;
  EXPECT_EQ(client_->Request("POST", path, body, agent_).status, 409);
  HttpResult detail = client_->Request("GET", "/v1/approvals/" + id, "", alice_);
  EXPECT_EQ(Str(detail.json, "state"), "withdrawn") << detail.body;
  EXPECT_NE(Str(detail.json, "outcome_reason").find("the MCP client cancelled the request"),
            std::string::npos)
      << detail.body;
  HttpResult pending = client_->Request("GET", "/v1/approvals?state=pending", "", alice_);
  EXPECT_EQ(pending.body.find(id), std::string::npos) << pending.body;
  HttpResult audit = client_->Request("GET", "/v1/audit?run_id=" + run, "", admin_);
  ASSERT_EQ(audit.status, 200) << audit.body;
  bool found = false;
  for (const json::value& rec : audit.json.at("records").as_array()) {
    const std::string text = json::serialize(rec);
    if (text.find("\"withdrawn\"") == std::string::npos) continue;
    found = true;
    EXPECT_NE(text.find("\"principal\":\"appr-agent\""), std::string::npos) << text;
    EXPECT_NE(text.find("the MCP client cancelled the request"), std::string::npos) << text;
  }
  EXPECT_TRUE(found) << audit.body;
}

// Tests POST /v1/tools/view: an agent token gets its own view (allowed tools visible,
// others not); reviewers cannot ask, and a malformed body is 400.
TEST_F(ApprovalsTest, ToolViewAnswersTheAgentsOwnView) {
  HttpResult v = client_->Request("POST", "/v1/tools/view",
                                  R"({"tools":["send_email","drop_table","rm_rf"]})", agent_);
  ASSERT_EQ(v.status, 200) << v.body;
  EXPECT_EQ(Str(v.json, "agent_id"), "appr-agent");
  const json::object& tools = v.json.at("tools").as_object();
  EXPECT_EQ(tools.at("send_email").at("visible"), true);
  EXPECT_EQ(tools.at("drop_table").at("visible"), true);
  EXPECT_EQ(tools.at("rm_rf").at("visible"), false);
  HttpResult other =
      client_->Request("POST", "/v1/tools/view", R"({"tools":["drop_table"]})", other_agent_);
  ASSERT_EQ(other.status, 200) << other.body;
  EXPECT_EQ(other.json.at("tools").at("drop_table").at("visible"), false);
  EXPECT_EQ(client_->Request("POST", "/v1/tools/view", R"({"tools":[]})", alice_).status, 403);
  EXPECT_EQ(client_->Request("POST", "/v1/tools/view", R"({"tools":[1]})", agent_).status, 400);
  EXPECT_EQ(client_->Request("POST", "/v1/tools/view", R"({})", agent_).status, 400);
}

// --- Editing the arguments before approving (docs/approvals.md) ------------------------

HttpResult EditVote(HttpClient& c, const std::string& id, const std::string& token,
                    const std::string& verdict, const std::string& arguments) {
  return c.Request("POST", "/v1/approvals/" + id,
                   R"({"verdict":")" + verdict + R"(","arguments":)" + arguments + "}", token);
}

// Tests that a reviewer cannot use an edit to approve what the policy forbids (a recipient
// outside allowed_recipients: 422 EDIT_REFUSED, the approval stays pending), that a deny
// or a non-object cannot carry arguments, and that the edit the policy allows reaches the
// agent: the long poll's allow carries the edited arguments, the original call record
// stays, the grant record carries both hashes and the edited arguments redacted, and only
// the edited arguments redeem the approval.
TEST_F(ApprovalsTest, EditedArgumentsReachTheAgentAndTheAuditTrail) {
  const std::string run = NewRun(agent_);
  const auto [call, id] = HeldMailCall(run);
  ASSERT_FALSE(id.empty());
  auto waiting = Wait(call);

  HttpResult evil = EditVote(*client_, id, alice_, "approve",
                             R"({"recipient":"mallory@evil.example","body":"hi"})");
  EXPECT_EQ(evil.status, 422) << evil.body;
  EXPECT_EQ(Str(evil.json, "code"), "EDIT_REFUSED") << evil.body;
  EXPECT_NE(evil.body.find("allowed_recipients"), std::string::npos) << evil.body;
  EXPECT_EQ(EditVote(*client_, id, alice_, "deny", R"({"recipient":"b@example.com"})").status, 400);
  EXPECT_EQ(EditVote(*client_, id, alice_, "approve", "[1]").status, 400);
  HttpResult still = client_->Request("GET", "/v1/approvals/" + id, "", alice_);
  EXPECT_EQ(Str(still.json, "state"), "pending") << still.body;

  const std::string edited =
      R"({"recipient":"b@example.com","body":"hello, fixed","api_key":"sk-edited"})";
  HttpResult v = EditVote(*client_, id, alice_, "approve", edited);
  ASSERT_EQ(v.status, 200) << v.body;
  EXPECT_EQ(Str(v.json, "state"), "granted");
  EXPECT_FALSE(Str(v.json, "edited_args_sha256").empty()) << v.body;
  EXPECT_NE(Str(v.json, "edited_args_sha256"), Str(v.json, "args_sha256"));

  ASSERT_EQ(waiting.wait_for(10s), std::future_status::ready);
  HttpResult got = waiting.get();
  EXPECT_EQ(Str(got.json, "decision"), "allow") << got.body;
  ASSERT_TRUE(got.json.as_object().contains("arguments")) << got.body;
  EXPECT_EQ(got.json.at("arguments"), json::parse(edited)) << got.body;

  HttpResult audit = client_->Request("GET", "/v1/audit?run_id=" + run, "", admin_);
  ASSERT_EQ(audit.status, 200) << audit.body;
  EXPECT_EQ(audit.body.find("sk-edited"), std::string::npos) << audit.body;
  EXPECT_EQ(audit.body.find("sk-orig"), std::string::npos) << audit.body;
  bool granted = false, original = false;
  for (const json::value& rec : audit.json.at("records").as_array()) {
    const std::string text = json::serialize(rec);
    if (Str(rec, "type") == "decision" && text.find("a@example.com") != std::string::npos) {
      original = true;  // the original call's record stays as it was
    }
    if (text.find("\"granted\"") == std::string::npos) continue;
    granted = true;
    EXPECT_NE(text.find("\"edited_args_sha256\""), std::string::npos) << text;
    EXPECT_NE(text.find("\"args_sha256\""), std::string::npos) << text;
    EXPECT_NE(text.find("hello, fixed"), std::string::npos) << text;
    EXPECT_NE(text.find("hmac-sha256:"), std::string::npos) << text;
  }
  EXPECT_TRUE(granted) << audit.body;
  EXPECT_TRUE(original) << audit.body;

  // Only the edited arguments redeem the approval.
  auto with = [&](const std::string& args) {
    return R"({"tool":"mail_customer","approval_id":")" + id + R"(","args":)" + args + "}";
  };
  HttpResult old =
      Call(run, with(R"({"recipient":"a@example.com","body":"hi","api_key":"sk-orig"})"));
  EXPECT_EQ(Str(old.json, "code"), "APPROVAL_DENIED") << old.body;
  HttpResult same = Call(run, with(edited));
  EXPECT_EQ(Str(same.json, "code"), "ALLOWED") << same.body;
  EXPECT_EQ(Str(same.json, "call_id"), call) << same.body;
  // The re-submission is answered with the arguments to run, opened (the store keeps the
  // redacted api_key sealed), never the sealed text.
  ASSERT_TRUE(same.json.as_object().contains("arguments")) << same.body;
  EXPECT_EQ(same.json.at("arguments"), json::parse(edited)) << same.body;
  EXPECT_FALSE(same.json.as_object().contains("sealed_arguments")) << same.body;
}

// Tests that an agent which re-submits a reviewer's edit exactly as the answer gave it
// redeems the approval when the edit holds whole-number doubles (2.0, -0.0, 1e19): the
// answer once wrote 2.0 as "2", which reads back as the integer 2, whose canonical form
// (and so the arguments' hash the approval binds) is not the double's, and the agent's
// faithful re-submission was refused as "the arguments differ".
TEST_F(ApprovalsTest, AgentRedeemsAnEditOfWholeNumberDoublesAsTheAnswerGaveIt) {
  const std::string run = NewRun(agent_);
  const auto [call, id] = HeldMailCall(run);
  ASSERT_FALSE(id.empty());
  auto waiting = Wait(call);
  const std::string edited =
      R"({"recipient":"b@example.com","body":"hello","priority":2.0,"offset":-0.0,"n":1e19})";
  HttpResult v = EditVote(*client_, id, alice_, "approve", edited);
  ASSERT_EQ(v.status, 200) << v.body;
  ASSERT_EQ(waiting.wait_for(10s), std::future_status::ready);
  HttpResult got = waiting.get();
  EXPECT_EQ(Str(got.json, "decision"), "allow") << got.body;
  ASSERT_TRUE(got.json.as_object().contains("arguments")) << got.body;
  EXPECT_NE(got.body.find("\"priority\":2.0"), std::string::npos) << got.body;
  // The agent sends back what it was given, kind for kind.
  const std::string as_answered = json::serialize(got.json.at("arguments"));
  HttpResult same = Call(
      run, R"({"tool":"mail_customer","approval_id":")" + id + R"(","args":)" + as_answered + "}");
  EXPECT_EQ(Str(same.json, "code"), "ALLOWED") << as_answered << " " << same.body;
  EXPECT_EQ(Str(same.json, "call_id"), call) << same.body;
}

// Tests that an approval binds numbers by their value: an agent that re-serializes the
// reviewer's edit as JavaScript does (JSON.stringify writes 2.0 as 2, -0.0 as 0 and 1e19
// as its digits) redeems it; a different number does not.
TEST_F(ApprovalsTest, AgentRedeemsAnEditItReserializedAsJavaScriptDoes) {
  const std::string run = NewRun(agent_);
  const auto [call, id] = HeldMailCall(run);
  ASSERT_FALSE(id.empty());
  auto waiting = Wait(call);
  HttpResult v = EditVote(
      *client_, id, alice_, "approve",
      R"({"recipient":"b@example.com","body":"hello","priority":2.0,"offset":-0.0,"n":1e19})");
  ASSERT_EQ(v.status, 200) << v.body;
  ASSERT_EQ(waiting.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(Str(waiting.get().json, "decision"), "allow");
  auto with = [&](const std::string& args) {
    return R"({"tool":"mail_customer","approval_id":")" + id + R"(","args":)" + args + "}";
  };
  HttpResult other = Call(
      run,
      with(R"({"recipient":"b@example.com","body":"hello","priority":3,"offset":0,"n":1e19})"));
  EXPECT_EQ(Str(other.json, "code"), "APPROVAL_DENIED") << other.body;
  HttpResult js = Call(run, with(R"({"recipient":"b@example.com","body":"hello","priority":2,)"
                                 R"("offset":0,"n":10000000000000000000})"));
  EXPECT_EQ(Str(js.json, "code"), "ALLOWED") << js.body;
  EXPECT_EQ(Str(js.json, "call_id"), call) << js.body;
}

// Tests the attack of a reader who is not the call's agent: another reviewer or an admin
// reads an approved call whose redacted argument a reviewer edited (GET /v1/calls/{id},
// GET /v1/approvals/{id}). Only the agent's door gets the edited value opened; everyone
// else sees it as the audit trail does, its keyed hash, never the value nor the sealed text.
TEST_F(ApprovalsTest, AnotherReaderOfAnEditedCallSeesTheRedactedValueOnlyAsItsHash) {
  const std::string run = NewRun(agent_);
  const auto [call, id] = HeldMailCall(run);
  ASSERT_FALSE(id.empty());
  const std::string edited =
      R"({"recipient":"b@example.com","body":"hello","api_key":"sk-edited-secret"})";
  ASSERT_EQ(EditVote(*client_, id, alice_, "approve", edited).status, 200);

  // The hash the audit trail's grant record gives the edited value.
  HttpResult audit = client_->Request("GET", "/v1/audit?run_id=" + run, "", admin_);
  ASSERT_EQ(audit.status, 200) << audit.body;
  std::string hashed;
  for (const json::value& rec : audit.json.at("records").as_array()) {
    const json::value* args = rec.as_object().at("data").as_object().if_contains("edited_args");
    if (args != nullptr) hashed = Str(*args, "api_key");
  }
  ASSERT_EQ(hashed.rfind("hmac-sha256:", 0), 0u) << audit.body;

  for (const std::string* reader : {&admin_, &bob_, &alice_}) {
    HttpResult seen = client_->Request("GET", "/v1/calls/" + call, "", *reader);
    ASSERT_EQ(seen.status, 200) << seen.body;
    EXPECT_EQ(seen.body.find("sk-edited-secret"), std::string::npos) << seen.body;
    EXPECT_EQ(seen.body.find("sealed:"), std::string::npos) << seen.body;
    ASSERT_TRUE(seen.json.as_object().contains("arguments")) << seen.body;
    EXPECT_EQ(Str(seen.json.at("arguments"), "api_key"), hashed) << seen.body;
    EXPECT_EQ(Str(seen.json.at("arguments"), "body"), "hello") << seen.body;
    EXPECT_FALSE(seen.json.as_object().contains("sealed_arguments")) << seen.body;

    HttpResult review = client_->Request("GET", "/v1/approvals/" + id, "", *reader);
    ASSERT_EQ(review.status, 200) << review.body;
    EXPECT_EQ(review.body.find("sk-edited-secret"), std::string::npos) << review.body;
    EXPECT_EQ(review.body.find("sealed:"), std::string::npos) << review.body;
    EXPECT_EQ(Str(review.json.at("decision").at("arguments"), "api_key"), hashed) << review.body;
  }
  // The agent's own read releases the call with the value to run.
  HttpResult mine = client_->Request("GET", "/v1/calls/" + call, "", agent_);
  ASSERT_EQ(mine.status, 200) << mine.body;
  EXPECT_EQ(mine.json.at("arguments"), json::parse(edited)) << mine.body;
}

// Tests that one reviewer cannot edit the arguments of a call that needs two approvers.
TEST_F(ApprovalsTest, TwoPersonApprovalCannotBeEdited) {
  const std::string run = NewRun(agent_);
  HttpResult r = Call(run, R"({"tool":"drop_table","args":{"table":"t"}})");
  const std::string id = Str(r.json, "approval_id");
  ASSERT_FALSE(id.empty()) << r.body;
  HttpResult v = EditVote(*client_, id, alice_, "approve", R"({"table":"u"})");
  EXPECT_EQ(v.status, 400) << v.body;
  HttpResult still = client_->Request("GET", "/v1/approvals/" + id, "", alice_);
  EXPECT_EQ(Str(still.json, "state"), "pending") << still.body;
  EXPECT_EQ(still.json.at("votes").as_array().size(), 0u) << still.body;
}

// Tests "for the rest of this run" end to end over HTTP: a reviewer approves one call for
// the run; the next call of that tool in the run is allowed at once, covered by that
// approval (the decision and its audit record name it); another run still asks; the run
// lists the grant; a revocation (audited) makes the next call ask again.
TEST_F(ApprovalsTest, ApprovedForTheRunCoversLaterCallsUntilRevoked) {
  const std::string run = NewRun(agent_);
  HttpResult first = Call(run, R"({"tool":"send_email","args":{"to":"a@example.com"}})");
  ASSERT_EQ(Str(first.json, "decision"), "approval_required") << first.body;
  const std::string id = Str(first.json, "approval_id");
  HttpResult v =
      client_->Request("POST", "/v1/approvals/" + id,
                       R"({"verdict":"approve","scope":"run","comment":"ok for today"})", alice_);
  ASSERT_EQ(v.status, 200) << v.body;
  HttpResult second = Call(run, R"({"tool":"send_email","args":{"to":"b@example.com"}})");
  EXPECT_EQ(Str(second.json, "decision"), "allow") << second.body;
  EXPECT_EQ(Str(second.json, "covered_by"), id) << second.body;
  EXPECT_NE(Str(second.json, "reason").find("for the rest of this run"), std::string::npos);
  // Another run of the same agent is not covered.
  const std::string other = NewRun(agent_);
  EXPECT_EQ(
      Str(Call(other, R"({"tool":"send_email","args":{"to":"c@example.com"}})").json, "decision"),
      "approval_required");
  // The run shows its grant.
  HttpResult shown = client_->Request("GET", "/v1/runs/" + run, "", alice_);
  ASSERT_EQ(shown.status, 200);
  const json::array& grants = shown.json.as_object().at("grants").as_array();
  ASSERT_EQ(grants.size(), 1u) << shown.body;
  EXPECT_EQ(Str(grants[0], "tool"), "send_email");
  EXPECT_EQ(Str(grants[0], "approval_id"), id);
  // The audit trail: the grant says for_run, the covered decision names the approval.
  HttpResult audit = client_->Request("GET", "/v1/audit?run_id=" + run + "&limit=100", "", admin_);
  ASSERT_EQ(audit.status, 200);
  EXPECT_NE(audit.body.find("\"for_run\":true"), std::string::npos) << audit.body;
  EXPECT_NE(audit.body.find("\"covered_by\":\"" + id + "\""), std::string::npos) << audit.body;
  // Revoked (an agent may not): the next call asks again; revoking twice is 404.
  EXPECT_EQ(client_
                ->Request("POST", "/v1/runs/" + run + "/grants/revoke", R"({"tool":"send_email"})",
                          agent_)
                .status,
            403);
  HttpResult revoked = client_->Request("POST", "/v1/runs/" + run + "/grants/revoke",
                                        R"({"tool":"send_email","reason":"enough"})", bob_);
  ASSERT_EQ(revoked.status, 200) << revoked.body;
  EXPECT_EQ(
      Str(Call(run, R"({"tool":"send_email","args":{"to":"d@example.com"}})").json, "decision"),
      "approval_required");
  EXPECT_EQ(
      client_
          ->Request("POST", "/v1/runs/" + run + "/grants/revoke", R"({"tool":"send_email"})", bob_)
          .status,
      404);
  HttpResult audit2 = client_->Request("GET", "/v1/audit?run_id=" + run + "&limit=100", "", admin_);
  EXPECT_NE(audit2.body.find("run_grant_revoked"), std::string::npos) << audit2.body;
}

// Tests that an irreversible or two-approver tool cannot be approved for the run: the
// vote is refused (400) and recorded nowhere, the approval stays pending.
TEST_F(ApprovalsTest, IrreversibleToolCannotBeApprovedForTheRun) {
  const std::string run = NewRun(agent_);
  HttpResult r = Call(run, R"({"tool":"drop_table","args":{"table":"users"}})");
  ASSERT_EQ(Str(r.json, "decision"), "approval_required") << r.body;
  const std::string id = Str(r.json, "approval_id");
  HttpResult v = client_->Request("POST", "/v1/approvals/" + id,
                                  R"({"verdict":"approve","scope":"run"})", alice_);
  EXPECT_EQ(v.status, 400) << v.body;
  EXPECT_NE(v.body.find("irreversible"), std::string::npos) << v.body;
  HttpResult a = client_->Request("GET", "/v1/approvals/" + id, "", alice_);
  EXPECT_EQ(Str(a.json, "state"), "pending") << a.body;
  // A deny "for the run" is meaningless: refused too.
  EXPECT_EQ(
      client_->Request("POST", "/v1/approvals/" + id, R"({"verdict":"deny","scope":"run"})", alice_)
          .status,
      400);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::testing
