// The seed's support-agent-v2 policy, built directly in C++ (no YAML) for engine tests.
#ifndef INTERLOCK_TESTS_UNIT_ENGINE_SEED_POLICY_H_
#define INTERLOCK_TESTS_UNIT_ENGINE_SEED_POLICY_H_

#include <chrono>
#include <string_view>

#include "engine/engine.h"
#include "policy/policy.h"

namespace interlock::testing {

// agent support-agent-v2, file "agent-policy.yaml"; locations are made up but stable.
policy::AgentPolicy SeedPolicy();

// A fixed instant (2026-11-22T10:00:00Z) used as EvalContext.now.
std::chrono::system_clock::time_point TestNow();

// Parses `json` (must be a valid tool call) and evaluates it.
engine::Evaluation Decide(const policy::AgentPolicy* p, const RunState& state,
                          std::string_view json, const engine::EvalContext& ctx = {});

}  // namespace interlock::testing

#endif  // INTERLOCK_TESTS_UNIT_ENGINE_SEED_POLICY_H_
