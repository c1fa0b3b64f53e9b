// The ext_authz door (docs/gateways.md) asked by the real gRPC client Envoy's peers use in
// JavaScript (@grpc/grpc-js with Envoy's external_auth.proto, check.mjs), with exactly what
// Envoy's ext_authz filter sends for an MCP request when `with_request_body` is on, against a
// real `interlock serve` (its own temp dir, ports 0, bounded waits). Every answer is checked,
// and every decision is read back from the audit (GET /v1/calls/{id} as a reviewer). The
// AuthZEN evaluation API (POST /access/v1/evaluation[s]) is driven over HTTP with the
// specification's examples. Tests are named after the attack they stop.
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "daemon_harness.h"
#include "subprocess.h"
#include "temp_dir.h"
#include "wait.h"

namespace interlock::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

const std::string kSuiteDir = std::string(INTERLOCK_SOURCE_DIR) + "/tests/integration/ext_authz";

constexpr char kPolicy[] = R"(agent:
  id: "gw-agent"
  identity: "gw-agent@example.iam"
tools:
  allowed:
    - name: "read_file"
    - name: "send_email"
      requires_approval: true
    - name: "create_ticket"
  blocked:
    - "delete_all"
execution:
  max_steps: 1000
)";

constexpr char kConfig[] = R"(ext_authz:
  listen: 127.0.0.1:0
  max_body_bytes: 4096
  routes:
    - {path_prefix: /mcp, mcp: true}
    - {method: POST, path_prefix: /api/tickets, tool: create_ticket}
)";

std::string Str(const json::value& v, const char* key) {
  if (!v.is_object()) return "";
  const json::value* x = v.as_object().if_contains(key);
  return x != nullptr && x->is_string() ? std::string(x->as_string()) : "";
}

int64_t Int(const json::value& v, const char* key) {
  if (!v.is_object()) return -1;
  const json::value* x = v.as_object().if_contains(key);
  return x != nullptr && x->is_number() ? x->to_number<int64_t>() : -1;
}

// An MCP tools/call body (JSON-RPC id 7).
std::string ToolCallBody(const std::string& tool, const json::object& args = {{"path", "/x"}},
                         bool modern = false) {
  json::object params{{"name", tool}, {"arguments", args}};
  if (modern) {
    params["_meta"] = json::object{{"io.modelcontextprotocol/protocolVersion", "2026-07-28"}};
  }
  return json::serialize(
      json::object{{"jsonrpc", "2.0"}, {"id", 7}, {"method", "tools/call"}, {"params", params}});
}

class ExtAuthzTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    setup_error_ =
        RunSetupScriptOnce(std::string(INTERLOCK_SOURCE_DIR) + "/scripts/setup-ext-authz-tests.sh");
  }

  void SetUp() override {
    ASSERT_EQ(setup_error_, "") << "scripts/setup-ext-authz-tests.sh failed";
    std::ofstream(dir_.path() + "/agent.yaml") << kPolicy;
    std::ofstream(dir_.path() + "/interlock.yaml") << ConfigText();
    daemon_ = std::make_unique<Daemon>(dir_.path(), dir_.path() + "/agent.yaml",
                                       dir_.path() + "/interlock.yaml");
    ASSERT_TRUE(daemon_->Start()) << daemon_->log();
    std::smatch m;
    const std::string log = daemon_->log();
    ASSERT_TRUE(std::regex_search(log, m, std::regex("ext_authz gRPC on 127\\.0\\.0\\.1:(\\d+)")))
        << log;
    grpc_port_ = std::stoi(m[1]);
    agent_ = CreateToken(daemon_->store(), "--agent", "gw-agent");
    reviewer_ = CreateToken(daemon_->store(), "--reviewer", "rita");
    client_ = std::make_unique<HttpClient>(daemon_->port());
  }

  // The daemon's config file.
  virtual std::string ConfigText() const { return kConfig; }

  // An MCP POST as Envoy forwards it: the agent's bearer, the JSON body attached.
  json::object McpPost(const std::string& body, json::object extra_headers = {}) const {
    json::object headers{{"authorization", "Bearer " + agent_},
                         {"content-type", "application/json"},
                         {"accept", "application/json, text/event-stream"},
                         {"mcp-session-id", "session-1"}};
    for (const auto& kv : extra_headers) headers[kv.key()] = kv.value();
    return json::object{{"method", "POST"},
                        {"path", "/mcp"},
                        {"host", "tools.internal:8080"},
                        {"headers", headers},
                        {"body", body}};
  }

  // Sends `requests` in order through check.mjs; their answers.
  json::array Check(const json::array& requests) {
    std::vector<std::string> argv = {"/usr/bin/env", "node", kSuiteDir + "/check.mjs",
                                     std::to_string(grpc_port_)};
    if (!client_ca_.empty()) argv.push_back(client_ca_);
    ProcessResult p = RunProcess(argv, json::serialize(requests), 60s);
    EXPECT_EQ(p.exit_code, 0) << p.err;
    boost::system::error_code ec;
    json::value v = json::parse(p.out, ec);
    if (ec || !v.is_array() || v.as_array().size() != requests.size()) {
      ADD_FAILURE() << "check.mjs printed: " << p.out << "\nstderr: " << p.err;
      return json::array(requests.size(), json::object{});
    }
    return v.as_array();
  }
  json::value CheckOne(const json::object& request) { return Check(json::array{request}).at(0); }

  // The audit's record of decision `call_id` (GET /v1/calls/{id} as a reviewer): its code.
  std::string AuditedCode(const std::string& call_id) {
    if (call_id.empty()) return "(no decision id)";
    HttpResult r = client_->Request("GET", "/v1/calls/" + call_id, "", reviewer_);
    EXPECT_EQ(r.status, 200) << r.body;
    return Str(r.json, "code");
  }

  static std::string DecisionIdOf(const json::value& answer) {
    for (const char* where : {"ok_headers", "denied_headers"}) {
      const json::value* h = answer.as_object().if_contains(where);
      if (h != nullptr && h->is_object()) {
        if (std::string id = Str(*h, "x-interlock-decision-id"); !id.empty()) return id;
      }
    }
    return "";
  }

  static json::value DeniedBody(const json::value& answer) {
    boost::system::error_code ec;
    return json::parse(Str(answer, "denied_body"), ec);
  }

  // Runs h2_attacks.mjs SCENARIO against the listener with `request` (check.mjs's shape);
  // what it printed.
  json::value Attack(const std::string& scenario, const json::object& request,
                     const std::string& ca = "") {
    std::vector<std::string> argv = {"/usr/bin/env", "node", kSuiteDir + "/h2_attacks.mjs",
                                     std::to_string(grpc_port_), scenario};
    if (!ca.empty()) argv.push_back(ca);
    ProcessResult p = RunProcess(argv, json::serialize(request), 60s);
    EXPECT_EQ(p.exit_code, 0) << p.err;
    boost::system::error_code ec;
    json::value v = json::parse(p.out, ec);
    if (ec || !v.is_object()) {
      ADD_FAILURE() << "h2_attacks.mjs " << scenario << " printed: " << p.out
                    << "\nstderr: " << p.err;
      return json::object{};
    }
    return v;
  }

  // The daemon's peak resident memory (VmHWM) in KiB.
  int64_t DaemonPeakKib() const {
    std::ifstream in("/proc/" + std::to_string(daemon_->pid()) + "/status");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6));
    }
    return -1;
  }

  // Whether the audit holds a decision of `tool` (reviewer).
  bool AuditHas(const std::string& tool) {
    HttpResult r = client_->Request("GET", "/v1/audit?limit=1000", "", reviewer_);
    return r.status == 200 && r.body.find(tool) != std::string::npos;
  }

  static inline std::string setup_error_;
  TempDir dir_;
  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<HttpClient> client_;
  int grpc_port_ = 0;
  std::string agent_, reviewer_;
  std::string client_ca_;  // check.mjs connects with TLS trusting this CA ("" : plaintext)
};

constexpr int64_t kOk = 0, kInvalidArgument = 3, kPermissionDenied = 7, kUnavailable = 14,
                  kUnauthenticated = 16;

// Tests that an allowed tools/call is OK with the decision id (and run) the gateway adds
// upstream, and that the audit holds it ALLOWED.
TEST_F(ExtAuthzTest, AllowedToolCallIsOkWithTheDecisionIdAndAudited) {
  json::value a = CheckOne(McpPost(ToolCallBody("read_file")));
  ASSERT_EQ(Int(a, "code"), kOk) << json::serialize(a);
  const json::value& h = a.at("ok_headers");
  EXPECT_FALSE(Str(h, "x-interlock-decision-id").empty()) << json::serialize(a);
  EXPECT_EQ(Str(h, "x-interlock-run-id").substr(0, 3), "ea-");
  EXPECT_EQ(AuditedCode(DecisionIdOf(a)), "ALLOWED");
}

// Tests that a blocked tool is PERMISSION_DENIED with the MCP door's denial: a tool result
// with isError under the request's JSON-RPC id (HTTP 200, so an MCP client reads it), and
// audited TOOL_BLOCKED.
TEST_F(ExtAuthzTest, BlockedToolIsDeniedAsAnMcpToolResult) {
  json::value a = CheckOne(McpPost(ToolCallBody("delete_all")));
  ASSERT_EQ(Int(a, "code"), kPermissionDenied) << json::serialize(a);
  EXPECT_EQ(Int(a, "denied_status"), 200);
  json::value body = DeniedBody(a);
  EXPECT_EQ(Int(body, "id"), 7) << json::serialize(body);
  EXPECT_TRUE(body.at("result").at("isError").as_bool());
  EXPECT_NE(Str(body.at("result").at("content").at(0), "text").find("delete_all"),
            std::string::npos);
  EXPECT_EQ(AuditedCode(DecisionIdOf(a)), "TOOL_BLOCKED");
}

