// Shell-line and git families of the adversarial variants (variants.h). Every "shell-"
// family runs the same argv as the original line in bash, maybe after allowed commands
// (tests/unit/policytest/variants_bash_test.cc runs each in bash to check it); the "git-"
// families are git's own reading of its options (git-config(1): section and key names are
// case-insensitive; git(1): `--config-env=<name>=<envvar>`; git-config(1) `alias.*`: an
// alias starting with `!` is run as a shell command).
#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "policy/shell_command.h"
#include "policytest/variants.h"

namespace interlock::policytest {
namespace {

// The words of `line` when it is one simple command with only literal words (no
// assignment, expansion, list or redirection); empty otherwise.
std::vector<std::string> LiteralWords(std::string_view line) {
  std::vector<policy::ShellSimpleCommand> cmds;
  std::string why;
  if (!policy::ReadShellCommands(line, &cmds, &why) || cmds.size() != 1) return {};
  if (!cmds[0].assigns.empty()) return {};
  std::vector<std::string> out;
  for (const policy::ShellWord& w : cmds[0].words) {
    if (w.expanded) return {};
    out.push_back(w.text);
  }
  // A redirection or a list leaves words the reader did not report: the words must
  // rebuild a line that reads the same.
  std::string rebuilt;
  for (const std::string& w : out) rebuilt += (rebuilt.empty() ? "" : " ") + ShellQuote(w);
  std::vector<policy::ShellSimpleCommand> again;
  if (!policy::ReadShellCommands(rebuilt, &again, &why) || again.size() != 1) return {};
  return out;
}

bool PlainShellWord(std::string_view w) {
  if (w.empty()) return false;
  return std::all_of(w.begin(), w.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '/' || c == '=' ||
           c == ':' || c == '@' || c == '+' || c == '%';
  });
}

std::string JoinShellWords(const std::vector<std::string>& words, size_t from = 0) {
  std::string out;
  for (size_t i = from; i < words.size(); ++i) {
    out += (out.empty() ? "" : " ") + ShellQuote(words[i]);
  }
  return out;
}

// Spellings of the command word and of the words: quotes, backslashes, ANSI-C quoting,
// braces, substitutions and $IFS.
void CommandSpellings(const std::vector<std::string>& w, std::vector<ValueVariant>* out) {
  const std::string rest = w.size() > 1 ? " " + JoinShellWords(w, 1) : "";
  const std::string& cmd = w[0];
  if (!PlainShellWord(cmd)) return;
  auto add = [&](const char* family, std::string text) {
    out->push_back({family, std::move(text)});
  };
  add("shell-quote", "'" + cmd + "'" + rest);
  add("shell-quote", "\"" + cmd + "\"" + rest);
  if (cmd.size() > 1) {
    add("shell-quote", cmd.substr(0, 1) + "''" + cmd.substr(1) + rest);
    add("shell-quote", cmd.substr(0, 1) + "\\" + cmd.substr(1) + rest);
  }
  add("shell-quote", "\\" + cmd + rest);
  add("shell-quote", "$'" + cmd + "'" + rest);
  std::string all_quoted;
  for (const std::string& x : w) all_quoted += (all_quoted.empty() ? "" : " ") + ("\"" + x + "\"");
  if (std::all_of(w.begin(), w.end(), [](const std::string& x) { return PlainShellWord(x); })) {
    add("shell-quote", all_quoted);
    if (w.size() > 1) {
      std::string braces = "{";
      for (size_t i = 0; i < w.size(); ++i) braces += (i ? "," : "") + w[i];
      add("shell-brace", braces + "}");
      std::string ifs = w[0];
      for (size_t i = 1; i < w.size(); ++i) ifs += "${IFS}" + w[i];
      add("shell-ifs", ifs);
    }
  }
  add("shell-substitution", "$(echo " + cmd + ")" + rest);
  add("shell-substitution", "`echo " + cmd + "`" + rest);
  add("shell-substitution", "$(printf %s " + cmd + ")" + rest);
  add("shell-expansion", "${IL_UNSET:-" + cmd + "}" + rest);
}

// Whole-line families: wrappers, re-entering a shell (-c, eval, here-documents, a pipe),
// and the line after an allowed command.
void LineFamilies(std::string_view line, const Seeds& seeds, std::vector<ValueVariant>* out) {
  const std::string l(line);
  const std::string q = ShellQuote(l);
  auto add = [&](const char* family, std::string text) {
    out->push_back({family, std::move(text)});
  };
  for (const char* wrap :
       {"command ", "env ", "nice ", "nohup ", "exec ", "time ", "timeout 60 ", "env -- "}) {
    add("shell-wrapper", wrap + l);
  }
  add("shell-reentry", "bash -c " + q);
  add("shell-reentry", "sh -c " + q);
  add("shell-reentry", "eval " + q);
  add("shell-reentry", "echo " + q + " | bash");
  add("shell-heredoc", "bash <<'EOF'\n" + l + "\nEOF");
  add("shell-heredoc", "bash <<< " + q);
  add("shell-group", "{ " + l + "; }");
  add("shell-group", "(" + l + ")");
  size_t used = 0;
  for (const std::string& allowed : seeds.commands) {
    if (used++ == 3) break;
    add("shell-after-allowed", allowed + " && " + l);
    add("shell-after-allowed", allowed + "; " + l);
    add("shell-after-allowed", allowed + "\n" + l);
    add("shell-after-allowed", allowed + " | " + l);
  }
}

// Path words spelled as PathVariants does (the allowed prefixes, `..`, `//`, `/./`): the
// argv differs only in that word, which names the same file. (`~` is not tried: what it
// names is the agent's $HOME, which a test does not know.)
void PathWords(const std::vector<std::string>& w, const Seeds& seeds,
               std::vector<ValueVariant>* out) {
  for (size_t i = 1; i < w.size(); ++i) {
    const std::string& word = w[i];
    const size_t eq = word.find('=');
    const bool option_value = word.rfind("--", 0) == 0 && eq != std::string::npos;
    const std::string path = option_value ? word.substr(eq + 1) : word;
    if (path.empty() || path[0] != '/') continue;
    for (const ValueVariant& p : PathVariants(path, seeds, false)) {
      std::vector<std::string> copy = w;
      copy[i] = option_value ? word.substr(0, eq + 1) + p.text : p.text;
      out->push_back({p.family, JoinShellWords(copy)});
    }
  }
  // An option that carries a path, written in its other form: `--opt=P` <-> `--opt P`
  // means the same to getopt_long (and git's parse-options).
  for (size_t i = 1; i < w.size(); ++i) {
    const size_t eq = w[i].find('=');
    if (w[i].rfind("--", 0) != 0 || eq == std::string::npos) continue;
    std::vector<std::string> copy = w;
    copy[i] = w[i].substr(0, eq);
    copy.insert(copy.begin() + static_cast<long>(i) + 1, w[i].substr(eq + 1));
    out->push_back({"program-option-split", JoinShellWords(copy)});
  }
}

std::string UpperAscii(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// git's own spellings of `-c name=value`: the section and key case-insensitive, a
// subsection not (git-config(1), "Syntax": section names and variable names are
// case-insensitive, subsection names are case sensitive), the same value through
// `--config-env=name=ENVVAR` (git(1)).
void GitFamilies(const std::vector<std::string>& w, std::vector<ValueVariant>* out) {
  if (w.empty() || w[0] != "git") return;
  for (size_t i = 1; i + 1 < w.size(); ++i) {
    if (w[i] != "-c") continue;
    const std::string& kv = w[i + 1];
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    const std::string name = kv.substr(0, eq);
    const size_t last_dot = name.rfind('.');
    const size_t first_dot = name.find('.');
    if (first_dot == std::string::npos) continue;
    std::vector<std::string> copy = w;
    // The section and the key are case-insensitive, a subsection between them is not
    // (`url.<base>.insteadOf`): it keeps its case.
    copy[i + 1] = UpperAscii(name.substr(0, first_dot)) +
                  name.substr(first_dot, last_dot - first_dot) + UpperAscii(name.substr(last_dot)) +
                  kv.substr(eq);
    out->push_back({"git-config-case", JoinShellWords(copy)});
    std::string mixed = name;  // Core.Pager: first letters of section and key upper
    mixed[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(mixed[0])));
    if (last_dot + 1 < mixed.size())
      mixed[last_dot + 1] =
          static_cast<char>(std::toupper(static_cast<unsigned char>(mixed[last_dot + 1])));
    copy[i + 1] = mixed + kv.substr(eq);
    out->push_back({"git-config-case", JoinShellWords(copy)});
    copy = w;
    copy[i] = "--config-env=" + name + "=IL_GIT_VALUE";
    copy.erase(copy.begin() + static_cast<long>(i) + 1);
    out->push_back({"git-config-env",
                    "IL_GIT_VALUE=" + ShellQuote(kv.substr(eq + 1)) + " " + JoinShellWords(copy)});
  }
}

}  // namespace

std::string ShellQuote(std::string_view s) {
  if (PlainShellWord(s)) return std::string(s);
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  return out + "'";
}

std::vector<ValueVariant> ShellVariants(std::string_view line, const Seeds& seeds) {
  std::vector<ValueVariant> out;
  const std::vector<std::string> words = LiteralWords(line);
  if (!words.empty()) {
    CommandSpellings(words, &out);
    PathWords(words, seeds, &out);
    GitFamilies(words, &out);
  }
  LineFamilies(line, seeds, &out);
  // The policy allows git: any refused line run as a git alias (git-config(1), alias.*:
  // "If the alias expansion is prefixed with an exclamation point, it will be treated as
  // a shell command").
  const bool git_allowed = std::any_of(seeds.commands.begin(), seeds.commands.end(),
                                       [](const std::string& c) { return c.rfind("git", 0) == 0; });
  if (git_allowed && !(words.size() > 0 && words[0] == "git")) {
    out.push_back({"git-alias", "git -c " + ShellQuote("alias.il=!" + std::string(line)) + " il"});
  }
  return out;
}

}  // namespace interlock::policytest
