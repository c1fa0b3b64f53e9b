// `interlock doctor`: checks an installation and says what to fix (cli/doctor.h,
// docs/operations.md#checking-an-installation). Exit 0 when nothing failed (warnings
// allowed), 1 when a check failed, 2 for bad flags.
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <chrono>
#include <iostream>
#include <memory>
#include <utility>

#include "cli/cli_util.h"
#include "cli/command.h"
#include "cli/doctor.h"
#include "cli/doctor_claude_code.h"

namespace interlock::cli {
namespace {

struct DoctorFlags {
  DoctorOptions options;
  std::string user;
  bool claude_code = false;  // --claude-code: a developer's machine, not the daemon's
  ClaudeCodeDoctorOptions claude;
  int claude_timeout_seconds = 5;
};

// --claude-code: the developer's machine (cli/doctor_claude_code.h), as the developer.
int RunClaudeCodeDoctorCommand(DoctorFlags flags) {
  flags.claude.timeout = std::chrono::seconds(flags.claude_timeout_seconds);
  bool failed = false;
  for (const DoctorFinding& f : RunClaudeCodeDoctor(flags.claude)) {
    std::cout << FormatFinding(f) << '\n';
    failed |= f.level == DoctorLevel::kFail;
  }
  std::cout.flush();
  return failed ? kExitFailure : kExitOk;
}

int RunDoctorCommand(DoctorFlags flags) {
  if (flags.claude_code) return RunClaudeCodeDoctorCommand(std::move(flags));
  DoctorOptions& o = flags.options;
  const passwd* pw = flags.user.empty() ? ::getpwuid(::geteuid()) : ::getpwnam(flags.user.c_str());
  if (pw == nullptr) {
    if (!flags.user.empty()) return Fail("doctor", "--user " + flags.user + ": no such user");
    o.owner = ::geteuid();
    o.owner_name = "uid " + std::to_string(o.owner);
  } else {
    o.owner = pw->pw_uid;
    o.owner_name = pw->pw_name;
  }
  // Run by root for the service's user: become that user for good, so that every check
  // sees what the daemon sees, and the -wal/-shm files a read-only SQLite open may create
  // are the daemon's, not root's (a root-owned -shm would stop the daemon). The umask is
  // the unit's.
  ::umask(077);
  if (::geteuid() == 0 && o.owner != 0 && pw != nullptr) {
    if (::initgroups(pw->pw_name, pw->pw_gid) != 0 ||
        ::setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) != 0 ||
        ::setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0) {
      return Fail("doctor", "cannot become " + o.owner_name + ": " + std::strerror(errno),
                  kExitFailure);
    }
    std::cout << "ok   checking as " << o.owner_name << " (the daemon's user)\n";
  }
  bool failed = false;
  for (const DoctorFinding& f : RunDoctor(o)) {
    std::cout << FormatFinding(f) << '\n';
    failed |= f.level == DoctorLevel::kFail;
  }
  std::cout.flush();
  return failed ? kExitFailure : kExitOk;
}

void AddDoctor(CLI::App& app, int* exit_code) {
  auto [cmd, flags] = AddSubcommand<DoctorFlags>(
      app, "doctor",
      "Check an installation: config, policies, store and key permissions, the audit chain "
      "against its checkpoints, sandbox and egress prerequisites; say what to fix",
      exit_code, &RunDoctorCommand);
  cmd->add_option("--config", flags->options.config, "The daemon's YAML config file");
  cmd->add_option("--policies", flags->options.policies,
                  "Policy directory or file (repeatable; overrides the config)");
  cmd->add_option("--store", flags->options.store,
                  "SQLite store file or PostgreSQL URI (default: the config's `store:`, else "
                  "serve's default)");
  AddAuditKeyFlags(cmd, &flags->options.keys_dir, &flags->options.checkpoints);
  cmd->add_option("--user", flags->user,
                  "The user the daemon runs as, who must own the store and keys (default: "
                  "the user running doctor)");
  cmd->add_flag("--claude-code", flags->claude_code,
                "Check this developer's Claude Code instead: Interlock's managed hooks in force, "
                "not switched off by local settings, the daemon reachable and accepting the "
                "token (docs/claude-code.md)");
  cmd->add_option("--managed-settings", flags->claude.managed_settings,
                  "--claude-code: the managed settings file (default "
                  "/etc/claude-code/managed-settings.json)");
  cmd->add_option("--user-settings", flags->claude.user_settings,
                  "--claude-code: the user settings file (default "
                  "$CLAUDE_CONFIG_DIR/settings.json, else ~/.claude/settings.json)");
  cmd->add_option("--project", flags->claude.project,
                  "--claude-code: the project whose .claude/settings*.json to check (default: "
                  "the current directory)");
  cmd->add_option("--token-env", flags->claude.token_env,
                  "--claude-code: the variable holding the token (default: the one the hooks "
                  "name)");
  cmd->add_option("--daemon-ca", flags->claude.ca_file,
                  "--claude-code: PEM CA bundle the daemon's certificate is verified with");
  cmd->add_option("--timeout", flags->claude_timeout_seconds,
                  "--claude-code: seconds to wait for the daemon")
      ->capture_default_str()
      ->check(CLI::Range(1, 60));
}

const CommandRegistration kRegisterDoctor("doctor", &AddDoctor);

}  // namespace
}  // namespace interlock::cli
