// Claude Code's HTTP hook on the daemon (POST /v1/hooks/claude-code, docs/mcp.md): the
// recorded inputs of tests/fixtures/claude_code_http posted the way Claude Code posts them,
// with the settings block a user pastes (its URL, its Authorization header filled from
// allowedEnvVars), to the real `interlock serve` on 127.0.0.1 port 0.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "daemon_harness.h"
#include "subprocess.h"
#include "temp_dir.h"

namespace interlock::testing {
namespace {

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

std::string Fixture(const std::string& name) {
  std::ifstream in(std::string(INTERLOCK_SOURCE_DIR) + "/tests/fixtures/claude_code_http/" + name);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string Str(const json::value& v, std::initializer_list<const char*> path) {
  const json::value* x = &v;
  for (const char* k : path) {
    if (!x->is_object()) return "";
    x = x->as_object().if_contains(k);
    if (x == nullptr) return "";
  }
  return x->is_string() ? std::string(x->as_string()) : "";
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

class ClaudeCodeHttpHookTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string policies = dir_.path() + "/policies";
    std::filesystem::create_directories(policies);
    std::ofstream(policies + "/support.yaml") << kPolicy;
    std::ofstream(policies + "/other.yaml") << kOtherPolicy;
    daemon_ = std::make_unique<Daemon>(dir_.path(), policies);
    agent_ = CreateToken(daemon_->store(), "--agent", "support");
    other_ = CreateToken(daemon_->store(), "--agent", "other");
    reviewer_ = CreateToken(daemon_->store(), "--reviewer", "rita");
    ASSERT_TRUE(daemon_->Start()) << daemon_->log();
    client_ = std::make_unique<HttpClient>(daemon_->port());
  }
  void TearDown() override {
    client_.reset();
    if (daemon_) daemon_->Stop();
  }

  // Posts `body` as the pasted settings' hook for `event` would: its URL (port replaced
  // by the test daemon's) and its headers filled with INTERLOCK_TOKEN=`token`.
  HttpResult PostAsClaudeCode(const std::string& event, const std::string& body,
                              const std::string& token) {
    json::value settings = json::parse(Fixture("settings.json"));
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
    for (int i = 0; i < 50; ++i) {
      if (AuditHas(needle)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
  int CountType(const std::string& type) {
    int n = 0;
    json::value audit = Audit();
    for (const json::value& rec : audit.at("records").as_array()) {
      if (Str(rec, {"type"}) == type) ++n;
    }
    return n;
  }

  TempDir dir_;
  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<HttpClient> client_;
  std::string agent_, other_, reviewer_;
};

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

}  // namespace
}  // namespace interlock::testing
