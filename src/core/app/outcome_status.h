// HttpStatusOf: the HTTP API's one mapping of the core's outcome (interlock/outcome.h) onto
// the status of a decide route's answer (POST /v1/runs/{run}/calls; docs/api.md,
// docs/design.md "One outcome"). A decided call is 200 with its decision, whatever the
// verdict; a call the core did not decide is the request's fault (404 unknown run, 403
// another agent's run, 409 an Idempotency-Key sent with another request, 400 a request the
// core refused) or the core's, which is still answered 200 with its deny decision
// (STORE_UNAVAILABLE): the client reads one body for every decision.
// Thread-safety: a pure function.
#ifndef INTERLOCK_CORE_APP_OUTCOME_STATUS_H_
#define INTERLOCK_CORE_APP_OUTCOME_STATUS_H_

#include "interlock/outcome.h"
#include "interlock/result.h"

namespace interlock::core {

inline unsigned HttpStatusOf(const Outcome& o) {
  switch (o.kind) {
    case OutcomeKind::kAllow:
    case OutcomeKind::kDeny:
    case OutcomeKind::kApprovalRequired:
    case OutcomeKind::kRehearsalRequired:
      return 200;
    case OutcomeKind::kError:
      break;
  }
  switch (o.cause) {
    case ErrorKind::kNotFound:
      return 404;
    case ErrorKind::kPermissionDenied:
      return 403;
    case ErrorKind::kAlreadyExists:
      return 409;
    case ErrorKind::kInvalidArgument:
      return 400;
    case ErrorKind::kUnavailable:
    case ErrorKind::kTimeout:
    case ErrorKind::kCorrupt:
    case ErrorKind::kInternal:
      break;
  }
  return 200;  // a STORE_UNAVAILABLE deny: still a decision
}

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_APP_OUTCOME_STATUS_H_
