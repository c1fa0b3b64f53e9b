// The agent cannot switch off its guard (issue 54, item 3), through the doors Claude Code
// uses: the daemon's HTTP hook (POST /v1/hooks/claude-code, the real `interlock serve` on
// 127.0.0.1 port 0) and the command hook (`interlock hook claude-code --policy`), both with
// the shipped examples/policies/claude-code.yaml and a real project directory holding
// links. The rules and the link shapes one by one: tests/unit/core/guard_files_test.cc.
#include <filesystem>
#include <fstream>
#include <memory>
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

const std::string kShipped =
    std::string(INTERLOCK_SOURCE_DIR) + "/examples/policies/claude-code.yaml";

class GuardFilesDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::canonical(dir_.path()).string();
    ws_ = root_ + "/proj";
    home_ = root_ + "/home";
    fs::create_directories(ws_ + "/.claude");
    fs::create_directories(home_ + "/.ssh");
    std::ofstream(home_ + "/.ssh/id_rsa") << "key";
    std::ofstream(ws_ + "/README.md") << "readme";
    std::ofstream(ws_ + "/.claude/settings.json") << "{}";
    fs::create_directory_symlink(home_ + "/.ssh", ws_ + "/docs-link");
    fs::create_directory_symlink(ws_ + "/.claude", ws_ + "/config");
    const std::string policies = root_ + "/policies";
    fs::create_directories(policies);
    fs::copy_file(kShipped, policies + "/claude-code.yaml");
    daemon_ = std::make_unique<Daemon>(root_, policies);
    daemon_->SetExtraArgs({"--workspace", ws_});
    token_ = CreateToken(daemon_->store(), "--agent", "claude-code");
    ASSERT_FALSE(token_.empty());
    ASSERT_TRUE(daemon_->Start()) << daemon_->log();
    client_ = std::make_unique<HttpClient>(daemon_->port());
  }
  void TearDown() override {
    client_.reset();
    if (daemon_) daemon_->Stop();
  }

  // A PreToolUse input as Claude Code sends it, from a session in the project.
  std::string Input(const std::string& tool, json::object tool_input) {
    return json::serialize(
        json::object{{"session_id", "5f0c2d7e-1a2b-4c3d-8e9f-a0b1c2d3e4f5"},
                     {"transcript_path", root_ + "/transcript.jsonl"},
                     {"cwd", ws_},
                     {"permission_mode", "acceptEdits"},
                     {"hook_event_name", "PreToolUse"},
                     {"tool_name", tool},
                     {"tool_input", std::move(tool_input)},
                     {"tool_use_id", "toolu_guard_files_" + std::to_string(++calls_)}});
  }
  static std::string DecisionOf(const json::value& v) {
    if (!v.is_object()) return "<no json>";
    const json::value* h = v.as_object().if_contains("hookSpecificOutput");
    if (h == nullptr || !h->is_object()) return "<no hookSpecificOutput>";
    const json::value* d = h->as_object().if_contains("permissionDecision");
    return d != nullptr && d->is_string() ? std::string(d->as_string()) : "<none>";
  }
  std::string ViaHttpHook(const std::string& tool, json::object tool_input) {
    HttpResult r = client_->Request("POST", "/v1/hooks/claude-code",
                                    Input(tool, std::move(tool_input)), token_);
    EXPECT_EQ(r.status, 200) << r.body;
    return DecisionOf(r.json);
  }
  std::string ViaCommandHook(const std::string& tool, json::object tool_input) {
    ProcessResult r = RunProcess({"/usr/bin/env", "XDG_STATE_HOME=" + root_ + "/state",
                                  std::string(INTERLOCK_BINARY_DIR) + "/interlock", "hook",
                                  "claude-code", "--policy", kShipped},
                                 Input(tool, std::move(tool_input)), std::chrono::seconds(30));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    try {
      return DecisionOf(json::parse(r.out));
    } catch (const std::exception&) {
      return "<unparsable: " + r.out + ">";
    }
  }

  TempDir dir_{"interlock-guard-files"};
  std::string root_, ws_, home_, token_;
  int calls_ = 0;
  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<HttpClient> client_;
};

// Tests that through the daemon's HTTP hook a link inside the project to ~/.ssh reaches
// nothing, by Read or by cat, while the project's own files stay readable.
TEST_F(GuardFilesDaemonTest, SymlinkInsideWorkspaceToSshIsRefusedAtTheHttpHook) {
  EXPECT_EQ(ViaHttpHook("Read", {{"file_path", ws_ + "/README.md"}}), "allow");
  EXPECT_EQ(ViaHttpHook("Read", {{"file_path", ws_ + "/docs-link/id_rsa"}}), "deny");
  EXPECT_EQ(ViaHttpHook("Bash", {{"command", "cat docs-link/id_rsa"}}), "deny");
}

// Tests that through the daemon's HTTP hook the agent cannot rewrite Claude Code's
// settings (the hook's own configuration), directly, through a link, or by a shell line.
TEST_F(GuardFilesDaemonTest, AgentWritingClaudeSettingsIsRefusedAtTheHttpHook) {
  const std::string off = R"({"disableAllHooks": true})";
  EXPECT_EQ(ViaHttpHook("Write", {{"file_path", ws_ + "/.claude/settings.json"}, {"content", off}}),
            "deny");
  EXPECT_EQ(ViaHttpHook("Write", {{"file_path", ws_ + "/config/settings.json"}, {"content", off}}),
            "deny");
  EXPECT_EQ(
      ViaHttpHook("Edit",
                  {{"file_path", ws_ + "/.mcp.json"}, {"old_string", "a"}, {"new_string", "b"}}),
      "deny");
  EXPECT_EQ(ViaHttpHook("Bash", {{"command", "echo '{}' >> .claude/settings.json"}}), "deny");
  EXPECT_EQ(ViaHttpHook("Write", {{"file_path", ws_ + "/.env"}, {"content", "X=1"}}), "deny");
  EXPECT_EQ(ViaHttpHook("Write", {{"file_path", ws_ + "/notes.txt"}, {"content", "x"}}), "allow");
}

// Tests the same attacks through the standalone command hook, which decides in its own
// process with the same core.
TEST_F(GuardFilesDaemonTest, AgentWritingClaudeSettingsIsRefusedAtTheCommandHook) {
  EXPECT_EQ(ViaCommandHook("Read", {{"file_path", ws_ + "/README.md"}}), "allow");
  EXPECT_EQ(ViaCommandHook("Read", {{"file_path", ws_ + "/docs-link/id_rsa"}}), "deny");
  EXPECT_EQ(
      ViaCommandHook("Write", {{"file_path", ws_ + "/config/settings.json"}, {"content", "{}"}}),
      "deny");
  EXPECT_EQ(ViaCommandHook("Bash", {{"command", "echo x >> .claude/settings.local.json"}}), "deny");
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::testing
