// The reviewer page made for one decision (issue 56, docs/approvals.md#the-page-ui): each
// test drives one scenario of tests/browser/phone.mjs in headless Chromium at 390 x 844
// and 1280 x 800 against the real daemon (daemon harness, 127.0.0.1 port 0). Screenshots
// land in ${PROJECT_BINARY_DIR}/test-artifacts/approvals-SCENARIO-{phone,desktop}.png.
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "chromium_test.h"

namespace interlock::testing {
namespace INTERLOCK_TEST_NS {

// send_email states no classification; delete_file states both; read_file's constraint
// gives the run so far a CONSTRAINT_VIOLATED.
constexpr char kPhoneAgent[] = R"(agent:
  id: "phone-agent"
  identity: "phone-agent@example.iam"
tools:
  allowed:
    - name: "read_file"
      constraints:
        arguments:
          path: {path_prefix: ["/srv/reports"]}
    - name: "send_email"
      requires_approval: true
      approval_timeout_seconds: 600
      redact: ["api_key"]
    - name: "delete_file"
      requires_approval: true
      reversible: false
      blast_radius: large
execution:
  max_steps: 1000
)";

class PhoneReviewerPage : public ChromiumTest {
 protected:
  // Runs phone.mjs SCENARIO against a fresh daemon; expects "test SCENARIO phone: ok" and
  // "test SCENARIO desktop: ok" and both screenshots.
  void RunPhoneScenario(const std::string& scenario) {
    Daemon daemon(dir_.path(), WriteAgentPolicy(kPhoneAgent));
    const std::string agent = CreateToken(daemon.store(), "--agent", "phone-agent");
    const std::string reviewer = CreateToken(daemon.store(), "--reviewer", "rita");
    ASSERT_FALSE(reviewer.empty());
    ASSERT_TRUE(daemon.Start()) << daemon.log();

    ProcessResult r = RunScript("phone.mjs", {Url(daemon), reviewer, agent, artifacts_, scenario},
                                std::chrono::seconds(120));
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err << daemon.log();
    for (const char* size : {"phone", "desktop"}) {
      EXPECT_NE(r.out.find("test " + scenario + " " + size + ": ok"), std::string::npos)
          << size << "\n"
          << r.out << r.err;
      EXPECT_TRUE(
          std::filesystem::exists(artifacts_ + "/approvals-" + scenario + "-" + size + ".png"));
    }
  }
};

// Tests that the approval's link (approval_url, as notices and deny reasons carry it),
// opened signed out and then signed in, shows the tool, why (the rule), the time left, the
// arguments' top and Approve/Deny within the first screen, unscrolled, at 390 x 844 and
// 1280 x 800 (bounding boxes), with a long body and a redacted key in the arguments.
TEST_F(PhoneReviewerPage, DeepLinkShowsTheDecisionOnThePhonesFirstScreen) {
  RunPhoneScenario("deeplink");
}

// Tests that two pending send_email cards show their distinguishing argument first (the
// recipient), then the next, never a redacted value, and a long value cut to one line.
TEST_F(PhoneReviewerPage, TwoPendingCardsOfOneToolLookDifferent) { RunPhoneScenario("previews"); }

// Tests that a tool whose rule writes neither reversible nor blast_radius reads "not
// classified" for both (not the defaults "yes"/"small"), a tool stating them reads "no" and
// "large", and the API's classification.stated says which the policy writes.
TEST_F(PhoneReviewerPage, UnstatedClassificationReadsNotClassified) {
  RunPhoneScenario("classification");
}

// Tests that after rita approves on the page, "Why approval is required" still states
// tools.allowed["send_email"].requires_approval at agent.yaml:LINE:COL (never "approved
// by"), unchanged, also on a fresh load, and the outcome line says "approved by rita".
TEST_F(PhoneReviewerPage, WhyStatesTheRuleAfterAGrant) { RunPhoneScenario("why"); }

// Tests that no word of the approval (CONSTRAINT_VIOLATED in the run so far, times, ids)
// or of the pending list is split over two lines when it fits on one (Range rects of the
// rendered text; the check itself first shown to catch word-break:break-all), and the page
// does not scroll sideways.
TEST_F(PhoneReviewerPage, LongCodesWrapWithoutBreakingWords) { RunPhoneScenario("wrap"); }

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::testing
