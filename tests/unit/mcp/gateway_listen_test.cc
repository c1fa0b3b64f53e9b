// subscriptions/listen through the gateway (gateway_listen.cc): served by the gateway in
// front of a 2025 server, forwarded under the gateway's id to a 2026-07-28 server; either
// way the client gets only the notification kinds it asked for, on its own subscription.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "common/json.h"
#include "gateway_harness.h"
#include "loopback.h"
#include "mcp/gateway.h"
#include "mcp/http_upstream.h"
#include "outbound/http_connector.h"
#include "store/sqlite_pins.h"

namespace interlock::mcp {
namespace INTERLOCK_TEST_NS {

using testharness::AllVisible;

namespace json = boost::json;
using namespace std::chrono_literals;

class AllowingEnforcer : public testharness::ImmediateEnforcer {
 public:
  Outcome Decide(ToolCall call) override {
    Outcome o;
    o.call_id = "call-" + call.tool;
    o.decision.verdict = Verdict::kAllow;
    o.decision.code = Code::kAllowed;
    return o;
  }
};

// A scripted server answering at once (re-entrantly); subscriptions/listen is left open.
struct Harness {
  explicit Harness(bool modern_server) : modern(modern_server) {
    pins = std::make_unique<PinStore>(store::OpenSqlitePinRows(":memory:").value());
    GatewayOptions o;
    o.agent_id = "a";
    o.tools = &view;
    o.enforcer = &enforcer;
    o.pins = pins.get();
    o.catalog_timeout = 500ms;
    o.discover_timeout = 2s;
    gw = std::make_unique<Gateway>(
        o,
        [this](const json::value& v) {
          std::lock_guard l(mu);
          to_client.push_back(v);
        },
        [this](const json::value& v) {
          {
            std::lock_guard l(mu);
            to_server.push_back(v);
          }
          const json::object& o = v.get_object();
          if (!o.contains("id") || !o.contains("method")) return;
          json::value reply = Answer(o);
          if (reply.is_null()) return;
          reply.get_object()["jsonrpc"] = "2.0";
          reply.get_object()["id"] = o.at("id");
          gw->OnServerLine(ToJsonText(reply));
        });
  }
  json::value Answer(const json::object& req) const {
    const std::string method(req.at("method").get_string());
    if (method == "subscriptions/listen") return nullptr;
    if (method == "server/discover") {
      if (!modern) return json::object{{"error", {{"code", -32601}, {"message", "no"}}}};
      return json::object{{"result",
                           {{"supportedVersions", json::array{"2026-07-28"}},
                            {"capabilities", {{"tools", {{"listChanged", true}}}}},
                            {"resultType", "complete"}}}};
    }
    if (method == "tools/list") {
      // A server's own caching hint: public, a minute (its list is the same for everyone).
      return json::object{{"result",
                           {{"tools", json::array{{{"name", "zeta"}}, {{"name", "alpha"}}}},
                            {"cacheScope", "public"},
                            {"ttlMs", 60000},
                            {"resultType", "complete"}}}};
    }
    if (method == "initialize") {
      return json::object{{"result",
                           {{"protocolVersion", "2025-11-25"},
                            {"capabilities", {{"tools", {{"listChanged", true}}}}},
                            {"serverInfo", {{"name", "old"}, {"version", "1"}}}}}};
    }
    return json::object{{"result", json::object{}}};
  }
  // What the server notifies, as a line.
  void Notify(const std::string& method, json::object params) {
    gw->OnServerLine(
        ToJsonText(json::object{{"jsonrpc", "2.0"}, {"method", method}, {"params", params}}));
  }
  std::vector<json::value> ToClient() {
    std::lock_guard l(mu);
    return to_client;
  }
  std::vector<json::value> Sent(std::string_view method) {
    std::lock_guard l(mu);
    std::vector<json::value> out;
    for (const auto& v : to_server) {
      const json::value* m = v.get_object().if_contains("method");
      if (m != nullptr && m->is_string() && m->get_string() == method) out.push_back(v);
    }
    return out;
  }
  const bool modern;
  AllVisible view;
  AllowingEnforcer enforcer;
  std::unique_ptr<PinStore> pins;
  std::mutex mu;
  std::vector<json::value> to_client, to_server;
  std::unique_ptr<Gateway> gw;
};

std::string Listen(const json::value& id, json::object filter) {
  return ToJsonText(json::object{
      {"jsonrpc", "2.0"},
      {"id", id},
      {"method", "subscriptions/listen"},
      {"params",
       {{"notifications", std::move(filter)},
        {"_meta",
         {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
          {"io.modelcontextprotocol/clientCapabilities", json::object{}},
          {"io.modelcontextprotocol/clientInfo", {{"name", "c"}, {"version", "1"}}}}}}}});
}

json::value SubscriptionOf(const json::value& msg) {
  return msg.at("params").at("_meta").at("io.modelcontextprotocol/subscriptionId");
}

// The methods of the notifications the client got, in order.
std::vector<std::string> Methods(const std::vector<json::value>& msgs) {
  std::vector<std::string> out;
  for (const json::value& m : msgs) {
    if (const json::value* method = m.get_object().if_contains("method")) {
      out.emplace_back(method->as_string());
    }
  }
  return out;
}

// Tests that in front of a 2025 server the gateway answers subscriptions/listen itself (not
// -32601): acknowledged under the client's id with the kinds it serves, then only the kinds
// asked for reach the client, tagged with the subscription: a log message, a prompts change
// it did not ask for and a resource update (never subscribed) are dropped.
TEST(GatewayListenTest, LegacyServerChangesReachOnlyTheKindsTheClientAskedFor) {
  Harness h(/*modern_server=*/false);
  h.gw->OnClientLine(Listen("listen:1", {{"toolsListChanged", true},
                                         {"resourceSubscriptions", json::array{"file:///a"}}}));
  std::vector<json::value> got = h.ToClient();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].at("method"), "notifications/subscriptions/acknowledged");
  EXPECT_EQ(SubscriptionOf(got[0]), "listen:1");
  // Resource subscriptions would need resources/subscribe at the server: not honored.
  EXPECT_EQ(got[0].at("params").at("notifications"), (json::object{{"toolsListChanged", true}}));
  EXPECT_FALSE(got[0].as_object().contains("id"));  // the request stays open
  h.Notify("notifications/message", {{"level", "info"}, {"data", "hi"}});
  h.Notify("notifications/prompts/list_changed", {});
  h.Notify("notifications/resources/updated", {{"uri", "file:///a"}});
  h.Notify("notifications/tools/list_changed", {});
  got = h.ToClient();
  ASSERT_EQ(Methods(got), (std::vector<std::string>{"notifications/subscriptions/acknowledged",
                                                    "notifications/tools/list_changed"}));
  EXPECT_EQ(SubscriptionOf(got[1]), "listen:1");
  // The client closes it (stdio: notifications/cancelled): nothing more, and the id is free.
  h.gw->OnClientLine(
      R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"listen:1"}})");
  h.Notify("notifications/tools/list_changed", {});
  EXPECT_EQ(h.ToClient().size(), 2u);
  EXPECT_TRUE(h.Sent("notifications/cancelled").empty());  // the server never had it
}

// Tests that a malformed filter is refused -32602 and that an HTTP stream closing (CancelHeld)
// ends a served subscription with its closing result, so the transport frees the request.
TEST(GatewayListenTest, BadFilterIsRefusedAndAClosedStreamEndsTheSubscription) {
  Harness h(/*modern_server=*/false);
  h.gw->OnClientLine(Listen(1, {{"toolsListChanged", "yes"}}));
  ASSERT_EQ(h.ToClient().size(), 1u);
  EXPECT_EQ(h.ToClient()[0].at("error").at("code"), -32602);
  h.gw->OnClientLine(Listen(2, {{"promptsListChanged", true}}));
  h.gw->CancelHeld(json::value(2), "stream closed");
  const json::value end = h.ToClient().back();
  EXPECT_EQ(end.at("id"), 2);
  EXPECT_EQ(end.at("result").at("resultType"), "complete");
  EXPECT_EQ(end.at("result").at("_meta").at("io.modelcontextprotocol/subscriptionId"), 2);
}

// Tests that a 2026-07-28 server gets the subscription under the gateway's id, and that only
// what it sends on that subscription and the client asked for comes back, under the client's
// id: a server cannot post on a subscription id it was never given, nor send a kind the client
// did not ask for (a custom notification naming a tool, a resource the client never
// subscribed to); its acknowledgment is narrowed to the client's filter.
TEST(GatewayListenTest, ModernServerCannotPostOutsideTheClientsSubscription) {
  Harness h(/*modern_server=*/true);
  h.gw->OnClientLine(Listen("listen:7", {{"toolsListChanged", true},
                                         {"resourceSubscriptions", json::array{"file:///ok"}}}));
  const std::vector<json::value> sent = h.Sent("subscriptions/listen");
  ASSERT_EQ(sent.size(), 1u);
  const json::value sid = sent[0].at("id");
  EXPECT_NE(sid, json::value("listen:7"));  // the server never sees the client's id
  auto on = [&](const json::value& id, json::object params) {
    params["_meta"] = json::object{{"io.modelcontextprotocol/subscriptionId", id}};
    return params;
  };
  h.Notify(
      "notifications/subscriptions/acknowledged",
      on(sid, {{"notifications",
                {{"toolsListChanged", true},
                 {"promptsListChanged", true},
                 {"resourceSubscriptions", json::array{"file:///ok", "file:///etc/shadow"}}}}}));
  h.Notify("notifications/tools/list_changed", on(json::value(999), {}));  // not a subscription
  h.Notify("notifications/prompts/list_changed", on(sid, {}));             // not asked for
  h.Notify("notifications/resources/updated", on(sid, {{"uri", "file:///etc/shadow"}}));
  h.Notify("notifications/tools/call_requested", on(sid, {{"name", "delete_file"}}));
  h.Notify("notifications/resources/updated", on(sid, {{"uri", "file:///ok"}}));
  h.Notify("notifications/tools/list_changed", on(sid, {}));
  const std::vector<json::value> got = h.ToClient();
  ASSERT_EQ(Methods(got), (std::vector<std::string>{"notifications/subscriptions/acknowledged",
                                                    "notifications/resources/updated",
                                                    "notifications/tools/list_changed"}));
  for (const json::value& m : got) EXPECT_EQ(SubscriptionOf(m), "listen:7");
  EXPECT_EQ(got[0].at("params").at("notifications"),
            (json::object{{"toolsListChanged", true},
                          {"resourceSubscriptions", json::array{"file:///ok"}}}));
  EXPECT_EQ(got[1].at("params").at("uri"), "file:///ok");
  // Cancelled by the client: cancelled at the server under the gateway's id; the server's
  // late closing result is not relayed.
  h.gw->OnClientLine(
      R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"listen:7"}})");
  const std::vector<json::value> cancels = h.Sent("notifications/cancelled");
  ASSERT_EQ(cancels.size(), 1u);
  EXPECT_EQ(cancels[0].at("params").at("requestId"), sid);
  h.Notify("notifications/tools/list_changed", on(sid, {}));
  h.gw->OnServerLine(ToJsonText(
      json::object{{"jsonrpc", "2.0"}, {"id", sid}, {"result", {{"resultType", "complete"}}}}));
  EXPECT_EQ(h.ToClient().size(), 3u);
}

// Tests that a 2026-07-28 server ending a subscription gracefully reaches the client as the
// closing result of the client's own request, with the client's subscription id.
TEST(GatewayListenTest, ModernServersGracefulEndCarriesTheClientsSubscriptionId) {
  Harness h(/*modern_server=*/true);
  h.gw->OnClientLine(Listen(3, {{"toolsListChanged", true}}));
  const json::value sid = h.Sent("subscriptions/listen").at(0).at("id");
  h.gw->OnServerLine(
      ToJsonText(json::object{{"jsonrpc", "2.0"},
                              {"id", sid},
                              {"result",
                               {{"resultType", "complete"},
                                {"_meta", {{"io.modelcontextprotocol/subscriptionId", sid}}}}}}));
  const json::value end = h.ToClient().back();
  EXPECT_EQ(end.at("id"), 3);
  EXPECT_EQ(end.at("result").at("_meta").at("io.modelcontextprotocol/subscriptionId"), 3);
  // The subscription is gone: a notification on it is dropped.
  h.Notify("notifications/tools/list_changed",
           {{"_meta", {{"io.modelcontextprotocol/subscriptionId", sid}}}});
  EXPECT_EQ(h.ToClient().size(), 1u);
}

// Tests that a tools/list filtered per agent is never offered to a shared cache, whatever the
// server said: a 2026-07-28 server's "public, 60 s" reaches the 2026 client as "private", 0,
// sorted (as a 2025 server's list does;
// GatewayTest.ModernClientsServerIsInitializedByTheGatewayFirst).
TEST(GatewayListenTest, ModernServersPublicToolListReachesTheClientPrivate) {
  Harness h(/*modern_server=*/true);
  h.gw->OnClientLine(ToJsonText(json::object{
      {"jsonrpc", "2.0"},
      {"id", 4},
      {"method", "tools/list"},
      {"params",
       {{"_meta",
         {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
          {"io.modelcontextprotocol/clientCapabilities", json::object{}},
          {"io.modelcontextprotocol/clientInfo", {{"name", "c"}, {"version", "1"}}}}}}}}));
  const json::value r = h.ToClient().back();
  EXPECT_EQ(r.at("id"), 4);
  EXPECT_EQ(r.at("result").at("cacheScope"), "private");
  EXPECT_EQ(r.at("result").at("ttlMs"), 0);
  EXPECT_EQ(r.at("result").at("tools").at(0).at("name"), "alpha");
}

// Tests that a 2025 client cannot open a subscription (not a method of its revision: -32601).
TEST(GatewayListenTest, LegacyClientsListenIsNotAMethod) {
  Harness h(/*modern_server=*/false);
  h.gw->OnClientLine(
      R"({"jsonrpc":"2.0","id":1,"method":"subscriptions/listen","params":{"notifications":{}}})");
  ASSERT_EQ(h.ToClient().size(), 1u);
  EXPECT_EQ(h.ToClient()[0].at("error").at("code"), -32601);
}

// A loopback server that answers the first POST (a subscriptions/listen) with an SSE stream
// carrying its acknowledgment and keeps it open, then reports whether the client closed that
// connection within 10 s and how many more requests it got.
class ListeningFake {
 public:
  ListeningFake() {
    fd_ = testing::ListenOnLoopback(&port_);
    EXPECT_GE(fd_, 0);
    thread_ = std::thread([this] { Serve(); });
  }
  ~ListeningFake() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
    for (std::thread& t : others_) t.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/mcp"; }
  bool WaitClosed() {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, 15s, [&] { return done_; });
    return closed_by_peer_;
  }
  int more() const { return more_.load(); }

 private:
  void Serve() {
    const int c = ::accept(fd_, nullptr, nullptr);
    if (c < 0) return;
    others_.emplace_back([this] {  // any later connection is counted
      for (;;) {
        const int o = ::accept(fd_, nullptr, nullptr);
        if (o < 0) return;
        ++more_;
        ::close(o);
      }
    });
    timeval tv{10, 0};
    ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string req;
    char buf[4096];
    while (req.find("\r\n\r\n") == std::string::npos || req.back() != '}') {
      const ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      req.append(buf, static_cast<size_t>(n));
    }
    const size_t at = req.find("\"id\":");
    const std::string id = at == std::string::npos ? "0" : req.substr(at + 5, 1);
    const std::string reply =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"
        "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/subscriptions/acknowledged\","
        "\"params\":{\"_meta\":{\"io.modelcontextprotocol/subscriptionId\":" +
        id + "},\"notifications\":{\"toolsListChanged\":true}}}\n\n";
    ::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
    const ssize_t n = ::recv(c, buf, sizeof buf, 0);  // 0: the client closed the stream
    ::close(c);
    std::lock_guard lock(mu_);
    closed_by_peer_ = n == 0;
    done_ = true;
    cv_.notify_all();
  }
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::vector<std::thread> others_;
  std::atomic<int> more_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  bool closed_by_peer_ = false;
};

// Tests that cancelling a subscription forwarded to a Streamable HTTP server of 2026-07-28
// closes its stream there (how the revision cancels over HTTP) instead of leaving it open for
// good, and posts nothing else.
TEST(HttpUpstreamListenTest, CancelledSubscriptionClosesItsStreamAtTheServer) {
  ListeningFake server;
  HttpUpstreamOptions o;
  o.connector = outbound::Connector();
  o.url = server.url();
  auto up = HttpUpstream::Create(o);
  ASSERT_TRUE(up.ok()) << up.error().message;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> got;
  UpstreamCallbacks cb;
  cb.on_message = [&](std::string_view m, const json::value*) {
    std::lock_guard lock(mu);
    got.emplace_back(m);
    cv.notify_all();
  };
  cb.on_closed = [](std::string) {};
  ASSERT_TRUE((*up)->Start(std::move(cb)).ok());
  (*up)->Send(json::parse(R"({"jsonrpc":"2.0","id":5,"method":"subscriptions/listen","params":{)"
                          R"("notifications":{"toolsListChanged":true},"_meta":{)"
                          R"("io.modelcontextprotocol/protocolVersion":"2026-07-28"}}})"));
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return !got.empty(); }));
    EXPECT_NE(got[0].find("subscriptions/acknowledged"), std::string::npos) << got[0];
  }
  (*up)->Send(json::parse(
      R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":5}})"));
  EXPECT_TRUE(server.WaitClosed());
  EXPECT_EQ(server.more(), 0);
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(got.size(), 1u);  // no "failed before answering" for a cancelled subscription
  }
  (*up)->Close();
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::mcp
