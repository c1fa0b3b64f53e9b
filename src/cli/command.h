// Subcommand registry for the `interlock` program.
//
// Each *_cmd.cc file registers one top-level subcommand with a static
// CommandRegistration, so adding a command touches no shared file. The registered
// function adds its CLI11 subcommand to `app`; its callback stores the process exit
// code into *exit_code.
#ifndef INTERLOCK_CLI_COMMAND_H_
#define INTERLOCK_CLI_COMMAND_H_

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

namespace interlock::cli {

// Exit codes shared by every subcommand.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the command ran and found a problem (e.g. policy errors)
inline constexpr int kExitUsage = 2;    // bad flags or unreadable input

using AddCommandFn = void (*)(CLI::App& app, int* exit_code);

std::vector<std::pair<std::string_view, AddCommandFn>>& CommandRegistry();

struct CommandRegistration {
  CommandRegistration(std::string_view name, AddCommandFn fn) {
    CommandRegistry().emplace_back(name, fn);
  }
};

// A subcommand whose flags are bound to one Options value: `cmd` to add the flags to,
// `options` to bind them to (owned by the subcommand's callback, so it lives as long as the
// application does).
template <typename Options>
struct Subcommand {
  CLI::App* cmd;
  Options* options;
};

// Adds subcommand `name` (described by `about`) to `parent`: when it is chosen, `run(options)`
// runs and its exit code goes to *exit_code.
template <typename Options, typename Run>
Subcommand<Options> AddSubcommand(CLI::App& parent, std::string name, std::string about,
                                  int* exit_code, Run run) {
  auto options = std::make_shared<Options>();
  CLI::App* cmd = parent.add_subcommand(std::move(name), std::move(about));
  cmd->callback([options, exit_code, run] { *exit_code = run(*options); });
  return {cmd, options.get()};
}

}  // namespace interlock::cli

#endif  // INTERLOCK_CLI_COMMAND_H_
