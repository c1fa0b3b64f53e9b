// The gateway in front of MCP servers of either era (upstream_revision.h): the
// server/discover probe and its fall back to initialize, the `_meta` a 2026-07-28 server is
// sent, results shaped for a 2025 client, the server's own -32022, and a server's
// input_required results (never recorded as success; a retry decided once).
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "common/json.h"
#include "gateway_harness.h"
#include "mcp/gateway.h"
#include "mcp/upstream_revision.h"
#include "store/sqlite_pins.h"

namespace interlock::mcp {
namespace INTERLOCK_TEST_NS {

namespace json = boost::json;

using testharness::CountingEnforcer;
using testharness::Harness;

json::value Tools() {
  json::array tools;
  for (const char* n : {"echo", "delete_file", "confirm", "slow"}) {
    tools.push_back(json::object{{"name", n}, {"inputSchema", {{"type", "object"}}}});
  }
  return tools;
}

const char kInitialize[] =
    R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",)"
    R"("capabilities":{"elicitation":{},"roots":{}},"clientInfo":{"name":"c","version":"1"}}})";

json::value DiscoverResult() {
  return json::object{
      {"result",
       {{"supportedVersions", json::array{"2026-07-28"}},
        {"capabilities",
         {{"tools", json::object{}},
          {"extensions", {{"io.modelcontextprotocol/tasks", json::object{}}}}}},
        {"resultType", "complete"},
        {"instructions", "be nice"},
        {"_meta", {{"io.modelcontextprotocol/serverInfo", {{"name", "m"}, {"version", "2"}}}}}}}};
}

// A modern server (the official v2 SDK's shape): discover, tools/list, tools/call with
// input_required for `confirm` until the retry carries inputResponses.
json::value ModernServer(const json::object& req) {
  const std::string method(req.at("method").get_string());
  const json::value* params = req.if_contains("params");
  if (method == "initialize") {
    return json::object{{"error", {{"code", -32022}, {"message", "Unsupported protocol version"}}}};
  }
  if (params == nullptr || !params->get_object().contains("_meta")) {
    return json::object{{"error", {{"code", -32602}, {"message", "missing _meta"}}}};
  }
  if (method == "server/discover") return DiscoverResult();
  if (method == "tools/list") {
    return json::object{{"result", {{"tools", Tools()}, {"resultType", "complete"}, {"ttlMs", 0}}}};
  }
  if (method == "tools/call") {
    const json::object& p = params->get_object();
    if (p.at("name") == "confirm" && !p.contains("inputResponses")) {
      return json::object{
          {"result",
           {{"resultType", "input_required"},
            {"inputRequests",
             {{"ok", {{"method", "elicitation/create"}, {"params", {{"message", "sure?"}}}}}}},
            {"requestState", "opaque"}}}};
    }
    if (p.at("name") == "slow") {
      return json::object{
          {"result",
           {{"resultType", "task"}, {"task", {{"taskId", "t-1"}, {"status", "working"}}}}}};
    }
    if (p.at("name") == "sneaky") {
      return json::object{
          {"result",
           {{"resultType", "input_required"},
            {"inputRequests", {{"x", {{"method", "tools/call"}, {"params", json::object{}}}}}}}}};
    }
    return json::object{{"result",
                         {{"content", json::array{{{"type", "text"}, {"text", "done"}}}},
                          {"resultType", "complete"}}}};
  }
  return json::object{{"result", {{"resultType", "complete"}}}};
}

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
    return json::object{{"result", {{"content", json::array{{{"type", "text"}, {"text", "ok"}}}}}}};
  }
  return json::object{{"error", {{"code", -32601}, {"message", "Method not found"}}}};
}

