// A workspace per Claude Code session, bounded by the organisation (issue 54, item 1):
// through one `interlock serve`, `${workspace}` in a policy is each session's project (the
// hook input's cwd at its first event, or the repository above it), fixed for the
// session's life and refused outside the policy's `workspace_roots`. The HTTP hook (POST
// /v1/hooks/claude-code) and the command hook with --daemon. Real daemon on 127.0.0.1
// port 0, temp directories standing for developers' home directories.
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "daemon_harness.h"
#include "daemon_suite.h"
#include "json_lines.h"
#include "subprocess.h"
#include "temp_dir.h"

namespace interlock::testing {
namespace INTERLOCK_TEST_NS {

namespace fs = std::filesystem;
namespace json = boost::json;

class ClaudeCodeWorkspaceTest : public DaemonSuite {
 protected:
  void SetUp() override {
    root_ = fs::canonical(dir_.path()).string();
    ann_ = root_ + "/home/ann/src/shop";
    bob_ = root_ + "/home/bob/src/blog";
    fs::create_directories(ann_ + "/.git");
    fs::create_directories(ann_ + "/web");
    fs::create_directories(bob_);
    fs::create_directories(root_ + "/daemon-ws");
    const std::string policies = root_ + "/policies";
    fs::create_directories(policies);
    std::ofstream(policies + "/dev.yaml")
        << "agent:\n  id: \"dev\"\n  identity: \"dev@example.iam\"\n"
           "workspace_roots:\n  - \""
        << root_
        << "/home/*/src/*\"\n"
           "tools:\n  allowed:\n    - name: \"Read\"\n      constraints:\n        arguments:\n"
           "          file_path:\n            path_prefix: \"${workspace}\"\n"
           "execution:\n  max_steps: 1000\n";
    daemon_ = std::make_unique<Daemon>(root_, policies);
    daemon_->SetExtraArgs({"--workspace", root_ + "/daemon-ws"});
    token_ = Token("--agent", "dev");
    ann_token_ = Token("--agent", "dev", {"--workspace-root", root_ + "/home/ann/src/*"});
    reviewer_ = Token("--reviewer", "rita");
    StartDaemon();
  }
  static std::string Input(const std::string& session, const std::string& cwd,
                           const std::string& file, int use) {
    return json::serialize(json::object{{"session_id", session},
                                        {"transcript_path", "/dev/null"},
                                        {"cwd", cwd},
                                        {"permission_mode", "default"},
                                        {"hook_event_name", "PreToolUse"},
                                        {"tool_name", "Read"},
                                        {"tool_input", json::object{{"file_path", file}}},
                                        {"tool_use_id", "toolu_ws" + std::to_string(use)}});
  }
  // The HTTP hook's answer to a Read of `file` in `session` sent with `cwd`.
  json::value Read(const std::string& session, const std::string& cwd, const std::string& file,
                   const std::string& token = "") {
    HttpResult r =
        client_->Request("POST", "/v1/hooks/claude-code", Input(session, cwd, file, ++uses_),
                         token.empty() ? token_ : token);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json;
  }
  static std::string Verdict(const json::value& answer) {
    return Str(answer, {"hookSpecificOutput", "permissionDecision"});
  }
  static std::string Reason(const json::value& answer) {
    return Str(answer, {"hookSpecificOutput", "permissionDecisionReason"});
  }
  // The session's run as GET /v1/runs/{id} shows it (the only run with that workspace).
  json::value RunOf(const std::string& workspace_or_refused) {
    HttpResult runs = client_->Request("GET", "/v1/runs?agent=dev", "", reviewer_);
    EXPECT_EQ(runs.status, 200) << runs.body;
    for (const json::value& run : runs.json.at("runs").as_array()) {
      HttpResult one = client_->Request("GET", "/v1/runs/" + Str(run, {"run_id"}), "", reviewer_);
      if (one.body.find(workspace_or_refused) != std::string::npos) return one.json;
    }
    ADD_FAILURE() << "no run shows " << workspace_or_refused << ": " << runs.body;
    return json::object{};
  }

