// MCP Streamable HTTP in the daemon (`interlock serve` with an `mcp:` section): the
// official SDK client (StreamableHTTPClientTransport) against real MCP servers from npm
// behind /mcp/{upstream}, the transport's protocol edges with raw HTTP, approvals held over
// HTTP, an upstream dying mid-session, and an HTTP (url:) upstream. Everything runs on
// 127.0.0.1 with port 0 (or a port picked free) in temporary directories; every wait is
// bounded and the daemon is stopped gracefully so it stops its children.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio.hpp>
#include <boost/json.hpp>

#include "daemon_harness.h"
#include "daemon_policies.h"
#include "hello_server.h"
#include "json_lines.h"
#include "mcp_headers.h"
#include "node_suite.h"
#include "subprocess.h"
#include "temp_dir.h"
#include "test_paths.h"
#include "wait.h"

namespace interlock {
namespace INTERLOCK_TEST_NS {

using interlock::testing::WaitUntil;

using ::interlock::testing::HelloServer;

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::Count;
using testing::CreateToken;
using testing::Daemon;
using testing::HttpClient;
using testing::HttpResult;
using testing::MakeSelfSignedCert;
using testing::ProcessResult;
using testing::RawExchange;
using testing::RunProcess;
using testing::RunSetupScriptOnce;
using testing::TempDir;
using testing::TestCert;

using testing::kModules;
using testing::kNodeDir;

// A stdio MCP server without the SDK: records every tools/call it receives in DIR/calls.log
// and its pid in DIR/pid-<pid>. "hang" never answers.
constexpr char kFakeServer[] = R"JS(
import { appendFileSync, writeFileSync } from "node:fs";
import readline from "node:readline";
const dir = process.argv[2];
writeFileSync(`${dir}/pid-${process.pid}`, String(process.pid));
const send = (m) => process.stdout.write(JSON.stringify(m) + "\n");
const tools = [
  { name: "echo", description: "echo", inputSchema: { type: "object", properties: { text: { type: "string" } }, required: ["text"] } },
  { name: "hang", description: "never answers", inputSchema: { type: "object" } },
  { name: "deploy", description: "needs approval", inputSchema: { type: "object", properties: { env: { type: "string" } } } },
  { name: "wipe", description: "blocked", inputSchema: { type: "object" } },
];
// Calls of echo with a progress token and a text starting "pair" are held until two have
// come, then each gets its progress ("progress-of-<text>") and its result.
const paired = [];
readline.createInterface({ input: process.stdin }).on("line", (line) => {
  const m = JSON.parse(line);
  if (m.method === "initialize") {
    send({ jsonrpc: "2.0", id: m.id, result: { protocolVersion: m.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: "fake", version: "1" } } });
  } else if (m.method === "tools/list") {
    send({ jsonrpc: "2.0", id: m.id, result: { tools } });
  } else if (m.method === "tools/call") {
    appendFileSync(`${dir}/calls.log`, m.params.name + "\n");
    if (m.params.name === "hang") return;
    const token = m.params._meta?.progressToken;
    if (token !== undefined && String(m.params.arguments?.text ?? "").startsWith("pair")) {
      paired.push(m);
      if (paired.length < 2) return;
      const both = paired.splice(0);
      for (const p of both) {
        send({ jsonrpc: "2.0", method: "notifications/progress", params: { progressToken: p.params._meta.progressToken, progress: 1, message: "progress-of-" + p.params.arguments.text } });
      }
      for (const p of both) {
        send({ jsonrpc: "2.0", id: p.id, result: { content: [{ type: "text", text: "done-" + p.params.arguments.text }] } });
      }
      return;
    }
    send({ jsonrpc: "2.0", id: m.id, result: { content: [{ type: "text", text: m.params.name + ":" + JSON.stringify(m.params.arguments ?? {}) }] } });
  } else if (m.id !== undefined) {
    send({ jsonrpc: "2.0", id: m.id, result: {} });
  }
});
)JS";

constexpr char kFakePolicy[] = R"(agent:
  id: "%ID%"
  identity: "%ID%@example.iam"
  autonomy: audit_based
tools:
  allowed:
    - name: "echo"
    - name: "hang"
    - name: "deploy"
      requires_approval: true
      approval_timeout_seconds: 300
  blocked:
    - "wipe"
execution:
  max_steps: 1000
)";

const std::string kEverythingPolicy =
    std::string(testing::kEvAgent) + "  blocked:\n    - \"trigger-sampling-request\"\n";

constexpr char kMemoryPolicy[] = R"(agent:
  id: "mem"
  identity: "mem@example.iam"
  autonomy: audit_based
tools:
  allowed:
    - name: "create_entities"
    - name: "read_graph"
  blocked:
    - "delete_entities"
)";

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
  return s;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

json::value ParseLastLine(const std::string& out) {
  std::string s = out;
  while (!s.empty() && s.back() == '\n') s.pop_back();
  const size_t nl = s.rfind('\n');
  boost::system::error_code ec;
  json::value v = json::parse(nl == std::string::npos ? s : s.substr(nl + 1), ec);
  return ec ? json::value() : v;
}

std::string Text(const json::value& result) {
  const json::value& t = result.at("content").at(0).at("text");
  return std::string(t.as_string());
}

bool Alive(int pid) { return ::kill(pid, 0) == 0; }

// How often `needle` occurs in `haystack`.
// A free loopback port (bound then released; the server started next takes it).
int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof(a);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  const int port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

// A background process, SIGKILLed (process group) and reaped on destruction.
class Background {
 public:
  Background(const std::vector<std::string>& argv, const std::vector<std::string>& env,
             const std::string& log) {
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      for (const std::string& e : env) ::putenv(const_cast<char*>(e.c_str()));
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
  }
  ~Background() {
    if (pid_ > 0) {
      ::kill(-pid_, SIGKILL);
      ::kill(pid_, SIGKILL);
      int st = 0;
      ::waitpid(pid_, &st, 0);
    }
  }

 private:
  pid_t pid_ = -1;
};

class McpHttpTest : public testing::NodeSuite {
 protected:
  void SetUp() override {
    ASSERT_EQ(setup_error_, "");
    policies_ = dir_.path() + "/policies";
    fs::create_directories(policies_);
    std::ofstream(policies_ + "/ta.yaml") << Replace(kFakePolicy, "%ID%", "ta");
    std::ofstream(policies_ + "/tb.yaml") << Replace(kFakePolicy, "%ID%", "tb");
    std::ofstream(policies_ + "/ev.yaml") << kEverythingPolicy;
    std::ofstream(policies_ + "/mem.yaml") << kMemoryPolicy;
    fake_dir_ = dir_.path() + "/fake";
    fs::create_directories(fake_dir_);
    fake_server_ = dir_.Write("fake_server.mjs", kFakeServer);
  }

  void TearDown() override {
    if (daemon_ && daemon_->Running()) {
      EXPECT_EQ(daemon_->Stop(), 0) << daemon_->log();
    }
  }

  // Starts the daemon with the upstreams and `extra_mcp` lines under `mcp:`.
  void StartDaemon(const std::string& extra_mcp = "", const std::string& extra_upstreams = "") {
    const std::string config = dir_.Write("interlock.yaml",
                                          "durability: normal\n"
                                          "limits:\n  max_body_bytes: 262144\n"
                                          "approvals:\n  sweep_ms: 100\n"
                                          "mcp:\n"
                                          "  upstreams:\n"
                                          "    fake:\n"
                                          "      command: [\"node\", \"" +
                                              fake_server_ + "\", \"" + fake_dir_ +
                                              "\"]\n"
                                              "    everything:\n"
                                              "      command: [\"node\", \"" +
                                              kModules +
                                              "/server-everything/dist/index.js\", \"stdio\"]\n"
                                              "    memory:\n"
                                              "      command: [\"node\", \"" +
                                              kModules +
                                              "/server-memory/dist/index.js\"]\n"
                                              "      env: {MEMORY_FILE_PATH: \"" +
                                              dir_.path() + "/memory.jsonl\"}\n" + extra_upstreams +
                                              "  allowed_origins: [\"http://localhost:6274\"]\n"
                                              "  sse_after_ms: 400\n"
                                              "  keepalive_seconds: 1\n"
                                              "  child_grace_ms: 200\n" +
                                              extra_mcp);
    daemon_ = std::make_unique<Daemon>(dir_.path(), policies_, config);
    ta_ = CreateToken(daemon_->store(), "--agent", "ta");
    tb_ = CreateToken(daemon_->store(), "--agent", "tb");
    ev_ = CreateToken(daemon_->store(), "--agent", "ev");
    mem_ = CreateToken(daemon_->store(), "--agent", "mem");
    if (fs::exists(policies_ + "/pr.yaml")) pr_ = CreateToken(daemon_->store(), "--agent", "pr");
    if (fs::exists(policies_ + "/rh.yaml")) rh_ = CreateToken(daemon_->store(), "--agent", "rh");
    if (fs::exists(policies_ + "/md.yaml")) md_ = CreateToken(daemon_->store(), "--agent", "md");
    reviewer_ = CreateToken(daemon_->store(), "--reviewer", "alice");
    ASSERT_FALSE(reviewer_.empty());
    ASSERT_TRUE(daemon_->Start()) << daemon_->log();
    client_ = std::make_unique<HttpClient>(daemon_->port());
  }

  std::string Url(const std::string& upstream) const {
    return "http://127.0.0.1:" + std::to_string(daemon_->port()) + "/mcp/" + upstream;
  }

  using Headers = std::vector<std::pair<std::string, std::string>>;

  static std::string Initialize(int id = 1) {
    return R"({"jsonrpc":"2.0","id":)" + std::to_string(id) +
           R"(,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}})";
  }
  static std::string Call(int id, const std::string& tool, const std::string& args = "{}") {
    return R"({"jsonrpc":"2.0","id":)" + std::to_string(id) +
           R"(,"method":"tools/call","params":{"name":")" + tool + R"(","arguments":)" + args +
           "}}";
  }

  // A `hang` call (never answered upstream) as request `id` on `session`, in flight until
  // Cancel(session, id): returns once the daemon forwarded it (the fake server logged it).
  std::future<HttpResult> HoldHang(const std::string& session, int id) {
    const size_t before = Count(ReadFile(fake_dir_ + "/calls.log"), "hang");
    auto held = std::async(std::launch::async, [this, session, id] {
      HttpClient c(daemon_->port());
      return c.Request("POST", "/mcp/fake", Call(id, "hang"), ta_, 20s,
                       testing::McpHeaders(session, "2025-06-18"));
    });
    EXPECT_TRUE(
        WaitUntil([&] { return Count(ReadFile(fake_dir_ + "/calls.log"), "hang") > before; }, 10s));
    return held;
  }
  // notifications/cancelled for request `id` on `session` (ends its POST).
  void Cancel(const std::string& session, int id) {
    HttpResult r = client_->Request(
        "POST", "/mcp/fake",
        R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":)" +
            std::to_string(id) + "}}",
        ta_, 10s, testing::McpHeaders(session, "2025-06-18"));
    EXPECT_EQ(r.status, 202) << r.body;
  }
  // initialize + notifications/initialized over raw HTTP; returns the session id.
  std::string OpenSession(HttpClient& c, const std::string& token,
                          const std::string& upstream = "fake") {
    HttpResult init =
        c.Request("POST", "/mcp/" + upstream, Initialize(), token, 30s, testing::McpHeaders());
    EXPECT_EQ(init.status, 200) << init.body << daemon_->log();
    const std::string session = init.headers["mcp-session-id"];
    EXPECT_FALSE(session.empty());
    HttpResult note = c.Request("POST", "/mcp/" + upstream,
                                R"({"jsonrpc":"2.0","method":"notifications/initialized"})", token,
                                10s, testing::McpHeaders(session, "2025-06-18"));
    EXPECT_EQ(note.status, 202) << note.body;
    EXPECT_TRUE(note.body.empty());
    return session;
  }

  std::vector<int> FakePids() const {
    std::vector<int> pids;
    for (const auto& e : fs::directory_iterator(fake_dir_)) {
      const std::string n = e.path().filename().string();
      if (n.rfind("pid-", 0) == 0) pids.push_back(std::stoi(n.substr(4)));
    }
    return pids;
  }

  // The ids of pending approvals other than `seen`, polled for up to 20 s.
  std::string NextPendingApproval(const std::vector<std::string>& seen) {
    HttpClient c(daemon_->port());
    std::string out;
    WaitUntil(
        [&] {
          HttpResult r = c.Request("GET", "/v1/approvals?state=pending", "", reviewer_);
          if (r.status != 200 || !r.json.is_object()) return false;
          for (const json::value& a : r.json.at("approvals").as_array()) {
            const std::string id(a.at("approval_id").as_string());
            if (std::find(seen.begin(), seen.end(), id) == seen.end()) {
              out = id;  // the first not seen yet
              return true;
            }
          }
          return false;
        },
        20s, 100ms);
    return out;
  }

  // server-everything in Streamable HTTP mode on `port` (FreePort()), once it answers.
  bool StartEverythingHttp(int port, std::unique_ptr<Background>* server) {
    *server = std::make_unique<Background>(
        std::vector<std::string>{"node", kModules + "/server-everything/dist/index.js",
                                 "streamableHttp"},
        std::vector<std::string>{"PORT=" + std::to_string(port)},
        dir_.path() + "/everything-http.log");
    HttpClient probe(port);
    return WaitUntil([&] { return probe.Request("GET", "/", "", "", 1s).status != 0; }, 30s);
  }

