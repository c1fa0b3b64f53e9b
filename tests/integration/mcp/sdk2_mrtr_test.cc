// Approvals over MRTR (docs/mcp.md#approvals-over-mrtr) driven by the real MCP TypeScript SDK
// 2.x client (@modelcontextprotocol/client 2.4.0, node/sdk2_mrtr_client.mjs) pinned to
// 2026-07-28: standalone `interlock mcp` answers a held call input_required with its form
// question, the SDK's own multi round-trip driver puts it to the client's elicitation handler
// and retries the call by itself. Also the bounds of the two retry loops: the gateway's 8
// rounds for a server that keeps asking, the SDK's inputRequired.maxRounds (10 by default).
// Pipes only, temporary directories, every child bounded by RunProcess.
#include <optional>
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
using testing::Count;
using testing::ProcessResult;
using testing::RunProcess;
using testing::TempDir;

using testing::kEverything;
using testing::kInterlock;
using testing::kNodeDir;

// echo needs one approver and redacts its message; get-sum needs two; confirm (the modern
// server's, which asks its own question) is allowed.
const char kPolicy[] =
    "agent:\n  id: \"ev\"\n  identity: \"ev@test\"\n  autonomy: audit_based\n"
    "tools:\n  allowed:\n"
    "    - name: \"echo\"\n      requires_approval: true\n      approval_timeout_seconds: 30\n"
    "      redact: [\"message\"]\n"
    "    - name: \"get-sum\"\n      requires_approval: true\n      approvals_required: 2\n"
    "    - name: \"confirm\"\n";

const char kEcho[] = R"([{"name":"echo","arguments":{"message":"hello s3cret"}}])";

