// Claude Code's hooks as a user sets them up from docs/mcp.md: the settings blocks are read
// from the page itself. The HTTP hook (POST /v1/hooks/claude-code): the recorded inputs of
// tests/fixtures/claude_code_http posted the way Claude Code posts them (the block's URL,
// its Authorization header filled from allowedEnvVars) to the real `interlock serve` on
// 127.0.0.1 port 0. The command hook: each documented command run as Claude Code runs it
// (`sh -c`, the event JSON on stdin), standalone and with --daemon against that daemon.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "daemon_harness.h"
#include "json_lines.h"
#include "subprocess.h"
#include "temp_dir.h"
#include "two_agent_daemon_test.h"
#include "wait.h"

namespace interlock::testing {
namespace INTERLOCK_TEST_NS {

using interlock::testing::WaitUntil;

namespace json = boost::json;

constexpr char kPolicy[] = R"(agent:
  id: "support"
  identity: "support@example.iam"
tools:
  allowed:
    - name: "Read"
    - name: "Bash"
      requires_approval: true
execution:
  max_steps: 100
)";

constexpr char kOtherPolicy[] = R"(agent:
  id: "other"
  identity: "other@example.iam"
tools:
  allowed: [Read]
)";

std::string ReadSource(const std::string& path) {
  std::ifstream in(std::string(INTERLOCK_SOURCE_DIR) + "/" + path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string Fixture(const std::string& name) {
  return ReadSource("tests/fixtures/claude_code_http/" + name);
}

// Every ```json block of docs/mcp.md's "## Claude Code hook" section that is a settings
// file (an object with "hooks"), in page order, parsed as Claude Code would.
std::vector<json::value> DocumentedSettings() {
  std::vector<json::value> out;
  // A block that does not parse fails the test.
  for (json::value& v : JsonBlocksOfSection(ReadSource("docs/mcp.md"), "## Claude Code hook")) {
    if (v.is_object() && v.as_object().contains("hooks")) out.push_back(std::move(v));
  }
  return out;
}

// The documented settings block whose `event` hook is of `type` and whose command (for
// type command) contains `needle`.
json::value DocumentedBlock(const std::string& type, const std::string& needle = "") {
  for (const json::value& v : DocumentedSettings()) {
    const json::object& hook = v.at("hooks").at("PreToolUse").at(0).at("hooks").at(0).as_object();
    if (hook.at("type").as_string() != type) continue;
    if (!needle.empty() &&
        std::string(hook.at("command").as_string()).find(needle) == std::string::npos) {
      continue;
    }
    return v;
  }
  ADD_FAILURE() << "docs/mcp.md has no " << type << " hook block with '" << needle << "'";
  return json::object{};
}

std::string HookCommand(const json::value& settings, const std::string& event) {
  return std::string(
      settings.at("hooks").at(event).at(0).at("hooks").at(0).at("command").as_string());
}

void Replace(std::string& s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
}

// What Claude Code does with one http hook of the settings: fills $VAR / ${VAR} in header
// values from the environment for the variables allowedEnvVars lists (others: empty).
std::string FillHeader(const json::object& hook, const std::string& value,
                       const std::map<std::string, std::string>& env) {
  std::set<std::string> allowed;
  if (const json::value* a = hook.if_contains("allowedEnvVars")) {
    for (const json::value& v : a->as_array()) allowed.insert(std::string(v.as_string()));
  }
  static const std::regex kRef(R"(\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?)");
  std::string out;
  auto begin = std::sregex_iterator(value.begin(), value.end(), kRef);
  size_t last = 0;
  for (auto it = begin; it != std::sregex_iterator(); ++it) {
    out += value.substr(last, it->position() - last);
    const std::string name = (*it)[1];
    auto e = env.find(name);
    if (allowed.count(name) && e != env.end()) out += e->second;
    last = it->position() + it->length();
  }
  return out + value.substr(last);
}

class ClaudeCodeHttpHookTest : public TwoAgentDaemonTest {
 protected:
  void SetUp() override { StartDaemon({"support", kPolicy}, {"other", kOtherPolicy}); }

  // Posts `body` as the pasted settings' hook for `event` would: its URL (port replaced
  // by the test daemon's) and its headers filled with INTERLOCK_TOKEN=`token`.
  HttpResult PostAsClaudeCode(const std::string& event, const std::string& body,
                              const std::string& token) {
    json::value settings = DocumentedBlock("http");
    const json::object& hook = settings.at("hooks").at(event).at(0).at("hooks").at(0).as_object();
    EXPECT_EQ(Str(hook, {"type"}), "http");
    std::string url = Str(hook, {"url"});
    const std::string prefix = "http://127.0.0.1:8181";
    EXPECT_EQ(url.rfind(prefix, 0), 0u) << url;
    const std::string target = url.substr(prefix.size());
    std::vector<std::pair<std::string, std::string>> headers;
    for (const auto& [name, value] : hook.at("headers").as_object()) {
      headers.emplace_back(std::string(name), FillHeader(hook, std::string(value.as_string()),
                                                         {{"INTERLOCK_TOKEN", token}}));
    }
    headers.emplace_back("Content-Type", "application/json");
    return client_->Request("POST", target, body, "", std::chrono::seconds(10), headers);
  }
  HttpResult Post(const std::string& body, const std::string& token,
                  const std::string& target = "/v1/hooks/claude-code") {
    return client_->Request("POST", target, body, token);
  }
  static std::string Decision(const HttpResult& r) {
    return Str(r.json, {"hookSpecificOutput", "permissionDecision"});
  }
  static std::string Behavior(const HttpResult& r) {
    return Str(r.json, {"hookSpecificOutput", "decision", "behavior"});
  }
  json::value Audit() { return client_->Request("GET", "/v1/audit?limit=200", "", reviewer_).json; }
  bool AuditHas(const std::string& needle) {
    return json::serialize(Audit()).find(needle) != std::string::npos;
  }
  // Failure records are written off the request path: polled, bounded (5 s).
  bool EventuallyAuditHas(const std::string& needle) {
    return WaitUntil([&] { return AuditHas(needle); }, std::chrono::seconds(5),
                     std::chrono::milliseconds(100));
  }
  int CountType(const std::string& type) {
    int n = 0;
    json::value audit = Audit();
    for (const json::value& rec : audit.at("records").as_array()) {
      if (Str(rec, {"type"}) == type) ++n;
    }
    return n;
  }

  // Runs a documented hook command as Claude Code runs a command hook: `sh -c COMMAND`,
  // the event JSON on stdin, `interlock` found on PATH (the build's), `env` added.
  ProcessResult RunAsClaudeCode(const std::string& command, const std::string& input,
                                const std::vector<std::string>& env) {
    std::vector<std::string> argv = {"/usr/bin/env",
                                     "PATH=" + std::string(INTERLOCK_BINARY_DIR) + ":/usr/bin:/bin",
                                     "XDG_STATE_HOME=" + dir_.path() + "/state"};
    argv.insert(argv.end(), env.begin(), env.end());
    argv.insert(argv.end(), {"/bin/sh", "-c", command});
    return RunProcess(argv, input, std::chrono::seconds(30));
  }
  static std::string CommandDecision(const ProcessResult& r) {
    json::value v = json::parse(r.out);
    return Str(v, {"hookSpecificOutput", "permissionDecision"});
  }
};

// Tests that the HTTP settings block of docs/mcp.md is the fixture the README of
// tests/fixtures/claude_code_http says it is (the page and the tests cannot drift apart).
TEST_F(ClaudeCodeHttpHookTest, DocumentedHttpSettingsAreTheFixture) {
  EXPECT_EQ(DocumentedBlock("http"), json::parse(Fixture("settings.json")));
}

// Tests the standalone command hook exactly as docs/mcp.md's first settings block has it
// (its policy path pointed at the shipped example policy): the PreToolUse command allows a
// Read in the project and denies `rm -rf`, and the PostToolUse command records the result
// of the call the PreToolUse one allowed.
TEST_F(ClaudeCodeHttpHookTest, DocumentedCommandHookAsPasted) {
  const json::value settings = DocumentedBlock("command", "--policy");
  const std::string project = dir_.path() + "/shop";
  std::filesystem::create_directories(project);
  auto pasted = [&](const std::string& event) {
    std::string command = HookCommand(settings, event);
    EXPECT_EQ(command.rfind("interlock hook claude-code", 0), 0u) << command;
    Replace(command, "/etc/interlock/claude-code.yaml",
            std::string(INTERLOCK_SOURCE_DIR) + "/examples/policies/claude-code.yaml");
    return command;
  };
  auto recorded = [&](const std::string& name) {
    std::string input = ReadSource("tests/integration/mcp/fixtures/claude_code_hook/" + name);
    Replace(input, "/home/dev/shop", project);
    return input;
  };
  ProcessResult read = RunAsClaudeCode(pasted("PreToolUse"), recorded("read.json"), {});
  ASSERT_EQ(read.exit_code, 0) << read.err;
  EXPECT_EQ(CommandDecision(read), "allow") << read.out;
  std::string rm = recorded("bash.json");
  const size_t cmd = rm.find(R"("command":")") + 11;
  rm.replace(cmd, rm.find('"', cmd) - cmd, "rm -rf " + project);
  ProcessResult denied = RunAsClaudeCode(pasted("PreToolUse"), rm, {});
  ASSERT_EQ(denied.exit_code, 0) << denied.err;
  EXPECT_EQ(CommandDecision(denied), "deny") << denied.out;

  ProcessResult post =
      RunAsClaudeCode(pasted("PostToolUse"), recorded("post_tool_use/read.json"), {});
  EXPECT_EQ(post.exit_code, 0) << post.err;
  EXPECT_EQ(post.out, "");
  EXPECT_NE(post.err.find("recorded the result of call"), std::string::npos) << post.err;
}

// Tests the --daemon command hook exactly as docs/mcp.md's block has it (its URL pointed at
// the test daemon, the token in the variable the block names): PreToolUse allows through
// the daemon, and PostToolUse records the result on the daemon's call.
TEST_F(ClaudeCodeHttpHookTest, DocumentedDaemonCommandHookAsPasted) {
  const json::value settings = DocumentedBlock("command", "--daemon");
  auto pasted = [&](const std::string& event) {
    std::string command = HookCommand(settings, event);
    Replace(command, "https://interlock.example.com",
            "http://127.0.0.1:" + std::to_string(daemon_->port()));
    EXPECT_NE(command.find("--token-env INTERLOCK_TOKEN"), std::string::npos) << command;
    return command;
  };
  const std::vector<std::string> env = {"INTERLOCK_TOKEN=" + agent_};
  ProcessResult pre = RunAsClaudeCode(pasted("PreToolUse"), Fixture("pre_tool_use_read.json"), env);
  ASSERT_EQ(pre.exit_code, 0) << pre.err;
  EXPECT_EQ(CommandDecision(pre), "allow") << pre.out;
  ProcessResult post =
      RunAsClaudeCode(pasted("PostToolUse"), Fixture("post_tool_use_read.json"), env);
  EXPECT_EQ(post.exit_code, 0) << post.err;
  EXPECT_NE(post.err.find("recorded the result of call"), std::string::npos) << post.err;
  EXPECT_EQ(CountType("result"), 1) << json::serialize(Audit());
}

// Tests that in auto mode the command hook never leaves a call to Claude Code's classifier,
// standalone or with --daemon: a gated call is denied (never `ask`), and an allowed call is
// an explicit allow even with --allowed-as no-objection (whose `{}` would hand it over).
TEST_F(ClaudeCodeHttpHookTest, CommandHookInAutoModeNeverLeavesACallToTheClassifier) {
  std::string read_auto = Fixture("pre_tool_use_read.json");
  Replace(read_auto, R"("permission_mode":"default")", R"("permission_mode":"auto")");
  const std::string standalone = "interlock hook claude-code --allowed-as no-objection --policy " +
                                 dir_.path() + "/policies/support.yaml --store " + dir_.path() +
                                 "/hook.db";
  const std::string daemon = "interlock hook claude-code --allowed-as no-objection --daemon " +
                             std::string("http://127.0.0.1:") + std::to_string(daemon_->port()) +
                             " --token-env INTERLOCK_TOKEN --approval-wait 0";
  for (const std::string& command : {standalone, daemon}) {
    const std::vector<std::string> env = {"INTERLOCK_TOKEN=" + agent_};
    ProcessResult gated = RunAsClaudeCode(command, Fixture("pre_tool_use_bash_auto.json"), env);
    ASSERT_EQ(gated.exit_code, 0) << command << ": " << gated.err;
    EXPECT_EQ(CommandDecision(gated), "deny") << command << ": " << gated.out;
    ProcessResult allowed = RunAsClaudeCode(command, read_auto, env);
    ASSERT_EQ(allowed.exit_code, 0) << command << ": " << allowed.err;
    EXPECT_EQ(CommandDecision(allowed), "allow") << command << ": " << allowed.out;
  }
}

// Tests that an agent that deletes the --daemon command hook's files between its calls (its
// own home directory: a Bash call can) gets no fresh run, so no fresh budgets: every call of
// the session lands in the daemon's one run of that session, the run the HTTP hook uses too;
// and a tool use sent again is counted once without any file (its Idempotency-Key).
TEST_F(ClaudeCodeHttpHookTest, AttackDeletingTheHooksStateKeepsTheSessionInItsRun) {
  const std::string command =
      "interlock hook claude-code --daemon http://127.0.0.1:" + std::to_string(daemon_->port()) +
      " --token-env INTERLOCK_TOKEN --approval-wait 0";
  const std::vector<std::string> env = {"INTERLOCK_TOKEN=" + agent_};
  // Each tool use of the session its own tool_use_id, as Claude Code sends them.
  auto use = [](int n) {
    std::string input = Fixture("pre_tool_use_read.json");
    Replace(input, "toolu_01HttpRead00000000000001",
            "toolu_01HttpRead0000000000000" + std::to_string(n));
    return input;
  };
  for (int i = 2; i <= 4; ++i) {
    std::filesystem::remove_all(dir_.path() + "/state");
    ProcessResult r = RunAsClaudeCode(command, use(i), env);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(CommandDecision(r), "allow") << r.out;
  }
  // The same tool use again (a PermissionRequest would send it so), the state wiped: the
  // daemon answers it under its Idempotency-Key, not counted twice.
  std::filesystem::remove_all(dir_.path() + "/state");
  ProcessResult again = RunAsClaudeCode(command, use(2), env);
  EXPECT_EQ(CommandDecision(again), "allow") << again.out;
  HttpResult via_http = Post(use(5), agent_);
  EXPECT_EQ(Decision(via_http), "allow") << via_http.body;
  HttpResult runs = client_->Request("GET", "/v1/runs?agent=support", "", reviewer_);
  ASSERT_EQ(runs.status, 200) << runs.body;
  ASSERT_EQ(runs.json.at("runs").as_array().size(), 1u) << runs.body;
  const json::value& run = runs.json.at("runs").at(0);
  EXPECT_EQ(Str(run, {"run_id"}).rfind("cc-", 0), 0u) << runs.body;
  HttpResult detail = client_->Request("GET", "/v1/runs/" + Str(run, {"run_id"}), "", reviewer_);
  EXPECT_NE(detail.body.find("\"steps\":4"), std::string::npos) << detail.body;
}

// Tests that the standalone hook, which exits without closing its store once its answer
// is durable, loses no record: many calls in a row each find the store the last one left,
// every decision is in an intact audit chain afterwards, and the WAL stays bounded (past
// 1 MiB a hook takes the ordinary close, which empties it).
TEST_F(ClaudeCodeHttpHookTest, StandaloneHookExitingEarlyLosesNoRecord) {
  const std::string store = dir_.path() + "/early.db";
  const std::string command = "interlock hook claude-code --policy " + dir_.path() +
                              "/policies/support.yaml --store " + store;
  constexpr int kCalls = 60;
  for (int i = 0; i < kCalls; ++i) {
    std::string input = Fixture("pre_tool_use_read.json");
    Replace(input, "toolu_01HttpRead00000000000001", "toolu_early_" + std::to_string(i));
    Replace(input, "README.md", "file-" + std::to_string(i) + "-" + std::string(4000, 'x'));
    ProcessResult r = RunAsClaudeCode(command, input, {});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_EQ(CommandDecision(r), "allow") << i << ": " << r.out;
    if (std::filesystem::exists(store + "-wal")) {
      EXPECT_LT(std::filesystem::file_size(store + "-wal"), 2u << 20) << "after call " << i;
    }
  }
  ProcessResult verify = RunProcess(
      {std::string(INTERLOCK_BINARY_DIR) + "/interlock", "audit", "verify", "--store", store}, "",
      std::chrono::seconds(30));
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  ProcessResult exported = RunProcess({std::string(INTERLOCK_BINARY_DIR) + "/interlock", "audit",
                                       "export", "--store", store, "--since", "2020-01-01"},
                                      "", std::chrono::seconds(30));
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  int decisions = 0;
  for (size_t at = exported.out.find(R"("type":"decision")"); at != std::string::npos;
       at = exported.out.find(R"("type":"decision")", at + 1)) {
    ++decisions;
  }
  EXPECT_EQ(decisions, kCalls);
}

// Tests that the settings block as a user pastes it reaches the daemon and an allowed
// tool is answered with an explicit PreToolUse allow.
TEST_F(ClaudeCodeHttpHookTest, PastedSettingsAllowAnAllowedTool) {
  HttpResult r = PostAsClaudeCode("PreToolUse", Fixture("pre_tool_use_read.json"), agent_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Str(r.json, {"hookSpecificOutput", "hookEventName"}), "PreToolUse");
  EXPECT_EQ(Decision(r), "allow") << r.body;
}

// Tests that a call needing a reviewer is denied naming its approval, never `ask`: at the
// daemon reviewers decide, and a yes at Claude Code's prompt would be no vote.
TEST_F(ClaudeCodeHttpHookTest, GatedToolIsNeverAskedAtTheLocalPrompt) {
  HttpResult r = PostAsClaudeCode("PreToolUse", Fixture("pre_tool_use_bash.json"), agent_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Decision(r), "deny") << r.body;
  const std::string reason = Str(r.json, {"hookSpecificOutput", "permissionDecisionReason"});
  EXPECT_NE(reason.find("APPROVAL_REQUIRED"), std::string::npos) << reason;
  EXPECT_NE(reason.find("approval "), std::string::npos) << reason;
}

// Tests that in auto mode a gated call is answered explicitly (deny), never left to the
// auto-mode classifier through `ask` or no decision.
TEST_F(ClaudeCodeHttpHookTest, AutoModeGatedCallIsNotLeftToTheClassifier) {
  HttpResult r = PostAsClaudeCode("PreToolUse", Fixture("pre_tool_use_bash_auto.json"), agent_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Decision(r), "deny") << r.body;
}

// Tests that ?on_approval=defer answers a call awaiting reviewers `defer` (for `claude -p`
// callers that resume it), and that nothing else is deferred.
TEST_F(ClaudeCodeHttpHookTest, DeferIsAnsweredOnlyWhereTheUrlAsksForIt) {
  const std::string target = "/v1/hooks/claude-code?on_approval=defer";
  EXPECT_EQ(Decision(Post(Fixture("pre_tool_use_bash.json"), agent_, target)), "defer");
  EXPECT_EQ(Decision(Post(Fixture("pre_tool_use_read.json"), agent_, target)), "allow");
  HttpResult bad =
      Post(Fixture("pre_tool_use_read.json"), agent_, "/v1/hooks/claude-code?on_approval=allow");
  EXPECT_EQ(Decision(bad), "deny") << bad.body;
}

// Tests that a PermissionRequest for a call the PreToolUse hook already decided gets the
// same verdict, in PermissionRequest's shape, and the call is counted once.
TEST_F(ClaudeCodeHttpHookTest, PermissionRequestGetsTheVerdictAlreadyGiven) {
  ASSERT_EQ(Decision(PostAsClaudeCode("PreToolUse", Fixture("pre_tool_use_read.json"), agent_)),
            "allow");
  HttpResult allowed =
      PostAsClaudeCode("PermissionRequest", Fixture("permission_request_read.json"), agent_);
  ASSERT_EQ(allowed.status, 200) << allowed.body;
  EXPECT_EQ(Str(allowed.json, {"hookSpecificOutput", "hookEventName"}), "PermissionRequest");
  EXPECT_EQ(Behavior(allowed), "allow") << allowed.body;

  ASSERT_EQ(Decision(PostAsClaudeCode("PreToolUse", Fixture("pre_tool_use_bash.json"), agent_)),
            "deny");
  HttpResult denied =
      PostAsClaudeCode("PermissionRequest", Fixture("permission_request_bash.json"), agent_);
  EXPECT_EQ(Behavior(denied), "deny") << denied.body;
  EXPECT_NE(Str(denied.json, {"hookSpecificOutput", "decision", "message"}).find("APPROVAL"),
            std::string::npos)
      << denied.body;
  // Each tool use decided once: the two PermissionRequests replayed their PreToolUse.
  EXPECT_EQ(CountType("decision"), 2) << json::serialize(Audit());
}

// Tests that a PostToolUse records the result of the call its PreToolUse allowed.
TEST_F(ClaudeCodeHttpHookTest, PostToolUseRecordsTheResultOfTheAllowedCall) {
  ASSERT_EQ(Decision(PostAsClaudeCode("PreToolUse", Fixture("pre_tool_use_read.json"), agent_)),
            "allow");
  HttpResult r = PostAsClaudeCode("PostToolUse", Fixture("post_tool_use_read.json"), agent_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "{}");
  EXPECT_EQ(CountType("result"), 1) << json::serialize(Audit());
  EXPECT_FALSE(AuditHas("hook.post-tool-use")) << json::serialize(Audit());
}

// The recorded PreToolUse or PostToolUse input (`name`) turned into one of a tool the
// policy does not list (Edit): denied at PreToolUse.
std::string AsEdit(std::string input) {
  Replace(input, R"("tool_name":"Read")", R"("tool_name":"Edit")");
  Replace(input, "toolu_01HttpRead00000000000001", "toolu_01HttpWrite0000000000001");
  return input;
}

// The recorded PostToolUse of the gated Bash call (pre_tool_use_bash.json's tool use).
std::string PostToolUseBash() {
  std::string input = Fixture("pre_tool_use_bash.json");
  Replace(input, R"("hook_event_name":"PreToolUse")", R"("hook_event_name":"PostToolUse")");
  Replace(input, R"("tool_use_id")",
          R"("tool_response":{"stdout":"To github.com:dev/shop.git","stderr":"",)"
          R"("interrupted":false},"tool_use_id")");
  return input;
}

// Tests that a call the HTTP hook denied at PreToolUse, which Claude Code then reports as
// run (a hook that failed open, a lost answer), is recorded as an incident (a refused call
// under claude-code.ran-anyway, an "incident" record, the metric), and a resent report
// is recorded once.
TEST_F(ClaudeCodeHttpHookTest, DeniedCallReportedAsRunIsRecordedAsAnIncident) {
  ASSERT_EQ(
      Decision(PostAsClaudeCode("PreToolUse", AsEdit(Fixture("pre_tool_use_read.json")), agent_)),
      "deny");
  const std::string post = AsEdit(Fixture("post_tool_use_read.json"));
  for (int i = 0; i < 2; ++i) {
    HttpResult r = PostAsClaudeCode("PostToolUse", post, agent_);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body, "{}");
  }
  EXPECT_EQ(CountType("incident"), 1) << json::serialize(Audit());
  EXPECT_EQ(CountType("decision"), 2) << json::serialize(Audit());
  EXPECT_TRUE(AuditHas("claude-code.ran-anyway")) << json::serialize(Audit());
  EXPECT_TRUE(AuditHas("although Interlock denied it")) << json::serialize(Audit());
  HttpResult metrics = client_->Request("GET", "/metrics", "", "");
  EXPECT_NE(metrics.body.find("interlock_hook_ran_anyway_total 1"), std::string::npos)
      << metrics.body;
}

// Tests that a call held for approval at PreToolUse that Claude Code reports as run before
// any reviewer approved it is recorded as an incident, once.
TEST_F(ClaudeCodeHttpHookTest, HeldCallReportedAsRunIsRecordedAsAnIncident) {
  ASSERT_EQ(Decision(PostAsClaudeCode("PreToolUse", Fixture("pre_tool_use_bash.json"), agent_)),
            "deny");
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(PostAsClaudeCode("PostToolUse", PostToolUseBash(), agent_).body, "{}");
  }
  EXPECT_EQ(CountType("incident"), 1) << json::serialize(Audit());
  EXPECT_TRUE(AuditHas("although Interlock held it for approval")) << json::serialize(Audit());
  EXPECT_EQ(CountType("result"), 0) << json::serialize(Audit());
}

// Tests that a PostToolUse of a call never decided is still recorded as one that ran
// undecided (hook.post-tool-use), not as an incident of a denied call.
TEST_F(ClaudeCodeHttpHookTest, UndecidedCallReportedAsRunIsRecordedUndecided) {
  HttpResult r =
      PostAsClaudeCode("PostToolUse", AsEdit(Fixture("post_tool_use_read.json")), agent_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(AuditHas("hook.post-tool-use")) << json::serialize(Audit());
  EXPECT_TRUE(AuditHas("Interlock never decided it")) << json::serialize(Audit());
  EXPECT_EQ(CountType("incident"), 0) << json::serialize(Audit());
}

// Tests that the command hook with --daemon reports a PostToolUse of a call its PreToolUse
// denied, or held for approval, to the daemon, which records each as an incident once
// (a resent report replays), where it used to print a note and record nothing.
TEST_F(ClaudeCodeHttpHookTest, DaemonCommandHookDeniedOrHeldCallReportedAsRunIsAnIncident) {
  const json::value settings = DocumentedBlock("command", "--daemon");
  auto pasted = [&](const std::string& event) {
    std::string command = HookCommand(settings, event);
    Replace(command, "https://interlock.example.com",
            "http://127.0.0.1:" + std::to_string(daemon_->port()));
    return command + " --approval-wait 0";
  };
  const std::vector<std::string> env = {"INTERLOCK_TOKEN=" + agent_};
  ProcessResult pre =
      RunAsClaudeCode(pasted("PreToolUse"), AsEdit(Fixture("pre_tool_use_read.json")), env);
  ASSERT_EQ(pre.exit_code, 0) << pre.err;
  ASSERT_EQ(CommandDecision(pre), "deny") << pre.out;
  pre = RunAsClaudeCode(pasted("PreToolUse"), Fixture("pre_tool_use_bash.json"), env);
  ASSERT_EQ(pre.exit_code, 0) << pre.err;
  ASSERT_EQ(CommandDecision(pre), "deny") << pre.out;
  for (int i = 0; i < 2; ++i) {
    ProcessResult post =
        RunAsClaudeCode(pasted("PostToolUse"), AsEdit(Fixture("post_tool_use_read.json")), env);
    EXPECT_EQ(post.exit_code, 0) << post.err;
    EXPECT_NE(post.err.find("reported to the daemon"), std::string::npos) << post.err;
    post = RunAsClaudeCode(pasted("PostToolUse"), PostToolUseBash(), env);
    EXPECT_EQ(post.exit_code, 0) << post.err;
  }
  EXPECT_EQ(CountType("incident"), 2) << json::serialize(Audit());
  EXPECT_TRUE(AuditHas("although Interlock denied it")) << json::serialize(Audit());
  EXPECT_TRUE(AuditHas("although Interlock held it for approval")) << json::serialize(Audit());
  // The undecided case through the command hook: recorded as before, no incident.
  std::string never = AsEdit(Fixture("post_tool_use_read.json"));
  Replace(never, "toolu_01HttpWrite0000000000001", "toolu_01HttpWrite0000000000002");
  Replace(never, "README.md", "NOTES.md");
  ProcessResult post = RunAsClaudeCode(pasted("PostToolUse"), never, env);
  EXPECT_EQ(post.exit_code, 0) << post.err;
  EXPECT_TRUE(AuditHas("Interlock never decided it")) << json::serialize(Audit());
  EXPECT_EQ(CountType("incident"), 2) << json::serialize(Audit());
}

// Tests that a denial Claude Code made on its own (PermissionDenied, the auto-mode
// classifier) is recorded in the audit trail with its reason.
TEST_F(ClaudeCodeHttpHookTest, PermissionDeniedByClaudeCodeIsAudited) {
  HttpResult r =
      PostAsClaudeCode("PermissionDenied", Fixture("permission_denied_auto.json"), agent_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "{}");
  EXPECT_TRUE(AuditHas("claude-code.permission-denied")) << json::serialize(Audit());
  EXPECT_TRUE(AuditHas("destructive file deletion")) << json::serialize(Audit());
}

// Tests that a hook without a bearer token is answered with a deny Claude Code honours
// (200), not a 401 that Claude Code would take as "let the tool run".
TEST_F(ClaudeCodeHttpHookTest, NoBearerIsDeniedNotPassed) {
  HttpResult r = Post(Fixture("pre_tool_use_read.json"), "");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Decision(r), "deny") << r.body;
  // The settings' variable not exported: Claude Code sends "Bearer " (empty token).
  HttpResult empty = PostAsClaudeCode("PreToolUse", Fixture("pre_tool_use_read.json"), "");
  EXPECT_EQ(Decision(empty), "deny") << empty.body;
}

// Tests that a wrong bearer token is denied, in the shape of the event sent.
TEST_F(ClaudeCodeHttpHookTest, WrongBearerIsDenied) {
  HttpResult r = Post(Fixture("permission_request_read.json"), "not-a-token");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Behavior(r), "deny") << r.body;
  EXPECT_TRUE(EventuallyAuditHas("auth_failed")) << json::serialize(Audit());
}

// Tests that a reviewer's token cannot ask through the hook (only agents propose calls).
TEST_F(ClaudeCodeHttpHookTest, ReviewerTokenIsDenied) {
  EXPECT_EQ(Decision(Post(Fixture("pre_tool_use_read.json"), reviewer_)), "deny");
}

// Tests that another agent's token with the same session id gets its own run and its own
// policy: it neither sees nor inherits the first agent's decisions.
TEST_F(ClaudeCodeHttpHookTest, TokenOfAnotherAgentGetsItsOwnRunAndPolicy) {
  ASSERT_EQ(Decision(Post(Fixture("pre_tool_use_read.json"), agent_)), "allow");
  // The same tool use replayed under the other agent: decided under its own policy (Bash
  // is not among its tools), never the first agent's answer.
  HttpResult r = Post(Fixture("pre_tool_use_bash.json"), other_);
  EXPECT_EQ(Decision(r), "deny") << r.body;
  HttpResult same = Post(Fixture("permission_request_read.json"), other_);
  EXPECT_EQ(Behavior(same), "allow") << same.body;  // its own decision of its own Read
  json::value runs = client_->Request("GET", "/v1/runs", "", reviewer_).json;
  std::set<std::string> run_ids;
  for (const json::value& run : runs.at("runs").as_array()) {
    run_ids.insert(Str(run, {"run_id"}));
  }
  EXPECT_EQ(run_ids.size(), 2u) << json::serialize(runs);
}