  std::string root_, ann_, bob_, token_, ann_token_, reviewer_;
  int uses_ = 0;
};

// Tests that two developers' sessions in two projects through one daemon are each allowed
// in their own project and denied in the other's (and the daemon's workspace is neither's):
// a session started in a sub-directory of a repository works in the repository.
TEST_F(ClaudeCodeWorkspaceTest, TwoDevelopersInTwoProjectsEachConfinedToTheirOwn) {
  EXPECT_EQ(Verdict(Read("s-ann", ann_ + "/web", ann_ + "/README.md")), "allow");
  EXPECT_EQ(Verdict(Read("s-bob", bob_, bob_ + "/index.js")), "allow");
  json::value cross = Read("s-ann", ann_ + "/web", bob_ + "/index.js");
  EXPECT_EQ(Verdict(cross), "deny");
  EXPECT_NE(Reason(cross).find("CONSTRAINT_VIOLATED"), std::string::npos) << Reason(cross);
  EXPECT_EQ(Verdict(Read("s-bob", bob_, ann_ + "/README.md")), "deny");
  EXPECT_EQ(Verdict(Read("s-bob", bob_, root_ + "/daemon-ws/x")), "deny");
  EXPECT_EQ(Str(RunOf("\"" + ann_ + "\""), {"workspace"}), ann_);
  EXPECT_EQ(Str(RunOf("\"" + bob_ + "\""), {"workspace"}), bob_);
}

// Tests that a session whose project lies outside every workspace root is refused with a
// clear reason, as a recorded deny, however allowed the call would be otherwise.
TEST_F(ClaudeCodeWorkspaceTest, AttackSessionOutsideTheRootsIsRefused) {
  const std::string elsewhere = root_ + "/srv/secrets";
  fs::create_directories(elsewhere);
  json::value a = Read("s-out", elsewhere, elsewhere + "/key.pem");
  EXPECT_EQ(Verdict(a), "deny");
  EXPECT_NE(Reason(a).find("outside the policy's workspace_roots"), std::string::npos) << Reason(a);
  json::value run = RunOf("outside the policy's workspace_roots");
  EXPECT_EQ(Str(run, {"workspace"}), elsewhere);
  EXPECT_EQ(run.at("steps").to_number<int64_t>(), 1) << json::serialize(run);
}

// Tests that `/`, a home directory, a relative cwd and a cwd with `..` never qualify as a
// session's project, whatever the roots.
TEST_F(ClaudeCodeWorkspaceTest, AttackRootHomeOrUnnormalisedCwdIsRefused) {
  const std::vector<std::string> cwds = {
      "/", "/home/dev", "/root", "home/ann/src/shop", ann_ + "/../blog", ann_ + "/", ""};
  int n = 0;
  for (const std::string& cwd : cwds) {
    json::value a = Read("s-bad-" + std::to_string(++n), cwd, "/etc/passwd");
    EXPECT_EQ(Verdict(a), "deny") << cwd;
    EXPECT_NE(Reason(a).find("the session's workspace was refused"), std::string::npos)
        << cwd << ": " << Reason(a);
  }
  EXPECT_NE(Reason(Read("s-bad-2", "/home/dev", "/etc/passwd")).find("home directory"),
            std::string::npos);
}

// Tests that a later event with another cwd (a `cd` in the Bash tool, or a forged input)
// does not move the session's workspace: it stays the first event's project.
TEST_F(ClaudeCodeWorkspaceTest, AttackLaterCwdDoesNotMoveTheWorkspace) {
  EXPECT_EQ(Verdict(Read("s-move", ann_, ann_ + "/README.md")), "allow");
  EXPECT_EQ(Verdict(Read("s-move", bob_, bob_ + "/index.js")), "deny");
  EXPECT_EQ(Verdict(Read("s-move", "/", "/etc/passwd")), "deny");
  EXPECT_EQ(Verdict(Read("s-move", bob_, ann_ + "/README.md")), "allow");
  EXPECT_EQ(Str(RunOf("\"" + ann_ + "\""), {"workspace"}), ann_);
}

// Tests that a token bound to one developer's root (`token create --workspace-root`) is
// refused another developer's project, although the policy's roots hold both: the token
// narrows the policy. The token is still served in its own projects.
TEST_F(ClaudeCodeWorkspaceTest, AttackTokenBoundToOneRootClaimingAnotherProject) {
  ASSERT_FALSE(ann_token_.empty());
  json::value claim = Read("t-bob", bob_, bob_ + "/index.js", ann_token_);
  EXPECT_EQ(Verdict(claim), "deny");
  EXPECT_NE(Reason(claim).find("bound to the token"), std::string::npos) << Reason(claim);
  EXPECT_EQ(Verdict(Read("t-ann", ann_ + "/web", ann_ + "/README.md", ann_token_)), "allow");
  EXPECT_EQ(Verdict(Read("t-ann", ann_, bob_ + "/index.js", ann_token_)), "deny");
  // A token of another role cannot be bound, nor a root that is `/`.
  int rc = 0;
  RunInterlock({"token", "create", "--store", daemon_->store(), "--reviewer", "rob",
                "--workspace-root", root_ + "/home/*"},
               &rc);
  EXPECT_NE(rc, 0);
  RunInterlock({"token", "create", "--store", daemon_->store(), "--agent", "dev", "--force",
                "--workspace-root", "/"},
               &rc);
  EXPECT_NE(rc, 0);
}

// Tests that the command hook with --daemon gets the same: its session's workspace is the
// first event's project, the other developer's project is denied, and a session outside
// the roots is refused.
TEST_F(ClaudeCodeWorkspaceTest, CommandHookWithDaemonGetsTheSessionsWorkspace) {
  const std::string command =
      "interlock hook claude-code --daemon http://127.0.0.1:" + std::to_string(daemon_->port()) +
      " --token-env INTERLOCK_TOKEN --approval-wait 0";
  auto run = [&](const std::string& session, const std::string& cwd, const std::string& file) {
    std::vector<std::string> argv = {"/usr/bin/env",
                                     "PATH=" + std::string(INTERLOCK_BINARY_DIR) + ":/usr/bin:/bin",
                                     "XDG_STATE_HOME=" + root_ + "/state",
                                     "INTERLOCK_TOKEN=" + token_,
                                     "/bin/sh",
                                     "-c",
                                     command};
    ProcessResult r =
        RunProcess(argv, Input(session, cwd, file, ++uses_), std::chrono::seconds(30));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out);
  };
  EXPECT_EQ(Verdict(run("c-ann", ann_ + "/web", ann_ + "/README.md")), "allow");
  EXPECT_EQ(Verdict(run("c-ann", bob_, bob_ + "/index.js")), "deny");
  EXPECT_EQ(Verdict(run("c-bob", bob_, bob_ + "/index.js")), "allow");
  json::value out = run("c-out", root_ + "/srv", root_ + "/srv/x");
  EXPECT_EQ(Verdict(out), "deny");
  EXPECT_NE(Reason(out).find("workspace_roots"), std::string::npos) << Reason(out);
  // The command hook's session and the HTTP hook's share one run: same workspace.
  EXPECT_EQ(Verdict(Read("c-ann", ann_, ann_ + "/a.txt")), "allow");
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::testing
