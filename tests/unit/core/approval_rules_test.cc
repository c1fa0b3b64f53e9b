// The approval timing and reason rules (core/approval_rules.h), as every backend applies
// them.
#include "core/approval_rules.h"

#include <chrono>

#include <gtest/gtest.h>

#include "common/crypto.h"
#include "common/json.h"

namespace interlock::core {
namespace INTERLOCK_TEST_NS {

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

// Tests that an approval binds a JSON number by its value at any depth: a whole-number
// double and its integer (2.0 and 2, -0.0 and 0, 1e19 and its digits) hash alike, and any
// other value, a fraction, a huge double or a string of the digits, does not.
TEST(ApprovalBinding, NumbersBindByValue) {
  auto digest = [](std::string_view text) {
    return ArgsDigest(ParseJsonStrict(text)->get_object());
  };
  EXPECT_EQ(digest(R"({"a":2.0,"b":[-0.0,{"c":1e19}]})"),
            digest(R"({"a":2,"b":[0,{"c":10000000000000000000}]})"));
  EXPECT_EQ(digest(R"({"a":-9223372036854775808})"), digest(R"({"a":-9.223372036854775808e18})"));
  EXPECT_NE(digest(R"({"a":2.0})"), digest(R"({"a":2.5})"));
  EXPECT_NE(digest(R"({"a":2.0})"), digest(R"({"a":"2"})"));
  EXPECT_NE(digest(R"({"a":1e300})"), digest(R"({"a":1e299})"));
  EXPECT_NE(digest(R"({"a":18446744073709551615})"), digest(R"({"a":1.8446744073709552e19})"));
  // The bytes hashed are the canonical JSON of the value with its whole numbers as
  // integers, the other doubles as the canonical writer prints them: the hash a pending
  // approval of an earlier build was stored with.
  EXPECT_EQ(digest(R"({"z":[2.0,-0.0,0.5,1e300,-1e19],"a":{"b":3.0}})"),
            Sha256Hex(R"({"a":{"b":3},"z":[2,0,5E-1,1E300,-1E19]})"));
  EXPECT_EQ(digest(R"({"a":2.0})"),
            "7e8059f495589fcd981232cc11d00b00da3802c01d688fa1cf1f6bed6e5bb33c");
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

// A vote on a pending approval of call "call_1" (agent "bot", principal "bot") for tool
// "deploy" that needs `required` approvals.
VoteInput Pending(int required, std::vector<VoteRow> votes, std::string_view reviewer,
                  bool approve = true) {
  VoteInput in;
  in.approval = ApprovalRef{"apr_1", "call_1", "run_1", "bot", "deploy"};
  in.state_name = "pending";
  in.call_principal = "bot";
  in.agent_identity = "bot@corp.example";
  in.required = required;
  in.votes = std::move(votes);
  in.reviewer = reviewer;
  in.approve = approve;
  in.now = At(1);
  return in;
}

// Tests the two-person rule as every backend applies it: a lookalike of the first
// reviewer's name is the same person (refused), a second person grants, and the grant's
// record names both.
TEST(ApprovalVote, LookalikeNameIsNotASecondPerson) {
  const std::vector<VoteRow> first = {{"rita", "approve"}};
  Result<VotePlan> again = PlanVote(Pending(2, first, "RITA"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, ErrorKind::kAlreadyExists);
  Result<VotePlan> one = PlanVote(Pending(2, {}, "rita"));
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->kind, VotePlan::Kind::kVoted);
  Result<VotePlan> two = PlanVote(Pending(2, first, "bob"));
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->kind, VotePlan::Kind::kGranted);
  EXPECT_EQ(two->reason, "approved by rita, bob");
  EXPECT_EQ(two->event.data.at("event"), "granted");
}

// Tests that nobody approves a call made under their own identity (the agent's configured
// identity included) and that a settled approval takes no vote.
TEST(ApprovalVote, SelfApprovalAndSettledApprovalsAreRefused) {
  EXPECT_EQ(PlanVote(Pending(1, {}, "bot@corp.example")).error().kind,
            ErrorKind::kPermissionDenied);
  VoteInput settled = Pending(1, {}, "rita");
  settled.pending = false;
  settled.state_name = "withdrawn";
  EXPECT_EQ(PlanVote(settled).error().kind, ErrorKind::kAlreadyExists);
}

// Tests the re-check on grant: a run halted meanwhile or a record limit the call would
// pass turns the grant into a deny; otherwise the grant consumes the call's records.
TEST(ApprovalVote, GrantRechecksHaltsAndRecordLimits) {
  VoteInput halted = Pending(1, {}, "rita");
  halted.run_halted_or_ended = true;
  EXPECT_EQ(PlanVote(halted)->kind, VotePlan::Kind::kDenied);
  VoteInput over = Pending(1, {}, "rita");
  over.call_records = 3;
  over.run_records_used = 8;
  over.max_records_per_run = 10;
  Result<VotePlan> refused = PlanVote(over);
  EXPECT_EQ(refused->kind, VotePlan::Kind::kDenied);
  EXPECT_EQ(refused->code, Code::kRecordLimitExceeded);
  over.run_records_used = 7;
  Result<VotePlan> granted = PlanVote(over);
  EXPECT_EQ(granted->kind, VotePlan::Kind::kGranted);
  EXPECT_EQ(granted->run_records_after, 10u);
  Result<VotePlan> deny = PlanVote(Pending(1, {}, "rita", /*approve=*/false));
  EXPECT_EQ(deny->kind, VotePlan::Kind::kDenied);
  EXPECT_EQ(deny->code, Code::kApprovalDenied);
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

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::core
