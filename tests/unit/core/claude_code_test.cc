// doors/claude_code/contract.h: the one mapping of a decision to Claude Code's hook answer, and
// the reader of the events the daemon's HTTP hook serves.
#include "doors/claude_code/contract.h"

#include <gtest/gtest.h>

#include <string>

#include <boost/json.hpp>

namespace interlock::claude_code {
namespace INTERLOCK_TEST_NS {

namespace json = boost::json;

Decision Approval(int approvers) {
  Decision d;
  d.verdict = Verdict::kApprovalRequired;
  d.code = Code::kApprovalRequired;
  d.reason = "needs a reviewer";
  d.approvals_required = approvers;
  return d;
}

Decision Allowed() {
  Decision d;
  d.verdict = Verdict::kAllow;
  d.code = Code::kAllowed;
  d.reason = "allowed";
  return d;
}

std::string PreDecision(const HookAnswer& a) {
  json::value v = json::parse(HookAnswerJson(HookEvent::kPreToolUse, a));
  if (!v.as_object().contains("hookSpecificOutput")) return "";
  return std::string(v.at("hookSpecificOutput").at("permissionDecision").as_string());
}

// Tests that the standalone hook asks the local person for a one-approver call in an
// interactive mode only: in auto, dontAsk and bypassPermissions nobody answers the prompt
// (the classifier would), so the call is denied.
TEST(ClaudeCodeAnswerTest, AutoModeNeverAsks) {
  HookContext local{.local_person_may_decide = true, .permission_mode = "default"};
  EXPECT_EQ(HookAnswerFor(Approval(1), local).verdict, HookVerdict::kAsk);
  for (const char* mode : {"auto", "dontAsk", "bypassPermissions"}) {
    local.permission_mode = mode;
    HookAnswer a = HookAnswerFor(Approval(1), local);
    EXPECT_EQ(a.verdict, HookVerdict::kDeny) << mode;
    EXPECT_NE(a.reason.find(mode), std::string::npos) << a.reason;
  }
}

// Tests that a call needing two approvers is never asked at one person's prompt.
TEST(ClaudeCodeAnswerTest, TwoApproversAreNeverAsked) {
  HookAnswer a = HookAnswerFor(Approval(2), {.local_person_may_decide = true});
  EXPECT_EQ(a.verdict, HookVerdict::kDeny);
  EXPECT_NE(a.reason.find("2 approvers"), std::string::npos) << a.reason;
}

// Tests that the daemon's hook (reviewers decide) never asks, and defers only when the
// caller asked for it.
TEST(ClaudeCodeAnswerTest, DaemonDeniesOrDefersButNeverAsks) {
  HookContext daemon{.pending_where = "approval ap-1"};
  HookAnswer a = HookAnswerFor(Approval(1), daemon);
  EXPECT_EQ(a.verdict, HookVerdict::kDeny);
  EXPECT_NE(a.reason.find("approval ap-1"), std::string::npos) << a.reason;
  daemon.defer_pending = true;
  EXPECT_EQ(HookAnswerFor(Approval(1), daemon).verdict, HookVerdict::kDefer);
  EXPECT_EQ(HookAnswerFor(Approval(3), daemon).verdict, HookVerdict::kDefer);
  EXPECT_EQ(HookAnswerFor(Allowed(), daemon).verdict, HookVerdict::kAllow);
}

// Tests that an allow answered "no objection" is still explicit in auto mode, where no
// decision would leave the call to the classifier.
TEST(ClaudeCodeAnswerTest, NoObjectionIsExplicitInAutoMode) {
  EXPECT_EQ(HookAnswerFor(Allowed(), {.allowed_as_no_objection = true}).verdict,
            HookVerdict::kNoDecision);
  EXPECT_EQ(HookAnswerFor(Allowed(), {.allowed_as_no_objection = true, .permission_mode = "auto"})
                .verdict,
            HookVerdict::kAllow);
}

// Tests the JSON shapes: PreToolUse's permissionDecision, PermissionRequest's
// decision.behavior (a deferred call is denied there: no person to ask), `{}` otherwise.
TEST(ClaudeCodeAnswerTest, AnswerShapes) {
  EXPECT_EQ(PreDecision({HookVerdict::kDefer, "r"}), "defer");
  EXPECT_EQ(HookAnswerJson(HookEvent::kPreToolUse, {HookVerdict::kNoDecision, ""}), "{}");
  json::value deny = json::parse(
      HookAnswerJson(HookEvent::kPermissionRequest, {HookVerdict::kDefer, "Interlock: no"}));
  EXPECT_EQ(deny.at("hookSpecificOutput").at("hookEventName"), "PermissionRequest");
  EXPECT_EQ(deny.at("hookSpecificOutput").at("decision").at("behavior"), "deny");
  EXPECT_EQ(deny.at("hookSpecificOutput").at("decision").at("message"), "Interlock: no");
  json::value allow =
      json::parse(HookAnswerJson(HookEvent::kPermissionRequest, {HookVerdict::kAllow, "ok"}));
  EXPECT_EQ(allow.at("hookSpecificOutput").at("decision").at("behavior"), "allow");
  EXPECT_EQ(HookAnswerJson(HookEvent::kPostToolUse, {HookVerdict::kAllow, "x"}), "{}");
  EXPECT_EQ(HookAnswerJson(HookEvent::kPermissionDenied, {HookVerdict::kDeny, "x"}), "{}");
}

// Tests the hook's outcome table (docs/design.md, "One outcome"), daemon and standalone:
// only an allow is allowed; a deny, a rehearsal required (the hook cannot rehearse) and the
// core's error (a STORE_UNAVAILABLE deny) are denied.
TEST(ClaudeCodeAnswerTest, EachOutcomeHasItsHookAnswer) {
  struct Case {
    Verdict verdict;
    Code code;
    HookVerdict want;
  };
  const Case cases[] = {
      {Verdict::kAllow, Code::kAllowed, HookVerdict::kAllow},
      {Verdict::kDeny, Code::kToolBlocked, HookVerdict::kDeny},
      {Verdict::kRehearsalRequired, Code::kRehearsalRequired, HookVerdict::kDeny},
      {Verdict::kDeny, Code::kStoreUnavailable, HookVerdict::kDeny},
      {Verdict::kDeny, Code::kAuditUnavailable, HookVerdict::kDeny},
  };
  for (const Case& c : cases) {
    Decision d;
    d.verdict = c.verdict;
    d.code = c.code;
    d.reason = "r";
    for (const HookContext& ctx :
         {HookContext{}, HookContext{.local_person_may_decide = true, .permission_mode = "default"},
          HookContext{.defer_pending = true}}) {
      EXPECT_EQ(HookAnswerFor(d, ctx).verdict, c.want) << CodeName(c.code);
    }
  }
}

// Tests that the HTTP hook's reader takes the event from the input, refuses events it does
// not serve and duplicate keys, and reads PermissionDenied's reason.
TEST(ClaudeCodeInputTest, AnyEventReader) {
  auto denied = ParseAnyHookInput(
      R"({"hook_event_name":"PermissionDenied","session_id":"s","tool_name":"Bash",)"
      R"("tool_input":{"command":"rm -rf x"},"reason":"classifier","permission_mode":"auto"})");
  ASSERT_TRUE(denied.ok()) << denied.error().message;
  EXPECT_EQ(denied->event, HookEvent::kPermissionDenied);
  EXPECT_EQ(denied->reason, "classifier");
  EXPECT_EQ(denied->permission_mode, "auto");
  EXPECT_FALSE(
      ParseAnyHookInput(R"({"hook_event_name":"Stop","session_id":"s","tool_name":"x"})").ok());
  EXPECT_FALSE(ParseAnyHookInput(R"({"session_id":"s","tool_name":"x"})").ok());
  EXPECT_FALSE(ParseAnyHookInput(R"({"hook_event_name":"PreToolUse","session_id":"s",)"
                                 R"("tool_name":"Read","tool_name":"Bash"})")
                   .ok());
  EXPECT_EQ(SniffHookEvent(R"({"hook_event_name":"PermissionRequest"})"),
            HookEvent::kPermissionRequest);
  EXPECT_EQ(SniffHookEvent("{not json"), HookEvent::kPreToolUse);
}

HookInput Input(HookEvent event, std::string tool_use_id, json::object args) {
  HookInput in;
  in.event = event;
  in.session_id = "s";
  in.tool_name = "Bash";
  in.tool_input = std::move(args);
  in.tool_use_id = std::move(tool_use_id);
  return in;
}

// Tests that the events of one tool use that decide or find its call share one key, that
// the key changes with the arguments (another call gets a decision of its own, never the
// first call's answer), that PermissionDenied has a key of its own, and that without a
// tool_use_id there is no key.
TEST(ClaudeCodeKeyTest, OneKeyPerToolUseAndCall) {
  const json::object ls{{"command", "ls"}};
  const HookToolUseKey pre = ToolUseKeyOf(Input(HookEvent::kPreToolUse, "toolu_1", ls));
  EXPECT_FALSE(pre.key.empty());
  for (HookEvent e : {HookEvent::kPermissionRequest, HookEvent::kPostToolUse}) {
    const HookToolUseKey k = ToolUseKeyOf(Input(e, "toolu_1", ls));
    EXPECT_EQ(k.key, pre.key);
    EXPECT_EQ(k.request_sha256, pre.request_sha256);
  }
  const HookToolUseKey other =
      ToolUseKeyOf(Input(HookEvent::kPermissionRequest, "toolu_1", {{"command", "rm -rf /"}}));
  EXPECT_NE(other.key, pre.key);
  EXPECT_NE(other.request_sha256, pre.request_sha256);
  EXPECT_NE(ToolUseKeyOf(Input(HookEvent::kPermissionDenied, "toolu_1", ls)).key, pre.key);
  EXPECT_TRUE(ToolUseKeyOf(Input(HookEvent::kPermissionRequest, "", ls)).key.empty());
}

// Tests the calls recorded for what Claude Code reports: refused, under their rules, with
// the reason Claude Code gave (PermissionDenied) or the output's size and hash, never the
// output (PostToolUse).
TEST(ClaudeCodeKeyTest, ReportedCalls) {
  HookInput denied = Input(HookEvent::kPermissionDenied, "toolu_1", {{"command", "rm -rf x"}});
  denied.permission_mode = "auto";
  denied.reason = "classifier said no";
  ToolCall d = HookReportedCall(denied);
  EXPECT_EQ(d.tool, "Bash");
  EXPECT_EQ(d.refusal_rule, kPermissionDeniedRule);
  EXPECT_NE(d.refusal_reason.find("permission mode auto): classifier said no"), std::string::npos)
      << d.refusal_reason;
  HookInput post = Input(HookEvent::kPostToolUse, "toolu_2", {{"command", "ls"}});
  post.tool_response = json::object{{"stdout", "secret-output"}};
  ToolCall p = HookReportedCall(post, "no call matched");
  EXPECT_EQ(p.refusal_rule, kPostToolUseRule);
  EXPECT_EQ(p.refusal_reason.find("secret-output"), std::string::npos) << p.refusal_reason;
  EXPECT_NE(p.refusal_reason.find("never decided it: no call matched"), std::string::npos)
      << p.refusal_reason;
}

// Tests that the command hook's --event names map to the events and back.
TEST(ClaudeCodeKeyTest, EventFlags) {
  for (HookEvent e : {HookEvent::kPreToolUse, HookEvent::kPostToolUse,
                      HookEvent::kPermissionRequest, HookEvent::kPermissionDenied}) {
    EXPECT_EQ(HookEventOfFlag(HookEventFlag(e)), e);
  }
  EXPECT_FALSE(HookEventOfFlag("auto").has_value());
  EXPECT_FALSE(HookEventOfFlag("PreToolUse").has_value());
}

// Tests that a sub-agent's events parse: SubagentStart and SubagentStop without a tool but
// with agent_id and agent_type (required), a tool event inside a sub-agent with both, and
// that half a sub-agent (an id without a type) or an overlong one is refused.
TEST(ClaudeCodeSubagentTest, SubagentEventsParse) {
  auto start =
      ParseAnyHookInput(R"({"session_id":"s","hook_event_name":"SubagentStart","agent_id":"a1",)"
                        R"("agent_type":"code-reviewer"})");
  ASSERT_TRUE(start.ok()) << start.error().message;
  EXPECT_EQ(start->event, HookEvent::kSubagentStart);
  EXPECT_EQ(start->agent_id, "a1");
  EXPECT_EQ(start->agent_type, "code-reviewer");
  EXPECT_EQ(HookAnswerJson(HookEvent::kSubagentStop, HookDeny("x")), "{}");
  EXPECT_FALSE(ParseAnyHookInput(R"({"session_id":"s","hook_event_name":"SubagentStop"})").ok());
  auto tool =
      ParseAnyHookInput(R"({"session_id":"s","hook_event_name":"PreToolUse","tool_name":"Read",)"
                        R"("agent_id":"a1","agent_type":"Explore"})");
  ASSERT_TRUE(tool.ok());
  EXPECT_EQ(tool->agent_type, "Explore");
  EXPECT_FALSE(ParseAnyHookInput(R"({"session_id":"s","hook_event_name":"PreToolUse",)"
                                 R"("tool_name":"Read","agent_id":"a1"})")
                   .ok());
  const std::string long_type(kMaxSubagentFieldBytes + 1, 'x');
  EXPECT_FALSE(ParseAnyHookInput(R"({"session_id":"s","hook_event_name":"SubagentStart",)"
                                 R"("agent_id":"a1","agent_type":")" +
                                 long_type + R"("})")
                   .ok());
  EXPECT_EQ(HookEventOfFlag("subagent-stop"), HookEvent::kSubagentStop);
}

// Tests that a sub-agent's run id is its own: neither its session's run nor another
// sub-agent's, nor the same sub-agent id under another agent or session.
TEST(ClaudeCodeSubagentTest, SubagentRunIdsAreDistinct) {
  const std::string a = ClaudeCodeSubagentRunId("cc", "s1", "a1");
  EXPECT_EQ(a.rfind("cc-", 0), 0u);
  EXPECT_EQ(a.size(), 35u);
  EXPECT_NE(a, ClaudeCodeRunId("cc", "s1"));
  EXPECT_NE(a, ClaudeCodeSubagentRunId("cc", "s1", "a2"));
  EXPECT_NE(a, ClaudeCodeSubagentRunId("other", "s1", "a1"));
  EXPECT_NE(a, ClaudeCodeSubagentRunId("cc", "s2", "a1"));
  EXPECT_EQ(a, ClaudeCodeSubagentRunId("cc", "s1", "a1"));
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::claude_code
