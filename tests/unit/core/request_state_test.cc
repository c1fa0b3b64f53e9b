// The sealed requestState of approvals over MCP multi round-trip requests
// (core/request_state.h): each attack a client could try with the state it echoes back.
#include "core/request_state.h"

#include <string>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "common/base64.h"
#include "common/crypto.h"
#include "common/json.h"

namespace interlock::core {
namespace INTERLOCK_TEST_NS {

namespace json = boost::json;

const std::string kKey(32, 'k');

struct Fixture {
  Fixture() : clock(FromUnixMillis(1'800'000'000'000)), states(kKey, &clock) {}
  RequestStateClaims Claims() const {
    RequestStateClaims c;
    c.agent_id = "agent-a";
    c.run_id = "run-1";
    c.args_digest = ArgumentsDigest("send_email", json::object{{"to", "bob@example.com"}});
    c.call_id = "call_1";
    c.approval_id = "apr_1";
    c.answerer = StateAnswerer::kReviewers;
    c.expires_at = clock.Now() + std::chrono::minutes(5);
    return c;
  }
  RequestStateBinding Binding() const {
    return {"agent-a", "run-1",
            ArgumentsDigest("send_email", json::object{{"to", "bob@example.com"}}), ""};
  }
  StateRefusal OpenRefusal(const std::string& state, const RequestStateBinding& b) {
    StateRefusal why = StateRefusal::kNone;
    auto r = states.Open(state, b, &why);
    EXPECT_FALSE(r.ok());
    return why;
  }
  ManualClock clock;
  RequestStates states;
};

// Tests that a state Interlock sealed opens, once, for the same agent, run and call, and
// gives back every claim it was sealed with.
TEST(RequestStateTest, OwnStateOpensWithItsClaims) {
  Fixture f;
  const std::string s = f.states.Seal(f.Claims());
  ASSERT_TRUE(s.starts_with(kRequestStatePrefix));
  StateRefusal why = StateRefusal::kMalformed;
  auto c = f.states.Open(s, f.Binding(), &why);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(why, StateRefusal::kNone);
  EXPECT_EQ(c->call_id, "call_1");
  EXPECT_EQ(c->approval_id, "apr_1");
  EXPECT_EQ(c->answerer, StateAnswerer::kReviewers);
  EXPECT_EQ(c->nonce.size(), 32u);
  EXPECT_EQ(c->expires_at, f.clock.Now() + std::chrono::minutes(5));
}

// Tests that a state echoed a second time (a replay of a retry) is refused: one state,
// one retry.
TEST(RequestStateTest, ReplayedStateIsRefused) {
  Fixture f;
  const std::string s = f.states.Seal(f.Claims());
  ASSERT_TRUE(f.states.Open(s, f.Binding()).ok());
  EXPECT_EQ(f.OpenRefusal(s, f.Binding()), StateRefusal::kReplayed);
}

// Tests that a state whose payload was altered (the approval's answerer switched from
// reviewers to the person at the client) fails its MAC.
TEST(RequestStateTest, ForgedStateIsRefused) {
  Fixture f;
  const std::string s = f.states.Seal(f.Claims());
  const size_t dot = s.rfind('.');
  auto raw =
      Base64UrlDecode(s.substr(kRequestStatePrefix.size(), dot - kRequestStatePrefix.size()));
  ASSERT_TRUE(raw.ok());
  std::string payload = *raw;
  const size_t at = payload.find("\"reviewers\"");
  ASSERT_NE(at, std::string::npos);
  payload.replace(at, 11, "\"local\"");
  const std::string body = std::string(kRequestStatePrefix) + Base64UrlEncode(payload);
  EXPECT_EQ(f.OpenRefusal(body + s.substr(dot), f.Binding()), StateRefusal::kForged);
  // Nor does a state made up with a MAC under a guessed key.
  EXPECT_EQ(f.OpenRefusal(body + "." + HmacSha256Hex(std::string(32, 'x'), body), f.Binding()),
            StateRefusal::kForged);
}

// Tests that a state sealed by another daemon (another key) does not open here.
TEST(RequestStateTest, StateOfAnotherKeyIsRefused) {
  Fixture f;
  ManualClock clock2(f.clock.Now());
  RequestStates other(std::string(32, 'o'), &clock2);
  EXPECT_EQ(f.OpenRefusal(other.Seal(f.Claims()), f.Binding()), StateRefusal::kForged);
}

// Tests that a state sealed before a daemon restarted opens after it: another process over
// the same key material (the keys directory a fleet shares) derives the same sealing key.
TEST(RequestStateTest, StateOpensAfterTheDaemonRestartsOnTheSameKeys) {
  Fixture f;
  const std::string s = f.states.Seal(f.Claims());
  ManualClock clock2(f.clock.Now());
  RequestStates restarted(kKey, &clock2);
  auto c = restarted.Open(s, f.Binding());
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->call_id, "call_1");
}

// Tests that the sealing key is derived (HKDF with its own label), never the daemon's key
// used raw: a MAC made with the raw key, or with the key derived as an older build did
// (HMAC of the label), does not verify.
TEST(RequestStateTest, StateMacedWithTheRawDaemonKeyIsRefused) {
  Fixture f;
  const std::string s = f.states.Seal(f.Claims());
  const std::string body = s.substr(0, s.rfind('.'));
  EXPECT_EQ(f.OpenRefusal(body + "." + HmacSha256Hex(kKey, body), f.Binding()),
            StateRefusal::kForged);
  EXPECT_EQ(f.OpenRefusal(body + "." +
                              HmacSha256Hex(HmacSha256Hex(kKey,
                                                          "interlock mcp "
                                                          "requestState v1"),
                                            body),
                          f.Binding()),
            StateRefusal::kForged);
}

// Tests that a state of another run opens only where it names the retry's own scope (the
// same client reaching a restarted daemon or another daemon of the fleet), never in
// another scope or where the state or the retry names none.
TEST(RequestStateTest, StateOfAnotherRunOpensOnlyInItsOwnScope) {
  Fixture f;
  RequestStateClaims claims = f.Claims();
  claims.scope = "stateless-aaaa";
  RequestStateBinding other_run = f.Binding();
  other_run.run_id = "run-2";
  other_run.scope = "stateless-aaaa";
  auto c = f.states.Open(f.states.Seal(claims), other_run);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->run_id, "run-1");  // answered with the call of its own run
  other_run.scope = "stateless-bbbb";
  EXPECT_EQ(f.OpenRefusal(f.states.Seal(claims), other_run), StateRefusal::kOtherRun);
  other_run.scope = "";
  EXPECT_EQ(f.OpenRefusal(f.states.Seal(claims), other_run), StateRefusal::kOtherRun);
  other_run.scope = "stateless-aaaa";
  EXPECT_EQ(f.OpenRefusal(f.states.Seal(f.Claims()), other_run), StateRefusal::kOtherRun);
  // The scope never stands in for the agent.
  other_run.agent_id = "agent-b";
  EXPECT_EQ(f.OpenRefusal(f.states.Seal(claims), other_run), StateRefusal::kOtherAgent);
}

// Tests that a state bound to no run (an enforcer that had none: a wiring bug) never opens,
// not even for a retry that has none either.
TEST(RequestStateTest, StateBoundToNoRunNeverOpens) {
  Fixture f;
  RequestStateClaims claims = f.Claims();
  claims.run_id = "";
  RequestStateBinding b = f.Binding();
  b.run_id = "";
  EXPECT_EQ(f.OpenRefusal(f.states.Seal(claims), b), StateRefusal::kOtherRun);
}

// Tests that a truncated state (cut anywhere) is refused, never half-read.
TEST(RequestStateTest, TruncatedStateIsRefused) {
  Fixture f;
  const std::string s = f.states.Seal(f.Claims());
  for (size_t n : {size_t{0}, size_t{3}, kRequestStatePrefix.size(), s.size() / 2, s.size() - 1}) {
    const StateRefusal why = f.OpenRefusal(s.substr(0, n), f.Binding());
    EXPECT_TRUE(why == StateRefusal::kMalformed || why == StateRefusal::kForged)
        << n << ": " << StateRefusalName(why);
  }
  // The whole state still opens: the cuts consumed nothing.
  EXPECT_TRUE(f.states.Open(s, f.Binding()).ok());
}

// Tests that an oversized state is refused before it is parsed.
TEST(RequestStateTest, OversizedStateIsRefused) {
  Fixture f;
  EXPECT_EQ(f.OpenRefusal(std::string(kRequestStatePrefix) + std::string(10000, 'A'), f.Binding()),
            StateRefusal::kMalformed);
}

// Tests that a state presented after its expiry is refused.
TEST(RequestStateTest, ExpiredStateIsRefused) {
  Fixture f;
  const std::string s = f.states.Seal(f.Claims());
  f.clock.Advance(std::chrono::minutes(5));
  EXPECT_EQ(f.OpenRefusal(s, f.Binding()), StateRefusal::kExpired);
}

// Tests that a state sealed for one agent is refused on another agent's retry.
TEST(RequestStateTest, StateOfAnotherAgentIsRefused) {
  Fixture f;
  const std::string s = f.states.Seal(f.Claims());
  RequestStateBinding b = f.Binding();
  b.agent_id = "agent-b";
  EXPECT_EQ(f.OpenRefusal(s, b), StateRefusal::kOtherAgent);
  // Refused, not consumed: its own agent still has its one retry.
  EXPECT_TRUE(f.states.Open(s, f.Binding()).ok());
}

// Tests that a state sealed in one run is refused in another run of the same agent.
TEST(RequestStateTest, StateOfAnotherRunIsRefused) {
  Fixture f;
  const std::string s = f.states.Seal(f.Claims());
  RequestStateBinding b = f.Binding();
  b.run_id = "run-2";
  EXPECT_EQ(f.OpenRefusal(s, b), StateRefusal::kOtherRun);
}

// Tests that a state sealed for one call is refused on a retry with other arguments or
// another tool (an approved state swapped onto a different call).
TEST(RequestStateTest, StateSwappedOntoOtherArgumentsIsRefused) {
  Fixture f;
  const std::string s = f.states.Seal(f.Claims());
  RequestStateBinding b = f.Binding();
  b.args_digest = ArgumentsDigest("send_email", json::object{{"to", "mallory@example.com"}});
  EXPECT_EQ(f.OpenRefusal(s, b), StateRefusal::kOtherArguments);
  b.args_digest = ArgumentsDigest("delete_all", json::object{{"to", "bob@example.com"}});
  EXPECT_EQ(f.OpenRefusal(s, b), StateRefusal::kOtherArguments);
}

// Tests that the arguments digest does not depend on key order (the same call as the
// client may re-serialise it) but does on every value.
TEST(RequestStateTest, ArgumentsDigestIsCanonical) {
  auto a = ParseJsonStrict(R"({"a":1,"b":{"x":[1,2],"y":"z"}})");
  auto b = ParseJsonStrict(R"({"b":{"y":"z","x":[1,2]},"a":1})");
  auto c = ParseJsonStrict(R"({"b":{"y":"z","x":[2,1]},"a":1})");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(ArgumentsDigest("t", a->get_object()), ArgumentsDigest("t", b->get_object()));
  EXPECT_NE(ArgumentsDigest("t", a->get_object()), ArgumentsDigest("t", c->get_object()));
  // Numbers by their value, as an approval binds them (ApprovalBinding.NumbersBindByValue).
  auto d = ParseJsonStrict(R"({"a":1.0,"b":{"x":[1,2.0],"y":"z"}})");
  auto e = ParseJsonStrict(R"({"a":1.5,"b":{"x":[1,2],"y":"z"}})");
  ASSERT_TRUE(d.ok() && e.ok());
  EXPECT_EQ(ArgumentsDigest("t", a->get_object()), ArgumentsDigest("t", d->get_object()));
  EXPECT_NE(ArgumentsDigest("t", a->get_object()), ArgumentsDigest("t", e->get_object()));
  EXPECT_NE(ArgumentsDigest("t", a->get_object()), ArgumentsDigest("u", a->get_object()));
}

// Tests that a full replay memory fails closed (refuses) instead of forgetting live nonces,
// and makes room once the states it holds have expired.
TEST(RequestStateTest, FullReplayMemoryRefusesUntilStatesExpire) {
  ManualClock clock(FromUnixMillis(1'800'000'000'000));
  RequestStates states(kKey, &clock, /*capacity=*/2);
  Fixture f;
  auto seal = [&] {
    RequestStateClaims c = f.Claims();
    c.expires_at = clock.Now() + std::chrono::minutes(1);
    return states.Seal(c);
  };
  ASSERT_TRUE(states.Open(seal(), f.Binding()).ok());
  ASSERT_TRUE(states.Open(seal(), f.Binding()).ok());
  const std::string third = seal();
  StateRefusal why = StateRefusal::kNone;
  auto r = states.Open(third, f.Binding(), &why);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(why, StateRefusal::kUnavailable);
  EXPECT_EQ(r.error().kind, ErrorKind::kUnavailable);
  clock.Advance(std::chrono::seconds(61));
  const std::string fourth = seal();
  EXPECT_TRUE(states.Open(fourth, f.Binding()).ok());
  EXPECT_EQ(states.remembered(), 1u);
}

// Tests that a state is never sealed to outlive kMaxRequestStateLifetime, whatever expiry
// the caller asks for.
TEST(RequestStateTest, LifetimeIsClamped) {
  Fixture f;
  RequestStateClaims c = f.Claims();
  c.expires_at = TimePoint::max();
  const std::string s = f.states.Seal(c);
  f.clock.Advance(std::chrono::duration_cast<std::chrono::milliseconds>(kMaxRequestStateLifetime));
  EXPECT_EQ(f.OpenRefusal(s, f.Binding()), StateRefusal::kExpired);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::core
