// Differential test of the shell reader against bash itself, so that the next way bash
// and the reader disagree is found by a machine, not by an attacker.
//
// Every line the rules ALLOW (the adversarial corpus, the issue-31 attacks, and lines from
// a seeded generator of shell syntax: quotes, braces, expansions, here-documents,
// redirections, separators) is run by `bash --noprofile --norc -c LINE` in a throwaway
// sandbox: bwrap with every namespace unshared (no network), a root holding only bash, a
// scratch workspace and stub programs (shell_argv_stub.cc) standing in for every command,
// builtins disabled (BASH_ENV) so that `echo` and `eval` run stubs too, and bash's
// command_not_found_handle recording any other command. Nothing real is executed. Each
// argv bash executed must then (a) be the words of a simple command the reader saw (a
// word the reader marks as expanded stands for any run of arguments), and (b) be allowed
// by the same rules on its own. Without bwrap the lines run under `env -i` with PATH
// holding only the stubs (the generator then avoids absolute command paths).
//
// IL_SHELL_DIFF_LINES (default 3000) and IL_SHELL_DIFF_SEED change the generated count
// and seed for a longer local run; CI runs the default in a few seconds.
// IL_SHELL_DIFF_CORPUS=DIR adds every file of DIR as a line (fuzz/shell_command/corpus
// always is). IL_SHELL_DIFF_NO_SANDBOX=1 runs the fallback (no bwrap) even where bwrap works.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "argv_log.h"
#include "policy/shell_command.h"
#include "shell_corpus.h"
#include "wait.h"

namespace interlock::policy {
namespace INTERLOCK_TEST_NS {

using interlock::testing::WaitUntil;

namespace fs = std::filesystem;
using Argv = std::vector<std::string>;

constexpr auto kRunDeadline = std::chrono::seconds(50);

// Programs the sandbox's PATH holds, as stubs. Anything else reaches the not-found hook.
const std::vector<std::string>& StubNames() {
  static const std::vector<std::string> k = {
      "cat",  "head", "tail",  "wc",   "git",   "ls",    "pwd",  "echo", "npm",    "rm",
      "sudo", "env",  "nice",  "time", "xargs", "find",  "sh",   "bash", "curl",   "tar",
      "id",   "dd",   "grep",  "sort", "true",  "false", "test", "[",    "printf", "touch",
      "cp",   "mv",   "chmod", "nc",   "make",  "exec",  "eval", "x"};
  return k;
}

std::string FindBash() {
  for (const char* p : {"/usr/bin/bash", "/bin/bash"}) {
    if (access(p, X_OK) == 0) return fs::canonical(p).string();
  }
  return "";
}

bool Executable(const char* path) { return access(path, X_OK) == 0; }

// Runs argv with env, stdin/stdout/stderr on /dev/null, in its own process group; kills
// the group at the deadline. Returns the exit status, or -1 when it was killed or failed.
int RunBounded(const Argv& argv, const Argv& env, std::chrono::steady_clock::time_point until) {
  std::vector<char*> a, e;
  for (const std::string& s : argv) a.push_back(const_cast<char*>(s.c_str()));
  for (const std::string& s : env) e.push_back(const_cast<char*>(s.c_str()));
  a.push_back(nullptr);
  e.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    setpgid(0, 0);
    const int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    execve(a[0], a.data(), e.data());
    _exit(127);
  }
  setpgid(pid, pid);
  int status = 0;
  pid_t r = 0;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      until - std::chrono::steady_clock::now());
  WaitUntil([&] { return (r = waitpid(pid, &status, WNOHANG)) != 0; },
            std::max(left, std::chrono::milliseconds(0)), std::chrono::milliseconds(5));
  if (r < 0) return -1;
  if (r != pid) {
    kill(-pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void WriteFile(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

// A scratch tree: stubs/ (the PATH), ws/ (the workspace and cwd), lines/ (one file per
// line), logs/ (one argv log per line), init.sh (BASH_ENV) and driver.sh.
class BashSandbox {
 public:
  ~BashSandbox() {
    if (!root_.empty()) {
      std::error_code ec;
      fs::remove_all(root_, ec);
    }
  }

  // Empty when ready, else why the test cannot run here.
  std::string Init() {
    bash_ = FindBash();
    if (bash_.empty()) return "no bash on this machine";
    std::string tmpl = (fs::temp_directory_path() / "interlock-bashdiff-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) return "cannot make a temporary directory";
    root_ = fs::canonical(tmpl);
    for (const char* d : {"stubs", "ws", "lines", "logs"}) fs::create_directories(root_ / d);
    const fs::path stub = root_ / "stubs" / "il-stub";
    fs::copy_file(SHELL_ARGV_STUB, stub);
    for (const std::string& n : StubNames()) fs::create_symlink("il-stub", root_ / "stubs" / n);
    fs::create_symlink("il-stub", root_ / "stubs" / "il-notfound");
    sandboxed_ = std::getenv("IL_SHELL_DIFF_NO_SANDBOX") == nullptr &&
                 Executable("/usr/bin/bwrap") && Probe();
    stubs_in_box_ = sandboxed_ ? "/usr/bin" : (root_ / "stubs").string();
    WriteFile(root_ / "init.sh",
              "command_not_found_handle() { " + stubs_in_box_ +
                  "/il-notfound \"$@\"; }\n"
                  "for b in $(compgen -b); do [[ $b == enable ]] || enable -n \"$b\"; done\n"
                  "enable -n enable\n");
    WriteFile(root_ / "driver.sh",
              "cd \"$WS\" || exit 1\n"
              "for f in \"$LINES\"/*; do\n"
              "  [[ -f $f ]] || continue\n"
              "  line=\n"
              "  IFS= read -r -d '' line < \"$f\"\n"
              "  IL_ARGV_LOG=\"$LOGS/${f##*/}\" BASH_ENV=\"$INIT\" \"$BASH_BIN\" --noprofile "
              "--norc -c \"$line\" </dev/null >/dev/null 2>&1\n"
              "  cd \"$WS\"\n"
              "done\n");
    return "";
  }

  bool sandboxed() const { return sandboxed_; }
  std::string workspace() const { return (root_ / "ws").string(); }

  // Runs each line in bash; records[i] is what line i executed. False when the run did
  // not finish before the deadline.
  bool Run(const std::vector<std::string>& lines, std::vector<std::vector<Argv>>* records) {
    for (size_t i = 0; i < lines.size(); ++i) {
      WriteFile(root_ / "lines" / Name(i), lines[i]);
    }
    const Argv env = {"PATH=" + stubs_in_box_,
                      "HOME=/home/outside-the-workspace",
                      "LANG=C",
                      "WS=" + workspace(),
                      "LINES=" + (root_ / "lines").string(),
                      "LOGS=" + (root_ / "logs").string(),
                      "INIT=" + (root_ / "init.sh").string(),
                      "BASH_BIN=" + BashInBox()};
    Argv argv = sandboxed_ ? BwrapPrefix() : Argv{};
    argv.insert(argv.end(), {BashInBox(), "--noprofile", "--norc", (root_ / "driver.sh").string()});
    if (!sandboxed_) argv[0] = bash_;
    const int rc = RunBounded(argv, env, std::chrono::steady_clock::now() + kRunDeadline);
    if (rc < 0) return false;
    records->assign(lines.size(), {});
    for (size_t i = 0; i < lines.size(); ++i) (*records)[i] = ReadLog(root_ / "logs" / Name(i));
    return true;
  }

 private:
  static std::string Name(size_t i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%07zu", i);
    return buf;
  }

  std::string BashInBox() const { return sandboxed_ ? "/il/bash" : bash_; }

  // A root with nothing but the libraries, bash at /il/bash, the stubs as /usr/bin (so
  // `/bin/rm` is a stub too), and the scratch tree; no network, no other process.
  Argv BwrapPrefix() const {
    Argv a = {"/usr/bin/bwrap", "--unshare-all", "--die-with-parent", "--new-session",
              "--ro-bind",      "/usr/lib",      "/usr/lib"};
    for (const char* d : {"/lib", "/lib64", "/lib32", "/usr/lib64", "/usr/lib32"}) {
      std::error_code ec;
      if (std::string(d) == "/usr/lib") continue;
      if (fs::is_symlink(d, ec)) {
        a.insert(a.end(), {"--symlink", fs::read_symlink(d, ec).string(), d});
      } else if (fs::is_directory(d, ec)) {
        a.insert(a.end(), {"--ro-bind", d, d});
      }
    }
    const std::string r = root_.string();
    a.insert(a.end(), {"--ro-bind",  bash_,       "/il/bash", "--ro-bind", r + "/stubs",
                       "/usr/bin",   "--symlink", "usr/bin",  "/bin",      "--proc",
                       "/proc",      "--dev",     "/dev",     "--tmpfs",   "/tmp",
                       "--bind",     r,           r,          "--ro-bind", r + "/stubs",
                       r + "/stubs", "--chdir",   workspace()});
    return a;
  }

  bool Probe() const {
    Argv argv = BwrapPrefix();
    argv.insert(argv.end(), {"/il/bash", "--noprofile", "--norc", "-c", "exit 7"});
    return RunBounded(argv, {"PATH=/usr/bin"},
                      std::chrono::steady_clock::now() + std::chrono::seconds(20)) == 7;
  }

  static std::vector<Argv> ReadLog(const fs::path& p) {
    return interlock::testing::ReadArgvLog(p.string());
  }

  std::string bash_;
  fs::path root_;
  bool sandboxed_ = false;
  std::string stubs_in_box_;
};

// Whether `args` are what the words of one simple command become: a literal word is one
// argument, equal byte for byte; an expanded word stands for any run of arguments.
bool WordsMatch(const std::vector<ShellWord>& words, const Argv& args) {
  // reach[j]: words[0..i) can produce args[0..j).
  std::vector<bool> reach(args.size() + 1, false);
  reach[0] = true;
  for (const ShellWord& w : words) {
    std::vector<bool> next(args.size() + 1, false);
    for (size_t j = 0; j <= args.size(); ++j) {
      if (!reach[j]) continue;
      if (w.expanded) {
        for (size_t t = j; t <= args.size(); ++t) next[t] = true;
        break;
      }
      if (j < args.size() && args[j] == w.text) next[j + 1] = true;
    }
    reach = std::move(next);
  }
  return reach[args.size()];
}

// `args` as a line the reader decodes back to exactly these bytes.
std::string Quoted(const Argv& args) {
  std::string line;
  for (const std::string& a : args) {
    if (!line.empty()) line.push_back(' ');
    line += "$'";
    for (unsigned char c : a) {
      if (c < 0x20 || c >= 0x7f || c == '\'' || c == '\\') {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\x%02x", c);
        line += buf;
      } else {
        line.push_back(static_cast<char>(c));
      }
    }
    line.push_back('\'');
  }
  return line;
}

// Rules in the shape of examples/policies/claude-code.yaml, rooted at the sandbox's
// workspace; `open` also allows substitution and here-documents (not expansion: with it,
// the checker admits it does not know the words, and this comparison means nothing).
ShellRules RulesFor(const std::string& ws, bool open) {
  ShellRules r;
  r.allow = {"git status",
             "git status " + ws + "/**",
             "git diff",
             "git diff " + ws + "/**",
             "git log",
             "git log " + ws + "/**",
             "ls",
             "ls " + ws + "/**",
             "cat " + ws + "/**",
             "head " + ws + "/**",
             "wc " + ws + "/**",
             "tar " + ws + "/**",
             "dd " + ws + "/**",
             "npm test *",
             "pwd",
             "echo *",
             "x *"};
  if (open) r.allow.push_back("cat");
  r.deny = {"rm -rf *", "git push --force*", "git diff --output*", "git log --output*", "sudo *"};
  r.redirect_paths = {ws};
  r.cwd = ws;
  r.allow_substitution = open;
  r.allow_heredoc = open;
  return r;
}

// The issue-31 attacks and their neighbours, spelled against workspace `ws`.
std::vector<std::string> AttackLines(const std::string& ws) {
  return {
      "cat " + ws + "/{a'}'/x,/../../../../OUTSIDE/secret}",
      "cat " + ws + "/{'a b'/x,/../../OUTSIDE/secret}",
      "git diff {--src-prefix='}',--output=/any/file}",
      "wc --files0-from=/any/file",
      "wc --files0-from=list",
      "git diff --no-index /any/file /dev/null",
      "git diff /etc/passwd /dev/null",
      "echo $[x=1]",
      "echo $((echo hi) )",
      "echo $((cat /etc/passwd) )",
      "cat <<EOF\n$(rm -rf /)\nEOF",
      "cat <<EOF\n$(echo hi)\nEOF",
      "cat <<EOF\n`rm -rf x`\nEOF",
      "cat if=~/x",
      "dd if=~/.ssh/id_rsa of=out",
      "tar -C .. -cf out.tar x",
      "cat $(echo /etc/passwd)",
      "cat src/`echo ../../etc/passwd`",
      "echo {a,b}",
      "{rm,-rf,/}",
      "cat '{a,b}' \\{c,d\\}",
      "head -n 5 README.md",
      "echo $'\\x72\\x6d' -rf /",
      "cat README.md; echo done && pwd || ls",
      "git log --format=%h -- src | head -3",
      "cat $\\\nHOME/.ssh/id_rsa",
      "cat {a}<README.md",
      "cat <(echo)a:b",
      "wc --files0=list",
      "cat README.md >&-/etc/shadow >out.txt",
  };
}

// Random lines of shell syntax, biased towards what the rules allow so that many run.
class LineGenerator {
 public:
  LineGenerator(uint32_t seed, bool absolute_paths) : rng_(seed) {
    if (absolute_paths) names_.insert(names_.end(), {"/bin/rm", "/usr/bin/cat", "./x"});
  }

  std::string Line() {
    std::string line = Command();
    const int more = Pick(3);
    for (int i = 0; i < more; ++i) line += Pick(kSeparators) + Command();
    if (Pick(8) == 0) line = "(" + line + ")";
    if (Pick(10) == 0) line = "{ " + line + "; }";
    if (Pick(6) == 0) line += Heredoc();
    return line;
  }

 private:
  static constexpr const char* kSeparators[] = {"; ", " && ", " || ", " | ",
                                                "\n", " & ",  " |& ", ";"};
  // Redirections end their word (a trailing blank), so that the files lines create in the
  // shared workspace keep plain names (x, o, f, out.txt) for the globs of later lines.
  static constexpr const char* kPieces[] = {
      "README.md", "src/a.cc", "src", "-n", "5", "--lines=3", "-l", "HEAD~1", "--", "-", "a", "b",
      ".", "..", "/etc/passwd", "../x", "~", "~/x", "x=~/y", "a:b", "'a b'", "\"a b\"", "a\\ b",
      "'}'", "','", "\"}\"", "\\}", "\\,", "$'\\x2c'", "$'\\x7d'", "{", "}", ",", "{a,b}",
      "{a'}'b,c}", "{1..3}", "{a,'b c'}", "{x,{y,z}}", "{}", "{a}", "$X", "${X}", "${X:-a}", "$[1]",
      "$((1+1))", "$((echo hi) )", "$( (echo hi) )", "$(echo hi)", "`echo hi`", "\"$(pwd)\"",
      "<(echo)", "*", "?", "[ab]", ".*", "--output=o", "--files0-from=f", "-o/etc/x", "-C",
      "if=/etc/x", "%H", "#c", "\\", "$'\\n'", "\"$X\"", "'$X'", "$", "a$", "=", "@{1}", "\\\n",
      // Quoting corners: escapes inside quotes, $'...' escapes, $"...", comments in words.
      "\"a\\\"b\"", "\"\\$X\"", "\"\\`x\"", "$'a\\'b'", "$'\\101'", "$'\\cA'", "$\"a b\"", "a#b",
      "'#'", "\\#", "a\\\nb", "\"a\nb\"", "${X:-{a,b}}", "${X-'}'}", "\"{a,b}\"", "{a,\"b\"}",
      "x{a,b}y", "{a..c}", "{1..2}{a,b}", "-{a,b}", "'a'\"b\"c", "\\'", "\"'\"", "!", "2>x ", ">x ",
      "<x ", "&>x ", ">|x ", "2>&1", "\t",
      // Line continuations joining what follows to what precedes.
      "\\\n>x ", "{a}\\\n", "2\\\n>x ", "$\\\nX", "&\\\n>x ", "'a'\\\n{b,c}", "x=\\\n~"};
  static constexpr const char* kRedirects[] = {
      " > out.txt", " 2>&1", " < README.md", " > /tmp/x", " >> o", " 2>/dev/null",
      " <<< word",  " >&-",  " 3<> f",       " >&-x",     " <& -y"};

  int Pick(int n) { return static_cast<int>(rng_() % static_cast<uint32_t>(n)); }
  template <size_t N>
  std::string Pick(const char* const (&a)[N]) {
    return a[rng_() % N];
  }
  std::string Pick(const std::vector<std::string>& v) { return v[rng_() % v.size()]; }

  std::string Word() {
    std::string w = Pick(kPieces);
    const int glue = Pick(3);
    for (int i = 0; i < glue; ++i) w += Pick(kPieces);
    return w;
  }

  std::string Command() {
    std::string c = Pick(names_);
    if (Pick(8) == 0) c = Pick(std::vector<std::string>{"A=1 ", "X=~ ", "! ", "A='b c' "}) + c;
    if (c == "git") c += " " + Pick(std::vector<std::string>{"diff", "log", "status", "push"});
    const int n = Pick(4);
    for (int i = 0; i < n; ++i) c += " " + Word();
    if (Pick(5) == 0) c += Pick(kRedirects);
    return c;
  }

  std::string Heredoc() {
    const std::string delim = Pick(std::vector<std::string>{"EOF", "'EOF'", "\"EOF\"", "E\\OF"});
    const bool tabs = Pick(3) == 0;
    std::string body;
    const int n = 1 + Pick(3);
    for (int i = 0; i < n; ++i) body += (tabs ? "\t" : "") + Word() + " " + Word() + "\n";
    return "\ncat <<" + std::string(tabs ? "-" : "") + delim + "\n" + body + (tabs ? "\t" : "") +
           "EOF";
  }

  std::mt19937 rng_;
  std::vector<std::string> names_ = {"echo", "cat", "wc", "head", "git", "ls", "pwd",
                                     "x",    "rm",  "dd", "tar",  "env", "npm"};
};

uint32_t EnvNumber(const char* name, uint32_t fallback) {
  const char* v = std::getenv(name);
  return v == nullptr ? fallback : static_cast<uint32_t>(std::strtoul(v, nullptr, 10));
}

// Tests that every line the shell rules allow executes in bash only commands and
// arguments the reader saw and the rules allow, over the adversarial corpus, the issue-31
// attacks and generated shell syntax.
TEST(ShellBashDifferential, AllowedLinesRunOnlyWhatTheReaderSaw) {
  BashSandbox box;
  const std::string why = box.Init();
  if (!why.empty()) GTEST_SKIP() << why;
  const std::string ws = box.workspace();
  std::string err;
  const auto strict = CompileShellRules(RulesFor(ws, false), &err);
  const auto open = CompileShellRules(RulesFor(ws, true), &err);
  ASSERT_TRUE(strict && open) << err;

  std::vector<std::string> candidates;
  for (const Case& c : AdversarialShellCorpus()) candidates.emplace_back(c.line);
  for (std::string& l : AttackLines(ws)) candidates.push_back(std::move(l));
  // The fuzz target's corpus, and any directory of lines named by IL_SHELL_DIFF_CORPUS
  // (a libFuzzer run's output directory, say).
  std::vector<std::string> dirs = {std::string(INTERLOCK_SOURCE_DIR) +
                                   "/fuzz/shell_command/corpus"};
  if (const char* extra = std::getenv("IL_SHELL_DIFF_CORPUS")) dirs.emplace_back(extra);
  for (const std::string& d : dirs) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(d, ec)) {
      std::ifstream in(e.path(), std::ios::binary);
      candidates.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
  }
  LineGenerator gen(EnvNumber("IL_SHELL_DIFF_SEED", 20261125), box.sandboxed());
  const uint32_t count = EnvNumber("IL_SHELL_DIFF_LINES", 3000);
  for (uint32_t i = 0; i < count; ++i) candidates.push_back(gen.Line());

  // Each allowed line with the rules that allowed it (strict ones first).
  std::vector<std::string> lines;
  std::vector<const ShellMatcher*> by;
  std::set<std::string> seen;
  for (const std::string& l : candidates) {
    if (!seen.insert(l).second) continue;
    for (const ShellMatcher* m : {strict.get(), open.get()}) {
      std::string w;
      if (CheckShellCommand(*m, l, &w)) {
        lines.push_back(l);
        by.push_back(m);
        break;
      }
    }
  }
  ASSERT_GT(lines.size(), 50u) << "the generator should produce lines the rules allow";

  std::vector<std::vector<Argv>> records;
  ASSERT_TRUE(box.Run(lines, &records))
      << "bash did not finish " << lines.size() << " lines in " << kRunDeadline.count() << " s";
  size_t executed = 0, findings = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::vector<ShellSimpleCommand> read;
    std::string w;
    ASSERT_TRUE(ReadShellCommands(lines[i], &read, &w)) << lines[i] << ": " << w;
    for (const Argv& argv : records[i]) {
      ++executed;
      const bool saw = std::any_of(read.begin(), read.end(), [&](const ShellSimpleCommand& c) {
        return WordsMatch(c.words, argv);
      });
      std::string reason;
      const bool allowed = CheckShellCommand(*by[i], Quoted(argv), &reason);
      if (!saw || !allowed) ++findings;
      EXPECT_TRUE(saw) << "bash ran `" << Quoted(argv) << "`, which the reader did not see in\n"
                       << lines[i];
      EXPECT_TRUE(allowed) << "bash ran `" << Quoted(argv) << "` (" << reason
                           << ") for the allowed line\n"
                           << lines[i];
      if (findings > 20) FAIL() << "more than 20 findings; stopping";
    }
  }
  std::printf(
      "bash differential: %zu candidate lines, %zu allowed, %zu commands executed, "
      "%s\n",
      candidates.size(), lines.size(), executed,
      box.sandboxed() ? "bwrap sandbox" : "no sandbox (env -i, stub PATH)");
  EXPECT_GT(executed, 50u) << "bash should have run the stubs";
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::policy