  // The official SDK client calls echo(message) and get-sum(a, b) on server-everything
  // directly over stdio and through `upstream` as agent ev, plus the blocked
  // trigger-sampling-request through `upstream`. Checks what both paths must share: the
  // filtered list, identical results, the denial. Returns {direct, via} for more checks.
  std::pair<json::value, json::value> EverythingMatchesDirect(const std::string& upstream,
                                                              const std::string& message, int a,
                                                              int b) {
    const std::string allowed = R"({"name":"echo","arguments":{"message":")" + message +
                                R"("}},{"name":"get-sum","arguments":{"a":)" + std::to_string(a) +
                                R"(,"b":)" + std::to_string(b) + "}}";
    const std::string calls = dir_.Write("direct.json", "[" + allowed + "]");
    ProcessResult direct =
        RunProcess({"/usr/bin/env", "node", kNodeDir + "/sdk_client.mjs", calls, "--", "node",
                    kModules + "/server-everything/dist/index.js", "stdio"},
                   "", 90s);
    EXPECT_EQ(direct.exit_code, 0) << direct.err;
    ProcessResult via = RunSdk(
        upstream, ev_,
        "[" + allowed +
            R"(,{"name":"trigger-sampling-request","arguments":{"prompt":"x","maxTokens":5}}])",
        "--terminate");
    EXPECT_EQ(via.exit_code, 0) << via.err << daemon_->log();
    json::value d = ParseLastLine(direct.out), v = ParseLastLine(via.out);
    if (!v.is_object() || !d.is_object()) {
      ADD_FAILURE() << "direct: " << direct.out << "\nvia: " << via.out;
      return {d, v};
    }
    EXPECT_EQ(v.at("tools"), (json::array{"echo", "get-env", "get-sum"}));
    const json::array& vr = v.at("results").as_array();
    EXPECT_EQ(vr.size(), 3u);
    if (vr.size() == 3) {
      EXPECT_EQ(d.at("results").at(0), vr[0]);
      EXPECT_EQ(d.at("results").at(1), vr[1]);
      EXPECT_EQ(vr[2].at("isError"), true);
      EXPECT_EQ(Text(vr[2]).rfind("Interlock denied trigger-sampling-request (TOOL_BLOCKED)", 0),
                0u)
          << Text(vr[2]);
    }
    return {d, v};
  }

  ProcessResult RunSdk(const std::string& upstream, const std::string& token,
                       const std::string& calls_json, const std::string& extra = "") {
    const std::string calls = dir_.Write("calls-" + upstream + ".json", calls_json);
    std::vector<std::string> argv = {"/usr/bin/env", "INTERLOCK_TOKEN=" + token,
                                     "node",         kNodeDir + "/sdk_http_client.mjs",
                                     Url(upstream),  calls};
    if (!extra.empty()) argv.push_back(extra);
    return RunProcess(argv, "", 120s);
  }

  TempDir dir_;
  std::string policies_, fake_dir_, fake_server_;
  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<HttpClient> client_;
  std::string ta_, tb_, ev_, mem_, reviewer_;
  std::string pr_;  // agent "pr" (the sandbox test's), when policies/pr.yaml exists
  std::string rh_;  // agent "rh" (the rehearsal test's), when policies/rh.yaml exists
  std::string md_;  // agent "md" (the modern upstream tests'), when policies/md.yaml exists

  // The 2026-07-28 test server (node/modern_server.mjs, the official v2 server SDK) as an
  // upstream of the daemon: over stdio as "modern" and over Streamable HTTP as
  // "modern-http" (its calls logged to modern.log and modern-http.log), agent "md" allowed
  // echo and confirm, delete_file blocked.
  void StartModernDaemon(std::unique_ptr<Background>* http_server) {
    std::ofstream(policies_ + "/md.yaml")
        << "agent:\n  id: \"md\"\n  identity: \"md@example.iam\"\n  autonomy: audit_based\n"
           "tools:\n  allowed:\n    - name: \"echo\"\n    - name: \"confirm\"\n"
           "  blocked:\n    - \"delete_file\"\n";
    const std::string port_file = dir_.path() + "/modern-http.port";
    *http_server = std::make_unique<Background>(
        std::vector<std::string>{"node", kNodeDir + "/modern_server.mjs", "http",
                                 dir_.path() + "/modern-http.log", port_file},
        std::vector<std::string>{}, dir_.path() + "/modern-http.out");
    ASSERT_TRUE(WaitUntil([&] { return !ReadFile(port_file).empty(); }, 30s))
        << ReadFile(dir_.path() + "/modern-http.out");
    StartDaemon("", "    modern:\n      command: [\"node\", \"" + kNodeDir +
                        "/modern_server.mjs\", \"stdio\", \"" + dir_.path() +
                        "/modern.log\"]\n    modern-http:\n      url: http://127.0.0.1:" +
                        ReadFile(port_file) + "/mcp\n");
    ASSERT_FALSE(md_.empty());
  }
};

// Tests that the official SDK client over Streamable HTTP sees server-everything's tool
// list filtered by the agent's policy, that allowed calls return exactly what the server
// returns directly over stdio, and that a blocked call is denied without reaching it.
TEST_F(McpHttpTest, EverythingThroughSdkMatchesDirect) {
  StartDaemon();
  const auto [d, v] = EverythingMatchesDirect("everything", "hi there", 2, 40);
  ASSERT_FALSE(HasFailure());
  EXPECT_GT(d.at("tools").as_array().size(), 5u);
  EXPECT_FALSE(v.at("sessionId").is_null());
  EXPECT_EQ(v.at("terminated"), true);
  EXPECT_EQ(v.at("protocolVersion"), "2025-11-25");
  // The calls are in the daemon's audit trail like any other front door's.
  HttpClient c(daemon_->port());
  const std::string admin = CreateToken(daemon_->store(), "--admin", "root");
  HttpResult audit = c.Request("GET", "/v1/audit?agent=ev", "", admin);
  ASSERT_EQ(audit.status, 200) << audit.body;
  EXPECT_NE(audit.body.find("trigger-sampling-request"), std::string::npos);
  EXPECT_NE(audit.body.find("get-sum"), std::string::npos);
}

// Tests that server-memory works through /mcp/memory with the SDK client: tools filtered,
// an entity created and read back, and a blocked delete never reaching the server.
TEST_F(McpHttpTest, MemoryThroughSdk) {
  StartDaemon();
  ProcessResult via = RunSdk(
      "memory", mem_,
      R"([{"name":"create_entities","arguments":{"entities":[{"name":"Ada","entityType":"person","observations":["wrote notes"]}]}},)"
      R"({"name":"delete_entities","arguments":{"entityNames":["Ada"]}},)"
      R"({"name":"read_graph","arguments":{}}])");
  ASSERT_EQ(via.exit_code, 0) << via.err << daemon_->log();
  const json::value v = ParseLastLine(via.out);
  ASSERT_TRUE(v.is_object()) << via.out;
  EXPECT_EQ(v.at("tools"), (json::array{"create_entities", "read_graph"}));
  const json::array& r = v.at("results").as_array();
  ASSERT_EQ(r.size(), 3u);
  EXPECT_FALSE(r[0].as_object().contains("isError")) << json::serialize(r[0]);
  EXPECT_NE(Text(r[0]).find("Ada"), std::string::npos);
  EXPECT_EQ(r[1].at("isError"), true);
  EXPECT_EQ(Text(r[1]).rfind("Interlock denied delete_entities (TOOL_BLOCKED)", 0), 0u);
  EXPECT_NE(Text(r[2]).find("wrote notes"), std::string::npos) << Text(r[2]);
  // Counted in the daemon's decision metrics as the HTTP API's calls are (before, this
  // door's decisions were missing from interlock_decisions_total).
  HttpResult m = client_->Request("GET", "/metrics");
  ASSERT_EQ(m.status, 200) << m.body;
  EXPECT_NE(m.body.find("interlock_decisions_total{agent=\"mem\",code=\"ALLOWED\"} 2\n"),
            std::string::npos)
      << m.body;
  EXPECT_NE(m.body.find("interlock_decisions_total{agent=\"mem\",code=\"TOOL_BLOCKED\"} 1\n"),
            std::string::npos)
      << m.body;
}

// Tests the transport's refusals and session rules with raw HTTP: 401 without a token,
// 403 for a reviewer, a foreign Origin or a foreign Host (DNS rebinding), 404 for unknown upstreams
// and sessions and for another agent's session, 400 for a missing session, a bad protocol version,
// malformed JSON (with a JSON-RPC parse error) and batches, 413 for an oversized body, 202 for
// notifications, a filtered tool list, a blocked call that never reaches the server, the
// GET stream, and DELETE ending the session and its child.
TEST_F(McpHttpTest, ProtocolEdges) {
  StartDaemon();
  HttpClient& c = *client_;
  EXPECT_EQ(c.Request("POST", "/mcp/fake", Initialize(), "", 10s, testing::McpHeaders()).status,
            401);
  HttpResult rev =
      c.Request("POST", "/mcp/fake", Initialize(), reviewer_, 10s, testing::McpHeaders());
  EXPECT_EQ(rev.status, 403) << rev.body;
  Headers evil = testing::McpHeaders();
  evil.emplace_back("Origin", "http://evil.example");
  EXPECT_EQ(c.Request("POST", "/mcp/fake", Initialize(), ta_, 10s, evil).status, 403);
  Headers ok_origin = testing::McpHeaders();
  ok_origin.emplace_back("Origin", "http://localhost:6274");
  EXPECT_EQ(c.Request("POST", "/mcp/nope", Initialize(), ta_, 10s, ok_origin).status, 404);
  // DNS rebinding: a foreign Host is refused even without an Origin; the same origin as
  // the (loopback) Host is accepted without being listed.
  Headers rebound = testing::McpHeaders();
  rebound.emplace_back("Host", "evil.example:" + std::to_string(daemon_->port()));
  EXPECT_EQ(c.Request("POST", "/mcp/nope", Initialize(), ta_, 10s, rebound).status, 403);
  Headers same_origin = testing::McpHeaders();
  const std::string self = "127.0.0.1:" + std::to_string(daemon_->port());
  same_origin.emplace_back("Host", self);
  same_origin.emplace_back("Origin", "http://" + self);
  EXPECT_EQ(c.Request("POST", "/mcp/nope", Initialize(), ta_, 10s, same_origin).status, 404);
  EXPECT_EQ(c.Request("PUT", "/mcp/fake", "", ta_, 10s).status, 405);
  HttpResult not_acceptable =
      c.Request("POST", "/mcp/fake", Initialize(), ta_, 10s,
                {{"Accept", "text/html"}, {"Content-Type", "application/json"}});
  EXPECT_EQ(not_acceptable.status, 406);

  const std::string session = OpenSession(c, ta_);
  ASSERT_FALSE(session.empty());
  const std::string list = R"({"jsonrpc":"2.0","id":2,"method":"tools/list"})";
  HttpResult no_session = c.Request("POST", "/mcp/fake", list, ta_, 10s, testing::McpHeaders());
  EXPECT_EQ(no_session.status, 400) << no_session.body;
  HttpResult unknown = c.Request("POST", "/mcp/fake", list, ta_, 10s,
                                 testing::McpHeaders("0123456789abcdef", "2025-06-18"));
  EXPECT_EQ(unknown.status, 404);
  HttpResult bad_version =
      c.Request("POST", "/mcp/fake", list, ta_, 10s, testing::McpHeaders(session, "1999-01-01"));
  EXPECT_EQ(bad_version.status, 400);
  HttpResult other_agent =
      c.Request("POST", "/mcp/fake", list, tb_, 10s, testing::McpHeaders(session, "2025-06-18"));
  EXPECT_EQ(other_agent.status, 404);
  HttpResult other_upstream =
      c.Request("POST", "/mcp/memory", list, ta_, 10s, testing::McpHeaders(session, "2025-06-18"));
  EXPECT_EQ(other_upstream.status, 404);
  HttpResult malformed = c.Request("POST", "/mcp/fake", "{\"jsonrpc\":", ta_, 10s,
                                   testing::McpHeaders(session, "2025-06-18"));
  EXPECT_EQ(malformed.status, 400);
  ASSERT_TRUE(malformed.json.is_object()) << malformed.body;
  EXPECT_EQ(malformed.json.at("error").at("code"), -32700);
  HttpResult batch = c.Request("POST", "/mcp/fake", "[" + list + "]", ta_, 10s,
                               testing::McpHeaders(session, "2025-06-18"));
  EXPECT_EQ(batch.status, 400);
  HttpResult big = c.Request("POST", "/mcp/fake",
                             Call(3, "echo", "{\"text\":\"" + std::string(300 * 1024, 'x') + "\"}"),
                             ta_, 10s, testing::McpHeaders(session, "2025-06-18"));
  EXPECT_EQ(big.status, 413);

  HttpClient c2(daemon_->port());  // the 413 closed the first connection
  HttpResult tools = c2.Request("POST", "/mcp/fake", list, ta_, 10s, testing::McpHeaders(session));
  ASSERT_EQ(tools.status, 200) << tools.body;
  EXPECT_EQ(tools.headers["content-type"], "application/json");
  json::array names;
  for (const json::value& t : tools.json.at("result").at("tools").as_array()) {
    names.push_back(t.at("name"));
  }
  EXPECT_EQ(names, (json::array{"echo", "hang", "deploy"}));

  HttpResult echo = c2.Request("POST", "/mcp/fake", Call(4, "echo", R"({"text":"hi"})"), ta_, 10s,
                               testing::McpHeaders(session, "2025-11-25"));
  ASSERT_EQ(echo.status, 200) << echo.body;
  EXPECT_EQ(Text(echo.json.at("result")), R"(echo:{"text":"hi"})");
  HttpResult wipe = c2.Request("POST", "/mcp/fake", Call(5, "wipe"), ta_, 10s,
                               testing::McpHeaders(session, "2025-06-18"));
  ASSERT_EQ(wipe.status, 200) << wipe.body;
  EXPECT_EQ(wipe.json.at("result").at("isError"), true);
  EXPECT_EQ(Text(wipe.json.at("result")).rfind("Interlock denied wipe (TOOL_BLOCKED)", 0), 0u);
  EXPECT_EQ(ReadFile(fake_dir_ + "/calls.log"), "echo\n");

  // GET: the session's stream for server-initiated messages.
  const std::string get = "GET /mcp/fake HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
                          ta_ + "\r\nAccept: text/event-stream\r\nMcp-Session-Id: " + session +
                          "\r\nMCP-Protocol-Version: 2025-06-18\r\n\r\n";
  const std::string stream = RawExchange(daemon_->port(), get, 1500ms);
  EXPECT_EQ(stream.rfind("HTTP/1.1 200", 0), 0u) << stream;
  EXPECT_NE(stream.find("text/event-stream"), std::string::npos) << stream;
  EXPECT_NE(stream.find(": keep-alive"), std::string::npos) << stream;  // keepalive 1 s
  HttpResult get_json = c2.Request("GET", "/mcp/fake", "", ta_, 10s,
                                   {{"Accept", "application/json"}, {"Mcp-Session-Id", session}});
  EXPECT_EQ(get_json.status, 406);

  // DELETE ends the session and stops its child.
  const std::vector<int> pids = FakePids();
  ASSERT_EQ(pids.size(), 1u);
  EXPECT_TRUE(Alive(pids[0]));
  HttpResult other_delete =
      c2.Request("DELETE", "/mcp/fake", "", tb_, 10s, testing::McpHeaders(session));
  EXPECT_EQ(other_delete.status, 404);
  HttpResult del = c2.Request("DELETE", "/mcp/fake", "", ta_, 10s, testing::McpHeaders(session));
  EXPECT_EQ(del.status / 100, 2) << del.body;
  EXPECT_EQ(c2.Request("POST", "/mcp/fake", list, ta_, 10s, testing::McpHeaders(session)).status,
            404);
  EXPECT_TRUE(WaitUntil([&] { return !Alive(pids[0]); }, 10s)) << "the child outlived DELETE";
}

// Tests that a call needing approval holds the POST (the SDK client gets progress over SSE),
// is forwarded once a reviewer approves through /v1/approvals, and that a reviewer's deny
// returns the isError denial without the call reaching the server.
TEST_F(McpHttpTest, ApprovalHeldOverHttp) {
  StartDaemon();
  auto run = std::async(std::launch::async, [&] {
    return RunSdk("fake", ta_,
                  R"([{"name":"deploy","arguments":{"env":"prod"},"progress":true},)"
                  R"({"name":"deploy","arguments":{"env":"staging"},"progress":true}])");
  });
  HttpClient c(daemon_->port());
  const std::string first = NextPendingApproval({});
  ASSERT_FALSE(first.empty()) << daemon_->log();
  std::this_thread::sleep_for(1500ms);  // pace: long enough for a progress notification
  HttpResult approve =
      c.Request("POST", "/v1/approvals/" + first, R"({"verdict":"approve"})", reviewer_);
  ASSERT_EQ(approve.status, 200) << approve.body;
  const std::string second = NextPendingApproval({first});
  ASSERT_FALSE(second.empty()) << daemon_->log();
  HttpResult deny = c.Request("POST", "/v1/approvals/" + second,
                              R"({"verdict":"deny","comment":"no"})", reviewer_);
  ASSERT_EQ(deny.status, 200) << deny.body;
  ASSERT_EQ(run.wait_for(60s), std::future_status::ready);
  ProcessResult r = run.get();
  ASSERT_EQ(r.exit_code, 0) << r.err << daemon_->log();
  const json::value v = ParseLastLine(r.out);
  ASSERT_TRUE(v.is_object()) << r.out;
  const json::array& results = v.at("results").as_array();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(Text(results[0]), R"(deploy:{"env":"prod"})") << json::serialize(results[0]);
  EXPECT_EQ(results[1].at("isError"), true) << json::serialize(results[1]);
  EXPECT_EQ(Text(results[1]).rfind("Interlock denied deploy", 0), 0u) << Text(results[1]);
  EXPECT_GE(v.at("progress").at(0).to_number<int64_t>(), 1);
  EXPECT_EQ(ReadFile(fake_dir_ + "/calls.log"), "deploy\n");
}

// Waits (bounded) for the approval `id` to leave `pending`; returns it as the reviewer sees it.
json::value DecidedApproval(int port, const std::string& token, const std::string& id) {
  HttpClient c(port);
  json::value out;
  WaitUntil(
      [&] {
        HttpResult r = c.Request("GET", "/v1/approvals/" + id, "", token);
        if (r.status == 200 && r.json.is_object() && r.json.at("state") != "pending") out = r.json;
        return !out.is_null();
      },
      10s, 100ms);
  return out;
}

// Tests that when the official SDK client aborts a call held for approval over Streamable
// HTTP (notifications/cancelled), the approval ends withdrawn with the client's reason,
// the progress named its reviewer link, the call never reached the server, and a
// reviewer's later vote is refused with 409.
TEST_F(McpHttpTest, SdkAbortOverHttpWithdrawsTheApproval) {
  StartDaemon();
  auto run = std::async(std::launch::async, [&] {
    return RunProcess(
        {"/usr/bin/env", "INTERLOCK_TOKEN=" + ta_, "node", kNodeDir + "/sdk_cancel_client.mjs",
         "abort", "deploy", "--url", Url("fake")},
        "", 60s);
  });
  const std::string id = NextPendingApproval({});
  ASSERT_FALSE(id.empty()) << daemon_->log();
  ASSERT_EQ(run.wait_for(60s), std::future_status::ready);
  ProcessResult r = run.get();
  ASSERT_EQ(r.exit_code, 0) << r.err << daemon_->log();
  const json::value v = ParseLastLine(r.out);
  const std::string progress(v.at("progress").as_string());
  EXPECT_NE(progress.find("http://127.0.0.1:" + std::to_string(daemon_->port()) +
                          "/ui/#/approvals/" + id),
            std::string::npos)
      << progress;
  const json::value a = DecidedApproval(daemon_->port(), reviewer_, id);
  ASSERT_TRUE(a.is_object()) << daemon_->log();
  EXPECT_EQ(a.at("state"), "withdrawn") << a;
  EXPECT_NE(std::string(a.at("outcome_reason").as_string()).find("the user gave up"),
            std::string::npos)
      << a;
  HttpResult vote =
      client_->Request("POST", "/v1/approvals/" + id, R"({"verdict":"approve"})", reviewer_);
  EXPECT_EQ(vote.status, 409) << vote.body;
  EXPECT_FALSE(fs::exists(fake_dir_ + "/calls.log")) << ReadFile(fake_dir_ + "/calls.log");
}

// Tests that DELETE of a session while one of its calls is held withdraws the approval
// (the session's end is the reason), so none is left in the queue.
TEST_F(McpHttpTest, DeleteWhileHeldWithdrawsTheApproval) {
  StartDaemon();
  const std::string session = OpenSession(*client_, ta_);
  ASSERT_FALSE(session.empty());
  auto held = std::async(std::launch::async, [&] {
    HttpClient c(daemon_->port());
    return c.Request("POST", "/mcp/fake", Call(7, "deploy", R"({"env":"prod"})"), ta_, 30s,
                     testing::McpHeaders(session, "2025-06-18"));
  });
  const std::string id = NextPendingApproval({});
  ASSERT_FALSE(id.empty()) << daemon_->log();
  HttpClient c2(daemon_->port());
  HttpResult del = c2.Request("DELETE", "/mcp/fake", "", ta_, 10s, testing::McpHeaders(session));
  EXPECT_EQ(del.status, 204) << del.body;
  const json::value a = DecidedApproval(daemon_->port(), reviewer_, id);
  ASSERT_TRUE(a.is_object()) << daemon_->log();
  EXPECT_EQ(a.at("state"), "withdrawn") << a;
  EXPECT_NE(std::string(a.at("outcome_reason").as_string()).find("DELETE"), std::string::npos) << a;
  ASSERT_EQ(held.wait_for(30s), std::future_status::ready);
  EXPECT_FALSE(fs::exists(fake_dir_ + "/calls.log")) << ReadFile(fake_dir_ + "/calls.log");
}

// Tests that a client closing the SSE stream of a held request (the connection goes away
// before the answer) withdraws the approval instead of leaving it pending.
TEST_F(McpHttpTest, ClosedRequestStreamWithdrawsTheApproval) {
  StartDaemon();
  const std::string session = OpenSession(*client_, ta_);
  ASSERT_FALSE(session.empty());
  const std::string body = Call(9, "deploy", R"({"env":"prod"})");
  const std::string post =
      "POST /mcp/fake HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + ta_ +
      "\r\nAccept: application/json, text/event-stream\r\nContent-Type: application/json\r\n"
      "Mcp-Session-Id: " +
      session +
      "\r\nMCP-Protocol-Version: 2025-06-18\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\n\r\n" + body;
  // Held past mcp.sse_after_ms (400 ms): the answer became a stream; then the connection
  // closes.
  const std::string got = RawExchange(daemon_->port(), post, 1500ms);
  EXPECT_NE(got.find("text/event-stream"), std::string::npos) << got;
  HttpResult pending = client_->Request("GET", "/v1/approvals?state=all", "", reviewer_);
  ASSERT_EQ(pending.status, 200) << pending.body;
  ASSERT_EQ(pending.json.at("approvals").as_array().size(), 1u) << pending.body;
  const std::string id(pending.json.at("approvals").at(0).at("approval_id").as_string());
  const json::value a = DecidedApproval(daemon_->port(), reviewer_, id);
  ASSERT_TRUE(a.is_object()) << daemon_->log();
  EXPECT_EQ(a.at("state"), "withdrawn") << a;
  EXPECT_NE(std::string(a.at("outcome_reason").as_string()).find("closed the request"),
            std::string::npos)
      << a;
}

// Tests that when the upstream child dies with a call in flight the call gets an isError
// result, the session ends (404 afterwards), and the daemon keeps serving new sessions.
TEST_F(McpHttpTest, UpstreamDiesMidSession) {
  StartDaemon();
  const std::string session = OpenSession(*client_, ta_);
  ASSERT_FALSE(session.empty());
  auto pending = std::async(std::launch::async, [&] {
    HttpClient c(daemon_->port());
    return c.Request("POST", "/mcp/fake", Call(7, "hang"), ta_, 30s,
                     testing::McpHeaders(session, "2025-06-18"));
  });
  ASSERT_TRUE(WaitUntil([&] { return ReadFile(fake_dir_ + "/calls.log") == "hang\n"; }, 15s));
  const std::vector<int> pids = FakePids();
  ASSERT_EQ(pids.size(), 1u);
  ::kill(pids[0], SIGKILL);
  ASSERT_EQ(pending.wait_for(20s), std::future_status::ready);
  HttpResult r = pending.get();
  ASSERT_EQ(r.status, 200) << r.body;
  // JSON, or an SSE event when the call was held longer than sse_after.
  json::value msg = r.json;
  if (r.headers["content-type"] == "text/event-stream") {
    const size_t data = r.body.find("data: ");
    ASSERT_NE(data, std::string::npos) << r.body;
    msg = json::parse(r.body.substr(data + 6, r.body.find('\n', data) - data - 6));
  }
  ASSERT_TRUE(msg.is_object()) << r.body;
  EXPECT_EQ(msg.at("id"), 7);
  EXPECT_EQ(msg.at("result").at("isError"), true);
  EXPECT_NE(Text(msg.at("result")).find("may or may not have run"), std::string::npos);
  HttpClient c(daemon_->port());
  EXPECT_TRUE(WaitUntil(
      [&] {
        return c.Request("POST", "/mcp/fake", R"({"jsonrpc":"2.0","id":8,"method":"ping"})", ta_,
                         10s, testing::McpHeaders(session))
                   .status == 404;
      },
      10s));
  const std::string again = OpenSession(c, ta_);
  EXPECT_FALSE(again.empty());
  EXPECT_EQ(c.Request("GET", "/healthz").status, 200);
}

// Tests the session caps and the idle timeout: a second session of the same agent is 429
// while the first has a request in flight (a busy session is never ended to make room),
// the first ends after the idle timeout once that request is cancelled (404), and then a
// new one can start; /metrics counts the sessions open, opened and refused.
TEST_F(McpHttpTest, SessionCapsAndIdleTimeout) {
  StartDaemon("  max_sessions_per_agent: 1\n  session_idle_timeout_ms: 1500\n");
  const std::string first = OpenSession(*client_, ta_);
  ASSERT_FALSE(first.empty());
  auto held = HoldHang(first, 5);
  HttpResult second =
      client_->Request("POST", "/mcp/fake", Initialize(), ta_, 10s, testing::McpHeaders());
  EXPECT_EQ(second.status, 429) << second.body;
  ASSERT_TRUE(second.json.is_object()) << second.body;
  EXPECT_TRUE(second.json.as_object().contains("error"));
  EXPECT_NE(second.body.find("in flight"), std::string::npos) << second.body;
  const std::string other = OpenSession(*client_, tb_);  // the cap is per agent
  EXPECT_FALSE(other.empty());
  const std::string metrics = client_->Request("GET", "/metrics", "", "", 10s).body;
  EXPECT_NE(metrics.find("interlock_mcp_sessions_active 2\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("interlock_mcp_sessions_refused_total 1\n"), std::string::npos);
  Cancel(first, 5);
  held.wait();
  // Any request would keep the session alive: wait past the timeout without one.
  std::this_thread::sleep_for(3s);  // pace: idle past the session's timeout
  EXPECT_EQ(client_
                ->Request("POST", "/mcp/fake", R"({"jsonrpc":"2.0","id":2,"method":"ping"})", ta_,
                          10s, testing::McpHeaders(first))
                .status,
            404);
  EXPECT_FALSE(OpenSession(*client_, ta_).empty());
  EXPECT_NE(client_->Request("GET", "/metrics", "", "", 10s)
                .body.find("interlock_mcp_sessions_opened_total 3\n"),
            std::string::npos);
}

// Tests that a 2025-era client that never deletes its sessions is not locked out: with 8
// sessions left behind, the ninth connects and the least recently used one is ended (a
// request on it gets the spec's 404 for an unknown session; the others live), a session
// used since is not the one ended, and each eviction is in the audit trail.
TEST_F(McpHttpTest, NinthSessionEndsTheLeastRecentlyUsedIdleOne) {
  StartDaemon();
  std::vector<std::string> sessions;
  for (int i = 0; i < 8; ++i) {
    sessions.push_back(OpenSession(*client_, ta_));
    ASSERT_FALSE(sessions.back().empty());
  }
  auto ping = [&](const std::string& session) {
    return client_
        ->Request("POST", "/mcp/fake", R"({"jsonrpc":"2.0","id":7,"method":"ping"})", ta_, 10s,
                  testing::McpHeaders(session, "2025-06-18"))
        .status;
  };
  const std::string ninth = OpenSession(*client_, ta_);
  EXPECT_FALSE(ninth.empty());
  EXPECT_EQ(ping(sessions[0]), 404);
  // sessions[1] used now: the next one over the limit ends sessions[2] instead.
  EXPECT_EQ(ping(sessions[1]), 200);
  EXPECT_FALSE(OpenSession(*client_, ta_).empty());
  EXPECT_EQ(ping(sessions[2]), 404);
  for (int i = 3; i < 8; ++i) EXPECT_EQ(ping(sessions[i]), 200) << i;
  EXPECT_EQ(ping(sessions[1]), 200);
  EXPECT_EQ(ping(ninth), 200);
  int evictions = 0;
  EXPECT_TRUE(WaitUntil(
      [&] {
        HttpResult audit = client_->Request("GET", "/v1/audit?limit=200", "", reviewer_, 10s);
        evictions = 0;
        for (size_t at = audit.body.find(R"("type":"mcp_session")"); at != std::string::npos;
             at = audit.body.find(R"("type":"mcp_session")", at + 1)) {
          ++evictions;
        }
        return evictions == 2 && audit.body.find(R"("event":"evicted")") != std::string::npos &&
               audit.body.find(sessions[0].substr(0, 8)) != std::string::npos &&
               audit.body.find(sessions[2].substr(0, 8)) != std::string::npos;
      },
      10s))
      << evictions;
}

// Tests that a session with a call in flight is never ended to make room, even when it is
// the least recently used: the idle one is ended instead, and with every session busy the
// new one is refused 429.
TEST_F(McpHttpTest, BusySessionIsNeverEvicted) {
  StartDaemon("  max_sessions_per_agent: 2\n");
  const std::string busy = OpenSession(*client_, ta_);
  ASSERT_FALSE(busy.empty());
  auto held = HoldHang(busy, 5);
  const std::string idle = OpenSession(*client_, ta_);  // used after `busy`'s request
  ASSERT_FALSE(idle.empty());
  const std::string third = OpenSession(*client_, ta_);
  ASSERT_FALSE(third.empty());
  auto ping = [&](const std::string& session) {
    return client_
        ->Request("POST", "/mcp/fake", R"({"jsonrpc":"2.0","id":7,"method":"ping"})", ta_, 10s,
                  testing::McpHeaders(session, "2025-06-18"))
        .status;
  };
  EXPECT_EQ(ping(idle), 404);
  EXPECT_EQ(ping(busy), 200);
  auto held_too = HoldHang(third, 6);
  HttpResult refused =
      client_->Request("POST", "/mcp/fake", Initialize(), ta_, 10s, testing::McpHeaders());
  EXPECT_EQ(refused.status, 429) << refused.body;
  EXPECT_NE(refused.body.find("in flight"), std::string::npos) << refused.body;
  Cancel(busy, 5);
  Cancel(third, 6);
  held.wait();
  held_too.wait();
}

// Tests an HTTP (url:) upstream: server-everything in Streamable HTTP mode on a loopback
// port, proxied by the daemon, gives the SDK client the same filtered list and results as
// server-everything over stdio directly.
TEST_F(McpHttpTest, HttpUpstreamEverything) {
  const int port = FreePort();
  std::unique_ptr<Background> server;
  ASSERT_TRUE(StartEverythingHttp(port, &server)) << ReadFile(dir_.path() + "/everything-http.log");
  StartDaemon("", "    remote:\n      url: http://127.0.0.1:" + std::to_string(port) +
                      "/mcp\n      headers: {X-Interlock-Test: \"1\"}\n");
  EverythingMatchesDirect("remote", "over http", 1, 2);
}

// A TLS front for a loopback HTTP server: node tls_proxy.mjs CERT KEY TARGET_PORT PORT_FILE.
constexpr const char* kTlsProxy = R"(import https from "node:https";
import http from "node:http";
import fs from "node:fs";
const [cert, key, target, portFile] = process.argv.slice(2);
const server = https.createServer(
  { cert: fs.readFileSync(cert), key: fs.readFileSync(key) },
  (req, res) => {
    const up = http.request(
      { host: "127.0.0.1", port: Number(target), method: req.method, path: req.url, headers: req.headers },
      (r) => { res.writeHead(r.statusCode, r.headers); r.pipe(res); });
    up.on("error", () => { res.writeHead(502); res.end(); });
    req.pipe(up);
  });
server.listen(0, "127.0.0.1", () => fs.writeFileSync(portFile, String(server.address().port)));
)";

// Tests an https:// (url:) upstream: with ca_file naming the upstream's certificate the
// SDK client's calls go through over TLS; the same upstream without ca_file (the system
// CAs do not trust the self-signed certificate) fails the session instead of talking to
// an unverified server.
TEST_F(McpHttpTest, HttpsUpstreamOnlyWithAVerifiedCertificate) {
  const TestCert tc = MakeSelfSignedCert(dir_.path(), "upstream", "IP:127.0.0.1");
  ASSERT_EQ(tc.error, "");
  const std::string& cert = tc.cert;
  const std::string& key = tc.key;
  const int port = FreePort();
  std::unique_ptr<Background> server;
  ASSERT_TRUE(StartEverythingHttp(port, &server)) << ReadFile(dir_.path() + "/everything-http.log");
  const std::string port_file = dir_.path() + "/tls-port";
  Background proxy(
      {"node", dir_.Write("tls_proxy.mjs", kTlsProxy), cert, key, std::to_string(port), port_file},
      {}, dir_.path() + "/tls-proxy.log");
  ASSERT_TRUE(WaitUntil([&] { return !ReadFile(port_file).empty(); }, 30s))
      << ReadFile(dir_.path() + "/tls-proxy.log");
  const std::string url = "https://127.0.0.1:" + ReadFile(port_file) + "/mcp";
  StartDaemon("", "    secure:\n      url: " + url + "\n      ca_file: " + cert +
                      "\n    untrusted:\n      url: " + url + "\n");

  ProcessResult via = RunSdk(
      "secure", ev_, R"([{"name":"echo","arguments":{"message":"over https"}}])", "--terminate");
  ASSERT_EQ(via.exit_code, 0) << via.err << daemon_->log();
  const json::value v = ParseLastLine(via.out);
  ASSERT_TRUE(v.is_object()) << via.out;
  EXPECT_NE(Text(v.at("results").at(0)).find("over https"), std::string::npos) << via.out;

  ProcessResult refused =
      RunSdk("untrusted", ev_, R"([{"name":"echo","arguments":{"message":"unverified"}}])");
  EXPECT_NE(refused.exit_code, 0) << refused.out;
  EXPECT_NE(refused.err.find("the TLS handshake with the upstream failed: certificate verify "
                             "failed"),
            std::string::npos)
      << refused.err;
}

// A Streamable HTTP MCP server (node, no SDK): `echo` answers over SSE with a log
// notification first, on that request's reply stream; the GET stream stays open and quiet.
constexpr const char* kRelatingServer = R"(import http from "node:http";
const port = Number(process.argv[2]);
const reply = (res, m, result) => {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify({ jsonrpc: "2.0", id: m.id, result }));
};
http.createServer((req, res) => {
  let body = "";
  req.on("data", (c) => (body += c));
  req.on("end", () => {
    if (req.method === "GET") {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(": open\n\n");
      return;
    }
    if (req.method !== "POST") { res.writeHead(200); res.end(); return; }
    const m = JSON.parse(body);
    if (m.id === undefined) { res.writeHead(202); res.end(); return; }
    if (m.method === "initialize") {
      res.setHeader("mcp-session-id", "up-1");
      return reply(res, m, { protocolVersion: "2025-06-18", capabilities: { tools: {} },
                             serverInfo: { name: "relating", version: "1" } });
    }
    if (m.method === "tools/list") {
      return reply(res, m, { tools: [{ name: "echo", inputSchema: { type: "object" } }] });
    }
    if (m.method === "tools/call") {
      res.writeHead(200, { "content-type": "text/event-stream" });
      const log = { jsonrpc: "2.0", method: "notifications/message",
                    params: { level: "info", data: "log-of-call-" + m.id } };
      res.write("data: " + JSON.stringify(log) + "\n\n");
      setTimeout(() => res.end("data: " + JSON.stringify({ jsonrpc: "2.0", id: m.id,
        result: { content: [{ type: "text", text: "done" }] } }) + "\n\n"), 300);
      return;
    }
    reply(res, m, {});
  });
}).listen(port, "127.0.0.1");
)";

// Tests that a server message that came on the upstream's reply stream of a request (an
// http upstream) is sent on that request's stream to the client, as the spec asks, even
// while the client has its GET stream open; and not on the GET stream.
TEST_F(McpHttpTest, RelatedServerMessagesGoOnTheirRequestsStream) {
  const int port = FreePort();
  Background server({"node", dir_.Write("relating.mjs", kRelatingServer), std::to_string(port)}, {},
                    dir_.path() + "/relating.log");
  HttpClient probe(port);  // DELETE: its GET stream never ends
  ASSERT_TRUE(WaitUntil([&] { return probe.Request("DELETE", "/", "", "", 1s).status != 0; }, 30s))
      << ReadFile(dir_.path() + "/relating.log");
  StartDaemon("", "    relating:\n      url: http://127.0.0.1:" + std::to_string(port) + "/mcp\n");
  HttpClient c(daemon_->port());
  const std::string session = OpenSession(c, ta_, "relating");
  std::string get_stream;
  std::thread listener([&] {
    get_stream =
        RawExchange(daemon_->port(),
                    "GET /mcp/relating HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: "
                    "Bearer " +
                        ta_ + "\r\nAccept: text/event-stream\r\nMcp-Session-Id: " + session +
                        "\r\nMCP-Protocol-Version: 2025-06-18\r\n\r\n",
                    2500ms);
  });
  std::this_thread::sleep_for(500ms);  // pace: the GET stream is open before the call
  HttpResult call = c.Request("POST", "/mcp/relating", Call(7, "echo"), ta_, 10s,
                              testing::McpHeaders(session, "2025-06-18"));
  listener.join();
  ASSERT_EQ(call.status, 200) << call.body << daemon_->log();
  // The server names the call by the gateway's id (docs/mcp.md#request-ids), not 7: the
  // daemon maps it back to the client's request to pick the stream.
  EXPECT_NE(call.body.find("log-of-call-"), std::string::npos) << call.body;
  EXPECT_EQ(call.body.find("log-of-call-7"), std::string::npos) << call.body;
  EXPECT_NE(call.body.find("done"), std::string::npos) << call.body;
  EXPECT_EQ(get_stream.rfind("HTTP/1.1 200", 0), 0u) << get_stream;
  EXPECT_EQ(get_stream.find("log-of-call-"), std::string::npos) << get_stream;
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock

namespace interlock {
namespace INTERLOCK_TEST_NS {

namespace net = boost::asio;

// Tests that a `sandbox: true` upstream of the daemon runs its server with no network but
// the session's egress proxy: a direct connect fails, an allowed local server answers, a
// server not in the agent's egress.allow gets 403 EGRESS_DENIED and no connection.
TEST_F(McpHttpTest, SandboxedUpstreamReachesOnlyAllowedDestinations) {
  ProcessResult probe = RunProcess(
      {"/bin/sh", "-c", "command -v bwrap >/dev/null && bwrap --unshare-all --ro-bind / / true"});
  if (probe.exit_code != 0) GTEST_SKIP() << "bwrap cannot create a sandbox on this machine";
  HelloServer allowed, other;
  std::ofstream(policies_ + "/pr.yaml")
      << "agent: {id: pr, identity: pr}\ntools: {allowed: [probe]}\negress: {allow: [\"127.0.0.1:"
      << allowed.port() << "\"]}\n";
  StartDaemon("", "    probe:\n      command: [\"node\", \"" + kNodeDir +
                      "/egress_probe_server.cjs\"]\n      sandbox: true\n");
  ASSERT_FALSE(pr_.empty());
  HttpClient c(daemon_->port());
  const std::string session = OpenSession(c, pr_, "probe");
  auto text = [&](int id, const std::string& args) {
    HttpResult r = c.Request("POST", "/mcp/probe", Call(id, "probe", args), pr_, 30s,
                             testing::McpHeaders(session, "2025-06-18"));
    std::string body = r.body;
    const size_t data = body.find("data: ");
    if (data != std::string::npos) body = body.substr(data + 6);
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec || !v.is_object() || !v.as_object().contains("result")) return r.body;
    return std::string(v.at("result").at("content").at(0).at("text").as_string());
  };
  const std::string port_a = std::to_string(allowed.port());
  const std::string port_b = std::to_string(other.port());
  EXPECT_EQ(text(2, R"({"mode":"direct","port":)" + port_a + "}").rfind("error ", 0), 0u);
  EXPECT_EQ(text(3, R"({"mode":"proxy","url":"http://127.0.0.1:)" + port_a + R"(/"})"),
            "status 200 hello " + port_a)
      << daemon_->log();
  const std::string denied =
      text(4, R"({"mode":"proxy","url":"http://127.0.0.1:)" + port_b + R"(/"})");
  EXPECT_EQ(denied.rfind("status 403 ", 0), 0u) << denied;
  EXPECT_NE(denied.find("EGRESS_DENIED"), std::string::npos) << denied;
  EXPECT_EQ(allowed.connections(), 1);
  EXPECT_EQ(other.connections(), 0);

  // Outcome receipts: each call's result record in GET /v1/audit lists the destinations its
  // server contacted while the call was in flight.
  const std::string admin = CreateToken(daemon_->store(), "--admin", "root");
  HttpResult audit = c.Request("GET", "/v1/audit?agent=pr&limit=1000", "", admin);
  ASSERT_EQ(audit.status, 200) << audit.body;
  std::vector<json::array> receipts;  // of the probe results, in order
  std::set<std::string> probe_calls;
  const json::value records = json::parse(audit.body);
  for (const json::value& rec : records.at("records").as_array()) {
    const json::object& data = rec.at("data").as_object();
    if (rec.at("type") == "decision" && data.contains("tool") && data.at("tool") == "probe") {
      probe_calls.insert(std::string(rec.at("call_id").as_string()));
    }
    if (rec.at("type") != "result" ||
        probe_calls.count(std::string(rec.at("call_id").as_string())) == 0) {
      continue;
    }
    const json::value* e = data.if_contains("egress");
    receipts.push_back(e != nullptr ? e->as_array() : json::array());
  }
  ASSERT_EQ(receipts.size(), 3u) << audit.body;
  EXPECT_TRUE(receipts[0].empty()) << json::serialize(receipts[0]);
  ASSERT_EQ(receipts[1].size(), 1u) << audit.body;
  EXPECT_EQ(receipts[1][0].at("port").to_number<int64_t>(), allowed.port());
  EXPECT_EQ(receipts[1][0].at("allowed"), true);
  EXPECT_GT(receipts[1][0].at("bytes_down").to_number<int64_t>(), 0);
  ASSERT_EQ(receipts[2].size(), 1u) << audit.body;
  EXPECT_EQ(receipts[2][0].at("port").to_number<int64_t>(), other.port());
  EXPECT_EQ(receipts[2][0].at("code"), "EGRESS_DENIED");
}

// Tests that a `sandbox: true` upstream's server, started by a daemon run as root or not,
// runs as uid 65534 with no capability and can read neither the daemon's store, its audit
// keys, its config file nor the policies (none is in its view).
TEST_F(McpHttpTest, SandboxedUpstreamHoldsNoCapabilityNorSeesTheDaemonsFiles) {
  ProcessResult probe = RunProcess({"/bin/sh", "-c",
                                    "command -v bwrap >/dev/null && bwrap --unshare-all "
                                    "--unshare-user --ro-bind / / true"});
  if (probe.exit_code != 0) GTEST_SKIP() << "bwrap cannot create a sandbox on this machine";
  std::ofstream(policies_ + "/pr.yaml")
      << "agent: {id: pr, identity: pr}\ntools: {allowed: [probe]}\n";
  StartDaemon("", "    probe:\n      command: [\"node\", \"" + kNodeDir +
                      "/egress_probe_server.cjs\"]\n      sandbox: true\n");
  ASSERT_FALSE(pr_.empty());
  HttpClient c(daemon_->port());
  const std::string session = OpenSession(c, pr_, "probe");
  auto text = [&](int id, const json::object& args) {
    HttpResult r = c.Request("POST", "/mcp/probe", Call(id, "probe", json::serialize(args)), pr_,
                             30s, testing::McpHeaders(session, "2025-06-18"));
    std::string body = r.body;
    const size_t data = body.find("data: ");
    if (data != std::string::npos) body = body.substr(data + 6);
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec || !v.is_object() || !v.as_object().contains("result")) return r.body;
    return std::string(v.at("result").at("content").at(0).at("text").as_string());
  };
  EXPECT_EQ(text(2, {{"mode", "self"}}), "uid 65534 capeff 0000000000000000") << daemon_->log();
  const std::string store = daemon_->store();
  const std::string keys = store + ".keys/audit-hmac.key";
  ASSERT_TRUE(fs::exists(keys));
  int id = 3;
  for (const std::string& path :
       {store, keys, dir_.path() + "/interlock.yaml", policies_ + "/pr.yaml"}) {
    SCOPED_TRACE(path);
    EXPECT_EQ(text(id++, {{"mode", "read"}, {"path", path}}).rfind("error ", 0), 0u);
  }
}

// Tests that the staging server of a `sandbox: true` upstream runs sandboxed too, even
// when the staging upstream's own config says nothing: a rehearsal (`rehearse: {upstream:
// staging}`) that reports its server's uid and capabilities and reads the daemon's store
// sees uid 65534, CapEff 0 and no store (it ran as the daemon, store readable, before).
TEST_F(McpHttpTest, StagingServerOfASandboxedUpstreamIsSandboxedToo) {
  ProcessResult probe = RunProcess({"/bin/sh", "-c",
                                    "command -v bwrap >/dev/null && bwrap --unshare-all "
                                    "--unshare-user --ro-bind / / true"});
  if (probe.exit_code != 0) GTEST_SKIP() << "bwrap cannot create a sandbox on this machine";
  // The failing rehearsal carries the staging server's answer in the deny reason.
  std::ofstream(policies_ + "/pr.yaml")
      << "agent: {id: pr, identity: pr}\ntools:\n  allowed:\n    - name: probe\n"
         "      rehearse: {upstream: staging, args: {fail: true}}\n";
  StartDaemon("", "    probe:\n      command: [\"node\", \"" + kNodeDir +
                      "/egress_probe_server.cjs\"]\n      sandbox: true\n"
                      "    staging:\n      command: [\"node\", \"" +
                      kNodeDir + "/egress_probe_server.cjs\"]\n");
  ASSERT_FALSE(pr_.empty());
  HttpClient c(daemon_->port());
  const std::string session = OpenSession(c, pr_, "probe");
  auto text = [&](int id, const json::object& args) {
    HttpResult r = c.Request("POST", "/mcp/probe", Call(id, "probe", json::serialize(args)), pr_,
                             60s, testing::McpHeaders(session, "2025-06-18"));
    std::string body = r.body;
    const size_t data = body.find("data: ");
    if (data != std::string::npos) body = body.substr(data + 6);
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec || !v.is_object() || !v.as_object().contains("result")) return r.body;
    return std::string(v.at("result").at("content").at(0).at("text").as_string());
  };
  const std::string self = text(2, {{"mode", "self"}});
  EXPECT_NE(self.find("REHEARSAL_FAILED"), std::string::npos) << self << daemon_->log();
  EXPECT_NE(self.find("uid 65534 capeff 0000000000000000"), std::string::npos)
      << self << daemon_->log();
  const std::string store = text(3, {{"mode", "read"}, {"path", daemon_->store()}});
  EXPECT_NE(store.find("REHEARSAL_FAILED"), std::string::npos) << store;
  EXPECT_NE(store.find("error E"), std::string::npos) << store;
  EXPECT_EQ(store.find("SQLite"), std::string::npos) << store;
}

// Tests that a staging upstream whose own config says `sandbox: true` runs its rehearsals
// sandboxed even for an upstream that is not: its containment goes with its code.
TEST_F(McpHttpTest, StagingUpstreamWithItsOwnSandboxIsSandboxedForAnyUpstream) {
  ProcessResult probe = RunProcess({"/bin/sh", "-c",
                                    "command -v bwrap >/dev/null && bwrap --unshare-all "
                                    "--unshare-user --ro-bind / / true"});
  if (probe.exit_code != 0) GTEST_SKIP() << "bwrap cannot create a sandbox on this machine";
  std::ofstream(policies_ + "/pr.yaml")
      << "agent: {id: pr, identity: pr}\ntools:\n  allowed:\n    - name: probe\n"
         "      rehearse: {upstream: staging, args: {fail: true}}\n";
  StartDaemon("", "    probe:\n      command: [\"node\", \"" + kNodeDir +
                      "/egress_probe_server.cjs\"]\n"
                      "    staging:\n      command: [\"node\", \"" +
                      kNodeDir + "/egress_probe_server.cjs\"]\n      sandbox: true\n");
  ASSERT_FALSE(pr_.empty());
  HttpClient c(daemon_->port());
  const std::string session = OpenSession(c, pr_, "probe");
  HttpResult r = c.Request("POST", "/mcp/probe", Call(2, "probe", R"({"mode":"self"})"), pr_, 60s,
                           testing::McpHeaders(session, "2025-06-18"));
  EXPECT_NE(r.body.find("REHEARSAL_FAILED"), std::string::npos) << r.body << daemon_->log();
  EXPECT_NE(r.body.find("uid 65534 capeff 0000000000000000"), std::string::npos)
      << r.body << daemon_->log();
}

// Tests rehearsal before production through the daemon's own MCP door, /mcp/{upstream}
// (docs/mcp.md#rehearsal): a config upstream whose tool has `rehearse: {args: {dry_run:
// true}}`. A dry run that succeeds lets the real call through to the server; one that fails
// answers REHEARSAL_FAILED with its error text and the real call never reaches the server
// (proved from the server's own log of every tools/call it received).
TEST_F(McpHttpTest, RehearsalThroughTheDaemonForwardsOnlyAfterASuccessfulDryRun) {
  std::ofstream(policies_ + "/rh.yaml")
      << "agent: {id: rh, identity: rh}\ntools:\n  allowed:\n    - name: deploy\n"
         "      rehearse: {args: {dry_run: true}}\n";
  const std::string log = dir_.path() + "/rehearsal.log";
  StartDaemon("", "    deploy:\n      command: [\"node\", \"" + kNodeDir +
                      "/rehearsal_server.mjs\"]\n      env: {REHEARSAL_LOG: \"" + log + "\"}\n");
  ASSERT_FALSE(rh_.empty());
  HttpClient c(daemon_->port());
  const std::string session = OpenSession(c, rh_, "deploy");
  auto answer = [&](int id, const std::string& target) {
    HttpResult r =
        c.Request("POST", "/mcp/deploy", Call(id, "deploy", R"({"target":")" + target + "\"}"), rh_,
                  60s, testing::McpHeaders(session, "2025-06-18"));
    EXPECT_EQ(r.status, 200) << r.body;
    std::string body = r.body;
    const size_t data = body.find("data: ");
    if (data != std::string::npos) body = body.substr(data + 6);
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec || !v.is_object() || !v.as_object().contains("result")) return json::object{};
    return v.at("result").as_object();
  };
  auto server_saw = [&] {
    std::vector<json::object> out;
    std::ifstream in(log);
    for (std::string l; std::getline(in, l);) {
      if (!l.empty()) out.push_back(json::parse(l).as_object());
    }
    return out;
  };

  const json::object ok = answer(2, "web");
  ASSERT_TRUE(ok.contains("content")) << json::serialize(ok) << daemon_->log();
  EXPECT_EQ(ok.at("content").at(0).at("text").as_string(), "deployed web") << json::serialize(ok);
  std::vector<json::object> saw = server_saw();
  ASSERT_EQ(saw.size(), 2u);  // the dry run, then the real call
  EXPECT_EQ(saw[0].at("dry_run"), json::value(true));
  EXPECT_FALSE(saw[1].contains("dry_run"));
  EXPECT_EQ(saw[1].at("target"), "web");

  const json::object failed = answer(3, "fail-prod");
  const std::string text = json::serialize(failed);
  EXPECT_NE(text.find("REHEARSAL_FAILED"), std::string::npos) << text;
  EXPECT_NE(text.find("would delete 14 resources"), std::string::npos) << text;
  EXPECT_EQ(failed.at("isError"), json::value(true)) << text;
  saw = server_saw();
  ASSERT_EQ(saw.size(), 3u);  // only the dry run of fail-prod reached the server
  EXPECT_EQ(saw[2].at("dry_run"), json::value(true));
  EXPECT_EQ(saw[2].at("target"), "fail-prod");
}

// ---------------------------------------------------------------------------------------
// MCP 2026-07-28 clients over Streamable HTTP (docs/mcp.md#revisions): stateless requests,
// server/discover, -32022 and the Mcp-Method/Mcp-Name headers checked against the body.
class McpHttp2026Test : public McpHttpTest {
 protected:
  // The headers a 2026-07-28 client sends; `method`/`name` left out when empty.
  static Headers ModernHeaders(const std::string& method, const std::string& name = "") {
    Headers h = testing::McpHeaders("", "2026-07-28");
    if (!method.empty()) h.emplace_back("Mcp-Method", method);
    if (!name.empty()) h.emplace_back("Mcp-Name", name);
    return h;
  }
  // A modern request body: `params` plus the 2026-07-28 _meta (and `extra_meta`).
  static std::string ModernBody(int id, const std::string& method, json::object params,
                                const json::object& extra_meta = {}) {
    json::object meta{{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
                      {"io.modelcontextprotocol/clientCapabilities", json::object{}},
                      {"io.modelcontextprotocol/clientInfo",
                       json::object{{"name", "raw2026"}, {"version", "1"}}}};
    for (const auto& kv : extra_meta) meta[kv.key()] = kv.value();
    params["_meta"] = std::move(meta);
    return json::serialize(json::object{
        {"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}});
  }
  static std::string ModernCall(int id, const std::string& tool, const json::object& extra = {}) {
    return ModernBody(id, "tools/call",
                      json::object{{"name", tool}, {"arguments", {{"text", "hi"}}}}, extra);
  }
  std::string CallsLog() const { return ReadFile(fake_dir_ + "/calls.log"); }
  // The daemon's runs of `agent` (GET /v1/runs as the reviewer).
  json::array RunsOf(const std::string& agent) {
    HttpClient c(daemon_->port());
    HttpResult r = c.Request("GET", "/v1/runs", "", reviewer_);
    json::array out;
    if (!r.json.is_object()) return out;
    for (const json::value& run : r.json.at("runs").as_array()) {
      if (run.at("agent_id") == json::value(agent)) out.push_back(run);
    }
    return out;
  }
  ProcessResult RunSdk2(const std::string& mode, const std::string& upstream,
                        const std::string& token, const std::string& calls_json) {
    const std::string calls = dir_.Write("calls2-" + mode + ".json", calls_json);
    return RunProcess({"/usr/bin/env", "INTERLOCK_TOKEN=" + token, "node",
                       kNodeDir + "/sdk2_client.mjs", mode, calls, "--url", Url(upstream)},
                      "", 120s);
  }
};

// Tests that the SDK 2.x client over HTTP, pinned to 2026-07-28, in auto negotiation and in
// its default, lists server-everything's tools filtered by the policy, gets an allowed
// call's result and reads a denial as an isError result rather than throwing INVALID_RESULT.
TEST_F(McpHttp2026Test, Sdk2ClientOfEitherRevisionListsCallsAndReadsDenials) {
  StartDaemon();
  for (const auto& [mode, version] : std::vector<std::pair<std::string, std::string>>{
           {"pin", "2026-07-28"}, {"auto", "2026-07-28"}, {"default", "2025-11-25"}}) {
    SCOPED_TRACE(mode);
    ProcessResult r =
        RunSdk2(mode, "everything", ev_,
                R"([{"name":"echo","arguments":{"message":"hi"}},)"
                R"({"name":"trigger-sampling-request","arguments":{"prompt":"x","maxTokens":5}}])");
    ASSERT_EQ(r.exit_code, 0) << r.err << daemon_->log();
    const json::value v = ParseLastLine(r.out);
    ASSERT_TRUE(v.is_object()) << r.out;
    EXPECT_EQ(v.at("protocolVersion"), json::value(version));
    EXPECT_EQ(v.at("tools"), (json::array{"echo", "get-env", "get-sum"}));
    const json::array& res = v.at("results").as_array();
    ASSERT_EQ(res.size(), 2u);
    EXPECT_EQ(res[0].at("content").at(0).at("text"), "Echo: hi") << json::serialize(res[0]);
    ASSERT_FALSE(res[1].as_object().contains("thrown")) << json::serialize(res[1]);
    EXPECT_EQ(res[1].at("isError"), true);
    EXPECT_EQ(Text(res[1]).rfind("Interlock denied trigger-sampling-request (TOOL_BLOCKED)", 0),
              0u);
  }
}

// Tests that a body calling a tool under headers saying tools/list is refused 400 -32020
// (HeaderMismatch) before any session or decision, so nothing reaches the server; likewise
// an Mcp-Name naming another tool and a 2026 request without Mcp-Method; and that a call
// whose headers agree (Mcp-Name in the Base64 sentinel form) is served.
TEST_F(McpHttp2026Test, HeaderSayingToolsListOverAToolCallIsRefused) {
  StartDaemon();
  HttpClient& c = *client_;
  struct Case {
    Headers headers;
    std::string body;
  };
  const std::vector<Case> refused = {
      {ModernHeaders("tools/list"), ModernCall(1, "echo")},
      {ModernHeaders("tools/call", "echo"), ModernCall(2, "hang")},
      {ModernHeaders("", "echo"), ModernCall(3, "echo")},
      {ModernHeaders("tools/call"), ModernCall(4, "echo")},
      // The header names the version, the body another.
      {ModernHeaders("tools/call", "echo"),
       ModernCall(5, "echo", {{"io.modelcontextprotocol/protocolVersion", "2025-11-25"}})},
  };
  for (const Case& k : refused) {
    HttpResult r = c.Request("POST", "/mcp/fake", k.body, ta_, 10s, k.headers);
    EXPECT_EQ(r.status, 400) << k.body << r.body;
    ASSERT_TRUE(r.json.is_object()) << r.body;
    EXPECT_EQ(r.json.at("error").at("code"), -32020) << r.body;
  }
  EXPECT_TRUE(FakePids().empty());  // no session, so no server was even started
  EXPECT_TRUE(RunsOf("ta").empty());
  EXPECT_EQ(CallsLog(), "");
  // "echo" as =?base64?ZWNobw==?=: decoded before the comparison, and served.
  HttpResult ok = c.Request("POST", "/mcp/fake", ModernCall(6, "echo"), ta_, 30s,
                            ModernHeaders("tools/call", "=?base64?ZWNobw==?="));
  EXPECT_EQ(ok.status, 200) << ok.body << daemon_->log();
  ASSERT_TRUE(ok.json.is_object()) << ok.body;
  EXPECT_EQ(ok.json.at("result").at("resultType"), "complete") << ok.body;
  EXPECT_EQ(CallsLog(), "echo\n");
}

// Tests that request-metadata headers sent twice (Mcp-Name, Mcp-Method, MCP-Protocol-Version,
// an Mcp-Param-* in either case) are refused 400 with a JSON-RPC error before any session or
// decision: a router in front may act on one copy while the door checks the other.
TEST_F(McpHttp2026Test, DuplicatedMcpHeadersAreRefused) {
  StartDaemon();
  const std::string body = ModernCall(1, "echo");
  auto post = [&](const std::string& extra) {
    return RawExchange(
        daemon_->port(),
        "POST /mcp/fake HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + ta_ +
            "\r\nAccept: application/json, text/event-stream\r\nContent-Type: "
            "application/json\r\nConnection: close\r\n" +
            extra + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body,
        10s);
  };
  const std::string v = "MCP-Protocol-Version: 2026-07-28\r\n";
  const std::string m = "Mcp-Method: tools/call\r\n";
  const std::string n = "Mcp-Name: echo\r\n";
  for (const std::string& extra :
       {v + m + n + "Mcp-Name: hang\r\n", v + m + "Mcp-Method: tools/list\r\n" + n,
        v + "MCP-Protocol-Version: 2025-11-25\r\n" + m + n,
        v + m + n + "Mcp-Param-Text: hi\r\nmcp-param-text: other\r\n"}) {
    const std::string res = post(extra);
    EXPECT_EQ(res.rfind("HTTP/1.1 400", 0), 0u) << extra << res;
    EXPECT_NE(res.find("\"error\""), std::string::npos) << res;
    EXPECT_NE(res.find("repeated"), std::string::npos) << res;
  }
  EXPECT_TRUE(FakePids().empty());  // no session, so no server was even started
  EXPECT_EQ(CallsLog(), "");
  // Each once: served.
  const std::string ok = post(v + m + n);
  EXPECT_EQ(ok.rfind("HTTP/1.1 200", 0), 0u) << ok << daemon_->log();
}

// Tests that two clients sharing one token (one stateless session) who pick the same
// progress token each get the server's progress for their own call on their own stream:
// client A's progress never reaches client B.
TEST_F(McpHttp2026Test, SharedTokenProgressGoesToItsOwnRequestsStream) {
  StartDaemon();
  const json::object token{{"progressToken", 1}};
  auto call = [&](int id, const std::string& text) {
    HttpClient c(daemon_->port());
    return c.Request(
        "POST", "/mcp/fake",
        ModernBody(id, "tools/call",
                   json::object{{"name", "echo"}, {"arguments", {{"text", text}}}}, token),
        ta_, 30s, ModernHeaders("tools/call", "echo"));
  };
  HttpResult a;
  std::thread client_a([&] { a = call(1, "pairA"); });
  ASSERT_TRUE(WaitUntil([&] { return CallsLog() == "echo\n"; }, 30s)) << daemon_->log();
  HttpResult b = call(7, "pairB");
  client_a.join();
  ASSERT_EQ(a.status, 200) << a.body << daemon_->log();
  ASSERT_EQ(b.status, 200) << b.body;
  EXPECT_NE(a.body.find("done-pairA"), std::string::npos) << a.body;
  EXPECT_NE(a.body.find("progress-of-pairA"), std::string::npos) << a.body;
  EXPECT_EQ(a.body.find("pairB"), std::string::npos) << a.body;
  EXPECT_NE(b.body.find("done-pairB"), std::string::npos) << b.body;
  EXPECT_NE(b.body.find("progress-of-pairB"), std::string::npos) << b.body;
  EXPECT_EQ(b.body.find("pairA"), std::string::npos) << b.body;
  // Each client gets its own token back.
  EXPECT_NE(a.body.find("\"progressToken\":1"), std::string::npos) << a.body;
  EXPECT_NE(b.body.find("\"progressToken\":1"), std::string::npos) << b.body;
}

// Tests that an MCP-Protocol-Version Interlock does not serve is answered 400 with
// UnsupportedProtocolVersion (-32022) listing the supported versions (it was a bare -32000),
// and that GET and DELETE under 2026-07-28 (which has neither) are 405.
TEST_F(McpHttp2026Test, UnsupportedVersionIsAnsweredWithTheSupportedList) {
  StartDaemon();
  HttpClient& c = *client_;
  Headers h = testing::McpHeaders("", "1999-01-01");
  h.emplace_back("Mcp-Method", "tools/list");
  HttpResult r = c.Request("POST", "/mcp/fake", ModernBody(9, "tools/list", {}), ta_, 10s, h);
  EXPECT_EQ(r.status, 400) << r.body;
  ASSERT_TRUE(r.json.is_object()) << r.body;
  EXPECT_EQ(r.json.at("id"), 9);
  EXPECT_EQ(r.json.at("error").at("code"), -32022);
  EXPECT_EQ(r.json.at("error").at("data").at("requested"), "1999-01-01");
  EXPECT_EQ(r.json.at("error").at("data").at("supported").at(0), "2026-07-28");
  // A version only in _meta, unknown: the same answer.
  HttpResult meta = c.Request(
      "POST", "/mcp/fake",
      ModernBody(10, "tools/list", {}, {{"io.modelcontextprotocol/protocolVersion", "2099-01-01"}}),
      ta_, 10s, testing::McpHeaders());
  EXPECT_EQ(meta.status, 400) << meta.body;
  EXPECT_EQ(meta.json.at("error").at("code"), -32022) << meta.body;
  Headers get = testing::McpHeaders("", "2026-07-28");
  get[0] = {"Accept", "text/event-stream"};
  EXPECT_EQ(c.Request("GET", "/mcp/fake", "", ta_, 10s, get).status, 405);
  EXPECT_EQ(
      c.Request("DELETE", "/mcp/fake", "", ta_, 10s, testing::McpHeaders("", "2026-07-28")).status,
      405);
  EXPECT_TRUE(FakePids().empty());
}

// Tests that a server/discover probe is answered by the gateway without a session, a run or
// the upstream server, with the versions, capabilities and identity of Interlock.
TEST_F(McpHttp2026Test, DiscoverProbeStartsNoRunAndNoServer) {
  StartDaemon();
  HttpResult r = client_->Request("POST", "/mcp/fake", ModernBody(1, "server/discover", {}), ta_,
                                  10s, ModernHeaders("server/discover"));
  EXPECT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(r.json.is_object()) << r.body;
  const json::value& res = r.json.at("result");
  EXPECT_EQ(res.at("resultType"), "complete");
  EXPECT_EQ(res.at("supportedVersions").at(0), "2026-07-28");
  EXPECT_TRUE(res.at("capabilities").as_object().contains("tools"));
  EXPECT_EQ(res.at("_meta").at("io.modelcontextprotocol/serverInfo").at("name"), "interlock");
  EXPECT_TRUE(FakePids().empty());
  EXPECT_TRUE(RunsOf("ta").empty());
}

// Tests that a 2026 client's requests are tied to one run per agent and bearer token: two
// calls with different _meta (another clientInfo, a made-up run id and agent) share one run
// whose steps count both, while another token of the same agent gets a run of its own and
// another agent's token another agent's run. Nothing in _meta moves a call.
TEST_F(McpHttp2026Test, MetaCannotMoveACallToAnotherRunOrAgent) {
  StartDaemon();
  HttpClient& c = *client_;
  HttpResult a = c.Request("POST", "/mcp/fake", ModernCall(1, "echo"), ta_, 30s,
                           ModernHeaders("tools/call", "echo"));
  ASSERT_EQ(a.status, 200) << a.body << daemon_->log();
  HttpResult b = c.Request("POST", "/mcp/fake",
                           ModernCall(2, "echo",
                                      {{"io.modelcontextprotocol/clientInfo",
                                        json::object{{"name", "someone-else"}, {"version", "9"}}},
                                       {"run_id", "run_0000000000000000"},
                                       {"agent", "tb"},
                                       {"interlock.dev/run", "run_0000000000000000"}}),
                           ta_, 30s, ModernHeaders("tools/call", "echo"));
  ASSERT_EQ(b.status, 200) << b.body;
  json::array runs = RunsOf("ta");
  ASSERT_EQ(runs.size(), 1u) << json::serialize(runs);
  EXPECT_EQ(runs[0].at("steps"), 2) << json::serialize(runs);
  EXPECT_TRUE(RunsOf("tb").empty());
  // Another token of agent ta: another run. Agent tb's token: tb's run.
  const std::string ta2 = CreateToken(daemon_->store(), "--agent", "ta");
  ASSERT_FALSE(ta2.empty());
  EXPECT_EQ(c.Request("POST", "/mcp/fake", ModernCall(3, "echo"), ta2, 30s,
                      ModernHeaders("tools/call", "echo"))
                .status,
            200);
  EXPECT_EQ(RunsOf("ta").size(), 2u);
  EXPECT_EQ(c.Request("POST", "/mcp/fake", ModernCall(4, "echo"), tb_, 30s,
                      ModernHeaders("tools/call", "echo"))
                .status,
            200);
  EXPECT_EQ(RunsOf("tb").size(), 1u);
  EXPECT_EQ(CallsLog(), "echo\necho\necho\necho\n");
}

// Tests that a 2026-07-28 request's _meta.traceparent and _meta.tracestate over
// /mcp/{upstream} are recorded in its decision's audit record, as over stdio.
TEST_F(McpHttp2026Test, MetaTraceContextIsRecordedInTheDecision) {
  StartDaemon();
  const std::string tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  HttpResult a =
      client_->Request("POST", "/mcp/fake",
                       ModernCall(1, "echo", {{"traceparent", tp}, {"tracestate", "vendor=x1"}}),
                       ta_, 30s, ModernHeaders("tools/call", "echo"));
  ASSERT_EQ(a.status, 200) << a.body << daemon_->log();
  const std::string reviewer = CreateToken(daemon_->store(), "--reviewer", "rita");
  HttpResult audit = client_->Request("GET", "/v1/audit?limit=1000", "", reviewer);
  ASSERT_EQ(audit.status, 200) << audit.body;
  int found = 0;
  for (const json::value& rec : audit.json.at("records").as_array()) {
    if (rec.at("type").as_string() != "decision") continue;
    const json::object& data = rec.at("data").as_object();
    if (data.at("tool").as_string() != "echo") continue;
    ++found;
    EXPECT_EQ(data.at("traceparent"), json::value(tp)) << json::serialize(data);
    EXPECT_EQ(data.at("tracestate"), json::value("vendor=x1")) << json::serialize(data);
  }
  EXPECT_EQ(found, 1) << audit.body;
}

// A stdio MCP server whose tool `query` marks `region` x-mcp-header "Region"; records the
// calls it receives in DIR/param-calls.log.
constexpr char kParamServer[] = R"JS(
import { appendFileSync } from "node:fs";
import readline from "node:readline";
const dir = process.argv[2];
const send = (m) => process.stdout.write(JSON.stringify(m) + "\n");
const tools = [{ name: "query", description: "query a region", inputSchema: { type: "object",
  properties: { region: { type: "string", "x-mcp-header": "Region" }, sql: { type: "string" } } } }];
// Calls of echo with a progress token and a text starting "pair" are held until two have
// come, then each gets its progress ("progress-of-<text>") and its result.
const paired = [];
readline.createInterface({ input: process.stdin }).on("line", (line) => {
  const m = JSON.parse(line);
  if (m.method === "initialize") {
    send({ jsonrpc: "2.0", id: m.id, result: { protocolVersion: m.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: "param", version: "1" } } });
  } else if (m.method === "tools/list") {
    send({ jsonrpc: "2.0", id: m.id, result: { tools } });
  } else if (m.method === "tools/call") {
    appendFileSync(`${dir}/param-calls.log`, JSON.stringify(m.params.arguments) + "\n");
    send({ jsonrpc: "2.0", id: m.id, result: { content: [{ type: "text", text: "ok" }] } });
  } else if (m.id !== undefined) {
    send({ jsonrpc: "2.0", id: m.id, result: {} });
  }
});
)JS";

// Tests that an Mcp-Param-Region header disagreeing with the `region` argument its tool
// marks x-mcp-header (a router would send the call to one region while the server queries
// another), a missing one, and one sent without its argument are refused 400 -32020 before
// the call is decided or forwarded; agreeing headers (plain or Base64) are served.
TEST_F(McpHttp2026Test, ParamHeaderDisagreeingWithItsArgumentIsRefused) {
  std::ofstream(policies_ + "/tx.yaml")
      << "agent:\n  id: \"tx\"\n  identity: \"tx@example.iam\"\n  autonomy: audit_based\n"
         "tools:\n  allowed:\n    - name: \"query\"\n";
  const std::string server = dir_.Write("param_server.mjs", kParamServer);
  StartDaemon("",
              "    param:\n      command: [\"node\", \"" + server + "\", \"" + fake_dir_ + "\"]\n");
  const std::string tx = CreateToken(daemon_->store(), "--agent", "tx");
  ASSERT_FALSE(tx.empty());
  HttpClient& c = *client_;
  auto call = [&](int id, const json::object& args, const Headers& extra) {
    Headers h = ModernHeaders("tools/call", "query");
    h.insert(h.end(), extra.begin(), extra.end());
    return c.Request(
        "POST", "/mcp/param",
        ModernBody(id, "tools/call", json::object{{"name", "query"}, {"arguments", args}}), tx, 30s,
        h);
  };
  const json::object eu{{"region", "eu-west1"}, {"sql", "select 1"}};
  for (const auto& [args, extra] : std::vector<std::pair<json::object, Headers>>{
           {eu, {{"Mcp-Param-Region", "us-east1"}}},
           {eu, {}},
           {json::object{{"sql", "select 1"}}, {{"Mcp-Param-Region", "eu-west1"}}},
       }) {
    HttpResult r = call(1, args, extra);
    EXPECT_EQ(r.status, 400) << r.body << daemon_->log();
    ASSERT_TRUE(r.json.is_object()) << r.body;
    EXPECT_EQ(r.json.at("error").at("code"), -32020) << r.body;
  }
  EXPECT_EQ(ReadFile(fake_dir_ + "/param-calls.log"), "");
  HttpResult plain = call(2, eu, {{"mcp-param-region", "eu-west1"}});
  EXPECT_EQ(plain.status, 200) << plain.body;
  HttpResult b64 = call(3, eu, {{"Mcp-Param-Region", "=?base64?ZXUtd2VzdDE=?="}});
  EXPECT_EQ(b64.status, 200) << b64.body;
  HttpResult none = call(4, json::object{{"sql", "select 2"}}, {});
  EXPECT_EQ(none.status, 200) << none.body;
  const std::string log = ReadFile(fake_dir_ + "/param-calls.log");
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 3) << log;
  // Nothing refused was decided: the audit trail holds the three served calls only.
  const std::string admin = CreateToken(daemon_->store(), "--admin", "root");
  HttpResult audit = c.Request("GET", "/v1/audit?agent=tx", "", admin);
  ASSERT_EQ(audit.status, 200) << audit.body;
  size_t decisions = 0;
  for (size_t at = audit.body.find("\"type\":\"decision\""); at != std::string::npos;
       at = audit.body.find("\"type\":\"decision\"", at + 1)) {
    ++decisions;
  }
  EXPECT_EQ(decisions, 3u) << audit.body;
}

// Tests that a 2026 client's tools/list, filtered per agent, is marked cacheScope "private"
// (never for a shared cache) with ttlMs 0 and lists the tools sorted by name.
TEST_F(McpHttp2026Test, FilteredToolListIsPrivateAndSorted) {
  StartDaemon();
  HttpResult r = client_->Request("POST", "/mcp/fake", ModernBody(1, "tools/list", {}), ta_, 30s,
                                  ModernHeaders("tools/list"));
  ASSERT_EQ(r.status, 200) << r.body << daemon_->log();
  const json::value& res = r.json.at("result");
  EXPECT_EQ(res.at("cacheScope"), "private");
  EXPECT_EQ(res.at("ttlMs"), 0);
  EXPECT_EQ(res.at("resultType"), "complete");
  std::vector<std::string> names;
  for (const json::value& t : res.at("tools").as_array())
    names.emplace_back(t.at("name").as_string());
  EXPECT_EQ(names, (std::vector<std::string>{"deploy", "echo", "hang"}));
  // A method the gateway does not serve: 404 with -32601, as the revision asks.
  // (subscriptions/listen is served: McpHttp2026Test.ListenAndParamHeadersReachA2026HttpServer.)
  HttpResult unknown =
      client_->Request("POST", "/mcp/fake", ModernBody(2, "prompts/frobnicate", {}), ta_, 30s,
                       ModernHeaders("prompts/frobnicate"));
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  ASSERT_TRUE(unknown.json.is_object()) << unknown.body;
  EXPECT_EQ(unknown.json.at("error").at("code"), -32601);
}

// Tests the daemon's door in front of a 2026-only Streamable HTTP server (the v2 server SDK,
// node/listen_server.mjs, which refuses a call whose Mcp-Param-Text header is missing or
// wrong), with the SDK 2.x client pinned to 2026-07-28: the call reaches the server with the
// Mcp-Param-Text header the gateway made from the body it forwarded; subscriptions/listen is
// answered (not -32601), forwarded over HTTP and carries the server's tool list change back on
// the client's own stream. And a client (2026 or 2025) whose Mcp-Param-Text says /tmp/ok while
// the body says /etc/passwd is refused 400 -32020 before anything is decided or forwarded.
TEST_F(McpHttp2026Test, ListenAndParamHeadersReachA2026HttpServer) {
  std::ofstream(policies_ + "/md.yaml")
      << "agent:\n  id: \"md\"\n  identity: \"md@example.iam\"\n  autonomy: audit_based\n"
         "tools:\n  allowed:\n    - name: \"echo\"\n    - name: \"confirm\"\n"
         "  blocked:\n    - \"delete_file\"\n";
  const std::string port_file = dir_.path() + "/listen-http.port";
  const std::string log = dir_.path() + "/listen-http.log";
  Background server({"node", kNodeDir + "/listen_server.mjs", "http", log, port_file}, {},
                    dir_.path() + "/listen-http.out");
  ASSERT_TRUE(WaitUntil([&] { return !ReadFile(port_file).empty(); }, 30s))
      << ReadFile(dir_.path() + "/listen-http.out");
  StartDaemon("",
              "    listen-http:\n      url: http://127.0.0.1:" + ReadFile(port_file) + "/mcp\n");
  ASSERT_FALSE(md_.empty());
  ProcessResult r =
      RunProcess({"/usr/bin/env", "INTERLOCK_TOKEN=" + md_, "node",
                  kNodeDir + "/sdk2_listen_client.mjs", "/etc/passwd", "--url", Url("listen-http")},
                 "", 120s);
  ASSERT_EQ(r.exit_code, 0) << r.err << daemon_->log();
  const json::value v = ParseLastLine(r.out);
  ASSERT_TRUE(v.is_object()) << r.out;
  EXPECT_EQ(v.at("tools"), (json::array{"confirm", "echo"})) << r.out;
  EXPECT_EQ(v.at("results").at(0).at("content").at(0).at("text"), "echo: /etc/passwd") << r.out;
  EXPECT_EQ(v.at("results").at(1).at("content").at(0).at("text"), "changed tools") << r.out;
  EXPECT_EQ(v.at("honored"), (json::object{{"toolsListChanged", true}})) << r.out;
  EXPECT_EQ(v.at("changes"), 1) << r.out << daemon_->log();
  EXPECT_EQ(v.at("closed"), "local") << r.out;
  // The server got the header of the argument it ran with.
  EXPECT_NE(ReadFile(log).find("echo\t{\"text\":\"/etc/passwd\"}\t/etc/passwd\n"),
            std::string::npos)
      << ReadFile(log);
  Headers h = ModernHeaders("tools/call", "echo");
  h.emplace_back("Mcp-Param-Text", "/tmp/ok");
  HttpResult lie = client_->Request(
      "POST", "/mcp/listen-http",
      ModernBody(9, "tools/call",
                 json::object{{"name", "echo"}, {"arguments", {{"text", "/etc/passwd"}}}}),
      md_, 30s, h);
  EXPECT_EQ(lie.status, 400) << lie.body;
  ASSERT_TRUE(lie.json.is_object()) << lie.body;
  EXPECT_EQ(lie.json.at("error").at("code"), -32020) << lie.body;
  // The same lie from a 2025 client (its own session) is refused the same way.
  const std::string session = OpenSession(*client_, md_, "listen-http");
  Headers legacy = testing::McpHeaders(session, "2025-06-18");
  legacy.emplace_back("Mcp-Param-Text", "/tmp/ok");
  HttpResult old_lie = client_->Request(
      "POST", "/mcp/listen-http", Call(10, "echo", R"({"text":"/etc/passwd"})"), md_, 30s, legacy);
  EXPECT_EQ(old_lie.status, 400) << old_lie.body;
  ASSERT_TRUE(old_lie.json.is_object()) << old_lie.body;
  EXPECT_EQ(old_lie.json.at("error").at("code"), -32020) << old_lie.body;
  const std::string calls = ReadFile(log);
  EXPECT_EQ(std::count(calls.begin(), calls.end(), '\n'), 2) << calls;  // echo and confirm
}

// Tests that in front of a 2025 server (server-everything) the daemon's door serves the SDK
// 2.x client's subscriptions/listen itself: acknowledged on the request's own stream with the
// list-change kinds it asked for, and closed by the client; the calls beside it are decided as
// usual.
TEST_F(McpHttp2026Test, ListenToA2025ServerIsServedByTheGateway) {
  StartDaemon();
  ProcessResult r =
      RunProcess({"/usr/bin/env", "INTERLOCK_TOKEN=" + ev_, "LISTEN_WAIT_MS=500", "node",
                  kNodeDir + "/sdk2_listen_client.mjs", "hi", "--url", Url("everything")},
                 "", 120s);
  ASSERT_EQ(r.exit_code, 0) << r.err << daemon_->log();
  const json::value v = ParseLastLine(r.out);
  ASSERT_TRUE(v.is_object()) << r.out;
  EXPECT_EQ(v.at("honored"),
            (json::object{{"toolsListChanged", true}, {"promptsListChanged", true}}))
      << r.out;
  // Decided as usual: everything's echo takes `message` (a schema refusal), confirm is not
  // allowed.
  const auto code = [&](int i) {
    return v.at("results").at(i).at("_meta").at("interlock.dev/decision").at("code");
  };
  EXPECT_EQ(code(0), "INVALID_REQUEST") << r.out;
  EXPECT_EQ(code(1), "TOOL_NOT_ALLOWED") << r.out;
  // server-everything announces a tool list change of its own after it starts: relayed on
  // the subscription when it comes while the client listens (at most once here).
  EXPECT_LE(v.at("changes").as_int64(), 1) << r.out;
  EXPECT_EQ(v.at("closed"), "local") << r.out;
}

// Tests that a 2026 client's stateless requests count against one run's budget exactly: with
// execution.max_steps 2, the third call of the same token is denied BUDGET_EXCEEDED and not
// forwarded, whatever its _meta says (no fresh run per request).
TEST_F(McpHttp2026Test, StatelessRequestsCannotEscapeTheRunsStepBudget) {
  std::ofstream(policies_ + "/tq.yaml")
      << "agent:\n  id: \"tq\"\n  identity: \"tq@example.iam\"\n  autonomy: audit_based\n"
         "tools:\n  allowed:\n    - name: \"echo\"\n"
         "execution:\n  max_steps: 2\n";
  StartDaemon();
  const std::string tq = CreateToken(daemon_->store(), "--agent", "tq");
  ASSERT_FALSE(tq.empty());
  HttpClient& c = *client_;
  for (int id = 1; id <= 3; ++id) {
    HttpResult r = c.Request(
        "POST", "/mcp/fake",
        ModernCall(id, "echo",
                   {{"io.modelcontextprotocol/clientInfo",
                     json::object{{"name", "fresh-" + std::to_string(id)}, {"version", "1"}}}}),
        tq, 30s, ModernHeaders("tools/call", "echo"));
    ASSERT_EQ(r.status, 200) << r.body << daemon_->log();
    if (id < 3) {
      EXPECT_FALSE(r.json.at("result").as_object().contains("isError")) << r.body;
    } else {
      EXPECT_EQ(r.json.at("result").at("isError"), true) << r.body;
      EXPECT_EQ(r.json.at("result").at("_meta").at("interlock.dev/decision").at("code"),
                "BUDGET_EXCEEDED")
          << r.body;
    }
  }
  EXPECT_EQ(CallsLog(), "echo\necho\n");
  EXPECT_EQ(RunsOf("tq").size(), 1u);
}

// The retry of a 2026-07-28 tools/call of `tool` answered input_required: the same call
// with the requestState it was given.
std::string ModernRetry(int id, const std::string& tool, const std::string& state) {
  json::object meta{
      {"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
      {"io.modelcontextprotocol/clientCapabilities", json::object{}},
      {"io.modelcontextprotocol/clientInfo", json::object{{"name", "raw2026"}, {"version", "1"}}}};
  return json::serialize(json::object{{"jsonrpc", "2.0"},
                                      {"id", id},
                                      {"method", "tools/call"},
                                      {"params", json::object{{"name", tool},
                                                              {"arguments", {{"text", "hi"}}},
                                                              {"requestState", state},
                                                              {"_meta", std::move(meta)}}}});
}

// The JSON-RPC answer of a POST, sent as JSON or (when it took longer than sse_after_ms) as
// the last `data:` event of an SSE stream; null when there is none.
json::value AnswerOf(const HttpResult& r) {
  if (r.json.is_object()) return r.json;
  json::value last;
  std::istringstream lines(r.body);
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with("data:")) continue;
    boost::system::error_code ec;
    json::value v = json::parse(line.substr(5), ec);
    if (!ec && v.is_object() &&
        (v.as_object().contains("result") || v.as_object().contains("error"))) {
      last = std::move(v);
    }
  }
  return last;
}

// Audit records of agent `agent` whose canonical body holds `q` (GET /v1/audit as `token`).
json::array AuditRecords(int port, const std::string& token, const std::string& agent,
                         const std::string& q) {
  std::string encoded;
  for (char ch : q) encoded += ch == ' ' ? std::string("%20") : std::string(1, ch);
  HttpClient c(port);
  HttpResult r = c.Request("GET", "/v1/audit?agent=" + agent + "&q=" + encoded, "", token);
  if (r.status != 200 || !r.json.is_object()) return {};
  return r.json.at("records").as_array();
}

// Tests that a requestState the daemon issued before it restarted (stopped, then started on
// the same store and keys directory) opens after the restart: the approval was not
// withdrawn nor the run ended with the stateless session, the client's retry lands in a
// new run and is answered with the reviewer's verdict of its call (the server gets the
// call once). Replaying the state, to the same daemon or after a crash and restart (whose
// replay memory never saw it), is refused and recorded, and forwards nothing.
TEST_F(McpHttp2026Test, RequestStateIssuedBeforeADaemonRestartOpensAfterIt) {
  StartDaemon();
  HttpResult first = client_->Request("POST", "/mcp/fake", ModernCall(1, "deploy"), ta_, 30s,
                                      ModernHeaders("tools/call", "deploy"));
  ASSERT_EQ(first.status, 200) << first.body << daemon_->log();
  ASSERT_EQ(AnswerOf(first).at("result").at("resultType"), "input_required") << first.body;
  const std::string state(AnswerOf(first).at("result").at("requestState").as_string());
  const std::string approval(AnswerOf(first)
                                 .at("result")
                                 .at("_meta")
                                 .at("interlock.dev/approval")
                                 .at("approval_id")
                                 .as_string());
  ASSERT_EQ(daemon_->Stop(), 0) << daemon_->log();
  ASSERT_TRUE(daemon_->Start()) << daemon_->log();
  HttpClient c(daemon_->port());
  HttpResult approve =
      c.Request("POST", "/v1/approvals/" + approval, R"({"verdict":"approve"})", reviewer_);
  ASSERT_EQ(approve.status, 200) << approve.body;
  HttpResult retry = c.Request("POST", "/mcp/fake", ModernRetry(2, "deploy", state), ta_, 30s,
                               ModernHeaders("tools/call", "deploy"));
  ASSERT_EQ(retry.status, 200) << retry.body << daemon_->log();
  ASSERT_TRUE(AnswerOf(retry).is_object()) << retry.body;
  EXPECT_FALSE(AnswerOf(retry).at("result").as_object().contains("isError")) << retry.body;
  EXPECT_EQ(CallsLog(), "deploy\n");

  HttpResult replay = c.Request("POST", "/mcp/fake", ModernRetry(3, "deploy", state), ta_, 30s,
                                ModernHeaders("tools/call", "deploy"));
  ASSERT_EQ(replay.status, 200) << replay.body;
  EXPECT_EQ(AnswerOf(replay).at("result").at("isError"), true) << replay.body;
  daemon_->Kill9();
  ASSERT_TRUE(daemon_->Start()) << daemon_->log();
  HttpClient c2(daemon_->port());
  HttpResult late = c2.Request("POST", "/mcp/fake", ModernRetry(4, "deploy", state), ta_, 30s,
                               ModernHeaders("tools/call", "deploy"));
  ASSERT_EQ(late.status, 200) << late.body << daemon_->log();
  ASSERT_TRUE(AnswerOf(late).is_object()) << late.body;
  EXPECT_EQ(AnswerOf(late).at("result").at("isError"), true) << late.body;
  EXPECT_NE(Text(AnswerOf(late).at("result")).find("already released its call"), std::string::npos)
      << late.body;
  EXPECT_EQ(CallsLog(), "deploy\n") << "one grant ran the call twice";
  EXPECT_EQ(AuditRecords(daemon_->port(), reviewer_, "ta", "already released its call").size(), 1u);
}

