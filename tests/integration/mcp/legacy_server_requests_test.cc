// A 2025 server's own questions (elicitation/create in form and url mode,
// sampling/createMessage, roots/list) reaching the MCP TypeScript SDK 2.x client (2.4.0,
// node/sdk2_asked_client.mjs) through `interlock mcp` when the client speaks 2026-07-28 (pinned,
// or automatic: the gateway serves 2026-07-28), as input_required rounds the SDK's own driver
// answers (docs/mcp.md#revisions). The server is the official SDK 1.x's (node/
// legacy_asking_server.mjs), which speaks 2025 only. Pipes only, temporary directories, every
// child bounded by RunProcess.
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

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

using testing::kInterlock;
using testing::kNodeDir;

const char kAllCalls[] =
    R"([{"name":"wipe","arguments":{"path":"/srv/data"}},{"name":"sign_in","arguments":{}},)"
    R"({"name":"summarize","arguments":{"text":"a long text"}},{"name":"where","arguments":{}}])";

class LegacyServerRequestsTest : public testing::NodeSuite {
 protected:
  void SetUp() override {
    ASSERT_EQ(setup_error_, "");
    policy_ = tmp_.Write("policy.yaml",
                         "agent:\n  id: \"lq\"\n  identity: \"lq@test\"\n  autonomy: audit_based\n"
                         "tools:\n  allowed:\n    - name: \"wipe\"\n    - name: \"sign_in\"\n"
                         "    - name: \"summarize\"\n    - name: \"where\"\n");
    store_ = tmp_.path() + "/s.db";
  }
  // The SDK 2.x client (`mode`, its elicitation handler answering `answer`, declaring `caps`
  // when given) through `interlock mcp` in front of the 2025 server; its JSON output.
  json::value Sdk(const std::string& mode, const std::string& answer, const std::string& calls,
                  const std::string& caps = "") {
    std::vector<std::string> argv = {"/usr/bin/env"};
    if (!caps.empty()) argv.push_back("CAPS=" + caps);
    for (const std::string& a :
         {std::string("node"), kNodeDir + "/sdk2_asked_client.mjs", mode, answer,
          tmp_.Write("calls.json", calls), std::string("--"), kInterlock, std::string("mcp"),
          std::string("--policy"), policy_, std::string("--store"), store_, std::string("--"),
          std::string("node"), kNodeDir + "/legacy_asking_server.mjs"}) {
      argv.push_back(a);
    }
    ProcessResult r = RunProcess(argv, "", std::chrono::seconds(90));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::string out = r.out;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    boost::system::error_code ec;
    json::value v =
        json::parse(out.substr(out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1), ec);
    EXPECT_FALSE(ec) << r.out << r.err;
    return ec ? json::value(json::object{{"results", json::array{}}, {"asked", json::array{}}}) : v;
  }
  // The audit records of type `type`, in order.
  std::vector<json::object> Records(const std::string& type) {
    ProcessResult r =
        RunProcess({kInterlock, "audit", "export", "--store", store_, "--since", "2000-01-01"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<json::object> out;
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      json::object o = json::parse(line).as_object();
      if (o.at("type") == type.c_str()) out.push_back(std::move(o));
    }
    return out;
  }
  static std::string Text(const json::value& result) {
    return std::string(result.at("content").at(0).at("text").as_string());
  }
  TempDir tmp_;
  std::string policy_, store_;
};

// Tests the finding of issue 55 ("found by running today's clients"): the SDK 2.4.0 client,
// pinned to 2026-07-28 or automatic, through `interlock mcp` to a server that speaks only 2025
// sees the server's own elicitation/create (form: confirm a destructive action; url mode),
// sampling/createMessage and roots/list, and every call finishes with what its handlers
// answered; each call decided once and its result recorded once.
TEST_F(LegacyServerRequestsTest, ModernClientSeesLegacyServersElicitation) {
  for (const char* mode : {"pin", "auto"}) {
    SCOPED_TRACE(mode);
    const json::value out = Sdk(mode, "accept", kAllCalls);
    EXPECT_EQ(out.at("protocolVersion"), "2026-07-28") << out;
    const json::array& results = out.at("results").as_array();
    ASSERT_EQ(results.size(), 4u) << out;
    for (const json::value& r : results) {
      EXPECT_FALSE(r.as_object().contains("thrown")) << r;
      EXPECT_NE(r.at("isError"), true) << r;
    }
    EXPECT_EQ(Text(results[0]), "wiped /srv/data");
    EXPECT_EQ(Text(results[1]), "signed in (accept)");
    EXPECT_EQ(Text(results[2]), "summary: short");
    EXPECT_EQ(Text(results[3]), "roots: file:///work/project");
    const json::array& asked = out.at("asked").as_array();
    ASSERT_EQ(asked.size(), 4u) << out;
    EXPECT_EQ(asked[0].at("params").at("message"), "Delete /srv/data for good?");
    EXPECT_EQ(asked[1].at("params").at("url"), "https://bank.example/login");
  }
  EXPECT_EQ(Records("decision").size(), 8u);
  const std::vector<json::object> results = Records("result");
  ASSERT_EQ(results.size(), 8u);
  for (const json::object& r : results) EXPECT_EQ(r.at("data").at("ok"), true) << r;
}

// Tests that the SDK 2.x client's decline and cancel reach the 2025 server as its
// ElicitResult: the destructive action is not taken.
TEST_F(LegacyServerRequestsTest, ModernClientsDeclineReachesTheLegacyServer) {
  for (const char* answer : {"decline", "cancel"}) {
    const json::value out =
        Sdk("pin", answer, R"([{"name":"wipe","arguments":{"path":"/srv/data"}}])");
    ASSERT_EQ(out.at("results").as_array().size(), 1u) << out;
    EXPECT_EQ(Text(out.at("results").at(0)), std::string("kept /srv/data (") + answer + ")");
  }
}

// Tests that a 2026-07-28 client declaring none of the capabilities is never asked: the 2025
// server is told so at initialize and refuses by itself with its own clear error, which
// reaches the client as the tool's result.
TEST_F(LegacyServerRequestsTest, ModernClientWithoutTheCapabilityIsNeverAsked) {
  const json::value out = Sdk("pin", "accept", kAllCalls, "{}");
  const json::array& results = out.at("results").as_array();
  ASSERT_EQ(results.size(), 4u) << out;
  for (const json::value& r : results) {
    EXPECT_EQ(r.at("isError"), true) << r;
    EXPECT_NE(Text(r).find("the client could not answer"), std::string::npos) << r;
  }
  EXPECT_TRUE(out.at("asked").as_array().empty()) << out;
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock
