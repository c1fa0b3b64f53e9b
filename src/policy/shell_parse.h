// The parser of shell command lines for shell_command.cc (internal to src/policy): the
// POSIX sh subset agents send, split into simple commands with what the shell would still
// do to each word. Rules and reasons: docs/shell-commands.md.
// Thread-safety: pure functions.
#ifndef INTERLOCK_POLICY_SHELL_PARSE_H_
#define INTERLOCK_POLICY_SHELL_PARSE_H_

#include <string>
#include <string_view>
#include <vector>

namespace interlock::policy::shell_internal {

// One word after quote removal, with what the shell would still do to it.
struct Word {
  std::string text;
  bool quoted = false;     // some part was quoted or escaped
  bool expansion = false;  // $NAME, ${...}, $((...)), $(...), `...`, ~, <(...)
  bool parameter = false;  // an expansion other than substitution: $NAME ${...} $((...)) $[...] ~
  bool glob = false;       // an unquoted * ? or [
  bool brace = false;      // an unquoted {a,b} or {1..3}
};

struct Redirect {
  std::string op;  // "<", ">", ">>", "<>", ">|", "&>", "&>>", "<&", ">&", "<<", "<<-", "<<<"
  Word target;
};

struct Command {
  std::vector<Word> assigns;  // NAME=value words before the command name
  std::vector<Word> words;    // the command name and its arguments
  std::vector<Redirect> redirects;
};

struct Parsed {
  std::vector<Command> commands;  // every simple command, nested ones included
  std::string substitution;       // the first substitution construct seen, "" when none
  bool heredoc = false;
  std::vector<Word> heredoc_bodies;  // bodies of here-documents with an unquoted delimiter
  std::string error;  // non-empty: the line cannot be parsed (or uses unsupported syntax)
};

// Parses one command line; Parsed::error says why a line cannot be parsed.
Parsed Parse(std::string_view line);

// NAME=... with an unquoted, literal name.
bool IsAssignment(std::string_view raw);

}  // namespace interlock::policy::shell_internal

#endif  // INTERLOCK_POLICY_SHELL_PARSE_H_
