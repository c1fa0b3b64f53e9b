// The parts the MCP gateway is made of, on their own (issue 57): the subscriptions table and
// its filter (subscriptions.h), the tasks it follows (task_table.h), the ids of the
// server's requests relayed to the client (server_request_ids.h), and the handlers of those
// requests behind their link to the gateway (server_request_handlers.h). The gateway's own
// tests (gateway_listen_test.cc, gateway_tasks_test.cc, gateway_relay_test.cc,
// gateway_test.cc) cover them in use.
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "mcp/framing.h"
#include "mcp/revision.h"
#include "mcp/server_request_handlers.h"
#include "mcp/server_request_ids.h"
#include "mcp/subscriptions.h"
#include "mcp/task_table.h"

namespace interlock::mcp {
namespace INTERLOCK_TEST_NS {

namespace json = boost::json;
using namespace std::chrono_literals;

json::value ListenRequest(json::object notifications) {
  return json::object{{"jsonrpc", "2.0"},
                      {"id", 1},
                      {"method", "subscriptions/listen"},
                      {"params", json::object{{"notifications", std::move(notifications)}}}};
}

// Tests that a listen filter keeps what the client asked for, and the server's offer is
// narrowed to it.
TEST(SubscriptionTest, FilterIsReadAndTheOfferNarrowedToIt) {
  auto s = Subscription::Read(
      ListenRequest({{"toolsListChanged", true},
                     {"resourceSubscriptions", json::array{"b://x", "a://y", "b://x"}}}));
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_TRUE(s->tools);
  EXPECT_FALSE(s->prompts);
  EXPECT_EQ(s->uris, (std::vector<std::string>{"a://y", "b://x"}));
  EXPECT_TRUE(s->Wants("notifications/tools/list_changed", {}));
  EXPECT_FALSE(s->Wants("notifications/prompts/list_changed", {}));
  EXPECT_TRUE(s->Wants("notifications/resources/updated", {{"uri", "a://y"}}));
  EXPECT_FALSE(s->Wants("notifications/resources/updated", {{"uri", "c://z"}}));
  EXPECT_FALSE(s->Wants("notifications/progress", {}));
  const json::object offered{{"toolsListChanged", true},
                             {"promptsListChanged", true},
                             {"resourceSubscriptions", json::array{"a://y", "c://z"}}};
  EXPECT_EQ(json::value(s->Honored(offered)),
            (json::value(json::object{{"toolsListChanged", true},
                                      {"resourceSubscriptions", json::array{"a://y"}}})));
}

// Tests that a filter the client cannot mean is refused.
TEST(SubscriptionTest, MalformedFilterIsRefused) {
  EXPECT_FALSE(Subscription::Read(ListenRequest({{"toolsListChanged", "yes"}})).ok());
  EXPECT_FALSE(Subscription::Read(ListenRequest({{"resourceSubscriptions", "a://y"}})).ok());
  json::array many;
  for (size_t i = 0; i <= Subscription::kMaxUris; ++i)
    many.push_back(json::value("u://" + std::to_string(i)));
  EXPECT_FALSE(Subscription::Read(ListenRequest({{"resourceSubscriptions", many}})).ok());
  EXPECT_TRUE(Subscription::Read(json::object{{"id", 1}, {"method", "subscriptions/listen"}}).ok());
}

// Tests that the table holds at most kMaxOpen subscriptions, serves only the gateway's own to a
// fan-out, and closes each once.
TEST(SubscriptionsTest, BoundedServedAndClosedOnce) {
  Subscriptions table;
  Subscription wants_tools;
  wants_tools.tools = true;
  Subscription forwarded = wants_tools;
  forwarded.server_id = 7;  // forwarded: not the gateway's to serve
  ASSERT_NE(table.Open(IdKey(json::value(0)), forwarded), nullptr);
  for (size_t i = 1; i < Subscriptions::kMaxOpen; ++i) {
    ASSERT_NE(table.Open(IdKey(json::value(i)), wants_tools), nullptr);
  }
  EXPECT_EQ(table.Open(IdKey(json::value("one more")), wants_tools), nullptr);
  const std::vector<json::value> to = table.ServedWanting("notifications/tools/list_changed", {});
  EXPECT_EQ(to.size(), Subscriptions::kMaxOpen - 1);
  EXPECT_EQ(table.Close(IdKey(json::value(0))), std::optional<uint64_t>(7));
  EXPECT_FALSE(table.Close(IdKey(json::value(0))).has_value());
  EXPECT_TRUE(table.Find(IdKey(json::value(1))).has_value());
  EXPECT_EQ(table.TakeAll().size(), Subscriptions::kMaxOpen - 1);
  EXPECT_FALSE(table.Find(IdKey(json::value(1))).has_value());
}

// Tests that the subscription id is set in _meta, beside what is there.
TEST(SubscriptionsTest, SubscriptionIdGoesToMeta) {
  const json::object p = WithSubscriptionId(json::object{{"_meta", json::object{{"k", 1}}}}, "s");
  EXPECT_EQ(p.at("_meta").at("k"), json::value(1));
  EXPECT_EQ(p.at("_meta").at(kMetaSubscriptionId), json::value("s"));
}

OpenTask TaskOf(std::string call_id, std::chrono::steady_clock::time_point expires) {
  OpenTask t;
  auto outcome = std::make_shared<Enforcer::Outcome>();
  outcome->call_id = std::move(call_id);
  t.outcome = std::move(outcome);
  t.tool = "build";
  t.credential_json = "{\"kind\":\"static\"}";
  t.expires = expires;
  return t;
}

// Tests that a task id is opened once, tasks past their ttl are forgotten first, and a full
// table forgets a task already recorded before an open one.
TEST(TaskTableTest, OpenForgetsExpiredThenRecordedFirst) {
  TaskTable table;
  const auto now = std::chrono::steady_clock::now();
  std::vector<OpenTask> ended;
  ASSERT_TRUE(table.Open("old", TaskOf("c-old", now - 1s), now - 2s, &ended));
  ASSERT_TRUE(table.Open("t0", TaskOf("c0", now + 1h), now, &ended));
  ASSERT_EQ(ended.size(), 1u);  // "old" was past its ttl
  EXPECT_EQ(ended[0].outcome->call_id, "c-old");
  EXPECT_FALSE(table.Open("t0", TaskOf("again", now + 1h), now, &ended));
  for (size_t i = 1; i < TaskTable::kMaxOpen; ++i) {
    ASSERT_TRUE(table.Open("t" + std::to_string(i), TaskOf("c", now + 1h), now, &ended));
  }
  std::string call_id;
  std::string credential;
  ASSERT_TRUE(table.MarkRecorded("t5", &call_id, &credential));
  EXPECT_FALSE(table.MarkRecorded("t5", &call_id, &credential));  // once
  ended.clear();
  ASSERT_TRUE(table.Open("new", TaskOf("c-new", now + 1h), now, &ended));
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_TRUE(ended[0].recorded);  // t5, though t0 is older
  EXPECT_TRUE(table.CreatedAtOf("t5").empty());
  EXPECT_EQ(table.TakeAll().size(), TaskTable::kMaxOpen);
}

// Tests that a task shown ended stays ended: another outcome later is a contradiction and
// changes nothing.
TEST(TaskTableTest, TerminalOutcomeStays) {
  TaskTable table;
  const auto now = std::chrono::steady_clock::now();
  std::vector<OpenTask> ended;
  ASSERT_TRUE(table.Open("t", TaskOf("c", now + 1h), now, &ended));
  TaskReading failed;
  failed.status = "failed";
  failed.terminal = true;
  failed.outcome = ToolResult::Failure("boom");
  std::string why;
  EXPECT_EQ(table.Show("t", failed, std::nullopt, &why), TaskTable::Shown::kTaken);
  EXPECT_EQ(table.Show("t", failed, std::nullopt, &why), TaskTable::Shown::kTaken);  // the same
  TaskReading completed;
  completed.status = "completed";
  completed.terminal = true;
  EXPECT_EQ(table.Show("t", completed, std::nullopt, &why), TaskTable::Shown::kContradicted);
  EXPECT_NE(why.find("failed"), std::string::npos) << why;
  EXPECT_EQ(table.Show("gone", completed, std::nullopt, &why), TaskTable::Shown::kUnknown);
}

// Tests that a client's tasks/update is followed only for keys outstanding, that forwarding it
// clears them and keeps the authorization, and that an expired task is handed back once.
TEST(TaskTableTest, FollowKnowsOutstandingKeysAndExpiry) {
  TaskTable table;
  const auto now = std::chrono::steady_clock::now();
  std::vector<OpenTask> ended;
  ASSERT_TRUE(table.Open("t", TaskOf("c", now + 1h), now, &ended));
  TaskReading asked;
  asked.status = "input_required";
  asked.outstanding = {"a", "b"};
  std::string why;
  ASSERT_EQ(table.Show("t", asked, now + 2h, &why), TaskTable::Shown::kTaken);
  std::optional<OpenTask> expired;
  TaskTable::Followed f = table.Follow("t", {"a", "z"}, now, &expired);
  ASSERT_TRUE(f.outcome);
  EXPECT_EQ(f.tool, "build");
  EXPECT_EQ(f.stray, std::vector<std::string>{"z"});
  const std::string bearer = "Bearer 1";
  table.Forwarded("t", &bearer, {"a"});
  EXPECT_EQ(table.AuthorizationOf("t"), bearer);
  f = table.Follow("t", {"a", "b"}, now, &expired);
  EXPECT_EQ(f.stray, std::vector<std::string>{"a"});
  EXPECT_FALSE(table.Follow("none", {}, now, &expired).outcome);
  EXPECT_FALSE(expired.has_value());
  f = table.Follow("t", {}, now + 3h, &expired);  // past the renewed ttl
  EXPECT_FALSE(f.outcome);
  ASSERT_TRUE(expired.has_value());
  EXPECT_EQ(expired->outcome->call_id, "c");
  EXPECT_TRUE(table.TakeAll().empty());
}

// Tests that a server request goes to the client under an id of the gateway's, mapped back
// once, and that a duplicate server id or one request too many is refused.
TEST(ServerRequestIdsTest, RelayedOnceAndBounded) {
  ServerRequestIds ids;
  bool duplicate = false;
  const json::value server_id = "s-1";
  std::optional<uint64_t> c = ids.Relay(IdKey(server_id), server_id, &duplicate);
  ASSERT_TRUE(c.has_value());
  EXPECT_FALSE(ids.Relay(IdKey(server_id), server_id, &duplicate).has_value());
  EXPECT_TRUE(duplicate);
  EXPECT_EQ(ids.Issue(), *c + 1);  // one id space with the gateway's own requests
  EXPECT_EQ(ids.Answer(*c), std::optional<json::value>(server_id));
  EXPECT_FALSE(ids.Answer(*c).has_value());
  c = ids.Relay(IdKey(server_id), server_id, &duplicate);  // free again
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(ids.Cancel(IdKey(server_id)), c);
  EXPECT_FALSE(ids.Answer(*c).has_value());
  for (size_t i = 0; i < ServerRequestIds::kMaxInFlight; ++i) {
    const json::value id(static_cast<int64_t>(i));
    ASSERT_TRUE(ids.Relay(IdKey(id), id, &duplicate).has_value());
  }
  const json::value last = "last";
  EXPECT_FALSE(ids.Relay(IdKey(last), last, &duplicate).has_value());
  EXPECT_FALSE(duplicate);
  ids.Clear();
  EXPECT_TRUE(ids.Relay(IdKey(last), last, &duplicate).has_value());
}

// What ServerRequestHandlers asks of its gateway, written down: the messages each way, the
// refusals decided, and the requests at the server (a map, as the Gateway's pending_).
class RecordingLink : public ServerRequestHandlers::Link {
 public:
  void SendToClient(const json::value& v) override { to_client.push_back(v); }
  void SendToServer(const json::value& v) override { to_server.push_back(v); }
  void AnswerClient(const json::object& response) override { to_client.push_back(response); }
  Enforcer::Outcome DecideRefusal(const json::value*, const std::string& reason) override {
    refusals.push_back(reason);
    return Enforcer::Outcome(Decision{}, "call-" + std::to_string(refusals.size()));
  }
  json::object Denial(const Decision&) const override { return json::object{{"isError", true}}; }
  void RefuseCall(const json::value&, const std::string&, const std::string&, Code,
                  const std::string& reason) override {
    refusals.push_back(reason);
  }
  bool ForwardsServerRequest(std::string_view) const override { return true; }
  json::object ClientCapabilities() const override { return {}; }
  std::shared_ptr<core::CallSpan> TraceOf(const json::value&) override { return nullptr; }
  void HandleServerResponse(json::value, const json::value&) override {}
  void HandleToolResult(json::object&, const PendingRequest&) override {}
  void FailCall(const PendingRequest&, const std::string&, const std::string&) override {}
  void RecordNeverRetried(const OpenCall&, const std::string&) override {}
  void ContinueAllowed(json::value, const json::value&, const std::string&, const json::object&,
                       const Enforcer::Outcome&, int) override {}
  PendingRequest* CallLocked(std::string_view key) override {
    auto it = pending.find(key);
    return it == pending.end() ? nullptr : &it->second;
  }
  std::optional<PendingRequest> TakeCallLocked(std::string_view key) override {
    auto it = pending.find(key);
    if (it == pending.end()) return std::nullopt;
    std::optional<PendingRequest> p = std::move(it->second);
    pending.erase(it);
    return p;
  }
  void PutCallLocked(const std::string& key, PendingRequest p) override {
    pending.emplace(key, std::move(p));
  }
  void ForEachCallLocked(
      const std::function<void(const std::string&, PendingRequest&)>& f) override {
    for (auto& kv : pending) f(kv.first, kv.second);
  }
  void BindClientIdLocked(const json::value&, uint64_t) override {}
  void TraceUpstreamStartedLocked(const json::value&) override {}
  bool CountRefusalLocked() override { return true; }

