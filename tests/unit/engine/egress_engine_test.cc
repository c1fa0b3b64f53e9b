// Tests that connections of the egress proxy are decided by the engine like tool calls
// (kill switch, halted run, shadow mode) against egress.allow, and that a tool call can
// never be taken for a connection.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "engine/engine.h"
#include "policy/loader.h"

namespace interlock::engine {
namespace INTERLOCK_TEST_NS {

using ::testing::HasSubstr;

std::shared_ptr<const policy::AgentPolicy> Policy(std::string_view extra) {
  std::vector<policy::Diagnostic> diags;
  auto r = policy::ParseAgentPolicy(
      "agent: {id: a}\ntools: {allowed: [egress, read]}\n" + std::string(extra), "p.yaml", &diags);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : nullptr;
}

ToolCall Connect(std::string host, int64_t port, std::string address) {
  ToolCall c;
  c.kind = CallKind::kEgress;
  c.tool = kEgressToolName;
  c.args = {{"host", host}, {"port", port}, {"address", address}};
  return c;
}

EvalContext Ctx() { return EvalContext{std::chrono::system_clock::now(), std::nullopt, {}}; }

// Tests that an allowed connection is allowed with its entry as the rule, costs no step
// and consumes no records.
TEST(EgressEngine, AllowedConnectionIsNotAStep) {
  auto p = Policy("egress: {allow: [\"127.0.0.1:8080\"]}\n");
  Evaluation ev = Evaluate(p.get(), RunState{}, Connect("127.0.0.1", 8080, "127.0.0.1"), Ctx());
  EXPECT_EQ(ev.decision.verdict, Verdict::kAllow) << ev.decision.reason;
  EXPECT_EQ(ev.decision.rule, "egress.allow[\"127.0.0.1:8080\"]");
  EXPECT_EQ(ev.decision.at, "p.yaml:3:1");
  EXPECT_EQ(ev.effects.steps, 0u);
  EXPECT_FALSE(ev.effects.consume_records);
}

// Tests that a refused connection is EGRESS_DENIED with the reason naming the address.
TEST(EgressEngine, RefusedConnectionIsEgressDenied) {
  auto p = Policy("egress: {allow: [\"api.example.com:443\"]}\n");
  Evaluation ev =
      Evaluate(p.get(), RunState{}, Connect("api.example.com", 443, "169.254.169.254"), Ctx());
  EXPECT_EQ(ev.decision.code, Code::kEgressDenied);
  EXPECT_THAT(ev.decision.reason, HasSubstr("169.254.169.254"));
  EXPECT_EQ(
      Evaluate(Policy("").get(), RunState{}, Connect("a.com", 443, "8.8.8.8"), Ctx()).decision.code,
      Code::kEgressDenied);
}

// Tests that a CONNECT (args.tunnel: true) is judged as a tunnel by the engine itself, so
// every door (the local proxy, the daemon's egress route) refuses a tunnel to a port
// allowed for plain http:// only, and that a tunnel flag that is not a boolean is invalid.
TEST(EgressEngine, ConnectToAllowedPlainHttpPortIsRefused) {
  auto p =
      Policy("egress: {allow: [\"127.0.0.1:8080\", {to: \"127.0.0.1:8443\", tunnel: true}]}\n");
  ToolCall plain = Connect("127.0.0.1", 8080, "127.0.0.1");
  EXPECT_EQ(Evaluate(p.get(), RunState{}, plain, Ctx()).decision.verdict, Verdict::kAllow);
  ToolCall tunnel = plain;
  tunnel.args["tunnel"] = true;
  Evaluation ev = Evaluate(p.get(), RunState{}, tunnel, Ctx());
  EXPECT_EQ(ev.decision.code, Code::kEgressDenied);
  EXPECT_THAT(ev.decision.reason, HasSubstr("CONNECT"));
  ToolCall tls = Connect("127.0.0.1", 8443, "127.0.0.1");
  tls.args["tunnel"] = true;
  EXPECT_EQ(Evaluate(p.get(), RunState{}, tls, Ctx()).decision.verdict, Verdict::kAllow);
  tunnel.args["tunnel"] = "yes";
  EXPECT_EQ(Evaluate(p.get(), RunState{}, tunnel, Ctx()).decision.code, Code::kInvalidRequest);
}

// Tests that a tool call named "egress" is a tool call (allowed here by tools.allowed),
// never matched against egress.allow, and that a connection is never allowed by
// tools.allowed.
TEST(EgressEngine, ToolNamedEgressIsNotAConnection) {
  auto p = Policy("");
  ToolCall tool;
  tool.tool = "egress";
  tool.args = {{"host", "a.com"}, {"port", 443}, {"address", "8.8.8.8"}};
  EXPECT_EQ(Evaluate(p.get(), RunState{}, tool, Ctx()).decision.code, Code::kAllowed);
  EXPECT_EQ(Evaluate(p.get(), RunState{}, Connect("a.com", 443, "8.8.8.8"), Ctx()).decision.code,
            Code::kEgressDenied);
}

// Tests that malformed connection arguments are a deny, never an allow.
TEST(EgressEngine, MalformedConnectionIsInvalid) {
  auto p = Policy("egress: {allow: [\"127.0.0.1:*\"]}\n");
  ToolCall c = Connect("127.0.0.1", 8080, "127.0.0.1");
  c.args["address"] = "localhost";
  EXPECT_EQ(Evaluate(p.get(), RunState{}, c, Ctx()).decision.code, Code::kInvalidRequest);
  c = Connect("127.0.0.1", 0, "127.0.0.1");
  EXPECT_EQ(Evaluate(p.get(), RunState{}, c, Ctx()).decision.code, Code::kInvalidRequest);
  c.args.erase("port");
  EXPECT_EQ(Evaluate(p.get(), RunState{}, c, Ctx()).decision.code, Code::kInvalidRequest);
}

// Tests that the kill switch and a halted run stop connections too.
TEST(EgressEngine, KillSwitchAndHaltedRunStopConnections) {
  auto p = Policy("egress: {allow: [\"127.0.0.1:*\"]}\n");
  EvalContext ctx = Ctx();
  ctx.kill = KillSwitch{"agent", "incident"};
  EXPECT_EQ(Evaluate(p.get(), RunState{}, Connect("127.0.0.1", 1, "127.0.0.1"), ctx).decision.code,
            Code::kKillSwitch);
  RunState halted;
  halted.halted = true;
  EXPECT_EQ(Evaluate(p.get(), halted, Connect("127.0.0.1", 1, "127.0.0.1"), Ctx()).decision.code,
            Code::kRunHalted);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::engine
