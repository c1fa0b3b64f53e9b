// The kill-switch rules, written once in the core (core/app/kills.h): which engaged switch
// covers a call, and what a valid switch change is. Every backend asks the same
// EngagedKills, so these tables hold for SQLite, PostgreSQL and the memory store alike
// (the store contract suites check the backends' rows).
#include "core/app/kills.h"
#include "core/memory_run_store.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "core/ports/store.h"

namespace interlock::core {
namespace INTERLOCK_TEST_NS {

struct Switch {
  std::string scope, target, reason;
  bool engaged = true;
};

struct PrecedenceCase {
  const char* name;
  std::vector<Switch> switches;  // applied in order
  std::string agent_id, run_id;
  std::optional<std::string> want_scope;  // nullopt: nothing covers the call
  std::string want_reason;
};

// Tests that the most general engaged switch covers a call: global, then the agent's, then
// the run's; released and foreign switches never do.
TEST(KillsTest, PrecedenceTable) {
  const std::vector<PrecedenceCase> cases = {
      {"none", {}, "a", "r", std::nullopt, ""},
      {"global", {{"global", "", "g"}}, "a", "r", "global", "g"},
      {"global ignores its target", {{"global", "junk", "g"}}, "a", "r", "global", "g"},
      {"agent", {{"agent", "a", "ag"}}, "a", "r", "agent", "ag"},
      {"run", {{"run", "r", "rn"}}, "a", "r", "run", "rn"},
      {"another agent", {{"agent", "b", "ag"}}, "a", "r", std::nullopt, ""},
      {"another run", {{"run", "r2", "rn"}}, "a", "r", std::nullopt, ""},
      {"global beats agent and run",
       {{"run", "r", "rn"}, {"agent", "a", "ag"}, {"global", "", "g"}},
       "a",
       "r",
       "global",
       "g"},
      {"agent beats run", {{"run", "r", "rn"}, {"agent", "a", "ag"}}, "a", "r", "agent", "ag"},
      {"released global falls back to agent",
       {{"agent", "a", "ag"}, {"global", "", "g"}, {"global", "", "", false}},
       "a",
       "r",
       "agent",
       "ag"},
      {"released run", {{"run", "r", "rn"}, {"run", "r", "", false}}, "a", "r", std::nullopt, ""},
      {"re-engaged takes the new reason",
       {{"agent", "a", "old"}, {"agent", "a", "new"}},
       "a",
       "r",
       "agent",
       "new"},
      {"an agent id is not a run id", {{"run", "a", "rn"}}, "a", "r", std::nullopt, ""},
      {"no run given", {{"run", "r", "rn"}}, "a", "", std::nullopt, ""},
      {"no agent given still sees the run", {{"run", "r", "rn"}}, "", "r", "run", "rn"},
      {"unknown scope covers nothing", {{"tool", "a", "t"}}, "a", "r", std::nullopt, ""},
  };
  for (const PrecedenceCase& c : cases) {
    SCOPED_TRACE(c.name);
    EngagedKills kills;
    std::vector<KillEntry> listed;
    for (const Switch& s : c.switches) {
      kills.Set(s.scope, s.target, s.engaged, s.reason);
      // A listing keeps one row per (scope, target), as a store's table does.
      std::erase_if(listed, [&](const KillEntry& e) {
        return e.scope == s.scope && (s.scope == "global" || e.target == s.target);
      });
      listed.push_back(KillEntry{s.scope, s.target, s.engaged, s.reason, "op", TimePoint{}});
    }
    for (const auto& got :
         {kills.Covering(c.agent_id, c.run_id), EngagedOf(listed).Covering(c.agent_id, c.run_id)}) {
      if (!c.want_scope) {
        EXPECT_FALSE(got.has_value());
        continue;
      }
      ASSERT_TRUE(got.has_value());
      EXPECT_EQ(got->scope, *c.want_scope);
      EXPECT_EQ(got->reason, c.want_reason);
    }
  }
}

// Tests that a switch change is normalised or refused before any backend stores it.
TEST(KillsTest, NormalizeTable) {
  struct Case {
    std::string scope, target;
    bool ok;
    std::string want_target;
  };
  const std::vector<Case> cases = {
      {"global", "", true, ""}, {"global", "x", true, ""}, {"agent", "a", true, "a"},
      {"run", "r", true, "r"},  {"agent", "", false, ""},  {"run", "", false, ""},
      {"tool", "t", false, ""}, {"", "", false, ""},       {"GLOBAL", "", false, ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.scope + "/" + c.target);
    Result<KillEntry> e = NormalizeKill(KillEntry{c.scope, c.target, true, "why", "op", {}});
    ASSERT_EQ(e.ok(), c.ok);
    if (!c.ok) {
      EXPECT_EQ(e.error().kind, ErrorKind::kInvalidArgument);
      continue;
    }
    EXPECT_EQ(e->target, c.want_target);
  }
}

// Tests that the memory store, used by `interlock decide` and tests, hands its decisions the
// switch the rule above picks (it keeps an EngagedKills, no rule of its own).
TEST(KillsTest, MemoryRunStoreFollowsTheRule) {
  MemoryRunStore store;
  ASSERT_TRUE(store.CreateRun("a", "r", TimePoint{}).ok());
  auto covering = [&]() -> std::optional<engine::KillSwitch> {
    DecideRequest rq;
    rq.agent_id = "a";
    rq.run_id = "r";
    rq.principal = "a";
    rq.call.tool = "ping";
    std::optional<engine::KillSwitch> seen;
    auto rec = store.Decide(
        rq, [&](const ToolCall&, const RunState&, const std::optional<engine::KillSwitch>& kill,
                const std::optional<engine::AgentUsage>&) {
          seen = kill;
          engine::Evaluation ev;
          ev.decision.verdict = Verdict::kDeny;
          return ev;
        });
    EXPECT_TRUE(rec.ok()) << rec.error().message;
    return seen;
  };
  EXPECT_FALSE(covering().has_value());
  store.SetKill("run", "r", true, "rn");
  store.SetKill("agent", "a", true, "ag");
  ASSERT_TRUE(covering().has_value());
  EXPECT_EQ(covering()->reason, "ag");
  store.SetKill("global", "ignored", true, "g");
  EXPECT_EQ(covering()->scope, "global");
  store.SetKill("global", "", false, "");
  store.SetKill("agent", "a", false, "");
  ASSERT_TRUE(covering().has_value());
  EXPECT_EQ(covering()->scope, "run");
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::core
