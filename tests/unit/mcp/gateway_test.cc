// Gateway logic with fake transports and a fake Enforcer: filtering, denial shape,
// rug-pull pinning, schema refusal (recorded), upstream death, approval cancellation.
#include "mcp/gateway.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "common/json.h"
#include "mcp/tool_view.h"
#include "policy/loader.h"

namespace interlock::mcp {
namespace {

namespace json = boost::json;

class FakeEnforcer : public Enforcer {
 public:
  Outcome Decide(ToolCall call) override {
    Outcome o;
    o.call_id = "call-" + call.tool;
    if (call.tool == "held") {
      o.decision.verdict = Verdict::kApprovalRequired;
      o.decision.code = Code::kApprovalRequired;
      o.approval_id = "apr-held";
      o.approval_url = "http://reviewer.test/ui/#/approvals/apr-held";
    } else if (call.tool == "denied") {
      o.decision = DenyDecision(Code::kToolBlocked, "blocked by test", "r");
    } else {
      o.decision.verdict = Verdict::kAllow;
      o.decision.code = Code::kAllowed;
    }
    return o;
  }
  Outcome AwaitApproval(const Outcome& p, const std::function<bool()>& cancelled,
                        const std::function<void()>& progress) override {
    for (int i = 0; i < 500 && !cancelled(); ++i) {
      if (i % 5 == 0) progress();
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return p;
  }
  Status RecordResult(std::string_view call_id, const ToolResult& r) override {
    std::lock_guard l(mu);
    recorded.emplace_back(std::string(call_id), r);
    return Status::Ok();
  }
  Status Withdraw(const Outcome& p, std::string_view reason) override {
    std::lock_guard l(mu);
    withdrawn.emplace_back(p.approval_id, std::string(reason));
    return Status::Ok();
  }
  std::vector<std::pair<std::string, std::string>> Withdrawn() {
    std::lock_guard l(mu);
    return withdrawn;
  }
  std::mutex mu;
  std::vector<std::pair<std::string, ToolResult>> recorded;
  std::vector<std::pair<std::string, std::string>> withdrawn;  // approval id, reason
};

// A tool view that cannot be had (the daemon is unreachable).
class FailingToolView : public ToolViewSource {
 public:
  Result<View> ViewTools(const std::vector<std::string>&) override {
    return Error::Unavailable("daemon unreachable (test)");
  }
};

struct Harness {
  explicit Harness(ToolViewSource* view = nullptr) {
    // One file per process: ctest runs every test of this suite as its own process, in
    // parallel, and a shared name let one truncate the file while another read it.
    const std::string path =
        ::testing::TempDir() + "/gw_policy_" + std::to_string(::getpid()) + ".yaml";
    FILE* f = fopen(path.c_str(), "w");
    fputs(
        "agent:\n  id: \"a\"\n  identity: \"a@t\"\n  autonomy: audit_based\n"
        "tools:\n  allowed:\n    - name: \"ok\"\n      scope: [\"keep\"]\n"
        "    - name: \"held\"\n    - name: \"denied\"\n  blocked:\n    - \"secret\"\n",
        f);
    fclose(f);
    std::vector<policy::Diagnostic> d;
    auto set = policy::LoadPolicySet({path}, &d);
    std::remove(path.c_str());
    EXPECT_TRUE(set.ok()) << set.error().message;
    source = std::make_unique<core::PolicySource>(std::move(set).value());
    policy_view = std::make_unique<PolicyToolView>(source.get(), "a");
    pins = PinStore::Open(":memory:").value();
    GatewayOptions o;
    o.agent_id = "a";
    o.tools = view != nullptr ? view : policy_view.get();
    o.enforcer = &enforcer;
    o.pins = pins.get();
    o.secrets = {"hunter2"};
    o.catalog_timeout = std::chrono::milliseconds(200);
    gw = std::make_unique<Gateway>(
        o,
        [this](const json::value& v) {
          std::lock_guard l(mu);
          to_client.push_back(v);
        },
        [this](const json::value& v) {
          std::lock_guard l(mu);
          to_server.push_back(v);
        });
  }
  void ListTools(const std::string& ok_description) {
    gw->OnClientLine(R"({"jsonrpc":"2.0","id":"L","method":"tools/list"})");
    gw->OnServerLine(ToJsonText(json::object{
        {"jsonrpc", "2.0"},
        {"id", "L"},
        {"result",
         {{"tools", json::array{
                        {{"name", "ok"},
                         {"description", ok_description},
                         {"inputSchema",
                          {{"type", "object"}, {"properties", {{"n", {{"type", "integer"}}}}}}}},
                        {{"name", "secret"}, {"inputSchema", {{"type", "object"}}}},
                        {{"name", "unlisted"}, {"inputSchema", {{"type", "object"}}}},
                    }}}}}));
  }
  json::value LastClient() {
    std::lock_guard l(mu);
    return to_client.back();
  }
  FakeEnforcer enforcer;
  std::unique_ptr<core::PolicySource> source;
  std::unique_ptr<PolicyToolView> policy_view;
  std::unique_ptr<PinStore> pins;
  std::mutex mu;
  std::vector<json::value> to_client, to_server;
  std::unique_ptr<Gateway> gw;
};

std::string CallLine(int id, const std::string& tool, const std::string& args) {
  return R"({"jsonrpc":"2.0","id":)" + std::to_string(id) +
         R"(,"method":"tools/call","params":{"name":")" + tool + R"(","arguments":)" + args +
         R"(,"_meta":{"progressToken":"p"}}})";
}

// Tests that tools/list keeps only allowed, unblocked tools.
TEST(GatewayTest, FiltersToolList) {
  Harness h;
  h.ListTools("v1");
  const json::value r = h.LastClient();
  ASSERT_EQ(r.at("result").at("tools").as_array().size(), 1u);
  EXPECT_EQ(r.at("result").at("tools").at(0).at("name"), "ok");
}

// Tests that a denied call is answered with the isError result and never forwarded.
TEST(GatewayTest, DeniedCallNotForwarded) {
  Harness h;
  h.ListTools("v1");
  const size_t before = h.to_server.size();
  h.gw->OnClientLine(CallLine(5, "denied", "{}"));
  EXPECT_EQ(h.to_server.size(), before);
  const json::value r = h.LastClient();
  EXPECT_EQ(r.at("result").at("isError"), true);
  EXPECT_EQ(r.at("result").at("content").at(0).at("text"),
            "Interlock denied denied (TOOL_BLOCKED): blocked by test");
  EXPECT_EQ(r.at("result").at("structuredContent").at("code"), "TOOL_BLOCKED");
}

// Tests that a schema-invalid call is refused, recorded as not forwarded, and that an
// allowed call's result is masked, scoped and recorded.
TEST(GatewayTest, SchemaRefusalAndResultHandling) {
  Harness h;
  h.ListTools("v1");
  const size_t before = h.to_server.size();
  h.gw->OnClientLine(CallLine(6, "ok", R"({"n":"1"})"));
  EXPECT_EQ(h.to_server.size(), before);
  EXPECT_EQ(h.LastClient().at("result").at("structuredContent").at("code"), "INVALID_REQUEST");
  ASSERT_EQ(h.enforcer.recorded.size(), 1u);
  EXPECT_FALSE(h.enforcer.recorded[0].second.ok);

  h.gw->OnClientLine(CallLine(7, "ok", R"({"n":1})"));
  ASSERT_EQ(h.to_server.size(), before + 1);
  h.gw->OnServerLine(
      R"({"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"pw hunter2"}],)"
      R"("structuredContent":{"keep":1,"drop":2}}})");
  const json::value r = h.LastClient();
  EXPECT_EQ(r.at("result").at("content").at(0).at("text"), "pw [REDACTED]");
  EXPECT_EQ(r.at("result").at("structuredContent"), (json::object{{"keep", 1}}));
  ASSERT_EQ(h.enforcer.recorded.size(), 2u);
  EXPECT_TRUE(h.enforcer.recorded[1].second.ok);
  EXPECT_EQ(h.enforcer.recorded[1].second.output_json.find("hunter2"), std::string::npos);
}

