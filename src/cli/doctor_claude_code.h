// `interlock doctor --claude-code`: checks, on a developer's machine, that Claude Code's
// hooks to Interlock are in force (docs/claude-code.md, "Check a machine").
//
// RunClaudeCodeDoctor reads the managed settings (cli/claude_code_settings.h) and checks:
// the file is present, parses, and is closed to writers other than root; each event of
// kClaudeCodeHookEvents has an HTTP hook posting to an Interlock URL (https, or http on
// loopback) with the bearer from an environment variable listed in `allowedEnvVars`, a
// matcher that covers every tool, and (deciding events) `"onFailure": "block"`;
// `disableAllHooks` is set in no settings file (managed, user, project, project local);
// `allowManagedHooksOnly` is set, else no other settings file adds hooks to those events;
// the token variable is set; the daemon answers an authenticated request
// (POST /v1/tools/view with no tools) with the token within the timeout, as an agent.
// Thread-safety: plain functions; one bounded HTTP exchange.
#ifndef INTERLOCK_CLI_DOCTOR_CLAUDE_CODE_H_
#define INTERLOCK_CLI_DOCTOR_CLAUDE_CODE_H_

#include <chrono>
#include <string>
#include <vector>

#include "cli/doctor.h"

namespace interlock::cli {

struct ClaudeCodeDoctorOptions {
  std::string managed_settings;  // "": /etc/claude-code/managed-settings.json
  std::string user_settings;     // "": $CLAUDE_CONFIG_DIR/settings.json, else ~/.claude/...
  std::string project;           // "": the current directory
  std::string token_env;         // "": the variable the managed hooks name
  std::string ca_file;           // https: PEM CA bundle for the daemon ("" = system CAs)
  std::chrono::milliseconds timeout{5000};  // the daemon check, connect and answer
};

std::vector<DoctorFinding> RunClaudeCodeDoctor(const ClaudeCodeDoctorOptions& options);

}  // namespace interlock::cli

#endif  // INTERLOCK_CLI_DOCTOR_CLAUDE_CODE_H_
