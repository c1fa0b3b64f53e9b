// A server's requests to the client across the era matrix (docs/mcp.md#revisions): a 2025
// server's elicitation/create, sampling/createMessage and roots/list reach a 2026-07-28 client
// as an input_required round of its call and its answer goes back as the JSON-RPC response
// (gateway_relay.cc); the other pairings keep working; declines, a client that never answers,
// an undeclared capability, cancellations and the kill switch mid-round.
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "common/json.h"
#include "gateway_harness.h"
#include "mcp/gateway.h"

namespace interlock::mcp {
namespace INTERLOCK_TEST_NS {

namespace json = boost::json;

using testharness::Harness;

json::value Tools() {
  json::array tools;
  for (const char* n : {"ask", "echo"}) {
    tools.push_back(json::object{{"name", n}, {"inputSchema", {{"type", "object"}}}});
  }
  return tools;
}

// A 2025-11-25 server (TypeScript SDK 1.x's shape): tools/call of `ask` is left unanswered;
// the test sends the server's own request and, later, the call's answer.
json::value LegacyServer(const json::object& req) {
  const std::string method(req.at("method").get_string());
  if (method == "initialize") {
    return json::object{{"result",
                         {{"protocolVersion", "2025-11-25"},
                          {"capabilities", {{"tools", json::object{}}}},
                          {"serverInfo", {{"name", "old"}, {"version", "1"}}}}}};
  }
  if (method == "tools/list") return json::object{{"result", {{"tools", Tools()}}}};
  if (method == "tools/call") {
    if (req.at("params").at("name") == "ask") return nullptr;
    return json::object{{"result", {{"content", json::array{{{"type", "text"}, {"text", "ok"}}}}}}};
  }
  return json::object{{"error", {{"code", -32601}, {"message", "Method not found"}}}};
}

// One kind of server-to-client request: what the server asks, what the client declares, and
// what it answers.
struct Kind {
  const char* name;
  const char* method;
  json::value params;
  json::value caps;  // the client's capabilities
  json::value answer;
};

std::vector<Kind> Kinds() {
  return {
      {"elicitation_form", "elicitation/create",
       json::object{{"message", "Delete /srv/data for good?"},
                    {"requestedSchema",
                     {{"type", "object"}, {"properties", {{"confirm", {{"type", "boolean"}}}}}}}},
       json::object{{"elicitation", json::object{}}},
       json::object{{"action", "accept"}, {"content", {{"confirm", true}}}}},
      {"elicitation_url", "elicitation/create",
       json::object{{"mode", "url"},
                    {"message", "Sign in to the bank"},
                    {"url", "https://bank.example/login"},
                    {"elicitationId", "e-1"}},
       json::object{{"elicitation", {{"form", json::object{}}, {"url", json::object{}}}}},
       json::object{{"action", "accept"}}},
      {"sampling", "sampling/createMessage",
       json::object{{"messages", json::array{{{"role", "user"},
                                              {"content", {{"type", "text"}, {"text", "hi"}}}}}},
                    {"maxTokens", 10}},
       json::object{{"sampling", json::object{}}},
       json::object{
           {"role", "assistant"}, {"content", {{"type", "text"}, {"text", "yo"}}}, {"model", "m"}}},
      {"roots", "roots/list", json::object{}, json::object{{"roots", json::object{}}},
       json::object{{"roots", json::array{{{"uri", "file:///work"}, {"name", "work"}}}}}},
  };
}

// A 2026-07-28 server asking through input_required (TypeScript SDK 2.x's shape): the answer
// is checked in the retry's inputResponses.
Harness::Answer ModernServer(const Kind& k) {
  return [k](const json::object& req) -> json::value {
    const std::string method(req.at("method").get_string());
    if (method == "initialize") {
      return json::object{{"error", {{"code", -32022}, {"message", "Unsupported"}}}};
    }
    if (method == "server/discover") {
      return json::object{{"result",
                           {{"supportedVersions", json::array{"2026-07-28"}},
                            {"capabilities", {{"tools", json::object{}}}},
                            {"resultType", "complete"}}}};
    }
    if (method == "tools/list") {
      return json::object{{"result", {{"tools", Tools()}, {"resultType", "complete"}}}};
    }
    if (method == "tools/call") {
      const json::object& p = req.at("params").get_object();
      if (!p.contains("inputResponses")) {
        return json::object{
            {"result",
             {{"resultType", "input_required"},
              {"inputRequests", {{"q", {{"method", k.method}, {"params", k.params}}}}},
              {"requestState", "opaque"}}}};
      }
      const bool same = p.at("inputResponses").at("q") == k.answer;
      return json::object{
          {"result",
           {{"content", json::array{{{"type", "text"}, {"text", same ? "done" : "wrong answer"}}}},
            {"resultType", "complete"}}}};
    }
    return json::object{{"result", {{"resultType", "complete"}}}};
  };
}

std::string Meta(const json::value& caps) {
  return R"("_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",)"
         R"("io.modelcontextprotocol/clientCapabilities":)" +
         ToJsonText(caps) + "}";
}

std::string ModernCall(int id, const json::value& caps, const std::string& extra = "") {
  return R"({"jsonrpc":"2.0","id":)" + std::to_string(id) +
         R"(,"method":"tools/call","params":{"name":"ask","arguments":{"path":"/srv/data"},)" +
         extra + Meta(caps) + "}}";
}

std::string Retry(int id, const json::value& caps, const std::string& key,
                  const json::value& answer, const json::value& state) {
  return ModernCall(id, caps,
                    R"("inputResponses":{")" + key + R"(":)" + ToJsonText(answer) +
                        R"(},"requestState":)" + ToJsonText(state) + ",");
}

std::string ServerRequest(const json::value& id, const char* method, const json::value& params) {
  return ToJsonText(
      json::object{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}});
}

// The gateway's response to the server's request `id` (null when none was sent).
json::value ResponseTo(Harness& h, const json::value& id) {
  std::lock_guard l(h.mu);
  for (const json::value& v : h.to_server) {
    const json::object& o = v.get_object();
    if (!o.contains("method") && o.contains("id") && o.at("id") == id) return v;
  }
  return nullptr;
}

json::value CallId(Harness& h) { return h.Sent("tools/call").back().at("id"); }

void AnswerCall(Harness& h, const json::value& sid, const std::string& text) {
  h.gw->OnServerLine(ToJsonText(
      json::object{{"jsonrpc", "2.0"},
                   {"id", sid},
                   {"result", {{"content", json::array{{{"type", "text"}, {"text", text}}}}}}}));
}

// Tests that a 2026-07-28 client behind the gateway sees a 2025 server's own elicitation/create
// (the issue's finding: the server asking to confirm a destructive action could not finish):
// the server is told the capability, the question reaches the client as input_required, the
// client's answer reaches the server as the response, and the call is decided and recorded once.
TEST(GatewayRelayTest, ModernClientSeesLegacyServersElicitation) {
  Harness h(LegacyServer);
  const Kind k = Kinds()[0];
  h.gw->OnClientLine(ModernCall(1, k.caps));
  ASSERT_EQ(h.Sent("initialize").size(), 1u);
  const json::value declared = h.Sent("initialize")[0].at("params").at("capabilities");
  EXPECT_TRUE(declared.get_object().contains("elicitation")) << declared;
  const json::value sid = CallId(h);
  h.gw->OnServerLine(ServerRequest("srv-1", k.method, k.params));
  EXPECT_TRUE(ResponseTo(h, "srv-1").is_null()) << "the server was answered before the client";
  const json::object r = h.LastClient().get_object();
  ASSERT_EQ(r.at("id"), 1) << r;
  const json::object& ir = r.at("result").get_object();
  ASSERT_EQ(ir.at("resultType"), "input_required") << r;
  ASSERT_EQ(ir.at("inputRequests").get_object().size(), 1u);
  const auto& [key, q] = *ir.at("inputRequests").get_object().begin();
  EXPECT_NE(std::string(key), "interlock_approval");
  EXPECT_EQ(q.at("method"), "elicitation/create");
  EXPECT_EQ(q.at("params").at("message"), "Delete /srv/data for good?");
  h.gw->OnClientLine(Retry(2, k.caps, std::string(key), k.answer, ir.at("requestState")));
  const json::value answer = ResponseTo(h, "srv-1");
  ASSERT_FALSE(answer.is_null());
  EXPECT_EQ(answer.at("result"), k.answer) << answer;
  EXPECT_EQ(h.Sent("tools/call").size(), 1u) << "the call is never sent twice";
  AnswerCall(h, sid, "deleted");
  const json::object done = h.LastClient().get_object();
  EXPECT_EQ(done.at("id"), 2);
  EXPECT_EQ(done.at("result").at("content").at(0).at("text"), "deleted") << done;
  EXPECT_EQ(done.at("result").at("resultType"), "complete");
  std::lock_guard l(h.enforcer.mu);
  EXPECT_EQ(h.enforcer.decided.size(), 1u);
  ASSERT_EQ(h.enforcer.recorded.size(), 1u);
  EXPECT_TRUE(h.enforcer.recorded[0].second.ok);
}

// Tests every server-to-client request kind across the era matrix (client 2025-06-18,
// 2025-11-25, 2026-07-28 x server 2025, 2026): the client is asked, and its answer reaches the
// server (a JSON-RPC response to a 2025 server, inputResponses to a 2026 one), the call decided
// once and recorded once.
TEST(GatewayRelayTest, EveryServerRequestKindCrossesEveryEraPairing) {
  for (const Kind& k : Kinds()) {
    for (const char* client : {"2025-06-18", "2025-11-25", "2026-07-28"}) {
      for (const bool modern_server : {false, true}) {
        if (std::string(client) == "2025-06-18" && std::string(k.name) == "elicitation_url") {
          continue;  // url mode is 2025-11-25's
        }
        SCOPED_TRACE(std::string(k.name) + " client " + client +
                     (modern_server ? " server 2026" : " server 2025"));
        Harness h(modern_server ? ModernServer(k) : Harness::Answer(LegacyServer));
        const bool modern_client = std::string(client) == "2026-07-28";
        if (!modern_client) {
          h.gw->OnClientLine(
              ToJsonText(json::object{{"jsonrpc", "2.0"},
                                      {"id", 100},
                                      {"method", "initialize"},
                                      {"params",
                                       {{"protocolVersion", client},
                                        {"capabilities", k.caps},
                                        {"clientInfo", {{"name", "c"}, {"version", "1"}}}}}}));
          h.gw->OnClientLine(
              R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ask","arguments":{"path":"/srv/data"}}})");
        } else {
          h.gw->OnClientLine(ModernCall(1, k.caps));
        }
        json::value sid;
        if (!modern_server) {
          sid = CallId(h);
          h.gw->OnServerLine(ServerRequest(7, k.method, k.params));
        }
        const json::object asked = h.LastClient().get_object();
        if (modern_client) {
          const json::object& ir = asked.at("result").get_object();
          ASSERT_EQ(ir.at("resultType"), "input_required") << asked;
          const auto& [key, q] = *ir.at("inputRequests").get_object().begin();
          EXPECT_EQ(q.at("method"), k.method);
          EXPECT_EQ(q.at("params"), k.params);
          h.gw->OnClientLine(Retry(2, k.caps, std::string(key), k.answer, ir.at("requestState")));
        } else {
          ASSERT_EQ(asked.at("method"), k.method) << asked;
          EXPECT_EQ(asked.at("params"), k.params);
          h.gw->OnClientLine(ToJsonText(
              json::object{{"jsonrpc", "2.0"}, {"id", asked.at("id")}, {"result", k.answer}}));
        }
        if (!modern_server) {
          const json::value answer = ResponseTo(h, 7);
          ASSERT_FALSE(answer.is_null());
          EXPECT_EQ(answer.at("result"), k.answer);
          AnswerCall(h, sid, "done");
        }
        const json::object done = h.LastClient().get_object();
        EXPECT_EQ(done.at("id"), modern_client ? 2 : 1);
        EXPECT_EQ(done.at("result").at("content").at(0).at("text"), "done") << done;
        std::lock_guard l(h.enforcer.mu);
        EXPECT_EQ(h.enforcer.decided.size(), 1u);
        ASSERT_EQ(h.enforcer.recorded.size(), 1u);
        EXPECT_TRUE(h.enforcer.recorded[0].second.ok);
      }
    }
  }
}

// Tests that a 2025 server's ping reaches a 2025 client as before and is answered by the
// gateway itself for a 2026-07-28 client (which takes no requests), never left unanswered.
TEST(GatewayRelayTest, LegacyServersPingIsAnsweredInEveryEra) {
  {
    Harness h(LegacyServer);
    h.gw->OnClientLine(ModernCall(1, json::object{}));
    const size_t before = h.to_client.size();
    h.gw->OnServerLine(R"({"jsonrpc":"2.0","id":"p","method":"ping"})");
    const json::value r = ResponseTo(h, "p");
    ASSERT_FALSE(r.is_null());
    EXPECT_TRUE(r.get_object().contains("result")) << r;
    EXPECT_EQ(h.to_client.size(), before);
  }
  {
    Harness h(LegacyServer);
    h.gw->OnClientLine(
        R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",)"
        R"("capabilities":{},"clientInfo":{"name":"c","version":"1"}}})");
    h.gw->OnServerLine(R"({"jsonrpc":"2.0","id":"p","method":"ping"})");
    EXPECT_EQ(h.LastClient().at("method"), "ping");
  }
}

// Tests that a 2026-07-28 client's decline (and cancel) reaches the 2025 server as its
// ElicitResult, and the call goes on with the server's own answer.
TEST(GatewayRelayTest, ModernClientsDeclineReachesTheLegacyServer) {
  for (const char* action : {"decline", "cancel"}) {
    Harness h(LegacyServer);
    const Kind k = Kinds()[0];
    h.gw->OnClientLine(ModernCall(1, k.caps));
    const json::value sid = CallId(h);
    h.gw->OnServerLine(ServerRequest(3, k.method, k.params));
    const json::object ir = h.LastClient().at("result").get_object();
    const std::string key(ir.at("inputRequests").get_object().begin()->key());
    h.gw->OnClientLine(
        Retry(2, k.caps, key, json::object{{"action", action}}, ir.at("requestState")));
    EXPECT_EQ(ResponseTo(h, 3).at("result").at("action"), action);
    AnswerCall(h, sid, "kept the data");
    EXPECT_EQ(h.LastClient().at("result").at("content").at(0).at("text"), "kept the data");
  }
}

// Tests that a 2025 server asking a 2026-07-28 client for what it did not declare (no
// elicitation; url mode when only form was declared; sampling, roots) gets a clear error and
// the client is not asked.
TEST(GatewayRelayTest, UndeclaredCapabilityIsAClearErrorToTheLegacyServer) {
  for (const Kind& k : Kinds()) {
    SCOPED_TRACE(k.name);
    Harness h(LegacyServer);
    const json::value caps = std::string(k.name) == "elicitation_url"
                                 ? json::value(json::object{{"elicitation", json::object{}}})
                                 : json::value(json::object{});
    h.gw->OnClientLine(ModernCall(1, caps));
    const size_t before = h.to_client.size();
    h.gw->OnServerLine(ServerRequest(5, k.method, k.params));
    const json::value r = ResponseTo(h, 5);
    ASSERT_FALSE(r.is_null());
    const std::string message(r.at("error").at("message").as_string());
    EXPECT_NE(message.find("did not declare"), std::string::npos) << message;
    EXPECT_EQ(h.to_client.size(), before) << "the client was asked anyway";
    if (std::string(k.name) != "elicitation_url") {
      EXPECT_FALSE(h.Sent("initialize")[0]
                       .at("params")
                       .at("capabilities")
                       .get_object()
                       .contains(std::string(k.caps.get_object().begin()->key())));
    }
  }
}

// Tests that a 2026-07-28 client that never retries is bounded: the 2025 server's request is
// answered with an error at relay_round_timeout, the call's outcome is recorded once when the
// server answers, and a late retry under the old state is refused and recorded, never
// forwarded.
TEST(GatewayRelayTest, ClientThatNeverAnswersIsBoundedAndRecorded) {
  Harness h(LegacyServer, std::chrono::seconds(2),
            [](GatewayOptions& o) { o.relay_round_timeout = std::chrono::milliseconds(100); });
  const Kind k = Kinds()[0];
  h.gw->OnClientLine(ModernCall(1, k.caps));
  const json::value sid = CallId(h);
  h.gw->OnServerLine(ServerRequest(9, k.method, k.params));
  const json::value state = h.LastClient().at("result").at("requestState");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (ResponseTo(h, 9).is_null() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  const json::value r = ResponseTo(h, 9);
  ASSERT_FALSE(r.is_null());
  EXPECT_NE(std::string(r.at("error").at("message").as_string()).find("did not answer"),
            std::string::npos);
  const size_t before = h.to_client.size();
  AnswerCall(h, sid, "Cannot request input 'confirm'");
  EXPECT_EQ(h.to_client.size(), before) << "relayed to nobody";
  {
    std::lock_guard l(h.enforcer.mu);
    ASSERT_EQ(h.enforcer.recorded.size(), 1u);
    EXPECT_EQ(h.enforcer.recorded[0].first, "call-1");
  }
  h.gw->OnClientLine(Retry(2, k.caps, "server_request_1", k.answer, state));
  const json::object late = h.LastClient().get_object();
  EXPECT_TRUE(late.at("result").at("isError").as_bool()) << late;
  EXPECT_EQ(h.Sent("tools/call").size(), 1u);
  std::lock_guard l(h.enforcer.mu);
  ASSERT_EQ(h.enforcer.decided.size(), 2u);
  EXPECT_FALSE(h.enforcer.decided[1].refusal_reason.empty());
}

// Tests cancellations mid-round: the server withdrawing its request (its answer is then not
// sent), and the client cancelling its retry (the server is told to cancel the call).
TEST(GatewayRelayTest, CancelMidRoundReachesTheRightSide) {
  Harness h(LegacyServer);
  const Kind k = Kinds()[0];
  h.gw->OnClientLine(ModernCall(1, k.caps));
  const json::value sid = CallId(h);
  h.gw->OnServerLine(ServerRequest(4, k.method, k.params));
  const json::object ir = h.LastClient().at("result").get_object();
  const std::string key(ir.at("inputRequests").get_object().begin()->key());
  const json::value state = ir.at("requestState");
  h.gw->OnServerLine(
      R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":4}})");
  h.gw->OnClientLine(Retry(2, k.caps, key, k.answer, state));
  EXPECT_TRUE(ResponseTo(h, 4).is_null()) << "answered a withdrawn request";
  h.gw->OnClientLine(
      R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":2}})");
  const auto cancels = h.Sent("notifications/cancelled");
  ASSERT_EQ(cancels.size(), 1u);
  EXPECT_EQ(cancels[0].at("params").at("requestId"), sid);
}

// Tests that a kill switch engaged while the 2026-07-28 client answers the 2025 server's
// question stops the call: the server's request gets an error, the call is cancelled at the
// server, and the client gets the kill-switch denial, recorded once.
TEST(GatewayRelayTest, KillSwitchMidRoundStopsTheCallAtTheLegacyServer) {
  Harness h(LegacyServer);
  const Kind k = Kinds()[0];
  h.gw->OnClientLine(ModernCall(1, k.caps));
  const json::value sid = CallId(h);
  h.gw->OnServerLine(ServerRequest(4, k.method, k.params));
  const json::object ir = h.LastClient().at("result").get_object();
  const std::string key(ir.at("inputRequests").get_object().begin()->key());
  {
    std::lock_guard l(h.enforcer.mu);
    h.enforcer.kill = Error::Denied("kill switch ks-1 engaged");
  }
  h.gw->OnClientLine(Retry(2, k.caps, key, k.answer, ir.at("requestState")));
  EXPECT_TRUE(ResponseTo(h, 4).get_object().contains("error"));
  ASSERT_EQ(h.Sent("notifications/cancelled").size(), 1u);
  const json::object r = h.LastClient().get_object();
  EXPECT_EQ(r.at("id"), 2);
  EXPECT_EQ(r.at("result").at("structuredContent").at("code"), "KILL_SWITCH") << r;
  AnswerCall(h, sid, "deleted anyway");  // dropped: the call ended
  std::lock_guard l(h.enforcer.mu);
  ASSERT_EQ(h.enforcer.recorded.size(), 1u);
  EXPECT_FALSE(h.enforcer.recorded[0].second.ok);
}

// Tests that a retry under a round's requestState with other arguments is refused (recorded)
// and leaves the round open for the real retry.
TEST(GatewayRelayTest, RoundStateForAnotherCallIsRefused) {
  Harness h(LegacyServer);
  const Kind k = Kinds()[0];
  h.gw->OnClientLine(ModernCall(1, k.caps));
  h.gw->OnServerLine(ServerRequest(4, k.method, k.params));
  const json::object ir = h.LastClient().at("result").get_object();
  const std::string key(ir.at("inputRequests").get_object().begin()->key());
  h.gw->OnClientLine(
      R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"ask","arguments":{"path":"/"},)"
      R"("inputResponses":{")" +
      key + R"(":{"action":"accept"}},"requestState":)" + ToJsonText(ir.at("requestState")) + "," +
      Meta(k.caps) + "}}");
  EXPECT_TRUE(h.LastClient().at("result").at("isError").as_bool());
  EXPECT_TRUE(ResponseTo(h, 4).is_null());
  h.gw->OnClientLine(Retry(3, k.caps, key, k.answer, ir.at("requestState")));
  EXPECT_EQ(ResponseTo(h, 4).at("result"), k.answer);
}