// Tests that a tool whose definition changed (rug pull) is hidden and not callable.
TEST(GatewayTest, RugPullBlocked) {
  Harness h;
  h.ListTools("v1");
  h.ListTools("v2 now exfiltrates");
  EXPECT_TRUE(h.LastClient().at("result").at("tools").as_array().empty());
  const size_t before = h.to_server.size();
  h.gw->OnClientLine(CallLine(8, "ok", R"({"n":1})"));
  EXPECT_EQ(h.to_server.size(), before);
  EXPECT_NE(ToJsonText(h.LastClient()).find("pins accept"), std::string::npos);
  ASSERT_EQ(h.pins->Accept("ok").value(), 1);
  h.ListTools("v2 now exfiltrates");
  EXPECT_EQ(h.LastClient().at("result").at("tools").as_array().size(), 1u);
}

// Tests that when the upstream dies, a forwarded call gets an error result.
TEST(GatewayTest, UpstreamDeathAnswersPending) {
  Harness h;
  h.ListTools("v1");
  h.gw->OnClientLine(CallLine(9, "ok", R"({"n":1})"));
  h.gw->OnClientLine(R"({"jsonrpc":"2.0","id":10,"method":"resources/list"})");
  h.gw->OnUpstreamClosed("test");
  ASSERT_GE(h.to_client.size(), 3u);
  bool call_answered = false, other_answered = false;
  for (const json::value& v : h.to_client) {
    if (v.at("id") == json::value(9)) call_answered = v.at("result").at("isError") == true;
    if (v.at("id") == json::value(10)) other_answered = v.as_object().contains("error");
  }
  EXPECT_TRUE(call_answered);
  EXPECT_TRUE(other_answered);
}

