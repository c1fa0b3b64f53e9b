// The agent cannot switch off its guard (issue 54, item 3): the shipped Claude Code policy
// refuses every tool that would write Claude Code's own control files, git's, .env files,
// credentials and shell start-up files, and path arguments are judged on the path the OS
// opens (core::OsPathResolver, handed to the engine by the Guard for every door). Real
// files and links in a temp directory; the Guard over a memory store.
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "core/guard.h"
#include "core/memory_run_store.h"
#include "core/path_links.h"
#include "interlock/decision.h"
#include "policy/loader.h"
#include "temp_dir.h"

namespace interlock::core {
namespace INTERLOCK_TEST_NS {

namespace fs = std::filesystem;
namespace json = boost::json;
using ::testing::HasSubstr;

class OsPathResolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::canonical(dir_.path()).string();
    fs::create_directories(root_ + "/proj/src");
    fs::create_directories(root_ + "/home/.ssh");
    std::ofstream(root_ + "/home/.ssh/id_rsa") << "key";
  }
  std::string Resolve(const std::string& path) {
    Result<std::string> r = OsPaths()->Resolve(path);
    return r.ok() ? *r : "error: " + r.error().message;
  }
  void Link(const std::string& target, const std::string& at) {
    fs::create_symlink(target, root_ + "/" + at);
  }

  testing::TempDir dir_{"interlock-links"};
  std::string root_;
};

// Tests that a link inside the project to a directory outside resolves to that directory.
TEST_F(OsPathResolverTest, LinkToDirectoryOutsideResolvesToItsTarget) {
  Link(root_ + "/home/.ssh", "proj/docs-link");
  EXPECT_EQ(Resolve(root_ + "/proj/docs-link/id_rsa"), root_ + "/home/.ssh/id_rsa");
}

// Tests that a link to a file, and a relative link, resolve as the kernel resolves them.
TEST_F(OsPathResolverTest, LinkToFileAndRelativeLinkResolve) {
  Link(root_ + "/home/.ssh/id_rsa", "proj/key");
  Link("../home/.ssh", "proj/rel");
  EXPECT_EQ(Resolve(root_ + "/proj/key"), root_ + "/home/.ssh/id_rsa");
  EXPECT_EQ(Resolve(root_ + "/proj/rel/id_rsa"), root_ + "/home/.ssh/id_rsa");
}

// Tests that a chain of links is followed to its end.
TEST_F(OsPathResolverTest, ChainOfLinksIsFollowedToItsEnd) {
  Link(root_ + "/proj/b", "proj/a");
  Link("c", "proj/b");
  Link(root_ + "/home/.ssh", "proj/c");
  EXPECT_EQ(Resolve(root_ + "/proj/a/id_rsa"), root_ + "/home/.ssh/id_rsa");
}

// Tests that a dangling link is followed to the target opening it would create.
TEST_F(OsPathResolverTest, DanglingLinkIsFollowedToTheTargetItWouldCreate) {
  Link(root_ + "/home/new/file", "proj/out");
  EXPECT_EQ(Resolve(root_ + "/proj/out"), root_ + "/home/new/file");
}

// Tests that a link in the middle of a path is resolved and the rest appended.
TEST_F(OsPathResolverTest, LinkInTheMiddleOfAPath) {
  fs::create_directories(root_ + "/elsewhere/data");
  fs::create_directories(root_ + "/proj/sub");
  Link(root_ + "/elsewhere", "proj/sub/mid");
  EXPECT_EQ(Resolve(root_ + "/proj/sub/mid/data/x.txt"), root_ + "/elsewhere/data/x.txt");
}

// Tests that `..` after a link climbs from the link's target, not from the link.
TEST_F(OsPathResolverTest, DotDotAfterALinkClimbsFromItsTarget) {
  Link(root_ + "/home/.ssh", "proj/hop");
  EXPECT_EQ(Resolve(root_ + "/proj/hop/../notes.txt"), root_ + "/home/notes.txt");
}

// Tests that a loop of links is an error, never an answer.
TEST_F(OsPathResolverTest, LoopOfLinksIsAnError) {
  Link(root_ + "/proj/loop2", "proj/loop1");
  Link(root_ + "/proj/loop1", "proj/loop2");
  EXPECT_THAT(Resolve(root_ + "/proj/loop1/x"), HasSubstr("error: "));
  Link("self", "proj/self");
  EXPECT_THAT(Resolve(root_ + "/proj/self"), HasSubstr("symbolic links"));
}

// Tests that a path with no links, or whose rest does not exist, is normalised lexically.
TEST_F(OsPathResolverTest, PathsWithoutLinksAreNormalisedLexically) {
  EXPECT_EQ(Resolve(root_ + "/proj/./src//a.cc"), root_ + "/proj/src/a.cc");
  EXPECT_EQ(Resolve(root_ + "/proj/new/dir/../x.txt"), root_ + "/proj/new/x.txt");
  EXPECT_EQ(Resolve("/"), "/");
  EXPECT_THAT(Resolve("relative/path"), HasSubstr("error: "));
}

// The shipped policy, examples/policies/claude-code.yaml, with ${workspace} a real project
// directory, decided through the Guard (the one path every door takes).
class ShippedClaudeCodePolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::canonical(dir_.path()).string();
    ws_ = root_ + "/proj";
    home_ = root_ + "/home";
    fs::create_directories(ws_ + "/src");
    fs::create_directories(ws_ + "/.claude/agents");
    fs::create_directories(home_ + "/.ssh");
    std::ofstream(home_ + "/.ssh/id_rsa") << "key";
    std::ofstream(ws_ + "/README.md") << "readme";
    std::ofstream(ws_ + "/src/a.cc") << "int a;";
    std::ofstream(ws_ + "/.claude/settings.json") << "{}";
    Load(ws_);
  }
  void Load(const std::string& workspace) {
    policy::LoadOptions options;
    options.workspace = workspace;
    std::vector<policy::Diagnostic> diags;
    auto set = policy::LoadPolicySet(
        {std::string(INTERLOCK_SOURCE_DIR) + "/examples/policies/claude-code.yaml"}, &diags,
        options);
    ASSERT_TRUE(set.ok()) << set.error().message;
    source_ = std::make_unique<PolicySource>(*set);
    store_ = std::make_unique<MemoryRunStore>();
    ASSERT_TRUE(store_->CreateRun("claude-code", "r", clock_.Now()).ok());
    guard_ = std::make_unique<Guard>(source_.get(), store_.get(), &clock_, nullptr);
  }
  void Link(const std::string& target, const std::string& at) { fs::create_symlink(target, at); }

  Decision Call(const std::string& tool, json::object args) {
    ToolCall c;
    c.tool = tool;
    c.args = std::move(args);
    return guard_->Decide("claude-code", "claude-code", "r", std::move(c)).decision;
  }
  Decision Read(const std::string& path) { return Call("Read", {{"file_path", path}}); }
  Decision Write(const std::string& path) {
    return Call("Write", {{"file_path", path}, {"content", "x"}});
  }
  Decision Bash(const std::string& command) { return Call("Bash", {{"command", command}}); }

  testing::TempDir dir_{"interlock-guard-files"};
  std::string root_, ws_, home_;
  ManualClock clock_;
  std::unique_ptr<PolicySource> source_;
  std::unique_ptr<MemoryRunStore> store_;
  std::unique_ptr<Guard> guard_;
};

// Every way the shipped policy lets an agent name a file it writes: the file tools and the
// shell lines an agent would try. Each must be refused for a control file.
std::vector<std::pair<std::string, json::object>> WritesOf(const std::string& ws,
                                                           const std::string& path) {
  return {
      {"Write", {{"file_path", path}, {"content", R"({"disableAllHooks": true})"}}},
      {"Edit", {{"file_path", path}, {"old_string", "a"}, {"new_string", "b"}}},
      {"MultiEdit", {{"file_path", path}, {"edits", json::array{}}}},
      {"NotebookEdit", {{"notebook_path", path}, {"new_source", "x"}}},
      {"Bash", {{"command", "echo '{}' >> " + path}}},
      {"Bash", {{"command", "echo x > " + path}}},
      {"Bash", {{"command", "sed -i s/a/b/ " + path}}},
      {"Bash", {{"command", "cp " + ws + "/README.md " + path}}},
      {"Bash", {{"command", "mv " + ws + "/README.md " + path}}},
      {"Bash", {{"command", "echo x | tee " + path}}},
      {"Bash", {{"command", "ln -s " + ws + "/README.md " + path}}},
  };
}