// Tests that the server's answer to the call arriving while the round is open is the retry's
// answer, and a second question while a round is open comes as the next round.
TEST(GatewayRelayTest, AnswersAndQuestionsDuringARoundWaitForTheRetry) {
  Harness h(LegacyServer);
  const Kind k = Kinds()[0];
  h.gw->OnClientLine(ModernCall(1, k.caps));
  const json::value sid = CallId(h);
  h.gw->OnServerLine(ServerRequest(4, k.method, k.params));
  json::object ir = h.LastClient().at("result").get_object();
  const json::value first_state = ir.at("requestState");
  h.gw->OnServerLine(ServerRequest(5, k.method, k.params));
  std::string key(ir.at("inputRequests").get_object().begin()->key());
  h.gw->OnClientLine(Retry(2, k.caps, key, k.answer, ir.at("requestState")));
  const json::object second = h.LastClient().get_object();
  ASSERT_EQ(second.at("id"), 2);
  ASSERT_EQ(second.at("result").at("resultType"), "input_required") << second;
  ir = second.at("result").get_object();
  EXPECT_NE(ir.at("requestState"), first_state);
  key = std::string(ir.at("inputRequests").get_object().begin()->key());
  AnswerCall(h, sid, "early");
  h.gw->OnClientLine(Retry(3, k.caps, key, k.answer, ir.at("requestState")));
  EXPECT_EQ(ResponseTo(h, 5).at("result"), k.answer);
  const json::object done = h.LastClient().get_object();
  EXPECT_EQ(done.at("id"), 3);
  EXPECT_EQ(done.at("result").at("content").at(0).at("text"), "early");
  std::lock_guard l(h.enforcer.mu);
  EXPECT_EQ(h.enforcer.recorded.size(), 1u);
}

// Tests that a 2025 server's request is refused with a clear error when no call of the
// client's is at the server to ask about, and that Interlock's own _meta keys in one (which
// could pass it off as Interlock's question) never reach the client and are recorded.
TEST(GatewayRelayTest, LegacyServersRequestWithNoCallIsRefusedAndInterlocksMetaRemoved) {
  Harness h(LegacyServer);
  const Kind k = Kinds()[0];
  h.gw->OnClientLine(R"({"jsonrpc":"2.0","id":1,"method":"tools/list","params":{)" + Meta(k.caps) +
                     "}}");
  h.gw->OnServerLine(ServerRequest(4, k.method, k.params));
  EXPECT_NE(
      std::string(ResponseTo(h, 4).at("error").at("message").as_string()).find("no tool call"),
      std::string::npos);
  h.gw->OnClientLine(ModernCall(2, k.caps));
  json::object p = k.params.get_object();
  p["_meta"] = json::object{{"interlock.dev/approval", {{"approvalId", "a-1"}}}};
  h.gw->OnServerLine(ServerRequest(6, k.method, p));
  // The key is removed and recorded (ScreenServerMessage, before any relay): the question
  // reaches the client as the server's own, never as Interlock's.
  EXPECT_TRUE(ResponseTo(h, 6).is_null());
  EXPECT_EQ(json::serialize(h.LastClient()).find("interlock.dev/approval"), std::string::npos);
  std::lock_guard l(h.enforcer.mu);
  ASSERT_EQ(h.enforcer.decided.size(), 2u);
  EXPECT_NE(h.enforcer.decided[1].refusal_reason.find("interlock.dev/approval"), std::string::npos);
}

// Tests that a 2025 server's request while two calls of the client are at it is refused
// (-32603): it names no call, and a question is never put to the wrong one.
TEST(GatewayRelayTest, QuestionWithTwoCallsInFlightIsNeverPutToEither) {
  Harness h(LegacyServer);
  const Kind k = Kinds()[0];
  h.gw->OnClientLine(ModernCall(1, k.caps));
  h.gw->OnClientLine(
      R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"ask","arguments":{"path":"/tmp"},)" +
      Meta(k.caps) + "}}");
  ASSERT_EQ(h.Sent("tools/call").size(), 2u);
  const size_t before = h.to_client.size();
  h.gw->OnServerLine(ServerRequest(4, k.method, k.params));
  const json::value r = ResponseTo(h, 4);
  ASSERT_FALSE(r.is_null());
  EXPECT_EQ(r.at("error").at("code"), -32603);
  EXPECT_NE(std::string(r.at("error").at("message").as_string()).find("more than one"),
            std::string::npos);
  EXPECT_EQ(h.to_client.size(), before);
}

// Tests that a 2025 HTTP server's question sent on the reply stream of one of two calls in
// flight (the transport's `related` hint, mcp_http.cc) is put to that call only: the other
// call's client id never sees it, and the answer reaches the server.
TEST(GatewayRelayTest, QuestionOnOneCallsReplyStreamGoesToThatCallOnly) {
  Harness h(LegacyServer);
  const Kind k = Kinds()[0];
  h.gw->OnClientLine(ModernCall(1, k.caps));
  h.gw->OnClientLine(
      R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"ask","arguments":{"path":"/tmp"},)" +
      Meta(k.caps) + "}}");
  ASSERT_EQ(h.Sent("tools/call").size(), 2u);
  const json::value second = h.Sent("tools/call")[1].at("id");
  h.gw->OnServerLine(ServerRequest(4, k.method, k.params), &second);
  EXPECT_TRUE(ResponseTo(h, 4).is_null()) << "refused, or answered before the client";
  const json::object r = h.LastClient().get_object();
  ASSERT_EQ(r.at("id"), 2) << r;
  const json::object& ir = r.at("result").get_object();
  ASSERT_EQ(ir.at("resultType"), "input_required") << r;
  const auto& [key, q] = *ir.at("inputRequests").get_object().begin();
  EXPECT_EQ(q.at("method"), "elicitation/create");
  // The retry of call 2 (its own arguments, /tmp).
  h.gw->OnClientLine(
      R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"ask","arguments":{"path":"/tmp"},)"
      R"("inputResponses":{")" +
      std::string(key) + R"(":)" + ToJsonText(k.answer) + R"(},"requestState":)" +
      ToJsonText(ir.at("requestState")) + "," + Meta(k.caps) + "}}");
  const json::value answer = ResponseTo(h, 4);
  ASSERT_FALSE(answer.is_null());
  EXPECT_EQ(answer.at("result"), k.answer) << answer;
  // A hint naming no call of the client's (an id the gateway never issued) decides nothing.
  const json::value stranger = "no-such-request";
  h.gw->OnServerLine(ServerRequest(5, k.method, k.params), &stranger);
  const json::value refused = ResponseTo(h, 5);
  ASSERT_FALSE(refused.is_null());
  EXPECT_TRUE(refused.as_object().contains("error")) << refused;
}

