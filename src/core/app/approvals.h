// The approval use cases every door calls (docs/approvals.md): a reviewer's vote (with
// edited arguments, or for the rest of the run), the answer of the person at the client
// (vote as the local user, then release), the agent's withdrawal, and the release of an
// approved call. Written once here, so the HTTP API, the MCP gateway (stdio and HTTP) and
// the Claude Code hook apply the same rules in the same order; a door only parses its input
// and maps the answer to its wire.
//
// Holds the approval and run ports (core/ports/approvals.h, core/run_store.h) and a clock,
// none owned. Thread-safe as the ports are: every method may be called from any thread;
// each blocks for the store's transactions (call it off an event loop).
#ifndef INTERLOCK_CORE_APP_APPROVALS_H_
#define INTERLOCK_CORE_APP_APPROVALS_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "common/time.h"
#include "core/ports/approvals.h"
#include "core/roles.h"
#include "core/run_store.h"
#include "interlock/result.h"

namespace interlock::policy {
struct PolicySet;
}

namespace interlock::core {

class Approvals {
 public:
  // `store` and `runs` are usually one object (the state store); none is owned.
  Approvals(ApprovalStore* store, RunStore* runs, const Clock* clock)
      : store_(store), runs_(runs), clock_(clock) {}

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

  // The agent stops waiting (ApprovalStore::WithdrawApproval).
  Result<Approval> Withdraw(std::string_view approval_id, std::string_view agent_id,
                            std::string_view principal, std::string_view reason);

  // The call, released on its first delivery (ApprovalStore::ReleaseCall).
  Result<StoredCall> Release(std::string_view call_id, std::string_view agent_id,
                             std::string_view principal,
                             std::shared_ptr<const policy::PolicySet> policies);

 private:
  ApprovalStore* store_;
  RunStore* runs_;
  const Clock* clock_;
};

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_APP_APPROVALS_H_
