// Placeholder until the shell parser lands: every command line is a violation (fail closed).
#include "policy/shell_command.h"

namespace interlock::policy {

class ShellMatcher {
 public:
  ShellRules rules;
};

std::optional<std::string> ValidateShellPattern(std::string_view pattern) {
  if (pattern.empty()) return std::string("an empty command pattern matches nothing");
  return std::nullopt;
}

std::shared_ptr<const ShellMatcher> CompileShellRules(const ShellRules& rules, std::string*) {
  auto m = std::make_shared<ShellMatcher>();
  m->rules = rules;
  return m;
}

bool CheckShellCommand(const ShellMatcher&, std::string_view, std::string* why) {
  *why = "shell command constraints are not implemented in this build";
  return false;
}

}  // namespace interlock::policy
