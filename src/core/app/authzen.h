// The OpenID AuthZEN Authorization API 1.0 evaluation requests (POST /access/v1/evaluation and
// /access/v1/evaluations, docs/gateways.md#authzen) read onto tool calls, and the core's
// decisions written back as AuthZEN answers. Shared by every door that speaks AuthZEN (the
// daemon's HTTP API today); the decision itself is core::Guard's, as for every other door.
//
// The mapping (an evaluation is one tool call of the authenticated agent):
//   * action.name is the tool (the call is checked as every door's: core::ReadToolCall,
//     the tool's name and the arguments' limits);
//   * the call's arguments are the members of context, resource.properties and
//     action.properties, plus "resource_type" and "resource_id" (resource.type, resource.id);
//     a name given twice is refused (400), never resolved by precedence;
//   * subject is the agent the bearer token authenticated, never the body: a subject.id other
//     than that agent's id is decided as a refused call (INVALID_REQUEST, audited,
//     `decision: false`); subject.type and subject.properties are not read;
//   * /evaluations: the top-level subject, action, resource and context are defaults, each
//     replaced whole by an evaluation's own; options.evaluations_semantic is execute_all
//     (default), deny_on_first_deny or permit_on_first_permit (the answer then stops at the
//     first deny or permit); without an `evaluations` array (or an empty one) the request is
//     one evaluation answered as /evaluation answers.
// Unknown members are refused (400) rather than ignored, so nothing a client means is dropped.
// Thread-safety: free functions, no state.
#ifndef INTERLOCK_CORE_APP_AUTHZEN_H_
#define INTERLOCK_CORE_APP_AUTHZEN_H_

#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "interlock/decision.h"
#include "interlock/outcome.h"
#include "interlock/result.h"
#include "interlock/tool_call.h"

namespace interlock::core {

// The most evaluations one /evaluations request may carry.
inline constexpr size_t kMaxAuthzenEvaluations = 100;
// The rule a refused evaluation (a subject that is not the authenticated agent) is recorded
// under.
inline constexpr char kAuthzenSubjectRule[] = "authzen.subject";

enum class AuthzenSemantic { kExecuteAll, kDenyOnFirstDeny, kPermitOnFirstPermit };

// One evaluation read: its tool call (call.refusal_reason set when the subject is refused).
struct AuthzenEvaluation {
  ToolCall call;
};

struct AuthzenRequest {
  std::vector<AuthzenEvaluation> evaluations;
  AuthzenSemantic semantic = AuthzenSemantic::kExecuteAll;
  bool batch_answer = false;  // answer {"evaluations": [...]} (else {"decision", "context"})
};

// Reads an AuthZEN request body: `batch` for /access/v1/evaluations. `agent_id`: the agent the
// bearer token authenticated. kInvalidArgument (its message for the 400 body) when the body
// is not an AuthZEN request this mapping can read.
Result<AuthzenRequest> ReadAuthzenRequest(const boost::json::object& body, bool batch,
                                          std::string_view agent_id);

// What the core answered one evaluation, for AuthzenAnswerJson.
struct AuthzenOutcome {
  Decision decision;
  // The core's outcome (GuardResponse::outcome()); by default an error: never true.
  Outcome outcome;
  std::string call_id;
  std::string run_id;
  std::string approval_id;   // APPROVAL_REQUIRED with a queued approval
  std::string approval_url;  // its reviewer page ("" when none is configured)
};

// {"decision": bool, "context": {...}}: decision is true only for an allowed call without
// reviewer-edited arguments and without an error; context carries the code, the reason,
// the decision id, the run and, for an approval, its id, link and the retry contract.
boost::json::object AuthzenAnswerJson(const AuthzenOutcome& outcome);

// The AuthZEN routes' one mapping of the core's outcome (docs/design.md, "One outcome"):
// 404 for an unknown run, 403 for another agent's run; 200 for every other outcome, its
// evaluation answered by AuthzenAnswerJson ("decision": true only for an allow without
// reviewer-edited arguments; false for a deny, an approval or a rehearsal required and
// every other error).
unsigned AuthzenStatusOf(const Outcome& o);

// Whether the batch stops after `decided` under `semantic`.
bool AuthzenStopsAfter(AuthzenSemantic semantic, bool decided);

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_APP_AUTHZEN_H_
