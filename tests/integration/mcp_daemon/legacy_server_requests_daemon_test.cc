// A 2025 server's own questions at the daemon's Streamable HTTP door `/mcp/{upstream}`
// (`interlock serve`; docs/mcp.md#revisions): the MCP TypeScript SDK 2.x client (2.4.0,
// tests/integration/mcp/node/sdk2_asked_client.mjs) pinned to 2026-07-28 gets the server's
// elicitation/create (form, url), sampling/createMessage and roots/list as input_required
// rounds, and its answers reach the server (node/legacy_asking_server.mjs, SDK 1.x, 2025
// only). The daemon runs on 127.0.0.1 port 0 with a temp store.
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
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
using testing::ProcessResult;
using testing::RunProcess;
using testing::TempDir;

using testing::kNodeDir;

class LegacyServerRequestsDaemonTest : public testing::NodeSuite {
 protected:
  void SetUp() override {
    ASSERT_EQ(setup_error_, "");
    const std::string policies = dir_.path() + "/policies";
    fs::create_directories(policies);
    std::ofstream(policies + "/lq.yaml")
        << "agent:\n  id: \"lq\"\n  identity: \"lq@example.iam\"\n  autonomy: audit_based\n"
           "tools:\n  allowed:\n    - name: \"wipe\"\n    - name: \"sign_in\"\n"
           "    - name: \"summarize\"\n    - name: \"where\"\n";
    const std::string config =
        dir_.Write("interlock.yaml",
                   "durability: normal\nmcp:\n  upstreams:\n    legacy:\n      command: "
                   "[\"node\", \"" +
                       kNodeDir + "/legacy_asking_server.mjs\"]\n  child_grace_ms: 200\n");
    daemon_ = std::make_unique<Daemon>(dir_.path(), policies, config);
    agent_ = CreateToken(daemon_->store(), "--agent", "lq");
    ASSERT_TRUE(daemon_->Start()) << daemon_->log();
  }
  void TearDown() override {
    if (daemon_ && daemon_->Running()) {
      EXPECT_EQ(daemon_->Stop(), 0) << daemon_->log();
    }
  }
  json::value Sdk(const std::string& answer, const std::string& calls_json) {
    const std::string calls = dir_.Write("calls-" + answer + ".json", calls_json);
    ProcessResult r =
        RunProcess({"/usr/bin/env", "INTERLOCK_TOKEN=" + agent_, "node",
                    kNodeDir + "/sdk2_asked_client.mjs", "pin", answer, calls, "--url",
                    "http://127.0.0.1:" + std::to_string(daemon_->port()) + "/mcp/legacy"},
                   "", 120s);
    EXPECT_EQ(r.exit_code, 0) << r.err << daemon_->log();
    std::optional<json::value> v = testing::TryParseLastLine(r.out);
    EXPECT_TRUE(v.has_value()) << r.out << r.err;
    return v ? *v : json::value(json::object{{"results", json::array{}}});
  }
  static std::string Text(const json::value& result) {
    return std::string(result.at("content").at(0).at("text").as_string());
  }
  TempDir dir_;
  std::unique_ptr<Daemon> daemon_;
  std::string agent_;
};

// Tests the finding of issue 55 at the daemon's door: the SDK 2.x client (2026-07-28) over
// /mcp/legacy sees the 2025 server's elicitation/create (form and url), sampling/createMessage
// and roots/list, and every call completes with what its handlers answered.
TEST_F(LegacyServerRequestsDaemonTest, ModernClientSeesLegacyServersElicitation) {
  const json::value out = Sdk(
      "accept",
      R"([{"name":"wipe","arguments":{"path":"/srv/data"}},{"name":"sign_in","arguments":{}},)"
      R"({"name":"summarize","arguments":{"text":"a long text"}},{"name":"where","arguments":{}}])");
  EXPECT_EQ(out.at("protocolVersion"), "2026-07-28") << out;
  const json::array& results = out.at("results").as_array();
  ASSERT_EQ(results.size(), 4u) << out;
  EXPECT_EQ(Text(results[0]), "wiped /srv/data") << out;
  EXPECT_EQ(Text(results[1]), "signed in (accept)") << out;
  EXPECT_EQ(Text(results[2]), "summary: short") << out;
  EXPECT_EQ(Text(results[3]), "roots: file:///work/project") << out;
}

// Tests that the SDK 2.x client's decline reaches the 2025 server behind the daemon: the
// destructive action is not taken.
TEST_F(LegacyServerRequestsDaemonTest, ModernClientsDeclineReachesTheLegacyServer) {
  const json::value out = Sdk("decline", R"([{"name":"wipe","arguments":{"path":"/srv/data"}}])");
  ASSERT_EQ(out.at("results").as_array().size(), 1u) << out;
  EXPECT_EQ(Text(out.at("results").at(0)), "kept /srv/data (decline)");
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock
