// Shell command-line constraints: the allow/deny matcher over the simple commands the
// parser (shell_parse.h) finds in a line. Rules and reasons: docs/shell-commands.md.
#include "policy/shell_command.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <re2/re2.h>

#include "common/glob.h"
#include "common/path.h"
#include "common/text.h"
#include "policy/shell_parse.h"

namespace interlock::policy {
namespace {

constexpr size_t kMaxLineBytes = 64 * 1024;
constexpr int kMaxUnwrap = 8;

using shell_internal::Command;
using shell_internal::IsAssignment;
using shell_internal::Parse;
using shell_internal::Parsed;
using shell_internal::Redirect;
using shell_internal::Word;

// ---- matching ----------------------------------------------------------------------

bool HasNonAscii(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return (static_cast<unsigned char>(c) & 0x80) != 0; });
}

std::string_view Basename(std::string_view s) {
  const size_t slash = s.rfind('/');
  return slash == std::string_view::npos ? s : s.substr(slash + 1);
}

// The absolute, normalised form of a path word, or "" when it cannot be resolved.
std::string ResolvePath(std::string_view word, const std::string& cwd) {
  if (word.empty()) return {};
  // A glob in a segment that starts with '.' (`.*`, `.?`) can expand to `..`: such a word
  // has no single resolution.
  for (size_t k = 0; k < word.size(); ++k) {
    if (word[k] != '.' || (k > 0 && word[k - 1] != '/')) continue;
    for (size_t j = k; j < word.size() && word[j] != '/'; ++j) {
      if (word[j] == '*' || word[j] == '?' || word[j] == '[') return {};
    }
  }
  std::string joined;
  if (word[0] == '/') {
    joined = std::string(word);
  } else {
    if (cwd.empty()) return {};
    joined = cwd + "/" + std::string(word);
  }
  Result<std::string> norm = NormalizePath(joined);
  return norm.ok() ? std::move(norm).value() : std::string();
}

struct PatternWord {
  std::string text;       // glob text, or the prefix of a path word
  bool path = false;      // `/prefix/**`: a path under prefix
  bool rest = false;      // last word exactly `*`: zero or more further words
  bool trailing = false;  // last word ending in `*`: also matches the rest of the line
};

struct Pattern {
  std::string source;
  std::vector<PatternWord> words;
  // For deny matching: the non-flag words and the flags (short clusters split).
  std::vector<std::string> operands;
  std::vector<std::string> flags;
};

bool IsFlag(std::string_view w) { return w.size() > 1 && w[0] == '-' && w != "--"; }

// Splits `-rf` into `-r` `-f`; other words pass through.
void ExpandFlag(std::string_view w, std::vector<std::string>* out) {
  const bool cluster =
      w.size() > 2 && w[0] == '-' && w[1] != '-' && std::all_of(w.begin() + 1, w.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
      });
  if (!cluster) {
    out->emplace_back(w);
    return;
  }
  for (size_t k = 1; k < w.size(); ++k) out->push_back(std::string("-") + w[k]);
}

// Options that mean the same, per command (and git subcommand), for deny matching.
std::string CanonicalFlag(std::string_view command, std::string_view sub, std::string flag) {
  if (command == "rm") {
    if (flag == "-R" || flag == "--recursive") return "-r";
    if (flag == "--force") return "-f";
  }
  if (command == "git" && sub == "push") {
    if (flag == "-f") return "--force";
  }
  return flag;
}

void SplitForDeny(const std::vector<std::string>& words, std::vector<std::string>* operands,
                  std::vector<std::string>* flags) {
  bool options_done = false;
  for (size_t k = 0; k < words.size(); ++k) {
    const std::string& w = words[k];
    if (k > 0 && !options_done && w == "--") {
      options_done = true;
      continue;
    }
    if (k > 0 && !options_done && IsFlag(w)) {
      std::vector<std::string> expanded;
      ExpandFlag(w, &expanded);
      const std::string_view command = operands->empty() ? "" : std::string_view((*operands)[0]);
      const std::string_view sub = operands->size() > 1 ? std::string_view((*operands)[1]) : "";
      for (std::string& f : expanded) flags->push_back(CanonicalFlag(command, sub, std::move(f)));
    } else {
      operands->push_back(k == 0 ? std::string(Basename(w)) : w);
    }
  }
}

