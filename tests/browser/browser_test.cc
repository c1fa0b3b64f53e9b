// Drives tests/browser/test.mjs (headless Chromium) against the real daemon started by
// the daemon harness on 127.0.0.1 port 0. Bounded: the node process gets 120 s.
#include <filesystem>

#include <gtest/gtest.h>

#include "chromium_test.h"

namespace interlock::testing {
namespace INTERLOCK_TEST_NS {

class BrowserTest : public ChromiumTest {};

constexpr char kAgent[] = R"(agent:
  id: "browser-agent"
  identity: "browser-agent@example.iam"
tools:
  allowed:
    - name: "send_email"
      requires_approval: true
      approval_timeout_seconds: 300
      blast_radius: large
      redact: ["api_key"]
execution:
  max_steps: 1000
)";

// Tests that a reviewer signs in on /ui/, approves one call and denies another, and the
// waiting agent gets allow and deny respectively.
TEST_F(BrowserTest, ReviewerPageApprovesAndDenies) {
  const std::string policies = WriteAgentPolicy(kAgent);
  Daemon daemon(dir_.path(), policies);
  const std::string agent = CreateToken(daemon.store(), "--agent", "browser-agent");
  const std::string reviewer = CreateToken(daemon.store(), "--reviewer", "rita");
  ASSERT_FALSE(reviewer.empty());
  ASSERT_TRUE(daemon.Start()) << daemon.log();

  ProcessResult r =
      RunScript("test.mjs", {Url(daemon), reviewer, agent, artifacts_}, std::chrono::seconds(120));
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err << daemon.log();
  EXPECT_NE(r.out.find("test 1 (approve): ok"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("test 2 (deny): ok"), std::string::npos) << r.out;
  EXPECT_TRUE(std::filesystem::exists(artifacts_ + "/approvals.png"));
}

constexpr char kConsoleAgent[] = R"(agent:
  id: "console-agent"
  identity: "console-agent@example.iam"
tools:
  allowed:
    - name: "read_file"
    - name: "send_email"
      requires_approval: true
      approval_timeout_seconds: 300
      redact: ["api_key"]
  blocked: ["drop_database"]
execution:
  max_steps: 50
  max_tokens_per_run: 100000
)";

// Tests the operator console in Chromium: sign-in, runs (filters, budgets against limits),
// a scripted run's timeline (every call in order with its code, secrets masked, chain
// verified), the tree of runs (a child run names its parent and role, both pages draw the
// tree), audit search by tool, code and text, an admin engaging and releasing the kill
// switch through the page (the daemon denies in between), metrics, keyboard navigation,
// no horizontal scroll at 390 px, and a reviewer refused the admin action by the daemon.
TEST_F(BrowserTest, ConsoleRunsTimelineAuditKillSwitch) {
  const std::string policies = WriteAgentPolicy(kConsoleAgent);
  Daemon daemon(dir_.path(), policies);
  const std::string agent = CreateToken(daemon.store(), "--agent", "console-agent");
  const std::string reviewer = CreateToken(daemon.store(), "--reviewer", "rita");
  const std::string admin = CreateToken(daemon.store(), "--admin", "ada");
  ASSERT_FALSE(admin.empty());
  ASSERT_TRUE(daemon.Start()) << daemon.log();

  ProcessResult r = RunScript("console.mjs", {Url(daemon), admin, reviewer, agent, artifacts_},
                              std::chrono::seconds(150));
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err << daemon.log();
  for (const char* t : {"sign-in", "runs", "timeline", "run tree", "audit search", "kill switch",
                        "metrics", "keyboard", "reviewer cannot kill", "agent token refused"}) {
    EXPECT_NE(r.out.find(std::string("test ") + t + ": ok"), std::string::npos) << t << "\n"
                                                                                << r.out;
  }
  EXPECT_TRUE(std::filesystem::exists(artifacts_ + "/console-timeline-phone.png"));
}

constexpr char kGovernanceAgent[] = R"(agent:
  id: "gov-agent"
  identity: "gov-agent@example.iam"
tools:
  allowed:
    - name: "read_file"
    - name: "send_email"
      requires_approval: true
      approval_timeout_seconds: 300
    - name: "delete_file"
      requires_approval: true
execution:
  max_steps: 1000
trust:
  graduation_threshold: 3
)";

// Tests the console's Governance page in Chromium over a scripted history (runs, and
// approvals granted within a second by one reviewer): the drift report with the suggested
// tighter policy as a diff, the trust ledger with read_file ready to graduate, the
// rubber-stamp warning, no horizontal scroll at 390 px, the keyboard, and a reviewer
// refused the admin-only reports (page and API).
TEST_F(BrowserTest, GovernanceDriftLedgerFatigue) {
  const std::string policies = WriteAgentPolicy(kGovernanceAgent);
  // governance.wait_ms 0: every report is first "being computed" (202) and the page polls,
  // as over a large log (docs/console.md#governance-over-a-large-log).
  const std::string config = dir_.path() + "/interlock.yaml";
  std::ofstream(config) << "governance:\n  wait_ms: 0\n";
  Daemon daemon(dir_.path(), policies, config);
  const std::string agent = CreateToken(daemon.store(), "--agent", "gov-agent");
  const std::string reviewer = CreateToken(daemon.store(), "--reviewer", "rita");
  const std::string admin = CreateToken(daemon.store(), "--admin", "ada");
  ASSERT_FALSE(admin.empty());
  ASSERT_TRUE(daemon.Start()) << daemon.log();

  ProcessResult r = RunScript("governance.mjs", {Url(daemon), admin, reviewer, agent, artifacts_},
                              std::chrono::seconds(150));
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err << daemon.log();
  for (const char* t :
       {"nav", "fatigue warning", "drift", "drift API diff", "ledger", "report age and recompute",
        "phone layout", "keyboard", "reviewer refused"}) {
    EXPECT_NE(r.out.find(std::string("test ") + t + ": ok"), std::string::npos) << t << "\n"
                                                                                << r.out;
  }
  EXPECT_TRUE(std::filesystem::exists(artifacts_ + "/console-governance-phone.png"));
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::testing
