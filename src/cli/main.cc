// `interlock`: the command-line front door. Subcommands live in *_cmd.cc files.
#include <algorithm>
#include <iostream>
#include <string_view>

#include "cli/command.h"

namespace interlock::cli {

std::vector<std::pair<std::string_view, AddCommandFn>>& CommandRegistry() {
  static std::vector<std::pair<std::string_view, AddCommandFn>> registry;
  return registry;
}

}  // namespace interlock::cli

int main(int argc, char** argv) {
  using interlock::cli::CommandRegistry;
  CLI::App app{
      "Interlock: the policy enforcement point every AI-agent tool call passes through "
      "before it runs.",
      "interlock"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "interlock 0.1.0");
  int exit_code = interlock::cli::kExitOk;
  auto& registry = CommandRegistry();
  std::sort(registry.begin(), registry.end());
  // `interlock hook claude-code` starts once per tool call: when the first argument names a
  // command, only that command's options are built (all eighteen cost ~0.4 ms of CPU at
  // every start). The parse is the same: the program takes one subcommand, so the others
  // could not match after it. Anything else (--help, --version, a typo) builds them all,
  // for the list of commands and the error.
  const auto named = std::find_if(registry.begin(), registry.end(), [&](const auto& entry) {
    return argc > 1 && entry.first == std::string_view(argv[1]);
  });
  if (named != registry.end()) {
    named->second(app, &exit_code);
  } else {
    for (const auto& [name, add] : registry) add(app, &exit_code);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : interlock::cli::kExitUsage;
  }
  return exit_code;
}
