// The environment of the server `interlock mcp` starts (issue 31, "A clean environment"):
// the real binary with a tiny node server that writes what it sees (its environment, and
// what it can read of /proc/<interlock>/environ) into a temp directory and exits. The MCP
// client side is an empty stdin: the session ends as soon as the server has started.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "subprocess.h"
#include "temp_dir.h"
#include "test_paths.h"

namespace interlock {
namespace INTERLOCK_TEST_NS {

namespace json = boost::json;
namespace fs = std::filesystem;
using testing::ProcessResult;
using testing::RunProcess;
using testing::TempDir;

using testing::kInterlock;

// argv[1]: the directory to write env.json and proc-environ.txt into.
constexpr char kDumpServer[] = R"JS(
const fs = require("fs");
const dir = process.argv[2];
let proc;
try { proc = fs.readFileSync(`/proc/${process.ppid}/environ`, "latin1").split("\0").join("\n"); }
catch (e) { proc = "unreadable: " + e.code; }
fs.writeFileSync(`${dir}/proc-environ.txt`, proc);
fs.writeFileSync(`${dir}/env.json`, JSON.stringify(process.env));
)JS";

// A minimal MCP server whose one tool, read {path}, answers with the file's content.
constexpr char kReadServer[] = R"JS(
const fs = require("fs");
const send = (m) => process.stdout.write(JSON.stringify(m) + "\n");
require("readline").createInterface({ input: process.stdin }).on("line", (line) => {
  const m = JSON.parse(line);
  if (m.method === "initialize") {
    send({ jsonrpc: "2.0", id: m.id, result: { protocolVersion: m.params.protocolVersion,
      capabilities: { tools: {} }, serverInfo: { name: "read", version: "1" } } });
  } else if (m.method === "tools/list") {
    send({ jsonrpc: "2.0", id: m.id, result: { tools: [{ name: "read", description: "read",
      inputSchema: { type: "object", properties: { path: { type: "string" } } } }] } });
  } else if (m.method === "tools/call") {
    send({ jsonrpc: "2.0", id: m.id, result: { content: [{ type: "text",
      text: "content: " + fs.readFileSync(m.params.arguments.path, "utf8") }] } });
  } else if (m.id !== undefined) {
    send({ jsonrpc: "2.0", id: m.id, result: {} });
  }
});
)JS";

constexpr char kPolicy[] =
    "agent:\n  id: \"env-agent\"\n  identity: \"env-agent@test\"\n"
    "tools:\n  allowed:\n    - name: \"echo\"\n    - name: \"read\"\n";

constexpr char kBearer[] = "il_bearer_secret_d81f3c";
constexpr char kCloudKey[] = "aws-secret-key-0b7e92";
constexpr char kAdminToken[] = "il_admin_secret_6a4d10";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class McpCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    // World-writable so that, run as root, the unprivileged variant can use it too.
    ::chmod(dir_.path().c_str(), 0777);
    server_ = dir_.Write("dump.cjs", kDumpServer);
    policy_ = dir_.Write("policy.yaml", kPolicy);
  }

  // `interlock mcp FLAGS -- node dump.cjs DIR` with `env` added to the environment; with
  // `as_nobody` and run as root, as uid/gid 65534 (setpriv).
  ProcessResult Run(const std::vector<std::string>& env, const std::vector<std::string>& flags,
                    bool as_nobody = false) {
    std::vector<std::string> argv;
    if (as_nobody && ::geteuid() == 0) {
      argv = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
    }
    argv.push_back("/usr/bin/env");
    argv.insert(argv.end(), env.begin(), env.end());
    argv.insert(argv.end(), {kInterlock, "mcp"});
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.insert(argv.end(), {"--", "node", server_, dir_.path()});
    return RunProcess(argv, "", std::chrono::seconds(60));
  }

  std::vector<std::string> DaemonFlags() const {
    return {"--daemon", "http://127.0.0.1:1",    "--token-env", "IL_BEARER",
            "--store",  dir_.path() + "/pins.db"};
  }

  json::object ServerEnv() const {
    const std::string text = ReadFile(dir_.path() + "/env.json");
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    return !ec && v.is_object() ? v.as_object() : json::object();
  }

  TempDir dir_;
  std::string server_, policy_;
};

// Tests that the server of `interlock mcp --daemon --token-env NAME` does not get the
// bearer token Interlock authenticates with, nor Interlock's other credentials.
TEST_F(McpCommand, ServerDoesNotInheritTheTokenEnvBearer) {
  ProcessResult r =
      Run({std::string("IL_BEARER=") + kBearer, std::string("INTERLOCK_TOKEN=") + kAdminToken,
           std::string("AWS_SECRET_ACCESS_KEY=") + kCloudKey},
          DaemonFlags());
  const std::string env = ReadFile(dir_.path() + "/env.json");
  ASSERT_FALSE(env.empty()) << "the server did not start: " << r.err;
  for (const char* secret : {kBearer, kAdminToken, kCloudKey}) {
    EXPECT_EQ(env.find(secret), std::string::npos) << env;
  }
  EXPECT_TRUE(ServerEnv().contains("PATH")) << env;
}

// Tests that, without any sandbox, the server gets only the base variables, the ones the
// operator passes (--pass-env, or --sandbox-env) and its own secrets (--secret-env).
TEST_F(McpCommand, ServerGetsOnlyTheBaseEnvironmentAndWhatTheOperatorNames) {
  ProcessResult r =
      Run({"IL_PASSED=passed", "IL_ALIAS=alias", "IL_SECRET=secret-value", "IL_NOT_NAMED=not-named",
           std::string("AWS_SECRET_ACCESS_KEY=") + kCloudKey},
          {"--policy", policy_, "--store", dir_.path() + "/s.db", "--pass-env", "IL_PASSED",
           "--sandbox-env", "IL_ALIAS", "--secret-env", "IL_SECRET"});
  json::object env = ServerEnv();
  ASSERT_FALSE(env.empty()) << "the server did not start: " << r.err;
  EXPECT_EQ(env["IL_PASSED"], "passed");
  EXPECT_EQ(env["IL_ALIAS"], "alias");
  EXPECT_EQ(env["IL_SECRET"], "secret-value");
  const std::set<std::string> allowed = {"HOME",      "LOGNAME",  "PATH",     "SHELL",    "TERM",
                                         "USER",      "LANG",     "LC_ALL",   "LC_CTYPE", "TZ",
                                         "IL_PASSED", "IL_ALIAS", "IL_SECRET"};
  for (const auto& kv : env) {
    EXPECT_EQ(allowed.count(std::string(kv.key())), 1u) << "the server got " << kv.key();
  }
  // The operator sees which names the server got (never a value).
  EXPECT_NE(r.err.find("IL_SECRET"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("secret-value"), std::string::npos) << r.err;
}

// Tests that asking to pass the bearer variable to the server, as --pass-env or as
// --secret-env, is refused before any server starts.
TEST_F(McpCommand, PassingTheBearerVariableToTheServerIsRefused) {
  std::vector<std::string> pass = DaemonFlags();
  pass.insert(pass.end(), {"--pass-env", "IL_BEARER"});
  ProcessResult r = Run({std::string("IL_BEARER=") + kBearer}, pass);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("IL_BEARER holds Interlock's own bearer token"), std::string::npos) << r.err;
  std::vector<std::string> secret = DaemonFlags();
  secret.insert(secret.end(), {"--secret-env", "IL_BEARER"});
  r = Run({std::string("IL_BEARER=") + kBearer}, secret);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.err.find(kBearer), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_.path() + "/env.json"));
}

// Tests that a server running as the same (unprivileged) user as Interlock cannot read
// Interlock's environment, and so the bearer token and the other upstreams' secrets, in
// /proc/<interlock pid>/environ. Run as root, Interlock and its server run as nobody.
TEST_F(McpCommand, SameUserServerCannotReadInterlocksEnvironThroughProc) {
  ProcessResult r =
      Run({std::string("IL_BEARER=") + kBearer, std::string("AWS_SECRET_ACCESS_KEY=") + kCloudKey},
          DaemonFlags(), /*as_nobody=*/true);
  const std::string proc = ReadFile(dir_.path() + "/proc-environ.txt");
  ASSERT_FALSE(proc.empty()) << "the server did not start: " << r.err;
  EXPECT_EQ(proc.find(kBearer), std::string::npos) << proc;
  EXPECT_EQ(proc.find(kCloudKey), std::string::npos) << proc;
  EXPECT_EQ(proc.rfind("unreadable: ", 0), 0u) << proc;
}

// Tests that Interlock's own bearer token (INTERLOCK_TOKEN), which the server never gets,
// is masked in what the server sends should it learn it anyway.
TEST_F(McpCommand, InterlocksBearerIsMaskedInWhatTheServerSends) {
  const std::string server = dir_.Write("read.cjs", kReadServer);
  const std::string learned = dir_.Write("learned.txt", kAdminToken);
  const std::string msgs = dir_.Write(
      "msgs.jsonl",
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"it","version":"1"}}})"
      "\n"
      R"({"jsonrpc":"2.0","method":"notifications/initialized"})"
      "\n"
      R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"read","arguments":{"path":")" +
          learned + R"("}}})" + "\n");
  ProcessResult r =
      RunProcess({"/usr/bin/env", std::string("INTERLOCK_TOKEN=") + kAdminToken, "node",
                  std::string(INTERLOCK_SOURCE_DIR) + "/tests/integration/mcp/node/raw_client.mjs",
                  msgs, "--", kInterlock, "mcp", "--policy", policy_, "--store",
                  dir_.path() + "/s.db", "--", "node", server},
                 "", std::chrono::seconds(60));
  EXPECT_EQ(r.out.find(kAdminToken), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("content: [REDACTED]"), std::string::npos) << r.out << r.err;
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock
