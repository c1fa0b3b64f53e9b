// The approval rules (docs/approvals.md), once, in the core: who may vote, when a call is
// granted, what a grant re-checks, what a release checks, and which re-submission redeems
// an approval. Pure functions over the rows a backend read in its transaction; the
// backend applies the outcome (rows and audit events) in the same transaction.
//
// People, not strings: every name comparison here goes through PrincipalKey
// (common/principal_name.h), so case, width and invisible characters never make two
// names of one person count as two.
#ifndef INTERLOCK_CORE_APPROVAL_RULES_H_
#define INTERLOCK_CORE_APPROVAL_RULES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/time.h"
#include "core/ports/state_txn.h"
#include "core/run_store.h"
#include "interlock/decision.h"
#include "interlock/result.h"

namespace interlock::core {

// A vote as stored: who and "approve" | "deny".
struct VoteRow {
  std::string_view reviewer;
  std::string_view verdict;
};

// Self-approval and one vote per person: Denied when `reviewer` is the call's principal,
// its agent, or the agent's configured identity; AlreadyExists when the same person
// (by PrincipalKey) has voted on this approval already.
Status CheckReviewer(std::string_view reviewer, std::string_view approval_id,
                     std::string_view call_principal, std::string_view agent_id,
                     std::string_view agent_identity, const std::vector<VoteRow>& votes);

// The two-person rule: the distinct people (by PrincipalKey) who approved, first vote of
// each, in vote order; names joined ", " for the reason.
struct ApprovalTally {
  int approvals = 0;
  std::string reviewers;
};
ApprovalTally TallyApprovals(const std::vector<VoteRow>& votes);

// What a grant re-checks against the run as it is now: a halted or ended run, and the
// records the call touches against max_records_per_run. nullopt: grant.
struct GrantRefusal {
  Code code;
  std::string reason;
};
std::optional<GrantRefusal> CheckGrant(bool run_halted_or_ended, std::string_view tool,
                                       uint64_t call_records, uint64_t run_records_used,
                                       std::optional<uint64_t> max_records_per_run,
                                       std::string_view reviewers);

// The first delivery of a granted call: released (code kAllowed), or cancelled because a
// kill switch covers it or its run was halted or ended meanwhile.
struct ReleaseOutcome {
  Code code = Code::kAllowed;
  std::string reason;
  std::string rule;
};
ReleaseOutcome DecideRelease(const ReleaseContext& ctx);

// One approval, one execution: why approval `approval_id` cannot redeem `rq` (bound to
// the agent, run, tool and canonical arguments the reviewer saw), or "" when it can.
// `args_sha256` is the approval's; the request's is computed here.
std::string RedemptionRefusal(std::string_view approval_id, std::string_view agent_id,
                              std::string_view run_id, std::string_view tool,
                              std::string_view args_sha256, const DecideRequest& rq);

// The timing of a new pending approval for a call decided APPROVAL_REQUIRED: the
// decision's timeout (or the deployment default), its first deadline, and the hard
// maximum it may stay pending (the deadline itself when it auto-denies on timeout).
struct ApprovalPlan {
  int required = 1;
  int timeout_seconds = 0;
  TimePoint deadline;
  TimePoint hard_deadline;
};
ApprovalPlan PlanApproval(const Decision& d, TimePoint now, int default_timeout_seconds,
                          int max_wait_seconds);

// What a pending approval whose deadline has passed becomes at `now`: timed out (with
// the reason its call is denied for), or escalated to `next_deadline` (the same timeout
// again, never past the hard deadline).
struct DeadlineOutcome {
  bool time_out = true;
  std::string reason;       // when time_out
  TimePoint next_deadline;  // when escalated
};
DeadlineOutcome OnDeadline(bool auto_deny_on_timeout, int timeout_seconds, int escalation_level,
                           TimePoint deadline, TimePoint hard_deadline, TimePoint now);

// The reasons a settled-as-deny call carries: a reviewer's deny, an engaged kill switch
// (scope "global" | "agent" | "run"), the agent's withdrawal.
std::string DeniedByReason(std::string_view reviewer, std::string_view comment);
std::string KillCancelReason(std::string_view scope, std::string_view kill_reason);
std::string WithdrawnReason(std::string_view approval_id, std::string_view agent_id,
                            std::string_view reason);

// The hash an approval binds the arguments by: SHA-256 of their canonical JSON.
std::string ArgsSha256(const DecideRequest& rq);

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_APPROVAL_RULES_H_
