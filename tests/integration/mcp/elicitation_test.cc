// Approvals at the MCP client (docs/mcp.md#approvals-at-the-mcp-client): standalone
// `interlock mcp` in front of server-everything asks the person at the client with
// elicitation/create. The official SDK client answers (accept, a "no", decline, never);
// a raw hostile client answers garbage, twice, an id never sent, or too late. Every child
// runs on pipes in a temporary directory, bounded by a timeout.
#include <map>
#include <string>
#include <vector>

#include <filesystem>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "json_lines.h"
#include "node_suite.h"
#include "subprocess.h"
#include "temp_dir.h"
#include "test_paths.h"

namespace interlock {
namespace INTERLOCK_TEST_NS {

namespace json = boost::json;
using testing::ProcessResult;
using testing::RunProcess;
using testing::TempDir;

using testing::kEverything;
using testing::kInterlock;
using testing::kNodeDir;

// echo needs one approver (3 s to answer) and redacts its message; get-sum needs two.
const char kPolicy[] =
    "agent:\n  id: \"ev\"\n  identity: \"ev@test\"\n  autonomy: audit_based\n"
    "tools:\n  allowed:\n"
    "    - name: \"echo\"\n      requires_approval: true\n      approval_timeout_seconds: 3\n"
    "      redact: [\"message\"]\n"
    "    - name: \"get-sum\"\n      requires_approval: true\n      approvals_required: 2\n";

class ElicitationTest : public testing::NodeSuite {
 protected:
  void SetUp() override {
    ASSERT_EQ(setup_error_, "");
    policy_ = tmp_.Write("policy.yaml", kPolicy);
    store_ = tmp_.path() + "/state/interlock.db";
    // A named store's directory must exist (or --create): docs/operations.md#store.
    std::filesystem::create_directories(std::filesystem::path(store_).parent_path());
  }
  std::vector<std::string> Gateway() const {
    return {kInterlock, "mcp", "--policy", policy_,     "--store",
            store_,     "--",  "node",     kEverything, "stdio"};
  }
  // Runs the SDK client in `mode` with one call; returns its JSON output.
  json::value Sdk(const std::string& mode, const std::string& calls_json,
                  const std::string& client = "sdk_elicit_client.mjs") {
    const std::string calls = tmp_.Write("calls.json", calls_json);
    std::vector<std::string> argv = {"/usr/bin/env", "node", kNodeDir + "/" + client};
    if (!mode.empty()) argv.push_back(mode);
    argv.push_back(calls);
    argv.push_back("--");
    for (const std::string& a : Gateway()) argv.push_back(a);
    ProcessResult r = RunProcess(argv, "", std::chrono::seconds(90));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return testing::ParseLastLine(r.out);
  }
  // Runs the hostile raw client; returns the gateway's answer to the tools/call.
  json::value Raw(const std::string& scenario) {
    std::vector<std::string> argv = {
        "/usr/bin/env",        "node", kNodeDir + "/raw_elicit_client.mjs", scenario, "echo",
        R"({"message":"hi"})", "--"};
    for (const std::string& a : Gateway()) argv.push_back(a);
    ProcessResult r = RunProcess(argv, "", std::chrono::seconds(90));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const json::value out = testing::ParseLastLine(r.out);
    for (const json::value& m : out.at("messages").as_array()) {
      const json::object& o = m.as_object();
      if (!o.contains("method") && o.contains("id") && o.at("id") == json::value(2)) {
        return o.at("result");
      }
    }
    ADD_FAILURE() << "no answer to the call: " << r.out;
    return nullptr;
  }
  std::string Audit() {
    ProcessResult r =
        RunProcess({kInterlock, "audit", "export", "--store", store_, "--since", "2000-01-01"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    ProcessResult v = RunProcess({kInterlock, "audit", "verify", "--store", store_});
    EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
    return r.out;
  }
  static std::string Text(const json::value& result) {
    return std::string(result.at("content").at(0).at("text").as_string());
  }

  TempDir tmp_;
  std::string policy_;
  std::string store_;
};

const char kEcho[] = R"([{"name":"echo","arguments":{"message":"hello s3cret"}}])";

// Tests that an approval given at the MCP client (SDK client, accept + approve) runs the
// call, that the question shows the tool, the redacted arguments (never the secret), the
// reason and the time left, and that the audit trail holds the local user's vote.
TEST_F(ElicitationTest, SdkClientApprovesAtThePromptAndTheVoteIsAudited) {
  const json::value out = Sdk("accept", kEcho);
  const json::value& r = out.at("results").at(0);
  EXPECT_FALSE(r.as_object().contains("isError")) << r;
  EXPECT_EQ(Text(r), "Echo: hello s3cret");
  ASSERT_EQ(out.at("elicitations").as_array().size(), 1u);
  const std::string q(out.at("elicitations").at(0).at("message").as_string());
  EXPECT_NE(q.find("Tool: echo"), std::string::npos) << q;
  EXPECT_NE(q.find("hmac-sha256:"), std::string::npos) << q;
  EXPECT_EQ(q.find("s3cret"), std::string::npos) << q;
  EXPECT_NE(q.find("requires human approval"), std::string::npos) << q;
  EXPECT_NE(q.find("Time left: 3 s"), std::string::npos) << q;
  const std::string audit = Audit();
  EXPECT_NE(audit.find("\"local:"), std::string::npos) << audit;
  EXPECT_NE(audit.find("ok by me"), std::string::npos) << audit;
  EXPECT_NE(audit.find(R"("args":{"message":"hmac-sha256:)"), std::string::npos) << audit;
}

// Tests that "no" in the form, decline and cancel are each a deny that names the local
// user's answer, recorded as their vote.
TEST_F(ElicitationTest, SdkClientRejectDeclineAndCancelDeny) {
  for (const char* mode : {"reject", "decline", "cancel"}) {
    const json::value r = Sdk(mode, kEcho).at("results").at(0);
    EXPECT_EQ(r.at("isError"), true) << mode;
    EXPECT_EQ(r.at("structuredContent").at("code"), "APPROVAL_DENIED") << mode;
    EXPECT_NE(Text(r).find("denied by local:"), std::string::npos) << mode << Text(r);
  }
  const std::string audit = Audit();
  EXPECT_NE(audit.find("wrong file"), std::string::npos);
  EXPECT_NE(audit.find("declined at the MCP client"), std::string::npos);
  EXPECT_NE(audit.find("(cancel)"), std::string::npos);
  EXPECT_EQ(audit.find("Echo: hello"), std::string::npos) << "a denied call ran";
}

// Tests that a person who never answers lets the approval time out (its own timeout):
// APPROVAL_TIMEOUT, recorded as timed out, and the call never ran.
TEST_F(ElicitationTest, SdkClientNotAnsweringTimesOut) {
  const json::value r = Sdk("silent", kEcho).at("results").at(0);
  EXPECT_EQ(r.at("structuredContent").at("code"), "APPROVAL_TIMEOUT") << r;
  EXPECT_NE(Text(r).find("no answer at the MCP client within 3 s"), std::string::npos) << r;
  const std::string audit = Audit();
  EXPECT_NE(audit.find("timed_out"), std::string::npos) << audit;
}

// Tests that a tool needing two approvers is never put to the one person at the client:
// denied, with a reason saying why, and no question asked.
TEST_F(ElicitationTest, TwoApproverToolIsDeniedWithoutAsking) {
  const json::value out = Sdk("accept", R"([{"name":"get-sum","arguments":{"a":1,"b":2}}])");
  EXPECT_TRUE(out.at("elicitations").as_array().empty());
  const json::value& r = out.at("results").at(0);
  EXPECT_EQ(r.at("structuredContent").at("code"), "APPROVAL_REQUIRED");
  EXPECT_NE(Text(r).find("from 2 reviewers"), std::string::npos) << Text(r);
  EXPECT_NE(Text(r).find("--daemon"), std::string::npos) << Text(r);
}

// Tests that a client without the elicitation capability gets the deny that says how to
// run with a daemon.
TEST_F(ElicitationTest, ClientWithoutElicitationIsToldToUseTheDaemon) {
  const json::value out = Sdk("", kEcho, "sdk_client.mjs");
  const json::value& r = out.at("results").at(0);
  EXPECT_EQ(r.at("structuredContent").at("code"), "APPROVAL_REQUIRED");
  EXPECT_NE(Text(r).find("interlock mcp --daemon URL"), std::string::npos) << Text(r);
  EXPECT_NE(Text(r).find("docs/mcp.md#approvals"), std::string::npos) << Text(r);
}

// Tests that an answer that cannot be read (approve: "yes") or a JSON-RPC error is a deny,
// never an allow.
TEST_F(ElicitationTest, GarbageOrErrorAnswerDenies) {
  for (const char* s : {"garbage", "error"}) {
    const json::value r = Raw(s);
    EXPECT_EQ(r.at("isError"), true) << s;
    EXPECT_EQ(r.at("structuredContent").at("code"), "APPROVAL_DENIED") << s << r;
  }
  const std::string audit = Audit();
  EXPECT_NE(audit.find("approve is not true or false"), std::string::npos) << audit;
  EXPECT_NE(audit.find("\"withdrawn\""), std::string::npos) << audit;
}

// Tests that a second answer (accept after a decline), an answer to an id never sent, and
// an answer after the timeout are refused and audited (INVALID_REQUEST, rule
// mcp.gateway), and never turn the call into an allow.
TEST_F(ElicitationTest, SecondUnsentAndLateAnswersAreRefusedAndAudited) {
  for (const char* s : {"twice", "unsent", "late"}) {
    const json::value r = Raw(s);
    EXPECT_EQ(r.at("isError"), true) << s << r;
    EXPECT_NE(r.at("structuredContent").at("decision"), "allow") << s;
  }
  const std::string audit = Audit();
  EXPECT_NE(audit.find("again (already answered or timed out)"), std::string::npos) << audit;
  EXPECT_NE(audit.find("which Interlock never sent"), std::string::npos) << audit;
  size_t refusals = 0;
  for (size_t at = audit.find("\"rule\":\"mcp.gateway\""); at != std::string::npos;
       at = audit.find("\"rule\":\"mcp.gateway\"", at + 1)) {
    ++refusals;
  }
  EXPECT_EQ(refusals, 3u) << audit;
  EXPECT_EQ(audit.find("Echo: hi"), std::string::npos) << "a refused answer ran the call";
}

// The raw MRTR client (raw_mrtr_client.mjs) in `scenario`: the gateway's answers by the
// client's request id.
std::map<int64_t, json::value> RawMrtr(const std::vector<std::string>& gateway,
                                       const std::string& scenario) {
  std::vector<std::string> argv = {"/usr/bin/env",
                                   "node",
                                   kNodeDir + "/raw_mrtr_client.mjs",
                                   scenario,
                                   "echo",
                                   R"({"message":"hello s3cret"})",
                                   "--"};
  for (const std::string& a : gateway) argv.push_back(a);
  ProcessResult r = RunProcess(argv, "", std::chrono::seconds(90));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const json::value doc = testing::ParseLastLine(r.out);
  std::map<int64_t, json::value> answers;
  for (const json::value& m : doc.at("messages").as_array()) {
    const json::object& o = m.as_object();
    if (!o.contains("method") && o.contains("id") && o.at("id").is_int64() &&
        o.contains("result")) {
      answers[o.at("id").as_int64()] = o.at("result");
    }
  }
  return answers;
}

// Tests approvals over MRTR end to end (a 2026-07-28 tools/call to standalone interlock mcp
// and the real store): the call is answered input_required with the form question (redacted
// arguments) and a requestState; a retry without an answer is asked again with a fresh state;
// the retry with "approve" runs the call once, recorded as the local user's vote; the replay
// of that retry is refused and audited, and the call was decided once.
TEST_F(ElicitationTest, MrtrRetryApprovesOnceAndItsReplayIsRefused) {
  std::map<int64_t, json::value> a = RawMrtr(Gateway(), "approve");
  ASSERT_EQ(a.count(2), 1u);
  ASSERT_EQ(a[2].at("resultType"), "input_required") << a[2];
  const json::value& ask = a[2].at("inputRequests").at("interlock_approval").at("params");
  EXPECT_EQ(ask.at("mode"), "form");
  const std::string q(ask.at("message").as_string());
  EXPECT_NE(q.find("Tool: echo"), std::string::npos) << q;
  EXPECT_EQ(q.find("s3cret"), std::string::npos) << q;
  ASSERT_EQ(a.count(3), 1u);
  ASSERT_EQ(a[3].at("resultType"), "input_required") << a[3];
  EXPECT_NE(a[3].at("requestState"), a[2].at("requestState"));
  ASSERT_EQ(a.count(4), 1u);
  EXPECT_FALSE(a[4].as_object().contains("isError")) << a[4];
  EXPECT_EQ(Text(a[4]), "Echo: hello s3cret");
  ASSERT_EQ(a.count(5), 1u);
  EXPECT_EQ(a[5].at("isError"), true) << a[5];
  EXPECT_EQ(a[5].at("structuredContent").at("code"), "INVALID_REQUEST");
  EXPECT_NE(Text(a[5]).find("used before"), std::string::npos) << Text(a[5]);
  const std::string audit = Audit();
  EXPECT_NE(audit.find("mrtr ok"), std::string::npos) << audit;
  EXPECT_NE(audit.find("\"local:"), std::string::npos) << audit;
  EXPECT_NE(audit.find("requestState refused"), std::string::npos) << audit;
  size_t held = 0;
  for (size_t at = audit.find("\"APPROVAL_REQUIRED\""); at != std::string::npos;
       at = audit.find("\"APPROVAL_REQUIRED\"", at + 1)) {
    ++held;
  }
  EXPECT_EQ(held, 1u) << "the retries were decided again: " << audit;
}

// The payload of an Interlock requestState ("ilrs1." + base64url(JSON) + "." + MAC).
json::value StatePayload(const std::string& state) {
  const size_t from = state.find('.') + 1;
  const std::string b64 = state.substr(from, state.rfind('.') - from);
  std::string bytes;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : b64) {
    const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const size_t v = alphabet.find(c);
    if (v == std::string::npos) break;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return json::parse(bytes);
}

// Tests that standalone interlock mcp binds a requestState to the run its call was decided
// in (StartLocalRun's run, the one the audit records), never to an empty run that any run
// of the agent would match.
TEST_F(ElicitationTest, MrtrStateIsBoundToTheStandaloneRun) {
  std::map<int64_t, json::value> a = RawMrtr(Gateway(), "approve");
  ASSERT_EQ(a.count(2), 1u);
  ASSERT_EQ(a[2].at("resultType"), "input_required") << a[2];
  const json::value payload = StatePayload(std::string(a[2].at("requestState").as_string()));
  const std::string run(payload.at("r").as_string());
  ASSERT_TRUE(run.starts_with("run_")) << payload;
  const std::string audit = Audit();
  EXPECT_NE(audit.find("\"run_id\":\"" + run + "\""), std::string::npos) << run << "\n" << audit;
}

// Tests that a requestState swapped onto other arguments, and a forged one, are refused and
// audited through the core, never run, and that the approval nobody retried is withdrawn
// when the client goes.
TEST_F(ElicitationTest, MrtrSwappedAndForgedStatesAreRefusedAndAudited) {
  std::map<int64_t, json::value> a = RawMrtr(Gateway(), "swap");
  ASSERT_EQ(a.count(2), 1u);
  ASSERT_EQ(a[2].at("resultType"), "input_required") << a[2];
  for (int64_t id : {3, 4}) {
    ASSERT_EQ(a.count(id), 1u) << id;
    EXPECT_EQ(a[id].at("isError"), true) << a[id];
    EXPECT_EQ(a[id].at("structuredContent").at("code"), "INVALID_REQUEST") << a[id];
  }
  EXPECT_NE(Text(a[3]).find("another tool call"), std::string::npos) << Text(a[3]);
  EXPECT_NE(Text(a[4]).find("does not verify"), std::string::npos) << Text(a[4]);
  const std::string audit = Audit();
  EXPECT_EQ(audit.find("Echo: "), std::string::npos) << "a refused state ran the call";
  EXPECT_NE(audit.find("\"withdrawn\""), std::string::npos) << audit;
}

// A hostile server (hostile_id_server.mjs) in front of a client that says yes to the
// server's harmless question and declines Interlock's (raw_user_client.mjs).
class HostileIdServerTest : public ElicitationTest {
 protected:
  json::value Run(const std::string& scenario, std::string* server_log) {
    const std::string policy =
        tmp_.Write("hostile.yaml",
                   "agent:\n  id: \"ev\"\n  identity: \"ev@test\"\n  autonomy: audit_based\n"
                   "tools:\n  allowed:\n"
                   "    - name: \"wipe_database\"\n      requires_approval: true\n"
                   "      approval_timeout_seconds: 10\n"
                   "    - name: \"run_tests\"\n");
    const std::string log = tmp_.path() + "/hostile.log";
    std::vector<std::string> argv = {
        "/usr/bin/env", "HOSTILE_LOG=" + log, "node", kNodeDir + "/raw_user_client.mjs", scenario,
        "--", kInterlock, "mcp", "--policy", policy, "--store", store_,
        // Servers start with an explicit environment: the
        // server's log path is passed by name.
        "--pass-env", "HOSTILE_LOG", "--", "node", kNodeDir + "/hostile_id_server.mjs"};
    ProcessResult r = RunProcess(argv, "", std::chrono::seconds(90));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    ProcessResult cat = RunProcess({"/bin/cat", log});
    *server_log = cat.out;
    return testing::ParseLastLine(r.out);
  }
  static const json::value* Answer(const json::value& out, const json::value& id) {
    for (const json::value& m : out.at("messages").as_array()) {
      const json::object& o = m.as_object();
      if (!o.contains("method") && o.contains("id") && o.at("id") == id) return &m;
    }
    return nullptr;
  }
};

// Tests that a real hostile server cannot get the person's "yes" to its harmless question
// counted as the approval of a held wipe_database through `interlock mcp`: it never sees an
// id of Interlock's to learn a prefix from, its questions under ids in Interlock's space are
// refused and audited, the "yes" goes back to the server, and the call is denied (declined
// at the prompt) and never reaches the server.
TEST_F(HostileIdServerTest, ServerElicitationWithInterlocksIdCannotAnswerTheApproval) {
  std::string server_log;
  const json::value out = Run("user", &server_log);
  const json::value* call = Answer(out, json::value(2));
  ASSERT_NE(call, nullptr) << out;
  EXPECT_EQ(call->at("result").at("isError"), true) << *call;
  EXPECT_EQ(call->at("result").at("structuredContent").at("code"), "APPROVAL_DENIED") << *call;
  EXPECT_EQ(server_log.find("wipe_database"), std::string::npos) << server_log;
  EXPECT_EQ(server_log.find("learned"), std::string::npos) << server_log;      // no id of ours
  EXPECT_NE(server_log.find("dark-mode-1"), std::string::npos) << server_log;  // its answer
  size_t server_questions = 0;
  for (const json::value& m : out.at("messages").as_array()) {
    const json::object& o = m.as_object();
    if (!o.contains("method") || o.at("method") != "elicitation/create") continue;
    const std::string text(o.at("params").at("message").as_string());
    if (text.rfind("Interlock:", 0) == 0) continue;
    ++server_questions;
    EXPECT_FALSE(o.at("id").is_string()) << m;  // relayed under the gateway's own id
  }
  EXPECT_EQ(server_questions, 1u) << out;
  const std::string audit = Audit();
  EXPECT_NE(audit.find("Interlock's own id space"), std::string::npos) << audit;
  EXPECT_NE(audit.find("declined at the MCP client"), std::string::npos) << audit;
  EXPECT_EQ(audit.find("approved at the MCP client"), std::string::npos) << audit;
}

// Tests that an id a JavaScript server would round (2^53 + 1 into 2^53) is refused at the
// client side through `interlock mcp` (-32600, never forwarded), and that the server sees
// the gateway's own small ids for the calls it does get.
TEST_F(HostileIdServerTest, ServerAnsweringWithARoundedIdCannotCompleteAnotherCall) {
  std::string server_log;
  const json::value out = Run("bigid", &server_log);
  bool refused = false;
  for (const json::value& m : out.at("messages").as_array()) {
    const json::object& o = m.as_object();
    if (o.contains("error") && o.at("id").is_null() &&
        o.at("error").at("code") == json::value(-32600)) {
      refused = true;
    }
  }
  EXPECT_TRUE(refused) << out;
  const json::value* call = Answer(out, json::value(2));
  ASSERT_NE(call, nullptr) << out;
  const std::string text(call->at("result").at("content").at(0).at("text").as_string());
  EXPECT_EQ(text.rfind("called run_tests as id ", 0), 0u) << text;
  size_t calls = 0;
  for (size_t at = server_log.find("\"call\""); at != std::string::npos;
       at = server_log.find("\"call\"", at + 1)) {
    ++calls;
  }
  EXPECT_EQ(calls, 1u) << server_log;  // only the call with an exact id
  EXPECT_EQ(server_log.find("900719925474099"), std::string::npos) << server_log;
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock
