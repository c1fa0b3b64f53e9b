// A Gateway in front of a scripted server, for the gateway's unit tests: an Enforcer that
// counts what it decides and records, a view that shows every tool, and the server's answers
// from a function, sent back at once (re-entrantly, as a fast server would).
#ifndef INTERLOCK_TESTS_UNIT_MCP_GATEWAY_HARNESS_H_
#define INTERLOCK_TESTS_UNIT_MCP_GATEWAY_HARNESS_H_

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "common/json.h"
#include "mcp/gateway.h"
#include "store/sqlite_pins.h"

namespace interlock::mcp::testharness {

// An Enforcer whose approvals end as they stand (AwaitApproval hands its outcome back) and
// whose results and withdrawals succeed and leave no trace; a test's enforcer adds Decide.
class ImmediateEnforcer : public Enforcer {
 public:
  Outcome AwaitApproval(const Outcome& p, const std::function<bool()>&,
                        const std::function<void()>&) override {
    return p;
  }
  Status RecordResult(std::string_view, const ToolResult&) override { return Status::Ok(); }
  Status Withdraw(const Outcome&, std::string_view) override { return Status::Ok(); }
};

class CountingEnforcer : public ImmediateEnforcer {
 public:
  Outcome Decide(ToolCall call) override {
    std::lock_guard l(mu);
    decided.push_back(call);
    Outcome o;
    o.call_id = "call-" + std::to_string(decided.size());
    if (!call.refusal_reason.empty()) {
      o.decision = DenyDecision(Code::kInvalidRequest, call.refusal_reason, call.refusal_rule);
    } else if (call.tool == "delete_file") {
      o.decision = DenyDecision(Code::kToolBlocked, "blocked by test", "r");
    } else {
      o.decision.verdict = Verdict::kAllow;
      o.decision.code = Code::kAllowed;
    }
    return o;
  }
  Status RecordResult(std::string_view call_id, const ToolResult& r) override {
    std::lock_guard l(mu);
    recorded.emplace_back(std::string(call_id), r);
    return Status::Ok();
  }
  Status KillSwitchClear() override {
    std::lock_guard l(mu);
    ++kill_checks;
    return kill;
  }
  std::mutex mu;
  Status kill = Status::Ok();  // what KillSwitchClear answers
  int kill_checks = 0;
  std::vector<ToolCall> decided;
  std::vector<std::pair<std::string, ToolResult>> recorded;
};

class AllVisible : public ToolViewSource {
 public:
  Result<View> ViewTools(const std::vector<std::string>& tools) override {
    View v;
    for (const auto& t : tools) {
      v[t].visible = true;
      if (auto it = scopes.find(t); it != scopes.end()) v[t].scope = it->second;
    }
    return v;
  }
  // The `scope` of a tool (structuredContent fields the agent may see); none: everything.
  std::map<std::string, std::vector<std::string>> scopes;
};

// A scripted server: `answer` gives the reply to each request (null: none), sent back at once
// (re-entrantly, as a fast server would).
struct Harness {
  using Answer = std::function<boost::json::value(const boost::json::object& request)>;
  explicit Harness(Answer a, std::chrono::milliseconds discover_timeout = std::chrono::seconds(2),
                   const std::function<void(GatewayOptions&)>& tweak = nullptr)
      : answer(std::move(a)) {
    pins = std::make_unique<PinStore>(store::OpenSqlitePinRows(":memory:").value());
    GatewayOptions o;
    o.agent_id = "a";
    o.tools = &view;
    o.enforcer = &enforcer;
    o.pins = pins.get();
    o.catalog_timeout = std::chrono::milliseconds(500);
    o.discover_timeout = discover_timeout;
    if (tweak) tweak(o);
    gw = std::make_unique<Gateway>(
        o,
        [this](const boost::json::value& v) {
          std::lock_guard l(mu);
          to_client.push_back(v);
        },
        [this](const boost::json::value& v) {
          {
            std::lock_guard l(mu);
            to_server.push_back(v);
          }
          if (observe_to_server) observe_to_server(v);
          const boost::json::object& o = v.get_object();
          if (!o.contains("id") || !o.contains("method")) return;
          boost::json::value reply = answer(o);
          if (reply.is_null()) return;
          reply.get_object()["jsonrpc"] = "2.0";
          reply.get_object()["id"] = o.at("id");
          gw->OnServerLine(ToJsonText(reply));
        });
  }
  std::vector<boost::json::value> Sent(std::string_view method) {
    std::lock_guard l(mu);
    std::vector<boost::json::value> out;
    for (const auto& v : to_server) {
      const boost::json::value* m = v.get_object().if_contains("method");
      if (m != nullptr && m->is_string() && m->get_string() == method) out.push_back(v);
    }
    return out;
  }
  boost::json::value LastClient() {
    std::lock_guard l(mu);
    return to_client.back();
  }
  Answer answer;
  // Called with each message to the server, on the thread that sends it (set it before the
  // first message the test wants to see).
  std::function<void(const boost::json::value&)> observe_to_server;
  AllVisible view;
  CountingEnforcer enforcer;
  std::unique_ptr<PinStore> pins;
  std::mutex mu;
  std::vector<boost::json::value> to_client;
  std::vector<boost::json::value> to_server;
  std::unique_ptr<Gateway> gw;
};

}  // namespace interlock::mcp::testharness

#endif  // INTERLOCK_TESTS_UNIT_MCP_GATEWAY_HARNESS_H_