// Tests that the gateway's Checks are in the daemon's decision metrics as the HTTP API's
// calls are (the core counts every door's answers; before, this door's were missing, so a
// dashboard on interlock_decisions_total saw nothing of the agents behind the gateway).
TEST_F(ExtAuthzTest, ChecksAreCountedInTheDecisionMetricsAsEveryDoorsAre) {
  json::array a =
      Check(json::array{McpPost(ToolCallBody("read_file")), McpPost(ToolCallBody("delete_all"))});
  ASSERT_EQ(Int(a.at(0), "code"), kOk) << json::serialize(a);
  ASSERT_EQ(Int(a.at(1), "code"), kPermissionDenied) << json::serialize(a);
  HttpResult m = client_->Request("GET", "/metrics");
  ASSERT_EQ(m.status, 200) << m.body;
  EXPECT_NE(m.body.find("interlock_decisions_total{agent=\"gw-agent\",code=\"ALLOWED\"} 1\n"),
            std::string::npos)
      << m.body;
  EXPECT_NE(m.body.find("interlock_decisions_total{agent=\"gw-agent\",code=\"TOOL_BLOCKED\"} 1\n"),
            std::string::npos)
      << m.body;
  EXPECT_NE(m.body.find("interlock_decision_latency_seconds_count 2\n"), std::string::npos)
      << m.body;
}

// Tests that a call held for approval is a deny naming the approval and the retry contract;
// that once a reviewer approves it, the identical call retried is OK exactly once.
TEST_F(ExtAuthzTest, ApprovalIsADenyUntilApprovedThenTheRetryIsAllowedOnce) {
  const json::object args{{"to", "cfo@example.com"}};
  json::value held = CheckOne(McpPost(ToolCallBody("send_email", args)));
  ASSERT_EQ(Int(held, "code"), kPermissionDenied) << json::serialize(held);
  const std::string approval = Str(held.at("denied_headers"), "x-interlock-approval-id");
  ASSERT_FALSE(approval.empty()) << json::serialize(held);
  json::value body = DeniedBody(held);
  const std::string text = Str(body.at("result").at("content").at(0), "text");
  EXPECT_NE(text.find(approval), std::string::npos) << text;
  EXPECT_NE(text.find("Retry the identical call"), std::string::npos) << text;
  EXPECT_EQ(Str(body.at("result").at("_meta").at("interlock.dev/approval"), "retry"),
            "identical-call");
  EXPECT_EQ(AuditedCode(DecisionIdOf(held)), "APPROVAL_REQUIRED");

  HttpResult vote = client_->Request(
      "POST", "/v1/approvals/" + approval,
      json::serialize(json::object{{"verdict", "approve"}, {"comment", "ok"}}), reviewer_);
  ASSERT_EQ(vote.status, 200) << vote.body;
  json::array again = Check(json::array{McpPost(ToolCallBody("send_email", args)),
                                        McpPost(ToolCallBody("send_email", args))});
  EXPECT_EQ(Int(again[0], "code"), kOk) << json::serialize(again);
  EXPECT_EQ(Int(again[1], "code"), kPermissionDenied) << json::serialize(again);
  EXPECT_EQ(AuditedCode(DecisionIdOf(again[0])), "ALLOWED");
}

// Tests that a body that is not JSON, a batch, and a tools/call without a name are refused
// (INVALID_ARGUMENT, a JSON-RPC error), never forwarded, and each refusal is audited.
TEST_F(ExtAuthzTest, MalformedBodiesAreRefusedAndAudited) {
  json::array a = Check(json::array{
      McpPost(R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":)"),
      McpPost("[" + ToolCallBody("read_file") + "]"),
      McpPost(R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{}})"),
      McpPost(R"({"jsonrpc":"2.0","id":7,"id":8,"method":"tools/call","params":{"name":"x"}})")});
  for (const json::value& r : a) {
    EXPECT_EQ(Int(r, "code"), kInvalidArgument) << json::serialize(r);
    EXPECT_EQ(Int(r, "denied_status"), 400) << json::serialize(r);
    EXPECT_TRUE(DeniedBody(r).as_object().contains("error")) << json::serialize(r);
    EXPECT_EQ(AuditedCode(DecisionIdOf(r)), "INVALID_REQUEST") << json::serialize(r);
  }
}

