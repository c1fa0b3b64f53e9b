// Where a command's store is when --store is not given: one convention for every command
// (docs/operations.md#the-store) and for the sandbox, which keeps the store's directory out
// of an MCP server's reach.
// Thread-safety: reads the environment; any thread.
#ifndef INTERLOCK_COMMON_STORE_PATH_H_
#define INTERLOCK_COMMON_STORE_PATH_H_

#include <string>
#include <string_view>

#include "interlock/result.h"

namespace interlock {

// $INTERLOCK_STORE, else $XDG_STATE_HOME/interlock/interlock.db, else
// $HOME/.local/state/interlock/interlock.db. An error when none of them is set.
Result<std::string> DefaultStorePath();

// The state directory's store alone ($XDG_STATE_HOME/interlock/interlock.db, else
// $HOME/.local/state/interlock/interlock.db): the one store whose missing directory every
// command makes (0700) unasked. Any other path, $INTERLOCK_STORE included, was named by
// someone, and a missing directory of it is more likely a typo than a wish for a new,
// empty audit trail (docs/operations.md#the-store).
Result<std::string> StateDirStorePath();

// $XDG_STATE_HOME/interlock/NAME, else $HOME/.local/state/interlock/NAME: where Interlock
// keeps its state. When neither is set, kInvalidArgument "neither XDG_STATE_HOME nor HOME is
// set" followed by `unset_hint` (what the caller needs it for).
Result<std::string> StateDirPath(std::string_view name, std::string_view unset_hint);

}  // namespace interlock

#endif  // INTERLOCK_COMMON_STORE_PATH_H_
