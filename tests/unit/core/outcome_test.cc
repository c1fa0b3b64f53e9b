// The core's one outcome (interlock/outcome.h): computed in one place from the decision
// and the error, every kind but allow failing closed.
#include "interlock/outcome.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "interlock/decision.h"

namespace interlock::core {
namespace INTERLOCK_TEST_NS {

Decision OutcomeTestDecision(Verdict v, Code c) {
  Decision d;
  d.verdict = v;
  d.code = c;
  return d;
}

// Tests that the outcome table holds: each verdict its kind, an error (whatever the
// decision says) an error of its kind, a STORE_UNAVAILABLE or AUDIT_UNAVAILABLE decision an
// error of cause kUnavailable, and only kAllow allows.
TEST(OutcomeTest, TableOfTheCoresAnswers) {
  struct Case {
    Verdict verdict;
    Code code;
    std::optional<ErrorKind> error;
    Outcome want;
  };
  const Case cases[] = {
      {Verdict::kAllow, Code::kAllowed, std::nullopt, {OutcomeKind::kAllow}},
      {Verdict::kDeny, Code::kToolBlocked, std::nullopt, {OutcomeKind::kDeny}},
      {Verdict::kDeny, Code::kKillSwitch, std::nullopt, {OutcomeKind::kDeny}},
      {Verdict::kDeny, Code::kInvalidRequest, std::nullopt, {OutcomeKind::kDeny}},
      {Verdict::kApprovalRequired,
       Code::kApprovalRequired,
       std::nullopt,
       {OutcomeKind::kApprovalRequired}},
      {Verdict::kRehearsalRequired,
       Code::kRehearsalRequired,
       std::nullopt,
       {OutcomeKind::kRehearsalRequired}},
      {Verdict::kDeny,
       Code::kStoreUnavailable,
       std::nullopt,
       {OutcomeKind::kError, ErrorKind::kUnavailable}},
      {Verdict::kDeny,
       Code::kAuditUnavailable,
       std::nullopt,
       {OutcomeKind::kError, ErrorKind::kUnavailable}},
      {Verdict::kDeny,
       Code::kStoreUnavailable,
       ErrorKind::kCorrupt,
       {OutcomeKind::kError, ErrorKind::kCorrupt}},
      {Verdict::kDeny,
       Code::kInvalidRequest,
       ErrorKind::kNotFound,
       {OutcomeKind::kError, ErrorKind::kNotFound}},
      {Verdict::kDeny,
       Code::kInvalidRequest,
       ErrorKind::kPermissionDenied,
       {OutcomeKind::kError, ErrorKind::kPermissionDenied}},
      {Verdict::kDeny,
       Code::kInvalidRequest,
       ErrorKind::kInvalidArgument,
       {OutcomeKind::kError, ErrorKind::kInvalidArgument}},
      {Verdict::kDeny,
       Code::kIdentityMismatch,
       ErrorKind::kAlreadyExists,
       {OutcomeKind::kError, ErrorKind::kAlreadyExists}},
      // An error wins over any verdict: never an allow.
      {Verdict::kAllow,
       Code::kAllowed,
       ErrorKind::kInternal,
       {OutcomeKind::kError, ErrorKind::kInternal}},
  };
  for (const Case& c : cases) {
    const Outcome got = OutcomeOf(OutcomeTestDecision(c.verdict, c.code), c.error);
    const std::string what = std::string(VerdictName(c.verdict)) + " " +
                             std::string(CodeName(c.code)) +
                             (c.error ? std::string(" ") + ErrorKindName(*c.error) : "");
    EXPECT_EQ(got, c.want) << what;
    EXPECT_EQ(got.allows(), c.want.kind == OutcomeKind::kAllow) << what;
  }
}

// Tests that a shadow-mode allow (a deny not enforced) is an allow, as its decision says.
TEST(OutcomeTest, ShadowAllowIsAnAllow) {
  Decision d = OutcomeTestDecision(Verdict::kAllow, Code::kAllowed);
  d.shadow_verdict = Verdict::kDeny;
  d.shadow_code = Code::kToolBlocked;
  EXPECT_TRUE(OutcomeOf(d, std::nullopt).allows());
}

// Tests that the kinds have their contract's names.
TEST(OutcomeTest, KindNames) {
  EXPECT_EQ(OutcomeKindName(OutcomeKind::kAllow), "allow");
  EXPECT_EQ(OutcomeKindName(OutcomeKind::kDeny), "deny");
  EXPECT_EQ(OutcomeKindName(OutcomeKind::kApprovalRequired), "approval_required");
  EXPECT_EQ(OutcomeKindName(OutcomeKind::kRehearsalRequired), "rehearsal_required");
  EXPECT_EQ(OutcomeKindName(OutcomeKind::kError), "error");
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::core