// Tests that a malformed body (not JSON, no session, an unknown event) is a deny.
TEST_F(ClaudeCodeHttpHookTest, MalformedBodyIsDenied) {
  for (const std::string& body :
       {std::string("{not json"), std::string("[]"),
        std::string(R"({"hook_event_name":"PreToolUse","tool_name":"Read"})"),
        std::string(R"({"hook_event_name":"Stop","session_id":"s","tool_name":"Read"})"),
        std::string(R"({"hook_event_name":"PreToolUse","session_id":"s","tool_name":"Read",)"
                    R"("tool_input":"rm -rf /"})")}) {
    HttpResult r = Post(body, agent_);
    ASSERT_EQ(r.status, 200) << body << ": " << r.body;
    EXPECT_EQ(Decision(r), "deny") << body << ": " << r.body;
  }
}

// Tests that duplicate keys are refused rather than read one way here and another by the
// policy ("tool_name" twice: Read for one reader, Bash for another).
TEST_F(ClaudeCodeHttpHookTest, DuplicateKeysAreDenied) {
  HttpResult r = Post(R"({"hook_event_name":"PreToolUse","session_id":"s","tool_name":"Read",)"
                      R"("tool_name":"Bash","tool_input":{"command":"id"}})",
                      agent_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Decision(r), "deny") << r.body;
}

// Tests that a body over the daemon's limit is never an allow (refused before it is read;
// the settings' "onFailure": "block" makes Claude Code block on that refusal).
TEST_F(ClaudeCodeHttpHookTest, HugeBodyIsNeverAllowed) {
  std::string body = R"({"hook_event_name":"PreToolUse","session_id":"s","tool_name":"Read",)"
                     R"("tool_input":{"pad":")" +
                     std::string(2 << 20, 'x') + R"("}})";
  HttpResult r = Post(body, agent_);
  EXPECT_NE(Decision(r), "allow") << r.status;
  EXPECT_TRUE(r.status != 200 || Decision(r) == "deny") << r.status << " " << r.body.size();
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::testing
