// The approval use cases every door calls (docs/approvals.md): the reviewers' queue and
// an approval's review page, a reviewer's vote (with edited arguments, or for the rest of
// the run), the revocation of a run grant, the answer of the person at the client (vote
// as the local user, then release), the agent's withdrawal, the withdrawal of an approval
// whose asker can no longer hear the answer, and the release of an approved call. Written
// once here, so the HTTP API, the MCP gateway (stdio and HTTP) and the Claude Code hook
// apply the same rules in the same order; a door only parses its input and maps the
// answer to its wire.
//
// Holds the state store (core/ports/store.h), a clock and optionally the policy source,
// none owned. Thread-safe as the store is: every method may be called from any thread;
// each blocks for the store's transactions (call it off an event loop).
#ifndef INTERLOCK_CORE_APP_APPROVALS_H_
#define INTERLOCK_CORE_APP_APPROVALS_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "common/time.h"
#include "core/app/policy_source.h"
#include "core/ports/approvals.h"
#include "core/ports/run_store.h"
#include "core/ports/store.h"
#include "core/roles.h"
#include "interlock/result.h"

namespace interlock::policy {
struct PolicySet;
}

namespace interlock::core {

// `call` with its decision's sealed arguments opened with `store`'s audit key
// (core::OpenSealedArguments of approval_rules.h), or that failure.
Result<StoredCall> OpenSealedArguments(const RunStore& store, Result<StoredCall> call);
// `call` with its decision's sealed arguments shown as their keyed hashes, for a reader
// who is not the agent's door (core::HashSealedArguments), or that failure.
Result<StoredCall> HashSealedArguments(const RunStore& store, Result<StoredCall> call);

// The rule of the deny Approvals::ReleaseToRun answers for an approved call an earlier
// delivery already released (one grant, one execution).
inline constexpr std::string_view kReleasedBeforeRule = "approval_used";
// That deny, for the approved call `call_id` whose allow was `allowed` (ReleaseToRun; the
// gateway under --daemon makes it from GET /v1/calls' "released_before").
Decision ReleasedBeforeDecision(std::string_view call_id, const Decision& allowed);

// Ok, or InvalidArgument: the comment of a person's answer to an approval, read by a door
// before it votes (an elicitation's form, at most `max_bytes`), held to what a vote's
// comment must be (core/app/free_text.h: no NUL, UTF-8, bounded).
Status CheckAnswerComment(std::string_view comment, size_t max_bytes);

// The comment of an approval withdrawn because its asker hung up (Approvals::WithdrawUnheard).
inline constexpr std::string_view kUnheardReason =
    "the client closed its connection before the decision was written";

class Approvals {
 public:
  // `policies` (may be null) is what Release judges a release under when the caller
  // passes no snapshot. None is owned.
  Approvals(Store* store, const Clock* clock, const PolicySource* policies = nullptr);

  // --- reads: the reviewers' queue and one approval's page ---------------------------
  Result<std::vector<Approval>> List(const ApprovalFilter& filter);
  Result<Approval> Get(std::string_view approval_id);
  // What a reviewer sees of one approval: the approval, the call as stored (arguments
  // redacted; absent once retention pruned it) and the latest calls of its run.
  struct Review {
    Approval approval;
    std::optional<StoredCall> call;
    std::vector<CallSummary> run_calls;  // empty when the run's calls cannot be read
  };
  static constexpr size_t kReviewRunCalls = 100;
  Result<Review> GetReview(std::string_view approval_id);

  // --- reviewers --------------------------------------------------------------------
  // A reviewer's vote, as a door received it.
  struct VoteAsk {
    std::string approval_id;
    Principal reviewer;
    bool approve = false;
    std::string comment;
    // An approve with edited arguments (docs/approvals.md, "Editing the arguments"): the
    // edited call is evaluated by the engine again (core::EvaluateEdit), against the run as
    // it is now, before the vote is recorded.
    std::optional<boost::json::object> edited_args;
    bool for_run = false;  // approve for the rest of the run
    // The policies the vote is judged under (the door's snapshot); null: none loaded.
    std::shared_ptr<const policy::PolicySet> policies;
  };
  // Why an edit was refused (a vote with edited arguments only).
  enum class EditRefusal {
    kNone,
    kInvalid,  // the arguments or the approval cannot be edited (kInvalidArgument)
    kPolicy,   // the policy refuses the edited call (kPermissionDenied)
  };
  // Records the vote (core::VoteInTxn). Errors are the store's (ApprovalStore::Vote); an
  // edit of an approval no longer pending is kAlreadyExists; a refused edit sets *edit.
  Result<VoteOutcome> Vote(VoteAsk ask, EditRefusal* edit = nullptr);
  // Revokes the approval "for the rest of this run" of `tool` in `run_id`
  // (Store::RevokeRunGrant): later calls ask again.
  Status RevokeRunGrant(std::string_view run_id, std::string_view tool, const Principal& actor,
                        std::string_view reason);

  // --- the person at the client -----------------------------------------------------
  // The person at the client answers a call's pending approval (the MCP client's
  // elicitation, Claude Code's permission prompt): their answer is a vote like any
  // reviewer's (role reviewer, named `reviewer`, judged under `policies` with every fact a
  // reviewer's vote is: self-approval, the run's state and the tool's max_records_per_run
  // re-checked on grant), and the call is then released to `agent_id` / `principal` (the
  // identity it was decided for), which re-checks kill switches and the run. A vote that is
  // refused withdraws the approval, so it never stays pending for nobody.
  struct LocalAnswer {
    std::string call_id;
    std::string agent_id;
    std::string principal;  // the call's, as its decision records it
    std::string reviewer;   // the local user's name ("local:alice", "claude-code-user")
    bool approve = false;
    std::string comment;
    std::string where;  // where they answered ("at the MCP client"), for the refusal
    std::shared_ptr<const policy::PolicySet> policies;
  };
  // The call as released: its decision is the answer (allow, or deny with why). An error
  // when the answer was not accepted (its message says why; kPermissionDenied for a
  // self-approval) or the store failed.
  Result<StoredCall> AnswerAsLocalUser(const LocalAnswer& answer);

  // --- the agent --------------------------------------------------------------------
  // The agent stops waiting (ApprovalStore::WithdrawApproval).
  Result<Approval> Withdraw(std::string_view approval_id, std::string_view agent_id,
                            std::string_view principal, std::string_view reason);
  // The approval of a call whose asker can no longer hear the answer (a door queued it,
  // then could not deliver the answer naming it: the client closed its connection). Nobody
  // holds the approval id, so nobody would ever poll, re-submit or withdraw it: it is
  // withdrawn in the name of the agent and principal the call was decided for, with
  // kUnheardReason. nullopt: nothing to withdraw (no approval, or decided meanwhile by a
  // reviewer, the sweeper or a kill switch: left as it is). Errors: the store's.
  Result<std::optional<Approval>> WithdrawUnheard(std::string_view call_id,
                                                  std::string_view agent_id,
                                                  std::string_view principal);

  // Times out (APPROVAL_TIMEOUT, audited) or escalates every pending approval past its
  // deadline now (ApprovalStore::ExpireApprovals): the daemon's sweeper does this; a door
  // without one (the standalone gateway and hook) calls it before it reads an approval.
  Result<std::vector<ApprovalChange>> ExpireOverdue();

  // The call, released on its first delivery (ApprovalStore::ReleaseCall), judged under
  // `policies` (null: the policy source's current set, when there is one).
  Result<StoredCall> Release(std::string_view call_id, std::string_view agent_id,
                             std::string_view principal,
                             std::shared_ptr<const policy::PolicySet> policies = {});
  // Release for a door that runs the call itself (the MCP gateway forwards it to the
  // server): one grant, one execution. The read that releases the approved call answers
  // its allow; any later read (a second identical call attached to the same pending
  // approval, a requestState replayed to another daemon or after a restart) answers deny
  // APPROVAL_DENIED, rule kReleasedBeforeRule, saying the approval already ran its call:
  // a reviewer's grant "for the rest of the run" lets the agent call again, a plain grant
  // does not. Every other answer is Release's.
  Result<StoredCall> ReleaseToRun(std::string_view call_id, std::string_view agent_id,
                                  std::string_view principal,
                                  std::shared_ptr<const policy::PolicySet> policies = {});

 private:
  Store* store_;
  const Clock* clock_;
  const PolicySource* policies_ = nullptr;
};

// The reviewer page's link for one approval, "{public_url}/ui/#/approvals/{id}" (trailing
// slashes of the base dropped): the one shape every door's answer and every notice uses.
std::string ApprovalLink(std::string_view public_url, std::string_view approval_id);

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_APP_APPROVALS_H_
