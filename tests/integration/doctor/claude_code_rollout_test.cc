// `interlock claude-code setup` and `interlock doctor --claude-code` (docs/claude-code.md)
// against the real `interlock serve` on 127.0.0.1 port 0: the files an organisation deploys,
// the tokens working at the daemon's HTTP hook, and each way a developer's machine can end
// up unprotected named by doctor with its fix.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "daemon_harness.h"
#include "subprocess.h"
#include "temp_dir.h"

namespace interlock::testing {
namespace INTERLOCK_TEST_NS {

namespace fs = std::filesystem;
namespace json = boost::json;

const std::string kBin = std::string(INTERLOCK_BINARY_DIR) + "/interlock";

constexpr char kPolicy[] = R"(agent:
  id: "claude-code"
  identity: "claude-code@example.iam"
tools:
  allowed:
    - name: "Read"
execution:
  max_steps: 100
)";

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

mode_t Mode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

// The first line of `out` starting with `level` that contains `needle`, or "".
std::string Line(const std::string& out, const std::string& level, const std::string& needle) {
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(level, 0) == 0 && line.find(needle) != std::string::npos) return line;
  }
  return "";
}

class ClaudeCodeRolloutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    policies_ = dir_.path() + "/policies";
    dir_.Write("policies/claude-code.yaml", kPolicy);
    daemon_ = std::make_unique<Daemon>(dir_.path(), policies_);
    ASSERT_TRUE(daemon_->Start()) << daemon_->log();
    url_ = "http://127.0.0.1:" + std::to_string(daemon_->port());
    out_ = dir_.path() + "/rollout";
    project_ = dir_.path() + "/project";
    home_ = dir_.path() + "/home";
    fs::create_directories(project_);
    fs::create_directories(home_);
  }

  ProcessResult Setup(std::vector<std::string> extra) {
    std::vector<std::string> argv = {
        kBin, "claude-code", "setup", "--store", daemon_->store(), "--policy", policies_};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunProcess(argv);
  }

  // Setup for alice and bob against the test's daemon.
  void SetUpRollout() {
    ProcessResult r =
        Setup({"--url", url_, "--out", out_, "--developer", "alice", "--developer", "bob"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  }

  std::string Token(const std::string& developer) {
    return Trim(ReadAll(out_ + "/tokens/" + developer + ".token"));
  }

  // `interlock doctor --claude-code` as on a developer's machine with `token` exported.
  ProcessResult Doctor(const std::string& token, const std::string& settings = "") {
    return RunProcess({"/usr/bin/env", "HOME=" + home_, "INTERLOCK_TOKEN=" + token, kBin, "doctor",
                       "--claude-code", "--managed-settings",
                       settings.empty() ? out_ + "/managed-settings.json" : settings, "--project",
                       project_, "--user-settings", home_ + "/.claude/settings.json", "--timeout",
                       "5"});
  }

  // The generated managed settings, changed by `edit`, written to a new file.
  std::string EditedSettings(const std::function<void(json::object&)>& edit) {
    json::value v = json::parse(ReadAll(out_ + "/managed-settings.json"));
    edit(v.as_object());
    const std::string path = dir_.path() + "/edited-managed-settings.json";
    std::ofstream(path) << json::serialize(v);
    ::chmod(path.c_str(), 0644);
    return path;
  }

  TempDir dir_;
  std::string policies_, url_, out_, project_, home_;
  std::unique_ptr<Daemon> daemon_;
};

// Tests that setup writes the managed settings posting to the daemon, one 0600 token per
// developer in a 0700 directory and a README, and that each token is an agent token the
// daemon's HTTP hook accepts (a Read allowed under the policy).
TEST_F(ClaudeCodeRolloutTest, SetupWritesSettingsAndPrivateTokensTheDaemonAccepts) {
  SetUpRollout();
  const json::value settings = json::parse(ReadAll(out_ + "/managed-settings.json"));
  EXPECT_EQ(settings.at("allowManagedHooksOnly"), true);
  const json::object& pre =
      settings.at("hooks").at("PreToolUse").at(0).at("hooks").at(0).as_object();
  EXPECT_EQ(pre.at("url"), json::value(url_ + "/v1/hooks/claude-code"));
  EXPECT_EQ(pre.at("onFailure"), "block");
  EXPECT_EQ(Mode(out_ + "/tokens"), 0700u);
  const std::string input = ReadAll(std::string(INTERLOCK_SOURCE_DIR) +
                                    "/tests/fixtures/claude_code_http/pre_tool_use_read.json");
  ASSERT_FALSE(input.empty());
  for (const std::string dev : {"alice", "bob"}) {
    EXPECT_EQ(Mode(out_ + "/tokens/" + dev + ".token"), 0600u) << dev;
    const std::string token = Token(dev);
    ASSERT_EQ(token.rfind("ilk_", 0), 0u) << dev << ": " << token;
    // Each developer's own session and tool use (an answer is handed out again only to the
    // identity, here the developer, it was decided for).
    json::value event = json::parse(input);
    event.as_object()["session_id"] = "session-of-" + dev;
    event.as_object()["tool_use_id"] = "toolu_read_of_" + dev;
    HttpClient http(daemon_->port());
    HttpResult r = http.Request("POST", "/v1/hooks/claude-code", json::serialize(event), token);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json.at("hookSpecificOutput").at("permissionDecision"), "allow")
        << dev << ": " << r.body;
  }
  EXPECT_NE(Token("alice"), Token("bob"));
  const std::string readme = ReadAll(out_ + "/README.md");
  EXPECT_NE(readme.find("/etc/claude-code/managed-settings.json"), std::string::npos);
  EXPECT_NE(readme.find("| alice | tokens/alice.token |"), std::string::npos) << readme;
  ProcessResult list = RunProcess({kBin, "token", "list", "--store", daemon_->store()});
  EXPECT_NE(list.out.find("alice"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("bob"), std::string::npos) << list.out;
}

// Tests that a second setup into the same directory overwrites nothing and issues no token
// (a re-run must not silently replace files developers were handed).
TEST_F(ClaudeCodeRolloutTest, SetupNeverOverwritesAndThenIssuesNoToken) {
  SetUpRollout();
  const std::string alice = Token("alice");
  ProcessResult again =
      Setup({"--url", url_, "--out", out_, "--developer", "alice", "--developer", "carol"});
  EXPECT_EQ(again.exit_code, 1) << again.err;
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;
  EXPECT_EQ(Token("alice"), alice);
  EXPECT_FALSE(fs::exists(out_ + "/tokens/carol.token"));
  ProcessResult list = RunProcess({kBin, "token", "list", "--store", daemon_->store()});
  EXPECT_EQ(list.out.find("carol"), std::string::npos) << list.out;
}

// Tests that a daemon URL over plain http to another host is refused before anything is
// written (every token and tool call would cross the network in clear text).
TEST_F(ClaudeCodeRolloutTest, SetupRefusesPlainHttpToAnotherHost) {
  ProcessResult r =
      Setup({"--url", "http://interlock.example.com:8181", "--out", out_, "--developer", "alice"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("https is required"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out_));
}

// Tests that a developer name that would leave the tokens directory ("../x") is refused.
TEST_F(ClaudeCodeRolloutTest, SetupRefusesADeveloperNameThatIsAPath) {
  ProcessResult r = Setup({"--url", url_, "--out", out_, "--developer", "../evil"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("developer \"../evil\""), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out_));
}

// Tests that tokens for an agent no policy defines are refused (every call would be denied).
TEST_F(ClaudeCodeRolloutTest, SetupRefusesAnAgentNoPolicyDefines) {
  ProcessResult r =
      Setup({"--url", url_, "--out", out_, "--developer", "alice", "--agent", "claude-cod"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no policy defines agent \"claude-cod\""), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out_));
}

// Tests that each developer's roots are bound to their own token (token list shows them),
// and that a root that can never qualify (`/`) is refused before anything is written.
TEST_F(ClaudeCodeRolloutTest, SetupBindsEachDevelopersRootsToTheirToken) {
  ProcessResult r = Setup({"--url", url_, "--out", out_, "--developer", "alice:/home/alice/src/*"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ProcessResult list =
      RunProcess({kBin, "token", "list", "--store", daemon_->store(), "--format", "json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("\"/home/alice/src/*\""), std::string::npos) << list.out;
  const std::string other = out_ + "-2";
  ProcessResult bad = Setup({"--url", url_, "--out", other, "--developer", "bob:/"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("workspace roots"), std::string::npos) << bad.err;
  EXPECT_FALSE(fs::exists(other));
}

// Tests that the developers file is read (comments, blank lines) like --developer.
TEST_F(ClaudeCodeRolloutTest, SetupReadsTheDevelopersFile) {
  const std::string file = dir_.Write("developers.txt", "# team\nalice\n\n  bob  # lead\n");
  ProcessResult r = Setup({"--url", url_, "--out", out_, "--developers", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(out_ + "/tokens/alice.token"));
  EXPECT_TRUE(fs::exists(out_ + "/tokens/bob.token"));
}

// Tests that doctor passes on the generated settings with a running daemon and the
// developer's token, every line a check.
TEST_F(ClaudeCodeRolloutTest, DoctorPassesOnGeneratedSettingsAndRunningDaemon) {
  SetUpRollout();
  ProcessResult r = Doctor(Token("alice"));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(Line(r.out, "ok", "PreToolUse posts to " + url_), "") << r.out;
  EXPECT_NE(Line(r.out, "ok", "SubagentStop posts to"), "") << r.out;
  EXPECT_NE(Line(r.out, "ok", "allowManagedHooksOnly"), "") << r.out;
  EXPECT_NE(Line(r.out, "ok", "accepts the token in $INTERLOCK_TOKEN (agent claude-code)"), "")
      << r.out;
  EXPECT_EQ(Line(r.out, "FAIL", ""), "") << r.out;
}

// Tests that `disableAllHooks` in the project's settings (a file the agent can write) fails.
TEST_F(ClaudeCodeRolloutTest, DoctorFailsWhenProjectSettingsDisableAllHooks) {
  SetUpRollout();
  dir_.Write("project/.claude/settings.json", R"({"disableAllHooks": true})");
  ProcessResult r = Doctor(Token("alice"));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  const std::string line = Line(r.out, "FAIL", "disableAllHooks");
  EXPECT_NE(line.find(project_ + "/.claude/settings.json"), std::string::npos) << r.out;
  EXPECT_NE(line.find("remove \"disableAllHooks\""), std::string::npos) << line;
}

// Tests that `disableAllHooks` in the managed settings themselves fails.
TEST_F(ClaudeCodeRolloutTest, DoctorFailsWhenManagedSettingsDisableAllHooks) {
  SetUpRollout();
  const std::string s = EditedSettings([](json::object& o) { o["disableAllHooks"] = true; });
  ProcessResult r = Doctor(Token("alice"), s);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(Line(r.out, "FAIL", "managed settings set disableAllHooks"), "") << r.out;
}

// Tests that a missing PreToolUse hook (tools would run undecided) fails, naming the event.
TEST_F(ClaudeCodeRolloutTest, DoctorFailsWhenAHookIsMissing) {
  SetUpRollout();
  const std::string s =
      EditedSettings([](json::object& o) { o["hooks"].as_object().erase("PreToolUse"); });
  ProcessResult r = Doctor(Token("alice"), s);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(Line(r.out, "FAIL", "PreToolUse hook: no hook registered"), "") << r.out;
}

// Tests that a deciding hook without onFailure block (a daemon outage lets tools run) fails.
TEST_F(ClaudeCodeRolloutTest, DoctorFailsWhenAFailedHookWouldLetTheToolRun) {
  SetUpRollout();
  const std::string s = EditedSettings([](json::object& o) {
    o["hooks"].at("PermissionRequest").at(0).at("hooks").at(0).as_object().erase("onFailure");
  });
  ProcessResult r = Doctor(Token("alice"), s);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(Line(r.out, "FAIL", "PermissionRequest hook: no \"onFailure\": \"block\""), "")
      << r.out;
}

// Tests that a hook whose matcher covers some tools only fails.
TEST_F(ClaudeCodeRolloutTest, DoctorFailsWhenTheMatcherLeavesToolsUnchecked) {
  SetUpRollout();
  const std::string s = EditedSettings(
      [](json::object& o) { o["hooks"].at("PreToolUse").at(0).as_object()["matcher"] = "Bash"; });
  ProcessResult r = Doctor(Token("alice"), s);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(Line(r.out, "FAIL", "matcher \"Bash\" leaves other tools unchecked"), "") << r.out;
}

// Tests that without allowManagedHooksOnly, a project's own PreToolUse hooks (which can
// answer for Interlock's) fail.
TEST_F(ClaudeCodeRolloutTest, DoctorFailsWhenLocalHooksRunBesideInterlocksWithoutManagedOnly) {
  SetUpRollout();
  const std::string s = EditedSettings([](json::object& o) { o.erase("allowManagedHooksOnly"); });
  dir_.Write("project/.claude/settings.local.json",
             R"({"hooks":{"PreToolUse":[{"matcher":"*","hooks":[{"type":"command",)"
             R"("command":"echo '{}'"}]}]}})");
  ProcessResult r = Doctor(Token("alice"), s);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(Line(r.out, "warn", "do not set allowManagedHooksOnly"), "") << r.out;
  EXPECT_NE(Line(r.out, "FAIL", "settings.local.json add PreToolUse hooks"), "") << r.out;
}

// Tests that a revoked token fails with the daemon's refusal, and an empty one is named.
TEST_F(ClaudeCodeRolloutTest, DoctorFailsWhenTheDaemonRefusesTheToken) {
  SetUpRollout();
  ProcessResult refused = Doctor("ilk_not-a-token-the-daemon-issued");
  EXPECT_EQ(refused.exit_code, 1) << refused.out;
  EXPECT_NE(Line(refused.out, "FAIL", "refuses the token in $INTERLOCK_TOKEN"), "") << refused.out;
  ProcessResult unset = Doctor("");
  EXPECT_EQ(unset.exit_code, 1) << unset.out;
  EXPECT_NE(Line(unset.out, "FAIL", "$INTERLOCK_TOKEN is not set"), "") << unset.out;
}

// Tests that a daemon that does not answer fails, bounded, saying tools are blocked.
TEST_F(ClaudeCodeRolloutTest, DoctorFailsWhenTheDaemonIsUnreachable) {
  SetUpRollout();
  daemon_->Stop();
  ProcessResult r = Doctor(Token("alice"));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(Line(r.out, "FAIL", "is unreachable"), "") << r.out;
}

// Tests that a machine without the managed settings fails with what to install.
TEST_F(ClaudeCodeRolloutTest, DoctorFailsWithoutManagedSettings) {
  SetUpRollout();
  ProcessResult r = Doctor(Token("alice"), dir_.path() + "/none/managed-settings.json");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(Line(r.out, "FAIL", "no managed settings at"), "") << r.out;
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::testing
