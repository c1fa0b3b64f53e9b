// The ext_authz door's one mapping of the core's outcome (doors/ext_authz/door.h,
// CheckCodeOf; docs/design.md, "One outcome"): Envoy's {OK, Denied, Error}.
#include <gtest/gtest.h>

#include "doors/ext_authz/door.h"
#include "interlock/outcome.h"

namespace interlock::doors::ext_authz {
namespace {

// Tests the door's table: only an allow is forwarded; decided refusals and a request the
// core refused as invalid are PERMISSION_DENIED; every other error is UNAVAILABLE.
TEST(ExtAuthzOutcomeTest, EachOutcomeHasItsCheckCode) {
  struct Case {
    Outcome outcome;
    RpcCode want;
  };
  const Case cases[] = {
      {{OutcomeKind::kAllow}, RpcCode::kOk},
      {{OutcomeKind::kDeny}, RpcCode::kPermissionDenied},
      {{OutcomeKind::kApprovalRequired}, RpcCode::kPermissionDenied},
      {{OutcomeKind::kRehearsalRequired}, RpcCode::kPermissionDenied},
      {{OutcomeKind::kError, ErrorKind::kInvalidArgument}, RpcCode::kPermissionDenied},
      {{OutcomeKind::kError, ErrorKind::kNotFound}, RpcCode::kUnavailable},
      {{OutcomeKind::kError, ErrorKind::kAlreadyExists}, RpcCode::kUnavailable},
      {{OutcomeKind::kError, ErrorKind::kPermissionDenied}, RpcCode::kUnavailable},
      {{OutcomeKind::kError, ErrorKind::kUnavailable}, RpcCode::kUnavailable},
      {{OutcomeKind::kError, ErrorKind::kTimeout}, RpcCode::kUnavailable},
      {{OutcomeKind::kError, ErrorKind::kCorrupt}, RpcCode::kUnavailable},
      {{OutcomeKind::kError, ErrorKind::kInternal}, RpcCode::kUnavailable},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(CheckCodeOf(c.outcome), c.want)
        << OutcomeKindName(c.outcome.kind) << " " << ErrorKindName(c.outcome.cause);
  }
}

// Tests that a STORE_UNAVAILABLE decision the store gave without an error is UNAVAILABLE,
// never a deny the client would take as policy.
TEST(ExtAuthzOutcomeTest, StoreUnavailableDecisionIsUnavailable) {
  Decision d;
  d.verdict = Verdict::kDeny;
  d.code = Code::kStoreUnavailable;
  EXPECT_EQ(CheckCodeOf(OutcomeOf(d, std::nullopt)), RpcCode::kUnavailable);
  d.code = Code::kAuditUnavailable;
  EXPECT_EQ(CheckCodeOf(OutcomeOf(d, std::nullopt)), RpcCode::kUnavailable);
}

}  // namespace
}  // namespace interlock::doors::ext_authz
