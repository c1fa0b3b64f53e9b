// The HTTP API's one mapping of the core's outcome onto a decide route's status
// (core/app/outcome_status.h, HttpStatusOf; docs/design.md, "One outcome").
#include "core/app/outcome_status.h"

#include <gtest/gtest.h>

#include <optional>

#include "interlock/decision.h"

namespace interlock::core {
namespace INTERLOCK_TEST_NS {

// Tests the route's table: every decision is 200 (a deny, an approval or a rehearsal
// required included); an error is the request's status, or 200 when the core could not
// serve (its STORE_UNAVAILABLE deny is the body).
TEST(HttpOutcomeTest, EachOutcomeHasItsStatus) {
  struct Case {
    Outcome outcome;
    unsigned want;
  };
  const Case cases[] = {
      {{OutcomeKind::kAllow}, 200},
      {{OutcomeKind::kDeny}, 200},
      {{OutcomeKind::kApprovalRequired}, 200},
      {{OutcomeKind::kRehearsalRequired}, 200},
      {{OutcomeKind::kError, ErrorKind::kNotFound}, 404},
      {{OutcomeKind::kError, ErrorKind::kPermissionDenied}, 403},
      {{OutcomeKind::kError, ErrorKind::kAlreadyExists}, 409},
      {{OutcomeKind::kError, ErrorKind::kInvalidArgument}, 400},
      {{OutcomeKind::kError, ErrorKind::kUnavailable}, 200},
      {{OutcomeKind::kError, ErrorKind::kTimeout}, 200},
      {{OutcomeKind::kError, ErrorKind::kCorrupt}, 200},
      {{OutcomeKind::kError, ErrorKind::kInternal}, 200},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(HttpStatusOf(c.outcome), c.want)
        << OutcomeKindName(c.outcome.kind) << " " << ErrorKindName(c.outcome.cause);
  }
}

// Tests that the core's error wins over its decision: an unknown run is 404 even though its
// decision is an INVALID_REQUEST deny.
TEST(HttpOutcomeTest, ErrorWinsOverTheDecision) {
  Decision d;
  d.verdict = Verdict::kDeny;
  d.code = Code::kInvalidRequest;
  EXPECT_EQ(HttpStatusOf(OutcomeOf(d, ErrorKind::kNotFound)), 404u);
  EXPECT_EQ(HttpStatusOf(OutcomeOf(d, std::nullopt)), 200u);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::core
