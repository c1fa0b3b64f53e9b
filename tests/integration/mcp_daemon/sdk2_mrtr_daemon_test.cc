// Approvals over MRTR at the daemon's Streamable HTTP door `/mcp/{upstream}` (`interlock
// serve`; docs/mcp.md#approvals-over-mrtr) driven by the real MCP TypeScript SDK 2.x client
// (@modelcontextprotocol/client 2.4.0, tests/integration/mcp/node/sdk2_mrtr_client.mjs)
// pinned to 2026-07-28: a held call is answered input_required with a URL-mode elicitation of
// the approval's reviewer page; in the SDK's elicitation handler a reviewer votes through the
// daemon's HTTP API (or does not), and the SDK's own retry gets the verdict. The daemon runs on
// 127.0.0.1 port 0 with a temp store; server-everything is its upstream.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "daemon_harness.h"
#include "json_lines.h"
#include "node_suite.h"
#include "subprocess.h"
#include "temp_dir.h"
#include "test_paths.h"

namespace interlock {
namespace INTERLOCK_TEST_NS {

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::CreateToken;
using testing::Daemon;
using testing::HttpClient;
using testing::HttpResult;
using testing::ProcessResult;
using testing::RunProcess;
using testing::TempDir;

using testing::kEverything;
using testing::kNodeDir;

// echo needs one reviewer, get-sum two.
const char kPolicy[] =
    "agent:\n  id: \"ev\"\n  identity: \"ev@example.iam\"\n  autonomy: audit_based\n"
    "tools:\n  allowed:\n"
    "    - name: \"echo\"\n      requires_approval: true\n      approval_timeout_seconds: 300\n"
    "    - name: \"get-sum\"\n      requires_approval: true\n      approvals_required: 2\n"
    "      approval_timeout_seconds: 300\n";

class Sdk2MrtrDaemonTest : public testing::NodeSuite {
 protected:
  void SetUp() override {
    ASSERT_EQ(setup_error_, "");
    const std::string policies = dir_.path() + "/policies";
    fs::create_directories(policies);
    std::ofstream(policies + "/ev.yaml") << kPolicy;
    const std::string config =
        dir_.Write("interlock.yaml",
                   "durability: normal\napprovals:\n  sweep_ms: 100\nmcp:\n  upstreams:\n"
                   "    everything:\n      command: [\"node\", \"" +
                       kEverything +
                       "\", \"stdio\"]\n  child_grace_ms: 200\n"
                       "  approval_retry_wait_seconds: 2\n");
    daemon_ = std::make_unique<Daemon>(dir_.path(), policies, config);
    agent_ = CreateToken(daemon_->store(), "--agent", "ev");
    reviewer_ = CreateToken(daemon_->store(), "--reviewer", "alice");
    ASSERT_FALSE(reviewer_.empty());
    ASSERT_TRUE(daemon_->Start()) << daemon_->log();
  }
  void TearDown() override {
    if (daemon_ && daemon_->Running()) {
      EXPECT_EQ(daemon_->Stop(), 0) << daemon_->log();
    }
  }

  std::string Origin() const { return "http://127.0.0.1:" + std::to_string(daemon_->port()); }

  // The SDK 2.x client in `scenario` (sdk2_mrtr_client.mjs) over /mcp/everything as agent ev,
  // voting as alice; `max_rounds` sets the SDK's inputRequired.maxRounds. Its JSON output.
  json::value Sdk(const std::string& scenario, const std::string& calls_json,
                  const std::string& max_rounds = "") {
    const std::string calls = dir_.Write("calls-" + scenario + ".json", calls_json);
    std::vector<std::string> argv = {"/usr/bin/env", "INTERLOCK_TOKEN=" + agent_,
                                     "INTERLOCK_REVIEWER_TOKEN=" + reviewer_};
    if (!max_rounds.empty()) argv.push_back("MRTR_MAX_ROUNDS=" + max_rounds);
    for (const std::string& a : {std::string("node"), kNodeDir + "/sdk2_mrtr_client.mjs", scenario,
                                 calls, std::string("--url"), Origin() + "/mcp/everything"}) {
      argv.push_back(a);
    }
    ProcessResult r = RunProcess(argv, "", 150s);
    EXPECT_EQ(r.exit_code, 0) << r.err << daemon_->log();
    std::optional<json::value> v = testing::TryParseLastLine(r.out);
    EXPECT_TRUE(v.has_value()) << r.out << r.err;
    return v ? *v
             : json::value(json::object{{"results", json::array{json::object{}}},
                                        {"elicitations", json::array{}},
                                        {"votes", json::array{}},
                                        {"rounds", json::array{}}});
  }
  // The approval a URL-mode elicitation links to, as the reviewer sees it.
  json::value ApprovalOf(const json::value& elicitation) {
    const std::string url(elicitation.at("url").as_string());
    const size_t at = url.find("#/approvals/");
    if (at == std::string::npos) return nullptr;
    HttpClient c(daemon_->port());
    HttpResult r = c.Request("GET", "/v1/approvals/" + url.substr(at + 12), "", reviewer_);
    return r.status == 200 ? r.json : json::value();
  }
  static std::string Text(const json::value& result) {
    return std::string(result.at("content").at(0).at("text").as_string());
  }

  TempDir dir_;
  std::unique_ptr<Daemon> daemon_;
  std::string agent_, reviewer_;
};

const char kEcho[] = R"([{"name":"echo","arguments":{"message":"hello"}}])";

// Tests that the SDK 2.x client over HTTP gets a URL-mode elicitation linking the approval's
// reviewer page on this daemon, that a reviewer's approval given inside the handler is the
// verdict the SDK's own retry gets (one round), and that the call ran once.
TEST_F(Sdk2MrtrDaemonTest, ReviewerApprovesFromTheUrlHandlerAndTheSdksRetryRunsTheCall) {
  const json::value out = Sdk("review-approve", kEcho);
  EXPECT_EQ(out.at("protocolVersion"), "2026-07-28") << out;
  ASSERT_EQ(out.at("elicitations").as_array().size(), 1u) << out;
  const json::value& e = out.at("elicitations").at(0);
  EXPECT_EQ(e.at("mode"), "url") << e;
  EXPECT_EQ(std::string(e.at("url").as_string()).rfind(Origin() + "/ui/#/approvals/apr_", 0), 0u)
      << e;
  ASSERT_EQ(out.at("votes").as_array().size(), 1u) << out;
  EXPECT_EQ(out.at("votes").at(0).at("status"), 200) << out;
  const json::value& r = out.at("results").at(0);
  EXPECT_FALSE(r.as_object().contains("thrown")) << r;
  EXPECT_FALSE(r.as_object().contains("isError")) << r;
  EXPECT_EQ(Text(r), "Echo: hello") << r;
  EXPECT_EQ(out.at("rounds").as_array().size(), 1u) << out;
  const json::value a = ApprovalOf(e);
  ASSERT_TRUE(a.is_object()) << daemon_->log();
  EXPECT_EQ(a.at("state"), "granted") << a;
  EXPECT_EQ(a.at("approvals"), 1) << a;
}

// Tests that a reviewer's deny given inside the handler reaches the SDK client as a readable
// denial (an isError result, no throw) carrying the reviewer's comment.
TEST_F(Sdk2MrtrDaemonTest, ReviewerDeniesFromTheUrlHandlerAndTheSdkReadsTheDenial) {
  const json::value out = Sdk("review-deny", kEcho);
  const json::value& r = out.at("results").at(0);
  EXPECT_FALSE(r.as_object().contains("thrown")) << r;
  EXPECT_EQ(r.at("isError"), true) << r;
  EXPECT_EQ(r.at("structuredContent").at("code"), "APPROVAL_DENIED") << r;
  EXPECT_NE(Text(r).find("denied by alice: wrong recipient"), std::string::npos) << Text(r);
  EXPECT_EQ(out.at("rounds").as_array().size(), 1u) << out;
}

// Tests what a handler that returns before any reviewer decided gets: the retry waits
// (mcp.approval_retry_wait_seconds: 2 here, 20 by default) and is answered input_required
// again with the same URL-mode elicitation (a fresh state), the SDK puts it to the handler a
// second time by itself; a reviewer's approval then is the verdict of the second retry, and
// the call runs.
TEST_F(Sdk2MrtrDaemonTest, HandlerReturningBeforeTheVerdictIsAskedAgainByTheSdk) {
  const auto started = std::chrono::steady_clock::now();
  const json::value out = Sdk("review-late", kEcho);
  // The configured wait, not the default 20 s (a bound that shows the setting applies).
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(15));
  ASSERT_EQ(out.at("elicitations").as_array().size(), 2u) << out;
  EXPECT_EQ(out.at("elicitations").at(0).at("url"), out.at("elicitations").at(1).at("url"));
  EXPECT_EQ(out.at("rounds").as_array().size(), 2u) << out;
  ASSERT_EQ(out.at("votes").as_array().size(), 1u) << out;
  EXPECT_EQ(out.at("votes").at(0).at("status"), 200) << out;
  const json::value& r = out.at("results").at(0);
  EXPECT_FALSE(r.as_object().contains("isError")) << r;
  EXPECT_EQ(Text(r), "Echo: hello") << r;
}

// Tests that the agent's own client can never make up a two-reviewer quorum: the SDK's
// handler accepts and one reviewer approves, yet the retry is answered input_required again
// (the client's answer is no vote); with the SDK's maxRounds at 1 the SDK gives up
// (INPUT_REQUIRED_ROUNDS_EXCEEDED, the last requestState handed back) while the approval
// stays pending with one approval of two, and nothing ran.
TEST_F(Sdk2MrtrDaemonTest, ClientAndOneReviewerNeverMakeATwoReviewerQuorum) {
  const json::value out =
      Sdk("review-approve", R"([{"name":"get-sum","arguments":{"a":1,"b":2}}])", "1");
  ASSERT_EQ(out.at("elicitations").as_array().size(), 1u) << out;
  EXPECT_EQ(out.at("elicitations").at(0).at("mode"), "url");
  const json::value& r = out.at("results").at(0);
  EXPECT_EQ(r.at("code"), "INPUT_REQUIRED_ROUNDS_EXCEEDED") << r;
  EXPECT_EQ(
      std::string(r.at("data").at("lastResult").at("requestState").as_string()).rfind("ilrs1.", 0),
      0u)
      << r;
  const json::value a = ApprovalOf(out.at("elicitations").at(0));
  ASSERT_TRUE(a.is_object()) << daemon_->log();
  EXPECT_EQ(a.at("state"), "pending") << a;
  EXPECT_EQ(a.at("approvals"), 1) << a;
  EXPECT_EQ(a.at("required"), 2) << a;
}

// Tests that two SDK 2.x clients of one agent and token, whose stateless requests share one
// session at the HTTP door, are not refused for using the same JSON-RPC ids: each SDK counts
// its ids from the same start, so the second one's retry carries the id of the first one's
// retry, which is still waiting for the verdict. (The door used to key a stateless session's
// requests in flight by the client's id and answered the second retry 400 "a request with
// this id is still in progress", which the SDK threw; each 2026-07-28 request now gets an id
// of the door's, src/doors/mcp_http/mcp_http.cc, Exchange::client_id.)
TEST_F(Sdk2MrtrDaemonTest, TwoClientsOfOneTokenMayUseTheSameIdsAtOnce) {
  auto first = std::async(std::launch::async, [&] {
    return Sdk("review-late", R"([{"name":"echo","arguments":{"message":"first"}}])");
  });
  std::this_thread::sleep_for(3s);  // pace: the first one's retry is waiting for the verdict
  const json::value second =
      Sdk("review-approve", R"([{"name":"echo","arguments":{"message":"second"}}])");
  const json::value one = first.get();
  for (const auto& [out, text] : {std::pair{&one, "Echo: first"}, {&second, "Echo: second"}}) {
    const json::value& r = out->at("results").at(0);
    EXPECT_FALSE(r.as_object().contains("thrown")) << text << " " << *out;
    if (!r.as_object().contains("thrown")) {
      EXPECT_EQ(Text(r), text) << r;
    }
  }
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock
