// Integration tests of `--daemon URL --token-env NAME` for the Claude Code hook and the
// stdio MCP gateway: the real `interlock serve` (daemon harness, 127.0.0.1 port 0, temp
// store) decides, holds approvals and records results; a small fake MCP server (a node
// script written into the temp directory) logs every call it receives.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "daemon_client/daemon_client.h"
#include "daemon_harness.h"
#include "json_lines.h"
#include "mcp/daemon_enforcer.h"
#include "piped_child.h"
#include "subprocess.h"
#include "temp_dir.h"
#include "test_paths.h"
#include "wait.h"

namespace interlock::testing {
namespace INTERLOCK_TEST_NS {

using interlock::testing::WaitUntil;

namespace json = boost::json;
using namespace std::chrono_literals;

using testing::kInterlock;
using testing::kNodeDir;

constexpr char kHookPolicy[] = R"(agent:
  id: "cc-agent"
  identity: "cc-agent@example.iam"
tools:
  allowed:
    - name: "Read"
    - name: "Edit"
      requires_approval: true
      approval_timeout_seconds: 300
    - name: "Deploy"
      requires_approval: true
      approvals_required: 2
      approval_timeout_seconds: 300
  blocked:
    - "Bash"
execution:
  max_steps: 1000
)";

constexpr char kMcpPolicy[] = R"(agent:
  id: "mcp-agent"
  identity: "mcp-agent@example.iam"
tools:
  allowed:
    - name: "echo"
    - name: "send_email"
      requires_approval: true
      approval_timeout_seconds: 300
  blocked:
    - "write_file"
execution:
  max_steps: 1000
)";

// echo writes no labels: it takes them from its MCP annotations, and the fake server's tools
// declare none, so they get every default (destructive among them). send_email writes
// `labels: []`: the policy wins.
constexpr char kAnnotationPolicy[] = R"(agent:
  id: "ann-agent"
  identity: "ann-agent@example.iam"
tools:
  allowed:
    - name: "echo"
    - name: "send_email"
      labels: []
flows:
  - {name: "no-destruction", from: [destructive], to: [destructive], action: deny}
execution:
  max_steps: 1000
)";

// A minimal MCP server over stdio: initialize, tools/list, tools/call (echoes the
// arguments and appends the call to the log file given as argv[2]).
constexpr char kFakeServer[] = R"JS(
const fs = require('fs');
const log = process.argv[2];
const readline = require('readline');
const rl = readline.createInterface({ input: process.stdin });
const schema = { type: 'object', properties: { text: { type: 'string' } } };
const tools = ['echo', 'write_file', 'send_email'].map(
  (name) => ({ name, description: name + ' tool', inputSchema: schema }));
function send(m) { process.stdout.write(JSON.stringify(m) + '\n'); }
rl.on('line', (line) => {
  const m = JSON.parse(line);
  if (m.id === undefined) return;
  if (m.method === 'initialize') {
    send({ jsonrpc: '2.0', id: m.id, result: { protocolVersion: m.params.protocolVersion,
      capabilities: { tools: {} }, serverInfo: { name: 'fake', version: '1' } } });
  } else if (m.method === 'tools/list') {
    send({ jsonrpc: '2.0', id: m.id, result: { tools } });
  } else if (m.method === 'tools/call') {
    fs.appendFileSync(log, m.params.name + '\n');
    send({ jsonrpc: '2.0', id: m.id, result: { content: [{ type: 'text',
      text: m.params.name + ':' + JSON.stringify(m.params.arguments) }] } });
  } else {
    send({ jsonrpc: '2.0', id: m.id, error: { code: -32601, message: 'no method' } });
  }
});
)JS";

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A child process with pipes on stdin and stdout (stderr goes to a file), killed and
// reaped on destruction.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::string& err_path) {
    PipedSpawnOptions options;
    options.err_path = err_path;
    options.own_group = true;
    const PipedSpawn s = SpawnPiped(argv, options);
    pid_ = s.pid;
    in_ = s.in;
    out_ = s.out;
  }
  ~Child() {
    CloseStdin();
    if (out_ >= 0) close(out_);
    if (pid_ > 0) {
      // Give it a moment to end on its own (client EOF), then kill the group.
      if (!WaitUntil([&] { return waitpid(pid_, nullptr, WNOHANG) != 0; }, 2500ms, 50ms)) {
        kill(-pid_, SIGKILL);
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
      }
    }
  }
  void Send(const std::string& line) {
    const std::string l = line + "\n";
    ASSERT_EQ(write(in_, l.data(), l.size()), static_cast<ssize_t>(l.size()));
  }
  void CloseStdin() {
    if (in_ >= 0) close(in_);
    in_ = -1;
  }
  // The next line on stdout, or "" after the timeout or EOF.
  std::string ReadLine(std::chrono::milliseconds timeout) { return lines_.ReadLine(out_, timeout); }
  // Reads lines until the response with this id arrives.
  json::value Response(int id, std::chrono::milliseconds timeout = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      std::string line = ReadLine(std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now()));
      if (line.empty()) break;
      json::value v = json::parse(line);
      if (v.is_object() && v.as_object().contains("id") && v.at("id").is_int64() &&
          v.at("id").as_int64() == id) {
        return v;
      }
    }
    return nullptr;
  }

 private:
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1;
  PipeLines lines_;
};

std::string CallLine(int id, const std::string& tool, const json::object& args) {
  return json::serialize(
      json::object{{"jsonrpc", "2.0"},
                   {"id", id},
                   {"method", "tools/call"},
                   {"params", json::object{{"name", tool}, {"arguments", args}}}});
}

std::string ResultText(const json::value& response) {
  const json::value* r =
      response.is_object() ? response.as_object().if_contains("result") : nullptr;
  if (r == nullptr || !r->is_object()) return "";
  const json::value* c = r->as_object().if_contains("content");
  if (c == nullptr || !c->is_array() || c->as_array().empty()) return "";
  return Str(c->as_array()[0], "text");
}

bool IsError(const json::value& response) {
  const json::value* r =
      response.is_object() ? response.as_object().if_contains("result") : nullptr;
  if (r == nullptr || !r->is_object()) return false;
  const json::value* e = r->as_object().if_contains("isError");
  return e != nullptr && e->is_bool() && e->as_bool();
}

class McpDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    policies_ = dir_.path() + "/policies";
    std::filesystem::create_directories(policies_);
    std::ofstream(policies_ + "/cc.yaml") << kHookPolicy;
    std::ofstream(policies_ + "/mcp.yaml") << kMcpPolicy;
    std::ofstream(policies_ + "/ann.yaml") << kAnnotationPolicy;
    state_ = dir_.path() + "/state";
    std::filesystem::create_directories(state_);
    const std::string config = dir_.Write("interlock.yaml",
                                          "durability: normal\nlimits:\n  max_wait_seconds: 60\n"
                                          "approvals:\n  max_wait_seconds: 3\n  sweep_ms: 100\n");
    daemon_ = std::make_unique<Daemon>(dir_.path(), policies_, config);
    cc_token_ = CreateToken(daemon_->store(), "--agent", "cc-agent");
    mcp_token_ = CreateToken(daemon_->store(), "--agent", "mcp-agent");
    ann_token_ = CreateToken(daemon_->store(), "--agent", "ann-agent");
    reviewer_ = CreateToken(daemon_->store(), "--reviewer", "alice");
    ASSERT_FALSE(reviewer_.empty());
    ASSERT_TRUE(daemon_->Start()) << daemon_->log();
    client_ = std::make_unique<HttpClient>(daemon_->port());
    url_ = "http://127.0.0.1:" + std::to_string(daemon_->port());
  }

  // Runs the hook with --daemon; the token travels in IL_TOKEN only.
  ProcessResult Hook(const std::string& session, const std::string& tool,
                     const std::string& url = "", const std::vector<std::string>& extra = {}) {
    const std::string input =
        json::serialize(json::object{{"session_id", session},
                                     {"hook_event_name", "PreToolUse"},
                                     {"tool_name", tool},
                                     {"tool_input", json::object{{"file_path", "/tmp/x"}}}});
    return RunDaemonHook(input, extra, url);
  }

  // How many approvals are pending on the daemon (-1 when it cannot be read).
  int PendingApprovals() {
    HttpResult pending = client_->Request("GET", "/v1/approvals?state=pending", "", reviewer_);
    if (pending.status != 200 || !pending.json.is_object()) return -1;
    const json::value* a = pending.json.as_object().if_contains("approvals");
    return a != nullptr && a->is_array() ? static_cast<int>(a->as_array().size()) : -1;
  }

  // Runs the hook for `tool` on a thread while a reviewer votes `verdict` on the approval
  // it waits for; returns the hook's result.
  ProcessResult HookWithVoteDuringTheWait(const std::string& session, const std::string& tool,
                                          const std::string& verdict, const std::string& comment) {
    ProcessResult r;
    std::thread hook([&] { r = Hook(session, tool, "", {"--approval-wait", "25"}); });
    const std::string approval_id = PendingApprovalId();
    EXPECT_FALSE(approval_id.empty());
    if (!approval_id.empty()) {
      HttpResult vote = client_->Request(
          "POST", "/v1/approvals/" + approval_id,
          json::serialize(json::object{{"verdict", verdict}, {"comment", comment}}), reviewer_);
      EXPECT_EQ(vote.status, 200) << vote.body;
    }
    hook.join();
    return r;
  }

  // A recorded Claude Code hook input (tests/integration/mcp/fixtures/claude_code_hook/).
  static std::string ReadHookFixture(const std::string& name) {
    const std::string path = std::string(INTERLOCK_SOURCE_DIR) +
                             "/tests/integration/mcp/fixtures/claude_code_hook/" + name;
    std::ifstream in(path);
    EXPECT_TRUE(in) << path;
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  // `interlock hook claude-code --daemon URL` (default: this suite's daemon) with Claude
  // Code's agent token, which travels in IL_TOKEN only; `input` on stdin.
  ProcessResult RunDaemonHook(const std::string& input, const std::vector<std::string>& extra = {},
                              const std::string& url = "") {
    std::vector<std::string> argv = {"/usr/bin/env",
                                     "IL_TOKEN=" + cc_token_,
                                     "XDG_STATE_HOME=" + state_,
                                     kInterlock,
                                     "hook",
                                     "claude-code",
                                     "--daemon",
                                     url.empty() ? url_ : url,
                                     "--token-env",
                                     "IL_TOKEN"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunProcess(argv, input, 30s);
  }

  static std::string HookDecision(const ProcessResult& r) {
    json::value v = json::parse(r.out);
    return Str(v.at("hookSpecificOutput"), "permissionDecision");
  }
  static std::string HookReason(const ProcessResult& r) {
    json::value v = json::parse(r.out);
    return Str(v.at("hookSpecificOutput"), "permissionDecisionReason");
  }

  // The id of the first pending approval, polled for up to 10 s ("" if none appears).
  std::string PendingApprovalId() {
    std::string id;
    WaitUntil(
        [&] {
          HttpResult pending =
              client_->Request("GET", "/v1/approvals?state=pending", "", reviewer_);
          if (pending.status != 200 || !pending.json.is_object()) return false;
          const json::value* a = pending.json.as_object().if_contains("approvals");
          if (a == nullptr || !a->is_array() || a->as_array().empty()) return false;
          id = Str(a->as_array()[0], "approval_id");
          if (id.empty()) id = Str(a->as_array()[0], "id");
          return true;
        },
        10s, 100ms);
    return id;
  }

  // The stdio gateway with --daemon in front of the fake server, initialized.
  std::unique_ptr<Child> StartGateway(const std::string& calls_log, const std::string& err) {
    const std::string server = dir_.Write("fake_server.js", kFakeServer);
    auto gw = std::make_unique<Child>(
        std::vector<std::string>{"/usr/bin/env", "IL_TOKEN=" + mcp_token_,
                                 "XDG_STATE_HOME=" + state_, kInterlock, "mcp", "--policy",
                                 policies_ + "/mcp.yaml", "--daemon", url_, "--token-env",
                                 "IL_TOKEN", "--", "/usr/bin/node", server, calls_log},
        err);
    gw->Send(
        R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"it","version":"1"}}})");
    EXPECT_FALSE(gw->Response(1).is_null()) << ReadAll(err);
    gw->Send(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
    return gw;
  }

  // The official MCP SDK client (tests/integration/mcp/node) in front of
  // `interlock mcp --daemon` with NO policy file, the fake server behind it.
  ProcessResult SdkThroughGateway(const std::vector<std::string>& client_args,
                                  const std::string& calls_log) {
    const std::string setup =
        RunSetupScriptOnce(std::string(INTERLOCK_SOURCE_DIR) + "/scripts/setup-node-tests.sh");
    EXPECT_EQ(setup, "");
    const std::string server = dir_.Write("fake_server.js", kFakeServer);
    std::vector<std::string> argv = {"/usr/bin/env", "IL_TOKEN=" + mcp_token_,
                                     "XDG_STATE_HOME=" + state_, "/usr/bin/node"};
    argv.insert(argv.end(), client_args.begin(), client_args.end());
    for (const std::string& a :
         {std::string("--"), kInterlock, std::string("mcp"), std::string("--daemon"), url_,
          std::string("--token-env"), std::string("IL_TOKEN"), std::string("--"),
          std::string("/usr/bin/node"), server, calls_log}) {
      argv.push_back(a);
    }
    return RunProcess(argv, "", 60s);
  }

  // The decided approvals of `tool`, newest first (reviewer view).
  std::vector<json::value> DecidedApprovals(const std::string& tool) {
    std::vector<json::value> out;
    HttpResult decided = client_->Request("GET", "/v1/approvals?state=decided", "", reviewer_);
    EXPECT_EQ(decided.status, 200) << decided.body;
    if (!decided.json.is_object()) return out;
    for (const json::value& a : decided.json.at("approvals").as_array()) {
      if (Str(a, "tool") == tool) out.push_back(a);
    }
    return out;
  }

  // The daemon runs of the hook's agent (cc-agent), newest first.
  std::vector<std::string> HookRuns() {
    std::vector<std::string> out;
    HttpResult r = client_->Request("GET", "/v1/runs?agent=cc-agent", "", reviewer_);
    EXPECT_EQ(r.status, 200) << r.body;
    if (!r.json.is_object()) return out;
    for (const json::value& run : r.json.at("runs").as_array()) out.push_back(Str(run, "run_id"));
    return out;
  }

  TempDir dir_;
  std::string policies_, state_, url_;
  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<HttpClient> client_;
  std::string cc_token_, mcp_token_, ann_token_, reviewer_;
};

// Tests that the hook with --daemon allows and denies as the daemon decides, that one
// Claude Code session reuses one daemon run (its steps count both calls), and that a
// second session gets a run of its own.
TEST_F(McpDaemonTest, HookAllowsDeniesAndReusesTheSessionRun) {
  ProcessResult allow = Hook("session-one", "Read");
  ASSERT_EQ(allow.exit_code, 0) << allow.err;
  EXPECT_EQ(HookDecision(allow), "allow") << allow.out;
  EXPECT_EQ(allow.out.find(cc_token_), std::string::npos);
  EXPECT_EQ(allow.err.find(cc_token_), std::string::npos);

  ProcessResult deny = Hook("session-one", "Bash");
  ASSERT_EQ(deny.exit_code, 0) << deny.err;
  EXPECT_EQ(HookDecision(deny), "deny") << deny.out;
  EXPECT_NE(HookReason(deny).find("TOOL_BLOCKED"), std::string::npos) << deny.out;

  // Approval is central with --daemon: never Claude Code's local prompt.
  ProcessResult held = Hook("session-one", "Edit", "", {"--approval-wait", "0"});
  ASSERT_EQ(held.exit_code, 0) << held.err;
  EXPECT_EQ(HookDecision(held), "deny") << held.out;
  EXPECT_NE(HookReason(held).find("APPROVAL_REQUIRED"), std::string::npos) << held.out;

  std::vector<std::string> runs = HookRuns();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].rfind("cc-", 0), 0u) << runs[0];
  HttpResult state = client_->Request("GET", "/v1/runs/" + runs[0], "", reviewer_);
  ASSERT_EQ(state.status, 200) << state.body;
  EXPECT_EQ(Str(state.json, "agent_id"), "cc-agent");
  EXPECT_EQ(state.json.at("steps").to_number<int64_t>(), 3) << state.body;

  ProcessResult other = Hook("session-two", "Read");
  EXPECT_EQ(HookDecision(other), "allow") << other.out;
  EXPECT_EQ(HookRuns().size(), 2u);
}

// Tests that with --daemon the PostToolUse hook (recorded Claude Code inputs) posts the
// result to the very call the PreToolUse hook decided (paired by tool_use_id), and that a
// report for a tool use the PreToolUse never decided is attached to no call.
TEST_F(McpDaemonTest, DaemonPostToolUseRecordsTheResultOfTheDecidedCall) {
  ProcessResult pre = RunDaemonHook(ReadHookFixture("read.json"), {});
  ASSERT_EQ(pre.exit_code, 0) << pre.err;
  EXPECT_EQ(HookDecision(pre), "allow") << pre.out;
  ProcessResult post =
      RunDaemonHook(ReadHookFixture("post_tool_use/read.json"), {"--event", "post-tool-use"});
  ASSERT_EQ(post.exit_code, 0) << post.err;
  EXPECT_EQ(post.out, "");
  const size_t at = post.err.find("recorded the result of call ");
  ASSERT_NE(at, std::string::npos) << post.err;
  std::string call = post.err.substr(at + 28);
  call = call.substr(0, call.find_first_of(" \n"));
  HttpResult got = client_->Request("GET", "/v1/calls/" + call, "", reviewer_);
  ASSERT_EQ(got.status, 200) << got.body;
  ASSERT_TRUE(got.json.as_object().contains("result")) << got.body;
  EXPECT_EQ(got.json.at("result").at("ok"), true) << got.body;
  ProcessResult audit = RunProcess(
      {kInterlock, "audit", "export", "--store", daemon_->store(), "--since", "2000-01-01"}, "",
      30s);
  EXPECT_NE(audit.out.find("A small web shop."), std::string::npos) << audit.out << audit.err;

  // The same tool use again, and one the PreToolUse never saw: attached to no call.
  ProcessResult again =
      RunDaemonHook(ReadHookFixture("post_tool_use/read.json"), {"--event", "post-tool-use"});
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_NE(again.err.find("UNDECIDED"), std::string::npos) << again.err;
  json::value other = json::parse(ReadHookFixture("post_tool_use/read.json"));
  other.as_object()["tool_use_id"] = "toolu_never_decided";
  ProcessResult undecided = RunDaemonHook(json::serialize(other), {"--event", "post-tool-use"});
  EXPECT_EQ(undecided.exit_code, 0);
  EXPECT_NE(undecided.err.find("UNDECIDED"), std::string::npos) << undecided.err;
}

// Tests a tool output over the daemon's 1 MiB request limit (a 2 MiB file read): with
// --daemon the PostToolUse hook sends it cut to the transport marker instead of having the
// whole report refused 413, and the daemon records the cut result.
TEST_F(McpDaemonTest, DaemonPostToolUseOfAnOutputOverTheBodyLimitIsRecordedCut) {
  json::value pre_in = json::parse(ReadHookFixture("read.json"));
  pre_in.as_object()["tool_use_id"] = "toolu_big_output";
  ProcessResult pre = RunDaemonHook(json::serialize(pre_in), {});
  ASSERT_EQ(pre.exit_code, 0) << pre.err;
  ASSERT_NE(pre.out.find("hookSpecificOutput"), std::string::npos) << pre.out << pre.err;
  ASSERT_EQ(HookDecision(pre), "allow") << pre.out;
  json::value post_in = json::parse(ReadHookFixture("post_tool_use/read.json"));
  post_in.as_object()["tool_use_id"] = "toolu_big_output";
  post_in.as_object()["tool_response"] = json::object{
      {"type", "text"}, {"file", json::object{{"content", std::string(2 << 20, 'b')}}}};
  ProcessResult post = RunDaemonHook(json::serialize(post_in), {"--event", "post-tool-use"});
  ASSERT_EQ(post.exit_code, 0) << post.err;
  const size_t at = post.err.find("recorded the result of call ");
  ASSERT_NE(at, std::string::npos) << post.err;
  std::string call = post.err.substr(at + 28);
  call = call.substr(0, call.find_first_of(" \n"));
  HttpResult got = client_->Request("GET", "/v1/calls/" + call, "", reviewer_);
  ASSERT_EQ(got.status, 200) << got.body.substr(0, 500);
  ASSERT_TRUE(got.json.as_object().contains("result")) << got.body.substr(0, 800);
  EXPECT_EQ(got.json.at("result").at("ok"), true) << got.body.substr(0, 800);
  ProcessResult audit = RunProcess(
      {kInterlock, "audit", "export", "--store", daemon_->store(), "--since", "2000-01-01"}, "",
      30s);
  std::optional<json::object> output;
  for (size_t from = 0, end; (end = audit.out.find('\n', from)) != std::string::npos;
       from = end + 1) {
    json::value rec = json::parse(audit.out.substr(from, end - from));
    const json::object& o = rec.as_object();
    if (o.contains("call_id") && o.at("call_id") == json::value(call) && o.at("type") == "result") {
      output = o.at("data").at("output").as_object();
    }
  }
  ASSERT_TRUE(output.has_value()) << audit.out.substr(0, 3000) << audit.err;
  EXPECT_EQ(output->at("truncated"), true);
  EXPECT_GT(output->at("bytes").to_number<int64_t>(), 2 << 20);
  EXPECT_LE(output->at("prefix").as_string().size(), 1024u);
  EXPECT_FALSE(output->contains("sha256"));  // a digest of unmasked text is never sent
}

// Tests that with --daemon a call needing approval is not handed to Claude Code's local
// prompt: the hook waits, and a reviewer's approval given during the wait is an allow.
TEST_F(McpDaemonTest, DaemonHookWaitsForAnApprovalGivenDuringTheWait) {
  ProcessResult r = HookWithVoteDuringTheWait("session-approve", "Edit", "approve", "ok");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(HookDecision(r), "allow") << r.out;
  EXPECT_NE(HookReason(r).find("approved by alice"), std::string::npos) << r.out;
  EXPECT_EQ(PendingApprovals(), 0);
}

// Tests that a reviewer's deny given during the hook's wait is a deny carrying the
// reviewer's reason.
TEST_F(McpDaemonTest, DaemonHookWaitsForADenyAndGivesTheReviewersReason) {
  ProcessResult r =
      HookWithVoteDuringTheWait("session-deny", "Edit", "deny", "not on the release branch");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(HookDecision(r), "deny") << r.out;
  EXPECT_NE(HookReason(r).find("not on the release branch"), std::string::npos) << r.out;
}

// Tests that when no reviewer decides within --approval-wait the hook denies in time,
// naming the pending approval's id, instead of asking locally or outliving Claude Code's
// hook timeout.
TEST_F(McpDaemonTest, DaemonHookWaitTimeoutDeniesWithTheApprovalId) {
  const auto start = std::chrono::steady_clock::now();
  ProcessResult r = Hook("session-timeout", "Edit", "", {"--approval-wait", "1"});
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(HookDecision(r), "deny") << r.out;
  EXPECT_LT(took, 10s);
  const std::string approval_id = PendingApprovalId();
  ASSERT_FALSE(approval_id.empty());
  EXPECT_NE(HookReason(r).find(approval_id), std::string::npos) << r.out;
  EXPECT_NE(HookReason(r).find("still pending"), std::string::npos) << r.out;
}

// Tests that a tool the policy gives to two approvers is never answered "ask" (one
// developer at Claude Code's prompt would approve alone): with --daemon it waits for the
// reviewers and, without their verdict, denies.
TEST_F(McpDaemonTest, DaemonHookTwoApproverToolNeverAsks) {
  ProcessResult r = Hook("session-two-approvers", "Deploy", "", {"--approval-wait", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(HookDecision(r), "deny") << r.out;
  EXPECT_NE(HookReason(r).find("APPROVAL_REQUIRED"), std::string::npos) << r.out;
}

// Tests that a two-approver tool under --daemon is allowed only after two distinct
// reviewers approve during the hook's wait (one approval leaves it waiting).
TEST_F(McpDaemonTest, DaemonHookTwoApproverToolWaitsForBothReviewers) {
  const std::string bob = CreateToken(daemon_->store(), "--reviewer", "bob");
  ASSERT_FALSE(bob.empty());
  ProcessResult r;
  std::thread hook([&] { r = Hook("session-both", "Deploy", "", {"--approval-wait", "25"}); });
  const std::string approval_id = PendingApprovalId();
  EXPECT_FALSE(approval_id.empty());
  for (const std::string& reviewer : {reviewer_, bob}) {
    if (approval_id.empty()) break;
    HttpResult vote = client_->Request(
        "POST", "/v1/approvals/" + approval_id,
        json::serialize(json::object{{"verdict", "approve"}, {"comment", "ok"}}), reviewer);
    EXPECT_EQ(vote.status, 200) << vote.body;
    if (reviewer == reviewer_) {
      std::this_thread::sleep_for(1500ms);  // pace: time for a wrong release to happen
      EXPECT_EQ(PendingApprovals(), 1);     // one of two: still held, the hook still waits
    }
  }
  hook.join();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(HookDecision(r), "allow") << r.out;
  EXPECT_NE(HookReason(r).find("bob"), std::string::npos) << r.out;
}

// Tests that a retried identical call (Claude Code retrying after the wait ran out)
// attaches to its pending approval instead of queueing a second one for reviewers.
// Needs the store change that answers an identical re-posted call with its pending
// call_id/approval_id (issue 12); fails until that lands.
TEST_F(McpDaemonTest, DaemonHookRetriedIdenticalCallDoesNotCreateASecondApproval) {
  ProcessResult first = Hook("session-retry", "Edit", "", {"--approval-wait", "0"});
  ASSERT_EQ(HookDecision(first), "deny") << first.out;
  ProcessResult again = Hook("session-retry", "Edit", "", {"--approval-wait", "1"});
  ASSERT_EQ(HookDecision(again), "deny") << again.out;
  const std::string approval_id = PendingApprovalId();
  ASSERT_FALSE(approval_id.empty());
  EXPECT_NE(HookReason(first).find(approval_id), std::string::npos) << first.out;
  EXPECT_NE(HookReason(again).find(approval_id), std::string::npos) << again.out;
  EXPECT_EQ(PendingApprovals(), 1);
}

// Tests that the session's run is the daemon's (core::ClaudeCodeRunId), whatever the hook's
// state directory holds: an agent that plants a run file naming a fresh run of its own (the
// way an older hook remembered its session's run) or wipes the directory stays in the
// session's one run, with its budgets.
TEST_F(McpDaemonTest, AttackPlantedRunFileCannotMoveTheSessionToAFreshRun) {
  ProcessResult first = Hook("session-stale", "Read");
  ASSERT_EQ(HookDecision(first), "allow") << first.out;
  const std::vector<std::string> runs = HookRuns();
  ASSERT_EQ(runs.size(), 1u);
  HttpResult fresh = client_->Request("POST", "/v1/runs", "{}", cc_token_);
  ASSERT_EQ(fresh.status, 201) << fresh.body;
  const std::string dir = state_ + "/interlock/hook-runs";
  std::filesystem::create_directories(dir);
  // Where an older hook kept the run: SHA-256("session-stale"), 32 hex digits.
  for (const char* name : {"/9f9c6f7c805dee10d681b887151bbcf3"}) {
    std::ofstream(dir + name) << Str(fresh.json, "run_id") << "\n";
  }
  ProcessResult again = Hook("session-stale", "Read");
  EXPECT_EQ(HookDecision(again), "allow") << again.out;
  std::filesystem::remove_all(state_);
  ProcessResult wiped = Hook("session-stale", "Read");
  EXPECT_EQ(HookDecision(wiped), "allow") << wiped.out;
  HttpResult state = client_->Request("GET", "/v1/runs/" + runs[0], "", reviewer_);
  ASSERT_EQ(state.status, 200) << state.body;
  EXPECT_EQ(state.json.at("steps").to_number<int64_t>(), 3) << state.body;
  HttpResult planted =
      client_->Request("GET", "/v1/runs/" + Str(fresh.json, "run_id"), "", reviewer_);
  EXPECT_EQ(planted.json.at("steps").to_number<int64_t>(), 0) << planted.body;
}

// Tests that the hook denies (JSON on stdout, exit 0) when the daemon is unreachable,
// when the token variable is missing, and for an https:// URL.
TEST_F(McpDaemonTest, HookDeniesWhenTheDaemonCannotDecide) {
  // Port 1 on loopback: nothing listens there (connection refused).
  const std::string dead = "http://127.0.0.1:1";
  ProcessResult down = Hook("session-down", "Read", dead);
  ASSERT_EQ(down.exit_code, 0) << down.err;
  EXPECT_EQ(HookDecision(down), "deny") << down.out;
  EXPECT_NE(HookReason(down).find("STORE_UNAVAILABLE"), std::string::npos) << down.out;
  EXPECT_TRUE(HookRuns().empty());

  const std::string input =
      R"({"session_id":"s","hook_event_name":"PreToolUse","tool_name":"Read","tool_input":{}})";
  ProcessResult no_token =
      RunProcess({"/usr/bin/env", "-u", "IL_TOKEN", "XDG_STATE_HOME=" + state_, kInterlock, "hook",
                  "claude-code", "--daemon", url_, "--token-env", "IL_TOKEN"},
                 input, 30s);
  ASSERT_EQ(no_token.exit_code, 0) << no_token.err;
  EXPECT_EQ(HookDecision(no_token), "deny") << no_token.out;
  EXPECT_NE(HookReason(no_token).find("IL_TOKEN"), std::string::npos) << no_token.out;

  ProcessResult https =
      Hook("session-https", "Read", "https://127.0.0.1:" + std::to_string(daemon_->port()));
  EXPECT_EQ(HookDecision(https), "deny") << https.out;

  // A daemon that stops answering: denied, never allowed.
  daemon_->Kill9();
  ProcessResult killed = Hook("session-one", "Read");
  ASSERT_EQ(killed.exit_code, 0) << killed.err;
  EXPECT_EQ(HookDecision(killed), "deny") << killed.out;
}

// Tests that the MCP client's params._meta.traceparent reaches the daemon from
// `interlock mcp --daemon` and is recorded with the call (the trace an incident jumps to),
// and that a value that is not a trace context (a line break in it: header injection)
// never becomes a header and is not recorded.
TEST_F(McpDaemonTest, GatewayForwardsTheCallersMetaTraceparentToTheDaemon) {
  const std::string calls_log = dir_.path() + "/calls.log";
  const std::string err = dir_.path() + "/gateway.err";
  auto gw = StartGateway(calls_log, err);
  const std::string tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  gw->Send(
      R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"t"},"_meta":{"traceparent":")" +
      tp + R"("}}})");
  ASSERT_FALSE(gw->Response(2).is_null()) << ReadAll(err);
  gw->Send(
      R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"text":"u"},"_meta":{"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\nX-Evil: 1"}}})");
  ASSERT_FALSE(gw->Response(3).is_null()) << ReadAll(err);
  HttpResult audit = client_->Request("GET", "/v1/audit?limit=1000", "", reviewer_);
  ASSERT_EQ(audit.status, 200) << audit.body;
  int with = 0, without = 0;
  for (const auto& rec : audit.json.at("records").as_array()) {
    if (rec.at("type").as_string() != "decision") continue;
    const json::object& data = rec.at("data").as_object();
    if (data.at("tool").as_string() != "echo") continue;
    const json::value* t = data.if_contains("traceparent");
    if (t != nullptr && t->is_string() && t->as_string() == tp) {
      ++with;
    } else if (t == nullptr) {
      ++without;
    }
  }
  EXPECT_EQ(with, 1) << audit.body;
  EXPECT_EQ(without, 1) << audit.body;
}

// Tests the stdio gateway with --daemon: an allowed call is forwarded and its result
// recorded on the daemon, a blocked call is denied and never reaches the server, and a
// call needing approval waits until a reviewer approves it, then is forwarded.
TEST_F(McpDaemonTest, GatewayForwardsDeniesAndWaitsForApproval) {
  const std::string server = dir_.Write("fake_server.js", kFakeServer);
  const std::string calls_log = dir_.path() + "/calls.log";
  const std::string err = dir_.path() + "/gateway.err";
  Child gw({"/usr/bin/env", "IL_TOKEN=" + mcp_token_, "XDG_STATE_HOME=" + state_, kInterlock, "mcp",
            "--policy", policies_ + "/mcp.yaml", "--daemon", url_, "--token-env", "IL_TOKEN", "--",
            "/usr/bin/node", server, calls_log},
           err);
  gw.Send(
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"it","version":"1"}}})");
  ASSERT_FALSE(gw.Response(1).is_null()) << ReadAll(err);
  gw.Send(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  gw.Send(R"({"jsonrpc":"2.0","id":2,"method":"tools/list"})");
  json::value list = gw.Response(2);
  ASSERT_FALSE(list.is_null()) << ReadAll(err);
  EXPECT_EQ(json::serialize(list).find("write_file"), std::string::npos) << list;

  // Allowed: forwarded, result recorded on the daemon.
  gw.Send(CallLine(3, "echo", {{"text", "hi"}}));
  json::value echo = gw.Response(3);
  EXPECT_FALSE(IsError(echo)) << echo;
  EXPECT_EQ(ResultText(echo), R"(echo:{"text":"hi"})") << echo;

  // Blocked: denied by the daemon, never forwarded.
  gw.Send(CallLine(4, "write_file", {{"text", "x"}}));
  json::value blocked = gw.Response(4);
  EXPECT_TRUE(IsError(blocked)) << blocked;
  EXPECT_NE(ResultText(blocked).find("Interlock denied write_file"), std::string::npos) << blocked;

  // Approval: held until the reviewer approves, then forwarded.
  gw.Send(CallLine(5, "send_email", {{"text", "hello"}}));
  const std::string approval_id = PendingApprovalId();
  ASSERT_FALSE(approval_id.empty()) << ReadAll(err);
  EXPECT_EQ(gw.ReadLine(300ms), "");  // nothing answered while held
  HttpResult vote = client_->Request(
      "POST", "/v1/approvals/" + approval_id,
      json::serialize(json::object{{"verdict", "approve"}, {"comment", "ok"}}), reviewer_);
  ASSERT_EQ(vote.status, 200) << vote.body;
  json::value approved = gw.Response(5, 20s);
  EXPECT_FALSE(IsError(approved)) << approved << ReadAll(err);
  EXPECT_EQ(ResultText(approved), R"(send_email:{"text":"hello"})") << approved;

  EXPECT_EQ(ReadAll(calls_log), "echo\nsend_email\n");

  // The daemon's audit holds the recorded results of both forwarded calls.
  HttpResult audit = client_->Request("GET", "/v1/audit?agent=mcp-agent&limit=1000", "", reviewer_);
  ASSERT_EQ(audit.status, 200) << audit.body;
  EXPECT_NE(audit.body.find(R"(echo:{\"text\":\"hi\"})"), std::string::npos) << audit.body;
  EXPECT_EQ(gw.ReadLine(10ms), "");
  gw.CloseStdin();
  EXPECT_EQ(ReadAll(err).find(mcp_token_), std::string::npos);
}

// Tests that one grant runs one call under --daemon: two identical calls held at once in
// one gateway attach to one approval (one call id); when the reviewer approves it, one is
// forwarded and the other is denied saying the approval already ran its call (the daemon
// answers its later read with "released_before"), so the server gets the call once.
TEST_F(McpDaemonTest, OneGrantForwardsOnlyOneOfTwoIdenticalHeldCalls) {
  const std::string server = dir_.Write("fake_server.js", kFakeServer);
  const std::string calls_log = dir_.path() + "/calls.log";
  const std::string err = dir_.path() + "/gateway.err";
  Child gw({"/usr/bin/env", "IL_TOKEN=" + mcp_token_, "XDG_STATE_HOME=" + state_, kInterlock, "mcp",
            "--daemon", url_, "--token-env", "IL_TOKEN", "--", "/usr/bin/node", server, calls_log},
           err);
  gw.Send(
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"it","version":"1"}}})");
  ASSERT_FALSE(gw.Response(1).is_null()) << ReadAll(err);
  gw.Send(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  gw.Send(CallLine(2, "send_email", {{"text", "twice"}}));
  const std::string approval_id = PendingApprovalId();
  ASSERT_FALSE(approval_id.empty()) << ReadAll(err);
  gw.Send(CallLine(3, "send_email", {{"text", "twice"}}));
  std::this_thread::sleep_for(500ms);  // pace: the second is decided (attached) and held
  EXPECT_EQ(gw.ReadLine(100ms), "");
  HttpResult vote = client_->Request(
      "POST", "/v1/approvals/" + approval_id,
      json::serialize(json::object{{"verdict", "approve"}, {"comment", "once"}}), reviewer_);
  ASSERT_EQ(vote.status, 200) << vote.body;
  json::value a, b;  // the answers to 2 and 3, in whichever order they come
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while ((a.is_null() || b.is_null()) && std::chrono::steady_clock::now() < deadline) {
    const std::string line = gw.ReadLine(5s);
    if (line.empty()) continue;
    json::value v = json::parse(line);
    if (!v.is_object() || !v.as_object().contains("id") || !v.at("id").is_int64()) continue;
    if (v.at("id").as_int64() == 2) a = v;
    if (v.at("id").as_int64() == 3) b = v;
  }
  ASSERT_FALSE(a.is_null()) << ReadAll(err);
  ASSERT_FALSE(b.is_null()) << ReadAll(err);
  EXPECT_NE(IsError(a), IsError(b)) << a << "\n" << b;
  const json::value& refused = IsError(a) ? a : b;
  EXPECT_NE(ResultText(refused).find("already released its call"), std::string::npos) << refused;
  EXPECT_EQ(ReadAll(calls_log), "send_email\n");
  gw.CloseStdin();
}

// A tools/call of a 2026-07-28 client (its _meta declares the revision and both elicitation
// modes), optionally the retry carrying `state` and `responses` (approvals over MRTR).
std::string Call2026(int id, const std::string& tool, const json::object& args,
                     const std::string& state = "", const json::object& responses = {}) {
  json::object params{
      {"name", tool},
      {"arguments", args},
      {"_meta",
       json::object{{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
                    {"io.modelcontextprotocol/clientCapabilities",
                     json::object{{"elicitation", json::object{{"form", json::object{}},
                                                               {"url", json::object{}}}}}}}}};
  if (!state.empty()) params["requestState"] = state;
  if (!responses.empty()) params["inputResponses"] = responses;
  return json::serialize(json::object{
      {"jsonrpc", "2.0"}, {"id", id}, {"method", "tools/call"}, {"params", std::move(params)}});
}

// Tests approvals over MRTR with the real daemon deciding: a 2026-07-28 client's held call is
// answered input_required at once (not held open) naming the daemon's pending approval; a
// retry carrying an approval its own client filled in waits for the reviewer and gets the
// reviewer's deny (the client's answer is no vote); a call the reviewer approved runs once on
// its retry, and the replayed retry is refused. Nothing else reaches the server.
TEST_F(McpDaemonTest, GatewayAnswersA2026ClientWithTheReviewersVerdictOverMrtr) {
  const std::string server = dir_.Write("fake_server.js", kFakeServer);
  const std::string calls_log = dir_.path() + "/calls.log";
  const std::string err = dir_.path() + "/gateway.err";
  Child gw({"/usr/bin/env", "IL_TOKEN=" + mcp_token_, "XDG_STATE_HOME=" + state_, kInterlock, "mcp",
            "--daemon", url_, "--token-env", "IL_TOKEN", "--", "/usr/bin/node", server, calls_log},
           err);
  gw.Send(
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"it","version":"1"}}})");
  ASSERT_FALSE(gw.Response(1).is_null()) << ReadAll(err);
  gw.Send(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");

  const json::object approve_myself{
      {"interlock_approval",
       json::object{{"action", "accept"}, {"content", json::object{{"approve", true}}}}}};
  gw.Send(Call2026(2, "send_email", {{"text", "first"}}));
  json::value first = gw.Response(2, 10s);
  ASSERT_EQ(first.at("result").at("resultType"), "input_required") << first << ReadAll(err);
  const std::string approval_id = PendingApprovalId();
  ASSERT_FALSE(approval_id.empty());
  EXPECT_EQ(Str(first.at("result").at("_meta").at("interlock.dev/approval"), "approval_id"),
            approval_id);
  const std::string state(first.at("result").at("requestState").as_string());
  gw.Send(Call2026(3, "send_email", {{"text", "first"}}, state, approve_myself));
  std::this_thread::sleep_for(300ms);  // pace: the retry reaches the daemon before the vote
  HttpResult deny = client_->Request(
      "POST", "/v1/approvals/" + approval_id,
      json::serialize(json::object{{"verdict", "deny"}, {"comment", "not this one"}}), reviewer_);
  ASSERT_EQ(deny.status, 200) << deny.body;
  json::value denied = gw.Response(3, 30s);
  EXPECT_TRUE(IsError(denied)) << denied;
  EXPECT_NE(ResultText(denied).find("not this one"), std::string::npos) << denied;

  gw.Send(Call2026(4, "send_email", {{"text", "second"}}));
  json::value second = gw.Response(4, 10s);
  ASSERT_EQ(second.at("result").at("resultType"), "input_required") << second;
  const std::string second_id = PendingApprovalId();
  ASSERT_FALSE(second_id.empty());
  HttpResult approve = client_->Request(
      "POST", "/v1/approvals/" + second_id,
      json::serialize(json::object{{"verdict", "approve"}, {"comment", "ok"}}), reviewer_);
  ASSERT_EQ(approve.status, 200) << approve.body;
  const std::string second_state(second.at("result").at("requestState").as_string());
  gw.Send(Call2026(5, "send_email", {{"text", "second"}}, second_state));
  json::value ran = gw.Response(5, 30s);
  EXPECT_FALSE(IsError(ran)) << ran << ReadAll(err);
  EXPECT_EQ(ResultText(ran), R"(send_email:{"text":"second"})") << ran;
  gw.Send(Call2026(6, "send_email", {{"text", "second"}}, second_state));
  json::value replay = gw.Response(6, 10s);
  EXPECT_TRUE(IsError(replay)) << replay;
  EXPECT_NE(ResultText(replay).find("used before"), std::string::npos) << replay;

  EXPECT_EQ(ReadAll(calls_log), "send_email\n");
  gw.CloseStdin();
}

// Tests that a reviewer's edit is what the real MCP server runs: the stdio gateway with
// --daemon holds the call, the reviewer approves with edited arguments, and the server
// receives the edited arguments, never the agent's (docs/approvals.md).
TEST_F(McpDaemonTest, GatewayForwardsTheReviewersEditedArguments) {
  const std::string calls_log = dir_.path() + "/calls.log";
  const std::string err = dir_.path() + "/gateway.err";
  std::unique_ptr<Child> started = StartGateway(calls_log, err);
  Child& gw = *started;
  gw.Send(CallLine(2, "send_email", {{"text", "helo, typo"}}));
  const std::string approval_id = PendingApprovalId();
  ASSERT_FALSE(approval_id.empty()) << ReadAll(err);
  HttpResult vote = client_->Request(
      "POST", "/v1/approvals/" + approval_id,
      R"({"verdict":"approve","comment":"fixed","arguments":{"text":"hello, edited"}})", reviewer_);
  ASSERT_EQ(vote.status, 200) << vote.body;
  json::value approved = gw.Response(2, 20s);
  EXPECT_FALSE(IsError(approved)) << approved << ReadAll(err);
  EXPECT_EQ(ResultText(approved), R"(send_email:{"text":"hello, edited"})") << approved;
  gw.CloseStdin();
}

// Tests that a reviewer's edit nested as deep as the approvals API accepts (62 levels below
// a member of "arguments") is what the server runs: the daemon keeps it in the call's
// decision and reads that back (the store's reader once stopped at Boost's 32 levels and
// called the row corrupt), and the gateway reads it from the daemon's answer.
TEST_F(McpDaemonTest, GatewayForwardsAReviewersEditNestedAsDeepAsTheApiAccepts) {
  const std::string calls_log = dir_.path() + "/calls.log";
  const std::string err = dir_.path() + "/gateway.err";
  std::unique_ptr<Child> started = StartGateway(calls_log, err);
  Child& gw = *started;
  gw.Send(CallLine(2, "send_email", {{"text", "flat"}}));
  const std::string approval_id = PendingApprovalId();
  ASSERT_FALSE(approval_id.empty()) << ReadAll(err);
  const std::string deep = std::string(62, '[') + "\"deep\"" + std::string(62, ']');
  HttpResult vote = client_->Request(
      "POST", "/v1/approvals/" + approval_id,
      R"({"verdict":"approve","comment":"nested","arguments":{"text":"flat","nested":)" + deep +
          "}}",
      reviewer_);
  ASSERT_EQ(vote.status, 200) << vote.body;
  json::value approved = gw.Response(2, 20s);
  EXPECT_FALSE(IsError(approved)) << approved << ReadAll(err);
  EXPECT_EQ(ResultText(approved), "send_email:{\"text\":\"flat\",\"nested\":" + deep + "}")
      << approved;
  gw.CloseStdin();
}

// Tests that `interlock mcp --daemon` sends the labels a tool's MCP annotations declare
// with the call, so the daemon's engine judges a tool the policy gives no labels by them
// (a flow over `destructive` denies echo, never forwarded), while a tool with `labels: []`
// in the policy ignores them.
TEST_F(McpDaemonTest, GatewaySendsAnnotationLabelsTheDaemonJudges) {
  const std::string server = dir_.Write("fake_server.js", kFakeServer);
  const std::string calls_log = dir_.path() + "/calls.log";
  const std::string err = dir_.path() + "/gateway.err";
  Child gw({"/usr/bin/env", "IL_TOKEN=" + ann_token_, "XDG_STATE_HOME=" + state_, kInterlock, "mcp",
            "--daemon", url_, "--token-env", "IL_TOKEN", "--", "/usr/bin/node", server, calls_log},
           err);
  gw.Send(
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"it","version":"1"}}})");
  ASSERT_FALSE(gw.Response(1).is_null()) << ReadAll(err);
  gw.Send(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  gw.Send(CallLine(2, "echo", {{"text", "hi"}}));
  json::value echo = gw.Response(2);
  EXPECT_TRUE(IsError(echo)) << echo;
  EXPECT_NE(
      ResultText(echo).find("Interlock denied echo (FLOW_VIOLATION): flow \"no-destruction\""),
      std::string::npos)
      << echo;
  gw.Send(CallLine(3, "send_email", {{"text", "x"}}));
  json::value mail = gw.Response(3);
  EXPECT_EQ(ResultText(mail).find("FLOW_VIOLATION"), std::string::npos) << mail;
  EXPECT_EQ(ReadAll(calls_log).find("echo"), std::string::npos);
  gw.CloseStdin();
}

// Tests that a call held for approval sends notifications/progress with the client's
// progress token while it waits, and that a reviewer's deny reaches the client as an
// isError result (APPROVAL_DENIED) without the call being forwarded.
TEST_F(McpDaemonTest, GatewaySendsProgressWhileHeldAndForwardsNothingOnDeny) {
  const std::string calls_log = dir_.path() + "/calls.log";
  const std::string err = dir_.path() + "/gateway.err";
  std::unique_ptr<Child> gw = StartGateway(calls_log, err);
  gw->Send(
      R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"send_email","arguments":{"text":"hi"},"_meta":{"progressToken":"tok-7"}}})");
  const std::string progress = gw->ReadLine(2500ms);
  ASSERT_FALSE(progress.empty()) << ReadAll(err);
  json::value p = json::parse(progress);
  EXPECT_EQ(Str(p, "method"), "notifications/progress") << p;
  EXPECT_EQ(Str(p.at("params"), "progressToken"), "tok-7") << p;
  EXPECT_NE(Str(p.at("params"), "message").find("approval"), std::string::npos) << p;

  const std::string approval_id = PendingApprovalId();
  ASSERT_FALSE(approval_id.empty());
  HttpResult vote = client_->Request(
      "POST", "/v1/approvals/" + approval_id,
      json::serialize(json::object{{"verdict", "deny"}, {"comment", "no"}}), reviewer_);
  ASSERT_EQ(vote.status, 200) << vote.body;
  json::value denied = gw->Response(7, 10s);
  EXPECT_TRUE(IsError(denied)) << denied;
  EXPECT_NE(ResultText(denied).find("APPROVAL_DENIED"), std::string::npos) << denied;
  EXPECT_FALSE(std::filesystem::exists(calls_log)) << ReadAll(calls_log);
  gw->CloseStdin();
}

// Tests that a reviewer's deny comment reaches the model through the gateway: the isError
// result's text names the reviewer and the comment ("denied by alice: wrong recipient").
TEST_F(McpDaemonTest, GatewayGivesTheModelTheReviewersDenyComment) {
  const std::string calls_log = dir_.path() + "/calls.log";
  const std::string err = dir_.path() + "/gateway.err";
  std::unique_ptr<Child> gw = StartGateway(calls_log, err);
  gw->Send(
      R"({"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"send_email","arguments":{"text":"to the ceo"}}})");
  const std::string approval_id = PendingApprovalId();
  ASSERT_FALSE(approval_id.empty()) << ReadAll(err);
  HttpResult vote = client_->Request(
      "POST", "/v1/approvals/" + approval_id,
      json::serialize(json::object{{"verdict", "deny"}, {"comment", "wrong recipient"}}),
      reviewer_);
  ASSERT_EQ(vote.status, 200) << vote.body;
  json::value denied = gw->Response(8, 10s);
  EXPECT_TRUE(IsError(denied)) << denied;
  EXPECT_NE(ResultText(denied).find("denied by alice: wrong recipient"), std::string::npos)
      << denied;
  EXPECT_FALSE(std::filesystem::exists(calls_log)) << ReadAll(calls_log);
  gw->CloseStdin();
}

// Tests that notifications/cancelled for a call held for approval ends the wait: the
// client gets no response for it, and the call is never forwarded, even once the approval
// times out.
TEST_F(McpDaemonTest, GatewayHonoursCancelWhileHeld) {
  const std::string calls_log = dir_.path() + "/calls.log";
  const std::string err = dir_.path() + "/gateway.err";
  std::unique_ptr<Child> gw = StartGateway(calls_log, err);
  gw->Send(CallLine(8, "send_email", {{"text", "hi"}}));
  ASSERT_FALSE(PendingApprovalId().empty()) << ReadAll(err);
  gw->Send(
      R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":8,"reason":"user gave up"}})");
  // The approval hard maximum is 3 s (config): wait past it; nothing may answer id 8.
  json::value late = gw->Response(8, 4500ms);
  EXPECT_TRUE(late.is_null()) << late;
  // The gateway still serves: an allowed call goes through, the cancelled one never did.
  gw->Send(CallLine(9, "echo", {{"text", "after"}}));
  json::value echo = gw->Response(9);
  EXPECT_FALSE(IsError(echo)) << echo << ReadAll(err);
  EXPECT_EQ(ReadAll(calls_log), "echo\n");
  gw->CloseStdin();
}

// Tests that the gateway denies every call with STORE_UNAVAILABLE when the daemon is
// unreachable, and never forwards it.
TEST_F(McpDaemonTest, GatewayDeniesWhenTheDaemonIsUnreachable) {
  const std::string server = dir_.Write("fake_server.js", kFakeServer);
  const std::string calls_log = dir_.path() + "/calls.log";
  const std::string err = dir_.path() + "/gateway.err";
  Child gw({"/usr/bin/env", "IL_TOKEN=" + mcp_token_, "XDG_STATE_HOME=" + state_, kInterlock, "mcp",
            "--policy", policies_ + "/mcp.yaml", "--daemon", "http://127.0.0.1:1", "--token-env",
            "IL_TOKEN", "--", "/usr/bin/node", server, calls_log},
           err);
  gw.Send(
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"it","version":"1"}}})");
  ASSERT_FALSE(gw.Response(1).is_null()) << ReadAll(err);
  gw.Send(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  gw.Send(CallLine(2, "echo", {{"text", "hi"}}));
  json::value r = gw.Response(2);
  EXPECT_TRUE(IsError(r)) << r << ReadAll(err);
  EXPECT_NE(ResultText(r).find("STORE_UNAVAILABLE"), std::string::npos) << r;
  EXPECT_FALSE(std::filesystem::exists(calls_log));
}

// Tests that `interlock mcp --daemon` runs without a policy file: the official SDK
// client lists only the tools the daemon's policy allows (write_file is blocked there),
// and an allowed call goes through.
TEST_F(McpDaemonTest, GatewayWithoutPolicyListsOnlyTheDaemonsAllowedTools) {
  const std::string calls_log = dir_.path() + "/calls.log";
  const std::string calls = dir_.Write(
      "calls.json",
      R"([{"name":"echo","arguments":{"text":"hi"}},{"name":"write_file","arguments":{"text":"x"}}])");
  ProcessResult r = SdkThroughGateway({kNodeDir + "/sdk_client.mjs", calls}, calls_log);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  json::value out = json::parse(r.out);
  EXPECT_EQ(json::serialize(out.at("tools")), R"(["echo","send_email"])") << r.out;
  const json::array& results = out.at("results").as_array();
  ASSERT_EQ(results.size(), 2u) << r.out;
  EXPECT_EQ(json::serialize(results[0]).find("isError\":true"), std::string::npos) << r.out;
  EXPECT_NE(json::serialize(results[1]).find("TOOL_BLOCKED"), std::string::npos) << r.out;
  EXPECT_EQ(ReadAll(calls_log), "echo\n");
  EXPECT_EQ(r.err.find(mcp_token_), std::string::npos);
}

// Tests that --policy next to --daemon is ignored with a warning (the daemon's policies
// decide): a policy allowing write_file does not make it visible.
TEST_F(McpDaemonTest, GatewayWarnsThatPolicyIsIgnoredWithDaemon) {
  const std::string permissive =
      dir_.Write("permissive.yaml",
                 "agent:\n  id: \"mcp-agent\"\n  identity: \"x@t\"\ntools:\n  allowed:\n"
                 "    - name: \"echo\"\n    - name: \"write_file\"\n");
  const std::string calls_log = dir_.path() + "/calls.log";
  const std::string err = dir_.path() + "/gateway.err";
  const std::string server = dir_.Write("fake_server.js", kFakeServer);
  Child gw({"/usr/bin/env", "IL_TOKEN=" + mcp_token_, "XDG_STATE_HOME=" + state_, kInterlock, "mcp",
            "--policy", permissive, "--daemon", url_, "--token-env", "IL_TOKEN", "--",
            "/usr/bin/node", server, calls_log},
           err);
  gw.Send(
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"it","version":"1"}}})");
  ASSERT_FALSE(gw.Response(1).is_null()) << ReadAll(err);
  gw.Send(R"({"jsonrpc":"2.0","id":2,"method":"tools/list"})");
  json::value list = gw.Response(2);
  EXPECT_EQ(json::serialize(list).find("write_file"), std::string::npos) << list;
  EXPECT_NE(json::serialize(list).find("echo"), std::string::npos) << list;
  gw.CloseStdin();
  EXPECT_NE(ReadAll(err).find("is ignored with --daemon"), std::string::npos) << ReadAll(err);
}

// Tests that when the official MCP SDK client aborts a call held for approval (an
// AbortSignal: notifications/cancelled), the gateway withdraws the approval: it ends
// `withdrawn` with the client's reason, the progress named the approval and its reviewer
// link, the call was never forwarded, and a reviewer's later vote is refused (409).
TEST_F(McpDaemonTest, SdkAbortWithdrawsTheHeldApproval) {
  const std::string calls_log = dir_.path() + "/calls.log";
  ProcessResult r =
      SdkThroughGateway({kNodeDir + "/sdk_cancel_client.mjs", "abort", "send_email"}, calls_log);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  json::value out = json::parse(r.out);
  EXPECT_EQ(json::serialize(out.at("tools")), R"(["echo","send_email"])") << r.out;
  const std::string progress = Str(out, "progress");
  EXPECT_NE(progress.find("approval apr_"), std::string::npos) << r.out;
  EXPECT_NE(progress.find(url_ + "/ui/#/approvals/apr_"), std::string::npos) << r.out;
  std::vector<json::value> decided;
  WaitUntil([&] { return !(decided = DecidedApprovals("send_email")).empty(); }, 20s, 100ms);
  ASSERT_EQ(decided.size(), 1u) << r.err;
  EXPECT_EQ(Str(decided[0], "state"), "withdrawn") << decided[0];
  EXPECT_NE(Str(decided[0], "outcome_reason").find("cancelled the request"), std::string::npos)
      << decided[0];
  EXPECT_NE(Str(decided[0], "outcome_reason").find("the user gave up"), std::string::npos)
      << decided[0];
  const std::string id = Str(decided[0], "approval_id");
  EXPECT_NE(progress.find(id), std::string::npos) << progress;
  HttpResult vote = client_->Request(
      "POST", "/v1/approvals/" + id,
      json::serialize(json::object{{"verdict", "approve"}, {"comment", "late"}}), reviewer_);
  EXPECT_EQ(vote.status, 409) << vote.body;
  EXPECT_NE(vote.body.find("withdrawn"), std::string::npos) << vote.body;
  EXPECT_FALSE(std::filesystem::exists(calls_log)) << ReadAll(calls_log);
}

// Tests that when the SDK client's request timeout expires on a held call, the approval
// is withdrawn as well (none is left pending).
TEST_F(McpDaemonTest, SdkTimeoutWithdrawsTheHeldApproval) {
  const std::string calls_log = dir_.path() + "/calls.log";
  ProcessResult r =
      SdkThroughGateway({kNodeDir + "/sdk_cancel_client.mjs", "timeout", "send_email"}, calls_log);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::vector<json::value> decided;
  WaitUntil([&] { return !(decided = DecidedApprovals("send_email")).empty(); }, 20s, 100ms);
  ASSERT_EQ(decided.size(), 1u) << r.out << r.err;
  EXPECT_EQ(Str(decided[0], "state"), "withdrawn") << decided[0];
  HttpResult pending = client_->Request("GET", "/v1/approvals?state=pending", "", reviewer_);
  EXPECT_EQ(pending.body.find("apr_"), std::string::npos) << pending.body;
}

// Tests that a client that goes away (stdin EOF) while a call is held withdraws the
// approval instead of leaving it in the queue.
TEST_F(McpDaemonTest, ClientEofWithdrawsTheHeldApproval) {
  const std::string calls_log = dir_.path() + "/calls.log";
  const std::string err = dir_.path() + "/gateway.err";
  std::unique_ptr<Child> gw = StartGateway(calls_log, err);
  gw->Send(CallLine(8, "send_email", {{"text", "hi"}}));
  ASSERT_FALSE(PendingApprovalId().empty()) << ReadAll(err);
  gw->CloseStdin();
  std::vector<json::value> decided;
  WaitUntil([&] { return !(decided = DecidedApprovals("send_email")).empty(); }, 20s, 100ms);
  ASSERT_EQ(decided.size(), 1u) << ReadAll(err);
  EXPECT_EQ(Str(decided[0], "state"), "withdrawn") << decided[0];
  EXPECT_NE(Str(decided[0], "outcome_reason").find("stdin EOF"), std::string::npos) << decided[0];
}

