// The Claude Code PreToolUse and PostToolUse hook inputs: the JSON object Claude Code
// writes to the hook's stdin ({"session_id","transcript_path","cwd","permission_mode",
// "hook_event_name","tool_name","tool_input","tool_use_id",...}, and for PostToolUse also
// "tool_response"; docs/mcp.md cites the contract).
//
// ParseHookInput is pure (no I/O) and total: any byte string yields either a HookInput
// or an error naming what is wrong, never a crash. Fields Interlock does not use are
// ignored; `tool_use_id` in particular is never copied into the call, so a retried
// identical call posts identical {tool, args} and attaches to its pending approval (the
// hook uses it only to pair a PostToolUse with its PreToolUse under --daemon).
// Thread-safety: none needed (no shared state).
#ifndef INTERLOCK_CLI_HOOK_INPUT_H_
#define INTERLOCK_CLI_HOOK_INPUT_H_

#include <cstddef>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "interlock/result.h"

namespace interlock::cli {

inline constexpr size_t kMaxHookInputBytes = 4 << 20;
inline constexpr size_t kMaxHookInputDepth = 64;

// Which hook event the input must be: `interlock hook claude-code --event`.
enum class HookEvent { kPreToolUse, kPostToolUse };

// "PreToolUse" | "PostToolUse", as Claude Code names the event in hook_event_name.
const char* HookEventName(HookEvent event);

struct HookInput {
  std::string session_id;          // non-empty
  std::string tool_name;           // non-empty
  boost::json::object tool_input;  // {} when absent
  // The session's working directory as Claude Code sent it (what ${workspace} stands for
  // in the policy); empty when absent. Not checked here: the hook refuses a relative one
  // only when the policy uses ${workspace}.
  std::string cwd;
  // Claude Code's id of this tool use, the same in PreToolUse and PostToolUse; empty when
  // absent (older Claude Code). Never part of the call.
  std::string tool_use_id;
  // PostToolUse only: what the tool returned (any JSON; null when absent).
  boost::json::value tool_response;
};

// Parses and validates the hook input: a JSON object (strict: no duplicate keys, at most
// kMaxHookInputBytes and kMaxHookInputDepth) whose hook_event_name, when present, is
// `event`'s name (required for PostToolUse, so a PreToolUse input is never taken for a
// report that the tool ran), with non-empty string session_id and tool_name and, when present, an
// object tool_input and a string cwd. Errors are kInvalidArgument with a sentence for the deny
// reason.
Result<HookInput> ParseHookInput(std::string_view text, HookEvent event = HookEvent::kPreToolUse);

}  // namespace interlock::cli

#endif  // INTERLOCK_CLI_HOOK_INPUT_H_
