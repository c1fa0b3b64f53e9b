// subscriptions/listen of MCP 2026-07-28 through `interlock mcp` (the stdio door): the
// official SDK 2.x client (@modelcontextprotocol/client 2.4.0, node/sdk2_listen_client.mjs)
// in front of a 2026-only server on the v2 server SDK (node/listen_server.mjs). Pipes only,
// temporary directories, every child bounded by RunProcess.
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

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
using testing::ParseLastLine;
using testing::ProcessResult;
using testing::RunProcess;
using testing::TempDir;

using testing::kInterlock;
using testing::kNodeDir;

class McpListenTest : public testing::NodeSuite {
 protected:
  TempDir tmp_;
};

// Tests that the SDK 2.x client's subscriptions/listen through `interlock mcp` is answered (not
// -32601), acknowledged with what it asked for that the server honors, carries the server's
// tool list change that a call caused, and ends when the client closes it; the calls are
// decided as before (the filtered list hides the blocked tool).
TEST_F(McpListenTest, Sdk2ClientsSubscriptionCarriesTheServersToolListChange) {
  const std::string policy =
      tmp_.Write("policy.yaml",
                 "agent:\n  id: \"md\"\n  identity: \"md@test\"\n  autonomy: audit_based\n"
                 "tools:\n  allowed:\n    - name: \"echo\"\n    - name: \"confirm\"\n"
                 "  blocked:\n    - \"delete_file\"\n");
  const std::string log = tmp_.path() + "/calls.log";
  ProcessResult r =
      RunProcess({"/usr/bin/env", "node", kNodeDir + "/sdk2_listen_client.mjs", "hi", "--",
                  kInterlock, "mcp", "--policy", policy, "--store", tmp_.path() + "/s.db", "--",
                  "node", kNodeDir + "/listen_server.mjs", "stdio", log},
                 "", std::chrono::seconds(90));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json::value v = ParseLastLine(r.out);
  // The server honors tool list changes only (it has no prompts).
  EXPECT_EQ(v.at("honored"), (json::object{{"toolsListChanged", true}})) << r.out;
  EXPECT_EQ(v.at("tools"), (json::array{"confirm", "echo"})) << r.out;
  EXPECT_EQ(v.at("results").at(0).at("content").at(0).at("text"), "echo: hi") << r.out;
  EXPECT_EQ(v.at("results").at(1).at("content").at(0).at("text"), "changed tools") << r.out;
  EXPECT_EQ(v.at("changes"), 1) << r.out;
  EXPECT_EQ(v.at("closed"), "local") << r.out;
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock
