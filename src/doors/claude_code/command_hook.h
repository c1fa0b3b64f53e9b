// The Claude Code command hook (`interlock hook claude-code`): one invocation reads one hook
// input on stdin, decides or records it, and prints the answer on stdout (the contract of
// doors/claude_code/contract.h, shared with the daemon's HTTP hook). It decides on this
// machine (a policy file and the embedded store, through core/app/standalone.h) or through
// `interlock serve` (--daemon). The CLI's `hook` command (src/cli/hook_cmd.cc) parses the
// flags into CommandHookOptions and calls RunCommandHook; command_hook.cc says the semantics
// of every event.
//
// Fails closed the Claude Code way: every failure of Interlock itself (bad input, bad policy,
// store unavailable, an exception) prints a deny and exits 0.
// Thread-safety: one invocation per process (it reads stdin and may end the process).
#ifndef INTERLOCK_DOORS_CLAUDE_CODE_COMMAND_HOOK_H_
#define INTERLOCK_DOORS_CLAUDE_CODE_COMMAND_HOOK_H_

#include <string>

#include "core/app/daemon_channel.h"
#include "core/app/standalone.h"

namespace interlock::claude_code {

// Claude Code cancels a command hook after its `timeout` (60 s in the hooks reference
// this was written against; newer releases allow more): the default wait stays well under
// it, so a slow reviewer ends in our deny, never in Claude Code's timeout.
inline constexpr int kDefaultApprovalWaitSeconds = 40;
inline constexpr int kMaxApprovalWaitSeconds = 3600;

// The hook's flags (docs/claude-code.md).
struct CommandHookOptions {
  std::string policy;     // --policy: the policy file (standalone)
  std::string agent;      // --agent: the policy's agent (default: its only one)
  std::string store;      // --store: the embedded store (default: DefaultStorePath())
  bool create = false;    // --create: make a missing directory of a named --store
  std::string daemon;     // --daemon URL: `interlock serve` decides
  std::string daemon_ca;  // --daemon-ca
  std::string token_env;  // --token-env: the variable holding the agent's token
  int approval_wait_seconds = kDefaultApprovalWaitSeconds;
  std::string allowed_as = "allow";  // or "no-objection"
  std::string workspace;             // --workspace: pins ${workspace} instead of the input's cwd
  // pre-tool-use, post-tool-use, permission-request, permission-denied (HookEventFlag)
  // or auto (the event hook_event_name names).
  std::string event = "pre-tool-use";
  // How the embedded store is opened (the composition root's; not owned). Standalone only.
  const core::LocalStores* stores = nullptr;
  // The daemon client --daemon asks through (the composition root's; not owned). With
  // --daemon and none, every call is denied (fail closed).
  const core::DaemonConnector* daemon_connector = nullptr;
};

// Serves one hook invocation (stdin to stdout): the process's exit code, 0 (every answer,
// a deny included, is printed; a standalone decision may end the process once durable).
int RunCommandHook(const CommandHookOptions& opt);

}  // namespace interlock::claude_code

#endif  // INTERLOCK_DOORS_CLAUDE_CODE_COMMAND_HOOK_H_