class Sdk2MrtrTest : public testing::NodeSuite {
 protected:
  void SetUp() override {
    ASSERT_EQ(setup_error_, "");
    policy_ = tmp_.Write("policy.yaml", kPolicy);
    store_ = tmp_.path() + "/state/interlock.db";
    // A named store's directory must exist (or --create): docs/operations.md#store.
    std::filesystem::create_directories(std::filesystem::path(store_).parent_path());
    server_log_ = tmp_.path() + "/modern.log";
  }
  // The SDK 2.x client in `scenario` with `calls_json` (and inputRequired.maxRounds
  // `max_rounds`, if given), through `interlock mcp` in front of server-everything or the
  // modern server; returns its JSON output.
  json::value Sdk(const std::string& scenario, const std::string& calls_json,
                  bool modern_server = false, const std::string& max_rounds = "") {
    const std::string calls = tmp_.Write("calls.json", calls_json);
    std::vector<std::string> argv = {"/usr/bin/env"};
    if (!max_rounds.empty()) argv.push_back("MRTR_MAX_ROUNDS=" + max_rounds);
    for (const std::string& a :
         {std::string("node"), kNodeDir + "/sdk2_mrtr_client.mjs", scenario, calls,
          std::string("--"), kInterlock, std::string("mcp"), std::string("--policy"), policy_,
          std::string("--store"), store_, std::string("--")}) {
      argv.push_back(a);
    }
    argv.push_back("node");
    if (modern_server) {
      argv.push_back(kNodeDir + "/modern_server.mjs");
      argv.push_back("stdio");
      argv.push_back(server_log_);
    } else {
      argv.push_back(kEverything);
      argv.push_back("stdio");
    }
    ProcessResult r = RunProcess(argv, "", std::chrono::seconds(90));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::optional<json::value> v = testing::TryParseLastLine(r.out);
    EXPECT_TRUE(v.has_value()) << r.out << r.err;
    return v ? *v
             : json::value(json::object{{"results", json::array{}},
                                        {"elicitations", json::array{}},
                                        {"rounds", json::array{}}});
  }
  std::string Audit() {
    ProcessResult r =
        RunProcess({kInterlock, "audit", "export", "--store", store_, "--since", "2000-01-01"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    ProcessResult v = RunProcess({kInterlock, "audit", "verify", "--store", store_});
    EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
    return r.out;
  }
  std::string ServerLog() { return RunProcess({"/bin/cat", server_log_}).out; }
  static std::string Text(const json::value& result) {
    return std::string(result.at("content").at(0).at("text").as_string());
  }

  TempDir tmp_;
  std::string policy_, store_, server_log_;
};

// Tests that the SDK 2.x client's own MRTR driver takes Interlock's input_required to its form
// elicitation handler (the question, redacted arguments, no secret), and that on accept it
// retries by itself: one round, the call runs and its result reaches the client, the local
// user's vote and comment are audited, and the call was decided once.
TEST_F(Sdk2MrtrTest, AcceptInTheHandlerAndTheSdksOwnRetryRunsTheCall) {
  const json::value out = Sdk("accept", kEcho);
  EXPECT_EQ(out.at("protocolVersion"), "2026-07-28") << out;
  ASSERT_EQ(out.at("results").as_array().size(), 1u) << out;
  const json::value& r = out.at("results").at(0);
  EXPECT_FALSE(r.as_object().contains("thrown")) << r;
  EXPECT_FALSE(r.as_object().contains("isError")) << r;
  EXPECT_EQ(Text(r), "Echo: hello s3cret");
  ASSERT_EQ(out.at("elicitations").as_array().size(), 1u) << out;
  const json::value& e = out.at("elicitations").at(0);
  EXPECT_EQ(e.at("mode"), "form");
  const std::string q(e.at("message").as_string());
  EXPECT_NE(q.find("Tool: echo"), std::string::npos) << q;
  EXPECT_EQ(q.find("s3cret"), std::string::npos) << q;
  EXPECT_EQ(e.at("requestedSchema").at("required"), (json::array{"approve"}));
  EXPECT_EQ(out.at("rounds").as_array().size(), 1u) << out;
  const std::string audit = Audit();
  EXPECT_NE(audit.find("\"local:"), std::string::npos) << audit;
  EXPECT_NE(audit.find("sdk2 ok"), std::string::npos) << audit;
  EXPECT_EQ(Count(audit, "\"APPROVAL_REQUIRED\""), 1u) << "the retry was decided again: " << audit;
}

// Tests that "no" in the form and decline reach the SDK client as readable denials (isError
// results with Interlock's structuredContent, no INVALID_RESULT throw) naming the local user,
// after one round each, and that the call never ran.
TEST_F(Sdk2MrtrTest, RejectAndDeclineAreDenialsTheSdkReads) {
  for (const char* scenario : {"reject", "decline"}) {
    const json::value out = Sdk(scenario, kEcho);
    ASSERT_EQ(out.at("results").as_array().size(), 1u) << out;
    const json::value& r = out.at("results").at(0);
    EXPECT_FALSE(r.as_object().contains("thrown")) << scenario << r;
    EXPECT_EQ(r.at("isError"), true) << scenario << r;
    EXPECT_EQ(r.at("structuredContent").at("code"), "APPROVAL_DENIED") << scenario << r;
    EXPECT_NE(Text(r).find("denied by local:"), std::string::npos) << scenario << Text(r);
    EXPECT_EQ(out.at("elicitations").as_array().size(), 1u) << scenario << out;
    EXPECT_EQ(out.at("rounds").as_array().size(), 1u) << scenario << out;
  }
  const std::string audit = Audit();
  EXPECT_NE(audit.find("not this one"), std::string::npos) << audit;
  EXPECT_NE(audit.find("declined at the MCP client"), std::string::npos) << audit;
  EXPECT_EQ(audit.find("Echo: hello"), std::string::npos) << "a denied call ran";
}

// Tests that a tool needing two approvers is never put to the SDK client's handler, which
// would accept anything: no input_required, no elicitation, a readable APPROVAL_REQUIRED
// denial saying two reviewers are needed, and the call never ran.
TEST_F(Sdk2MrtrTest, ClientsOwnAnswerNeverSatisfiesATwoApproverPolicy) {
  const json::value out = Sdk("accept", R"([{"name":"get-sum","arguments":{"a":1,"b":2}}])");
  EXPECT_TRUE(out.at("elicitations").as_array().empty()) << out;
  EXPECT_TRUE(out.at("rounds").as_array().empty()) << out;
  ASSERT_EQ(out.at("results").as_array().size(), 1u) << out;
  const json::value& r = out.at("results").at(0);
  EXPECT_EQ(r.at("isError"), true) << r;
  EXPECT_EQ(r.at("structuredContent").at("code"), "APPROVAL_REQUIRED") << r;
  EXPECT_NE(Text(r).find("from 2 reviewers"), std::string::npos) << Text(r);
  const std::string audit = Audit();
  EXPECT_EQ(audit.find("\"local:"), std::string::npos) << "a local vote was taken: " << audit;
  EXPECT_EQ(audit.find("The sum of"), std::string::npos) << "the call ran: " << audit;
}

// Tests the bound of a server's own MRTR loop through the gateway against the SDK's: a 2026
// server that asks again after every decline is stopped by the gateway's 8 rounds before the
// SDK's default 10 (the SDK gets a readable isError result after 8 elicitations, the server
// saw 9 calls, the call is recorded failed once); with the SDK's maxRounds at 5 the SDK gives
// up first (INPUT_REQUIRED_ROUNDS_EXCEEDED) and the gateway records the call it left open as
// failed when the client goes.
TEST_F(Sdk2MrtrTest, GatewaysEightRoundsAndTheSdksMaxRoundsBoundAServerThatKeepsAsking) {
  const char kConfirm[] = R"([{"name":"confirm","arguments":{"what":"loop"}}])";
  const json::value gw = Sdk("decline", kConfirm, /*modern_server=*/true);
  ASSERT_EQ(gw.at("results").as_array().size(), 1u) << gw;
  const json::value& r = gw.at("results").at(0);
  EXPECT_FALSE(r.as_object().contains("thrown")) << r;
  EXPECT_EQ(r.at("isError"), true) << r;
  EXPECT_NE(Text(r).find("asked for input more than 8 times"), std::string::npos) << Text(r);
  EXPECT_EQ(gw.at("elicitations").as_array().size(), 8u) << gw;
  EXPECT_EQ(gw.at("rounds").as_array().size(), 8u) << gw;
  EXPECT_EQ(Count(ServerLog(), "confirm\t"), 9u) << ServerLog();
  std::string audit = Audit();
  EXPECT_EQ(Count(audit, "\"type\":\"decision\""), 1u) << audit;
  EXPECT_EQ(Count(audit, "asked for input more than 8 times"), 1u) << audit;

  RunProcess({"/bin/rm", "-f", server_log_});
  const json::value sdk = Sdk("decline", kConfirm, /*modern_server=*/true, "5");
  ASSERT_EQ(sdk.at("results").as_array().size(), 1u) << sdk;
  const json::value& t = sdk.at("results").at(0);
  EXPECT_EQ(t.at("code"), "INPUT_REQUIRED_ROUNDS_EXCEEDED") << t;
  EXPECT_EQ(t.at("data").at("rounds"), 5) << t;
  EXPECT_EQ(sdk.at("elicitations").as_array().size(), 5u) << sdk;
  EXPECT_EQ(Count(ServerLog(), "confirm\t"), 6u) << ServerLog();
  audit = Audit();
  EXPECT_EQ(Count(audit, "before the client answered the server's input_required"), 1u) << audit;
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock
