// Claude Code sub-agents through the HTTP hook (docs/governance.md#child-runs): the events
// of a sub-agent (agent_id, agent_type) are decided in a child run of the session's run,
// under the policy "<agent>/<agent_type>" where there is one, always intersected with the
// session's policy; its steps are the session run's; a kill switch on the session's run
// stops it; SubagentStop ends it. Posted as Claude Code posts them to the real `interlock
// serve` on 127.0.0.1 port 0.
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "daemon_harness.h"
#include "daemon_suite.h"
#include "doors/claude_code/contract.h"
#include "temp_dir.h"

namespace interlock::testing {
namespace INTERLOCK_TEST_NS {

namespace json = boost::json;

// The session's policy: Write, Read and starting sub-agents; six steps for the whole tree.
constexpr char kParentPolicy[] = R"(agent:
  id: "cc"
tools:
  allowed:
    - name: "Read"
    - name: "Write"
    - name: "Agent"
execution:
  max_steps: 6
)";

// A read-only code reviewer.
constexpr char kReviewerPolicy[] = R"(agent:
  id: "cc/code-reviewer"
tools:
  allowed:
    - name: "Read"
)";

// A sub-agent type whose own policy allows more than the session's.
constexpr char kWidePolicy[] = R"(agent:
  id: "cc/cleaner"
tools:
  allowed:
    - name: "Read"
    - name: "Bash"
)";

class ClaudeCodeSubagentTest : public DaemonSuite {
 protected:
  void SetUp() override {
    const std::string policies = WritePolicies({{"cc.yaml", kParentPolicy},
                                                {"cc-code-reviewer.yaml", kReviewerPolicy},
                                                {"cc-cleaner.yaml", kWidePolicy}});
    MakeDaemon(policies);
    agent_ = Token("--agent", "cc");
    reviewer_ = Token("--reviewer", "rita");
    admin_ = Token("--admin", "ada");
    StartDaemon();
  }
  // A PreToolUse of `tool` in session s1, from the sub-agent `agent_id` of `type` (none:
  // the main agent), as Claude Code 2.1 posts it.
  HttpResult PreToolUse(const std::string& tool, const std::string& agent_id = "",
                        const std::string& type = "") {
    json::object in{{"session_id", "s1"},
                    {"transcript_path", "/tmp/t.jsonl"},
                    {"cwd", "/home/dev/shop"},
                    {"permission_mode", "default"},
                    {"hook_event_name", "PreToolUse"},
                    {"tool_name", tool},
                    {"tool_input", json::object{{"file_path", "/home/dev/shop/a.txt"}}},
                    {"tool_use_id", "toolu_" + std::to_string(++uses_)}};
    if (!agent_id.empty()) {
      in["agent_id"] = agent_id;
      in["agent_type"] = type;
    }
    return client_->Request("POST", "/v1/hooks/claude-code", json::serialize(in), agent_);
  }
  HttpResult Lifecycle(const std::string& event, const std::string& agent_id,
                       const std::string& type) {
    json::object in{{"session_id", "s1"},       {"transcript_path", "/tmp/t.jsonl"},
                    {"cwd", "/home/dev/shop"},  {"hook_event_name", event},
                    {"agent_id", agent_id},     {"agent_type", type},
                    {"stop_hook_active", false}};
    return client_->Request("POST", "/v1/hooks/claude-code", json::serialize(in), agent_);
  }
  static std::string Decision(const HttpResult& r) {
    const json::value* h =
        r.json.is_object() ? r.json.as_object().if_contains("hookSpecificOutput") : nullptr;
    if (h == nullptr || !h->is_object()) return "";
    const json::value* d = h->as_object().if_contains("permissionDecision");
    return d != nullptr && d->is_string() ? std::string(d->as_string()) : "";
  }
  // The session's run (claude_code::ClaudeCodeRunId).
  static std::string ParentRun() { return claude_code::ClaudeCodeRunId("cc", "s1"); }

