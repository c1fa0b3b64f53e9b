// Shell command-line constraints: a parser for the POSIX sh subset agents send, and the
// allow/deny matcher over its simple commands. Rules and reasons: docs/shell-commands.md.
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

#include "common/glob.h"
#include "common/path.h"

namespace interlock::policy {
namespace {

constexpr size_t kMaxLineBytes = 64 * 1024;
constexpr int kMaxDepth = 32;
constexpr int kMaxUnwrap = 8;

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

bool IsBlank(char c) { return c == ' ' || c == '\t'; }
bool IsMeta(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == ';' || c == '&' || c == '|' || c == '<' ||
         c == '>' || c == '(' || c == ')';
}
bool IsNameStart(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

// NAME=... with an unquoted, literal name.
bool IsAssignment(std::string_view raw) {
  if (raw.empty() || !IsNameStart(raw[0])) return false;
  size_t i = 1;
  while (i < raw.size() && IsNameChar(raw[i])) ++i;
  return i < raw.size() &&
         (raw[i] == '=' || (raw[i] == '+' && i + 1 < raw.size() && raw[i + 1] == '='));
}

const std::set<std::string_view>& Keywords() {
  static const std::set<std::string_view> k = {
      "if",   "then", "else", "elif", "fi",     "for",      "while", "until", "do",
      "done", "case", "esac", "in",   "select", "function", "[[",    "]]",    "coproc"};
  return k;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | ((cp >> 18) & 0x07)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Whether bash may brace-expand a word, given its unquoted characters (`bare`: quoted
// parts and expansions are \x01, so a quoted `}` or `,` counts for nothing, as in bash).
// Bash expands when an unquoted `{` is closed by its matching unquoted `}` with an unquoted
// `,` or a sequence `..` between them; this over-approximates (first `{`, last `}`, any
// separator between), so whatever bash expands is seen. Linear in the word's length.
bool HasBraceExpansion(std::string_view bare) {
  const size_t open = bare.find('{');
  if (open == std::string_view::npos) return false;
  const size_t close = bare.rfind('}');
  if (close == std::string_view::npos || close < open) return false;
  const std::string_view inside = bare.substr(open + 1, close - open - 1);
  return inside.find(',') != std::string_view::npos || inside.find("..") != std::string_view::npos;
}

// A recursive-descent reader of one command line. Nested lists ($(...), `...`, <(...),
// subshells) add their simple commands to the same Parsed, so every one is checked.
class Parser {
 public:
  Parser(std::string_view s, Parsed* out, int depth) : s_(s), out_(out), depth_(depth) {}

  void ParseAll() { ParseList(0); }

 private:
  bool Failed() const { return !out_->error.empty(); }
  void Fail(std::string why) {
    if (out_->error.empty()) out_->error = std::move(why);
  }
  bool AtEnd() const { return i_ >= s_.size(); }
  char Peek(size_t k = 0) const { return i_ + k < s_.size() ? s_[i_ + k] : '\0'; }

  void Substitution(const char* what) {
    if (out_->substitution.empty()) out_->substitution = what;
  }

  void SkipBlanks() {
    while (!AtEnd()) {
      if (IsBlank(Peek())) {
        ++i_;
      } else if (Peek() == '\\' && Peek(1) == '\n') {
        i_ += 2;
      } else {
        break;
      }
    }
  }

  // bash removes `\<newline>` before it splits operators, so `&\<newline>>x` is `&>x` and
  // `<<\<newline>-EOF` is `<<-EOF`: an operator just read followed by a continuation and an
  // operator character fails the line (true) rather than be read as two operators.
  bool ContinuationJoinsOperator() {
    size_t k = i_;
    while (k + 1 < s_.size() && s_[k] == '\\' && s_[k + 1] == '\n') k += 2;
    if (k == i_ || k >= s_.size()) return false;
    const char n = s_[k];
    if (n != '&' && n != '|' && n != ';' && n != '<' && n != '>' && n != '-' && n != '(') {
      return false;
    }
    Fail("a line continuation inside an operator is not supported");
    return true;
  }

  // Reads here-document bodies that start after a newline just consumed. The body of one
  // whose delimiter is unquoted undergoes expansion and substitution, as in double quotes:
  // it is read like a word, and the commands it substitutes are checked like the others.
  void ReadHeredocBodies() {
    for (const PendingHeredoc& h : pending_heredocs_) {
      bool closed = false;
      const size_t body_start = i_;
      size_t body_end = i_;
      while (!AtEnd()) {
        size_t eol = s_.find('\n', i_);
        if (eol == std::string_view::npos) eol = s_.size();
        std::string_view line = s_.substr(i_, eol - i_);
        const size_t line_start = i_;
        i_ = eol < s_.size() ? eol + 1 : eol;
        if (h.strip_tabs) {
          while (!line.empty() && line[0] == '\t') line.remove_prefix(1);
        }
        if (line == h.delimiter) {
          closed = true;
          body_end = line_start;
          break;
        }
      }
      if (!closed) return Fail("unterminated here-document (no line `" + h.delimiter + "`)");
      if (!h.expands) continue;
      if (depth_ + 1 > kMaxDepth) return Fail("nested more than 32 levels deep");
      Word body;
      Parser inner(s_.substr(body_start, body_end - body_start), out_, depth_ + 1);
      inner.ParseHeredocText(&body);
      out_->heredoc_bodies.push_back(std::move(body));
    }
    pending_heredocs_.clear();
  }

  // The text of an unquoted here-document: only \ $ and ` are special.
  void ParseHeredocText(Word* w) {
    while (!AtEnd() && !Failed()) ParseExpandingChar(w, "$`\\");
  }

  // One character (or escape, expansion, substitution) of text that expands as in double
  // quotes: a backslash escapes a newline (removed) and the characters of `escapable`
  // (bash: $ ` \ and, inside double quotes, "); before anything else it stays itself.
  void ParseExpandingChar(Word* w, std::string_view escapable) {
    const char c = Peek();
    if (c == '\\') {
      const char n = Peek(1);
      if (n == '\n') {
        i_ += 2;
      } else if (n != '\0' && escapable.find(n) != std::string_view::npos) {
        w->text.push_back(n);
        i_ += 2;
      } else {
        w->text.push_back('\\');
        ++i_;
      }
    } else if (c == '$') {
      ParseDollar(w, /*in_dquote=*/true);
    } else if (c == '`') {
      ParseBacktick(w);
    } else {
      w->text.push_back(c);
      ++i_;
    }
  }

  void ParseList(char end) {
    if (depth_ > kMaxDepth) return Fail("nested more than 32 levels deep");
    while (!Failed()) {
      SkipBlanks();
      if (AtEnd()) {
        if (end != 0) Fail(std::string("missing `") + end + "`");
        if (!pending_heredocs_.empty()) ReadHeredocBodies();
        return;
      }
      const char c = Peek();
      if (end != 0 && c == end) {
        ++i_;
        return;
      }
      if (c == '#') {
        while (!AtEnd() && Peek() != '\n') ++i_;
      } else if (c == '\n') {
        ++i_;
        if (!pending_heredocs_.empty()) ReadHeredocBodies();
      } else if (c == ';') {
        ++i_;
        if (Peek() == ';' || Peek() == '&') return Fail("`;;` outside a case statement");
        if (ContinuationJoinsOperator()) return;
      } else if (c == '&' && Peek(1) != '>') {
        i_ += Peek(1) == '&' ? 2 : 1;
        if (ContinuationJoinsOperator()) return;
      } else if (c == '|') {
        i_ += (Peek(1) == '|' || Peek(1) == '&') ? 2 : 1;
        if (ContinuationJoinsOperator()) return;
      } else if (c == ')') {
        return Fail("unbalanced `)`");
      } else if (c == '(') {
        if (Peek(1) == '(') return Fail("arithmetic commands `((...))` are not supported");
        ++i_;
        ++depth_;
        ParseList(')');
        --depth_;
      } else {
        ParseCommand();
      }
    }
  }

  void ParseCommand() {
    Command cmd;
    while (!Failed()) {
      SkipBlanks();
      if (AtEnd()) break;
      const char c = Peek();
      if (c == '\n' || c == ';' || c == '|' || c == ')' || (c == '&' && Peek(1) != '>')) break;
      if (c == '(') {
        if (cmd.words.empty() && cmd.assigns.empty()) break;  // a subshell: ParseList's
        if (cmd.words.empty()) return Fail("array assignments `name=(...)` are not supported");
        return Fail("unexpected `(` after `" + cmd.words.back().text + "`");
      }
      if (c == '#') {  // a comment starts only at a word boundary, which this is
        while (!AtEnd() && Peek() != '\n') ++i_;
        break;
      }
      // `{name}>file` opens a descriptor and assigns its number to the variable `name`:
      // a redirection and an assignment, not a word.
      if (c == '{') {
        size_t k = i_ + 1;
        while (k < s_.size() && !IsMeta(s_[k]) && s_[k] != '}') ++k;
        size_t after = k + 1;  // a line continuation joins `{a}\<newline><x` too
        while (after + 1 < s_.size() && s_[after] == '\\' && s_[after + 1] == '\n') after += 2;
        if (k < s_.size() && s_[k] == '}' && after < s_.size() &&
            (s_[after] == '<' || s_[after] == '>')) {
          return Fail("a redirection naming its descriptor `" +
                      std::string(s_.substr(i_, k + 1 - i_)) + "` is not supported");
        }
      }
      // An IO number: digits immediately followed by < or >.
      size_t j = i_;
      bool joined = false;  // bash removes `\<newline>` first: `2\<newline>>x` is `2>x`
      while (j < s_.size() &&
             ((s_[j] >= '0' && s_[j] <= '9') ||
              (j > i_ && s_[j] == '\\' && j + 1 < s_.size() && s_[j + 1] == '\n'))) {
        if (s_[j] == '\\') {
          joined = true;
          ++j;
        }
        ++j;
      }
      const bool io_number = j > i_ && j < s_.size() && (s_[j] == '<' || s_[j] == '>');
      if (io_number && joined) {
        return Fail("a line continuation inside a redirection's descriptor is not supported");
      }
      const bool process_substitution = (c == '<' || c == '>') && Peek(1) == '(';
      if (!process_substitution && (io_number || c == '<' || c == '>' || c == '&')) {
        i_ = j;
        ParseRedirect(&cmd);
        continue;
      }
      const size_t start = i_;
      Word w;
      ParseWord(&w);
      if (Failed()) return;
      const std::string_view raw = s_.substr(start, i_ - start);
      if (cmd.words.empty()) {
        if (IsAssignment(raw)) {
          cmd.assigns.push_back(std::move(w));
          continue;
        }
        // Reserved words only before anything else: after a redirection or an assignment
        // (`>x }`) bash runs `}` as a command.
        if (!w.quoted && cmd.assigns.empty() && cmd.redirects.empty() &&
            (w.text == "{" || w.text == "}" || w.text == "!")) {
          continue;  // grouping
        }
        if (!w.quoted && Keywords().count(w.text) > 0) {
          return Fail("unsupported shell syntax `" + w.text + "`");
        }
      }
      cmd.words.push_back(std::move(w));
    }
    if (!cmd.words.empty() || !cmd.assigns.empty() || !cmd.redirects.empty()) {
      out_->commands.push_back(std::move(cmd));
    }
  }

  void ParseRedirect(Command* cmd) {
    std::string op;
    if (Peek() == '&') {  // &> and &>>
      op = Peek(2) == '>' ? "&>>" : "&>";
    } else if (Peek() == '<') {
      if (Peek(1) == '<') {
        op = Peek(2) == '<' ? "<<<" : (Peek(2) == '-' ? "<<-" : "<<");
      } else if (Peek(1) == '>' || Peek(1) == '&') {
        op = std::string("<") + Peek(1);
      } else {
        op = "<";
      }
    } else {
      if (Peek(1) == '>' || Peek(1) == '|' || Peek(1) == '&') {
        op = std::string(">") + Peek(1);
      } else {
        op = ">";
      }
    }
    i_ += op.size();
    if (ContinuationJoinsOperator()) return;
    SkipBlanks();
    if (AtEnd() || IsMeta(Peek())) return Fail("redirection `" + op + "` without a target");
    Redirect r;
    r.op = op;
    if ((op == ">&" || op == "<&") && Peek() == '-') {
      // bash reads the `-` that closes a descriptor as a token of its own: `>&-/etc/x`
      // closes stdout and passes `/etc/x` to the command as an argument.
      r.target.text = "-";
      ++i_;
      cmd->redirects.push_back(std::move(r));
      return;
    }
    ParseWord(&r.target);
    if (Failed()) return;
    if (op == "<<" || op == "<<-") {
      out_->heredoc = true;
      // A quoted delimiter means a literal body; an unquoted one expands $ and `...`: its
      // body is read as a word once the line holding the operator ends.
      pending_heredocs_.push_back({r.target.text, op == "<<-", !r.target.quoted});
    } else if (op == "<<<") {
      out_->heredoc = true;
    }
    cmd->redirects.push_back(std::move(r));
  }

  // `bare` keeps the word's unquoted characters, with \x01 for each quoted part and
  // expansion: what bash looks at when it decides on brace and tilde expansion.
  void ParseWord(Word* w) {
    std::string bare;
    while (!AtEnd() && !Failed()) {
      const char c = Peek();
      if ((c == '<' || c == '>') && Peek(1) == '(') {
        // Process substitution, anywhere in a word (`x<(cmd)y` is `x/dev/fd/63y`): a
        // pipe to a nested list.
        Substitution("process substitution `<(...)`");
        i_ += 2;
        ++depth_;
        ParseList(')');
        --depth_;
        w->expansion = true;
        w->text += "<(...)";
        bare.push_back('\x01');
        continue;
      }
      if (IsMeta(c)) break;
      if (c == '\\') {
        if (i_ + 1 >= s_.size()) return Fail("a trailing backslash");
        if (Peek(1) == '\n') {
          i_ += 2;
          continue;
        }
        w->text.push_back(Peek(1));
        w->quoted = true;
        bare.push_back('\x01');
        i_ += 2;
      } else if (c == '\'') {
        const size_t close = s_.find('\'', i_ + 1);
        if (close == std::string_view::npos) return Fail("an unterminated single quote");
        w->text.append(s_.substr(i_ + 1, close - i_ - 1));
        w->quoted = true;
        bare.push_back('\x01');
        i_ = close + 1;
      } else if (c == '"') {
        ParseDoubleQuoted(w);
        bare.push_back('\x01');
      } else if (c == '$') {
        ParseDollar(w, /*in_dquote=*/false);
        bare.push_back('\x01');
      } else if (c == '`') {
        ParseBacktick(w);
        bare.push_back('\x01');
      } else {
        if (c == '*' || c == '?' || c == '[') w->glob = true;
        // Tilde expansion: at the start of a word, and (bash, outside POSIX mode) after the
        // `=` or a `:` of a word shaped like an assignment, even an argument (`if=~/x`).
        if (c == '~' && (bare.empty() || bare.back() == '=' || bare.back() == ':')) {
          w->expansion = true;
          w->parameter = true;
        }
        w->text.push_back(c);
        bare.push_back(c);
        ++i_;
      }
    }
    if (HasBraceExpansion(bare)) w->brace = true;
  }

  void ParseDoubleQuoted(Word* w) {
    w->quoted = true;
    ++i_;
    while (!Failed()) {
      if (AtEnd()) return Fail("an unterminated double quote");
      const char c = Peek();
      if (c == '"') {
        ++i_;
        return;
      }
      ParseExpandingChar(w, "$`\"\\");
    }
  }

  void ParseNested(char end, const char* what) {
    Substitution(what);
    ++depth_;
    ParseList(end);
    --depth_;
  }

  // The index of the `close` that ends an arithmetic text starting at k (nested `open`s
  // counted). What this reader does not follow inside arithmetic fails the line: quotes
  // (they move where bash ends it) and command substitution (it runs a command).
  size_t ScanArithmetic(size_t k, char open, char close) {
    int depth = 0;
    for (; k < s_.size(); ++k) {
      const char c = s_[k];
      if (c == '\'' || c == '"' || c == '\\') {
        Fail("quotes or escapes inside arithmetic expansion are not supported");
        return k;
      }
      const bool dollar_paren = c == '$' && k + 1 < s_.size() && s_[k + 1] == '(' &&
                                !(k + 2 < s_.size() && s_[k + 2] == '(');
      if (c == '`' || dollar_paren) {
        Fail("command substitution inside arithmetic expansion");
        return k;
      }
      if (c == open) {
        ++depth;
      } else if (c == close) {
        if (depth == 0) return k;
        --depth;
      }
    }
    Fail(std::string("an unterminated arithmetic expansion `$") + open + "`");
    return k;
  }

  void ParseDollar(Word* w, bool in_dquote) {
    // bash removes `\<newline>` before it reads `$`: `$\<newline>HOME` is `$HOME`.
    if (Peek(1) == '\\' && Peek(2) == '\n') {
      return Fail("a line continuation right after `$` is not supported");
    }
    const char n = Peek(1);
    if (n == '(' && Peek(2) == '(') {
      // bash reads `$((` as arithmetic only when the `)` matching the second `(` is followed
      // by `)`; otherwise (`$((cmd) )`) it is a command substitution holding a subshell.
      const size_t close = ScanArithmetic(i_ + 3, '(', ')');
      if (Failed()) return;
      if (close + 1 < s_.size() && s_[close + 1] == ')') {
        w->expansion = true;
        w->parameter = true;
        w->text += "$((...))";
        i_ = close + 2;
        return;
      }
      i_ += 2;
      ParseNested(')', "command substitution `$(...)`");
      w->expansion = true;
      w->text += "$(...)";
      return;
    }
    if (n == '[') {  // legacy arithmetic `$[...]`: expanded, and it can assign variables
      const size_t close = ScanArithmetic(i_ + 2, '[', ']');
      if (Failed()) return;
      w->expansion = true;
      w->parameter = true;
      w->text += "$[...]";
      i_ = close + 1;
      return;
    }
    if (n == '(') {
      i_ += 2;
      ParseNested(')', "command substitution `$(...)`");
      w->expansion = true;
      w->text += "$(...)";
      return;
    }
    if (n == '{') {
      w->expansion = true;
      w->parameter = true;
      w->text += "${...}";
      i_ += 2;
      while (!Failed()) {
        if (AtEnd()) return Fail("an unterminated parameter expansion `${`");
        const char c = Peek();
        if (c == '}') {
          ++i_;
          return;
        }
        Word inner;  // nested words: only their substitutions matter
        if (c == '$') {
          ParseDollar(&inner, true);
        } else if (c == '`') {
          ParseBacktick(&inner);
        } else if (c == '"') {
          ParseDoubleQuoted(&inner);
        } else if (c == '\'' && !in_dquote) {
          const size_t close = s_.find('\'', i_ + 1);
          if (close == std::string_view::npos) return Fail("an unterminated single quote");
          i_ = close + 1;
        } else if (c == '\\') {
          i_ += 2;
        } else {
          ++i_;
        }
      }
      return;
    }
    if (IsNameStart(n)) {
      w->expansion = true;
      w->parameter = true;
      i_ += 1;
      w->text.push_back('$');
      while (!AtEnd() && IsNameChar(Peek())) w->text.push_back(s_[i_++]);
      return;
    }
    if ((n >= '0' && n <= '9') || n == '@' || n == '*' || n == '#' || n == '?' || n == '$' ||
        n == '!' || n == '-') {
      w->expansion = true;
      w->parameter = true;
      w->text.push_back('$');
      w->text.push_back(n);
      i_ += 2;
      return;
    }
    if (n == '\'' && !in_dquote) {
      ParseAnsiC(w);
      return;
    }
    if (n == '"' && !in_dquote) {  // $"..." (locale translation): a double-quoted string
      ++i_;
      ParseDoubleQuoted(w);
      return;
    }
    w->text.push_back('$');  // a lone $ is literal
    ++i_;
  }

  // $'...' with backslash escapes decoded as bash does.
  void ParseAnsiC(Word* w) {
    w->quoted = true;
    i_ += 2;
    while (!Failed()) {
      if (AtEnd()) return Fail("an unterminated $'...' quote");
      const char c = Peek();
      if (c == '\'') {
        ++i_;
        return;
      }
      if (c != '\\') {
        w->text.push_back(c);
        ++i_;
        continue;
      }
      const char e = Peek(1);
      i_ += 2;
      static constexpr std::array<std::pair<char, char>, 12> kSimple = {{{'n', '\n'},
                                                                         {'t', '\t'},
                                                                         {'r', '\r'},
                                                                         {'a', '\a'},
                                                                         {'b', '\b'},
                                                                         {'e', '\x1b'},
                                                                         {'E', '\x1b'},
                                                                         {'f', '\f'},
                                                                         {'v', '\v'},
                                                                         {'\\', '\\'},
                                                                         {'\'', '\''},
                                                                         {'"', '"'}}};
      bool done = false;
      for (const auto& [k, v] : kSimple) {
        if (e == k) {
          w->text.push_back(v);
          done = true;
          break;
        }
      }
      if (done) continue;
      if (e == 'x' || e == 'u' || e == 'U') {
        const int max = e == 'x' ? 2 : (e == 'u' ? 4 : 8);
        uint32_t v = 0;
        int k = 0;
        while (k < max && HexValue(Peek()) >= 0) {
          v = v * 16 + static_cast<uint32_t>(HexValue(Peek()));
          ++i_;
          ++k;
        }
        if (k == 0) {
          w->text.push_back('\\');
          w->text.push_back(e);
        } else if (e == 'x') {
          w->text.push_back(static_cast<char>(v));
        } else {
          AppendUtf8(std::min<uint32_t>(v, 0x10FFFF), &w->text);
        }
      } else if (e >= '0' && e <= '7') {
        uint32_t v = static_cast<uint32_t>(e - '0');
        for (int k = 0; k < 2 && Peek() >= '0' && Peek() <= '7'; ++k) v = v * 8 + (s_[i_++] - '0');
        w->text.push_back(static_cast<char>(v & 0xFF));
      } else if (e == 'c' && !AtEnd()) {
        w->text.push_back(static_cast<char>(s_[i_++] & 0x1F));
      } else {
        w->text.push_back('\\');
        w->text.push_back(e);
      }
    }
  }

  void ParseBacktick(Word* w) {
    // The body ends at the next unescaped backtick; \` \\ and \$ are unescaped first.
    std::string body;
    size_t k = i_ + 1;
    for (; k < s_.size() && s_[k] != '`'; ++k) {
      if (s_[k] == '\\' && k + 1 < s_.size() &&
          (s_[k + 1] == '`' || s_[k + 1] == '\\' || s_[k + 1] == '$')) {
        body.push_back(s_[++k]);
      } else {
        body.push_back(s_[k]);
      }
    }
    if (k >= s_.size()) return Fail("an unterminated backquote");
    i_ = k + 1;
    Substitution("command substitution with backquotes");
    w->expansion = true;
    w->text += "`...`";
    if (depth_ + 1 > kMaxDepth) return Fail("nested more than 32 levels deep");
    Parser inner(body, out_, depth_ + 1);
    inner.ParseAll();
  }

  std::string_view s_;
  size_t i_ = 0;
  Parsed* out_;
  int depth_;
  struct PendingHeredoc {
    std::string delimiter;
    bool strip_tabs = false;  // <<-
    bool expands = false;     // the delimiter is unquoted
  };
  std::vector<PendingHeredoc> pending_heredocs_;
};

Parsed Parse(std::string_view line) {
  Parsed p;
  Parser parser(line, &p, 0);
  parser.ParseAll();
  return p;
}

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

// A value an option or an operand carries (`--output=V`, `-oV`, `if=V`): under `prefix`
// when it resolves there. `%` and `\` are ordinary bytes of a file name here (`--format=%H`).
bool ValueUnder(std::string_view value, std::string_view prefix, const std::string& cwd) {
  if (value.empty()) return true;
  std::string plain(value);
  std::replace(plain.begin(), plain.end(), '%', '_');
  std::replace(plain.begin(), plain.end(), '\\', '_');
  const std::string abs = ResolvePath(plain, cwd);
  return !abs.empty() && PathHasPrefix(abs, prefix);
}

// A word in a path position: every path the program may open because of it lies under
// `prefix`. An operand is a path; an option word carries one after `=` (`--files0-from=F`)
// or attached to a short option (`-o/etc/x`, `-xf../x`: every suffix that could be the
// value is judged); a value whose effect cannot be judged is refused (expansions, braces,
// the options above, a glob that may match a name starting with `-`). `options_done`:
// after `--`, words are operands.
bool PathWordUnder(const Word& w, std::string_view command, bool options_done,
                   std::string_view prefix, const std::string& cwd) {
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
      return eq == std::string::npos || ValueUnder(std::string_view(t).substr(eq + 1), prefix, cwd);
    }
    int candidates = 0;
    for (size_t k = 1; k < t.size(); ++k) {
      if (t[k] != '/' && t[k] != '.' && t[k] != '=') continue;
      if (++candidates > 16) return false;
      const size_t from = t[k] == '=' ? k + 1 : k;
      if (!ValueUnder(std::string_view(t).substr(from), prefix, cwd)) return false;
    }
    return true;
  }
  const std::string abs = ResolvePath(t, cwd);
  if (abs.empty() || !PathHasPrefix(abs, prefix)) return false;
  const size_t eq = t.find('=');  // `if=/etc/shadow` (dd, make VAR=...)
  return eq == std::string::npos || ValueUnder(std::string_view(t).substr(eq + 1), prefix, cwd);
}

// Allow: word by word (docs/shell-commands.md, "Allow patterns").
bool MatchAllow(const Pattern& p, const std::vector<const Word*>& words, size_t command_index,
                const std::string& cwd) {
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
        return PathWordUnder(word, command, options_done, pw.text, cwd);
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

std::string Join(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) {
    if (!out.empty()) out.push_back(' ');
    out += w;
  }
  return out;
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
  for (const std::string& s : rules.allow) {
    std::string w;
    auto p = CompilePattern(s, &w);
    if (!p) {
      *why = w;
      return nullptr;
    }
    m->allow.push_back(std::move(*p));
  }
  for (const std::string& s : rules.deny) {
    std::string w;
    auto p = CompilePattern(s, &w);
    if (!p) {
      *why = w;
      return nullptr;
    }
    m->deny.push_back(std::move(*p));
  }
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

bool CheckShellCommand(const ShellMatcher& m, std::string_view line, std::string* why) {
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
    for (const Redirect& rd : c.redirects) {
      const std::string& t = rd.target.text;
      if (rd.op == "<<" || rd.op == "<<-" || rd.op == "<<<") continue;
      if ((rd.op == ">&" || rd.op == "<&") &&
          (t == "-" || (!t.empty() && std::all_of(t.begin(), t.end(), [](char ch) {
             return ch >= '0' && ch <= '9';
           })))) {
        continue;  // duplicating or closing a descriptor
      }
      const std::string abs = ResolvePath(t, r.cwd);
      const bool ok = abs == "/dev/null" ||
                      (!abs.empty() &&
                       std::any_of(m.redirect_paths.begin(), m.redirect_paths.end(),
                                   [&](const std::string& p) { return PathHasPrefix(abs, p); }));
      if (!ok) {
        *why = "redirection `" + rd.op + " " + Shown(t) + "` names " +
               (abs.empty() ? std::string("a path that cannot be resolved") : "`" + abs + "`") +
               ", which is outside the allowed redirect paths";
        return false;
      }
    }
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
    const std::string shown = Shown(Join(words));
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
      if (!r.allow_shell_reentry && ReentryCommands().count(base) > 0) {
        *why = "`" + shown + "` runs `" + std::string(base) +
               "`, which interprets text as commands; re-entering a shell is not allowed";
        return false;
      }
      std::string wrap_why;
      view = Unwrap(view, &wrap_why);
      if (!wrap_why.empty() && !r.allow_shell_reentry) {
        *why = "`" + shown + "`: " + wrap_why + "; re-entering a shell is not allowed";
        return false;
      }
    }
    const size_t command_index = c.assigns.size();
    std::vector<const Word*> all;
    all.reserve(c.assigns.size() + c.words.size());
    for (const Word& w : c.assigns) all.push_back(&w);
    for (const Word& w : c.words) all.push_back(&w);
    const bool allowed = std::any_of(m.allow.begin(), m.allow.end(), [&](const Pattern& p) {
      return MatchAllow(p, all, command_index, r.cwd);
    });
    if (!allowed) {
      *why = "`" + shown + "` matches no allow pattern";
      return false;
    }
  }
  return true;
}

}  // namespace interlock::policy
