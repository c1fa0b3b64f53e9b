// Outcome: the core's one answer to a door, whatever the door's protocol (issue 57; the
// contract and the doors' tables: docs/design.md, "One outcome").
//
// The core answers every call with a Decision and, when the call could not be decided at
// all, an error (core::GuardResponse). Which of the five kinds below that is, is computed
// here, in OutcomeOf, and nowhere else: no door re-derives "is this an error or a deny".
// Each door maps an Outcome to its protocol in ONE named function (HttpStatusOf,
// HookAnswerFor, Door::Answer, ...) with a switch over OutcomeKind without a default, so that
// a kind added here fails the build (-Wswitch -Werror) until every door maps it.
//
// Fail closed: every kind but kAllow is not an allow. kRehearsalRequired (Interlock's fifth
// kind, docs/policy.md#rehearsal) is never an allow; kError (Envoy ext_authz's Error, as
// against Denied) always carries a deny decision.
// Thread-safety: plain value types and a pure function.
#ifndef INTERLOCK_OUTCOME_H_
#define INTERLOCK_OUTCOME_H_

#include <optional>
#include <string_view>

#include "interlock/decision.h"
#include "interlock/result.h"

namespace interlock {

enum class OutcomeKind {
  kAllow,              // the call may proceed (shadow mode's unenforced denies included)
  kDeny,               // decided: refused by policy, budget, kill switch, ...
  kApprovalRequired,   // decided: held for a reviewer
  kRehearsalRequired,  // decided: rehearse first, then report (never an allow)
  kError,              // not decided: the request was refused or the core could not serve
};

struct Outcome {
  OutcomeKind kind = OutcomeKind::kError;
  // kError only: why the call was not decided. The request's own fault: kNotFound (unknown
  // run or call), kPermissionDenied (another agent's run or call), kAlreadyExists (an
  // Idempotency-Key sent with another request, a rehearsal reported twice),
  // kInvalidArgument (a request the core cannot decide). The core's: kUnavailable (the store
  // or the audit sink cannot serve; also a decision STORE_UNAVAILABLE or AUDIT_UNAVAILABLE
  // with no error), kTimeout, kCorrupt, kInternal. kInternal for the other kinds.
  ErrorKind cause = ErrorKind::kInternal;

  bool allows() const { return kind == OutcomeKind::kAllow; }
  friend bool operator==(const Outcome&, const Outcome&) = default;
};

// The one computation of a call's outcome from the core's decision and error. An error wins
// over the decision (it is a deny); a STORE_UNAVAILABLE or AUDIT_UNAVAILABLE decision is an
// error of cause kUnavailable; otherwise the verdict says.
inline Outcome OutcomeOf(const Decision& d, const std::optional<ErrorKind>& error) {
  if (error) return {OutcomeKind::kError, *error};
  if (d.code == Code::kStoreUnavailable || d.code == Code::kAuditUnavailable) {
    return {OutcomeKind::kError, ErrorKind::kUnavailable};
  }
  switch (d.verdict) {
    case Verdict::kAllow:
      return {OutcomeKind::kAllow};
    case Verdict::kDeny:
      return {OutcomeKind::kDeny};
    case Verdict::kApprovalRequired:
      return {OutcomeKind::kApprovalRequired};
    case Verdict::kRehearsalRequired:
      return {OutcomeKind::kRehearsalRequired};
  }
  return {OutcomeKind::kError};  // not a verdict: fail closed
}

// "allow" | "deny" | "approval_required" | "rehearsal_required" | "error".
inline std::string_view OutcomeKindName(OutcomeKind k) {
  switch (k) {
    case OutcomeKind::kAllow:
      return "allow";
    case OutcomeKind::kDeny:
      return "deny";
    case OutcomeKind::kApprovalRequired:
      return "approval_required";
    case OutcomeKind::kRehearsalRequired:
      return "rehearsal_required";
    case OutcomeKind::kError:
      return "error";
  }
  return "error";
}

}  // namespace interlock

#endif  // INTERLOCK_OUTCOME_H_