// Options of common programs that change the directory later paths resolve against, or
// that read a list of paths from a file: what they open cannot be judged from the line.
struct PathOptions {
  std::string_view command;  // "" for every command
  std::set<std::string_view> opaque;
};

const std::vector<PathOptions>& OpaquePathOptions() {
  static const std::vector<PathOptions> k = {
      {"", {"--files0-from", "--files-from", "--chdir", "--git-dir", "--work-tree"}},
      {"tar", {"-C", "--directory", "-T"}},
      {"make", {"-C", "--directory"}},
      {"env", {"-C"}},
  };
  return k;
}

// Whether an option word names an option `opaque` refuses: `--name` or `--name=...` for a
// long one, abbreviated too (`--files0=F` is `--files0-from=F` to getopt_long), and any
// cluster holding the letter of a short one (`-xC`, `-Cdir`).
bool IsOpaqueOption(std::string_view command, std::string_view word) {
  for (const PathOptions& po : OpaquePathOptions()) {
    if (!po.command.empty() && po.command != command) continue;
    for (std::string_view o : po.opaque) {
      if (o.size() > 2) {  // --long, or any abbreviation getopt_long would accept
        const std::string_view name = word.substr(0, word.find('='));
        if (name.size() >= 3 && o.rfind(name, 0) == 0) return true;
      } else if (word.size() >= 2 && word[1] != '-' && word.find(o[1], 1) != word.npos) {
        return true;
      }
    }
  }
  return false;
}

// The path `word` opens, with symbolic links resolved (PathResolver): from the word as
// written (its `..` climbs from where a link led), against `cwd` when relative.
Result<std::string> RealPath(std::string_view word, const std::string& cwd,
                             const PathResolver& paths) {
  if (!word.empty() && word[0] == '/') return paths.Resolve(word);
  std::string raw = cwd;
  raw += '/';
  raw += word;
  return paths.Resolve(raw);
}

// With a resolver: the path `word` opens lies under `prefix`, or under the path `prefix`
// itself resolves to (a workspace reached through a link). Without one: true (the
// lexical check is the caller's).
bool RealUnder(std::string_view word, std::string_view prefix, const std::string& cwd,
               const PathResolver* paths) {
  if (paths == nullptr) return true;
  Result<std::string> real = RealPath(word, cwd, *paths);
  if (!real.ok()) return false;
  if (PathHasPrefix(*real, prefix)) return true;
  Result<std::string> real_prefix = paths->Resolve(prefix);
  return real_prefix.ok() && PathHasPrefix(*real, *real_prefix);
}

// A value an option or an operand carries (`--output=V`, `-oV`, `if=V`): under `prefix`
// when it resolves there. `%` and `\` are ordinary bytes of a file name here (`--format=%H`).
bool ValueUnder(std::string_view value, std::string_view prefix, const std::string& cwd,
                const PathResolver* paths) {
  if (value.empty()) return true;
  std::string plain(value);
  std::replace(plain.begin(), plain.end(), '%', '_');
  std::replace(plain.begin(), plain.end(), '\\', '_');
  const std::string abs = ResolvePath(plain, cwd);
  return !abs.empty() && PathHasPrefix(abs, prefix) && RealUnder(value, prefix, cwd, paths);
}

// A word in a path position: every path the program may open because of it lies under
// `prefix`. An operand is a path; an option word carries one after `=` (`--files0-from=F`)
// or attached to a short option (`-o/etc/x`, `-xf../x`: every suffix that could be the
// value is judged); a value whose effect cannot be judged is refused (expansions, braces,
// the options above, a glob that may match a name starting with `-`). `options_done`:
// after `--`, words are operands.
bool PathWordUnder(const Word& w, std::string_view command, bool options_done,
                   std::string_view prefix, const std::string& cwd, const PathResolver* paths) {
  if (w.expansion || w.brace) return false;  // its value is known only when it runs
  const std::string& t = w.text;
  // A glob at the start of a word can match a file named like an option (`wc *` and a file
  // `--files0-from=list`): the program would read it as one.
  if (w.glob && !options_done && !t.empty() && (t[0] == '*' || t[0] == '?' || t[0] == '[')) {
    return false;
  }
  if (t == "-" || t == "--") return true;
  if (!options_done && t.size() > 1 && t[0] == '-') {
    if (IsOpaqueOption(command, t)) return false;
    if (t[1] == '-') {
      const size_t eq = t.find('=');
      return eq == std::string::npos ||
             ValueUnder(std::string_view(t).substr(eq + 1), prefix, cwd, paths);
    }
    int candidates = 0;
    for (size_t k = 1; k < t.size(); ++k) {
      if (t[k] != '/' && t[k] != '.' && t[k] != '=') continue;
      if (++candidates > 16) return false;
      const size_t from = t[k] == '=' ? k + 1 : k;
      if (!ValueUnder(std::string_view(t).substr(from), prefix, cwd, paths)) return false;
    }
    return true;
  }
  const std::string abs = ResolvePath(t, cwd);
  if (abs.empty() || !PathHasPrefix(abs, prefix)) return false;
  if (!RealUnder(t, prefix, cwd, paths)) return false;
  const size_t eq = t.find('=');  // `if=/etc/shadow` (dd, make VAR=...)
  return eq == std::string::npos ||
         ValueUnder(std::string_view(t).substr(eq + 1), prefix, cwd, paths);
}

// Allow: word by word (docs/shell-commands.md, "Allow patterns").
bool MatchAllow(const Pattern& p, const std::vector<const Word*>& words, size_t command_index,
                const std::string& cwd, const PathResolver* paths) {
  const std::string_view command =
      command_index < words.size() ? Basename(words[command_index]->text) : "";
  size_t k = 0;
  bool options_done = false;  // a `--` after the command name was passed
  auto advance = [&] {
    if (k > command_index && words[k]->text == "--") options_done = true;
    ++k;
  };
  for (size_t i = 0; i < p.words.size(); ++i) {
    const PatternWord& pw = p.words[i];
    const bool last = i + 1 == p.words.size();
    if (pw.rest) return true;
    if (k >= words.size()) return false;
    const std::string& w = words[k]->text;
    if (k == command_index && HasNonAscii(w) && pw.text != w) return false;  // look-alikes
    if (pw.path) {
      auto under = [&](const Word& word) {
        return PathWordUnder(word, command, options_done, pw.text, cwd, paths);
      };
      if (!under(*words[k])) return false;
      advance();
      if (last) {
        for (; k < words.size(); advance()) {
          if (!under(*words[k])) return false;
        }
        return true;
      }
      continue;
    }
    if (!GlobMatches(pw.text, w)) return false;
    advance();
    if (last && pw.trailing) return true;
  }
  return k == words.size();
}

// Deny: the pattern's operands are a prefix of the command's (globs per word, basename
// for the command name) and each of its flags is present anywhere (short clusters split,
// a few known synonyms folded).
bool MatchDeny(const Pattern& p, const std::vector<std::string>& words) {
  std::vector<std::string> operands, flags;
  SplitForDeny(words, &operands, &flags);
  for (size_t i = 0; i < p.operands.size(); ++i) {
    const std::string& po = p.operands[i];
    const bool last = i + 1 == p.operands.size();
    if (last && po == "*") break;
    if (i >= operands.size()) return false;
    if (!GlobMatches(po, operands[i])) return false;
  }
  for (const std::string& pf : p.flags) {
    if (std::none_of(flags.begin(), flags.end(),
                     [&](const std::string& f) { return GlobMatches(pf, f); })) {
      return false;
    }
  }
  return true;
}

const std::set<std::string_view>& ReentryCommands() {
  static const std::set<std::string_view> k = {
      "eval", "source", ".",   "sh",   "bash",    "zsh",   "dash", "ksh",    "mksh",
      "ash",  "fish",   "csh", "tcsh", "busybox", "alias", "trap", "enable", "exec"};
  return k;
}

struct Wrapper {
  std::string_view name;
  std::set<std::string_view> with_argument;  // options that take the next word
  bool skips_assignments = false;            // env: NAME=VALUE words before the command
  bool takes_operand = false;                // timeout: a duration before the command
};

const std::vector<Wrapper>& Wrappers() {
  static const std::vector<Wrapper> k = {
      {"env", {"-u", "--unset", "-C", "--chdir"}, true, false},
      {"command", {}, false, false},
      {"builtin", {}, false, false},
      {"nohup", {}, false, false},
      {"nice", {"-n", "--adjustment"}, false, false},
      {"time", {"-f", "--format", "-o", "--output"}, false, false},
      {"timeout", {"-s", "--signal", "-k", "--kill-after"}, false, true},
      {"stdbuf", {"-i", "-o", "-e", "--input", "--output", "--error"}, false, false},
      {"setsid", {}, false, false},
      {"xargs",
       {"-a", "--arg-file", "-d", "--delimiter", "-E", "-I", "-L", "--max-lines", "-n",
        "--max-args", "-P", "--max-procs", "-s", "--max-chars", "--process-slot-var"},
       false,
       false},
      {"sudo",
       {"-u", "--user",       "-g", "--group",          "-C", "--close-from", "-D", "--chdir",
        "-h", "--host",       "-p", "--prompt",         "-r", "--role",       "-t", "--type",
        "-U", "--other-user", "-T", "--command-timeout"},
       false,
       false},
      {"doas", {"-u", "-C"}, false, false},
      {"exec", {"-a"}, false, false},
      {"chroot", {"--userspec", "--groups"}, false, true},
      {"ionice", {"-c", "-n", "-p", "-t"}, false, false},
      {"watch", {"-n", "--interval", "-d"}, false, false},
  };
  return k;
}

// The command a wrapper runs (`env FOO=1 rm -rf /` -> `rm -rf /`), or empty.
std::vector<std::string> Unwrap(const std::vector<std::string>& words, std::string* why) {
  if (words.empty()) return {};
  const std::string_view name = Basename(words[0]);
  if (name == "find") {  // find ... -exec CMD ... ;
    for (size_t k = 1; k < words.size(); ++k) {
      if (words[k] == "-exec" || words[k] == "-execdir" || words[k] == "-ok" ||
          words[k] == "-okdir") {
        std::vector<std::string> out;
        for (size_t j = k + 1; j < words.size() && words[j] != ";" && words[j] != "+"; ++j) {
          out.push_back(words[j]);
        }
        return out;
      }
    }
    return {};
  }
  if (name == "git") {  // git's global options before the subcommand
    static const std::set<std::string_view> with_argument = {
        "-C", "-c", "--git-dir", "--work-tree", "--namespace", "--exec-path", "--config-env"};
    size_t k = 1;
    bool changed = false;
    while (k < words.size() && IsFlag(words[k])) {
      changed = true;
      k += with_argument.count(words[k]) > 0 ? 2 : 1;
    }
    if (!changed || k >= words.size()) return {};
    std::vector<std::string> out = {words[0]};
    out.insert(out.end(), words.begin() + static_cast<std::ptrdiff_t>(k), words.end());
    return out;
  }
  for (const Wrapper& wr : Wrappers()) {
    if (name != wr.name) continue;
    size_t k = 1;
    while (k < words.size()) {
      const std::string& w = words[k];
      if (w == "--") {
        ++k;
        break;
      }
      if (name == "env" &&
          (w == "-S" || w.rfind("--split-string", 0) == 0 || w.rfind("-S", 0) == 0)) {
        *why = "`env -S` splits a string into a command line";
        return {};
      }
      if ((name == "sudo" || name == "doas") &&
          (w == "-s" || w == "-i" || w == "--shell" || w == "--login")) {
        *why = "`" + std::string(name) + " " + w + "` starts a shell";
        return {};
      }
      if (IsFlag(w)) {
        k += wr.with_argument.count(w) > 0 ? 2 : 1;
        continue;
      }
      if (wr.skips_assignments && IsAssignment(w)) {
        ++k;
        continue;
      }
      break;
    }
    if (wr.takes_operand && k < words.size()) ++k;
    if (k >= words.size()) return {};
    return std::vector<std::string>(words.begin() + static_cast<std::ptrdiff_t>(k), words.end());
  }
  return {};
}

std::string Shown(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 200)) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out.push_back(c);
    }
  }
  if (s.size() > 200) out += "...";
  return out;
}

std::optional<Pattern> CompilePattern(std::string_view source, std::string* why) {
  if (source.empty()) {
    *why = "an empty command pattern matches nothing";
    return std::nullopt;
  }
  Parsed parsed = Parse(source);
  if (!parsed.error.empty()) {
    *why = "command pattern `" + Shown(source) + "` cannot be parsed: " + parsed.error;
    return std::nullopt;
  }
  if (parsed.commands.size() != 1 || !parsed.commands[0].redirects.empty() ||
      !parsed.substitution.empty() || parsed.heredoc) {
    *why = "command pattern `" + Shown(source) +
           "` must be one simple command (no ; && || | redirections or substitutions)";
    return std::nullopt;
  }
  Pattern p;
  p.source = std::string(source);
  const Command& c = parsed.commands[0];
  std::vector<Word> words = c.assigns;
  words.insert(words.end(), c.words.begin(), c.words.end());
  for (size_t i = 0; i < words.size(); ++i) {
    const Word& w = words[i];
    const bool last = i + 1 == words.size();
    if (w.expansion || w.brace) {
      *why = "command pattern `" + Shown(source) + "`: `" + Shown(w.text) +
             "` would be expanded; write literal words (variables such as ${workspace} are "
             "resolved when the policy loads)";
      return std::nullopt;
    }
    PatternWord pw;
    pw.text = w.text;
    const size_t stars = static_cast<size_t>(std::count(w.text.begin(), w.text.end(), '*'));
    if (w.text.size() > 3 && w.text[0] == '/' && w.text.compare(w.text.size() - 3, 3, "/**") == 0) {
      if (stars != 2) {
        *why = "command pattern `" + Shown(source) + "`: a path word `DIR/**` has no other `*`";
        return std::nullopt;
      }
      auto norm = NormalizePath(std::string_view(w.text).substr(0, w.text.size() - 3));
      if (!norm.ok()) {
        *why = "command pattern `" + Shown(source) + "`: " + norm.error().message;
        return std::nullopt;
      }
      pw.path = true;
      pw.text = std::move(norm).value();
    } else if (i == 0 && stars > 0) {
      *why = "command pattern `" + Shown(source) +
             "`: the command name must be literal (a `*` there would allow any program)";
      return std::nullopt;
    } else if (last && w.text == "*" && i > 0) {
      pw.rest = true;
    } else if (last && stars > 0 && w.text.back() == '*') {
      pw.trailing = true;
    }
    p.words.push_back(std::move(pw));
  }
  if (!c.assigns.empty()) {
    *why = "command pattern `" + Shown(source) +
           "`: deny and allow patterns name the command first; to allow an environment "
           "assignment write it as an allow pattern of its own line";
    // Assignments are allowed only in allow patterns; CompileShellRules checks which.
  }
  std::vector<std::string> texts;
  for (size_t i = c.assigns.size(); i < words.size(); ++i) texts.push_back(words[i].text);
  SplitForDeny(texts, &p.operands, &p.flags);
  return p;
}

// The paths a word may name, resolved against `cwd`: the word, the value after each `=`
// in it (`if=F`, `--output=F`), and for an option word each suffix that starts a path
// (`-oF`, `-xf../F`). A word that cannot be resolved (a glob that could become `..`)
// names nothing here; the allow patterns and redirect paths refuse it.
template <typename Fn>
void ForEachNamedPath(const std::string& t, const std::string& cwd, const Fn& fn) {
  auto one = [&](std::string_view v) {
    if (v.empty()) return;
    const std::string abs = ResolvePath(v, cwd);
    if (!abs.empty()) fn(v, abs);
  };
  one(t);
  for (size_t eq = t.find('='); eq != std::string::npos; eq = t.find('=', eq + 1)) {
    one(std::string_view(t).substr(eq + 1));
  }
  if (t.size() > 1 && t[0] == '-') {
    for (size_t k = 1; k < t.size() && k < 64; ++k) {
      if (t[k] == '/' || t[k] == '.') one(std::string_view(t).substr(k));
    }
  }
}

// path_not_pattern: no word of `c` and no redirection target names a protected path
// (docs/shell-commands.md, "Protected paths").
bool NamesNoProtectedPath(const Command& c, const ShellRules& r, const PathResolver* paths,
                          std::string* why) {
  auto check = [&](const Word& w, const char* what) {
    bool ok = true;
    ForEachNamedPath(w.text, r.cwd, [&](std::string_view value, const std::string& abs) {
      if (!ok) return;
      std::string named = abs;
      bool hit = re2::RE2::PartialMatch(abs, *r.path_not_pattern);
      if (!hit && paths != nullptr) {
        Result<std::string> real = RealPath(value, r.cwd, *paths);
        if (!real.ok()) {
          *why = std::string(what) + " `" + Shown(w.text) +
                 "` names a path whose symbolic links cannot be resolved: " + real.error().message;
          ok = false;
          return;
        }
        hit = re2::RE2::PartialMatch(*real, *r.path_not_pattern);
        if (hit) named = abs + "` (through symbolic links `" + *real;
      }
      if (hit) {
        *why = std::string(what) + " `" + Shown(w.text) + "` names `" + named +
               "`, which the rules protect (path_not_pattern)";
        ok = false;
      }
    });
    return ok;
  };
  for (const Word& w : c.assigns) {
    if (!check(w, "the word")) return false;
  }
  for (const Word& w : c.words) {
    if (!check(w, "the word")) return false;
  }
  for (const Redirect& rd : c.redirects) {
    if (!check(rd.target, ("redirection `" + rd.op + "` to").c_str())) return false;
  }
  return true;
}

}  // namespace

class ShellMatcher {
 public:
  ShellRules rules;
  std::vector<Pattern> allow;
  std::vector<Pattern> deny;
  std::vector<std::string> redirect_paths;  // normalised
};

std::optional<std::string> ValidateShellPattern(std::string_view pattern) {
  std::string why;
  auto p = CompilePattern(pattern, &why);
  if (!p) return why;
  return std::nullopt;
}

