// `interlock hook claude-code --event permission-request|permission-denied|auto`: the
// command hook serves Claude Code's PermissionRequest and PermissionDenied events with the
// HTTP hook's semantics (docs/mcp.md#permissionrequest-and-permissiondenied). Driven with
// the recorded inputs of tests/fixtures/claude_code_http through the real binary on a
// temporary store, and with the settings block of docs/mcp.md as a user pastes it
// (tests/fixtures/claude_code_command/settings.json), each command run as Claude Code runs a
// command hook (`sh -c`, the event JSON on stdin); the audit trail is read back with
// `interlock audit export`.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "json_lines.h"
#include "subprocess.h"
#include "temp_dir.h"
#include "test_paths.h"

namespace interlock {
namespace INTERLOCK_TEST_NS {

namespace json = boost::json;
using testing::ProcessResult;
using testing::RunProcess;
using testing::Str;
using testing::TempDir;

using testing::kInterlock;

// Read allowed; Bash needs one approver (a person at Claude Code's prompt may be it);
// Deploy needs two (never one local person); Write blocked.
const char kPolicy[] =
    "agent:\n  id: \"claude\"\n  identity: \"claude@test\"\n  autonomy: audit_based\n"
    "tools:\n  allowed:\n    - name: \"Read\"\n"
    "    - name: \"Bash\"\n      requires_approval: true\n"
    "    - name: \"Deploy\"\n      requires_approval: true\n      approvals_required: 2\n"
    "  blocked:\n    - \"Write\"\n";

std::string ReadSource(const std::string& path) {
  std::ifstream in(std::string(INTERLOCK_SOURCE_DIR) + "/" + path);
  EXPECT_TRUE(in) << path;
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string Fixture(const std::string& name) {
  return ReadSource("tests/fixtures/claude_code_http/" + name);
}

// The fixture with members replaced.
std::string With(const std::string& text, const json::object& changes) {
  json::value v = json::parse(text);
  for (const auto& [k, val] : changes) v.as_object()[k] = val;
  return json::serialize(v);
}

void Replace(std::string& s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
}

class HookEvents {
 public:
  explicit HookEvents(const std::string& policy = kPolicy)
      : policy_(tmp_.Write("p.yaml", policy)), store_(tmp_.path() + "/s.db") {}

  // Runs the hook with `--event event` ("" for none); it must exit 0.
  ProcessResult Run(const std::string& event, const std::string& input) {
    std::vector<std::string> argv = {kInterlock, "hook", "claude-code"};
    if (!event.empty()) argv.insert(argv.end(), {"--event", event});
    argv.insert(argv.end(), {"--policy", policy_, "--store", store_});
    ProcessResult r = RunProcess(argv, input, std::chrono::seconds(30));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r;
  }
  // PreToolUse's permissionDecision.
  std::string Pre(const std::string& input, const std::string& event = "") {
    ProcessResult r = Run(event, input);
    return Str(json::parse(r.out), {"hookSpecificOutput", "permissionDecision"});
  }
  // The PermissionRequest answer as Claude Code reads it: the behavior, or "dialog" for
  // `{}` (the dialog shows); `message` gets decision.message.
  std::string Request(const std::string& input, std::string* message = nullptr,
                      const std::string& event = "permission-request") {
    ProcessResult r = Run(event, input);
    json::value v = json::parse(r.out);
    if (v.as_object().empty()) return "dialog";
    EXPECT_EQ(Str(v, {"hookSpecificOutput", "hookEventName"}), "PermissionRequest") << r.out;
    if (message != nullptr) *message = Str(v, {"hookSpecificOutput", "decision", "message"});
    return Str(v, {"hookSpecificOutput", "decision", "behavior"});
  }

  std::vector<json::object> OfType(const std::string& type) {
    ProcessResult r =
        RunProcess({kInterlock, "audit", "export", "--store", store_, "--since", "2000-01-01"}, "",
                   std::chrono::seconds(30));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<json::object> out;
    for (json::object& o : testing::ParseJsonLines(r.out)) {
      if (o.at("type") == json::value(type)) out.push_back(std::move(o));
    }
    return out;
  }

  const std::string& policy() const { return policy_; }
  const std::string& store() const { return store_; }
  const TempDir& tmp() const { return tmp_; }

 private:
  TempDir tmp_;
  std::string policy_;
  std::string store_;
};

// Tests that a PermissionRequest for a call the PreToolUse hook already allowed gets the
// same verdict in PermissionRequest's shape, and the tool use is decided and counted once.
TEST(HookPermissionEvents, PermissionRequestGetsTheVerdictAlreadyGiven) {
  HookEvents h;
  ASSERT_EQ(h.Pre(Fixture("pre_tool_use_read.json")), "allow");
  EXPECT_EQ(h.Request(Fixture("permission_request_read.json")), "allow");
  EXPECT_EQ(h.OfType("decision").size(), 1u) << "the PermissionRequest was decided again";
}

// Tests that a call the PreToolUse hook answered `ask` (one approver, a person at the
// prompt) shows the dialog on its PermissionRequest (`{}`), counted once: the developer
// decides there.
TEST(HookPermissionEvents, AskedCallShowsTheDialogOnce) {
  HookEvents h;
  ASSERT_EQ(h.Pre(Fixture("pre_tool_use_bash.json")), "ask");
  EXPECT_EQ(h.Request(Fixture("permission_request_bash.json")), "dialog");
  EXPECT_EQ(h.OfType("decision").size(), 1u);
}

// Tests that a PermissionRequest with no PreToolUse before it is decided on its own: an
// allowed call is allowed, a blocked one denied with Interlock's reason.
TEST(HookPermissionEvents, PermissionRequestWithoutPreToolUseIsDecided) {
  HookEvents h;
  EXPECT_EQ(h.Request(Fixture("permission_request_read.json")), "allow");
  std::string message;
  EXPECT_EQ(h.Request(With(Fixture("permission_request_read.json"),
                           {{"tool_name", "Write"}, {"tool_use_id", "toolu_write_1"}}),
                      &message),
            "deny");
  EXPECT_NE(message.find("TOOL_BLOCKED"), std::string::npos) << message;
  EXPECT_EQ(h.OfType("decision").size(), 2u);
}

// Attack: a call that needs two reviewers is never answered allow or the dialog (`ask`) on
// its PermissionRequest: one person at the prompt must not stand in for a two-person rule,
// whether the PreToolUse hook saw it first or not.
TEST(HookPermissionEvents, AttackTwoReviewerCallIsNeverAllowedOrAskedOnPermissionRequest) {
  HookEvents h;
  const std::string deploy =
      With(Fixture("permission_request_bash.json"), {{"tool_name", "Deploy"},
                                                     {"tool_input", json::object{{"env", "prod"}}},
                                                     {"tool_use_id", "toolu_deploy_1"}});
  std::string message;
  EXPECT_EQ(h.Request(deploy, &message), "deny");
  EXPECT_NE(message.find("2 approvers"), std::string::npos) << message;
  // The PreToolUse first, then the PermissionRequest of the same tool use: still a deny.
  const std::string pre =
      With(deploy, {{"hook_event_name", "PreToolUse"}, {"tool_use_id", "toolu_deploy_2"}});
  ASSERT_EQ(h.Pre(pre), "deny");
  EXPECT_EQ(h.Request(With(deploy, {{"tool_use_id", "toolu_deploy_2"}})), "deny");
  // Nor in auto mode, nor through --event auto.
  EXPECT_EQ(h.Request(With(deploy, {{"permission_mode", "auto"}}), nullptr, "auto"), "deny");
}

// Attack: a PermissionRequest whose tool_input (or tool) differs from what the PreToolUse of
// the same tool use saw is never answered that call's verdict: it is decided on its own,
// and counted as a call of its own.
TEST(HookPermissionEvents, AttackChangedToolInputGetsItsOwnDecision) {
  HookEvents h;
  ASSERT_EQ(h.Pre(Fixture("pre_tool_use_read.json")), "allow");
  // The same tool_use_id, another file: a call of its own (allowed on its own merits).
  const std::string other_file =
      With(Fixture("permission_request_read.json"),
           {{"tool_input", json::object{{"file_path", "/home/dev/shop/.env"}}}});
  EXPECT_EQ(h.Request(other_file), "allow");
  EXPECT_EQ(h.OfType("decision").size(), 2u) << "the changed call was not decided on its own";
  // The same tool_use_id, another tool: Read's allow is never Write's.
  std::string message;
  EXPECT_EQ(
      h.Request(With(Fixture("permission_request_read.json"), {{"tool_name", "Write"}}), &message),
      "deny");
  EXPECT_NE(message.find("TOOL_BLOCKED"), std::string::npos) << message;
  EXPECT_EQ(h.OfType("decision").size(), 3u);
}

// Attack: an input whose hook_event_name disagrees with --event is refused, with a deny in
// the shape of the event the entry is registered for, and nothing is decided or recorded.
TEST(HookPermissionEvents, AttackEventDisagreeingWithTheFlagIsRefused) {
  HookEvents h;
  // A PreToolUse input to the PermissionRequest entry.
  std::string message;
  EXPECT_EQ(h.Request(Fixture("pre_tool_use_read.json"), &message), "deny");
  EXPECT_NE(message.find("--event permission-request handles PermissionRequest events only"),
            std::string::npos)
      << message;
  // A PermissionRequest input to the PreToolUse entry (no --event).
  ProcessResult pre = h.Run("", Fixture("permission_request_read.json"));
  EXPECT_EQ(Str(json::parse(pre.out), {"hookSpecificOutput", "permissionDecision"}), "deny")
      << pre.out;
  // A PermissionDenied input to the PermissionRequest entry: denied, not recorded.
  EXPECT_EQ(h.Request(Fixture("permission_denied_auto.json")), "deny");
  // A PermissionRequest input to the PermissionDenied entry: nothing recorded, let alone
  // decided.
  ProcessResult report = h.Run("permission-denied", Fixture("permission_request_read.json"));
  EXPECT_EQ(report.out, "{}\n");
  EXPECT_NE(report.err.find("nothing recorded"), std::string::npos) << report.err;
  // No hook_event_name at all where one is required.
  json::value bare = json::parse(Fixture("permission_request_read.json"));
  bare.as_object().erase("hook_event_name");
  EXPECT_EQ(h.Request(json::serialize(bare)), "deny");
  EXPECT_FALSE(std::filesystem::exists(h.store())) << "a refused input reached the store";
}

// Attack (audit): a denial Claude Code made on its own is recorded in the session's run as a
// refused call (rule claude-code.permission-denied) with Claude Code's reason, answered
// `{}`; the same report resent is recorded once.
TEST(HookPermissionEvents, AttackPermissionDeniedIsAudited) {
  HookEvents h;
  for (int i = 0; i < 2; ++i) {
    ProcessResult r = h.Run("permission-denied", Fixture("permission_denied_auto.json"));
    EXPECT_EQ(r.out, "{}\n");
    EXPECT_NE(r.err.find("recorded as call"), std::string::npos) << r.err;
  }
  const std::vector<json::object> decisions = h.OfType("decision");
  ASSERT_EQ(decisions.size(), 1u) << "a resent report was recorded twice";
  const json::value& d = decisions[0].at("data").at("decision");
  EXPECT_EQ(d.at("decision"), "deny");
  EXPECT_EQ(d.at("rule"), "claude-code.permission-denied");
  EXPECT_NE(json::serialize(d).find("destructive file deletion"), std::string::npos)
      << json::serialize(d);
  EXPECT_NE(json::serialize(d).find("permission mode auto"), std::string::npos);
}

// Tests that --event auto serves every event from one command: PreToolUse and
// PermissionRequest decided (the second replayed), PostToolUse recorded on the allowed call
// (nothing on stdout), PermissionDenied recorded.
TEST(HookPermissionEvents, AutoEventServesEveryEvent) {
  HookEvents h;
  ASSERT_EQ(h.Pre(Fixture("pre_tool_use_read.json"), "auto"), "allow");
  EXPECT_EQ(h.Request(Fixture("permission_request_read.json"), nullptr, "auto"), "allow");
  ProcessResult post = h.Run("auto", Fixture("post_tool_use_read.json"));
  EXPECT_EQ(post.out, "");
  EXPECT_NE(post.err.find("recorded the result of call"), std::string::npos) << post.err;
  ProcessResult denied = h.Run("auto", Fixture("permission_denied_auto.json"));
  EXPECT_EQ(denied.out, "{}\n");
  EXPECT_EQ(h.OfType("decision").size(), 2u);
  EXPECT_EQ(h.OfType("result").size(), 1u);
  // An event Interlock does not serve: a deny.
  EXPECT_EQ(h.Pre(With(Fixture("pre_tool_use_read.json"), {{"hook_event_name", "Stop"}}), "auto"),
            "deny");
}

// Tests that failures of Interlock itself are denies on a PermissionRequest too (exit 0):
// input that is not JSON, a policy that does not load.
TEST(HookPermissionEvents, FailuresAreDeniesOnPermissionRequest) {
  HookEvents h;
  EXPECT_EQ(h.Request("{not json"), "deny");
  HookEvents broken("agent: [\n");
  EXPECT_EQ(broken.Request(Fixture("permission_request_read.json")), "deny");
}

// Every ```json block of docs/mcp.md's "## Claude Code hook" section that is a settings
// file, in page order.
std::vector<json::value> DocumentedSettings() {
  std::vector<json::value> out;
  for (json::value& v :
       testing::JsonBlocksOfSection(ReadSource("docs/mcp.md"), "## Claude Code hook")) {
    if (v.is_object() && v.as_object().contains("hooks")) out.push_back(std::move(v));
  }
  return out;
}

// Tests that the standalone command-hook settings of docs/mcp.md are the fixture, and run
// each of its commands as Claude Code runs it (its policy path pointed at a test policy and
// store): PreToolUse and PermissionRequest decide one tool use once, PostToolUse records
// its result, PermissionDenied is recorded.
TEST(HookPermissionEvents, DocumentedSettingsAsPasted) {
  const json::value fixture =
      json::parse(ReadSource("tests/fixtures/claude_code_command/settings.json"));
  bool found = false;
  for (const json::value& v : DocumentedSettings()) found = found || v == fixture;
  ASSERT_TRUE(found) << "docs/mcp.md has no settings block equal to the fixture";

  HookEvents h;
  auto run = [&](const std::string& event, const std::string& input) {
    std::string command = std::string(
        fixture.at("hooks").at(event).at(0).at("hooks").at(0).at("command").as_string());
    EXPECT_EQ(command.rfind("interlock hook claude-code", 0), 0u) << command;
    Replace(command, "/etc/interlock/claude-code.yaml", h.policy() + " --store " + h.store());
    ProcessResult r =
        RunProcess({"/usr/bin/env", "PATH=" + std::string(INTERLOCK_BINARY_DIR) + ":/usr/bin:/bin",
                    "XDG_STATE_HOME=" + h.tmp().path() + "/state", "/bin/sh", "-c", command},
                   input, std::chrono::seconds(30));
    EXPECT_EQ(r.exit_code, 0) << event << ": " << r.err;
    return r;
  };
  ProcessResult pre = run("PreToolUse", Fixture("pre_tool_use_read.json"));
  EXPECT_EQ(Str(json::parse(pre.out), {"hookSpecificOutput", "permissionDecision"}), "allow");
  ProcessResult request = run("PermissionRequest", Fixture("permission_request_read.json"));
  EXPECT_EQ(Str(json::parse(request.out), {"hookSpecificOutput", "decision", "behavior"}), "allow")
      << request.out;
  ProcessResult post = run("PostToolUse", Fixture("post_tool_use_read.json"));
  EXPECT_EQ(post.out, "");
  EXPECT_NE(post.err.find("recorded the result of call"), std::string::npos) << post.err;
  ProcessResult denied = run("PermissionDenied", Fixture("permission_denied_auto.json"));
  EXPECT_EQ(denied.out, "{}\n");
  EXPECT_EQ(h.OfType("decision").size(), 2u);  // the Read once, the reported denial
  EXPECT_EQ(h.OfType("result").size(), 1u);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock
