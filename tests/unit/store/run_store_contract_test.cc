// One contract for every RunStore backend (docs/design.md#state-port): the rules run in
// the core (core::DecideInTxn), so every backend must give the same answers. Typed over
// MemoryRunStore, the SQLite store and the PostgreSQL store (a private cluster per test
// binary, tests/support/pg_cluster.h; a fresh database per test).
#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/ports/run_store.h"
#include "policy/policy.h"
#include "run_store_backends.h"
#include "temp_dir.h"

namespace interlock {
// A namespace of this file's own rather than INTERLOCK_TEST_NS: the typed tests' names carry
// their backend's type, which reads the same in every build this way.
namespace run_store_contract_test {

namespace fs = std::filesystem;
using core::CallRecord;
using core::DecideRequest;
using core::RunStore;

TimePoint T0() { return testing::RunStoreBackendNow(); }

using ::interlock::testing::TempDir;

// --- backends ---------------------------------------------------------------------------
// Named here so that the typed tests print the names they always printed.

struct MemoryBackend : testing::MemoryRunStoreBackend {
  using MemoryRunStoreBackend::MemoryRunStoreBackend;
};
struct SqliteBackend : testing::SqliteRunStoreBackend<false> {
  using SqliteRunStoreBackend::SqliteRunStoreBackend;
};
struct SqliteCallerBackend : testing::SqliteRunStoreBackend<true> {
  using SqliteRunStoreBackend::SqliteRunStoreBackend;
};
struct PostgresBackend : testing::PostgresRunStoreBackend {
  using PostgresRunStoreBackend::PostgresRunStoreBackend;
};

template <class B>
class RunStoreContract : public ::testing::Test {
 protected:
  RunStoreContract() : backend_(dir_) {}
  RunStore& store() { return backend_.get(); }

  DecideRequest Request(const std::string& run_id, const std::string& agent, int64_t at_ms = 0) {
    DecideRequest rq;
    rq.run_id = run_id;
    rq.agent_id = agent;
    rq.principal = agent;
    rq.policy_sha256 = "sha";
    rq.now = T0() + std::chrono::milliseconds(at_ms);
    rq.call.tool = "read";
    return rq;
  }

  // An engine step that must never run: it sets *called if it does.
  static core::DecideFn Unreached(bool* called) {
    return [called](const ToolCall&, const RunState&, const std::optional<engine::KillSwitch>&,
                    const std::optional<engine::AgentUsage>&) {
      *called = true;
      return engine::Evaluation{};
    };
  }

  // An engine step that allows and records what it saw.
  core::DecideFn Allow(RunState* seen = nullptr,
                       std::optional<engine::KillSwitch>* kill_seen = nullptr) {
    return [seen, kill_seen](const ToolCall& call, const RunState& state,
                             const std::optional<engine::KillSwitch>& kill,
                             const std::optional<engine::AgentUsage>&) {
      if (seen != nullptr) *seen = state;
      if (kill_seen != nullptr) *kill_seen = kill;
      engine::Evaluation ev;
      ev.decision.verdict = Verdict::kAllow;
      ev.decision.code = Code::kAllowed;
      ev.decision.tool = call.tool;
      ev.effects.records = 1;
      ev.effects.consume_records = true;
      return ev;
    };
  }

  TempDir dir_;
  B backend_;
};

using Backends =
    ::testing::Types<MemoryBackend, SqliteBackend, SqliteCallerBackend, PostgresBackend>;
TYPED_TEST_SUITE(RunStoreContract, Backends);

TYPED_TEST(RunStoreContract, UnknownRunIsNotFoundAndDecidesNothing) {
  bool called = false;
  Result<CallRecord> r = this->store().Decide(this->Request("nope", "a"), this->Unreached(&called));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kNotFound);
  EXPECT_FALSE(called);
}

TYPED_TEST(RunStoreContract, ReusedRunIdIsRefused) {
  ASSERT_TRUE(this->store().CreateRun("a", "r1", T0()).ok());
  Result<core::RunInfo> again = this->store().CreateRun("b", "r1", T0());
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, ErrorKind::kAlreadyExists);
  EXPECT_EQ(this->store().GetRun("r1")->agent_id, "a");
}

TYPED_TEST(RunStoreContract, ForeignAgentCannotSpendAnotherAgentsRun) {
  ASSERT_TRUE(this->store().CreateRun("a", "r1", T0()).ok());
  Result<CallRecord> r = this->store().Decide(this->Request("r1", "b"), this->Allow());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kPermissionDenied);
  EXPECT_EQ(this->store().GetRun("r1")->state.steps, 0u);
  Status u = this->store().AddUsage("r1", "b", Usage{10, 0});
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.error().kind, ErrorKind::kPermissionDenied);
}

TYPED_TEST(RunStoreContract, ReportedUsageAndElapsedReachTheEngineBeforeItDecides) {
  ASSERT_TRUE(this->store().CreateRun("a", "r1", T0()).ok());
  ASSERT_TRUE(this->store().AddUsage("r1", "a", Usage{5, 7}).ok());
  DecideRequest rq = this->Request("r1", "a", /*at_ms=*/1500);
  rq.call.usage = Usage{10, 20};
  RunState seen;
  Result<CallRecord> r = this->store().Decide(rq, this->Allow(&seen));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(seen.tokens, 15u);
  EXPECT_EQ(seen.cost_micros, 27);
  EXPECT_EQ(seen.elapsed_ms, 1500);
  EXPECT_EQ(seen.steps, 0u);
  EXPECT_EQ(r->state_after.steps, 1u);
  EXPECT_EQ(r->state_after.records.at("read"), 1u);
  EXPECT_EQ(r->decision.code, Code::kAllowed);
  EXPECT_FALSE(r->call_id.empty());
  const core::RunInfo info = *this->store().GetRun("r1");
  EXPECT_EQ(info.state.steps, 1u);
  EXPECT_EQ(info.state.tokens, 15u);
}

TYPED_TEST(RunStoreContract, KillSwitchReachesTheEngineMostGeneralFirst) {
  ASSERT_TRUE(this->store().CreateRun("a", "r1", T0()).ok());
  std::optional<engine::KillSwitch> kill;
  ASSERT_TRUE(this->store().Decide(this->Request("r1", "a"), this->Allow(nullptr, &kill)).ok());
  EXPECT_FALSE(kill.has_value());
  this->backend_.Kill("run", "r1", "run stop");
  ASSERT_TRUE(this->store().Decide(this->Request("r1", "a"), this->Allow(nullptr, &kill)).ok());
  ASSERT_TRUE(kill.has_value());
  EXPECT_EQ(kill->scope, "run");
  this->backend_.Kill("agent", "a", "agent stop");
  ASSERT_TRUE(this->store().Decide(this->Request("r1", "a"), this->Allow(nullptr, &kill)).ok());
  EXPECT_EQ(kill->scope, "agent");
  this->backend_.Kill("global", "", "all stop");
  ASSERT_TRUE(this->store().Decide(this->Request("r1", "a"), this->Allow(nullptr, &kill)).ok());
  EXPECT_EQ(kill->scope, "global");
  EXPECT_EQ(kill->reason, "all stop");
}

TYPED_TEST(RunStoreContract, HaltStaysOnTheRun) {
  ASSERT_TRUE(this->store().CreateRun("a", "r1", T0()).ok());
  auto halt = [](const ToolCall&, const RunState&, const std::optional<engine::KillSwitch>&,
                 const std::optional<engine::AgentUsage>&) {
    engine::Evaluation ev;
    ev.decision = DenyDecision(Code::kRunHalted, "halted");
    ev.effects.halt = true;
    ev.effects.halt_reason = "too much";
    return ev;
  };
  ASSERT_TRUE(this->store().Decide(this->Request("r1", "a"), halt).ok());
  RunState seen;
  ASSERT_TRUE(this->store().Decide(this->Request("r1", "a"), this->Allow(&seen)).ok());
  EXPECT_TRUE(seen.halted);
  EXPECT_EQ(seen.halt_reason, "too much");
}

TYPED_TEST(RunStoreContract, ConcurrentDecisionsNeverLoseOrDoubleSpendAStep) {
  ASSERT_TRUE(this->store().CreateRun("a", "r1", T0()).ok());
  constexpr int kThreads = 8;
  constexpr int kEach = 40;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        if (this->store().Decide(this->Request("r1", "a"), this->Allow()).ok()) ++ok;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(ok.load(), kThreads * kEach);
  const core::RunInfo info = *this->store().GetRun("r1");
  EXPECT_EQ(info.state.steps, static_cast<uint64_t>(kThreads * kEach));
  EXPECT_EQ(info.state.records.at("read"), static_cast<uint64_t>(kThreads * kEach));
}

TYPED_TEST(RunStoreContract, StateSurvivesReopen) {
  if (!TypeParam::kDurable) GTEST_SKIP() << "not a durable backend";
  ASSERT_TRUE(this->store().CreateRun("a", "r1", T0()).ok());
  DecideRequest rq = this->Request("r1", "a");
  rq.call.usage = Usage{3, 4};
  ASSERT_TRUE(this->store().Decide(rq, this->Allow()).ok());
  ASSERT_TRUE(this->backend_.Reopen());
  const core::RunInfo info = *this->store().GetRun("r1");
  EXPECT_EQ(info.agent_id, "a");
  EXPECT_EQ(info.state.steps, 1u);
  EXPECT_EQ(info.state.tokens, 3u);
  EXPECT_EQ(info.state.records.at("read"), 1u);
  Result<CallRecord> r = this->store().Decide(this->Request("r1", "b"), this->Allow());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kPermissionDenied);
}

TYPED_TEST(RunStoreContract, ResultAddsItsUsageToTheRunOnce) {
  ASSERT_TRUE(this->store().CreateRun("a", "r1", T0()).ok());
  Result<CallRecord> c = this->store().Decide(this->Request("r1", "a"), this->Allow());
  ASSERT_TRUE(c.ok());
  core::CallResult res;
  res.output_json = "{\"x\":1}";
  res.usage = Usage{7, 9};
  ASSERT_TRUE(this->backend_.RecordResult(c->call_id, "a", res).ok());
  EXPECT_EQ(this->store().GetRun("r1")->state.tokens, 7u);
  EXPECT_EQ(this->store().GetRun("r1")->state.cost_micros, 9);
  Status again = this->backend_.RecordResult(c->call_id, "a", res);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, ErrorKind::kAlreadyExists);
  EXPECT_EQ(this->store().GetRun("r1")->state.tokens, 7u);
}

// Tests that a result echoing a redacted argument (a login answering with the password) is
// stored masked when the values come with it and hash to the recorded argument, and
// withheld (no output, no error) when they are missing or are not the call's: one rule in
// the core, the same on every backend that keeps results.
TYPED_TEST(RunStoreContract, ResultEchoingRedactedArgumentIsStoredMaskedOrWithheld) {
  if constexpr (!TypeParam::kDurable) {
    GTEST_SKIP() << "keeps no results";
  } else {
    ASSERT_TRUE(this->store().CreateRun("a", "r1", T0()).ok());
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) {
      DecideRequest rq = this->Request("r1", "a");
      rq.call.args = boost::json::object{{"user", "ann"}, {"password", "hunter2-pw"}};
      rq.redact_fields = {"password"};
      Result<CallRecord> c = this->store().Decide(rq, this->Allow());
      ASSERT_TRUE(c.ok()) << c.error().message;
      ids.push_back(c->call_id);
    }
    core::CallResult res;
    res.output_json = R"({"text":"logged in with hunter2-pw"})";
    res.error = "hunter2-pw was used";
    const std::optional<boost::json::object> given[] = {
        boost::json::object{{"password", "hunter2-pw"}}, std::nullopt,
        boost::json::object{{"password", "not-it"}}};
    for (int i = 0; i < 3; ++i) {
      res.redacted_args = given[i];
      ASSERT_TRUE(this->backend_.RecordResult(ids[i], "a", res).ok());
      auto stored = this->backend_.store->GetCall(ids[i]);
      ASSERT_TRUE(stored.ok() && stored->result) << i;
      const std::string text = stored->result->output_json + " " + stored->result->error;
      EXPECT_EQ(text.find("hunter2"), std::string::npos) << i << ": " << text;
      if (i == 0) {
        EXPECT_EQ(text, R"({"text":"logged in with [REDACTED]"} [REDACTED] was used)");
      } else {
        EXPECT_EQ(text, " ") << i;  // withheld
      }
    }
  }
}

TYPED_TEST(RunStoreContract, ForeignAgentCannotReportAResultForAnotherAgentsCall) {
  ASSERT_TRUE(this->store().CreateRun("a", "r1", T0()).ok());
  Result<CallRecord> c = this->store().Decide(this->Request("r1", "a"), this->Allow());
  ASSERT_TRUE(c.ok());
  core::CallResult res;
  res.usage = Usage{100, 0};
  Status s = this->backend_.RecordResult(c->call_id, "b", res);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind, ErrorKind::kPermissionDenied);
  EXPECT_EQ(this->store().GetRun("r1")->state.tokens, 0u);
  Status unknown = this->backend_.RecordResult("call_nope", "a", res);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().kind, ErrorKind::kNotFound);
}

// Tests that a result reported for a denied call (the tool ran anyway: a client that
// ignored the deny) is kept (with one "incident" record where the store keeps an audit
// trail: SqliteStoreTest.RunLifecycle) and counts no usage; a resent report is refused.
TYPED_TEST(RunStoreContract, ResultOfADeniedCallIsRecordedOnceAsAnIncident) {
  ASSERT_TRUE(this->store().CreateRun("a", "r1", T0()).ok());
  auto deny = [](const ToolCall&, const RunState&, const std::optional<engine::KillSwitch>&,
                 const std::optional<engine::AgentUsage>&) {
    engine::Evaluation ev;
    ev.decision = DenyDecision(Code::kToolNotAllowed, "no");
    return ev;
  };
  Result<CallRecord> c = this->store().Decide(this->Request("r1", "a"), deny);
  ASSERT_TRUE(c.ok());
  core::CallResult res;
  res.usage = Usage{100, 0};
  ASSERT_TRUE(this->backend_.RecordResult(c->call_id, "a", res).ok());
  Status again = this->backend_.RecordResult(c->call_id, "a", res);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, ErrorKind::kAlreadyExists);
  EXPECT_EQ(this->store().GetRun("r1")->state.tokens, 0u);
}

TYPED_TEST(RunStoreContract, EndedRunDecidesNothingMore) {
  ASSERT_TRUE(this->store().CreateRun("a", "r1", T0()).ok());
  Status foreign = this->backend_.EndRun("r1", "b");
  ASSERT_FALSE(foreign.ok());
  EXPECT_EQ(foreign.error().kind, ErrorKind::kPermissionDenied);
  EXPECT_FALSE(this->store().GetRun("r1")->ended);
  ASSERT_TRUE(this->backend_.EndRun("r1", "a").ok());
  ASSERT_TRUE(this->backend_.EndRun("r1", "a").ok());  // ending twice is a no-op
  EXPECT_TRUE(this->store().GetRun("r1")->ended);
  bool called = false;
  Result<CallRecord> r = this->store().Decide(this->Request("r1", "a"), this->Unreached(&called));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kInvalidArgument);
  EXPECT_FALSE(called);
  Status unknown = this->backend_.EndRun("nope", "a");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().kind, ErrorKind::kNotFound);
  if (this->backend_.Reopen()) {
    EXPECT_TRUE(this->store().GetRun("r1")->ended);
  }
}

// Tests that many agents' threads racing for the last steps of a budget get exactly the
// cap allowed: no two decisions both spend the last step (the row is locked or
// version-checked inside the backend's transaction).
TYPED_TEST(RunStoreContract, BudgetRaceAllowsExactlyTheCap) {
  ASSERT_TRUE(this->store().CreateRun("a", "r1", T0()).ok());
  constexpr uint64_t kCap = 50;
  constexpr int kThreads = 16;
  constexpr int kEach = 10;
  const core::DecideFn capped = testing::AllowFewerStepsThan(kCap);
  std::atomic<int> allowed{0}, denied{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        Result<CallRecord> r = this->store().Decide(this->Request("r1", "a"), capped);
        if (!r.ok()) continue;
        if (r->decision.verdict == Verdict::kAllow) {
          ++allowed;
        } else {
          ++denied;
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(allowed.load(), static_cast<int>(kCap));
  EXPECT_EQ(denied.load(), kThreads * kEach - static_cast<int>(kCap));
}

// --- Child runs (docs/governance.md#child-runs): a child's line, its parent's policy and
// budget, kept and locked by every backend in the child's decision's transaction.

// Agent "a" may call "read" only, and its runs take at most `max_steps` steps.
std::shared_ptr<const policy::PolicySet> ReadOnlyPolicies(uint64_t max_steps = 100) {
  auto agent = std::make_shared<policy::AgentPolicy>();
  agent->id = "a";
  policy::ToolRule read;
  read.name = "read";
  agent->allowed.emplace("read", read);
  agent->execution.max_steps = max_steps;
  auto set = std::make_shared<policy::PolicySet>();
  set->agents["a"] = agent;
  set->sha256 = std::string(64, 'a');
  return set;
}

template <class B>
class ChildRuns : public RunStoreContract<B> {
 protected:
  Result<core::RunInfo> Child(const std::string& id, const std::string& parent,
                              core::ChildRunLimits limits = {}) {
    core::ChildRunRequest rq;
    rq.agent_id = "a";
    rq.run_id = id;
    rq.parent_run_id = parent;
    rq.role = "reviewer";
    rq.limits = limits;
    rq.now = T0();
    return this->store().CreateChildRun(rq);
  }
  DecideRequest InLine(const std::string& run_id, const std::string& tool,
                       uint64_t max_steps = 100) {
    DecideRequest rq = this->Request(run_id, "a");
    rq.call.tool = tool;
    rq.policies = ReadOnlyPolicies(max_steps);
    rq.keeps_sequence_state = true;
    return rq;
  }
};
TYPED_TEST_SUITE(ChildRuns, Backends);

// Tests that a child run keeps its parent, role and depth, across a reopen.
TYPED_TEST(ChildRuns, ChildKeepsItsLine) {
  ASSERT_TRUE(this->store().CreateRun("a", "p", T0()).ok());
  Result<core::RunInfo> c = this->Child("c", "p");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->depth, 1);
  this->backend_.Reopen();
  Result<core::RunInfo> got = this->store().GetRun("c");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->parent_run_id, "p");
  EXPECT_EQ(got->role, "reviewer");
  EXPECT_EQ(got->depth, 1);
  EXPECT_EQ(this->store().GetRun("p")->parent_run_id, "");
  Result<core::RunInfo> again = this->Child("c", "p");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, ErrorKind::kAlreadyExists);
}

// Tests that a child's call is denied when its parent's policy denies it, though the
// child's own step allows it, and that an allowed call is a step of both runs.
TYPED_TEST(ChildRuns, ParentPolicyBindsTheChildAndItsStepIsTheParents) {
  ASSERT_TRUE(this->store().CreateRun("a", "p", T0()).ok());
  ASSERT_TRUE(this->Child("c", "p").ok());
  Result<CallRecord> w = this->store().Decide(this->InLine("c", "write"), this->Allow());
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(w->decision.verdict, Verdict::kDeny);
  EXPECT_EQ(w->decision.code, Code::kToolNotAllowed);
  Result<CallRecord> r = this->store().Decide(this->InLine("c", "read"), this->Allow());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->decision.verdict, Verdict::kAllow);
  this->backend_.Reopen();
  EXPECT_EQ(this->store().GetRun("c")->state.steps, 2u);
  EXPECT_EQ(this->store().GetRun("p")->state.steps, 2u);
}

// Tests that a kill switch on the parent run covers the child's calls, and that a child
// ends with its parent.
TYPED_TEST(ChildRuns, ParentKillAndEndStopTheChild) {
  ASSERT_TRUE(this->store().CreateRun("a", "p", T0()).ok());
  ASSERT_TRUE(this->Child("c", "p").ok());
  this->backend_.Kill("run", "p", "stop");
  Result<CallRecord> k = this->store().Decide(this->InLine("c", "read"), this->Allow());
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->decision.verdict, Verdict::kDeny);
  EXPECT_EQ(k->decision.code, Code::kKillSwitch);
  ASSERT_TRUE(this->backend_.EndRun("p", "a").ok());
  Result<CallRecord> e = this->store().Decide(this->InLine("c", "read"), this->Allow());
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().kind, ErrorKind::kInvalidArgument);
  EXPECT_FALSE(this->Child("c2", "p").ok());
}

// Tests that the live children of a run are bounded, an ended one freeing its place.
TYPED_TEST(ChildRuns, LiveChildrenAreBounded) {
  ASSERT_TRUE(this->store().CreateRun("a", "p", T0()).ok());
  const core::ChildRunLimits limits{.max_depth = 1, .max_live_children = 1};
  ASSERT_TRUE(this->Child("c1", "p", limits).ok());
  EXPECT_FALSE(this->Child("c2", "p", limits).ok());
  EXPECT_FALSE(this->Child("g", "c1", limits).ok());  // depth 2
  ASSERT_TRUE(this->backend_.EndRun("c1", "a").ok());
  EXPECT_TRUE(this->Child("c2", "p", limits).ok());
}

// Tests that sibling children's threads racing for their parent's last steps get exactly
// its cap allowed between them: the parent's row is locked with each child's.
TYPED_TEST(ChildRuns, ParentBudgetRaceAllowsExactlyTheCap) {
  ASSERT_TRUE(this->store().CreateRun("a", "p", T0()).ok());
  for (const char* c : {"c1", "c2", "c3"}) ASSERT_TRUE(this->Child(c, "p").ok());
  constexpr uint64_t kCap = 12;
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (const char* run : {"c1", "c2", "c3"}) {
    threads.emplace_back([&, run] {
      for (int i = 0; i < 8; ++i) {
        Result<CallRecord> r = this->store().Decide(this->InLine(run, "read", kCap), this->Allow());
        if (r.ok() && r->decision.verdict == Verdict::kAllow) ++allowed;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(allowed.load(), static_cast<int>(kCap));
}

// --- Idempotency-Key (docs/api.md#idempotency): kept in the store, checked in the
// transaction that counts the step, for every backend.

template <class B>
class Idempotency : public RunStoreContract<B> {
 protected:
  DecideRequest Keyed(const std::string& run_id, const std::string& key,
                      const std::string& hash = "h1") {
    DecideRequest rq = this->Request(run_id, "a");
    rq.idempotency = core::IdempotencyKey{key, hash};
    return rq;
  }
};
TYPED_TEST_SUITE(Idempotency, Backends);

TYPED_TEST(Idempotency, RetryAfterDroppedConnectionCountsOneStep) {
  ASSERT_TRUE(this->store().CreateRun("a", "r1", T0()).ok());
  Result<CallRecord> first = this->store().Decide(this->Keyed("r1", "k1"), this->Allow());
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_FALSE(first->replayed);
  Result<CallRecord> retry = this->store().Decide(this->Keyed("r1", "k1"), this->Allow());
  ASSERT_TRUE(retry.ok()) << retry.error().message;
  EXPECT_TRUE(retry->replayed);
  EXPECT_EQ(retry->call_id, first->call_id);
  EXPECT_EQ(retry->decision.verdict, first->decision.verdict);
  EXPECT_EQ(retry->decision.code, first->decision.code);
  const core::RunInfo info = *this->store().GetRun("r1");
  EXPECT_EQ(info.state.steps, 1u);
  EXPECT_EQ(info.state.records.at("read"), 1u);
  if (this->backend_.Reopen()) {  // the key is in the store, not in memory
    Result<CallRecord> later = this->store().Decide(this->Keyed("r1", "k1"), this->Allow());
    ASSERT_TRUE(later.ok()) << later.error().message;
    EXPECT_EQ(later->call_id, first->call_id);
    EXPECT_EQ(this->store().GetRun("r1")->state.steps, 1u);
  }
}

TYPED_TEST(Idempotency, SameKeyDifferentBodyIs409) {
  ASSERT_TRUE(this->store().CreateRun("a", "r1", T0()).ok());
  ASSERT_TRUE(this->store().Decide(this->Keyed("r1", "k1", "h1"), this->Allow()).ok());
  Result<CallRecord> other = this->store().Decide(this->Keyed("r1", "k1", "h2"), this->Allow());
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().kind, ErrorKind::kAlreadyExists);
  EXPECT_EQ(this->store().GetRun("r1")->state.steps, 1u);
}

TYPED_TEST(Idempotency, KeyFromAnotherRunIsNotReused) {
  ASSERT_TRUE(this->store().CreateRun("a", "r1", T0()).ok());
  ASSERT_TRUE(this->store().CreateRun("a", "r2", T0()).ok());
  Result<CallRecord> one = this->store().Decide(this->Keyed("r1", "k1"), this->Allow());
  Result<CallRecord> two = this->store().Decide(this->Keyed("r2", "k1"), this->Allow());
  ASSERT_TRUE(one.ok() && two.ok());
  EXPECT_FALSE(two->replayed);
  EXPECT_NE(one->call_id, two->call_id);
  EXPECT_EQ(this->store().GetRun("r2")->state.steps, 1u);
}

TYPED_TEST(Idempotency, KeyOfAnotherAgentsRunRevealsNothing) {
  ASSERT_TRUE(this->store().CreateRun("a", "r1", T0()).ok());
  ASSERT_TRUE(this->store().Decide(this->Keyed("r1", "k1"), this->Allow()).ok());
  DecideRequest foreign = this->Keyed("r1", "k1");
  foreign.agent_id = "b";
  Result<CallRecord> r = this->store().Decide(foreign, this->Allow());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kPermissionDenied);
}

TYPED_TEST(Idempotency, RacingRetriesCountOnce) {
  ASSERT_TRUE(this->store().CreateRun("a", "r1", T0()).ok());
  constexpr int kThreads = 8;
  std::vector<std::string> ids(kThreads);
  std::atomic<int> replays{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Result<CallRecord> r = this->store().Decide(this->Keyed("r1", "race"), this->Allow());
      if (r.ok()) {
        ids[t] = r->call_id;
        if (r->replayed) ++replays;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (const std::string& id : ids) EXPECT_EQ(id, ids[0]);
  EXPECT_FALSE(ids[0].empty());
  EXPECT_EQ(replays.load(), kThreads - 1);
  EXPECT_EQ(this->store().GetRun("r1")->state.steps, 1u);
}

TYPED_TEST(Idempotency, ReplayedAllowIsWithheldOnceAKillSwitchCoversTheRun) {
  ASSERT_TRUE(this->store().CreateRun("a", "r1", T0()).ok());
  Result<CallRecord> first = this->store().Decide(this->Keyed("r1", "k1"), this->Allow());
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_EQ(first->decision.verdict, Verdict::kAllow);
  this->backend_.Kill("run", "r1", "incident");
  Result<CallRecord> retry = this->store().Decide(this->Keyed("r1", "k1"), this->Allow());
  ASSERT_TRUE(retry.ok()) << retry.error().message;
  EXPECT_TRUE(retry->replayed);
  EXPECT_EQ(retry->call_id, first->call_id);
  EXPECT_EQ(retry->decision.verdict, Verdict::kDeny);
  EXPECT_EQ(retry->decision.code, Code::kKillSwitch);
  EXPECT_EQ(this->store().GetRun("r1")->state.steps, 1u);
}

// Tests that an agent holding tokens for two identities cannot have one's answer replayed
// for the other by repeating the Idempotency-Key (same body, same run): whatever part of
// the identity differs (human acted for, subject, issuer, principal), the request is
// decided anew, denied IDENTITY_MISMATCH under a call of its own (one more step), and the
// key keeps the first identity's answer, on every backend.
TYPED_TEST(Idempotency, KeyReplayedForAnotherIdentityIsRefused) {
  auto as = [&](std::string issuer, std::string subject, std::string human) {
    DecideRequest rq = this->Keyed("r1", "k1");
    rq.identity = core::CallerIdentity{issuer, subject, human, {}, {}};
    rq.principal = subject + " (" + issuer + ") on behalf of " + human;
    return rq;
  };
  ASSERT_TRUE(this->store().CreateRun("a", "r1", T0()).ok());
  const DecideRequest alice = as("https://idp", "a@iam", "alice");
  Result<CallRecord> first = this->store().Decide(alice, this->Allow());
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_EQ(first->decision.verdict, Verdict::kAllow);
  std::vector<DecideRequest> others = {as("https://idp", "a@iam", "mallory"),
                                       as("https://idp", "b@iam", "alice"),
                                       as("https://other-idp", "a@iam", "alice")};
  DecideRequest same_principal_other_identity = alice;
  same_principal_other_identity.identity.on_behalf_of = "mallory";
  others.push_back(same_principal_other_identity);
  DecideRequest token_caller = this->Keyed("r1", "k1");  // no JWT at all
  others.push_back(token_caller);
  uint64_t steps = 1;
  for (const DecideRequest& other : others) {
    Result<CallRecord> r = this->store().Decide(other, this->Allow());
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_FALSE(r->replayed) << other.principal;
    EXPECT_NE(r->call_id, first->call_id) << other.principal;
    EXPECT_EQ(r->decision.verdict, Verdict::kDeny) << other.principal;
    EXPECT_EQ(r->decision.code, Code::kIdentityMismatch) << other.principal;
    EXPECT_EQ(this->store().GetRun("r1")->state.steps, ++steps) << "recorded as a call";
  }
  Result<CallRecord> again = this->store().Decide(alice, this->Allow());
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(again->call_id, first->call_id);
  EXPECT_EQ(again->decision.verdict, Verdict::kAllow);
}

TYPED_TEST(Idempotency, UsageRetryCountsOnce) {
  ASSERT_TRUE(this->store().CreateRun("a", "r1", T0()).ok());
  const core::IdempotencyKey key{"u1", "h1"};
  ASSERT_TRUE(this->store().AddUsageOnce("r1", "a", Usage{5, 6}, key).ok());
  ASSERT_TRUE(this->store().AddUsageOnce("r1", "a", Usage{5, 6}, key).ok());
  EXPECT_EQ(this->store().GetRun("r1")->state.tokens, 5u);
  Status other = this->store().AddUsageOnce("r1", "a", Usage{9, 9}, {"u1", "h2"});
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().kind, ErrorKind::kAlreadyExists);
  EXPECT_EQ(this->store().GetRun("r1")->state.tokens, 5u);
}

TYPED_TEST(Idempotency, ResultRetryRecordsOnce) {
  ASSERT_TRUE(this->store().CreateRun("a", "r1", T0()).ok());
  Result<CallRecord> c = this->store().Decide(this->Request("r1", "a"), this->Allow());
  ASSERT_TRUE(c.ok());
  core::CallResult res;
  res.output_json = "{\"x\":1}";
  res.usage = Usage{7, 9};
  res.idempotency = core::IdempotencyKey{"res1", "h1"};
  ASSERT_TRUE(this->backend_.RecordResult(c->call_id, "a", res).ok());
  Status again = this->backend_.RecordResult(c->call_id, "a", res);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(this->store().GetRun("r1")->state.tokens, 7u);
  res.idempotency.request_sha256 = "h2";
  Status other = this->backend_.RecordResult(c->call_id, "a", res);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().kind, ErrorKind::kAlreadyExists);
}

}  // namespace run_store_contract_test
}  // namespace interlock
