// `interlock`: the command-line front door. Subcommands live in *_cmd.cc files.
#include <algorithm>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "cli/command.h"
#include "common/spelling.h"

namespace interlock::cli {

std::vector<std::pair<std::string_view, AddCommandFn>>& CommandRegistry() {
  static std::vector<std::pair<std::string_view, AddCommandFn>> registry;
  return registry;
}

namespace {

// The deepest subcommand the parse reached (`app` itself when none).
const CLI::App* Deepest(const CLI::App& app) {
  const CLI::App* at = &app;
  for (;;) {
    std::vector<const CLI::App*> subs = at->get_subcommands([](const CLI::App*) { return true; });
    const auto parsed =
        std::find_if(subs.begin(), subs.end(), [](const CLI::App* s) { return s->parsed(); });
    if (parsed == subs.end()) return at;
    at = *parsed;
  }
}

// "did you mean ...?" lines for what the parse could not place: an unknown --flag gets the
// nearest flag of the command it was given to, an unknown word where a command is
// expected the nearest command.
void SuggestSpelling(const CLI::App& app) {
  const CLI::App* at = Deepest(app);
  std::vector<std::string> flags, commands;
  for (const CLI::Option* o : at->get_options()) {
    for (const std::string& n : o->get_lnames()) flags.push_back("--" + n);
  }
  for (const CLI::App* sub : at->get_subcommands([](const CLI::App*) { return true; })) {
    commands.push_back(sub->get_name());
  }
  for (const std::string& arg : at->remaining()) {
    const bool flag = arg.rfind("--", 0) == 0;
    const std::string word = flag ? arg.substr(0, arg.find('=')) : arg;
    const std::string best = NearestName(word, flag ? flags : commands);
    if (!best.empty()) {
      std::cerr << "interlock: unknown " << (flag ? "option " : "command ") << word
                << "; did you mean " << best << "?\n";
    }
  }
}

}  // namespace

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
    if (rc != 0) interlock::cli::SuggestSpelling(app);
    return rc == 0 ? 0 : interlock::cli::kExitUsage;
  }
  return exit_code;
}