// Tests that a 2025 client reaches a 2026-only server: its initialize is answered from the
// server's DiscoverResult and the server is never sent initialize.
TEST(GatewayUpstreamRevisionTest, LegacyClientReachesModernOnlyServerWithoutInitialize) {
  Harness h(ModernServer);
  h.gw->OnClientLine(kInitialize);
  const json::object r = h.LastClient().at("result").get_object();
  EXPECT_EQ(r.at("protocolVersion"), "2025-11-25");
  EXPECT_EQ(r.at("serverInfo").at("name"), "m");
  EXPECT_EQ(r.at("instructions"), "be nice");
  EXPECT_FALSE(
      r.at("capabilities").at("extensions").get_object().contains("io.modelcontextprotocol/tasks"));
  EXPECT_TRUE(h.Sent("initialize").empty());
  EXPECT_EQ(h.Sent("server/discover").size(), 1u);
  EXPECT_EQ(h.gw->negotiated_version(), "2025-11-25");
  h.gw->OnClientLine(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  EXPECT_TRUE(h.Sent("notifications/initialized").empty());
}

// Tests that every request forwarded to a 2026 server carries the modern _meta (version,
// the client's capabilities without the ones only MRTR could serve) and that its results
// reach the 2025 client without the 2026-only fields.
TEST(GatewayUpstreamRevisionTest, ForwardedRequestsCarryModernMetaAndResultsLoseResultType) {
  Harness h(ModernServer);
  h.gw->OnClientLine(kInitialize);
  h.gw->OnClientLine(R"({"jsonrpc":"2.0","id":2,"method":"tools/list"})");
  const auto lists = h.Sent("tools/list");
  ASSERT_FALSE(lists.empty());
  const json::object& meta = lists.back().at("params").at("_meta").get_object();
  EXPECT_EQ(meta.at(kMetaProtocolVersion), "2026-07-28");
  EXPECT_TRUE(meta.at(kMetaClientCapabilities).get_object().contains("elicitation"));
  EXPECT_EQ(meta.at(kMetaClientInfo).at("name"), "c");
  const json::object r = h.LastClient().at("result").get_object();
  EXPECT_EQ(r.at("tools").get_array().size(), 4u);
  EXPECT_FALSE(r.contains("resultType"));
  EXPECT_FALSE(r.contains("ttlMs"));

  h.gw->OnClientLine(
      R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{}}})");
  const json::object c = h.LastClient().at("result").get_object();
  EXPECT_EQ(c.at("content").at(0).at("text"), "done");
  EXPECT_FALSE(c.contains("resultType"));
  std::lock_guard l(h.enforcer.mu);
  ASSERT_EQ(h.enforcer.recorded.size(), 1u);
  EXPECT_TRUE(h.enforcer.recorded[0].second.ok);
}

// Tests that a denied call is not forwarded to a 2026 server either.
TEST(GatewayUpstreamRevisionTest, DeniedCallIsNotForwardedToModernServer) {
  Harness h(ModernServer);
  h.gw->OnClientLine(kInitialize);
  h.gw->OnClientLine(
      R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"delete_file","arguments":{}}})");
  EXPECT_TRUE(h.LastClient().at("result").at("isError").as_bool());
  EXPECT_TRUE(h.Sent("tools/call").empty());
}

// Tests that a legacy server (-32601 to the probe) is initialized as before.
TEST(GatewayUpstreamRevisionTest, LegacyServerFallsBackToInitialize) {
  Harness h(LegacyServer);
  h.gw->OnClientLine(kInitialize);
  EXPECT_EQ(h.Sent("initialize").size(), 1u);
  EXPECT_EQ(h.LastClient().at("result").at("serverInfo").at("name"), "old");
  h.gw->OnClientLine(
      R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{}}})");
  const auto calls = h.Sent("tools/call");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_FALSE(calls[0].at("params").get_object().contains("_meta"));
}

// Tests that a server that never answers the probe is taken for a legacy one after the
// bound, and the client's initialize still reaches it.
TEST(GatewayUpstreamRevisionTest, SilentServerFallsBackToInitializeAfterTheBound) {
  Harness h(
      [](const json::object& r) {
        return r.at("method") == "server/discover" ? json::value() : LegacyServer(r);
      },
      std::chrono::milliseconds(200));
  const auto start = std::chrono::steady_clock::now();
  h.gw->OnClientLine(kInitialize);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(h.Sent("initialize").size(), 1u);
  EXPECT_EQ(h.LastClient().at("result").at("serverInfo").at("name"), "old");
}

