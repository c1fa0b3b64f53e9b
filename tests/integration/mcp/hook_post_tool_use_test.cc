// `interlock hook claude-code --event post-tool-use`: the Claude Code PostToolUse hook
// records that a call the PreToolUse hook allowed or answered `ask` ran, and its result,
// and never attributes a result to a call it did not decide (another session's, another
// tool's or argument's, a denied one). Driven with recorded hook inputs
// (fixtures/claude_code_hook and its post_tool_use/ directory) through the real binary,
// on a temporary store; the audit trail is read back with `interlock audit export`.
#include <chrono>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
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
using testing::TempDir;

using testing::kInterlock;
const std::string kFixtures =
    std::string(INTERLOCK_SOURCE_DIR) + "/tests/integration/mcp/fixtures/claude_code_hook/";

const char kPolicy[] =
    "agent:\n  id: \"claude\"\n  identity: \"claude@test\"\n  autonomy: audit_based\n"
    "tools:\n  allowed:\n    - name: \"Read\"\n"
    "    - name: \"Bash\"\n      requires_approval: true\n"
    "    - name: \"Login\"\n      redact: [\"password\"]\n"
    "  blocked:\n    - \"Write\"\n";

std::string Fixture(const std::string& name) {
  std::ifstream in(kFixtures + name);
  EXPECT_TRUE(in) << name;
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The fixture with `session_id` (and optionally tool_input) replaced.
std::string WithSession(const std::string& text, const std::string& session) {
  json::value v = json::parse(text);
  v.as_object()["session_id"] = session;
  return json::serialize(v);
}

class PostToolUse {
 public:
  explicit PostToolUse(const std::string& policy = kPolicy)
      : policy_(tmp_.Write("p.yaml", policy)), store_(tmp_.path() + "/s.db") {}

  // The PreToolUse hook's decision for `input`.
  std::string Pre(const std::string& input) {
    ProcessResult r =
        RunProcess({kInterlock, "hook", "claude-code", "--policy", policy_, "--store", store_},
                   input, std::chrono::seconds(30));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return std::string(
        json::parse(r.out).at("hookSpecificOutput").at("permissionDecision").as_string());
  }

  // Runs the PostToolUse hook; it must exit 0 with nothing on stdout. Returns stderr.
  std::string Post(const std::string& input) {
    ProcessResult r = RunProcess({kInterlock, "hook", "claude-code", "--event", "post-tool-use",
                                  "--policy", policy_, "--store", store_},
                                 input, std::chrono::seconds(30));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "") << "a PostToolUse hook has no decision to print";
    return r.err;
  }

  // Every audit record of the store.
  std::vector<json::object> Audit() {
    ProcessResult r =
        RunProcess({kInterlock, "audit", "export", "--store", store_, "--since", "2000-01-01"}, "",
                   std::chrono::seconds(30));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return testing::ParseJsonLines(r.out);
  }

  std::vector<json::object> OfType(const std::string& type) {
    std::vector<json::object> out;
    for (json::object& o : Audit()) {
      if (o.at("type") == json::value(type)) out.push_back(std::move(o));
    }
    return out;
  }

 private:
  TempDir tmp_;
  std::string policy_;
  std::string store_;
};

// Tests that a call the PreToolUse hook answered `ask` and that then ran (the developer
// approved it at Claude Code's prompt) is recorded as approved by the Claude Code user,
// released, and its result recorded; a second report of it records nothing more.
TEST(Hook, PostToolUseRecordsTheResultOfTheAskedCall) {
  PostToolUse h;
  ASSERT_EQ(h.Pre(Fixture("bash.json")), "ask");
  const std::string err = h.Post(Fixture("post_tool_use/bash.json"));
  EXPECT_NE(err.find("recorded the result of call"), std::string::npos) << err;

  const std::vector<json::object> results = h.OfType("result");
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].at("data").at("ok"), true);
  EXPECT_NE(json::serialize(results[0].at("data").at("output")).find("42 passed"),
            std::string::npos);
  bool granted = false;
  for (const json::object& a : h.OfType("approval")) {
    if (a.at("data").at("event") != "granted") continue;
    granted = true;
    EXPECT_EQ(a.at("data").at("reviewer"), "claude-code-user");
    EXPECT_EQ(a.at("call_id"), results[0].at("call_id"));
  }
  EXPECT_TRUE(granted);

  // The same report again: the call has its result; nothing is invented (the report is
  // recorded as undecided, never as a second result).
  const std::string again = h.Post(Fixture("post_tool_use/bash.json"));
  EXPECT_NE(again.find("UNDECIDED"), std::string::npos) << again;
  EXPECT_EQ(h.OfType("result").size(), 1u);
}

// The fixture with tool_input.command replaced (another call of the same tool).
std::string WithCommand(const std::string& text, const std::string& command) {
  json::value v = json::parse(text);
  v.as_object()["tool_input"].as_object()["command"] = command;
  return json::serialize(v);
}

// Tests that a grant given at Claude Code's prompt re-checks the tool's
// max_records_per_run as a reviewer's grant does: two asked calls, each within the limit
// alone, ran; the second grant would exceed the limit, so it is denied
// (RECORD_LIMIT_EXCEEDED), not released, and its result is not recorded as an allowed one.
TEST(ApprovalTest, LocalGrantCannotExceedTheRecordLimit) {
  PostToolUse h(
      "agent:\n  id: \"claude\"\n  identity: \"claude@test\"\n  autonomy: audit_based\n"
      "tools:\n  allowed:\n    - name: \"Bash\"\n      requires_approval: true\n"
      "      constraints:\n        max_records_per_run: 1\n");
  const std::string first = Fixture("bash.json");
  const std::string second = WithCommand(first, "npm run lint");
  ASSERT_EQ(h.Pre(first), "ask");
  ASSERT_EQ(h.Pre(second), "ask");  // pending approvals consume no records yet

  const std::string ok = h.Post(Fixture("post_tool_use/bash.json"));
  EXPECT_NE(ok.find("recorded the result of call"), std::string::npos) << ok;
  const std::string over = h.Post(WithCommand(Fixture("post_tool_use/bash.json"), "npm run lint"));
  EXPECT_EQ(over.find("recorded the result of call"), std::string::npos) << over;
  EXPECT_NE(over.find("max_records_per_run"), std::string::npos) << over;

  EXPECT_EQ(h.OfType("result").size(), 1u) << "only the call within the limit has a result";
  int granted = 0, denied = 0;
  for (const json::object& a : h.OfType("approval")) {
    if (a.at("data").at("event") == "granted") ++granted;
    if (a.at("data").at("event") != "denied") continue;
    ++denied;
    EXPECT_EQ(a.at("data").at("code"), "RECORD_LIMIT_EXCEEDED") << json::serialize(a);
  }
  EXPECT_EQ(granted, 1);
  EXPECT_EQ(denied, 1);
}

// Tests that an allowed call's result is recorded against it, without any approval.
TEST(Hook, PostToolUseRecordsTheResultOfAnAllowedCall) {
  PostToolUse h;
  ASSERT_EQ(h.Pre(Fixture("read.json")), "allow");
  h.Post(Fixture("post_tool_use/read.json"));
  const std::vector<json::object> results = h.OfType("result");
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].at("data").at("output").at("file").at("numLines"), 3);
  EXPECT_TRUE(h.OfType("approval").empty());
}

// Tests that a PostToolUse with no call decided before it is attributed to no call (no
// result, no approval granted) and recorded as undecided instead (a refused call, rule
// hook.post-tool-use, INVALID_REQUEST, saying it ran), as is one whose arguments differ
// from the decided call's, and one for a call the PreToolUse hook denied.
TEST(Hook, PostToolUseWithoutAPriorDecisionIsRecordedAsUndecided) {
  PostToolUse h;
  std::string err = h.Post(Fixture("post_tool_use/bash.json"));
  EXPECT_NE(err.find("UNDECIDED"), std::string::npos) << err;
  EXPECT_TRUE(h.OfType("result").empty());

  // Decided `ask` for other arguments: the report of `rm -rf /` is not attributed to it.
  ASSERT_EQ(h.Pre(Fixture("bash.json")), "ask");
  json::value other = json::parse(Fixture("post_tool_use/bash.json"));
  other.as_object()["tool_input"].as_object()["command"] = "rm -rf /";
  err = h.Post(json::serialize(other));
  EXPECT_NE(err.find("UNDECIDED"), std::string::npos) << err;

  // A denied call has no result to record, whatever a PostToolUse says.
  json::value write = json::parse(Fixture("write.json"));
  ASSERT_EQ(h.Pre(json::serialize(write)), "deny");
  write.as_object()["hook_event_name"] = "PostToolUse";
  write.as_object()["tool_response"] = json::object{{"type", "create"}};
  err = h.Post(json::serialize(write));
  EXPECT_NE(err.find("UNDECIDED"), std::string::npos) << err;

  EXPECT_TRUE(h.OfType("result").empty());
  for (const json::object& a : h.OfType("approval")) {
    EXPECT_NE(a.at("data").at("event"), "granted") << json::serialize(a);
  }
  size_t undecided = 0;
  for (const json::object& d : h.OfType("decision")) {
    const json::value& dec = d.at("data").at("decision");
    EXPECT_NE(dec.at("decision"), "allow") << json::serialize(d);
    if (dec.at("rule") != "hook.post-tool-use") continue;
    ++undecided;
    EXPECT_EQ(dec.at("code"), "INVALID_REQUEST");
    EXPECT_NE(json::serialize(dec).find("reports that this call ran"), std::string::npos);
  }
  EXPECT_EQ(undecided, 3u);
}

// Tests that a PostToolUse of another Claude Code session is never attributed to this
// session's asked call, which stays pending until its own session reports it.
TEST(Hook, PostToolUseOfAnotherSessionIsNotAttributedToThisSessionsCall) {
  PostToolUse h;
  ASSERT_EQ(h.Pre(Fixture("bash.json")), "ask");
  const std::string err = h.Post(WithSession(Fixture("post_tool_use/bash.json"), "intruder"));
  EXPECT_NE(err.find("UNDECIDED"), std::string::npos) << err;
  EXPECT_TRUE(h.OfType("result").empty());
  h.Post(Fixture("post_tool_use/bash.json"));
  EXPECT_EQ(h.OfType("result").size(), 1u);
}

// Tests that a redacted argument's value is masked out of the recorded result too, and
// that the call is still found although its recorded arguments are redacted.
TEST(Hook, PostToolUseMasksARedactedArgumentInTheResult) {
  PostToolUse h;
  const json::object pre{
      {"session_id", "s"},
      {"hook_event_name", "PreToolUse"},
      {"cwd", "/tmp"},
      {"tool_name", "Login"},
      {"tool_input", json::object{{"user", "ada"}, {"password", "hunter2-xyz"}}}};
  ASSERT_EQ(h.Pre(json::serialize(pre)), "allow");
  json::object post = pre;
  post["hook_event_name"] = "PostToolUse";
  post["tool_response"] = json::object{{"echo", "logged in with hunter2-xyz"}};
  h.Post(json::serialize(post));
  ASSERT_EQ(h.OfType("result").size(), 1u);
  for (const json::object& o : h.Audit()) {
    EXPECT_EQ(json::serialize(o).find("hunter2-xyz"), std::string::npos) << json::serialize(o);
  }
  EXPECT_NE(json::serialize(h.OfType("result")[0]).find("[REDACTED]"), std::string::npos);
}

// Tests that unusable PostToolUse input (not JSON, a PreToolUse event, no session, a
// tool_use_id that is not a string) exits 0
// with a note and records nothing: the tool already ran, a PostToolUse blocks nothing.
TEST(Hook, PostToolUseWithBadInputRecordsNothing) {
  PostToolUse h;
  ASSERT_EQ(h.Pre(Fixture("bash.json")), "ask");
  for (const std::string& bad :
       {std::string("{not json"), Fixture("bash.json"),
        std::string(R"({"hook_event_name":"PostToolUse","tool_name":"Bash"})"),
        std::string(R"({"hook_event_name":"PostToolUse","tool_name":"Bash","session_id":"s",)"
                    R"("tool_use_id":42})")}) {
    const std::string err = h.Post(bad);
    EXPECT_NE(err.find("nothing recorded"), std::string::npos) << err;
  }
  EXPECT_TRUE(h.OfType("result").empty());
  EXPECT_EQ(h.OfType("decision").size(), 1u) << "only the PreToolUse decision";
}

// Tests that an `ask` the developer declined at Claude Code's prompt (the tool never runs,
// and Claude Code tells no hook) does not leave its approval pending for good: the next
// standalone hook invocation past the approval's deadline times it out, so the record ends
// in a decision, and a late PostToolUse for it records no result.
TEST(Hook, AskDeclinedAtThePromptTimesOutInsteadOfStayingPending) {
  std::string policy = kPolicy;
  const std::string bash = "    - name: \"Bash\"\n      requires_approval: true\n";
  policy.replace(policy.find(bash), bash.size(), bash + "      approval_timeout_seconds: 1\n");
  PostToolUse h(policy);
  ASSERT_EQ(h.Pre(Fixture("bash.json")), "ask");
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));  // pace: past the 1 s deadline
  ASSERT_EQ(h.Pre(Fixture("read.json")), "allow");

  bool timed_out = false;
  for (const json::object& a : h.OfType("approval")) {
    if (a.at("data").at("event") == "timed_out") timed_out = true;
    EXPECT_NE(a.at("data").at("event"), "granted");
  }
  EXPECT_TRUE(timed_out) << "the declined ask's approval is still pending";
  h.Post(Fixture("post_tool_use/bash.json"));
  EXPECT_TRUE(h.OfType("result").empty());
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock
