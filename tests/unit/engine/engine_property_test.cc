// Property-style tests: deterministic pseudo-random inputs, bounded loops.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <boost/json/serialize.hpp>

#include "common/json.h"
#include "engine/call_parser.h"
#include "engine/engine.h"
#include "seed_policy.h"

namespace interlock::engine {
namespace INTERLOCK_TEST_NS {

namespace json = boost::json;
using ::interlock::testing::SeedPolicy;
using ::interlock::testing::TestNow;

// A random JSON value of bounded depth, using names that collide with policy fields.
json::value RandomValue(std::mt19937_64& rng, int depth) {
  static const char* kStrings[] = {
      "refunded", "deleted", "customer_id", "ssn", "/srv/data/a",
      "../etc",   "",        "10",          "*",   "delete_customer_record"};
  switch (rng() % (depth > 0 ? 8 : 6)) {
    case 0:
      return nullptr;
    case 1:
      return rng() % 2 == 0;
    case 2:
      return static_cast<int64_t>(rng());
    case 3:
      return static_cast<uint64_t>(rng());
    case 4:
      return static_cast<double>(static_cast<int64_t>(rng() % 2001) - 1000) / 7.0;
    case 5:
      return kStrings[rng() % std::size(kStrings)];
    case 6: {
      json::array a;
      const size_t n = rng() % 15;
      for (size_t i = 0; i < n; ++i) a.push_back(RandomValue(rng, depth - 1));
      return a;
    }
    default: {
      json::object o;
      const size_t n = rng() % 5;
      for (size_t i = 0; i < n; ++i)
        o[kStrings[rng() % std::size(kStrings)]] = RandomValue(rng, depth - 1);
      return o;
    }
  }
}

json::object RandomArgs(std::mt19937_64& rng) {
  static const char* kKeys[] = {"status", "fields", "ids", "order_ids", "to", "x", "path"};
  json::object args;
  const size_t n = rng() % 6;
  for (size_t i = 0; i < n; ++i) args[kKeys[rng() % std::size(kKeys)]] = RandomValue(rng, 3);
  return args;
}

RunState RandomState(std::mt19937_64& rng) {
  RunState s;
  s.steps = rng() % 30;
  s.tokens = rng() % 60000;
  s.cost_micros = static_cast<int64_t>(rng() % 2500000);
  s.elapsed_ms = static_cast<int64_t>(rng() % 150000);
  s.halted = rng() % 10 == 0;
  if (rng() % 3 == 0) s.records["update_order_status"] = rng() % 12;
  return s;
}

std::string Serialized(const Evaluation& ev) {
  std::string out = json::serialize(DecisionToJson(ev.decision));
  out += "|" + std::to_string(ev.effects.steps) + "|" + std::to_string(ev.effects.records) + "|" +
         std::to_string(ev.effects.consume_records) + "|" + std::to_string(ev.effects.halt) + "|" +
         ev.effects.halt_reason;
  return out;
}

// Tests that no argument content, run state or clock makes a blocked tool allowed (or
// even approval_required) in enforce mode.
TEST(EnginePropertyTest, BlockedToolIsNeverAllowed) {
  const policy::AgentPolicy p = SeedPolicy();
  std::mt19937_64 rng(42);
  for (int i = 0; i < 3000; ++i) {
    ToolCall call;
    call.tool = (i % 3 == 0)   ? "delete_customer_record"
                : (i % 3 == 1) ? "access_payment_raw"
                               : "bulk_send_email";
    call.args = RandomArgs(rng);
    const Evaluation ev = Evaluate(&p, RandomState(rng), call, EvalContext{TestNow(), {}});
    ASSERT_EQ(ev.decision.verdict, Verdict::kDeny) << json::serialize(call.args);
    ASSERT_TRUE(ev.decision.code == Code::kToolBlocked || ev.decision.code == Code::kRunHalted ||
                ev.decision.code == Code::kBudgetExceeded)
        << CodeName(ev.decision.code);
    ASSERT_FALSE(ev.effects.consume_records);
  }
}

// Tests that the decision and its effects never depend on the order of object keys, at
// the top level of the call, in args, or nested inside args.
TEST(EnginePropertyTest, DecisionIndependentOfKeyOrder) {
  const policy::AgentPolicy p = SeedPolicy();
  const char* kTools[] = {"read_customer_record", "update_order_status", "send_customer_email",
                          "delete_customer_record", "other"};
  std::mt19937_64 rng(7);
  for (int i = 0; i < 1000; ++i) {
    json::object args = RandomArgs(rng);
    json::object call;
    call["tool"] = kTools[rng() % std::size(kTools)];
    call["args"] = args;
    call["usage"] = json::object{{"tokens", 5}, {"cost_usd", 0.01}};
    const std::string canonical = CanonicalJson(call);

    // Rebuild the document with every object's members reversed.
    std::function<json::value(const json::value&)> reversed = [&](const json::value& v) {
      if (v.is_object()) {
        json::object o;
        std::vector<const json::key_value_pair*> kvs;
        for (const auto& kv : v.get_object()) kvs.push_back(&kv);
        std::reverse(kvs.begin(), kvs.end());
        for (const auto* kv : kvs) o[kv->key()] = reversed(kv->value());
        return json::value(std::move(o));
      }
      if (v.is_array()) {
        json::array a;
        for (const auto& x : v.get_array()) a.push_back(reversed(x));
        return json::value(std::move(a));
      }
      return v;
    };
    const std::string text_a = json::serialize(call);
    const std::string text_b = json::serialize(reversed(call));
    ASSERT_EQ(CanonicalJson(ParseJsonStrict(text_b).value()), canonical);
    Result<ToolCall> a = ParseToolCall(text_a);
    Result<ToolCall> b = ParseToolCall(text_b);
    ASSERT_TRUE(a.ok() && b.ok());
    const RunState state = RandomState(rng);
    const EvalContext ctx{TestNow(), {}};
    ASSERT_EQ(Serialized(Evaluate(&p, state, *a, ctx)), Serialized(Evaluate(&p, state, *b, ctx)))
        << text_a;
  }
}

// Tests that shadow mode never denies or asks for approval, except for the kill switch
// (unknown agents and invalid requests never reach a shadow policy).
TEST(EnginePropertyTest, ShadowNeverDeniesExceptExemptCodes) {
  policy::AgentPolicy p = SeedPolicy();
  p.mode = policy::Mode::kShadow;
  p.autonomy = policy::Autonomy::kGateAll;
  const char* kTools[] = {"read_customer_record",
                          "update_order_status",
                          "send_customer_email",
                          "delete_customer_record",
                          "bulk_send_email",
                          "Read_customer_record",
                          "other"};
  policy::AgentPolicy enforce = p;
  enforce.mode = policy::Mode::kEnforce;
  std::mt19937_64 rng(99);
  for (int i = 0; i < 3000; ++i) {
    ToolCall call;
    call.tool = kTools[rng() % std::size(kTools)];
    call.args = RandomArgs(rng);
    EvalContext ctx{TestNow(), {}};
    const bool kill = rng() % 8 == 0;
    if (kill) ctx.kill = KillSwitch{"global", "drill"};
    const RunState state = RandomState(rng);
    const Evaluation ev = Evaluate(&p, state, call, ctx);
    if (kill) {
      ASSERT_EQ(ev.decision.code, Code::kKillSwitch);
      continue;
    }
    ASSERT_EQ(ev.decision.verdict, Verdict::kAllow) << ev.decision.reason;
    ASSERT_EQ(ev.decision.code, Code::kAllowed);
    ASSERT_TRUE(ev.effects.consume_records);
    ASSERT_EQ(ev.decision.shadow_code.has_value(), ev.decision.shadow_verdict.has_value());
    if (ev.decision.shadow_code) {
      ASSERT_NE(*ev.decision.shadow_code, Code::kAllowed);
      ASSERT_EQ(ev.decision.reason.rfind("shadow mode: would have ", 0), 0u);
    }
    // Enforce mode agrees on what would have happened.
    const Evaluation real = Evaluate(&enforce, state, call, ctx);
    ASSERT_EQ(ev.decision.shadow_code.value_or(Code::kAllowed), real.decision.code);
    ASSERT_EQ(ev.decision.rule, real.decision.rule);
    ASSERT_EQ(ev.effects.halt, real.effects.halt);
  }
}

// Tests that every evaluated call is exactly one step, whatever the outcome.
TEST(EnginePropertyTest, EveryCallIsOneStep) {
  const policy::AgentPolicy p = SeedPolicy();
  std::mt19937_64 rng(3);
  for (int i = 0; i < 500; ++i) {
    ToolCall call;
    call.tool = i % 2 ? "read_customer_record" : "update_order_status";
    call.args = RandomArgs(rng);
    const Evaluation ev =
        Evaluate(i % 5 == 0 ? nullptr : &p, RandomState(rng), call, EvalContext{TestNow(), {}});
    ASSERT_EQ(ev.effects.steps, 1u);
    ASSERT_GE(ev.effects.records, 1u);
    ASSERT_EQ(ev.decision.tool, call.tool);
    if (ev.decision.code != Code::kUnknownAgent) {
      ASSERT_EQ(ev.decision.agent_id, p.id);
    }
  }
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::engine