// Tests that a gateway configured without with_request_body (no body) cannot get a tool
// call allowed: the request is refused, naming the setting.
TEST_F(ExtAuthzTest, MissingBodyIsRefusedNeverAllowed) {
  json::object req = McpPost("");
  req.erase("body");
  json::value a = CheckOne(req);
  EXPECT_EQ(Int(a, "code"), kInvalidArgument) << json::serialize(a);
  EXPECT_NE(Str(a, "message").find("with_request_body"), std::string::npos);
  EXPECT_EQ(AuditedCode(DecisionIdOf(a)), "INVALID_REQUEST");
}

// Tests that a body over max_body_bytes, or one the gateway cut (partial), is refused
// (never decided on a part), and audited.
TEST_F(ExtAuthzTest, OversizedOrPartialBodyIsRefusedNeverDecidedOnAPart) {
  json::object big = McpPost(ToolCallBody("read_file", {{"path", std::string(5000, 'a')}}));
  json::object cut = McpPost(ToolCallBody("read_file").substr(0, 40));
  cut["partial"] = true;
  json::array a = Check(json::array{big, cut});
  for (const json::value& r : a) {
    EXPECT_EQ(Int(r, "code"), kInvalidArgument) << json::serialize(r);
    EXPECT_EQ(Int(r, "denied_status"), 413) << json::serialize(r);
    EXPECT_EQ(AuditedCode(DecisionIdOf(r)), "INVALID_REQUEST");
  }
}

// Tests that Mcp-Method / Mcp-Name headers disagreeing with the body (a router deciding on
// the header, a server acting on the body) are refused with the header-mismatch error.
TEST_F(ExtAuthzTest, HeadersDisagreeingWithTheBodyAreRefused) {
  json::array a = Check(
      json::array{McpPost(ToolCallBody("delete_all"), {{"mcp-name", "read_file"}}),
                  McpPost(ToolCallBody("delete_all"), {{"mcp-method", "tools/list"}}),
                  McpPost(ToolCallBody("delete_all", {}, true),
                          {{"mcp-protocol-version", "2026-07-28"}, {"mcp-method", "tools/call"}})});
  for (const json::value& r : a) {
    EXPECT_EQ(Int(r, "code"), kInvalidArgument) << json::serialize(r);
    EXPECT_EQ(Int(DeniedBody(r).at("error"), "code"), -32020) << json::serialize(r);
    EXPECT_EQ(AuditedCode(DecisionIdOf(r)), "INVALID_REQUEST");
  }
}

// Tests both MCP revisions: a 2025-11-25 call without metadata headers and a 2026-07-28 call
// with agreeing headers are decided alike.
TEST_F(ExtAuthzTest, BothMcpRevisionsAreDecided) {
  json::array a = Check(
      json::array{McpPost(ToolCallBody("read_file"), {{"mcp-protocol-version", "2025-11-25"}}),
                  McpPost(ToolCallBody("read_file", {{"path", "/x"}}, true),
                          {{"mcp-protocol-version", "2026-07-28"},
                           {"mcp-method", "tools/call"},
                           {"mcp-name", "read_file"}}),
                  McpPost(ToolCallBody("delete_all", {{"path", "/x"}}, true),
                          {{"mcp-protocol-version", "2026-07-28"},
                           {"mcp-method", "tools/call"},
                           {"mcp-name", "=?base64?ZGVsZXRlX2FsbA==?="}})});
  EXPECT_EQ(Int(a[0], "code"), kOk) << json::serialize(a[0]);
  EXPECT_EQ(Int(a[1], "code"), kOk) << json::serialize(a[1]);
  EXPECT_EQ(Int(a[2], "code"), kPermissionDenied) << json::serialize(a[2]);
  EXPECT_EQ(AuditedCode(DecisionIdOf(a[1])), "ALLOWED");
  EXPECT_EQ(AuditedCode(DecisionIdOf(a[2])), "TOOL_BLOCKED");
}

// Tests that no credential, a wrong one, and a reviewer's token never pass.
TEST_F(ExtAuthzTest, NoOrWrongCredentialsNeverPass) {
  json::object none = McpPost(ToolCallBody("read_file"));
  none["headers"].as_object().erase("authorization");
  json::object wrong = McpPost(ToolCallBody("read_file"), {{"authorization", "Bearer nope"}});
  json::object reviewer =
      McpPost(ToolCallBody("read_file"), {{"authorization", "Bearer " + reviewer_}});
  json::array a = Check(json::array{none, wrong, reviewer});
  EXPECT_EQ(Int(a[0], "code"), kUnauthenticated) << json::serialize(a[0]);
  EXPECT_EQ(Int(a[0], "denied_status"), 401);
  EXPECT_EQ(Int(a[1], "code"), kUnauthenticated) << json::serialize(a[1]);
  EXPECT_EQ(Int(a[2], "code"), kPermissionDenied) << json::serialize(a[2]);
}

