// `interlock serve` and ${workspace}: the --workspace flag, the config key `workspace:`,
// the default (the daemon's current directory), the same workspace on every reload, and
// the shadow-mode warning at start. Real daemon on 127.0.0.1 port 0, temp directories.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "daemon_harness.h"
#include "subprocess.h"
#include "temp_dir.h"
#include "wait.h"

namespace interlock::testing {
namespace INTERLOCK_TEST_NS {

using interlock::testing::WaitUntil;

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

std::string Policy(const std::string& tool, const std::string& mode = "enforce") {
  return "agent:\n  id: \"ws-agent\"\n  identity: \"ws-agent@example.iam\"\n  mode: " + mode +
         "\ntools:\n  allowed:\n    - name: \"" + tool +
         "\"\n      constraints:\n        arguments:\n          path:\n"
         "            path_prefix: \"${workspace}\"\nexecution:\n  max_steps: 10000\n";
}

std::string Code(const HttpResult& r) {
  if (!r.json.is_object()) return "<no json: " + std::to_string(r.status) + " " + r.body + ">";
  const json::value* c = r.json.as_object().if_contains("code");
  return c && c->is_string() ? std::string(c->as_string()) : "<no code>";
}

class DaemonWorkspaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::canonical(dir_.path()).string();
    policies_ = root_ + "/policies";
    fs::create_directories(policies_);
    fs::create_directories(root_ + "/ws");
  }
  void TearDown() override {
    client_.reset();
    if (daemon_) daemon_->Stop();
  }

  void WritePolicy(const std::string& text) {
    const std::string tmp = policies_ + "/.ws.yaml.tmp";
    std::ofstream(tmp) << text;
    fs::rename(tmp, policies_ + "/ws.yaml");
  }

  // Starts the daemon with `extra` flags and an optional config; a run for ws-agent.
  void Start(const std::vector<std::string>& extra, const std::string& config = "") {
    daemon_ = std::make_unique<Daemon>(root_, policies_, config);
    daemon_->SetExtraArgs(extra);
    token_ = CreateToken(daemon_->store(), "--agent", "ws-agent");
    ASSERT_FALSE(token_.empty());
    ASSERT_TRUE(daemon_->Start()) << daemon_->log();
    client_ = std::make_unique<HttpClient>(daemon_->port());
    HttpResult r = client_->Request("POST", "/v1/runs", "", token_);
    ASSERT_EQ(r.status, 201) << r.body;
    run_ = std::string(r.json.at("run_id").as_string());
  }

  std::string Read(const std::string& tool, const std::string& path) {
    const std::string body =
        json::serialize(json::object{{"tool", tool}, {"args", json::object{{"path", path}}}});
    return Code(client_->Request("POST", "/v1/runs/" + run_ + "/calls", body, token_));
  }

  TempDir dir_;
  std::string root_, policies_, token_, run_;
  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<HttpClient> client_;
};

// Tests that `serve --workspace DIR` is what ${workspace} stands for, at start and after
// a reload: reads under DIR pass, /etc/passwd and a climb out of DIR do not.
TEST_F(DaemonWorkspaceTest, WorkspaceFlagHoldsAtStartAndOnReload) {
  WritePolicy(Policy("read"));
  const std::string ws = root_ + "/ws";
  ASSERT_NO_FATAL_FAILURE(Start({"--workspace", ws}));
  EXPECT_EQ(Read("read", ws + "/a.txt"), "ALLOWED");
  EXPECT_EQ(Read("read", "/etc/passwd"), "CONSTRAINT_VIOLATED");
  EXPECT_EQ(Read("read", ws + "/../policies/ws.yaml"), "CONSTRAINT_VIOLATED");
  EXPECT_EQ(daemon_->log().find("shadow mode"), std::string::npos) << daemon_->log();

  // A reload resolves ${workspace} the same way (not against some other directory).
  WritePolicy(Policy("read_again"));
  daemon_->Signal(SIGHUP);
  std::string code;
  WaitUntil([&] { return (code = Read("read_again", ws + "/b.txt")) == "ALLOWED"; }, 10s, 50ms);
  EXPECT_EQ(code, "ALLOWED") << daemon_->log();
  EXPECT_EQ(Read("read_again", "/etc/passwd"), "CONSTRAINT_VIOLATED");
}

// Tests the config key `workspace:` (relative to the config file's directory) and that
// the flag overrides it.
TEST_F(DaemonWorkspaceTest, ConfigKeyAndFlagOverride) {
  WritePolicy(Policy("read"));
  const std::string config = dir_.Write("interlock.yaml", "workspace: ws\n");
  ASSERT_NO_FATAL_FAILURE(Start({}, config));
  EXPECT_EQ(Read("read", root_ + "/ws/a.txt"), "ALLOWED");
  EXPECT_EQ(Read("read", root_ + "/a.txt"), "CONSTRAINT_VIOLATED");
  daemon_->Stop();
  daemon_.reset();
  ASSERT_NO_FATAL_FAILURE(Start({"--workspace", root_}, config));
  EXPECT_EQ(Read("read", root_ + "/a.txt"), "ALLOWED");
}

// Tests that without a workspace the daemon's current directory is used, and that `/`
// is refused at start (it would allow every path).
TEST_F(DaemonWorkspaceTest, DefaultIsTheCurrentDirectoryAndRootIsRefused) {
  WritePolicy(Policy("read"));
  ASSERT_NO_FATAL_FAILURE(Start({}));
  const std::string cwd = fs::current_path().string();
  EXPECT_EQ(Read("read", cwd + "/a.txt"), "ALLOWED");
  EXPECT_EQ(Read("read", "/etc/passwd"), "CONSTRAINT_VIOLATED");
  daemon_->Stop();
  daemon_.reset();

  Daemon root(root_, policies_);
  root.SetExtraArgs({"--workspace", "/"});
  EXPECT_FALSE(root.Start(5s));
  EXPECT_NE(root.log().find("would allow every path"), std::string::npos) << root.log();
}

// Tests that a shadow-mode policy makes the daemon warn at start, naming the agent and
// the line of `mode: shadow`.
TEST_F(DaemonWorkspaceTest, ShadowModeWarnsAtStart) {
  WritePolicy(Policy("read", "shadow"));
  ASSERT_NO_FATAL_FAILURE(Start({"--workspace", root_ + "/ws"}));
  EXPECT_NE(daemon_->log().find("warning: policy for agent ws-agent is in shadow mode: calls are "
                                "recorded, not enforced (" +
                                policies_ + "/ws.yaml:4)"),
            std::string::npos)
      << daemon_->log();
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::testing