std::shared_ptr<const ShellMatcher> CompileShellRules(const ShellRules& rules, std::string* why) {
  auto m = std::make_shared<ShellMatcher>();
  m->rules = rules;
  // Every pattern of `from` into `into`; false (and *why) at the first that does not compile.
  auto compile_all = [why](const std::vector<std::string>& from, auto* into) {
    for (const std::string& s : from) {
      std::string w;
      auto p = CompilePattern(s, &w);
      if (!p) {
        *why = w;
        return false;
      }
      into->push_back(std::move(*p));
    }
    return true;
  };
  if (!compile_all(rules.allow, &m->allow) || !compile_all(rules.deny, &m->deny)) return nullptr;
  for (const std::string& s : rules.redirect_paths) {
    auto norm = NormalizePath(s);
    if (!norm.ok() || s.empty() || s[0] != '/') {
      *why = "redirect path `" + Shown(s) + "` must be an absolute path";
      return nullptr;
    }
    m->redirect_paths.push_back(std::move(norm).value());
  }
  return m;
}

bool ReadShellCommands(std::string_view line, std::vector<ShellSimpleCommand>* out,
                       std::string* why) {
  if (line.size() > kMaxLineBytes) {
    *why = "the command line is too long";
    return false;
  }
  const Parsed parsed = Parse(line);
  if (!parsed.error.empty()) {
    *why = parsed.error;
    return false;
  }
  auto convert = [](const std::vector<Word>& in) {
    std::vector<ShellWord> words;
    for (const Word& w : in) words.push_back({w.text, w.expansion || w.glob || w.brace});
    return words;
  };
  for (const Command& c : parsed.commands) {
    out->push_back({convert(c.assigns), convert(c.words)});
  }
  return true;
}

namespace {

// The redirections of one command: each target resolved must be /dev/null or lie under an
// allowed redirect path (here-documents and descriptor duplications pass).
bool CheckShellRedirects(const ShellMatcher& m, const Command& c, const PathResolver* paths,
                         std::string* why) {
  for (const Redirect& rd : c.redirects) {
    const std::string& t = rd.target.text;
    if (rd.op == "<<" || rd.op == "<<-" || rd.op == "<<<") continue;
    if ((rd.op == ">&" || rd.op == "<&") &&
        (t == "-" || (!t.empty() && std::all_of(t.begin(), t.end(),
                                                [](char ch) { return ch >= '0' && ch <= '9'; })))) {
      continue;  // duplicating or closing a descriptor
    }
    const std::string abs = ResolvePath(t, m.rules.cwd);
    const bool ok =
        abs == "/dev/null" ||
        (!abs.empty() &&
         std::any_of(m.redirect_paths.begin(), m.redirect_paths.end(), [&](const std::string& p) {
           return PathHasPrefix(abs, p) && RealUnder(t, p, m.rules.cwd, paths);
         }));
    if (!ok) {
      *why = "redirection `" + rd.op + " " + Shown(t) + "` names " +
             (abs.empty() ? std::string("a path that cannot be resolved") : "`" + abs + "`") +
             ", which is outside the allowed redirect paths";
      return false;
    }
  }
  return true;
}

// The deny patterns and the re-entry rule on one command as written (`shown`) and on every
// command it wraps (env, nice, timeout...).
bool CheckShellDenyAndReentry(const ShellMatcher& m, const Command& c, const std::string& shown,
                              std::string* why) {
  // Deny, and re-entry, on the command as written and on every command it wraps.
  std::vector<std::string> view;
  for (const Word& w : c.words) view.push_back(w.text);
  for (int depth = 0; !view.empty() && depth < kMaxUnwrap; ++depth) {
    for (const Pattern& p : m.deny) {
      if (MatchDeny(p, view)) {
        *why = "`" + shown + "` matches the deny pattern `" + Shown(p.source) + "`";
        return false;
      }
    }
    const std::string_view base = Basename(view[0]);
    if (!m.rules.allow_shell_reentry && ReentryCommands().count(base) > 0) {
      *why = "`" + shown + "` runs `" + std::string(base) +
             "`, which interprets text as commands; re-entering a shell is not allowed";
      return false;
    }
    std::string wrap_why;
    view = Unwrap(view, &wrap_why);
    if (!wrap_why.empty() && !m.rules.allow_shell_reentry) {
      *why = "`" + shown + "`: " + wrap_why + "; re-entering a shell is not allowed";
      return false;
    }
  }
  return true;
}

}  // namespace

bool CheckShellCommand(const ShellMatcher& m, std::string_view line, std::string* why,
                       const PathResolver* paths) {
  if (line.size() > kMaxLineBytes) {
    *why = "the command line is " + std::to_string(line.size()) +
           " bytes long; the most a shell constraint reads is 65536";
    return false;
  }
  for (char c : line) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t' && c != '\n') || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "0x%02x", u);
      *why = std::string("the command line contains the control byte ") + buf;
      return false;
    }
  }
  const Parsed parsed = Parse(line);
  if (!parsed.error.empty()) {
    *why = "the command line cannot be parsed: " + parsed.error;
    return false;
  }
  if (parsed.commands.empty()) {
    *why = "the command line holds no command";
    return false;
  }
  if (!parsed.substitution.empty() && !m.rules.allow_substitution) {
    *why = parsed.substitution + " is not allowed (what it runs is decided only when it runs)";
    return false;
  }
  if (parsed.heredoc && !m.rules.allow_heredoc) {
    *why = "here-documents and here-strings are not allowed";
    return false;
  }
  const ShellRules& r = m.rules;
  for (const Word& body : parsed.heredoc_bodies) {
    if (!r.allow_expansion && body.parameter) {
      *why = "the here-document body `" + Shown(body.text) +
             "` is expanded by the shell (its delimiter is unquoted); parameter expansion is "
             "not allowed";
      return false;
    }
  }
  for (const Command& c : parsed.commands) {
    if (r.path_not_pattern != nullptr && !NamesNoProtectedPath(c, r, paths, why)) return false;
    auto all_words = [&](auto&& fn) {
      for (const Word& w : c.assigns) fn(w);
      for (const Word& w : c.words) fn(w);
      for (const Redirect& rd : c.redirects) fn(rd.target);
    };
    std::string bad;
    all_words([&](const Word& w) {
      if (bad.empty() && !r.allow_expansion && w.parameter) {
        bad = "`" + Shown(w.text) +
              "` is expanded by the shell (its value is unknown before it runs); "
              "parameter and tilde expansion are not allowed";
      }
      if (bad.empty() && !r.allow_expansion && w.brace) {
        bad = "brace expansion in `" + Shown(w.text) + "` is not allowed";
      }
    });
    if (!bad.empty()) {
      *why = bad;
      return false;
    }
    if (!CheckShellRedirects(m, c, paths, why)) return false;
    if (c.words.empty()) {
      if (!c.assigns.empty()) {
        *why = "the assignment `" + Shown(c.assigns[0].text) +
               "` without a command is not allowed (it changes what later commands run)";
        return false;
      }
      continue;  // a redirection alone, checked above
    }
    const Word& name = c.words[0];
    if (name.glob || name.brace) {
      *why = "the command name `" + Shown(name.text) + "` is a pattern the shell expands";
      return false;
    }
    std::vector<std::string> words;
    for (const Word& w : c.assigns) words.push_back(w.text);
    for (const Word& w : c.words) words.push_back(w.text);
    const std::string shown = Shown(Join(words, " "));
    if (!CheckShellDenyAndReentry(m, c, shown, why)) return false;
    const size_t command_index = c.assigns.size();
    std::vector<const Word*> all;
    all.reserve(c.assigns.size() + c.words.size());
    for (const Word& w : c.assigns) all.push_back(&w);
    for (const Word& w : c.words) all.push_back(&w);
    const bool allowed = std::any_of(m.allow.begin(), m.allow.end(), [&](const Pattern& p) {
      return MatchAllow(p, all, command_index, r.cwd, paths);
    });
    if (!allowed) {
      *why = "`" + shown + "` matches no allow pattern";
      return false;
    }
  }
  return true;
}

}  // namespace interlock::policy