// Tests that a store that cannot answer (locked by another writer) is UNAVAILABLE, never OK,
// and the same call is allowed once the store answers again.
TEST_F(ExtAuthzTest, StoreDownIsUnavailableNeverOk) {
  ASSERT_EQ(Int(CheckOne(McpPost(ToolCallBody("read_file"))), "code"), kOk);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(daemon_->store().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  json::value down = CheckOne(McpPost(ToolCallBody("read_file")));
  sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  EXPECT_EQ(Int(down, "code"), kUnavailable) << json::serialize(down);
  EXPECT_EQ(Int(CheckOne(McpPost(ToolCallBody("read_file"))), "code"), kOk);
}

// Tests that a non-MCP route mapped to a tool is decided as that tool with {method, path,
// query, body} as its arguments, and that a request no route covers is denied.
TEST_F(ExtAuthzTest, PlainRouteIsDecidedAsItsToolAndUnroutedRequestsAreDenied) {
  json::object ticket{{"method", "POST"},
                      {"path", "/api/tickets?team=ops"},
                      {"host", "api.internal"},
                      {"headers", json::object{{"authorization", "Bearer " + agent_},
                                               {"content-type", "application/json"}}},
                      {"body", R"({"title":"disk full"})"}};
  json::object other = ticket;
  other["path"] = "/admin/drop";
  json::array a = Check(json::array{ticket, other});
  ASSERT_EQ(Int(a[0], "code"), kOk) << json::serialize(a[0]);
  HttpResult rec = client_->Request("GET", "/v1/calls/" + DecisionIdOf(a[0]), "", reviewer_);
  EXPECT_EQ(Str(rec.json, "tool"), "create_ticket") << rec.body;
  EXPECT_EQ(Int(a[1], "code"), kPermissionDenied) << json::serialize(a[1]);
}

// Tests that other MCP methods pass as the MCP door forwards them (tools/list cannot be
// filtered by a gateway) and that a method dressed as tools/call is refused.
TEST_F(ExtAuthzTest, ListsPassAndLookalikeToolsCallIsRefused) {
  json::array a = Check(json::array{
      McpPost(R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})"),
      McpPost(R"({"jsonrpc":"2.0","id":2,"method":"Tools/Call","params":{"name":"delete_all"}})")});
  EXPECT_EQ(Int(a[0], "code"), kOk) << json::serialize(a[0]);
  EXPECT_EQ(Int(a[1], "code"), kInvalidArgument) << json::serialize(a[1]);
}

// Tests that a daemon stopped (SIGTERM) with Checks in flight exits cleanly, having answered
// each Check it took: every answer is a decision or an RPC error (the gateway then denies),
// never an OK without its decision; and every OK is in the audit when the daemon is back.
TEST_F(ExtAuthzTest, ShutdownWithChecksInFlightAnswersEachAndNeverAllowsUnrecorded) {
  json::array burst;
  for (int i = 0; i < 1500; ++i) burst.push_back(McpPost(ToolCallBody("read_file")));
  auto answers = std::async(std::launch::async, [&] {
    return RunProcess({"/usr/bin/env", "CHECK_ALL_AT_ONCE=1", "node", kSuiteDir + "/check.mjs",
                       std::to_string(grpc_port_)},
                      json::serialize(burst), 60s);
  });
  // Stop once the first Checks are decided: the rest of the burst is in flight.
  WaitUntil(
      [&] {
        HttpResult audit = client_->Request("GET", "/v1/audit?limit=5", "", reviewer_);
        return audit.body.find("read_file") != std::string::npos;
      },
      30s, 20ms);
  EXPECT_EQ(daemon_->Stop(), 0) << daemon_->log();
  ProcessResult p = answers.get();
  ASSERT_EQ(p.exit_code, 0) << p.err;
  boost::system::error_code ec;
  json::value v = json::parse(p.out, ec);
  ASSERT_FALSE(ec) << p.out;
  std::vector<std::string> allowed;
  for (const json::value& a : v.as_array()) {
    if (Int(a, "rpc_error") >= 0) continue;  // not answered: the gateway denies
    ASSERT_GE(Int(a, "code"), 0) << json::serialize(a);
    if (Int(a, "code") != kOk) continue;  // denied (past the run's max_steps)
    allowed.push_back(DecisionIdOf(a));
    ASSERT_FALSE(allowed.back().empty()) << json::serialize(a);
  }
  ASSERT_TRUE(daemon_->Start()) << daemon_->log();
  client_ = std::make_unique<HttpClient>(daemon_->port());
  for (size_t i = 0; i < allowed.size(); i += std::max<size_t>(1, allowed.size() / 20)) {
    EXPECT_EQ(AuditedCode(allowed[i]), "ALLOWED") << allowed[i];
  }
}

// --- What the listener refuses (HTTP/2 a gRPC client never sends) ---

constexpr int64_t kGrpcResourceExhausted = 8, kGrpcUnimplemented = 12, kGrpcInternal = 13;

// Tests that a peer that connects and never sends the HTTP/2 preface (a slowloris holding a
// connection) is closed after the listener's preface timeout (5 s).
TEST_F(ExtAuthzTest, PeerThatNeverSendsThePrefaceIsClosedAfterTheTimeout) {
  json::value a = Attack("preface", {});
  EXPECT_TRUE(a.at("closed").as_bool()) << json::serialize(a);
  EXPECT_GE(Int(a, "after_ms"), 4000) << json::serialize(a);
  EXPECT_LT(Int(a, "after_ms"), 15000) << json::serialize(a);
}

// Tests that a compressed message (flag 1) is refused UNIMPLEMENTED naming the one encoding
// accepted (grpc-accept-encoding: identity), never decompressed nor decided.
TEST_F(ExtAuthzTest, CompressedMessageIsRefusedAndNotDecided) {
  json::value a = Attack("compressed", McpPost(ToolCallBody("read_file")));
  EXPECT_EQ(Int(a, "grpc_status"), kGrpcUnimplemented) << json::serialize(a);
  EXPECT_EQ(Str(a, "accept_encoding"), "identity") << json::serialize(a);
  EXPECT_EQ(Int(a, "data_bytes"), 0) << json::serialize(a);
  EXPECT_FALSE(AuditHas("read_file"));
}

// Tests that a second message in one unary call (a request smuggled behind the first) is
// refused INTERNAL, and neither message is decided.
TEST_F(ExtAuthzTest, SecondMessageInOneCallIsRefusedAndNeitherIsDecided) {
  json::value a = Attack("two_messages", McpPost(ToolCallBody("read_file")));
  EXPECT_EQ(Int(a, "grpc_status"), kGrpcInternal) << json::serialize(a);
  EXPECT_EQ(Int(a, "data_bytes"), 0) << json::serialize(a);
  EXPECT_FALSE(AuditHas("read_file"));
}

// Tests that a message cut short by END_STREAM is refused INTERNAL, never decided.
TEST_F(ExtAuthzTest, MessageCutShortIsRefusedNotDecided) {
  json::value a = Attack("cut_short", McpPost(ToolCallBody("read_file")));
  EXPECT_EQ(Int(a, "grpc_status"), kGrpcInternal) << json::serialize(a);
  EXPECT_FALSE(AuditHas("read_file"));
}

// Tests that Checks whose strings are not UTF-8 (protobuf refuses them) are each refused
// INTERNAL and decided never, and that they leave no line per Check in the daemon's log
// (libprotobuf's own error log, a flood a peer could cause, is off).
TEST_F(ExtAuthzTest, NonUtf8StringsAreRefusedWithoutFloodingTheLog) {
  for (int i = 0; i < 3; ++i) {
    json::value a = Attack("not_utf8", McpPost(ToolCallBody("read_file", {{"path", "ZZZZ"}})));
    EXPECT_EQ(Int(a, "grpc_status"), kGrpcInternal) << json::serialize(a);
  }
  EXPECT_FALSE(AuditHas("read_file"));
  EXPECT_EQ(daemon_->log().find("libprotobuf"), std::string::npos) << daemon_->log();
  EXPECT_EQ(Int(CheckOne(McpPost(ToolCallBody("read_file"))), "code"), kOk);
}

// Tests that a message whose prefix claims 64 MiB (over max_body_bytes + 1 MiB) is refused
// RESOURCE_EXHAUSTED from its prefix, the daemon buffering none of it (its peak memory does
// not grow by the message), and that the listener still decides the next Check.
TEST_F(ExtAuthzTest, MessageOverTheLimitIsRefusedWithoutBufferingIt) {
  ASSERT_EQ(Int(CheckOne(McpPost(ToolCallBody("read_file"))), "code"), kOk);
  const int64_t before = DaemonPeakKib();
  ASSERT_GT(before, 0);
  json::value a = Attack("oversized", McpPost(ToolCallBody("read_file")));
  EXPECT_EQ(Int(a, "grpc_status"), kGrpcResourceExhausted) << json::serialize(a);
  EXPECT_LT(DaemonPeakKib() - before, 16 * 1024) << "the daemon buffered the message";
  EXPECT_EQ(Int(CheckOne(McpPost(ToolCallBody("read_file"))), "code"), kOk);
}

// Tests that Checks whose streams the client resets as soon as they are sent (and then
// drops the connection) are still decided, their answers going nowhere, and that the
// daemon serves the next Check (no answer written into a freed call).
TEST_F(ExtAuthzTest, ClientResettingStreamsMidDecisionLeavesTheDaemonServing) {
  json::value a = Attack("reset", McpPost(ToolCallBody("read_file")));
  EXPECT_EQ(Int(a, "sent"), 100) << json::serialize(a);
  EXPECT_TRUE(WaitUntil([&] { return AuditHas("read_file"); }, 30s, 20ms));
  json::value next = CheckOne(McpPost(ToolCallBody("delete_all")));
  EXPECT_EQ(Int(next, "code"), kPermissionDenied) << json::serialize(next);
  EXPECT_EQ(AuditedCode(DecisionIdOf(next)), "TOOL_BLOCKED");
}

