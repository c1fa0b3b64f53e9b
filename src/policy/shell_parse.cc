// The shell command-line parser (shell_parse.h).
#include "policy/shell_parse.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <set>
#include <string>
#include <utility>
#include <vector>
#include "common/text.h"

namespace interlock::policy::shell_internal {
namespace {

constexpr int kMaxDepth = 32;

bool IsBlank(char c) { return c == ' ' || c == '\t'; }
bool IsMeta(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == ';' || c == '&' || c == '|' || c == '<' ||
         c == '>' || c == '(' || c == ')';
}
bool IsNameStart(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

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
        while (k < max && HexDigitValue(Peek()) >= 0) {
          v = v * 16 + static_cast<uint32_t>(HexDigitValue(Peek()));
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

}  // namespace

bool IsAssignment(std::string_view raw) {
  if (raw.empty() || !IsNameStart(raw[0])) return false;
  size_t i = 1;
  while (i < raw.size() && IsNameChar(raw[i])) ++i;
  return i < raw.size() &&
         (raw[i] == '=' || (raw[i] == '+' && i + 1 < raw.size() && raw[i + 1] == '='));
}

Parsed Parse(std::string_view line) {
  Parsed p;
  Parser parser(line, &p, 0);
  parser.ParseAll();
  return p;
}

}  // namespace interlock::policy::shell_internal