// Tests that a requestState sealed by a daemon holding other keys (its own store and keys
// directory) does not open here: refused as not verifying, recorded, and nothing forwarded.
TEST_F(McpHttp2026Test, RequestStateOfADaemonWithOtherKeysIsRefusedAndRecorded) {
  StartDaemon();
  TempDir other_dir;
  Daemon other(other_dir.path(), policies_, dir_.path() + "/interlock.yaml");
  const std::string other_ta = CreateToken(other.store(), "--agent", "ta");
  ASSERT_FALSE(other_ta.empty());
  ASSERT_TRUE(other.Start()) << other.log();
  HttpClient oc(other.port());
  HttpResult first = oc.Request("POST", "/mcp/fake", ModernCall(1, "deploy"), other_ta, 30s,
                                ModernHeaders("tools/call", "deploy"));
  ASSERT_EQ(first.status, 200) << first.body << other.log();
  ASSERT_EQ(AnswerOf(first).at("result").at("resultType"), "input_required") << first.body;
  const std::string state(AnswerOf(first).at("result").at("requestState").as_string());
  EXPECT_EQ(other.Stop(), 0) << other.log();

  HttpResult retry = client_->Request("POST", "/mcp/fake", ModernRetry(2, "deploy", state), ta_,
                                      30s, ModernHeaders("tools/call", "deploy"));
  ASSERT_EQ(retry.status, 200) << retry.body << daemon_->log();
  EXPECT_EQ(AnswerOf(retry).at("result").at("isError"), true) << retry.body;
  EXPECT_NE(Text(AnswerOf(retry).at("result")).find("does not verify"), std::string::npos)
      << retry.body;
  EXPECT_EQ(CallsLog(), "");
  EXPECT_EQ(AuditRecords(daemon_->port(), reviewer_, "ta", "does not verify").size(), 1u);
}

// Tests that a 2025 client (the v1 SDK over Streamable HTTP) reaches a 2026-only server
// behind the daemon, over stdio and over HTTP: the filtered list, an allowed call
// forwarded, a denied call never reaching the server, and a call for which the server
// needs input the 2025 client cannot give through Interlock failing with the server's own
// error (-32021), not passed on as a question nobody answers.
TEST_F(McpHttpTest, LegacyClientReachesModernOnlyUpstreams) {
  std::unique_ptr<Background> server;
  StartModernDaemon(&server);
  for (const std::string upstream : {"modern", "modern-http"}) {
    SCOPED_TRACE(upstream);
    ProcessResult via = RunSdk(upstream, md_,
                               R"([{"name":"echo","arguments":{"text":"hi"}},)"
                               R"({"name":"delete_file","arguments":{"path":"/etc/passwd"}},)"
                               R"({"name":"confirm","arguments":{"what":"deploy"}}])",
                               "--terminate");
    ASSERT_EQ(via.exit_code, 0) << via.err << daemon_->log();
    const json::value v = ParseLastLine(via.out);
    ASSERT_TRUE(v.is_object()) << via.out;
    SCOPED_TRACE(via.out);
    EXPECT_EQ(v.at("tools"), (json::array{"confirm", "echo"}));
    const json::array& r = v.at("results").as_array();
    ASSERT_EQ(r.size(), 3u) << via.out;
    EXPECT_EQ(Text(r[0]), "echo: hi");
    EXPECT_EQ(Text(r[1]).rfind("Interlock denied delete_file (TOOL_BLOCKED)", 0), 0u) << Text(r[1]);
    EXPECT_NE(json::serialize(r[2]).find("-32021"), std::string::npos) << r[2];
    const std::string log = ReadFile(dir_.path() + "/" + upstream + ".log");
    EXPECT_NE(log.find("echo\t"), std::string::npos) << log;
    EXPECT_EQ(log.find("delete_file"), std::string::npos) << log;
  }
}

