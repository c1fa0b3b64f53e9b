// The Claude Code hook input, as the command hook and its tests name it. The contract and
// the parser live in the core (core/app/claude_code.h), shared with the daemon's HTTP hook.
#ifndef INTERLOCK_CLI_HOOK_INPUT_H_
#define INTERLOCK_CLI_HOOK_INPUT_H_

#include "core/app/claude_code.h"

namespace interlock::cli {

using core::HookEvent;
using core::HookEventName;
using core::HookInput;
using core::kMaxHookInputBytes;
using core::kMaxHookInputDepth;
using core::ParseHookInput;

}  // namespace interlock::cli

#endif  // INTERLOCK_CLI_HOOK_INPUT_H_
