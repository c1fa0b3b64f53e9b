#include "interlock/tool_call.h"

#include <limits>

namespace interlock {

void AddUsage(const Usage& usage, RunState* state) {
  constexpr uint64_t kMaxTokens = std::numeric_limits<uint64_t>::max();
  constexpr int64_t kMaxCost = std::numeric_limits<int64_t>::max();
  state->tokens =
      usage.tokens > kMaxTokens - state->tokens ? kMaxTokens : state->tokens + usage.tokens;
  if (usage.cost_micros > 0) {
    state->cost_micros = usage.cost_micros > kMaxCost - state->cost_micros
                             ? kMaxCost
                             : state->cost_micros + usage.cost_micros;
  }
}

}  // namespace interlock
