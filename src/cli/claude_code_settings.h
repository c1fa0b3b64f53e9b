// The Claude Code managed settings Interlock's rollout writes (`interlock claude-code
// setup`) and checks (`interlock doctor --claude-code`): docs/claude-code.md.
//
// The settings register one HTTP hook per event in kClaudeCodeHookEvents, each posting to
// the daemon's `POST /v1/hooks/claude-code` with `Authorization: Bearer $TOKEN_ENV` (the
// variable listed in the hook's `allowedEnvVars`, else Claude Code sends an empty string).
// The deciding events (PreToolUse, PermissionRequest) carry `"onFailure": "block"` and a
// `timeout`: an unreachable daemon, a timeout or a non-2xx answer blocks the tool instead
// of letting it run. `allowManagedHooksOnly: true` makes Claude Code ignore the hooks of
// user, project and local settings (which an agent can write).
// Thread-safety: plain functions over values.
#ifndef INTERLOCK_CLI_CLAUDE_CODE_SETTINGS_H_
#define INTERLOCK_CLI_CLAUDE_CODE_SETTINGS_H_

#include <array>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "interlock/result.h"

namespace interlock::cli {

// The events every developer's Claude Code posts to Interlock, in the settings' order.
inline constexpr std::array<std::string_view, 6> kClaudeCodeHookEvents = {
    "PreToolUse",       "PermissionRequest", "PostToolUse",
    "PermissionDenied", "SubagentStart",     "SubagentStop"};

// True for the events whose hook failure must block the tool (PreToolUse,
// PermissionRequest); the others report what happened and cannot block it.
bool ClaudeCodeEventBlocks(std::string_view event);

// The daemon's path for Claude Code's HTTP hooks.
inline constexpr std::string_view kClaudeCodeHookPath = "/v1/hooks/claude-code";

// Where Claude Code reads managed settings on Linux.
inline constexpr std::string_view kLinuxManagedSettingsPath =
    "/etc/claude-code/managed-settings.json";

struct ManagedSettingsOptions {
  std::string hook_url;                       // from ClaudeCodeHookUrl
  std::string token_env = "INTERLOCK_TOKEN";  // the variable holding each developer's token
  int timeout_seconds = 30;                   // the deciding hooks' timeout
};

// True when `host` (as in a URL: "127.0.0.1", "[::1]", "localhost") is this machine.
bool IsLoopbackHost(std::string_view host);

// The hook URL for the daemon at `daemon_url` (http(s)://HOST[:PORT][/PREFIX], or already
// ending in /v1/hooks/claude-code): https unless HOST is loopback (a token and every tool
// call's arguments travel in it); no user info, query or fragment. Errors say why.
Result<std::string> ClaudeCodeHookUrl(std::string_view daemon_url);

// The daemon's base URL of a hook URL (the part before /v1/hooks/claude-code), "" when
// `hook_url` is not an Interlock hook URL.
std::string DaemonBaseOfHookUrl(std::string_view hook_url);

// A valid environment variable name ([A-Za-z_][A-Za-z0-9_]*).
bool IsEnvVarName(std::string_view name);

// The managed settings object (exact shape: tests/unit/cli/claude_code_settings_test.cc).
boost::json::object ManagedSettings(const ManagedSettingsOptions& options);

// `value` as indented JSON text ending in a newline (the file an administrator reads).
std::string IndentedJson(const boost::json::value& value);

}  // namespace interlock::cli

#endif  // INTERLOCK_CLI_CLAUDE_CODE_SETTINGS_H_