  std::vector<json::value> to_client;
  std::vector<json::value> to_server;
  std::vector<std::string> refusals;
  std::map<std::string, PendingRequest, std::less<>> pending;
};

// Tests that the handlers relay a server's request under an id of their own, send the
// client's answer back under the server's id once, and refuse (and record) a request in
// Interlock's own id space, all through their link to the gateway.
TEST(ServerRequestHandlersTest, RelayedThroughTheLinkAndOwnIdSpaceRefused) {
  RecordingLink link;
  std::mutex mu;
  ServerRequestHandlers handlers(link, mu, /*enforcer=*/nullptr, std::chrono::minutes(1));
  handlers.RelayServerRequest(
      json::object{{"jsonrpc", "2.0"}, {"id", "s-1"}, {"method", "roots/list"}}, "s-1");
  ASSERT_EQ(link.to_client.size(), 1u);
  const json::value client_side = link.to_client[0].at("id");
  EXPECT_TRUE(client_side.is_uint64() || client_side.is_int64());
  auto answer = [&](const json::value& id) {
    Message m;
    m.kind = MessageKind::kResponse;
    m.id = id;
    m.doc = json::object{{"jsonrpc", "2.0"}, {"id", id}, {"result", json::object{}}};
    handlers.OnClientResponse(m);
  };
  answer(client_side);
  ASSERT_EQ(link.to_server.size(), 1u);
  EXPECT_EQ(link.to_server[0].at("id"), json::value("s-1"));
  answer(client_side);  // answered already: dropped
  EXPECT_EQ(link.to_server.size(), 1u);

  handlers.RelayServerRequest(
      json::object{{"jsonrpc", "2.0"}, {"id", "interlock-x"}, {"method", "roots/list"}},
      "interlock-x");
  EXPECT_EQ(link.to_client.size(), 1u);  // never shown to the client
  ASSERT_EQ(link.to_server.size(), 2u);
  EXPECT_EQ(link.to_server[1].at("error").at("code"), json::value(kInvalidRequest));
  ASSERT_EQ(link.refusals.size(), 1u);
  handlers.Stop("the test ended");
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::mcp
