// Through the stdio MCP gateway (`interlock mcp`, standalone, its own SQLite store), a
// server that echoes a redacted argument: server-everything's `echo` under a policy with
// `redact: [message]`. The client gets the echo as the server sent it; the store, the
// replay and the audit export hold the message only masked.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "common/crypto.h"
#include "node_suite.h"
#include "subprocess.h"
#include "temp_dir.h"
#include "test_paths.h"

namespace interlock::testing {
namespace INTERLOCK_TEST_NS {

namespace json = boost::json;
using namespace std::chrono_literals;

using testing::kEverything;
using testing::kInterlock;
const std::string kClient =
    std::string(INTERLOCK_SOURCE_DIR) + "/tests/integration/telemetry/mcp_otel_client.mjs";

constexpr char kSecret[] = "sk-ECHO-4242-\xC3\xA9t\xC3\xA9";  // "sk-ECHO-4242-été"

constexpr char kPolicy[] = R"(agent:
  id: "echo-mcp"
tools:
  allowed:
    - name: "echo"
      redact: ["message"]
)";

// Every regular file of the store's directory, as bytes.
std::string Bytes(const std::string& dir) {
  std::string all;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    all.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return all;
}

// One echo of `message` through `interlock mcp` (its store in DIR/state), by the SDK
// client: what the client got, and the run the gateway recorded it in.
struct Echoed {
  ProcessResult client;
  std::string store, run_id;
};
Echoed EchoThroughTheGateway(const TempDir& dir, const std::string& message) {
  Echoed e;
  const std::string policy = dir.Write("policy.yaml", kPolicy);
  std::filesystem::create_directories(dir.path() + "/state");
  e.store = dir.path() + "/state/interlock.db";
  const std::string call = json::serialize(json::object{
      {"jsonrpc", "2.0"},
      {"id", 2},
      {"method", "tools/call"},
      {"params",
       json::object{{"name", "echo"}, {"arguments", json::object{{"message", message}}}}}});
  const std::string msgs = dir.Write("msgs.jsonl", call + "\n");
  e.client = RunProcess({"/usr/bin/env", "node", kClient, msgs, "--", kInterlock, "mcp", "--policy",
                         policy, "--store", e.store, "--", "node", kEverything, "stdio"},
                        "", 90s);
  const std::string& err = e.client.err;
  if (size_t at = err.find(", run "); at != std::string::npos) {
    e.run_id = err.substr(at + 6, err.find_first_of(", \n", at + 6) - at - 6);
  }
  return e;
}

class RedactedEchoMcpTest : public NodeSuite {};

// Tests that server-everything's echo of a redacted `message` reaches the client as sent
// and is masked in the recorded result: the replay, the audit export and the SQLite files
// hold "Echo: [REDACTED]" and never the message.
TEST_F(RedactedEchoMcpTest, EchoToolEchoingRedactedMessageIsStoredMasked) {
  TempDir dir;
  const auto [r, store, run_id] = EchoThroughTheGateway(dir, kSecret);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The agent gets what the server answered.
  EXPECT_NE(r.out.find(std::string("Echo: ") + kSecret), std::string::npos) << r.out;
  ASSERT_FALSE(run_id.empty()) << r.err;
  ProcessResult replay =
      RunProcess({kInterlock, "replay", run_id, "--store", store, "--format", "json"}, "", 60s);
  ASSERT_EQ(replay.exit_code, 0) << replay.err;
  EXPECT_EQ(replay.out.find("sk-ECHO"), std::string::npos) << replay.out;
  EXPECT_NE(replay.out.find("Echo: [REDACTED]"), std::string::npos) << replay.out;
  ProcessResult exported = RunProcess(
      {kInterlock, "audit", "export", "--since", "2000-01-01", "--store", store}, "", 60s);
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  EXPECT_EQ(exported.out.find("sk-ECHO"), std::string::npos) << exported.out;
  EXPECT_NE(exported.out.find("Echo: [REDACTED]"), std::string::npos) << exported.out;
  const std::string bytes = Bytes(dir.path() + "/state");
  EXPECT_EQ(bytes.find("sk-ECHO"), std::string::npos);
  EXPECT_NE(bytes.find("Echo: [REDACTED]"), std::string::npos);
}

// Tests the attack on a long output's digest: a reader of the audit log who knows the rest
// of the output hashes it with each guess of the redacted value. The echo of a 70 KB
// redacted message is over the 64 KiB the store keeps: the gateway hands the whole output
// to the core, which masks it before it cuts it, so the recorded marker's prefix and
// digest are of "Echo: [REDACTED]"-masked text and no part of the message is stored.
TEST_F(RedactedEchoMcpTest, LongEchoIsCutOnlyAfterItIsMasked) {
  TempDir dir;
  const std::string message = "sk-LONG-" + std::string(70000, 'z');
  const auto [r, store, run_id] = EchoThroughTheGateway(dir, message);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Echo: sk-LONG-zzz"), std::string::npos) << r.out.substr(0, 300);
  ASSERT_FALSE(run_id.empty()) << r.err;
  ProcessResult replay =
      RunProcess({kInterlock, "replay", run_id, "--store", store, "--format", "json"}, "", 60s);
  ASSERT_EQ(replay.exit_code, 0) << replay.err;
  EXPECT_EQ(replay.out.find("sk-LONG"), std::string::npos) << replay.out.substr(0, 2000);
  EXPECT_EQ(replay.out.find("zzzz"), std::string::npos) << replay.out.substr(0, 2000);
  EXPECT_NE(replay.out.find("\"truncated\":true"), std::string::npos) << replay.out.substr(0, 2000);
  EXPECT_NE(replay.out.find("Echo: [REDACTED]"), std::string::npos) << replay.out.substr(0, 2000);
  // The digest is of the masked text, never of what the server sent.
  const size_t at = replay.out.find("\"sha256\":\"");
  ASSERT_NE(at, std::string::npos) << replay.out.substr(0, 2000);
  const std::string digest = replay.out.substr(at + 10, 64);
  auto output_with = [](const std::string& text) {
    return R"({"content":[{"text":"Echo: )" + text + R"(","type":"text"}]})";
  };
  EXPECT_EQ(digest, Sha256Hex(output_with("[REDACTED]")));
  EXPECT_NE(digest, Sha256Hex(output_with(message)));
  const std::string bytes = Bytes(dir.path() + "/state");
  EXPECT_EQ(bytes.find("sk-LONG"), std::string::npos);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::testing
