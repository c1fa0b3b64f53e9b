// The Guard: one decision path, failing closed whatever its store does.
#include "core/guard.h"
#include "core/memory_run_store.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "interlock/decision.h"
#include "interlock/outcome.h"

namespace interlock::core {
namespace INTERLOCK_TEST_NS {

std::shared_ptr<const policy::PolicySet> OnePolicy() {
  auto agent = std::make_shared<policy::AgentPolicy>();
  agent->id = "a";
  policy::ToolRule ping;
  ping.name = "ping";
  agent->allowed.emplace("ping", ping);
  auto set = std::make_shared<policy::PolicySet>();
  set->agents["a"] = agent;
  set->sha256 = std::string(64, 'a');
  return set;
}

ToolCall Ping() {
  ToolCall c;
  c.tool = "ping";
  return c;
}

// A store whose every decision fails with the given error, as a locked or full database
// would.
class FailingStore final : public RunStore {
 public:
  explicit FailingStore(Error e) : error_(std::move(e)) {}
  Result<RunInfo> CreateRun(std::string_view, std::string_view, TimePoint,
                            const RunWorkspace& = {}) override {
    return error_;
  }
  Result<RunInfo> GetRun(std::string_view) override { return error_; }
  Result<CallRecord> Decide(const DecideRequest&, const DecideFn&) override { return error_; }
  Status AddUsage(std::string_view, std::string_view, const Usage&) override { return error_; }

 private:
  Error error_;
};

// Tests that a store that cannot record gives a deny with STORE_UNAVAILABLE, never an
// allow, and that unknown or foreign runs are refused as invalid requests.
TEST(GuardTest, FailsClosedOnStoreErrors) {
  PolicySource source(OnePolicy());
  ManualClock clock;
  struct Case {
    Error error;
    Code code;
  };
  for (const Case& c : {Case{Error::Unavailable("database is locked"), Code::kStoreUnavailable},
                        Case{Error::Internal("disk I/O error"), Code::kStoreUnavailable},
                        Case{Error::NotFound("no run"), Code::kInvalidRequest},
                        Case{Error::Denied("another agent's run"), Code::kInvalidRequest}}) {
    FailingStore store(c.error);
    Guard guard(&source, &store, &clock, nullptr);
    GuardResponse r = guard.Decide("a", "a", "run", Ping());
    EXPECT_EQ(r.decision.verdict, Verdict::kDeny) << c.error.message;
    EXPECT_EQ(r.decision.code, c.code) << c.error.message;
    EXPECT_TRUE(r.call_id.empty());
    ASSERT_TRUE(r.error.has_value());
    EXPECT_EQ(*r.error, c.error.kind);
  }
}

// Counts the Guard's answers as the daemon's metrics do (DecisionObserver).
class CountingObserver final : public DecisionObserver {
 public:
  void Decided(std::string_view agent_id, const GuardResponse& r,
               std::chrono::nanoseconds took) override {
    seen.push_back(std::string(agent_id) + " " + std::string(CodeName(r.decision.code)) +
                   (r.error ? " error" : ""));
    EXPECT_GE(took.count(), 0);
  }
  std::vector<std::string> seen;
};

// Tests that the observer is told of every answer once, whichever way the call was asked
// (in line, asynchronously) and however it ended (allowed, denied, the store failing), so
// a door cannot leave its decisions out of the daemon's metrics.
TEST(GuardTest, ObserverIsToldOfEveryAnswerOnce) {
  PolicySource source(OnePolicy());
  ManualClock clock;
  MemoryRunStore store;
  ASSERT_TRUE(store.CreateRun("a", "r", clock.Now()).ok());
  CountingObserver seen;
  Guard guard(&source, &store, &clock, nullptr);
  guard.SetDecisionObserver(&seen);
  EXPECT_EQ(guard.Decide("a", "a", "r", Ping()).decision.code, Code::kAllowed);
  ToolCall other = Ping();
  other.tool = "rm";
  bool answered = false;
  guard.DecideAsync("a", "a", "r", std::move(other), [&](GuardResponse&& g) {
    answered = true;
    EXPECT_EQ(g.decision.code, Code::kToolNotAllowed);
  });
  EXPECT_TRUE(answered);
  FailingStore down(Error::Unavailable("database is locked"));
  Guard failing(&source, &down, &clock, nullptr);
  failing.SetDecisionObserver(&seen);
  EXPECT_EQ(failing.Decide("a", "a", "r", Ping()).decision.code, Code::kStoreUnavailable);
  EXPECT_EQ(seen.seen, (std::vector<std::string>{"a ALLOWED", "a TOOL_NOT_ALLOWED",
                                                 "a STORE_UNAVAILABLE error"}));
}

// Tests that the decision names the agent even when no policy knows it.
TEST(GuardTest, UnknownAgentIsNamed) {
  PolicySource source(OnePolicy());
  ManualClock clock;
  MemoryRunStore store;
  ASSERT_TRUE(store.CreateRun("ghost", "r", clock.Now()).ok());
  Guard guard(&source, &store, &clock, nullptr);
  GuardResponse r = guard.Decide("ghost", "ghost", "r", Ping());
  EXPECT_EQ(r.decision.code, Code::kUnknownAgent);
  EXPECT_EQ(r.decision.agent_id, "ghost");
}

// Tests that a reload between two calls applies to the second call only, each decided on
// one whole snapshot.
TEST(GuardTest, ReloadSwapsSnapshotAtomically) {
  PolicySource source(OnePolicy());
  ManualClock clock;
  MemoryRunStore store;
  ASSERT_TRUE(store.CreateRun("a", "r", clock.Now()).ok());
  Guard guard(&source, &store, &clock, nullptr);
  EXPECT_EQ(guard.Decide("a", "a", "r", Ping()).decision.code, Code::kAllowed);
  auto blocked = std::make_shared<policy::PolicySet>(*OnePolicy());
  auto agent = std::make_shared<policy::AgentPolicy>(*blocked->agents["a"]);
  agent->allowed.clear();
  agent->blocked.emplace("ping", policy::Location{});
  blocked->agents["a"] = agent;
  source.Replace(blocked);
  EXPECT_EQ(guard.Decide("a", "a", "r", Ping()).decision.code, Code::kToolBlocked);
}

// Tests W3C traceparent validation: only well-formed version-00 values with non-zero ids
// are recorded.
TEST(GuardTest, TraceparentValidation) {
  EXPECT_TRUE(ValidTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  EXPECT_FALSE(ValidTraceparent(""));
  EXPECT_FALSE(ValidTraceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01"));
  EXPECT_FALSE(ValidTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"));
  EXPECT_FALSE(ValidTraceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"));
  EXPECT_FALSE(ValidTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  EXPECT_FALSE(ValidTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\n"));
  EXPECT_FALSE(ValidTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736x00f067aa0ba902b7-01"));
}

// Tests that a valid traceparent reaches the store's request and an invalid one does not.
TEST(GuardTest, TraceparentReachesTheStore) {
  PolicySource source(OnePolicy());
  ManualClock clock;
  class Capture final : public RunStore {
   public:
    std::string seen = "unset";
    Result<RunInfo> CreateRun(std::string_view, std::string_view, TimePoint,
                              const RunWorkspace& = {}) override {
      return Error::Internal("unused");
    }
    Result<RunInfo> GetRun(std::string_view) override { return Error::Internal("unused"); }
    Result<CallRecord> Decide(const DecideRequest& r, const DecideFn&) override {
      seen = r.traceparent;
      return Error::Unavailable("stop here");
    }
    Status AddUsage(std::string_view, std::string_view, const Usage&) override {
      return Error::Internal("unused");
    }
  } store;
  Guard guard(&source, &store, &clock, nullptr);
  const std::string tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  guard.DecideAsync(
      "a", "a", "r", Ping(), [](GuardResponse) {}, tp);
  EXPECT_EQ(store.seen, tp);
  guard.DecideAsync(
      "a", "a", "r", Ping(), [](GuardResponse) {}, "garbage");
  EXPECT_EQ(store.seen, "");
}

// Tests that the in-memory store (`interlock decide`, the hook) still finds every kill
// switch scope now that it skips the lookup when none is engaged, and allows again once
// each is released: a skipped lookup would let a killed agent's calls through.
TEST(GuardTest, MemoryStoreKillSwitchesStillStopCalls) {
  PolicySource source(OnePolicy());
  ManualClock clock;
  MemoryRunStore store;
  ASSERT_TRUE(store.CreateRun("a", "r", clock.Now()).ok());
  Guard guard(&source, &store, &clock, nullptr);
  EXPECT_EQ(guard.Decide("a", "a", "r", Ping()).decision.code, Code::kAllowed);
  for (const char* scope : {"global", "agent", "run"}) {
    const std::string target = std::string(scope) == "agent" ? "a" : "r";
    store.SetKill(scope, target, true, "incident");
    GuardResponse r = guard.Decide("a", "a", "r", Ping());
    EXPECT_EQ(r.decision.verdict, Verdict::kDeny) << scope;
    EXPECT_EQ(r.decision.code, Code::kKillSwitch) << scope;
    store.SetKill(scope, target, false, "");
    EXPECT_EQ(guard.Decide("a", "a", "r", Ping()).decision.code, Code::kAllowed) << scope;
  }
}

// Tests that the in-line path (RunStore::DecideInto, which may move the request's strings
// into the record) leaves the request whole when the store refuses: a call on a run the
// store does not have, or on another agent's run, is denied and still names its tool and
// agent (a moved-from name would be an empty tool in the answer and the audit of it).
TEST(GuardTest, InlineStoreRefusalStillNamesToolAndAgent) {
  PolicySource source(OnePolicy());
  ManualClock clock;
  MemoryRunStore store;
  ASSERT_TRUE(store.CreateRun("other", "theirs", clock.Now()).ok());
  Guard guard(&source, &store, &clock, nullptr);
  for (const char* run : {"missing", "theirs"}) {
    GuardResponse r = guard.Decide("a", "a", run, Ping());
    EXPECT_EQ(r.decision.verdict, Verdict::kDeny) << run;
    EXPECT_EQ(r.decision.code, Code::kInvalidRequest) << run;
    EXPECT_EQ(r.decision.tool, "ping") << run;
    EXPECT_EQ(r.decision.agent_id, "a") << run;
    EXPECT_TRUE(r.call_id.empty()) << run;
  }
}

// Tests that the record the memory store writes in place for the Guard (DecideInto, the
// request's strings moved into it) is the record Decide returns for the same call: same
// run, agent, principal, policy digest, tool, decision and state. A field left empty or
// moved from would change what a notifier or the audit of a front door reads.
TEST(GuardTest, InPlaceRecordMatchesDecide) {
  ManualClock clock;
  auto set = OnePolicy();
  MemoryRunStore a, b;
  ASSERT_TRUE(a.CreateRun("a", "r", clock.Now()).ok());
  ASSERT_TRUE(b.CreateRun("a", "r", clock.Now()).ok());
  auto make = [&] {
    DecideRequest rq;
    rq.run_id = "r";
    rq.agent_id = "a";
    rq.principal = "svc-principal-with-a-long-name";
    rq.policy_sha256 = set->sha256;
    rq.now = clock.Now();
    rq.call = Ping();
    rq.call.usage.tokens = 7;
    return rq;
  };
  const DecideFn fn = [&](const ToolCall& c, const RunState& state,
                          const std::optional<engine::KillSwitch>& kill,
                          const std::optional<engine::AgentUsage>& usage) {
    return engine::Evaluate(set->Find("a"), state, c,
                            engine::EvalContext{clock.Now(), kill, usage});
  };
  for (int i = 0; i < 3; ++i) {
    Result<CallRecord> want = a.Decide(make(), fn);
    ASSERT_TRUE(want.ok());
    CallRecord got;
    ASSERT_TRUE(b.DecideInto(make(), fn, &got).ok());
    EXPECT_EQ(got.call_id, want->call_id);
    EXPECT_EQ(got.run_id, want->run_id);
    EXPECT_EQ(got.agent_id, want->agent_id);
    EXPECT_EQ(got.principal, want->principal);
    EXPECT_EQ(got.policy_sha256, want->policy_sha256);
    EXPECT_EQ(got.call.tool, want->call.tool);
    EXPECT_EQ(got.call.usage.tokens, want->call.usage.tokens);
    EXPECT_EQ(DecisionToJson(got.decision), DecisionToJson(want->decision));
    EXPECT_EQ(got.state_after.steps, want->state_after.steps);
    EXPECT_EQ(got.state_after.tokens, want->state_after.tokens);
    EXPECT_EQ(got.state_after.records, want->state_after.records);
  }
}

// A stream of any length in bounded memory: the store keeps the newest calls only, and a
// result for one it no longer keeps is refused (kNotFound), never applied to another.
TEST(GuardTest, MemoryStoreKeepsOnlyTheNewestCallsAndRefusesResultsForOlderOnes) {
  PolicySource source(OnePolicy());
  ManualClock clock;
  MemoryRunStore store(/*keep_calls=*/2);
  ASSERT_TRUE(store.CreateRun("a", "r", clock.Now()).ok());
  Guard guard(&source, &store, &clock, nullptr);
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(guard.Decide("a", "a", "r", Ping()).call_id);
  EXPECT_EQ(ids, (std::vector<std::string>{"call-1", "call-2", "call-3"}));
  const CallResult ok;
  EXPECT_EQ(store.RecordResult("call-1", "a", "a", ok, clock.Now()).error().kind,
            ErrorKind::kNotFound);
  EXPECT_TRUE(store.RecordResult("call-2", "a", "a", ok, clock.Now()).ok());
  EXPECT_TRUE(store.RecordResult("call-3", "a", "a", ok, clock.Now()).ok());
  EXPECT_EQ(store.RecordResult("call-4", "a", "a", ok, clock.Now()).error().kind,
            ErrorKind::kNotFound);
  EXPECT_EQ(store.RecordResult("call-3", "a", "a", ok, clock.Now()).error().kind,
            ErrorKind::kAlreadyExists);
}

// A MemoryRunStore seen through a store that, like SQLite and PostgreSQL today, does not
// keep a run's workflow state and labels between calls.
class ForgetfulStore final : public RunStore {
 public:
  Result<RunInfo> CreateRun(std::string_view a, std::string_view r, TimePoint t,
                            const RunWorkspace& w = {}) override {
    return inner_.CreateRun(a, r, t, w);
  }
  Result<RunInfo> GetRun(std::string_view r) override { return inner_.GetRun(r); }
  Result<CallRecord> Decide(const DecideRequest& rq, const DecideFn& d) override {
    return inner_.Decide(rq, d);
  }
  Status AddUsage(std::string_view r, std::string_view a, const Usage& u) override {
    return inner_.AddUsage(r, a, u);
  }

 private:
  MemoryRunStore inner_;
};

// Tests that a policy with flow rules is never decided by a store that forgets the labels
// a run has seen: every call would look like the run's first, and a flow (private data,
// then untrusted content, then send) would never fire. Denied STORE_UNAVAILABLE there,
// decided normally by a store that keeps the state.
TEST(GuardTest, SequenceRulesAreRefusedByAStoreThatForgetsHistory) {
  auto set = std::make_shared<policy::PolicySet>(*OnePolicy());
  auto agent = std::make_shared<policy::AgentPolicy>(*set->agents.at("a"));
  policy::FlowRule flow;
  flow.name = "no-exfiltration";
  flow.from = {"private_data"};
  flow.to = {"external_communication"};
  agent->flows.push_back(flow);
  set->agents["a"] = agent;
  PolicySource source(set);
  ManualClock clock;

  ForgetfulStore forgetful;
  ASSERT_TRUE(forgetful.CreateRun("a", "r", clock.Now()).ok());
  Guard refusing(&source, &forgetful, &clock, nullptr);
  GuardResponse r = refusing.Decide("a", "a", "r", Ping());
  EXPECT_EQ(r.decision.verdict, Verdict::kDeny);
  EXPECT_EQ(r.decision.code, Code::kStoreUnavailable);
  EXPECT_EQ(r.decision.rule, "store.sequence_state");

  MemoryRunStore keeping;
  ASSERT_TRUE(keeping.CreateRun("a", "r", clock.Now()).ok());
  Guard deciding(&source, &keeping, &clock, nullptr);
  EXPECT_EQ(deciding.Decide("a", "a", "r", Ping()).decision.code, Code::kAllowed);
}

// Tests that the Guard's answers carry their outcome: a decided call its verdict's kind,
// an unknown run an error of cause kNotFound.
TEST(OutcomeTest, GuardResponsesCarryTheirOutcome) {
  PolicySource source(OnePolicy());
  ManualClock clock;
  MemoryRunStore store;
  ASSERT_TRUE(store.CreateRun("a", "r", clock.Now()).ok());
  Guard guard(&source, &store, &clock, nullptr);
  ToolCall call = Ping();
  EXPECT_EQ(guard.Decide("a", "a", "r", call).outcome(), Outcome{OutcomeKind::kAllow});
  call.tool = "rm";
  EXPECT_EQ(guard.Decide("a", "a", "r", call).outcome(), Outcome{OutcomeKind::kDeny});
  EXPECT_EQ(guard.Decide("a", "a", "no-such-run", call).outcome(),
            (Outcome{OutcomeKind::kError, ErrorKind::kNotFound}));
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::core