// A misbehaving daemon on 127.0.0.1:0: answers every connection with `reply` (after
// reading the request head), or never answers when `reply` is empty.
class CannedServer {
 public:
  explicit CannedServer(std::string reply) : reply_(std::move(reply)) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd_, 16) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      return;
    }
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0) continue;
        const int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) continue;
        std::string head;
        char b[4096];
        while (head.find("\r\n\r\n") == std::string::npos) {
          pollfd q{c, POLLIN, 0};
          if (poll(&q, 1, 2000) <= 0) break;
          const ssize_t n = read(c, b, sizeof b);
          if (n <= 0) break;
          head.append(b, static_cast<size_t>(n));
        }
        if (!reply_.empty()) {
          (void)!write(c, reply_.data(), reply_.size());
        } else {
          while (!stop_) std::this_thread::sleep_for(20ms);  // pace: hang
        }
        close(c);
      }
    });
  }
  ~CannedServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    close(fd_);
  }
  int port() const { return port_; }

 private:
  std::string reply_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::string Http(int status, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/json\r\n" +
         "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

// Tests that every daemon failure -- 5xx, a body that is not JSON, JSON without a
// decision, an allow without a call id, a daemon that never answers -- is a deny with
// STORE_UNAVAILABLE whose reason names the failure and never holds the token.
TEST(DaemonEnforcerTest, EveryDaemonFailureIsAStoreUnavailableDeny) {
  struct Case {
    std::string reply;
    std::string expect_in_reason;
  };
  const std::vector<Case> cases = {
      {Http(500, R"({"code":"INTERNAL","reason":"boom"})"), "HTTP 500"},
      {Http(503, "<html>down</html>"), "HTTP 503"},
      {Http(200, "not json"), "not a JSON object"},
      {Http(200, R"({"decision":"allow"})"), "no decision"},
      {Http(200, R"({"decision":"allow","code":"ALLOWED","reason":"ok"})"), "no call_id"},
      {Http(401, R"({"code":"UNAUTHENTICATED","reason":"unknown token"})"), "HTTP 401"},
      {"", "timed out"},
  };
  for (const Case& c : cases) {
    CannedServer server(c.reply);
    ASSERT_NE(server.port(), 0);
    mcp::DaemonOptions o;
    o.url = "http://127.0.0.1:" + std::to_string(server.port());
    o.token = "secret-token-value";
    o.request_timeout = 500ms;
    auto e = mcp::DaemonEnforcer::Create(daemon_client::DefaultConnector(), o);
    ASSERT_TRUE(e.ok()) << e.error().message;
    (*e)->UseRun("r_test");
    ToolCall call;
    call.tool = "echo";
    mcp::Enforcer::Outcome out = (*e)->Decide(call);
    EXPECT_EQ(out.decision.verdict, Verdict::kDeny) << c.reply;
    EXPECT_EQ(out.decision.code, Code::kStoreUnavailable) << c.reply;
    EXPECT_NE(out.decision.reason.find(c.expect_in_reason), std::string::npos)
        << out.decision.reason;
    EXPECT_EQ(out.decision.reason.find("secret-token-value"), std::string::npos);
  }
}

// Tests that the gateway under --daemon sees a kill switch engaged after a call's decision
// (what it asks before continuing a call across the server's input_required): clear
// before, the switch's scope and reason after, and the run's agent only reads its own run.
TEST_F(McpDaemonTest, KillSwitchEngagedAfterTheDecisionIsSeenBeforeTheCallContinues) {
  mcp::DaemonOptions o;
  o.url = url_;
  o.token = mcp_token_;
  o.request_timeout = 5s;
  auto e = mcp::DaemonEnforcer::Create(daemon_client::DefaultConnector(), o);
  ASSERT_TRUE(e.ok()) << e.error().message;
  ToolCall call;
  call.tool = "echo";
  call.args = boost::json::object{{"text", "hi"}};
  ASSERT_EQ((*e)->Decide(call).decision.verdict, Verdict::kAllow) << daemon_->log();
  EXPECT_TRUE((*e)->KillSwitchClear().ok());
  const std::string admin = CreateToken(daemon_->store(), "--admin", "root");
  ASSERT_EQ(client_
                ->Request("POST", "/v1/kill",
                          R"({"scope":"agent","target":"mcp-agent","engaged":true,)"
                          R"("reason":"incident 7"})",
                          admin)
                .status,
            200);
  const Status s = (*e)->KillSwitchClear();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind, ErrorKind::kPermissionDenied) << s.error().message;
  EXPECT_NE(s.error().message.find("incident 7"), std::string::npos) << s.error().message;
  // Another agent's token cannot read this run's switch.
  HttpResult other = client_->Request("GET", "/v1/runs/" + (*e)->RunId(), "", cc_token_);
  EXPECT_EQ(other.status, 403) << other.body;
}

// Tests that URLs other than http://HOST[:PORT][/PREFIX] are refused up front.
TEST(DaemonEnforcerTest, RejectsBadUrls) {
  for (const char* url : {"ftp://x", "127.0.0.1:8181", "http://", "http://u:p@127.0.0.1:1",
                          "http://127.0.0.1:1/?q=1"}) {
    mcp::DaemonOptions o;
    o.url = url;
    o.token = "t";
    EXPECT_FALSE(mcp::DaemonEnforcer::Create(daemon_client::DefaultConnector(), o).ok()) << url;
  }
  mcp::DaemonOptions o;
  o.url = "http://127.0.0.1:8181";
  EXPECT_FALSE(mcp::DaemonEnforcer::Create(daemon_client::DefaultConnector(), o).ok())
      << "empty token";
  o.token = "t";
  o.ca_file = "/nonexistent/ca.pem";
  EXPECT_FALSE(mcp::DaemonEnforcer::Create(daemon_client::DefaultConnector(), o).ok())
      << "a CA file for http://";
  o.url = "https://127.0.0.1:8181";
  EXPECT_FALSE(mcp::DaemonEnforcer::Create(daemon_client::DefaultConnector(), o).ok())
      << "an unreadable CA file";
}

// Tests the hook against an HTTPS daemon: with --daemon-ca naming the daemon's
// certificate the call is decided over TLS; with the system CAs only (which do not trust
// the self-signed certificate), or when the certificate names another host, it is denied.
TEST(HookTlsTest, DecidesOverHttpsOnlyWithAVerifiedCertificate) {
  TempDir dir;
  const TestCert tc = MakeSelfSignedCert(dir.path(), "daemon", "IP:127.0.0.1");
  ASSERT_EQ(tc.error, "");
  const std::string& cert = tc.cert;
  const std::string& key = tc.key;
  const std::string policies = dir.path() + "/policies";
  std::filesystem::create_directories(policies);
  std::ofstream(policies + "/cc.yaml") << kHookPolicy;
  const std::string config =
      dir.Write("interlock.yaml", "tls_cert: " + cert + "\ntls_key: " + key + "\n");
  Daemon daemon(dir.path(), policies, config);
  const std::string token = CreateToken(daemon.store(), "--agent", "cc-agent");
  ASSERT_TRUE(daemon.Start()) << daemon.log();
  const std::string url = "https://127.0.0.1:" + std::to_string(daemon.port());
  const std::string state = dir.path() + "/state";
  auto hook = [&](std::vector<std::string> extra, const std::string& daemon_url) {
    std::vector<std::string> argv = {"/usr/bin/env",
                                     "IL_TOKEN=" + token,
                                     "XDG_STATE_HOME=" + state,
                                     kInterlock,
                                     "hook",
                                     "claude-code",
                                     "--daemon",
                                     daemon_url,
                                     "--token-env",
                                     "IL_TOKEN"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    ProcessResult r = RunProcess(
        argv, R"({"session_id":"tls","hook_event_name":"PreToolUse","tool_name":"Read"})", 30s);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return Str(json::parse(r.out).at("hookSpecificOutput"), "permissionDecision") + " " +
           Str(json::parse(r.out).at("hookSpecificOutput"), "permissionDecisionReason");
  };
  const std::string ok = hook({"--daemon-ca", cert}, url);
  EXPECT_EQ(ok.rfind("allow", 0), 0u) << ok;
  const std::string untrusted = hook({}, url);
  EXPECT_EQ(untrusted.rfind("deny", 0), 0u) << untrusted;
  EXPECT_NE(untrusted.find("certificate"), std::string::npos) << untrusted;
  // A trusted certificate that does not name the host asked for (localhost, not 127.0.0.1).
  const std::string wrong_name =
      hook({"--daemon-ca", cert}, "https://localhost:" + std::to_string(daemon.port()));
  EXPECT_EQ(wrong_name.rfind("deny", 0), 0u) << wrong_name;
  EXPECT_NE(wrong_name.find("TLS handshake"), std::string::npos) << wrong_name;
}

// A sandboxed session's first tool call and first egress connection both need the run the
// gateway starts lazily: started from two threads at once, they must share one run (two
// runs would split the session's budgets and its audit trail in two).
TEST_F(McpDaemonTest, FirstCallAndFirstConnectionStartingTogetherShareOneRun) {
  mcp::DaemonOptions o;
  o.url = url_;
  o.token = mcp_token_;
  auto e = mcp::DaemonEnforcer::Create(daemon_client::DefaultConnector(), o);
  ASSERT_TRUE(e.ok()) << e.error().message;
  constexpr int kThreads = 8;
  std::vector<std::string> runs(kThreads);
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      while (!go.load()) std::this_thread::yield();
      auto run = (*e)->EnsureRun();
      runs[i] = run.ok() ? *run : "error: " + run.error().message;
    });
  }
  go = true;
  for (std::thread& t : threads) t.join();
  ASSERT_FALSE(runs[0].empty());
  EXPECT_EQ(runs[0].rfind("error", 0), std::string::npos) << runs[0];
  for (const std::string& r : runs) EXPECT_EQ(r, runs[0]);
  EXPECT_EQ((*e)->run_id(), runs[0]);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::testing