// Tests that a request naming a revision nobody serves, in a session to a 2026 server (HTTP
// and stdio), is answered -32022 with the versions the gateway serves, not a -32603. (A
// server's own -32022 as it came:
// HttpUpstreamTest.ModernRequestHeadersAndTheServersOwnErrorAsItCame.)
TEST_F(McpHttpTest, UnsupportedVersionToAModernUpstreamIsMinus32022WithTheServedList) {
  std::unique_ptr<Background> server;
  StartModernDaemon(&server);
  for (const std::string upstream : {"modern", "modern-http"}) {
    SCOPED_TRACE(upstream);
    HttpClient c(daemon_->port());
    const std::string session = OpenSession(c, md_, upstream);
    HttpResult r = c.Request("POST", "/mcp/" + upstream,
                             R"({"jsonrpc":"2.0","id":7,"method":"tools/list","params":{"_meta":{)"
                             R"("io.modelcontextprotocol/protocolVersion":"1900-01-01",)"
                             R"("io.modelcontextprotocol/clientCapabilities":{}}}})",
                             md_, 30s, testing::McpHeaders(session, "2025-06-18"));
    std::string body = r.body;
    const size_t data = body.find("data: ");
    if (data != std::string::npos) body = body.substr(data + 6);
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    ASSERT_FALSE(ec) << r.body;
    EXPECT_EQ(v.at("id"), 7);
    EXPECT_EQ(v.at("error").at("code"), -32022) << r.body;
    EXPECT_EQ(v.at("error").at("data").at("supported"),
              (json::array{"2026-07-28", "2025-11-25", "2025-06-18"}))
        << r.body;
  }
}

// Tests that an `initialize` sent under 2026-07-28 (a method that revision removed) is
// answered 404 -32601 and changes nothing: the token's later 2026-07-28 requests are still
// served as a 2026-07-28 client's (before, it made the stateless session a 2025 client's, so
// results lost their caching hints and input_required was refused). Found by the conformance
// suite's server-stateless scenario.
TEST_F(McpHttp2026Test, AttackInitializeUnder2026DoesNotMakeTheTokensSessionLegacy) {
  StartDaemon();
  HttpResult init = client_->Request(
      "POST", "/mcp/fake",
      ModernBody(1, "initialize",
                 json::object{{"protocolVersion", "2025-11-25"},
                              {"capabilities", json::object{}},
                              {"clientInfo", json::object{{"name", "x"}, {"version", "1"}}}}),
      ta_, 30s, ModernHeaders("initialize"));
  EXPECT_EQ(init.status, 404) << init.body;
  ASSERT_TRUE(init.json.is_object()) << init.body;
  EXPECT_EQ(init.json.at("error").at("code"), -32601) << init.body;
  HttpResult list = client_->Request("POST", "/mcp/fake", ModernBody(2, "tools/list", {}), ta_, 30s,
                                     ModernHeaders("tools/list"));
  ASSERT_EQ(list.status, 200) << list.body;
  const json::value answer = AnswerOf(list);
  EXPECT_EQ(answer.at("result").at("cacheScope"), "private") << list.body;
  EXPECT_EQ(answer.at("result").at("resultType"), "complete") << list.body;
}

// Tests that a 2026-07-28 request without the _meta keys the revision requires (its version,
// the client's capabilities) is refused 400 -32602 before anything, and that headers that
// disagree with a well-formed body are -32020 even when the body names a version Interlock
// does not serve (the mismatch is checked first).
TEST_F(McpHttp2026Test, RequestWithoutItsMetaKeysIsInvalidParams) {
  StartDaemon();
  const std::string no_caps = json::serialize(json::object{
      {"jsonrpc", "2.0"},
      {"id", 1},
      {"method", "tools/list"},
      {"params", json::object{{"_meta", json::object{{"io.modelcontextprotocol/protocolVersion",
                                                      "2026-07-28"}}}}}});
  const std::string no_meta = R"({"jsonrpc":"2.0","id":2,"method":"tools/list","params":{}})";
  for (const std::string& body : {no_caps, no_meta}) {
    HttpResult r =
        client_->Request("POST", "/mcp/fake", body, ta_, 30s, ModernHeaders("tools/list"));
    EXPECT_EQ(r.status, 400) << r.body;
    ASSERT_TRUE(r.json.is_object()) << r.body;
    EXPECT_EQ(r.json.at("error").at("code"), -32602) << r.body;
  }
  HttpResult mismatch = client_->Request(
      "POST", "/mcp/fake",
      ModernBody(3, "tools/list", {}, {{"io.modelcontextprotocol/protocolVersion", "2099-01-01"}}),
      ta_, 30s, ModernHeaders("tools/list"));
  EXPECT_EQ(mismatch.status, 400) << mismatch.body;
  ASSERT_TRUE(mismatch.json.is_object()) << mismatch.body;
  EXPECT_EQ(mismatch.json.at("error").at("code"), -32020) << mismatch.body;
  EXPECT_TRUE(RunsOf("ta").empty());
}

// ---------------------------------------------------------------------------------------
// The tasks extension (io.modelcontextprotocol/tasks; docs/mcp.md#tasks) through the daemon's
// 2026-07-28 door, to node/tasks_server.mjs over stdio ("tasks") and over Streamable HTTP
// ("tasks-http", which refuses a tasks/* request whose Mcp-Name is not its taskId).
class McpHttpTasksTest : public McpHttp2026Test {
 protected:
  void SetUp() override {
    McpHttp2026Test::SetUp();
    std::ofstream(policies_ + "/md.yaml")
        << "agent:\n  id: \"md\"\n  identity: \"md@example.iam\"\n  autonomy: audit_based\n"
           "tools:\n  allowed:\n    - name: \"build\"\n      scope: [\"target\"]\n"
           "    - name: \"approve\"\n    - name: \"echo\"\n";
  }
  void StartTasksDaemon() {
    const std::string port_file = dir_.path() + "/tasks-http.port";
    http_server_ = std::make_unique<Background>(
        std::vector<std::string>{"node", kNodeDir + "/tasks_server.mjs", "http",
                                 dir_.path() + "/tasks-http.log", port_file},
        std::vector<std::string>{}, dir_.path() + "/tasks-http.out");
    ASSERT_TRUE(WaitUntil([&] { return !ReadFile(port_file).empty(); }, 30s))
        << ReadFile(dir_.path() + "/tasks-http.out");
    StartDaemon("", "    tasks:\n      command: [\"node\", \"" + kNodeDir +
                        "/tasks_server.mjs\", \"stdio\", \"" + dir_.path() +
                        "/tasks.log\"]\n    tasks-http:\n      url: http://127.0.0.1:" +
                        ReadFile(port_file) + "/mcp\n");
    ASSERT_FALSE(md_.empty());
    admin_ = CreateToken(daemon_->store(), "--admin", "root");
  }
  std::string ServerLog(const std::string& upstream) const {
    return ReadFile(dir_.path() + "/" + upstream + ".log");
  }
  static json::object TasksMeta() {
    return json::object{{"io.modelcontextprotocol/clientCapabilities",
                         {{"extensions", {{"io.modelcontextprotocol/tasks", json::object{}}}}}}};
  }
  // tools/call of `tool` declaring the extension; the JSON-RPC answer.
  json::value CallTool(const std::string& upstream, int id, const std::string& tool,
                       json::object args, const std::string& token) {
    HttpResult r = client_->Request(
        "POST", "/mcp/" + upstream,
        ModernBody(id, "tools/call", json::object{{"name", tool}, {"arguments", std::move(args)}},
                   TasksMeta()),
        token, 30s, ModernHeaders("tools/call", tool));
    EXPECT_EQ(r.status, 200) << r.body << daemon_->log();
    return AnswerOf(r);
  }
  // tasks/get, tasks/update or tasks/cancel of `task`; `name`: the Mcp-Name header sent.
  HttpResult TaskRequest(const std::string& upstream, int id, const std::string& method,
                         const std::string& task, const std::string& token, json::object extra = {},
                         std::optional<std::string> name = {}) {
    extra["taskId"] = task;
    return client_->Request("POST", "/mcp/" + upstream,
                            ModernBody(id, method, std::move(extra), TasksMeta()), token, 30s,
                            ModernHeaders(method, name ? *name : task));
  }
  // Polls tasks/get until the task's status is not `while_status` (at most 20 polls).
  json::value PollWhile(const std::string& upstream, int* id, const std::string& task,
                        const std::string& while_status) {
    json::value last;
    for (int i = 0; i < 20; ++i) {
      last = AnswerOf(TaskRequest(upstream, (*id)++, "tasks/get", task, md_));
      const json::value* status = last.is_object() && last.as_object().contains("result")
                                      ? last.at("result").as_object().if_contains("status")
                                      : nullptr;
      if (status == nullptr || *status != json::value(while_status)) return last;
      std::this_thread::sleep_for(50ms);  // pace: a bounded tasks/get poll of the task
    }
    return last;
  }
  std::unique_ptr<Background> http_server_;
  std::string admin_;
};

// Tests a task's whole life through the daemon against a stdio and an HTTP server: the call
// is decided once; the server made a task; tasks/get without Mcp-Name is refused 400 -32020
// before anything; another agent asking about the task is told it does not exist (and the
// server never hears of it); the completed result reaches the client reduced to the tool's
// scope; the audit holds one decision and one result with the tool's output.
TEST_F(McpHttpTasksTest, TaskIsDecidedOnceRecordedOnceAndPrivateToItsAgent) {
  StartTasksDaemon();
  int id = 1;
  for (const std::string upstream : {"tasks", "tasks-http"}) {
    SCOPED_TRACE(upstream);
    const json::value created = CallTool(upstream, id++, "build", {{"target", upstream}}, md_);
    ASSERT_TRUE(created.is_object()) << daemon_->log();
    ASSERT_EQ(created.at("result").at("resultType"), "task") << json::serialize(created);
    const std::string task(created.at("result").at("taskId").as_string());

    HttpResult unnamed = TaskRequest(upstream, id++, "tasks/get", task, md_, {}, "");
    EXPECT_EQ(unnamed.status, 400) << unnamed.body;
    HttpResult misnamed = TaskRequest(upstream, id++, "tasks/get", task, md_, {}, "other-task");
    EXPECT_EQ(misnamed.status, 400) << misnamed.body;
    ASSERT_TRUE(misnamed.json.is_object()) << misnamed.body;
    EXPECT_EQ(misnamed.json.at("error").at("code"), -32020);

    const size_t gets_before = Count(ServerLog(upstream), "tasks/get\t");
    const json::value stranger = AnswerOf(TaskRequest(upstream, id++, "tasks/get", task, ta_));
    ASSERT_TRUE(stranger.is_object());
    EXPECT_EQ(stranger.at("error").at("code"), -32602) << json::serialize(stranger);
    EXPECT_EQ(Count(ServerLog(upstream), "tasks/get\t"), gets_before);

    const json::value done = PollWhile(upstream, &id, task, "working");
    ASSERT_TRUE(done.is_object()) << daemon_->log();
    ASSERT_EQ(done.at("result").at("status"), "completed") << json::serialize(done);
    EXPECT_EQ(done.at("result").at("result").at("content").at(0).at("text"),
              json::value("built " + upstream));
    EXPECT_EQ(done.at("result").at("result").at("structuredContent"),
              (json::object{{"target", upstream}}));
    // Polled again: the same answer, recorded once.
    (void)AnswerOf(TaskRequest(upstream, id++, "tasks/get", task, md_));
    const json::array results = AuditRecords(daemon_->port(), admin_, "md", "built " + upstream);
    size_t result_records = 0;
    for (const json::value& rec : results) result_records += rec.at("type") == "result" ? 1 : 0;
    EXPECT_EQ(result_records, 1u) << json::serialize(results);
    EXPECT_EQ(Count(ServerLog(upstream), "tools/call\t"), 1u);
  }
  HttpClient c(daemon_->port());
  HttpResult audit = c.Request("GET", "/v1/audit?agent=md&limit=1000", "", admin_);
  ASSERT_EQ(audit.status, 200) << audit.body;
  EXPECT_EQ(Count(audit.body, "\"type\":\"decision\""), 2u) << audit.body;
  // The record holds what the tool returned, as for a synchronous call (the client got the
  // scoped view).
  EXPECT_NE(audit.body.find("tok-"), std::string::npos);
}

// Tests that a task asking for input is answered with tasks/update (only the key it asked),
// then completes with the answer, through both transports.
TEST_F(McpHttpTasksTest, TaskInputIsAnsweredWithTasksUpdate) {
  StartTasksDaemon();
  int id = 1;
  for (const std::string upstream : {"tasks", "tasks-http"}) {
    SCOPED_TRACE(upstream);
    const json::value created = CallTool(upstream, id++, "approve", {{"what", "deploy"}}, md_);
    ASSERT_EQ(created.at("result").at("status"), "input_required") << json::serialize(created);
    const std::string task(created.at("result").at("taskId").as_string());
    EXPECT_EQ(created.at("result").at("inputRequests").at("ok").at("method"), "elicitation/create");
    const json::value wrong = AnswerOf(TaskRequest(
        upstream, id++, "tasks/update", task, md_,
        {{"inputResponses", {{"other", {{"action", "accept"}, {"content", {{"yes", true}}}}}}}}));
    // A reply to nothing the task asked is ignored (acknowledged, never forwarded).
    EXPECT_EQ(wrong.at("result").at("resultType"), "complete") << json::serialize(wrong);
    const json::value ack = AnswerOf(TaskRequest(
        upstream, id++, "tasks/update", task, md_,
        {{"inputResponses", {{"ok", {{"action", "accept"}, {"content", {{"yes", true}}}}}}}}));
    EXPECT_TRUE(ack.as_object().contains("result")) << json::serialize(ack);
    const json::value done = PollWhile(upstream, &id, task, "working");
    ASSERT_EQ(done.at("result").at("status"), "completed") << json::serialize(done);
    EXPECT_EQ(done.at("result").at("result").at("content").at(0).at("text"),
              "approved deploy: yes");
    EXPECT_EQ(Count(ServerLog(upstream), "tasks/update\t"), 1u);
  }
}

// Tests that an agent's kill switch engaged while its task runs stops the task at the next
// poll: the client sees it failed with KILL_SWITCH, the server is asked to cancel it, and the
// call's record says so.
TEST_F(McpHttpTasksTest, KillSwitchEngagedWhileATaskRunsCancelsIt) {
  StartTasksDaemon();
  const json::value created = CallTool("tasks-http", 1, "build", {{"target", "prod"}}, md_);
  ASSERT_EQ(created.at("result").at("resultType"), "task") << json::serialize(created);
  const std::string task(created.at("result").at("taskId").as_string());
  HttpClient c(daemon_->port());
  ASSERT_EQ(
      c.Request("POST", "/v1/kill",
                R"({"scope":"agent","target":"md","engaged":true,"reason":"incident"})", admin_)
          .status,
      200);
  const json::value stopped = AnswerOf(TaskRequest("tasks-http", 2, "tasks/get", task, md_));
  ASSERT_TRUE(stopped.is_object()) << daemon_->log();
  EXPECT_EQ(stopped.at("result").at("status"), "failed") << json::serialize(stopped);
  EXPECT_NE(json::serialize(stopped).find("KILL_SWITCH"), std::string::npos);
  EXPECT_TRUE(WaitUntil([&] { return Count(ServerLog("tasks-http"), "tasks/cancel\t") == 1; }, 10s))
      << ServerLog("tasks-http");
  EXPECT_EQ(Count(ServerLog("tasks-http"), "tasks/get\t"), 0u);
  const json::array killed = AuditRecords(daemon_->port(), admin_, "md", "KILL_SWITCH");
  bool recorded = false;
  for (const json::value& rec : killed) recorded = recorded || rec.at("type") == "result";
  EXPECT_TRUE(recorded) << json::serialize(killed);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock
