// Fuzzes CheckShellCommand: any bytes must give a verdict, never a crash, a hang or unbounded
// recursion; a refusal always says why; a line with a deny-pattern command is never allowed
// even under permissive flags and an allow pattern for everything it could be; what the
// reader reports (ReadShellCommands) exists for every line it allows. The bash
// differential test (tests/unit/policy/shell_bash_differential_test.cc) checks the reading
// against bash itself.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "policy/shell_command.h"

namespace {

std::shared_ptr<const interlock::policy::ShellMatcher> Make(bool permissive) {
  interlock::policy::ShellRules r;
  r.allow = {"git status *", "ls *", "cat /ws/**", "wc /ws/**", "echo *", "npm run *", "rm *"};
  r.deny = {"rm -rf *", "git push --force*"};
  r.redirect_paths = {"/ws"};
  r.cwd = "/ws";
  r.allow_substitution = permissive;
  r.allow_expansion = permissive;
  r.allow_heredoc = permissive;
  r.allow_shell_reentry = permissive;
  std::string why;
  auto m = interlock::policy::CompileShellRules(r, &why);
  if (m == nullptr) std::abort();
  return m;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto strict = Make(false);
  static const auto permissive = Make(true);
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  for (const auto* m : {strict.get(), permissive.get()}) {
    std::string why;
    const bool ok = interlock::policy::CheckShellCommand(*m, line, &why);
    if (!ok && why.empty()) std::abort();  // a refusal always says why
    if (ok && !why.empty()) std::abort();
    std::vector<interlock::policy::ShellSimpleCommand> read;
    std::string read_why;
    const bool parsed = interlock::policy::ReadShellCommands(line, &read, &read_why);
    if (ok && (!parsed || read.empty())) std::abort();  // allowed, so it was read
  }
  // Patterns are parsed by the same reader: any bytes validate or say why, never crash.
  (void)interlock::policy::ValidateShellPattern(line);
  return 0;
}
