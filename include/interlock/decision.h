// Decision: what Interlock answers for one tool call, identical at every front door.
//
// Codes are a stable, documented contract (docs/policy.md#decision-codes): clients,
// dashboards and replays branch on them. Add codes at the end; never renumber or rename.
// Thread-safety: plain value types.
#ifndef INTERLOCK_DECISION_H_
#define INTERLOCK_DECISION_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

namespace interlock {

// kRehearsalRequired: the call may proceed only after a rehearsal of it succeeded
// (docs/policy.md#rehearsal); the door sends the rehearsal and reports its outcome, the core
// then decides the real call. Never an allow.
enum class Verdict { kAllow, kDeny, kApprovalRequired, kRehearsalRequired };

enum class Code {
  kAllowed,
  kApprovalRequired,
  kToolBlocked,
  kToolNotAllowed,
  kConstraintViolated,
  kScopeViolated,
  kRecordLimitExceeded,
  kBudgetExceeded,
  kRunHalted,
  kFrozen,
  kKillSwitch,
  kUnknownAgent,
  kInvalidRequest,
  kApprovalDenied,
  kApprovalTimeout,
  kUnauthenticated,
  kStoreUnavailable,
  kAuditUnavailable,
  kWorkflowViolation,
  kFlowViolation,
  kRateLimited,
  kQuotaExceeded,
  kEgressDenied,  // a connection of the egress proxy (src/doors/egress) that egress.allow refuses
  kRehearsalRequired,
  kRehearsalFailed,
  kOnBehalfOfRequired,  // the tool's on_behalf_of rule: no human, or not one it accepts
  // An Idempotency-Key replay or an approval redemption by another identity than the one
  // the decision was made for (agent, issuer, subject, on-behalf-of; docs/api.md).
  kIdentityMismatch,
  // An allowed call to an upstream whose credential (token exchange, client credentials;
  // docs/identity.md#upstream-credentials) could not be obtained: nothing was forwarded.
  kCredentialUnavailable,
};
inline constexpr int kCodeCount = static_cast<int>(Code::kCredentialUnavailable) + 1;

// "allow" | "deny" | "approval_required" | "rehearsal_required".
std::string_view VerdictName(Verdict v);
// "ALLOWED", "TOOL_BLOCKED", ...
std::string_view CodeName(Code c);
std::optional<Code> ParseCode(std::string_view name);
std::optional<Verdict> ParseVerdict(std::string_view name);

// A message for people outside the decision path (on-call channel, escalation contacts).
struct Notification {
  enum class Kind { kEscalation, kFlagged };
  Kind kind = Kind::kEscalation;
  std::string channel;                // the policy's `notify` target, e.g. "#oncall-agents"
  std::vector<std::string> contacts;  // escalation.contacts, in order
  std::string text;                   // one human sentence
  // What happened, for the webhook's "event" (docs/operations.md#webhooks):
  // "approval_requested" | "approval_escalated" | "approval_timed_out" |
  // "approval_cancelled"; empty: "flagged" (kFlagged) or "escalation" (a policy
  // escalation, such as on_budget_exceeded: halt_and_escalate). Not part of the decision's
  // JSON or its audit record.
  std::string event;
  // Approval notices: the approval and its reviewer page ("{public_url}/ui/#/approvals/{id}";
  // opening it needs a signed-in reviewer). Empty for other notices. Webhook fields only.
  std::string approval_id;
  std::string approval_url;
};

// A decision's rehearsal part (docs/policy.md#rehearsal). For REHEARSAL_REQUIRED: what to
// rehearse (`args`, the call's arguments with the rule's merged in; `upstream`, the staging
// upstream, empty for the same one). For the decision of a rehearsed call: the rehearsal's
// call id and outcome (`output` capped to kMaxRehearsalOutputBytes, `error`).
struct Rehearsal {
  boost::json::object args;
  std::string upstream;
  std::string args_sha256;  // of the call's own arguments (ArgsSha256), to bind the report
  std::string call_id;
  bool reported = false;  // the outcome fields below are set
  bool ok = false;
  std::string output;  // canonical JSON text of the rehearsal's result, capped
  std::string error;
};
inline constexpr size_t kMaxRehearsalOutputBytes = 4096;

struct Decision {
  Verdict verdict = Verdict::kDeny;
  Code code = Code::kInvalidRequest;
  std::string reason;  // one human sentence: what was decided and why
  std::string rule;    // stable id of the deciding rule, e.g. `tools.blocked["x"]`
  std::string at;      // where that rule is written: "file.yaml:12:7" (empty if none)
  std::string agent_id;
  std::string tool;
  // Shadow mode: the verdict and code enforce mode would have given. When set, the
  // decision itself is an allow and these say what was not enforced.
  std::optional<Verdict> shadow_verdict;
  std::optional<Code> shadow_code;
  std::vector<Notification> notifications;
  // Approval requirements, meaningful when verdict == kApprovalRequired.
  int approval_timeout_seconds = 0;  // 0: the deployment's default
  bool auto_deny_on_timeout = true;
  int approvals_required = 1;
  // RATE_LIMITED: seconds until the tool's window has room again (>= 1); 0 otherwise.
  int64_t retry_after_s = 0;
  // APPROVAL_REQUIRED of a call whose labels came from the tool's own declaration (MCP
  // annotations; the policy writes none for it): those labels, kept with the decision so
  // that the call adds them to its run when a reviewer releases it (core::ApplyRelease).
  std::vector<std::string> declared_labels;
  std::optional<Rehearsal> rehearsal;
  // An approved call whose arguments a reviewer edited (docs/approvals.md, "Editing the
  // arguments"): the arguments to run the tool with, instead of those the agent sent.
  std::optional<boost::json::object> arguments;
  // The names of `arguments` whose values are sealed (a redacted argument the reviewer
  // edited, audit::Redactor::SealFields): as the store keeps them. core::Calls opens them
  // before any door reads the decision; a door never sees this non-empty.
  std::vector<std::string> sealed_arguments;
  // An allow covered by an approval given "for the rest of this run" (docs/approvals.md):
  // that approval's id. The call needed an approval and nothing else stood in its way.
  std::string covered_by;
  // The matched tool rule's credential_scope (docs/identity.md#upstream-credentials): the
  // scopes an upstream credential for this call may carry; unset: the tool names none (the
  // upstream's default scope). Set by the engine on an allow; not part of the decision's
  // JSON (the door reads it before forwarding).
  std::optional<std::vector<std::string>> credential_scope;

  bool allowed() const { return verdict == Verdict::kAllow; }
};

// The decision object as JSON: {"decision","code","reason","rule","at",...}. The shape
// is shared by `interlock decide`, the HTTP API and the MCP gateway.
boost::json::object DecisionToJson(const Decision& d);
// The "rehearsal" member of the decision object: {"args","upstream"} before the rehearsal,
// {"call_id","ok","output"|"error"} after it.
boost::json::object RehearsalToJson(const Rehearsal& r);

// A deny with the given code and reason, for errors outside the engine (bad request,
// store unavailable). Fail closed: every caller that cannot decide uses this.
Decision DenyDecision(Code code, std::string reason, std::string rule = {});

}  // namespace interlock

#endif  // INTERLOCK_DECISION_H_
