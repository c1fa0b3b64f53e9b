// Engine-internal: the checks over sequences (workflow, rate limits and quotas, flows)
// that Evaluate() runs in its order of checks, and the helpers of engine.cc they share.
// Pure like the rest of the engine: no I/O, no clock; the public entry points are in
// engine.h (Evaluate, ProceedEffects, ResultMove, ApplyResult, RateLimitFor).
// Thread-safety: reentrant; inputs are read-only.
#ifndef INTERLOCK_ENGINE_SEQUENCE_H_
#define INTERLOCK_ENGINE_SEQUENCE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "engine/engine.h"
#include "policy/workflow.h"

namespace interlock::engine::internal {

// From engine.cc, so both files word reasons and compare values the same way.
bool CheckArgument(const policy::ArgConstraint& c, const boost::json::object& args,
                   std::string* why);
bool JsonValuesEqual(const boost::json::value& a, const boost::json::value& b);
std::string QuoteName(std::string_view s);
std::string ShowValue(const boost::json::value& v);
// Micro-dollars as a price: "$2.00", "$2.000001", "-$0.50".
std::string FormatUsd(int64_t micros);

// Workflow: false (and `d` filled with WORKFLOW_VIOLATION) when the run's current state
// does not permit the call. On success `*permit` is the state's entry that permits it,
// or nullptr (no workflow, or the tool is in always_allowed).
bool CheckWorkflow(const policy::AgentPolicy& p, const RunState& state, const ToolCall& call,
                   const policy::WorkflowPermit** permit, Decision* d);

// Rate limits and quotas: false (and `d` filled with RATE_LIMITED or QUOTA_EXCEEDED) when
// the call would go over one, or when one applies and the caller gave no counts.
bool CheckRateAndQuotas(const policy::AgentPolicy& p, const policy::ToolRule& rule,
                        const EvalContext& ctx, Decision* d);

// Flows: false when a flow rule decides the call (FLOW_VIOLATION, or APPROVAL_REQUIRED
// naming the flow). A deny wins over an approval.
bool CheckFlows(const policy::AgentPolicy& p, const RunState& state, const policy::ToolRule& rule,
                const ToolCall& call, Decision* d);

}  // namespace interlock::engine::internal

#endif  // INTERLOCK_ENGINE_SEQUENCE_H_