// Tests that the 2025 server exiting while a round is open records the call once (it may have
// run) and the client's retry is told the server is gone, not recorded again.
TEST(GatewayRelayTest, ServerGoneMidRoundIsRecordedOnceAndTheRetryTold) {
  Harness h(LegacyServer);
  const Kind k = Kinds()[0];
  h.gw->OnClientLine(ModernCall(1, k.caps));
  h.gw->OnServerLine(ServerRequest(4, k.method, k.params));
  const json::object ir = h.LastClient().at("result").get_object();
  const std::string key(ir.at("inputRequests").get_object().begin()->key());
  h.gw->OnUpstreamClosed("exited with status 1");
  {
    std::lock_guard l(h.enforcer.mu);
    ASSERT_EQ(h.enforcer.recorded.size(), 1u);
    EXPECT_FALSE(h.enforcer.recorded[0].second.ok);
  }
  h.gw->OnClientLine(Retry(2, k.caps, key, k.answer, ir.at("requestState")));
  const json::object r = h.LastClient().get_object();
  EXPECT_EQ(r.at("id"), 2);
  EXPECT_TRUE(r.at("result").at("isError").as_bool()) << r;
  EXPECT_NE(ToJsonText(r).find("gone"), std::string::npos) << r;
  std::lock_guard l(h.enforcer.mu);
  EXPECT_EQ(h.enforcer.recorded.size(), 1u);
}

// Tests the race a loaded CI machine found (the SDK's 2025 server answering the roots/list
// call at once): the server's result, read on the server's own thread while the gateway is
// still returning the client's answer, reaches the client's retry; the retry is never told
// the server is gone while the result is on its way, and the call is recorded once. The
// client's thread pauses a varying while once the answer is sent, so that the server's
// result lands at every point of the retry's handling.
TEST(GatewayRelayTest, ServerAnsweringTheMomentItIsAnsweredReachesTheRetry) {
  const Kind k = Kinds()[3];  // roots/list
  for (int i = 0; i < 200; ++i) {
    SCOPED_TRACE(i);
    Harness h(LegacyServer);
    h.gw->OnClientLine(ModernCall(1, k.caps));
    const json::value sid = CallId(h);
    h.gw->OnServerLine(ServerRequest("srv-1", k.method, k.params));
    const json::object ir = h.LastClient().at("result").get_object();
    const std::string key(ir.at("inputRequests").get_object().begin()->key());
    std::thread server;
    h.observe_to_server = [&h, &sid, &server, i](const json::value& v) {
      const json::object& o = v.get_object();
      if (o.contains("method") || !o.contains("id") || o.at("id") != "srv-1") return;
      server = std::thread([&h, &sid] { AnswerCall(h, sid, "roots: file:///work"); });
      std::this_thread::sleep_for(std::chrono::microseconds((i % 20) * 50));  // pace: jitter
    };
    h.gw->OnClientLine(Retry(2, k.caps, key, k.answer, ir.at("requestState")));
    ASSERT_TRUE(server.joinable());
    server.join();
    const json::object done = h.LastClient().get_object();
    ASSERT_EQ(done.at("id"), 2) << done;
    ASSERT_EQ(done.at("result").at("content").at(0).at("text"), "roots: file:///work") << done;
    std::lock_guard l(h.enforcer.mu);
    ASSERT_EQ(h.enforcer.recorded.size(), 1u);
    EXPECT_TRUE(h.enforcer.recorded[0].second.ok);
  }
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::mcp
