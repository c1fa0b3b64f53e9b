// The MCP gateway's names for tool pinning. The pin rules (new / match / changed, accepting
// a changed definition, audited) are the core's, written once in core::Pins
// (core/app/pins.h) over the PinRows port; the gateway, the daemon's MCP sessions and
// `interlock mcp pins` reach them under these names.
// Thread-safety: as core::Pins (any thread).
#ifndef INTERLOCK_MCP_PINS_H_
#define INTERLOCK_MCP_PINS_H_

#include "core/app/pins.h"

namespace interlock::mcp {

using PinStore = core::Pins;
using core::DecidePin;
using core::DefinitionDiff;
using core::PinnedDefinition;
using core::PinOutcome;
using core::PinRow;
using core::PinState;
using core::PrettyJson;
using core::ToolDefinitionHash;

}  // namespace interlock::mcp

#endif  // INTERLOCK_MCP_PINS_H_