// Tests that a held call sends progress and that notifications/cancelled ends it silently.
TEST(GatewayTest, HeldCallProgressAndCancel) {
  Harness h;
  h.ListTools("v1");
  const size_t before = h.to_client.size();
  h.gw->OnClientLine(CallLine(11, "held", "{}"));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  h.gw->OnClientLine(
      R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":11}})");
  h.gw.reset();  // joins the approval thread
  bool progress = false, answered = false;
  for (size_t i = before; i < h.to_client.size(); ++i) {
    const json::object& o = h.to_client[i].as_object();
    if (o.contains("method") && o.at("method") == "notifications/progress") progress = true;
    if (o.contains("id")) answered = true;
  }
  EXPECT_TRUE(progress);
  EXPECT_FALSE(answered);
}

// Tests that the progress of a held call names the approval id and the reviewer page's
// link the Enforcer answered with.
TEST(GatewayTest, HeldCallProgressNamesTheApprovalAndItsLink) {
  Harness h;
  h.ListTools("v1");
  h.gw->OnClientLine(CallLine(12, "held", "{}"));
  std::string message;
  for (int i = 0; i < 200 && message.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::lock_guard l(h.mu);
    for (const json::value& v : h.to_client) {
      const json::object& o = v.as_object();
      if (o.contains("method") && o.at("method") == "notifications/progress") {
        message = std::string(o.at("params").at("message").as_string());
      }
    }
  }
  EXPECT_NE(message.find("approval apr-held"), std::string::npos) << message;
  EXPECT_NE(message.find("http://reviewer.test/ui/#/approvals/apr-held"), std::string::npos)
      << message;
}

// Tests that notifications/cancelled for a held call withdraws its approval, with the
// client's reason, so none is left pending for nobody.
TEST(GatewayTest, CancelledHeldCallWithdrawsItsApproval) {
  Harness h;
  h.ListTools("v1");
  h.gw->OnClientLine(CallLine(13, "held", "{}"));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  h.gw->OnClientLine(
      R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":13,"reason":"user gave up"}})");
  for (int i = 0; i < 400 && h.enforcer.Withdrawn().empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const auto withdrawn = h.enforcer.Withdrawn();
  ASSERT_EQ(withdrawn.size(), 1u);
  EXPECT_EQ(withdrawn[0].first, "apr-held");
  EXPECT_NE(withdrawn[0].second.find("cancelled the request: user gave up"), std::string::npos)
      << withdrawn[0].second;
}

// Tests that a client going away (stdin EOF, an ended HTTP session) withdraws the approval
// of every held call before OnClientClosed returns, and answers none of them.
TEST(GatewayTest, ClientGoneWithdrawsEveryHeldApproval) {
  Harness h;
  h.ListTools("v1");
  h.gw->OnClientLine(CallLine(14, "held", "{}"));
  h.gw->OnClientLine(CallLine(15, "held", "{}"));
  h.gw->OnClientClosed("stdin EOF (test)");
  const auto withdrawn = h.enforcer.Withdrawn();
  ASSERT_EQ(withdrawn.size(), 2u);
  EXPECT_EQ(withdrawn[0].second, "stdin EOF (test)");
  EXPECT_EQ(withdrawn[1].second, "stdin EOF (test)");
  std::lock_guard l(h.mu);
  for (const json::value& v : h.to_client) {
    const json::object& o = v.as_object();
    if (!o.contains("id")) continue;
    EXPECT_NE(o.at("id"), json::value(14)) << v;
    EXPECT_NE(o.at("id"), json::value(15)) << v;
  }
}

// Tests that without the agent's tool view (daemon unreachable) no tool is listed and a
// result's structuredContent is withheld (fail closed).
TEST(GatewayTest, UnavailableToolViewShowsNothing) {
  FailingToolView failing;
  Harness h(&failing);
  h.ListTools("v1");
  EXPECT_TRUE(h.LastClient().at("result").at("tools").as_array().empty());
  h.gw->OnClientLine(CallLine(16, "ok", R"({"n":1})"));
  h.gw->OnServerLine(
      R"({"jsonrpc":"2.0","id":16,"result":{"content":[],"structuredContent":{"keep":1,"drop":2}}})");
  EXPECT_EQ(h.LastClient().at("result").at("structuredContent"), json::object{});
}

}  // namespace
}  // namespace interlock::mcp
