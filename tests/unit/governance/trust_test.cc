// Graduated trust's evidence over a history the test writes record by record.
#include "governance/trust.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "vector_source.h"

namespace interlock::governance {
namespace INTERLOCK_TEST_NS {

using testing::StoredRecord;
using testing::VectorSource;

constexpr const char* kPolicy = R"(agent:
  id: "ops"
  identity: "ops@x"
trust:
  graduation_threshold: 3
tools:
  allowed:
    - name: deploy
)";

policy::PolicySet Policies() { return testing::OneAgentPolicies(kPolicy, "ops.yaml"); }

// Five allowed deploys, each completed cleanly: above the threshold of 3.
std::vector<StoredRecord> CleanHistory() {
  std::vector<StoredRecord> h;
  int64_t seq = 0;
  for (int i = 0; i < 5; ++i) {
    const std::string call = "call_" + std::to_string(i);
    h.push_back({++seq, seq, "decision", "run_1", call, "ops",
                 R"({"args":{},"decision":{"code":"OK","decision":"allow"},)"
                 R"("state_after":{"steps":1},"tool":"deploy"})"});
    h.push_back({++seq, seq, "result", "run_1", call, "ops", R"({"ok":true})"});
  }
  return h;
}

const TrustRow& Deploy(const std::vector<TrustRow>& rows) {
  for (const TrustRow& r : rows) {
    if (r.tool == "deploy") return r;
  }
  ADD_FAILURE() << "no deploy row";
  return rows.front();
}

// Tests the baseline: five clean completions make deploy eligible.
TEST(TrustTest, CleanCompletionsMakeTheToolEligible) {
  VectorSource source(CleanHistory());
  Result<TrustEvidence> ev = CollectTrustEvidence(source, TrustOptions{});
  ASSERT_TRUE(ev.ok()) << ev.error().message;
  const std::vector<TrustRow> rows = TrustRows(*ev, Policies(), "");
  EXPECT_EQ(Deploy(rows).evidence.clean_since_reset, 5u);
  EXPECT_TRUE(Deploy(rows).eligible);
  EXPECT_TRUE(ev->unreadable.empty());
}

// Tests that a decision record the report cannot read (a damaged or altered log: it may
// hide a denial) makes none of the agent's tools eligible, and is counted and shown:
// graduated trust loosens oversight, so it never does on incomplete evidence.
TEST(TrustTest, UnreadableDecisionRecordMakesNothingEligible) {
  std::vector<StoredRecord> h = CleanHistory();
  h.push_back({100, 100, "decision", "run_1", "call_x", "ops", R"({"tool":"deploy"})"});
  VectorSource source(h);
  Result<TrustEvidence> ev = CollectTrustEvidence(source, TrustOptions{});
  ASSERT_TRUE(ev.ok()) << ev.error().message;
  EXPECT_EQ(ev->unreadable.at("ops"), 1u);
  const std::vector<TrustRow> rows = TrustRows(*ev, Policies(), "");
  EXPECT_FALSE(Deploy(rows).eligible);
  EXPECT_EQ(TrustReportToJson(rows, *ev, 2.0).at("unreadable_records").at("ops"), 1);
  EXPECT_NE(TrustReportToText(rows, *ev, 2.0).find("1 decision record(s) could not be read"),
            std::string::npos);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::governance
