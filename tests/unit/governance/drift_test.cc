// Permission drift over a history the test writes record by record.
#include "governance/drift.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/json.h"
#include "vector_source.h"

namespace interlock::governance {
namespace INTERLOCK_TEST_NS {

constexpr const char* kPolicy = R"(agent:
  id: "ops"
  identity: "ops@x"
tools:
  allowed:
    - name: read
    - name: deploy
      constraints:
        allowed_envs: ["staging", "prod"]
)";

using testing::StoredRecord;
using testing::VectorSource;

std::string Decision(std::string_view tool, std::string_view args) {
  return R"({"args":)" + std::string(args) + R"(,"decision":{"code":"OK","decision":"allow"},)" +
         R"("state_after":{"cost_usd":0,"elapsed_s":1,"steps":1,"tokens":0},"tool":")" +
         std::string(tool) + "\"}";
}

policy::PolicySet Policies() { return testing::OneAgentPolicies(kPolicy, "ops.yaml"); }

// Forty runs over ten days: enough evidence, every call a read of `staging`-free history.
std::vector<StoredRecord> History() {
  std::vector<StoredRecord> h;
  for (int i = 0; i < 40; ++i) {
    h.push_back({i + 1, int64_t{i} * 6 * 3600 * 1000, "decision", "run_" + std::to_string(i),
                 "call_" + std::to_string(i), "ops",
                 Decision(i % 2 ? "read" : "deploy", R"({"env":"staging"})")});
  }
  return h;
}

// Tests the baseline: with every record readable there is enough evidence, and the
// value never used (prod) is suggested for removal.
TEST(DriftTest, ReadableHistorySuggestsTheUnusedValue) {
  const policy::PolicySet set = Policies();
  VectorSource source(History());
  Result<DriftReport> r = RunDrift(source, set, DriftOptions{});
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->agents.size(), 1u);
  const AgentDrift& d = r->agents[0];
  EXPECT_TRUE(d.enough_evidence);
  EXPECT_EQ(d.unreadable, 0u);
  ASSERT_EQ(d.unused_values.size(), 1u);
  EXPECT_EQ(d.unused_values[0].values, std::vector<std::string>{"\"prod\""});
  EXPECT_FALSE(Suggest(d).remove_values.empty());
}

// Tests that a decision record drift cannot read (a corrupt or altered log: its data
// without a decision, or its arguments not JSON) is counted and shown, and that nothing is
// suggested then: the record may have used the grant the suggestion would remove.
TEST(DriftTest, UnreadableRecordWithholdsEverySuggestion) {
  const policy::PolicySet set = Policies();
  for (const std::string& bad :
       {std::string(R"({"args":{"env":"prod"},"tool":"deploy"})"),  // no decision or state
        Decision("deploy", R"({"env":"prod",})")}) {                // arguments not JSON
    std::vector<StoredRecord> h = History();
    h.push_back({41, h.back().time_ms + 1, "decision", "run_40", "call_40", "ops", bad});
    VectorSource source(h);
    Result<DriftReport> r = RunDrift(source, set, DriftOptions{});
    ASSERT_TRUE(r.ok()) << r.error().message;
    const AgentDrift& d = r->agents.at(0);
    EXPECT_EQ(d.unreadable, 1u) << bad;
    EXPECT_FALSE(d.enough_evidence) << bad;
    const policy::PolicyEdits e = Suggest(d);
    EXPECT_TRUE(e.remove_values.empty() && e.remove_tools.empty()) << bad;
    EXPECT_NE(DriftToText(*r).find("1 decision record(s) could not be read"), std::string::npos);
    EXPECT_EQ(DriftToJson(*r)
                  .at("agents")
                  .at(0)
                  .at("evidence")
                  .at("unreadable_records")
                  .to_number<int64_t>(),
              1);
  }
}

// Tests that an agent whose only records are unreadable is not called "never used".
TEST(DriftTest, AgentWithOnlyUnreadableRecordsIsNotNeverUsed) {
  const policy::PolicySet set = Policies();
  VectorSource source({{1, 0, "decision", "run_0", "call_0", "ops", R"({"tool":"deploy"})"}});
  Result<DriftReport> r = RunDrift(source, set, DriftOptions{});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(DriftToJson(*r).at("agents").at(0).at("never_used"), false);
  EXPECT_EQ(DriftToText(*r).find("never used in the window"), std::string::npos);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::governance