// Tests that the agent cannot write, edit or shell its way into Claude Code's settings, its
// sub-agent definitions, commands and hooks, .mcp.json, managed settings, git's hooks and
// config, .env files, credentials or shell start-up files (in the project or the home
// directory): each file through each tool, while an ordinary file stays writable.
TEST_F(ShippedClaudeCodePolicyTest, AgentWritingClaudeSettingsIsRefused) {
  const std::vector<std::string> control = {
      ws_ + "/.claude/settings.json",
      ws_ + "/.claude/settings.local.json",
      ws_ + "/.claude/agents/reviewer.md",
      ws_ + "/.claude/commands/deploy.md",
      ws_ + "/.claude/hooks/pre.sh",
      ws_ + "/sub/.claude/settings.json",
      ws_ + "/.mcp.json",
      ws_ + "/.git/hooks/pre-commit",
      ws_ + "/.git/config",
      ws_ + "/.gitconfig",
      ws_ + "/.env",
      ws_ + "/.env.local",
      ws_ + "/config/.env.production",
      ws_ + "/.envrc",
      ws_ + "/.npmrc",
      ws_ + "/.netrc",
      ws_ + "/.pypirc",
      ws_ + "/.bashrc",
      ws_ + "/.bash_profile",
      ws_ + "/.profile",
      ws_ + "/.zshrc",
      ws_ + "/.zprofile",
      ws_ + "/.ssh/authorized_keys",
      ws_ + "/.aws/credentials",
      ws_ + "/.config/gcloud/credentials.db",
      ws_ + "/.docker/config.json",
      ws_ + "/.kube/config",
      home_ + "/.claude/settings.json",
      home_ + "/.claude/agents/reviewer.md",
      home_ + "/.gitconfig",
      home_ + "/.bashrc",
      home_ + "/.ssh/authorized_keys",
      "/etc/claude-code/managed-settings.json",
  };
  for (const std::string& file : control) {
    for (auto& [tool, args] : WritesOf(ws_, file)) {
      const std::string shown = tool + " " + json::serialize(args);
      Decision d = Call(tool, args);
      EXPECT_EQ(d.verdict, Verdict::kDeny) << shown << ": " << d.reason;
      EXPECT_EQ(d.code, Code::kConstraintViolated) << shown << ": " << d.reason;
    }
  }
  // The same tools on an ordinary file of the project: the file tools and a redirection
  // pass (so the refusals above are about the file), the other programs are not allowed.
  const std::string plain = ws_ + "/src/notes.txt";
  for (auto& [tool, args] : WritesOf(ws_, plain)) {
    const std::string shown = tool + " " + json::serialize(args);
    const std::string command = tool == "Bash" ? std::string(args.at("command").as_string()) : "";
    const bool writes = tool != "Bash" || command.rfind("echo ", 0) == 0;
    const bool piped = command.find('|') != std::string::npos;
    Decision d = Call(tool, args);
    EXPECT_EQ(d.verdict, writes && !piped ? Verdict::kAllow : Verdict::kDeny)
        << shown << ": " << d.reason;
  }
}

// Tests that a shell line naming a control file is refused with a reason naming it.
TEST_F(ShippedClaudeCodePolicyTest, AgentEchoingIntoClaudeSettingsIsRefusedByName) {
  Decision d = Bash("echo '{\"disableAllHooks\":true}' >> .claude/settings.json");
  EXPECT_EQ(d.code, Code::kConstraintViolated);
  EXPECT_THAT(d.reason, HasSubstr(ws_ + "/.claude/settings.json"));
  EXPECT_THAT(d.reason, HasSubstr("path_not_pattern"));
  EXPECT_EQ(Bash("echo x > notes.txt").verdict, Verdict::kAllow);
}

// Tests that secrets are not read: .env files and keys, by Read, Grep and cat, while the
// project's ordinary files and Claude Code's settings stay readable.
TEST_F(ShippedClaudeCodePolicyTest, AgentReadingSecretsIsRefused) {
  for (const std::string& p :
       {ws_ + "/.env", ws_ + "/.env.production", ws_ + "/.npmrc", ws_ + "/.aws/credentials",
        home_ + "/.ssh/id_rsa", ws_ + "/.ssh/id_ed25519", ws_ + "/.kube/config"}) {
    EXPECT_EQ(Read(p).code, Code::kConstraintViolated) << p;
  }
  EXPECT_EQ(Call("Grep", {{"pattern", "KEY"}, {"path", ws_ + "/.env"}}).code,
            Code::kConstraintViolated);
  EXPECT_EQ(Bash("cat .env").code, Code::kConstraintViolated);
  EXPECT_EQ(Bash("head -n 1 " + ws_ + "/.env.local").code, Code::kConstraintViolated);
  EXPECT_EQ(Read(ws_ + "/README.md").verdict, Verdict::kAllow);
  EXPECT_EQ(Read(ws_ + "/.claude/settings.json").verdict, Verdict::kAllow);
  EXPECT_EQ(Bash("cat README.md").verdict, Verdict::kAllow);
}

// Tests that `git push`, wherever it sits in a line, waits for a human, while the rest of
// the Bash rule runs as it is and a force push stays refused.
TEST_F(ShippedClaudeCodePolicyTest, GitPushAsksForApproval) {
  EXPECT_EQ(Bash("git push origin main").code, Code::kApprovalRequired);
  EXPECT_EQ(Bash("git status && git push").code, Code::kApprovalRequired);
  EXPECT_EQ(Bash("git status").code, Code::kAllowed);
  EXPECT_EQ(Bash("git push --force origin main").code, Code::kConstraintViolated);
  EXPECT_EQ(Bash("git push origin main; rm -rf /").code, Code::kConstraintViolated);
}

// Tests that a link inside the project to ~/.ssh does not reach it: by Read, Grep, Glob and
// cat, with the reason saying where the link leads.
TEST_F(ShippedClaudeCodePolicyTest, SymlinkInsideWorkspaceToSshIsRefused) {
  Link(home_ + "/.ssh", ws_ + "/docs-link");
  Decision d = Read(ws_ + "/docs-link/id_rsa");
  EXPECT_EQ(d.code, Code::kConstraintViolated) << d.reason;
  EXPECT_THAT(d.reason, HasSubstr("through symbolic links is"));
  EXPECT_THAT(d.reason, HasSubstr(home_ + "/.ssh/id_rsa"));
  EXPECT_EQ(Call("Grep", {{"pattern", "KEY"}, {"path", ws_ + "/docs-link"}}).code,
            Code::kConstraintViolated);
  EXPECT_EQ(Call("Glob", {{"pattern", "*"}, {"path", ws_ + "/docs-link"}}).code,
            Code::kConstraintViolated);
  EXPECT_EQ(Bash("cat docs-link/id_rsa").code, Code::kConstraintViolated);
  EXPECT_EQ(Bash("cat " + ws_ + "/docs-link/id_rsa").code, Code::kConstraintViolated);
}

// Tests that a link to a single file outside the project is refused.
TEST_F(ShippedClaudeCodePolicyTest, SymlinkToFileOutsideWorkspaceIsRefused) {
  Link(home_ + "/.ssh/id_rsa", ws_ + "/key.txt");
  EXPECT_EQ(Read(ws_ + "/key.txt").code, Code::kConstraintViolated);
  EXPECT_EQ(Bash("wc -c key.txt").code, Code::kConstraintViolated);
}

// Tests that a chain of links that ends outside the project is refused.
TEST_F(ShippedClaudeCodePolicyTest, ChainOfSymlinksLeavingWorkspaceIsRefused) {
  Link(ws_ + "/b", ws_ + "/a");
  Link("c", ws_ + "/b");
  Link(home_, ws_ + "/c");
  EXPECT_EQ(Read(ws_ + "/a/.ssh/id_rsa").code, Code::kConstraintViolated);
  EXPECT_EQ(Read(ws_ + "/a/notes.txt").code, Code::kConstraintViolated);
}

// Tests that a dangling link whose target is outside is refused for writing: opening it
// would create the target.
TEST_F(ShippedClaudeCodePolicyTest, DanglingSymlinkToOutsideIsRefused) {
  Link(home_ + "/.profile.d/evil.sh", ws_ + "/out.sh");
  EXPECT_EQ(Write(ws_ + "/out.sh").code, Code::kConstraintViolated);
  EXPECT_EQ(Bash("echo x > out.sh").code, Code::kConstraintViolated);
}

// Tests that a link in the middle of a path is resolved, and that a link inside the project
// to a control file (or its directory) is refused like the file itself.
TEST_F(ShippedClaudeCodePolicyTest, SymlinkInTheMiddleOfPathIsRefused) {
  fs::create_directories(root_ + "/elsewhere/data");
  fs::create_directories(ws_ + "/sub");
  Link(root_ + "/elsewhere", ws_ + "/sub/mid");
  EXPECT_EQ(Read(ws_ + "/sub/mid/data/x.txt").code, Code::kConstraintViolated);
  Link(ws_ + "/.claude", ws_ + "/config-dir");
  Link(ws_ + "/.claude/settings.json", ws_ + "/settings-link.json");
  EXPECT_EQ(Write(ws_ + "/config-dir/settings.json").code, Code::kConstraintViolated);
  EXPECT_EQ(Write(ws_ + "/settings-link.json").code, Code::kConstraintViolated);
  EXPECT_EQ(Bash("echo x >> config-dir/settings.json").code, Code::kConstraintViolated);
  EXPECT_EQ(Bash("echo x >> settings-link.json").code, Code::kConstraintViolated);
}

// Tests that `..` after a link is judged from where the link leads: lexically inside the
// project, opened outside it.
TEST_F(ShippedClaudeCodePolicyTest, DotDotAfterSymlinkIsJudgedFromItsTarget) {
  fs::create_directories(home_ + "/sub");
  Link(home_ + "/sub", ws_ + "/hop");
  Decision d = Read(ws_ + "/hop/../README.md");  // lexically the project's README
  EXPECT_EQ(d.code, Code::kConstraintViolated) << d.reason;
  EXPECT_THAT(d.reason, HasSubstr(home_ + "/README.md"));
  EXPECT_EQ(Bash("cat hop/../README.md").code, Code::kConstraintViolated);
}

// Tests that a loop of links is refused (an error resolving is a deny), never allowed.
TEST_F(ShippedClaudeCodePolicyTest, SymlinkLoopIsRefused) {
  Link(ws_ + "/loop2", ws_ + "/loop1");
  Link(ws_ + "/loop1", ws_ + "/loop2");
  Decision d = Read(ws_ + "/loop1/x");
  EXPECT_EQ(d.code, Code::kConstraintViolated) << d.reason;
  EXPECT_THAT(d.reason, HasSubstr("cannot be resolved"));
  EXPECT_EQ(Bash("cat loop1/x").code, Code::kConstraintViolated);
}

// Tests that both forms must pass: a path outside the project as written is refused even
// when its link leads back inside, and links that stay inside the project are allowed.
TEST_F(ShippedClaudeCodePolicyTest, BothTheWrittenAndTheResolvedPathMustPass) {
  Link(ws_, root_ + "/back-in");
  EXPECT_EQ(Read(root_ + "/back-in/README.md").code, Code::kConstraintViolated);
  Link(ws_ + "/src", ws_ + "/docs");
  EXPECT_EQ(Read(ws_ + "/docs/a.cc").verdict, Verdict::kAllow);
  EXPECT_EQ(Write(ws_ + "/docs/b.cc").verdict, Verdict::kAllow);
  EXPECT_EQ(Bash("cat docs/a.cc").verdict, Verdict::kAllow);
}

// Tests that a workspace reached through a link (as /tmp is on some systems) still allows
// its own files: the prefix is resolved too.
TEST_F(ShippedClaudeCodePolicyTest, WorkspaceBehindSymlinkStillAllowsItsFiles) {
  Link(ws_, root_ + "/proj-link");
  ASSERT_NO_FATAL_FAILURE(Load(root_ + "/proj-link"));
  EXPECT_EQ(Read(root_ + "/proj-link/README.md").verdict, Verdict::kAllow);
  EXPECT_EQ(Write(root_ + "/proj-link/src/new.cc").verdict, Verdict::kAllow);
  EXPECT_EQ(Bash("cat README.md").verdict, Verdict::kAllow);
  EXPECT_EQ(Bash("echo x > notes.txt").verdict, Verdict::kAllow);
  EXPECT_EQ(Read(root_ + "/proj-link/.env").code, Code::kConstraintViolated);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::core