  std::string agent_, reviewer_, admin_;
  int uses_ = 0;
};

// Tests that a code-reviewer sub-agent with a read-only policy is denied Write although
// the session's agent may Write, and may Read.
TEST_F(ClaudeCodeSubagentTest, ReadOnlyReviewerIsDeniedWriteTheParentMayDo) {
  EXPECT_EQ(Decision(PreToolUse("Write")), "allow");
  HttpResult start = Lifecycle("SubagentStart", "a1", "code-reviewer");
  ASSERT_EQ(start.status, 200);
  EXPECT_EQ(start.body, "{}");
  HttpResult w = PreToolUse("Write", "a1", "code-reviewer");
  EXPECT_EQ(Decision(w), "deny") << w.body;
  EXPECT_NE(w.body.find("TOOL_NOT_ALLOWED"), std::string::npos) << w.body;
  EXPECT_EQ(Decision(PreToolUse("Read", "a1", "code-reviewer")), "allow");
}

// Tests that a sub-agent whose own policy allows Bash cannot run it, because the session's
// policy does not allow it (the attack: a sub-agent type defined to widen its parent).
TEST_F(ClaudeCodeSubagentTest, SubagentCannotDoWhatTheParentPolicyDenies) {
  HttpResult b = PreToolUse("Bash", "a2", "cleaner");  // no SubagentStart: the first event
  EXPECT_EQ(Decision(b), "deny") << b.body;
  EXPECT_NE(b.body.find("parent run"), std::string::npos) << b.body;
  EXPECT_EQ(Decision(PreToolUse("Read", "a2", "cleaner")), "allow");
}

// Tests that a sub-agent's steps count against the session run's budget: with the
// session's six steps spent between them, the next call of either is denied.
TEST_F(ClaudeCodeSubagentTest, SubagentStepsCountAgainstTheParentsBudget) {
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(Decision(PreToolUse("Read", "a3", "code-reviewer")), "allow") << i;
  }
  EXPECT_EQ(Decision(PreToolUse("Read")), "allow");
  EXPECT_EQ(Decision(PreToolUse("Read")), "allow");
  HttpResult over = PreToolUse("Read", "a3", "code-reviewer");
  EXPECT_EQ(Decision(over), "deny") << over.body;
  EXPECT_NE(over.body.find("BUDGET_EXCEEDED"), std::string::npos) << over.body;
}

// Tests that killing the session's run stops its sub-agent's next call.
TEST_F(ClaudeCodeSubagentTest, KillingTheParentRunStopsTheSubagent) {
  EXPECT_EQ(Decision(PreToolUse("Read", "a4", "code-reviewer")), "allow");
  HttpResult k = client_->Request(
      "POST", "/v1/kill",
      R"({"scope":"run","target":")" + ParentRun() + R"(","engaged":true,"reason":"runaway"})",
      admin_);
  ASSERT_EQ(k.status, 200) << k.body;
  HttpResult d = PreToolUse("Read", "a4", "code-reviewer");
  EXPECT_EQ(Decision(d), "deny") << d.body;
  EXPECT_NE(d.body.find("KILL_SWITCH"), std::string::npos) << d.body;
}

// Tests that SubagentStop ends the sub-agent's child run (a later event of it is denied)
// and leaves the session's run going.
TEST_F(ClaudeCodeSubagentTest, SubagentStopEndsTheChildRun) {
  EXPECT_EQ(Decision(PreToolUse("Read", "a5", "code-reviewer")), "allow");
  HttpResult stop = Lifecycle("SubagentStop", "a5", "code-reviewer");
  ASSERT_EQ(stop.status, 200);
  EXPECT_EQ(stop.body, "{}");
  HttpResult after = PreToolUse("Read", "a5", "code-reviewer");
  EXPECT_EQ(Decision(after), "deny") << after.body;
  EXPECT_NE(after.body.find("has ended"), std::string::npos) << after.body;
  EXPECT_EQ(Decision(PreToolUse("Read")), "allow");
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::testing
