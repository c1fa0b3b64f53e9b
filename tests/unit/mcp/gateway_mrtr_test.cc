// Approvals over MCP multi round-trip requests (docs/mcp.md#approvals-over-mrtr): a scripted
// 2026-07-28 client drives the Gateway API; a scripted Enforcer plays the core and the
// reviewers. Each attack on the requestState the client echoes back has its own test.
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "common/json.h"
#include "core/request_state.h"
#include "gateway_harness.h"
#include "mcp/gateway.h"
#include "store/sqlite_pins.h"
#include "wait.h"

namespace interlock::mcp {
namespace INTERLOCK_TEST_NS {

using testharness::AllVisible;

namespace json = boost::json;
using testing::WaitUntil;

// The core and its reviewers, scripted: "held" needs reviewers, "ask" the person at the
// client, "ask2" two approvers (yet asks the client: a broken Enforcer the gateway must
// not trust), anything else is allowed. The reviewers' verdict is set by the test.
class ScriptedEnforcer : public Enforcer {
 public:
  Outcome Decide(ToolCall call) override {
    std::lock_guard l(mu);
    Outcome o;
    if (!call.refusal_reason.empty()) {
      refusals.push_back(call);
      o.decision = DenyDecision(Code::kInvalidRequest, call.refusal_reason, call.refusal_rule);
      o.call_id = "call_refused_" + std::to_string(refusals.size());
      return o;
    }
    decided.push_back(call);
    o.call_id = "call_" + call.tool;
    if (call.tool == "held" || call.tool == "ask" || call.tool == "ask2") {
      o.decision.verdict = Verdict::kApprovalRequired;
      o.decision.code = Code::kApprovalRequired;
      o.decision.reason = "tool \"" + call.tool + "\" requires human approval";
      o.approval_id = "apr_" + call.tool;
      verdicts[o.call_id] = Verdict::kApprovalRequired;
      if (call.tool == "held") {
        o.approval_url = "http://reviewer.test/ui/#/approvals/apr_held";
      } else {
        o.ask_client = true;
        o.time_left = std::chrono::seconds(60);
        o.shown_args_json = "{}";
        if (call.tool == "ask2") o.decision.approvals_required = 2;
      }
    } else {
      o.decision.verdict = Verdict::kAllow;
      o.decision.code = Code::kAllowed;
    }
    return o;
  }
  Outcome Now(const Outcome& p) {
    std::lock_guard l(mu);
    Outcome o = p;
    auto it = verdicts.find(p.call_id);
    const Verdict v = it == verdicts.end() ? Verdict::kDeny : it->second;
    if (v == Verdict::kAllow) {
      o.decision.verdict = Verdict::kAllow;
      o.decision.code = Code::kAllowed;
    } else if (v == Verdict::kDeny) {
      o.decision = DenyDecision(Code::kApprovalDenied, "denied by reviewer bob", "approval");
    } else {
      o.approval_url = "http://reviewer.test/ui/#/approvals/" + p.approval_id;
    }
    return o;
  }
  Outcome AwaitApproval(const Outcome& p, const std::function<bool()>& cancelled,
                        const std::function<void()>& progress) override {
    for (int i = 0; i < 5000 && !cancelled(); ++i) {
      Outcome o = Now(p);
      if (o.decision.verdict != Verdict::kApprovalRequired) return o;
      if (i % 50 == 0) progress();
      std::this_thread::sleep_for(std::chrono::milliseconds(2));  // pace: the fake's queue
    }
    return p;
  }
  Outcome CheckApproval(const Outcome& p) override {
    {
      std::lock_guard l(mu);
      ++checks;
    }
    return Now(p);
  }
  Outcome AnswerAtClient(const Outcome& p, const ClientAnswer& a) override {
    std::lock_guard l(mu);
    answers.push_back(a);
    Outcome o = p;
    if (a.kind == ClientAnswer::Kind::kApprove) {
      o.decision.verdict = Verdict::kAllow;
      o.decision.code = Code::kAllowed;
    } else {
      o.decision = DenyDecision(Code::kApprovalDenied, a.comment, "approval");
    }
    verdicts[p.call_id] = o.decision.verdict;
    return o;
  }
  Status RecordResult(std::string_view, const ToolResult&) override { return Status::Ok(); }
  Status Withdraw(const Outcome& p, std::string_view reason) override {
    std::lock_guard l(mu);
    withdrawn.emplace_back(p.approval_id, std::string(reason));
    return Status::Ok();
  }
  std::string RunId() const override {
    std::lock_guard l(mu);
    return run;
  }
  void SetVerdict(const std::string& call_id, Verdict v) {
    std::lock_guard l(mu);
    verdicts[call_id] = v;
  }

  mutable std::mutex mu;
  std::string run = "run-1";
  std::map<std::string, Verdict> verdicts;  // by call id
  std::vector<ToolCall> decided;            // real decisions (not refusals)
  std::vector<ToolCall> refusals;
  std::vector<ClientAnswer> answers;
  std::vector<std::pair<std::string, std::string>> withdrawn;
  int checks = 0;
};

// The _meta of a 2026-07-28 client declaring both elicitation modes.
json::object Meta2026() {
  return json::object{{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
                      {"io.modelcontextprotocol/clientCapabilities",
                       json::object{{"elicitation", json::object{{"form", json::object{}},
                                                                 {"url", json::object{}}}}}}};
}

struct Harness {
  explicit Harness(std::string agent = "agent-a", core::RequestStates* states = nullptr,
                   std::string scope = "") {
    pins = std::make_unique<PinStore>(store::OpenSqlitePinRows(":memory:").value());
    GatewayOptions o;
    o.agent_id = std::move(agent);
    o.tools = &view;
    o.enforcer = &enforcer;
    o.pins = pins.get();
    o.catalog_timeout = std::chrono::milliseconds(500);
    o.request_states = states;
    o.state_scope = std::move(scope);
    o.discover_timeout = std::chrono::milliseconds(0);  // a scripted legacy server
    o.mrtr_wait = std::chrono::milliseconds(200);
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
    // A 2026-07-28 client's first request: the gateway initializes the (2025) server
    // itself first (answered here), then forwards the list.
    std::thread first([this] {
      gw->OnClientLine(ToJsonText(json::object{{"jsonrpc", "2.0"},
                                               {"id", "L"},
                                               {"method", "tools/list"},
                                               {"params", {{"_meta", Meta2026()}}}}));
    });
    WaitUntil([&] { return ServerCount() > 0; }, std::chrono::seconds(10),
              std::chrono::milliseconds(2));
    if (ServerCount() > 0 && LastServer().at("method") == "initialize") {
      gw->OnServerLine(
          ToJsonText(json::object{{"jsonrpc", "2.0"},
                                  {"id", LastServer().at("id")},
                                  {"result",
                                   {{"protocolVersion", "2025-11-25"},
                                    {"capabilities", {{"tools", json::object{}}}},
                                    {"serverInfo", {{"name", "scripted"}, {"version", "1"}}}}}}));
    }
    first.join();
    // The catalog: every tool of the tests, with an open schema.
    json::array tools;
    for (const char* t : {"held", "ask", "ask2", "ok"}) {
      tools.push_back(json::object{{"name", t}, {"inputSchema", {{"type", "object"}}}});
    }
    gw->OnServerLine(ToJsonText(json::object{{"jsonrpc", "2.0"},
                                             {"id", LastServer().at("id")},
                                             {"result", {{"tools", std::move(tools)}}}}));
  }
  json::value LastServer() {
    std::lock_guard l(mu);
    return to_server.back();
  }
  size_t ServerCount() {
    std::lock_guard l(mu);
    return to_server.size();
  }
  // The answer to client request `id`, waiting (bounded) for a held retry to finish.
  std::optional<json::value> AnswerTo(int id) {
    std::optional<json::value> out;
    WaitUntil(
        [&] {
          std::lock_guard l(mu);
          for (const json::value& v : to_client) {
            const json::object& o = v.as_object();
            if (o.contains("id") && o.at("id") == json::value(id)) {
              out = v;  // the first answer to `id`
              return true;
            }
          }
          return false;
        },
        std::chrono::seconds(10), std::chrono::milliseconds(5));
    return out;
  }
  // The tools/call calls the server received.
  std::vector<json::value> ForwardedCalls() {
    std::lock_guard l(mu);
    std::vector<json::value> out;
    for (const json::value& v : to_server) {
      if (v.at("method") == "tools/call") out.push_back(v);
    }
    return out;
  }
  ScriptedEnforcer enforcer;
  AllVisible view;
  std::unique_ptr<PinStore> pins;
  std::mutex mu;
  std::vector<json::value> to_client, to_server;
  std::unique_ptr<Gateway> gw;
};

std::string Call(int id, const std::string& tool, json::object args,
                 std::optional<std::string> state = std::nullopt,
                 std::optional<json::object> responses = std::nullopt) {
  json::object params{{"name", tool}, {"arguments", std::move(args)}, {"_meta", Meta2026()}};
  if (state) params["requestState"] = *state;
  if (responses) params["inputResponses"] = *responses;
  return ToJsonText(json::object{
      {"jsonrpc", "2.0"}, {"id", id}, {"method", "tools/call"}, {"params", std::move(params)}});
}

json::object Args() { return json::object{{"to", "bob@example.com"}}; }

// The client's answer to Interlock's approval question, filled in by the client itself.
json::object Approve() {
  return json::object{
      {"interlock_approval",
       json::object{{"action", "accept"}, {"content", json::object{{"approve", true}}}}}};
}

std::string StateOf(const json::value& answer) {
  return std::string(answer.at("result").at("requestState").as_string());
}

bool IsInputRequired(const json::value& answer) {
  const json::object& r = answer.at("result").as_object();
  return r.contains("resultType") && r.at("resultType") == "input_required";
}

// The first answer to a reviewer-held call: input_required with the reviewer page in URL
// mode and a sealed state; nothing forwarded.
std::string FirstAnswer(Harness& h, int id, const std::string& tool = "held") {
  const size_t before = h.ServerCount();
  h.gw->OnClientLine(Call(id, tool, Args()));
  std::optional<json::value> a = h.AnswerTo(id);
  EXPECT_TRUE(a);
  if (!a) return "";
  EXPECT_TRUE(IsInputRequired(*a)) << *a;
  EXPECT_EQ(h.ServerCount(), before);
  return StateOf(*a);
}

// Tests that a reviewer-held call of a 2026-07-28 client is answered input_required with a
// URL-mode request to the approval's reviewer page, and that the retry after the reviewer
// approved is forwarded (without Interlock's state) and decided only once.
TEST(GatewayMrtrTest, ReviewerApprovalGrantedViaRetry) {
  Harness h;
  h.gw->OnClientLine(Call(1, "held", Args()));
  std::optional<json::value> first = h.AnswerTo(1);
  ASSERT_TRUE(first);
  ASSERT_TRUE(IsInputRequired(*first)) << *first;
  const json::value& ask = first->at("result").at("inputRequests").at("interlock_approval");
  EXPECT_EQ(ask.at("method"), "elicitation/create");
  EXPECT_EQ(ask.at("params").at("mode"), "url");
  EXPECT_EQ(ask.at("params").at("url"), "http://reviewer.test/ui/#/approvals/apr_held");
  EXPECT_EQ(first->at("result").at("_meta").at("interlock.dev/approval").at("approval_id"),
            "apr_held");
  const std::string state = StateOf(*first);
  EXPECT_TRUE(state.starts_with(core::kRequestStatePrefix));
  EXPECT_TRUE(h.ForwardedCalls().empty());

  h.enforcer.SetVerdict("call_held", Verdict::kAllow);  // the reviewer approves
  h.gw->OnClientLine(
      Call(2, "held", Args(), state, json::object{{"interlock_approval", {{"action", "accept"}}}}));
  WaitUntil([&] { return !h.ForwardedCalls().empty(); }, std::chrono::seconds(10),
            std::chrono::milliseconds(5));
  const std::vector<json::value> calls = h.ForwardedCalls();
  ASSERT_EQ(calls.size(), 1u);
  const json::object& params = calls[0].at("params").as_object();
  EXPECT_EQ(params.at("name"), "held");
  EXPECT_EQ(params.at("arguments"), json::value(Args()));
  EXPECT_FALSE(params.contains("requestState"));
  EXPECT_FALSE(params.contains("inputResponses"));
  std::lock_guard l(h.enforcer.mu);
  EXPECT_EQ(h.enforcer.decided.size(), 1u);  // the retry is not a new decision
  EXPECT_TRUE(h.enforcer.refusals.empty());
}

// Tests that the retry after a reviewer denied the call gets the denial and nothing is
// forwarded.
TEST(GatewayMrtrTest, ReviewerDenialAnsweredOnRetry) {
  Harness h;
  const std::string state = FirstAnswer(h, 1);
  h.enforcer.SetVerdict("call_held", Verdict::kDeny);
  h.gw->OnClientLine(Call(2, "held", Args(), state));
  std::optional<json::value> a = h.AnswerTo(2);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->at("result").at("isError"), true);
  EXPECT_EQ(a->at("result").at("structuredContent").at("code"), "APPROVAL_DENIED");
  EXPECT_TRUE(h.ForwardedCalls().empty());
  std::lock_guard l(h.enforcer.mu);
  EXPECT_EQ(h.enforcer.decided.size(), 1u);
}

// Tests that a retry whose client re-serialized the arguments (JavaScript writes 2.0 as 2)
// is the same call: its state opens and the reviewer's verdict answers it, while another
// number is still another call.
TEST(GatewayMrtrTest, RetryReserializedAsJavaScriptDoesOpensItsState) {
  Harness h;
  h.gw->OnClientLine(Call(1, "held", json::object{{"to", "bob@example.com"}, {"n", 2.0}}));
  std::optional<json::value> first = h.AnswerTo(1);
  ASSERT_TRUE(first);
  ASSERT_TRUE(IsInputRequired(*first)) << *first;
  const std::string state = StateOf(*first);
  h.enforcer.SetVerdict("call_held", Verdict::kDeny);
  h.gw->OnClientLine(Call(2, "held", json::object{{"to", "bob@example.com"}, {"n", 2}}, state));
  std::optional<json::value> a = h.AnswerTo(2);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->at("result").at("structuredContent").at("code"), "APPROVAL_DENIED") << *a;
  {
    std::lock_guard l(h.enforcer.mu);
    EXPECT_TRUE(h.enforcer.refusals.empty());
  }

  h.gw->OnClientLine(Call(3, "held", json::object{{"to", "bob@example.com"}, {"n", 2.0}}));
  std::optional<json::value> again = h.AnswerTo(3);
  ASSERT_TRUE(again);
  ASSERT_TRUE(IsInputRequired(*again)) << *again;
  h.gw->OnClientLine(
      Call(4, "held", json::object{{"to", "bob@example.com"}, {"n", 2.5}}, StateOf(*again)));
  ASSERT_TRUE(h.AnswerTo(4));
  std::lock_guard l(h.enforcer.mu);
  EXPECT_EQ(h.enforcer.refusals.size(), 1u);  // 2.5 is not the call the state was sealed for
  EXPECT_TRUE(h.ForwardedCalls().empty());
}

// Tests that a retry while the reviewers have not decided is answered input_required again
// with a fresh state (the old one is spent), and the approval is not withdrawn.
TEST(GatewayMrtrTest, PendingRetryIsAskedAgainWithFreshState) {
  Harness h;
  const std::string state = FirstAnswer(h, 1);
  h.gw->OnClientLine(Call(2, "held", Args(), state));
  std::optional<json::value> a = h.AnswerTo(2);
  ASSERT_TRUE(a);
  ASSERT_TRUE(IsInputRequired(*a)) << *a;
  EXPECT_NE(StateOf(*a), state);
  EXPECT_TRUE(h.ForwardedCalls().empty());
  std::lock_guard l(h.enforcer.mu);
  EXPECT_TRUE(h.enforcer.withdrawn.empty());
  EXPECT_EQ(h.enforcer.decided.size(), 1u);
}

// Tests that an approval the agent's own client fills in (inputResponses saying approve)
// never counts as a reviewer's vote: the call stays held, is not forwarded, and no vote is
// recorded.
TEST(GatewayMrtrTest, ClientFilledAnswerDoesNotCountAsReviewerVote) {
  Harness h;
  const std::string state = FirstAnswer(h, 1);
  h.gw->OnClientLine(Call(2, "held", Args(), state, Approve()));
  std::optional<json::value> a = h.AnswerTo(2);
  ASSERT_TRUE(a);
  EXPECT_TRUE(IsInputRequired(*a)) << *a;
  EXPECT_TRUE(h.ForwardedCalls().empty());
  std::lock_guard l(h.enforcer.mu);
  EXPECT_TRUE(h.enforcer.answers.empty());  // no vote was cast for the client
}

// Tests that the person at the client is never asked for an approval needing two people,
// even if the Enforcer says to ask: the call is denied and its approval withdrawn, so one
// answer at the client can never make up the two-person rule.
TEST(GatewayMrtrTest, ClientAnswerCannotMakeUpTwoPersonRule) {
  Harness h;
  h.gw->OnClientLine(Call(1, "ask2", Args()));
  std::optional<json::value> a = h.AnswerTo(1);
  ASSERT_TRUE(a);
  EXPECT_FALSE(IsInputRequired(*a));
  EXPECT_EQ(a->at("result").at("isError"), true);
  EXPECT_NE(ToJsonText(*a).find("2 reviewers"), std::string::npos) << *a;
  EXPECT_TRUE(h.ForwardedCalls().empty());
  std::lock_guard l(h.enforcer.mu);
  ASSERT_EQ(h.enforcer.withdrawn.size(), 1u);
  EXPECT_EQ(h.enforcer.withdrawn[0].first, "apr_ask2");
}

// Tests that standalone, the person at the client is asked in form mode and their answer
// on the retry is their vote: approved, the call is forwarded once.
TEST(GatewayMrtrTest, LocalPersonApprovesViaRetry) {
  Harness h;
  h.gw->OnClientLine(Call(1, "ask", Args()));
  std::optional<json::value> first = h.AnswerTo(1);
  ASSERT_TRUE(first);
  ASSERT_TRUE(IsInputRequired(*first)) << *first;
  const json::value& ask = first->at("result").at("inputRequests").at("interlock_approval");
  EXPECT_EQ(ask.at("params").at("mode"), "form");
  EXPECT_TRUE(
      ask.at("params").at("requestedSchema").at("properties").as_object().contains("approve"));
  // A retry without the answer is asked again.
  h.gw->OnClientLine(Call(2, "ask", Args(), StateOf(*first)));
  std::optional<json::value> again = h.AnswerTo(2);
  ASSERT_TRUE(again);
  ASSERT_TRUE(IsInputRequired(*again)) << *again;
  h.gw->OnClientLine(Call(3, "ask", Args(), StateOf(*again), Approve()));
  ASSERT_EQ(h.ForwardedCalls().size(), 1u);
  std::lock_guard l(h.enforcer.mu);
  ASSERT_EQ(h.enforcer.answers.size(), 1u);
  EXPECT_EQ(h.enforcer.answers[0].kind, Enforcer::ClientAnswer::Kind::kApprove);
  EXPECT_EQ(h.enforcer.decided.size(), 1u);
}

// Tests that the person's approve whose comment holds a NUL character (which PostgreSQL's
// text refuses; core::CheckFreeText) is refused as an answer that cannot be read: never an
// approval, the call not forwarded.
TEST(GatewayMrtrTest, ApproveWithANulInItsCommentIsRefused) {
  Harness h;
  h.gw->OnClientLine(Call(1, "ask", Args()));
  std::optional<json::value> first = h.AnswerTo(1);
  ASSERT_TRUE(first);
  ASSERT_TRUE(IsInputRequired(*first)) << *first;
  json::object answer = Approve();
  answer["interlock_approval"].as_object()["content"].as_object()["comment"] =
      std::string("ok\0sure", 7);
  h.gw->OnClientLine(Call(2, "ask", Args(), StateOf(*first), answer));
  EXPECT_TRUE(h.ForwardedCalls().empty());
  std::lock_guard l(h.enforcer.mu);
  ASSERT_EQ(h.enforcer.answers.size(), 1u);
  EXPECT_EQ(h.enforcer.answers[0].kind, Enforcer::ClientAnswer::Kind::kRefused);
  EXPECT_NE(h.enforcer.answers[0].comment.find("comment must not contain a NUL character"),
            std::string::npos)
      << h.enforcer.answers[0].comment;
}

// Tests that a forged requestState (one character changed) is refused and recorded through
// the core, never answered with the reviewers' verdict.
TEST(GatewayMrtrTest, ForgedStateIsRefused) {
  Harness h;
  std::string state = FirstAnswer(h, 1);
  h.enforcer.SetVerdict("call_held", Verdict::kAllow);
  state[core::kRequestStatePrefix.size() + 3] ^= 1;
  h.gw->OnClientLine(Call(2, "held", Args(), state));
  std::optional<json::value> a = h.AnswerTo(2);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->at("result").at("isError"), true);
  EXPECT_EQ(a->at("result").at("structuredContent").at("code"), "INVALID_REQUEST");
  EXPECT_TRUE(h.ForwardedCalls().empty());
  std::lock_guard l(h.enforcer.mu);
  ASSERT_EQ(h.enforcer.refusals.size(), 1u);
  EXPECT_NE(h.enforcer.refusals[0].refusal_reason.find("requestState refused"), std::string::npos);
  EXPECT_EQ(h.enforcer.refusals[0].tool, "held");
  EXPECT_EQ(h.enforcer.checks, 0);
}

// Tests that a requestState echoed a second time (a replay of an approved retry) is
// refused and recorded: the approved call runs once.
TEST(GatewayMrtrTest, ReplayedStateIsRefused) {
  Harness h;
  const std::string state = FirstAnswer(h, 1);
  h.enforcer.SetVerdict("call_held", Verdict::kAllow);
  h.gw->OnClientLine(Call(2, "held", Args(), state));
  WaitUntil([&] { return !h.ForwardedCalls().empty(); }, std::chrono::seconds(10),
            std::chrono::milliseconds(5));
  ASSERT_EQ(h.ForwardedCalls().size(), 1u);
  h.gw->OnClientLine(Call(3, "held", Args(), state));
  std::optional<json::value> a = h.AnswerTo(3);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->at("result").at("structuredContent").at("code"), "INVALID_REQUEST");
  EXPECT_NE(ToJsonText(*a).find("used before"), std::string::npos) << *a;
  EXPECT_EQ(h.ForwardedCalls().size(), 1u);
  std::lock_guard l(h.enforcer.mu);
  EXPECT_EQ(h.enforcer.refusals.size(), 1u);
}

// Tests that a requestState issued to one agent is refused on another agent's gateway that
// shares the daemon's key (a state passed between agents).
TEST(GatewayMrtrTest, StateOfAnotherAgentIsRefused) {
  SystemClock clock;
  core::RequestStates states(std::string(32, 'k'), &clock);
  Harness a("agent-a", &states);
  Harness b("agent-b", &states);
  const std::string state = FirstAnswer(a, 1);
  b.enforcer.SetVerdict("call_held", Verdict::kAllow);
  b.gw->OnClientLine(Call(2, "held", Args(), state));
  std::optional<json::value> r = b.AnswerTo(2);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->at("result").at("structuredContent").at("code"), "INVALID_REQUEST");
  EXPECT_NE(ToJsonText(*r).find("another agent"), std::string::npos) << *r;
  EXPECT_TRUE(b.ForwardedCalls().empty());
  std::lock_guard l(b.enforcer.mu);
  EXPECT_EQ(b.enforcer.refusals.size(), 1u);
}

// Tests that a requestState issued in one run is refused in another run of the agent.
TEST(GatewayMrtrTest, StateOfAnotherRunIsRefused) {
  Harness h;
  const std::string state = FirstAnswer(h, 1);
  {
    std::lock_guard l(h.enforcer.mu);
    h.enforcer.run = "run-2";
  }
  h.enforcer.SetVerdict("call_held", Verdict::kAllow);
  h.gw->OnClientLine(Call(2, "held", Args(), state));
  std::optional<json::value> a = h.AnswerTo(2);
  ASSERT_TRUE(a);
  EXPECT_NE(ToJsonText(*a).find("another run"), std::string::npos) << *a;
  EXPECT_TRUE(h.ForwardedCalls().empty());
}

// Tests that a state issued by one gateway opens on another gateway of the same scope in
// another run (the daemon's stateless client after a restart, or on another daemon of the
// fleet sharing the keys), and is answered with the verdict of its own call; in another
// scope it is refused as of another run.
TEST(GatewayMrtrTest, StateOpensInAnotherRunOfItsOwnScopeOnly) {
  SystemClock clock;
  core::RequestStates before(std::string(32, 'k'), &clock);
  core::RequestStates after(std::string(32, 'k'), &clock);  // the restarted daemon
  Harness a("agent-a", &before, "stateless-1");
  const std::string state = FirstAnswer(a, 1);
  Harness b("agent-a", &after, "stateless-1");
  Harness other("agent-a", &after, "stateless-2");
  for (Harness* h : {&b, &other}) {
    std::lock_guard l(h->enforcer.mu);
    h->enforcer.run = "run-2";
  }
  other.enforcer.SetVerdict("call_held", Verdict::kAllow);
  other.gw->OnClientLine(Call(2, "held", Args(), state));
  std::optional<json::value> refused = other.AnswerTo(2);
  ASSERT_TRUE(refused);
  EXPECT_NE(ToJsonText(*refused).find("another run"), std::string::npos) << *refused;
  EXPECT_TRUE(other.ForwardedCalls().empty());
  b.enforcer.SetVerdict("call_held", Verdict::kAllow);
  b.gw->OnClientLine(Call(3, "held", Args(), state));
  WaitUntil([&] { return !b.ForwardedCalls().empty(); }, std::chrono::seconds(10),
            std::chrono::milliseconds(5));
  EXPECT_EQ(b.ForwardedCalls().size(), 1u);
}

// Tests that a held call is never given a requestState bound to no run (an enforcer that
// has none): denied, its approval withdrawn, nothing forwarded.
TEST(GatewayMrtrTest, CallWithoutARunGetsNoRequestState) {
  Harness h;
  {
    std::lock_guard l(h.enforcer.mu);
    h.enforcer.run = "";
  }
  h.gw->OnClientLine(Call(1, "held", Args()));
  std::optional<json::value> a = h.AnswerTo(1);
  ASSERT_TRUE(a);
  EXPECT_FALSE(IsInputRequired(*a)) << *a;
  EXPECT_FALSE(a->at("result").as_object().contains("requestState")) << *a;
  EXPECT_EQ(a->at("result").at("isError"), true) << *a;
  EXPECT_TRUE(h.ForwardedCalls().empty());
  std::lock_guard l(h.enforcer.mu);
  ASSERT_EQ(h.enforcer.withdrawn.size(), 1u);
}

// Tests that a state issued for one call is refused on a retry with other arguments (an
// approved state swapped onto a call the reviewer never saw).
TEST(GatewayMrtrTest, StateSwappedOntoOtherArgumentsIsRefused) {
  Harness h;
  const std::string state = FirstAnswer(h, 1);
  h.enforcer.SetVerdict("call_held", Verdict::kAllow);
  h.gw->OnClientLine(Call(2, "held", json::object{{"to", "mallory@example.com"}}, state));
  std::optional<json::value> a = h.AnswerTo(2);
  ASSERT_TRUE(a);
  EXPECT_NE(ToJsonText(*a).find("another tool call"), std::string::npos) << *a;
  EXPECT_TRUE(h.ForwardedCalls().empty());
}

// Tests that a requestState presented after its expiry is refused and recorded, even though
// the reviewer approved meanwhile: the client must call afresh.
TEST(GatewayMrtrTest, ExpiredStateIsRefused) {
  ManualClock clock(FromUnixMillis(1'800'000'000'000));
  core::RequestStates states(std::string(32, 'k'), &clock);
  Harness h("agent-a", &states);
  const std::string state = FirstAnswer(h, 1);
  h.enforcer.SetVerdict("call_held", Verdict::kAllow);
  clock.Advance(std::chrono::minutes(16));  // reviewer_state_ttl: 15 min
  h.gw->OnClientLine(Call(2, "held", Args(), state));
  std::optional<json::value> a = h.AnswerTo(2);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->at("result").at("structuredContent").at("code"), "INVALID_REQUEST");
  EXPECT_NE(ToJsonText(*a).find("expired"), std::string::npos) << *a;
  EXPECT_TRUE(h.ForwardedCalls().empty());
  std::lock_guard l(h.enforcer.mu);
  EXPECT_EQ(h.enforcer.refusals.size(), 1u);
}

// Tests that a requestState that is not a string is refused through the core, not taken for
// a server's state and decided afresh.
TEST(GatewayMrtrTest, NonStringStateIsRefused) {
  Harness h;
  h.gw->OnClientLine(
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"held","arguments":{},)"
      R"("requestState":{"approved":true}}})");
  std::optional<json::value> a = h.AnswerTo(1);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->at("result").at("structuredContent").at("code"), "INVALID_REQUEST");
  std::lock_guard l(h.enforcer.mu);
  EXPECT_TRUE(h.enforcer.decided.empty());
  EXPECT_EQ(h.enforcer.refusals.size(), 1u);
}

// Tests that a retry the client cancels while it waits for the reviewers withdraws the
// approval (the client holds no state any more) and gets no answer.
TEST(GatewayMrtrTest, CancelledRetryWithdrawsTheApproval) {
  Harness h;
  const std::string state = FirstAnswer(h, 1);
  h.gw->OnClientLine(Call(2, "held", Args(), state));
  h.gw->OnClientLine(
      R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":2}})");
  WaitUntil(
      [&] {
        std::lock_guard l(h.enforcer.mu);
        return !h.enforcer.withdrawn.empty();
      },
      std::chrono::seconds(10), std::chrono::milliseconds(5));
  {
    std::lock_guard l(h.enforcer.mu);
    ASSERT_EQ(h.enforcer.withdrawn.size(), 1u);
    EXPECT_EQ(h.enforcer.withdrawn[0].first, "apr_held");
  }
  std::lock_guard l(h.mu);
  for (const json::value& v : h.to_client) {
    const json::value* id = v.as_object().if_contains("id");
    EXPECT_FALSE(id != nullptr && *id == json::value(2)) << v;
  }
}

// Tests that the approval of a state never retried is withdrawn when the client goes, so
// no approval is left in the queue for nobody.
TEST(GatewayMrtrTest, ClientGoneWithdrawsOpenStates) {
  Harness h;
  (void)FirstAnswer(h, 1);
  h.gw->OnClientClosed("the MCP client went away");
  std::lock_guard l(h.enforcer.mu);
  ASSERT_EQ(h.enforcer.withdrawn.size(), 1u);
  EXPECT_EQ(h.enforcer.withdrawn[0].first, "apr_held");
}

// Tests that a client of an older revision (no 2026-07-28 _meta) is still held open, as
// before: no input_required reaches a client that cannot read it.
TEST(GatewayMrtrTest, OlderClientIsHeldOpen) {
  Harness h;
  h.gw->OnClientLine(
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"held","arguments":{}}})");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // pace: time to answer, wrongly
  {
    std::lock_guard l(h.mu);
    for (const json::value& v : h.to_client) {
      const json::value* id = v.as_object().if_contains("id");
      EXPECT_FALSE(id != nullptr && *id == json::value(1)) << v;  // held, not answered
    }
  }
  h.enforcer.SetVerdict("call_held", Verdict::kAllow);
  WaitUntil([&] { return !h.ForwardedCalls().empty(); }, std::chrono::seconds(10),
            std::chrono::milliseconds(5));
  EXPECT_EQ(h.ForwardedCalls().size(), 1u);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::mcp