// Tests that another method's :path is UNIMPLEMENTED (trailers-only) and a content-type
// other than application/grpc is HTTP 415, neither decided.
TEST_F(ExtAuthzTest, WrongPathOrContentTypeIsRefusedNotDecided) {
  json::value path = Attack("wrong_path", McpPost(ToolCallBody("read_file")));
  EXPECT_EQ(Int(path, "status"), 200) << json::serialize(path);
  EXPECT_EQ(Int(path, "grpc_status"), kGrpcUnimplemented) << json::serialize(path);
  EXPECT_EQ(Int(path, "data_bytes"), 0) << json::serialize(path);
  json::value type = Attack("wrong_content_type", McpPost(ToolCallBody("read_file")));
  EXPECT_EQ(Int(type, "status"), 415) << json::serialize(type);
  EXPECT_FALSE(AuditHas("read_file"));
}

// --- The listener over TLS (ext_authz.tls_cert, tls_key) ---

// The daemon's gRPC listener with a certificate for 127.0.0.1 signed by a CA the test makes.
class ExtAuthzTlsTest : public ExtAuthzTest {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.path() + "/ca");
    ca_ = MakeTestCa(dir_.path() + "/ca");
    ASSERT_EQ(ca_.error, "");
    ExtAuthzTest::SetUp();
  }
  std::string ConfigText() const override {
    return std::string(kConfig) + "  tls_cert: " + ca_.cert + "\n  tls_key: " + ca_.key + "\n";
  }
  // The audit's records as text (reviewer), to find a decision in.
  std::string AuditText() {
    HttpResult r = client_->Request("GET", "/v1/audit?limit=1000", "", reviewer_);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.body;
  }
  TestCa ca_;
};

// Tests that a gateway connecting with TLS, trusting the daemon's CA, gets its decision:
// the listener says TLS, the allowed call is OK and audited, a blocked one denied.
TEST_F(ExtAuthzTlsTest, TlsClientTrustingTheCaGetsADecision) {
  EXPECT_NE(
      daemon_->log().find("ext_authz gRPC on 127.0.0.1:" + std::to_string(grpc_port_) + " (TLS)"),
      std::string::npos)
      << daemon_->log();
  client_ca_ = ca_.ca;
  json::array a =
      Check(json::array{McpPost(ToolCallBody("read_file")), McpPost(ToolCallBody("delete_all"))});
  ASSERT_EQ(Int(a[0], "code"), kOk) << json::serialize(a[0]);
  EXPECT_EQ(AuditedCode(DecisionIdOf(a[0])), "ALLOWED");
  EXPECT_EQ(Int(a[1], "code"), kPermissionDenied) << json::serialize(a[1]);
  EXPECT_EQ(AuditedCode(DecisionIdOf(a[1])), "TOOL_BLOCKED");
  EXPECT_NE(AuditText().find("read_file"), std::string::npos);  // what the others look for
}

// Tests that a plaintext client (no TLS) against the TLS listener gets no decision at all:
// the RPC fails (UNAVAILABLE), nothing is decided or recorded, never an OK.
TEST_F(ExtAuthzTlsTest, PlaintextClientAgainstTheTlsListenerGetsNoDecision) {
  client_ca_.clear();
  json::value a = CheckOne(McpPost(ToolCallBody("read_file")));
  EXPECT_EQ(Int(a, "rpc_error"), kUnavailable) << json::serialize(a);
  EXPECT_FALSE(a.as_object().contains("code")) << json::serialize(a);
  EXPECT_EQ(AuditText().find("read_file"), std::string::npos);  // nothing decided
}

// Tests that a client trusting another CA (a man in the middle's certificate, seen from the
// other side) refuses the daemon's certificate: no decision is asked or answered.
TEST_F(ExtAuthzTlsTest, ClientTrustingAnotherCaGetsNoDecision) {
  std::filesystem::create_directories(dir_.path() + "/other-ca");
  const TestCa other = MakeTestCa(dir_.path() + "/other-ca");
  ASSERT_EQ(other.error, "");
  client_ca_ = other.ca;
  json::value a = CheckOne(McpPost(ToolCallBody("read_file")));
  EXPECT_EQ(Int(a, "rpc_error"), kUnavailable) << json::serialize(a);
  EXPECT_FALSE(a.as_object().contains("code")) << json::serialize(a);
  EXPECT_EQ(AuditText().find("read_file"), std::string::npos);  // nothing decided
}

// Tests that a TLS client offering only http/1.1 in ALPN (no h2) fails the handshake: no
// connection, nothing decided.
TEST_F(ExtAuthzTlsTest, TlsClientOfferingNoH2AlpnGetsNoConnection) {
  json::value a = Attack("alpn_http1", McpPost(ToolCallBody("read_file")), ca_.ca);
  EXPECT_FALSE(a.at("alpn").is_string()) << json::serialize(a);
  EXPECT_FALSE(Str(a, "error").empty()) << json::serialize(a);
  EXPECT_EQ(AuditText().find("read_file"), std::string::npos);
}

// --- AuthZEN 1.0 (POST /access/v1/evaluation[s]) ---

// Tests the specification's single evaluation example (its subject the token's agent): the
// decision through the core, audited; and that a subject naming another agent is decided
// false and recorded, never taken from the body.
TEST_F(ExtAuthzTest, AuthzenSubjectIsTheTokensAgentNeverTheBody) {
  const std::string example =
      R"({"subject":{"type":"user","id":"gw-agent"},"resource":{"type":"account","id":"123"},)"
      R"("action":{"name":"read_file","properties":{"method":"GET"}},)"
      R"("context":{"time":"1985-10-26T01:22-07:00"}})";
  HttpResult ok = client_->Request("POST", "/access/v1/evaluation", example, agent_);
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_TRUE(ok.json.at("decision").as_bool()) << ok.body;
  EXPECT_EQ(AuditedCode(Str(ok.json.at("context"), "decision_id")), "ALLOWED");
  std::string spoofed = example;
  spoofed.replace(spoofed.find("gw-agent"), 8, "admin-bot");
  HttpResult no = client_->Request("POST", "/access/v1/evaluation", spoofed, agent_);
  ASSERT_EQ(no.status, 200) << no.body;
  EXPECT_FALSE(no.json.at("decision").as_bool()) << no.body;
  EXPECT_EQ(Str(no.json.at("context"), "code"), "INVALID_REQUEST");
  EXPECT_EQ(AuditedCode(Str(no.json.at("context"), "decision_id")), "INVALID_REQUEST");
  EXPECT_EQ(client_->Request("POST", "/access/v1/evaluation", example, "").status, 401);
  EXPECT_EQ(client_->Request("POST", "/access/v1/evaluation", example, reviewer_).status, 403);
}

// Tests the specification's evaluations example (defaults, per-item overrides), the
// short-circuit semantics, and that wrong shapes are 400 with a body saying why.
TEST_F(ExtAuthzTest, AuthzenEvaluationsAndWrongShapes) {
  const std::string batch =
      R"({"subject":{"type":"user","id":"gw-agent"},"context":{"time":"2024-05-31T15:22-07:00"},)"
      R"("action":{"name":"read_file"},"evaluations":[)"
      R"({"resource":{"type":"document","id":"boxcarring.md"}},)"
      R"({"action":{"name":"delete_all"},"resource":{"type":"document","id":"subject-search.md"}},)"
      R"({"resource":{"type":"document","id":"resource-search.md"}}])";
  HttpResult all = client_->Request("POST", "/access/v1/evaluations", batch + "}", agent_);
  ASSERT_EQ(all.status, 200) << all.body;
  const json::array& e = all.json.at("evaluations").as_array();
  ASSERT_EQ(e.size(), 3u) << all.body;
  EXPECT_TRUE(e[0].at("decision").as_bool());
  EXPECT_FALSE(e[1].at("decision").as_bool());
  EXPECT_EQ(Str(e[1].at("context"), "code"), "TOOL_BLOCKED");
  EXPECT_TRUE(e[2].at("decision").as_bool());
  HttpResult first = client_->Request(
      "POST", "/access/v1/evaluations",
      batch + R"(,"options":{"evaluations_semantic":"deny_on_first_deny"}})", agent_);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.json.at("evaluations").as_array().size(), 2u) << first.body;
  for (const char* bad :
       {"[]", R"({"subject":{"type":"user","id":"gw-agent"}})",
        R"({"subject":{"type":"user","id":"gw-agent"},"action":{"name":"read_file"},)"
        R"("resource":{"type":"doc","id":"1"},"context":[]})",
        R"({"subject":{"type":"user","id":"gw-agent"},"action":{"name":"read_file"},)"
        R"("resource":{"type":"doc","id":"1"},"extra":true})",
        R"({"subject":{"type":"user","id":"gw-agent"},"action":{"name":"read_file"},)"
        R"("resource":{"type":"doc","id":"1","properties":{"a":1}},"context":{"a":2}})"}) {
    HttpResult r = client_->Request("POST", "/access/v1/evaluation", bad, agent_);
    EXPECT_EQ(r.status, 400) << bad << " -> " << r.body;
    EXPECT_FALSE(Str(r.json, "reason").empty()) << r.body;
  }
}

}  // namespace
}  // namespace interlock::testing
