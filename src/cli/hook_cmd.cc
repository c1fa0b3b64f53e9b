// `interlock hook claude-code`: the flags of the Claude Code command hook. The door itself
// (reading the hook input, deciding, answering) is doors/claude_code/command_hook.h; this
// command hands it the embedded store's backend (cli/local_store.h).
#include <memory>
#include <string>

#include "cli/cli_util.h"
#include "cli/command.h"
#include "cli/local_store.h"
#include "doors/claude_code/command_hook.h"

namespace interlock::cli {
namespace {

struct HookFlags {
  EnforcementFlags enforcement;
  claude_code::CommandHookOptions hook;
};

int RunHook(HookFlags& flags) {
  static const EmbeddedStores kStores;
  ApplyEnforcementFlags(flags.enforcement, &kStores, &flags.hook);
  flags.hook.daemon_connector = &DaemonClientConnector();
  return claude_code::RunCommandHook(flags.hook);
}

void AddHook(CLI::App& app, int* exit_code) {
  CLI::App* hook = app.add_subcommand("hook", "Agent-framework hooks that ask Interlock first");
  hook->require_subcommand(1);
  auto [cc, flags] = AddSubcommand<HookFlags>(
      *hook, "claude-code",
      "Claude Code hook (PreToolUse, PermissionRequest, PostToolUse, PermissionDenied: "
      "--event): reads the hook JSON on stdin, prints the permission decision. Every "
      "Interlock failure prints a deny.",
      exit_code, &RunHook);
  claude_code::CommandHookOptions* opt = &flags->hook;
  AddEnforcementFlags(cc, &flags->enforcement);
  cc->add_option("--approval-wait", opt->approval_wait_seconds,
                 "With --daemon: seconds to wait for a reviewer's verdict on a call needing "
                 "approval, counted from the hook's start (default 40; keep it under the "
                 "hook's timeout in Claude Code's settings, 60 s unless configured); then "
                 "the call is denied with the approval's id")
      ->check(CLI::Range(0, claude_code::kMaxApprovalWaitSeconds));
  cc->add_option("--workspace", opt->workspace,
                 "Pin ${workspace} in the policy to this directory (made absolute) instead of "
                 "the hook input's cwd, which follows a `cd` in Claude Code's Bash tool");
  cc->add_option("--event", opt->event,
                 "Which Claude Code hook event this is: pre-tool-use (default; decides the "
                 "call), permission-request (the same decision for Claude Code's permission "
                 "dialog; a call the PreToolUse hook decided gets the verdict already given), "
                 "post-tool-use (records that the call the PreToolUse hook allowed or "
                 "answered `ask` ran, and its result; never blocks, exits 0), "
                 "permission-denied (records a denial Claude Code made on its own; answers "
                 "{}) or auto (the event the input's hook_event_name names). An input of "
                 "another event than the one given is refused")
      ->check(CLI::IsMember(
          {"pre-tool-use", "permission-request", "post-tool-use", "permission-denied", "auto"}));
  cc->add_option("--allowed-as", opt->allowed_as,
                 "What an allowed call answers: allow (default; skips Claude Code's "
                 "permission prompt) or no-objection (no decision: Claude Code's own "
                 "permission rules and prompts still apply)")
      ->check(CLI::IsMember({"allow", "no-objection"}));
}

const CommandRegistration kRegisterHook("hook", &AddHook);

}  // namespace
}  // namespace interlock::cli
