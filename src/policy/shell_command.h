// Shell command-line constraints: "Bash, but never `rm -rf` or `curl ... | sh`".
//
// The command line is parsed (POSIX sh grammar subset: words, quoting and escapes,
// pipelines, lists `;` `&&` `||` `|` `&` and newlines, subshells and groups, redirections,
// here-documents, command and process substitution, parameter expansion), never matched as
// text. Every simple command must match an allow pattern and none may match a deny
// pattern; constructs whose effect cannot be known before running (substitution, `eval`,
// re-entering a shell, here-documents, expansions, redirections outside allowed paths)
// are violations unless the rules explicitly allow them. A line that cannot be parsed is
// a violation. The reading follows bash where bash is subtle (brace expansion with quoted
// parts, `$((` versus `$( (`, line continuations, `>&-`), or fails closed; a differential
// test runs allowed lines in bash to keep it so (tests/unit/policy). A path pattern word
// judges what the command opens, options carrying paths included. Pattern syntax and
// matching rules: docs/shell-commands.md.
// Thread-safety: a compiled ShellMatcher is immutable and shared between threads.
#ifndef INTERLOCK_POLICY_SHELL_COMMAND_H_
#define INTERLOCK_POLICY_SHELL_COMMAND_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/path_resolver.h"

namespace re2 {
class RE2;
}  // namespace re2

namespace interlock::policy {

// The rules as written in a policy, with variables (${workspace}, ${env:NAME}) resolved.
struct ShellRules {
  std::vector<std::string> allow;   // command patterns, e.g. "git status", "npm run *"
  std::vector<std::string> deny;    // command patterns, e.g. "rm -rf *", "git push --force*"
  bool allow_substitution = false;  // $(...), `...`, <(...), >(...)
  bool allow_heredoc = false;       // <<, <<-, <<<
  bool allow_expansion = false;     // $NAME, ${NAME}, $1, ~ (values unknown before running)
  bool allow_shell_reentry =
      false;  // eval, source, ., exec, sh/bash/..., alias, trap, env -S, sudo -s
  // Absolute path prefixes that redirections (> >> < <> >| 2> ...) may name, after lexical
  // normalisation against `cwd`; `/dev/null` is always allowed. Empty: only /dev/null.
  std::vector<std::string> redirect_paths;
  // Paths no word of the line may name (`path_not_pattern`, an RE2 searched in each path):
  // every word, the value after a `=` in it, each path an option word carries
  // (`-o/x`, `--output=x`) and every redirection target, resolved against `cwd` and
  // normalised, must contain no match. Null: no such rule.
  std::shared_ptr<const re2::RE2> path_not_pattern;
  std::string cwd;  // absolute; the directory relative paths resolve against (${workspace})
};

class ShellMatcher;  // compiled rules; defined in shell_command.cc

// Checks one pattern as written; nullopt when valid, else a sentence saying what is wrong
// (the loader adds file:line:column).
std::optional<std::string> ValidateShellPattern(std::string_view pattern);

// Compiles validated rules. Returns nullptr and fills *why only when a pattern is invalid
// (the loader validates each first, so this does not happen for a loaded policy).
std::shared_ptr<const ShellMatcher> CompileShellRules(const ShellRules& rules, std::string* why);

// True when `line` passes the rules; otherwise fills *why with a sentence naming the
// offending simple command or construct. With `paths`, every path the rules judge (path
// pattern words, redirection targets, path_not_pattern) must pass both as written and
// with its symbolic links resolved; without, lexically only.
bool CheckShellCommand(const ShellMatcher& matcher, std::string_view line, std::string* why,
                       const PathResolver* paths = nullptr);

// What the parser reads in a line, for tests that compare it with what bash runs: every
// simple command (nested ones included), its words after quote removal. `expanded` marks a
// word the shell still changes (substitution, parameter, glob, brace), whose text is not
// what the program receives. Returns false and fills *why when the line cannot be parsed.
struct ShellWord {
  std::string text;
  bool expanded = false;
};
struct ShellSimpleCommand {
  std::vector<ShellWord> assigns;  // NAME=value words before the command name
  std::vector<ShellWord> words;    // the command name and its arguments
};
bool ReadShellCommands(std::string_view line, std::vector<ShellSimpleCommand>* out,
                       std::string* why);

}  // namespace interlock::policy

#endif  // INTERLOCK_POLICY_SHELL_COMMAND_H_
