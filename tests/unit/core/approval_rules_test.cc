// The approval timing and reason rules (core/approval_rules.h), as every backend applies
// them.
#include "core/approval_rules.h"

#include <chrono>

#include <gtest/gtest.h>

namespace interlock::core {
namespace {

TimePoint T0() { return FromUnixMillis(1'700'000'000'000); }
TimePoint At(int64_t s) { return T0() + std::chrono::seconds(s); }

Decision NeedsApproval(int timeout_s, bool auto_deny, int required = 1) {
  Decision d;
  d.verdict = Verdict::kApprovalRequired;
  d.code = Code::kApprovalRequired;
  d.approval_timeout_seconds = timeout_s;
  d.auto_deny_on_timeout = auto_deny;
  d.approvals_required = required;
  return d;
}

// Tests that a tool without its own timeout gets the deployment default, that an
// auto-denying approval can never outlive its first deadline, and that zero required
// approvals still needs one person.
TEST(ApprovalPlan, AutoDenyHasNoLongerHardDeadlineAndNeedsOnePerson) {
  const ApprovalPlan p = PlanApproval(NeedsApproval(0, true, 0), T0(), 300, 3600);
  EXPECT_EQ(p.required, 1);
  EXPECT_EQ(p.timeout_seconds, 300);
  EXPECT_EQ(p.deadline, At(300));
  EXPECT_EQ(p.hard_deadline, At(300));
  const ApprovalPlan esc = PlanApproval(NeedsApproval(60, false), T0(), 300, 3600);
  EXPECT_EQ(esc.deadline, At(60));
  EXPECT_EQ(esc.hard_deadline, At(3600));
  const ApprovalPlan zero = PlanApproval(NeedsApproval(0, true), T0(), 0, 0);
  EXPECT_EQ(zero.timeout_seconds, 1);  // a misconfigured default never means "no deadline"
}

// Tests that an escalating approval is escalated by its timeout but never past the hard
// maximum, and times out once the hard maximum is reached.
TEST(ApprovalDeadline, EscalationStopsAtTheHardMaximum) {
  DeadlineOutcome o = OnDeadline(false, 60, 0, At(60), At(100), At(61));
  EXPECT_FALSE(o.time_out);
  EXPECT_EQ(o.next_deadline, At(100));  // min(hard, 61 + 60)
  o = OnDeadline(false, 60, 1, At(100), At(100), At(100));
  EXPECT_TRUE(o.time_out);
  EXPECT_EQ(o.reason, "no reviewer decided before the hard maximum wait (escalated 1 times)");
  o = OnDeadline(true, 60, 0, At(60), At(60), At(60));
  EXPECT_TRUE(o.time_out);
  EXPECT_EQ(o.reason, "no reviewer decided within 60 s");
}

// Tests the reasons a denied call carries.
TEST(ApprovalReasons, NameWhoAndWhy) {
  EXPECT_EQ(DeniedByReason("rita", ""), "denied by rita");
  EXPECT_EQ(DeniedByReason("rita", "no"), "denied by rita: no");
  EXPECT_EQ(KillCancelReason("run", "stop"), "kill switch (run) engaged: stop");
  EXPECT_EQ(KillCancelReason("global", ""), "kill switch (global) engaged");
  EXPECT_EQ(WithdrawnReason("apr_1", "a", "gone"), "approval apr_1 was withdrawn by agent a: gone");
}

// Tests that a human cannot approve a call an agent made on their behalf: by their token
// name (case and width folded) or, signed in with OpenID Connect, by their subject; and
// that another reviewer still can.
TEST(SelfApproval, HumanCannotApproveACallMadeOnTheirOwnBehalf) {
  const std::string_view principal = "deployer (https://idp.example) on behalf of alice";
  EXPECT_FALSE(CheckReviewer("alice", "apr_1", principal, "ops", "deployer", {}).ok());
  EXPECT_FALSE(CheckReviewer("ALICE", "apr_1", principal, "ops", "deployer", {}).ok());
  EXPECT_FALSE(
      CheckReviewer("oidc:alice@idp.example", "apr_1", principal, "ops", "deployer", {}).ok());
  EXPECT_TRUE(CheckReviewer("bob", "apr_1", principal, "ops", "deployer", {}).ok());
  EXPECT_TRUE(
      CheckReviewer("oidc:bob@idp.example", "apr_1", principal, "ops", "deployer", {}).ok());
  // A subject that smuggles the phrase in can only refuse more, never less.
  const std::string_view tricky = "x on behalf of bob (https://i) on behalf of alice";
  EXPECT_FALSE(CheckReviewer("alice", "apr_1", tricky, "ops", "x", {}).ok());
  EXPECT_FALSE(
      CheckReviewer("bob (https://i) on behalf of alice", "apr_1", tricky, "ops", "x", {}).ok());
}

}  // namespace
}  // namespace interlock::core