// Tests that an upstream that dies during the probe is sent nothing more and the client is
// answered (never left waiting for a request forwarded to a dead server).
TEST(GatewayUpstreamRevisionTest, UpstreamDyingDuringTheProbeAnswersTheClient) {
  Harness* self = nullptr;
  Harness h([&self](const json::object& r) {
    if (r.at("method") == "server/discover") self->gw->OnUpstreamClosed("it exited");
    return json::value();
  });
  self = &h;
  h.gw->OnClientLine(kInitialize);
  EXPECT_EQ(h.LastClient().at("error").at("code"), -32603);
  EXPECT_TRUE(h.Sent("initialize").empty());
}

// Tests that the server's own UnsupportedProtocolVersionError (-32022, naming only versions
// Interlock does not speak) reaches the client as it came, never as a -32603.
TEST(GatewayUpstreamRevisionTest, ServersUnsupportedVersionErrorIsPassedFaithfully) {
  Harness h([](const json::object&) {
    return json::object{
        {"error",
         {{"code", -32022},
          {"message", "Unsupported protocol version"},
          {"data", {{"supported", json::array{"2027-01-01"}}, {"requested", "x"}}}}}};
  });
  h.gw->OnClientLine(kInitialize);
  const json::object e = h.LastClient().at("error").get_object();
  EXPECT_EQ(e.at("code"), -32022);
  EXPECT_EQ(e.at("data").at("supported").at(0), "2027-01-01");
  EXPECT_EQ(h.LastClient().at("id"), 1);
  EXPECT_TRUE(h.Sent("initialize").empty());
}

// Tests that a server's input_required for a 2025 client that declared elicitation is put
// to it as elicitation/create (the gateway's id), and its answer retried as the same call:
// decided once, recorded once, the server's requestState and the answer in the retry.
TEST(GatewayUpstreamRevisionTest, LegacyClientAnswersServersQuestionAndCallIsDecidedOnce) {
  Harness h(ModernServer);
  h.gw->OnClientLine(kInitialize);
  h.gw->OnClientLine(
      R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"confirm","arguments":{}}})");
  const json::object q = h.LastClient().get_object();
  ASSERT_EQ(q.at("method"), "elicitation/create") << q;
  EXPECT_EQ(q.at("params").at("message"), "sure?");
  {
    std::lock_guard l(h.enforcer.mu);
    EXPECT_TRUE(h.enforcer.recorded.empty());
  }
  h.gw->OnClientLine(
      ToJsonText(json::object{{"jsonrpc", "2.0"},
                              {"id", q.at("id")},
                              {"result", {{"action", "accept"}, {"content", {{"yes", true}}}}}}));
  const json::object r = h.LastClient().get_object();
  EXPECT_EQ(r.at("id"), 3);
  EXPECT_EQ(r.at("result").at("content").at(0).at("text"), "done") << r;
  const auto calls = h.Sent("tools/call");
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[1].at("params").at("requestState"), "opaque");
  EXPECT_EQ(calls[1].at("params").at("inputResponses").at("ok").at("action"), "accept");
  std::lock_guard l(h.enforcer.mu);
  EXPECT_EQ(h.enforcer.decided.size(), 1u);
  ASSERT_EQ(h.enforcer.recorded.size(), 1u);
  EXPECT_TRUE(h.enforcer.recorded[0].second.ok);
}

// Tests that a server asking a 2025 client for input it did not declare (elicitation) is
// refused with a clear error and the call recorded as failed, never as a success.
TEST(GatewayUpstreamRevisionTest, InputRequiredIsNotRecordedAsSuccessForLegacyClient) {
  Harness h(ModernServer);
  h.gw->OnClientLine(
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",)"
      R"("capabilities":{},"clientInfo":{"name":"c","version":"1"}}})");
  h.gw->OnClientLine(
      R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"confirm","arguments":{}}})");
  const json::object r = h.LastClient().at("result").get_object();
  EXPECT_TRUE(r.at("isError").as_bool());
  EXPECT_FALSE(r.contains("inputRequests"));
  EXPECT_NE(std::string(r.at("content").at(0).at("text").as_string()).find("did not declare"),
            std::string::npos);
  std::lock_guard l(h.enforcer.mu);
  ASSERT_EQ(h.enforcer.recorded.size(), 1u);
  EXPECT_FALSE(h.enforcer.recorded[0].second.ok);
}

// Tests that a modern client's retry of a call the server answered input_required (same
// call, with inputResponses) is decided once and its final result recorded once.
TEST(GatewayUpstreamRevisionTest, RetryOfInputRequiredCallIsDecidedOnceAndRecordedOnce) {
  Harness h(ModernServer);
  const std::string meta = R"("_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",)"
                           R"("io.modelcontextprotocol/clientCapabilities":{"elicitation":{}}})";
  h.gw->OnClientLine(
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"confirm","arguments":{"w":1},)" +
      meta + "}}");
  json::object first = h.LastClient().at("result").get_object();
  EXPECT_EQ(first.at("resultType"), "input_required");
  EXPECT_EQ(first.at("requestState"), "opaque");
  {
    std::lock_guard l(h.enforcer.mu);
    EXPECT_EQ(h.enforcer.decided.size(), 1u);
    EXPECT_TRUE(h.enforcer.recorded.empty());
  }
  h.gw->OnClientLine(
      R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"confirm","arguments":{"w":1},)"
      R"("inputResponses":{"ok":{"action":"accept","content":{}}},"requestState":"opaque",)" +
      meta + "}}");
  EXPECT_EQ(h.LastClient().at("result").at("content").at(0).at("text"), "done");
  EXPECT_EQ(h.Sent("tools/call").size(), 2u);
  std::lock_guard l(h.enforcer.mu);
  EXPECT_EQ(h.enforcer.decided.size(), 1u);
  ASSERT_EQ(h.enforcer.recorded.size(), 1u);
  EXPECT_EQ(h.enforcer.recorded[0].first, "call-1");
  EXPECT_TRUE(h.enforcer.recorded[0].second.ok);
}

// Tests that a kill switch engaged while the client was answering the server's
// input_required stops the retry: the call decided before the switch is not forwarded.
TEST(GatewayUpstreamRevisionTest, KillSwitchEngagedBeforeTheRetryStopsTheContinuedCall) {
  Harness h(ModernServer);
  const std::string meta = R"("_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",)"
                           R"("io.modelcontextprotocol/clientCapabilities":{"elicitation":{}}})";
  h.gw->OnClientLine(
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"confirm","arguments":{"w":1},)" +
      meta + "}}");
  ASSERT_EQ(h.LastClient().at("result").at("resultType"), "input_required");
  {
    std::lock_guard l(h.enforcer.mu);
    h.enforcer.kill = Error::Denied("kill switch engaged (global): incident 42");
  }
  h.gw->OnClientLine(
      R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"confirm","arguments":{"w":1},)"
      R"("inputResponses":{"ok":{"action":"accept","content":{}}},"requestState":"opaque",)" +
      meta + "}}");
  const json::object r = h.LastClient().at("result").get_object();
  EXPECT_TRUE(r.at("isError").as_bool()) << r;
  EXPECT_NE(ToJsonText(r).find("KILL_SWITCH"), std::string::npos) << r;
  EXPECT_NE(ToJsonText(r).find("incident 42"), std::string::npos) << r;
  EXPECT_EQ(h.Sent("tools/call").size(), 1u);  // the retry never reached the server
  std::lock_guard l(h.enforcer.mu);
  EXPECT_EQ(h.enforcer.kill_checks, 1);
  ASSERT_EQ(h.enforcer.recorded.size(), 1u);
  EXPECT_FALSE(h.enforcer.recorded[0].second.ok);
}

// Tests that a 2025 client's answer to the server's question (relayed as elicitation) does
// not carry the call past a kill switch engaged while the question was open.
TEST(GatewayUpstreamRevisionTest, KillSwitchEngagedWhileALegacyClientAnswersStopsTheCall) {
  Harness h(ModernServer);
  h.gw->OnClientLine(kInitialize);
  h.gw->OnClientLine(
      R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"confirm","arguments":{}}})");
  const json::object q = h.LastClient().get_object();
  ASSERT_EQ(q.at("method"), "elicitation/create") << q;
  {
    std::lock_guard l(h.enforcer.mu);
    h.enforcer.kill = Error::Denied("kill switch engaged (agent a): stop");
  }
  h.gw->OnClientLine(
      ToJsonText(json::object{{"jsonrpc", "2.0"},
                              {"id", q.at("id")},
                              {"result", {{"action", "accept"}, {"content", {{"yes", true}}}}}}));
  const json::object r = h.LastClient().get_object();
  EXPECT_EQ(r.at("id"), 3);
  EXPECT_NE(ToJsonText(r).find("KILL_SWITCH"), std::string::npos) << r;
  EXPECT_EQ(h.Sent("tools/call").size(), 1u);
}

// Tests that an enforcer that cannot look the kill switch up continues nothing (fails
// closed with the store's code).
TEST(GatewayUpstreamRevisionTest, KillSwitchLookupFailureStopsTheContinuedCall) {
  Harness h(ModernServer);
  const std::string meta = R"("_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",)"
                           R"("io.modelcontextprotocol/clientCapabilities":{"elicitation":{}}})";
  h.gw->OnClientLine(
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"confirm","arguments":{"w":1},)" +
      meta + "}}");
  {
    std::lock_guard l(h.enforcer.mu);
    h.enforcer.kill = Error::Unavailable("database is locked");
  }
  h.gw->OnClientLine(
      R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"confirm","arguments":{"w":1},)"
      R"("inputResponses":{"ok":{"action":"accept","content":{}}},"requestState":"opaque",)" +
      meta + "}}");
  const std::string r = ToJsonText(h.LastClient());
  EXPECT_NE(r.find("STORE_UNAVAILABLE"), std::string::npos) << r;
  EXPECT_NE(r.find("could not be checked"), std::string::npos) << r;
  EXPECT_EQ(h.Sent("tools/call").size(), 1u);
}

// Tests that a "retry" naming other arguments than the open call is decided as a new call
// (an inputResponses field never buys a call past the policy).
TEST(GatewayUpstreamRevisionTest, RetryWithOtherArgumentsIsDecidedAsNewCall) {
  Harness h(ModernServer);
  const std::string meta = R"("_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",)"
                           R"("io.modelcontextprotocol/clientCapabilities":{}})";
  h.gw->OnClientLine(
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"confirm","arguments":{"w":1},)" +
      meta + "}}");
  h.gw->OnClientLine(
      R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"delete_file","arguments":{"w":1},)"
      R"("inputResponses":{"ok":{}},"requestState":"opaque",)" +
      meta + "}}");
  EXPECT_TRUE(h.LastClient().at("result").at("isError").as_bool());
  EXPECT_EQ(h.Sent("tools/call").size(), 1u);
  std::lock_guard l(h.enforcer.mu);
  EXPECT_EQ(h.enforcer.decided.size(), 2u);
}

// Tests that an input_required asking the client for a method no server may send it (here a
// tools/call) is refused and recorded as a failed call, never relayed.
TEST(GatewayUpstreamRevisionTest, InputRequiredAskingForUnrelayedMethodIsRefused) {
  Harness h([](const json::object& r) {
    if (r.at("method") == "tools/list") {
      json::array tools{json::object{{"name", "sneaky"}, {"inputSchema", {{"type", "object"}}}}};
      return json::value(json::object{{"result", {{"tools", tools}}}});
    }
    return ModernServer(r);
  });
  h.gw->OnClientLine(
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"sneaky","arguments":{},)"
      R"("_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",)"
      R"("io.modelcontextprotocol/clientCapabilities":{}}}})");
  const json::object r = h.LastClient().at("result").get_object();
  EXPECT_TRUE(r.at("isError").as_bool());
  EXPECT_FALSE(r.contains("inputRequests"));
  std::lock_guard l(h.enforcer.mu);
  ASSERT_EQ(h.enforcer.recorded.size(), 1u);
  EXPECT_FALSE(h.enforcer.recorded[0].second.ok);
}

// Tests that a modern client's request never reaches a legacy server that was not
// initialized: the gateway initializes it first (once, with its own initialize), strips
// the modern _meta, and only then forwards the call (docs/mcp.md#revisions).
TEST(GatewayUpstreamRevisionTest, ModernRequestReachesALegacyServerOnlyAfterItsInitialize) {
  Harness h(LegacyServer);
  h.gw->OnClientLine(
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{},)"
      R"("_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}})");
  ASSERT_EQ(h.Sent("initialize").size(), 1u);
  const auto calls = h.Sent("tools/call");
  ASSERT_EQ(calls.size(), 1u);
  const json::object& params = calls[0].at("params").get_object();
  EXPECT_FALSE(params.contains("_meta") &&
               params.at("_meta").get_object().contains(kMetaProtocolVersion));
  EXPECT_EQ(h.LastClient().at("result").at("resultType"), "complete");
}

// Tests that a legacy client's initialize arriving after the gateway initialized a legacy
// server for a 2026-07-28 client of the same process never initializes the server again:
// the client is answered from the server's own answer, and its notifications/initialized
// is not sent a second time (a server taking a second handshake may reset its session).
TEST(GatewayUpstreamRevisionTest, LegacyInitializeAfterAModernClientNeverReinitializesTheServer) {
  Harness h(LegacyServer);
  h.gw->OnClientLine(
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{},)"
      R"("_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}})");
  ASSERT_EQ(h.Sent("initialize").size(), 1u);
  ASSERT_EQ(h.Sent("notifications/initialized").size(), 1u);
  h.gw->OnClientLine(
      R"({"jsonrpc":"2.0","id":2,"method":"initialize","params":{"protocolVersion":"2025-11-25",)"
      R"("capabilities":{},"clientInfo":{"name":"old","version":"1"}}})");
  EXPECT_EQ(h.Sent("initialize").size(), 1u) << "the server was initialized a second time";
  const json::value answer = h.LastClient();
  EXPECT_EQ(answer.at("id"), 2);
  EXPECT_EQ(answer.at("result").at("protocolVersion"), "2025-11-25") << answer;
  EXPECT_EQ(answer.at("result").at("serverInfo").at("name"), "old") << answer;
  h.gw->OnClientLine(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  EXPECT_EQ(h.Sent("notifications/initialized").size(), 1u);
  // The session goes on: the legacy client's call reaches the server.
  h.gw->OnClientLine(
      R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{}}})");
  EXPECT_EQ(h.Sent("tools/call").size(), 2u);
}

// Tests that a second legacy initialize on one session (a client reconnecting its side of
// the pipe) is answered from the server's first answer, not forwarded.
TEST(GatewayUpstreamRevisionTest, SecondLegacyInitializeIsAnsweredNotForwarded) {
  Harness h(LegacyServer);
  h.gw->OnClientLine(kInitialize);
  ASSERT_EQ(h.Sent("initialize").size(), 1u);
  h.gw->OnClientLine(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  h.gw->OnClientLine(
      R"({"jsonrpc":"2.0","id":7,"method":"initialize","params":{"protocolVersion":"2025-11-25",)"
      R"("capabilities":{},"clientInfo":{"name":"c","version":"1"}}})");
  EXPECT_EQ(h.Sent("initialize").size(), 1u);
  EXPECT_EQ(h.LastClient().at("id"), 7);
  EXPECT_EQ(h.LastClient().at("result").at("serverInfo").at("name"), "old");
  h.gw->OnClientLine(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  EXPECT_EQ(h.Sent("notifications/initialized").size(), 1u);
}

const char kModernMetaWithTasks[] =
    R"("_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",)"
    R"("io.modelcontextprotocol/clientCapabilities":{"extensions":{)"
    R"("io.modelcontextprotocol/tasks":{}}}})";

// Tests that a modern server is never told a 2025 client follows tasks (the gateway follows
// the tasks of 2026-07-28 clients only; gateway_tasks_test.cc), even when the client's
// initialize declares the 2025 tasks capability.
TEST(GatewayUpstreamRevisionTest, ModernServerIsNeverOfferedTasksForALegacyClient) {
  Harness h(ModernServer);
  h.gw->OnClientLine(
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",)"
      R"("capabilities":{"tasks":{"requests":{"tools":{"call":{}}}},"extensions":{)"
      R"("io.modelcontextprotocol/tasks":{}}},"clientInfo":{"name":"c","version":"1"}}})");
  h.gw->OnClientLine(
      R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{}}})");
  const auto calls = h.Sent("tools/call");
  ASSERT_EQ(calls.size(), 1u);
  const json::object& caps =
      calls[0].at("params").at("_meta").at(kMetaClientCapabilities).get_object();
  EXPECT_FALSE(caps.contains("tasks"));
  EXPECT_FALSE(caps.contains("extensions") &&
               caps.at("extensions").get_object().contains("io.modelcontextprotocol/tasks"));
}

// Tests that a task the gateway cannot follow (no usable taskId) is refused to the client
// and recorded as failed (decided once, its outcome never taken for a success).
TEST(GatewayUpstreamRevisionTest, CallTheServerTurnsIntoATaskIsRecordedAsFailed) {
  Harness h(ModernServer);
  h.gw->OnClientLine(
      std::string(
          R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"slow","arguments":{},)") +
      kModernMetaWithTasks + "}}");
  const json::object r = h.LastClient().at("result").get_object();
  EXPECT_TRUE(r.at("isError").as_bool());
  EXPECT_FALSE(r.contains("task"));
  std::lock_guard l(h.enforcer.mu);
  EXPECT_EQ(h.enforcer.decided.size(), 1u);
  ASSERT_EQ(h.enforcer.recorded.size(), 1u);
  EXPECT_FALSE(h.enforcer.recorded[0].second.ok);
}

// Tests that an `initialize` naming 2026-07-28 in its _meta (a method that revision removed)
// is answered -32601 and never makes the gateway take its client for a 2025 one: a later
// modern tools/list still gets the 2026-07-28 caching hints.
TEST(GatewayUpstreamRevisionTest, InitializeUnder2026IsMethodNotFoundAndChangesNothing) {
  Harness h(ModernServer);
  h.gw->OnClientLine(
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",)"
      R"("capabilities":{},"clientInfo":{"name":"c","version":"1"},)"
      R"("_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",)"
      R"("io.modelcontextprotocol/clientCapabilities":{}}}})");
  EXPECT_EQ(h.LastClient().at("error").at("code"), -32601);
  EXPECT_TRUE(h.Sent("initialize").empty());
  h.gw->OnClientLine(R"({"jsonrpc":"2.0","id":2,"method":"tools/list","params":{"_meta":{)"
                     R"("io.modelcontextprotocol/protocolVersion":"2026-07-28",)"
                     R"("io.modelcontextprotocol/clientCapabilities":{}}}})");
  EXPECT_EQ(h.LastClient().at("result").at("cacheScope"), "private");
}

// Tests that tasks/get (and the other tasks/ methods) naming a task not created through this
// session, perhaps another agent's on a shared server, is refused and never forwarded.
// (tasks/update too: gateway_tasks_test.cc.)
TEST(GatewayUpstreamRevisionTest, TasksGetOfAnotherSessionsTaskIsRefused) {
  Harness h(ModernServer);
  for (const char* m : {"tasks/get", "tasks/result", "tasks/list", "tasks/cancel"}) {
    h.gw->OnClientLine(std::string(R"({"jsonrpc":"2.0","id":5,"method":")") + m +
                       R"(","params":{"taskId":"t-of-agent-b"}})");
    EXPECT_EQ(h.LastClient().at("error").at("code"), -32602) << m;
    EXPECT_TRUE(h.Sent(m).empty()) << m;
  }
}

// Tests the probe's verdicts: only a DiscoverResult naming 2026-07-28 is modern; a -32022
// naming a legacy revision falls back; one naming none is passed on; anything else legacy.
TEST(UpstreamRevisionTest, ClassifiesDiscoverResponses) {
  using K = ProbeVerdict::Kind;
  EXPECT_EQ(ClassifyDiscoverResponse(DiscoverResult()).kind, K::kModern);
  EXPECT_EQ(ClassifyDiscoverResponse(json::value()).kind, K::kLegacy);
  EXPECT_EQ(ClassifyDiscoverResponse(json::object{{"result", json::object{}}}).kind, K::kLegacy);
  EXPECT_EQ(ClassifyDiscoverResponse(json::object{{"error", {{"code", -32601}}}}).kind, K::kLegacy);
  auto unsupported = [](json::array supported) {
    return json::object{
        {"error", {{"code", -32022}, {"data", {{"supported", std::move(supported)}}}}}};
  };
  EXPECT_EQ(ClassifyDiscoverResponse(unsupported({"2025-11-25"})).kind, K::kLegacy);
  EXPECT_EQ(ClassifyDiscoverResponse(unsupported({"2027-01-01"})).kind, K::kUnsupported);
  EXPECT_EQ(ClassifyDiscoverResponse(unsupported({"2026-07-28"})).kind, K::kModern);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::mcp
