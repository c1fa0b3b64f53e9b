// The stdio MCP gateway `interlock mcp` (standalone: a local policy and a temporary store)
// exporting over OTLP/HTTP, configured only by the standard OTEL_EXPORTER_OTLP_* variables,
// to a real receiver on 127.0.0.1 (otlp_receiver.cjs decodes with the official
// OpenTelemetry protobuf definitions). The MCP server is server-everything from npm; the
// client is mcp_otel_client.mjs (raw JSON-RPC over stdio, approving at the client).
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "node_suite.h"
#include "otlp_receiver.h"
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

constexpr char kTraceId[] = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr char kTraceparent[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
constexpr int kInternal = 1, kServer = 2, kClientKind = 3;

constexpr char kPolicy[] = R"(agent:
  id: "otel-mcp"
tools:
  allowed:
    - name: "echo"
      redact: ["message"]
    - name: "get-sum"
      requires_approval: true
  blocked:
    - "get-env"
)";

// The variables a test does not set are removed, so the runner's environment cannot leak in.
const std::vector<std::string> kOtelVariables = {
    "OTEL_EXPORTER_OTLP_ENDPOINT",      "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",      "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TIMEOUT",       "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",         "OTEL_SDK_DISABLED"};

std::string ToolCall(int id, const std::string& tool, const json::object& args,
                     const std::string& traceparent = "") {
  json::object params{{"name", tool}, {"arguments", args}};
  if (!traceparent.empty()) params["_meta"] = json::object{{"traceparent", traceparent}};
  return json::serialize(
      json::object{{"jsonrpc", "2.0"}, {"id", id}, {"method", "tools/call"}, {"params", params}});
}

std::string Pause(int ms) { return json::serialize(json::object{{"sleep_ms", ms}}); }

// One gateway session: what the client received and how long each request took.
struct Session {
  int exit_code = -1;  // the client's; the gateway's is `gateway_exit`
  int gateway_exit = -1;
  json::array messages;
  json::object elapsed_ms;
  std::string out, err;
  std::string run_id;  // from the gateway's start-up line

  const json::object* Response(int id) const {
    for (const json::value& m : messages) {
      const json::object& o = m.as_object();
      if (o.contains("id") && !o.contains("method") && o.at("id") == json::value(id)) return &o;
    }
    return nullptr;
  }
  double Elapsed(int id) const {
    const json::value* v = elapsed_ms.if_contains(std::to_string(id));
    return v != nullptr ? v->to_number<double>() : 1e9;
  }
};

// The first span named `name` of `kind` in `trace_id`, or null.
const json::object* SpanIn(const std::vector<json::object>& spans, const std::string& trace_id,
                           const std::string& name, int kind) {
  for (const json::object& s : spans) {
    if (s.at("traceId").as_string() == trace_id && s.at("name").as_string() == name &&
        s.at("kind").to_number<int64_t>() == kind) {
      return &s;
    }
  }
  return nullptr;
}

std::string Parent(const json::object& span) {
  const json::value* p = span.if_contains("parentSpanId");
  return p != nullptr && p->is_string() ? std::string(p->as_string()) : "";
}

// A data point's value (asInt is a decimal string once decoded, asDouble a number).
double PointValue(const json::object& point) {
  if (const json::value* i = point.if_contains("asInt"); i != nullptr) {
    return i->is_string() ? std::stod(std::string(i->as_string())) : i->to_number<double>();
  }
  if (const json::value* d = point.if_contains("asDouble"); d != nullptr) {
    return d->to_number<double>();
  }
  return -1;
}

// A loopback listener that never accepts: connections queue in the kernel, requests are
// never read or answered (a hung collector). Closed on destruction.
class HungCollector {
 public:
  HungCollector() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 64) != 0) {
      return;
    }
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~HungCollector() {
    if (fd_ >= 0) ::close(fd_);
  }
  HungCollector(const HungCollector&) = delete;
  HungCollector& operator=(const HungCollector&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

class McpTelemetryTest : public testing::NodeSuite {
 protected:
  void SetUp() override {
    ASSERT_EQ(setup_error_, "") << "scripts/setup-node-tests.sh failed";
    policy_ = dir_.Write("policy.yaml", kPolicy);
    store_ = dir_.path() + "/state/interlock.db";
    // A named store's directory must exist (or --create): docs/operations.md#store.
    std::filesystem::create_directories(std::filesystem::path(store_).parent_path());
  }

  // Runs `interlock mcp --policy P --store S -- server-everything` under the client with
  // `env` (NAME=VALUE) added to the environment, sending `lines` after the handshake.
  Session RunGateway(const std::vector<std::string>& env, const std::vector<std::string>& lines) {
    std::string msgs;
    for (const std::string& l : lines) msgs += l + "\n";
    const std::string file = dir_.Write("msgs-" + std::to_string(++sessions_) + ".jsonl", msgs);
    std::vector<std::string> argv = {"/usr/bin/env"};
    for (const std::string& v : kOtelVariables) {
      argv.push_back("-u");
      argv.push_back(v);
    }
    argv.insert(argv.end(), env.begin(), env.end());
    for (const std::string& a :
         {std::string("node"), kClient, file, std::string("--"), kInterlock, std::string("mcp"),
          std::string("--policy"), policy_, std::string("--store"), store_, std::string("--"),
          std::string("node"), kEverything, std::string("stdio")}) {
      argv.push_back(a);
    }
    ProcessResult r = RunProcess(argv, "", 90s);
    Session s;
    s.exit_code = r.exit_code;
    s.out = r.out;
    s.err = r.err;
    std::istringstream lines_out(r.out);
    for (std::string line; std::getline(lines_out, line);) {
      boost::system::error_code ec;
      json::value v = json::parse(line, ec);
      if (ec || !v.is_object()) continue;
      if (const json::value* e = v.as_object().if_contains("elapsed_ms")) {
        s.elapsed_ms = e->as_object();
      }
      if (const json::value* m = v.as_object().if_contains("messages")) {
        s.messages = m->as_array();
        const json::value& code = v.at("exit");
        s.gateway_exit = code.is_int64() ? static_cast<int>(code.as_int64()) : -1;
      }
    }
    std::smatch m;
    if (std::regex_search(r.err, m, std::regex("interlock mcp: agent [^,]+, run ([^,\\s]+),"))) {
      s.run_id = m[1];
    }
    return s;
  }

  // The audit's replay of `run` (interlock replay --format json): the call with `call_id`.
  json::object ReplayedCall(const std::string& run, const std::string& call_id) {
    ProcessResult r =
        RunProcess({kInterlock, "replay", run, "--store", store_, "--format", "json"}, "", 60s);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    boost::system::error_code ec;
    json::value v = json::parse(r.out, ec);
    if (!ec && v.is_object() && v.as_object().contains("calls")) {
      for (const json::value& c : v.at("calls").as_array()) {
        if (Str(c, "call_id") == call_id) return c.as_object();
      }
    }
    ADD_FAILURE() << "no replayed call " << call_id << " in run " << run << ": " << r.out;
    return {};
  }

  TempDir dir_;
  std::string policy_, store_;
  int sessions_ = 0;
};

// Tests that a tools/call carrying _meta.traceparent becomes a SERVER span in the client's
// trace with the decision's attributes, parenting the core's decision span and the CLIENT
// span of the upstream call, sent as OTLP/protobuf chosen by the OTEL_* variables only.
TEST_F(McpTelemetryTest, MetaTraceparentParentsTheCallSpanAndItsDecisionAndUpstreamChildren) {
  OtlpReceiver otlp(dir_.path());
  ASSERT_GT(otlp.port(), 0);
  Session s = RunGateway(
      {"OTEL_EXPORTER_OTLP_ENDPOINT=" + otlp.url(), "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf"},
      {ToolCall(2, "echo", {{"message", "hello"}}, kTraceparent)});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_EQ(s.gateway_exit, 0) << s.err;
  const json::object* echo = s.Response(2);
  ASSERT_NE(echo, nullptr) << s.out << s.err;
  EXPECT_EQ(echo->at("result").at("content").at(0).at("text"), "Echo: hello");
  EXPECT_NE(
      s.err.find("interlock mcp: telemetry: exporting traces to " + otlp.url() + "/v1/traces"),
      std::string::npos)
      << s.err;

  auto spans = otlp.WaitFor("traces", [](const auto& sp) {
    return SpanIn(sp, kTraceId, "tools/call echo", kClientKind) != nullptr;
  });
  const json::object* server = SpanIn(spans, kTraceId, "tools/call echo", kServer);
  ASSERT_NE(server, nullptr) << otlp.Raw() << s.err;
  EXPECT_EQ(Parent(*server), "00f067aa0ba902b7");
  EXPECT_EQ(Attr(*server, "mcp.method.name"), "tools/call");
  EXPECT_EQ(Attr(*server, "gen_ai.tool.name"), "echo");
  EXPECT_EQ(Attr(*server, "gen_ai.agent.id"), "otel-mcp");
  EXPECT_EQ(Attr(*server, "interlock.verdict"), "allow");
  EXPECT_EQ(Attr(*server, "interlock.code"), "ALLOWED");
  EXPECT_FALSE(Attr(*server, "interlock.upstream.duration_ms").empty());
  const std::string call_id = Attr(*server, "interlock.call.id");
  ASSERT_FALSE(call_id.empty());
  const std::string server_id(server->at("spanId").as_string());

  const json::object* decide = SpanIn(spans, kTraceId, "interlock.decide", kInternal);
  ASSERT_NE(decide, nullptr) << otlp.Raw();
  EXPECT_EQ(Parent(*decide), server_id);
  EXPECT_EQ(Attr(*decide, "gen_ai.agent.id"), "otel-mcp");
  EXPECT_EQ(Attr(*decide, "gen_ai.tool.name"), "echo");
  EXPECT_EQ(Attr(*decide, "interlock.run.id"), s.run_id);
  EXPECT_EQ(Attr(*decide, "interlock.call.id"), call_id);
  EXPECT_EQ(Attr(*decide, "interlock.verdict"), "allow");
  EXPECT_EQ(Attr(*decide, "interlock.code"), "ALLOWED");
  EXPECT_FALSE(Attr(*decide, "interlock.rule").empty());

  const json::object* upstream = SpanIn(spans, kTraceId, "tools/call echo", kClientKind);
  ASSERT_NE(upstream, nullptr) << otlp.Raw();
  EXPECT_EQ(Parent(*upstream), server_id);
  EXPECT_EQ(Attr(*upstream, "error.type"), "");

  const std::vector<json::object> requests = otlp.Requests();
  ASSERT_FALSE(requests.empty());
  for (const json::object& r : requests) {
    EXPECT_EQ(r.at("content_type").as_string(), "application/x-protobuf") << r;
    EXPECT_FALSE(r.contains("error")) << r;
  }
}

// Tests that the audit record of an MCP call names the client's trace and the call's span
// (interlock replay), so an incident can go from the trace to the replay and back.
TEST_F(McpTelemetryTest, ReplayNamesTheClientsTraceAndTheCallsSpan) {
  OtlpReceiver otlp(dir_.path());
  Session s = RunGateway({"OTEL_EXPORTER_OTLP_ENDPOINT=" + otlp.url()},
                         {ToolCall(2, "echo", {{"message", "hello"}}, kTraceparent)});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  ASSERT_FALSE(s.run_id.empty()) << s.err;
  auto spans = otlp.WaitFor("traces", [](const auto& sp) {
    return SpanIn(sp, kTraceId, "tools/call echo", kServer) != nullptr;
  });
  const json::object* server = SpanIn(spans, kTraceId, "tools/call echo", kServer);
  ASSERT_NE(server, nullptr) << otlp.Raw() << s.err;
  const json::object call = ReplayedCall(s.run_id, Attr(*server, "interlock.call.id"));
  EXPECT_EQ(Str(call, "traceparent"), "00-" + std::string(kTraceId) + "-" +
                                          std::string(server->at("spanId").as_string()) + "-01");
}

// Tests that a call without trace context starts a trace of its own, that the audit
// records that trace, and that OTLP/JSON, the service name and the headers come from the
// OTEL_* variables (the header's value never in the gateway's log).
TEST_F(McpTelemetryTest, CallWithoutTraceparentIsAuditedUnderItsOwnTraceOverOtlpJson) {
  OtlpReceiver otlp(dir_.path());
  Session s = RunGateway(
      {"OTEL_EXPORTER_OTLP_ENDPOINT=" + otlp.url(), "OTEL_EXPORTER_OTLP_PROTOCOL=http/json",
       "OTEL_EXPORTER_OTLP_HEADERS=x-api-key=sk-HEADER-77", "OTEL_SERVICE_NAME=gateway-laptop"},
      {ToolCall(2, "echo", {{"message", "hello"}})});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  auto spans = otlp.WaitFor("traces", [](const auto& sp) {
    return SpanNamed(sp, "tools/call echo", kServer) != nullptr;
  });
  const json::object* server = SpanNamed(spans, "tools/call echo", kServer);
  ASSERT_NE(server, nullptr) << otlp.Raw() << s.err;
  EXPECT_EQ(Parent(*server), "");
  const std::string trace(server->at("traceId").as_string());
  const std::string span(server->at("spanId").as_string());
  EXPECT_NE(trace, kTraceId);
  const json::object* decide = SpanIn(spans, trace, "interlock.decide", kInternal);
  ASSERT_NE(decide, nullptr) << otlp.Raw();
  EXPECT_EQ(Parent(*decide), span);
  const json::object call = ReplayedCall(s.run_id, Attr(*server, "interlock.call.id"));
  EXPECT_EQ(Str(call, "traceparent"), "00-" + trace + "-" + span + "-01");

  const std::vector<json::object> requests = otlp.Requests();
  ASSERT_FALSE(requests.empty());
  for (const json::object& r : requests) {
    EXPECT_EQ(r.at("content_type").as_string(), "application/json") << r;
    EXPECT_EQ(r.at("headers").at("x-api-key").as_string(), "sk-HEADER-77");
    EXPECT_FALSE(r.contains("error")) << r;
  }
  const json::object& first = requests.front();
  if (first.at("signal").as_string() == "traces") {
    EXPECT_EQ(
        Attr(first.at("body").at("resourceSpans").at(0).at("resource").as_object(), "service.name"),
        "gateway-laptop");
  }
  EXPECT_EQ(s.err.find("sk-HEADER-77"), std::string::npos) << s.err;
  EXPECT_NE(s.err.find("x-api-key: ****"), std::string::npos) << s.err;
}

// Tests that a blocked tool's call is a deny in both spans (verdict, code, rule, error
// status) and has no upstream span: the server never saw it.
TEST_F(McpTelemetryTest, BlockedToolIsADenySpanWithItsCodeAndNoUpstreamSpan) {
  OtlpReceiver otlp(dir_.path());
  Session s = RunGateway({"OTEL_EXPORTER_OTLP_ENDPOINT=" + otlp.url()},
                         {ToolCall(2, "get-env", {}, kTraceparent)});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  const json::object* denied = s.Response(2);
  ASSERT_NE(denied, nullptr) << s.out;
  EXPECT_EQ(denied->at("result").at("isError"), true);
  EXPECT_EQ(denied->at("result").at("structuredContent").at("code"), "TOOL_BLOCKED");

  auto spans = otlp.WaitFor("traces", [](const auto& sp) {
    return SpanIn(sp, kTraceId, "interlock.decide", kInternal) != nullptr &&
           SpanIn(sp, kTraceId, "tools/call get-env", kServer) != nullptr;
  });
  const json::object* server = SpanIn(spans, kTraceId, "tools/call get-env", kServer);
  const json::object* decide = SpanIn(spans, kTraceId, "interlock.decide", kInternal);
  ASSERT_NE(server, nullptr) << otlp.Raw() << s.err;
  ASSERT_NE(decide, nullptr) << otlp.Raw();
  EXPECT_EQ(Attr(*server, "interlock.verdict"), "deny");
  EXPECT_EQ(Attr(*server, "interlock.code"), "TOOL_BLOCKED");
  EXPECT_EQ(server->at("status").at("code").to_number<int64_t>(), 2) << *server;  // ERROR
  EXPECT_EQ(Attr(*decide, "interlock.verdict"), "deny");
  EXPECT_EQ(Attr(*decide, "interlock.code"), "TOOL_BLOCKED");
  EXPECT_EQ(Attr(*decide, "gen_ai.agent.id"), "otel-mcp");
  EXPECT_NE(Attr(*decide, "interlock.rule").find("get-env"), std::string::npos);
  EXPECT_EQ(Parent(*decide), std::string(server->at("spanId").as_string()));
  EXPECT_EQ(SpanIn(spans, kTraceId, "tools/call get-env", kClientKind), nullptr) << otlp.Raw();
}

// Tests that a call the policy sends for approval, approved by the person at the client
// (elicitation), is forwarded under its tools/call span: the decision span says
// APPROVAL_REQUIRED and names the approval, the upstream call is a child span.
TEST_F(McpTelemetryTest, ApprovalAtTheClientForwardsTheCallUnderItsSpan) {
  OtlpReceiver otlp(dir_.path());
  Session s = RunGateway({"OTEL_EXPORTER_OTLP_ENDPOINT=" + otlp.url()},
                         {ToolCall(2, "get-sum", {{"a", 2}, {"b", 3}}, kTraceparent)});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  const json::object* sum = s.Response(2);
  ASSERT_NE(sum, nullptr) << s.out << s.err;
  EXPECT_NE(json::serialize(sum->at("result")).find("5"), std::string::npos) << *sum;

  auto spans = otlp.WaitFor("traces", [](const auto& sp) {
    return SpanIn(sp, kTraceId, "tools/call get-sum", kClientKind) != nullptr;
  });
  const json::object* server = SpanIn(spans, kTraceId, "tools/call get-sum", kServer);
  const json::object* decide = SpanIn(spans, kTraceId, "interlock.decide", kInternal);
  const json::object* upstream = SpanIn(spans, kTraceId, "tools/call get-sum", kClientKind);
  ASSERT_NE(server, nullptr) << otlp.Raw() << s.err;
  ASSERT_NE(decide, nullptr) << otlp.Raw();
  ASSERT_NE(upstream, nullptr) << otlp.Raw();
  const std::string server_id(server->at("spanId").as_string());
  EXPECT_EQ(Parent(*server), "00f067aa0ba902b7");
  EXPECT_EQ(Parent(*decide), server_id);
  EXPECT_EQ(Parent(*upstream), server_id);
  EXPECT_EQ(Attr(*decide, "interlock.verdict"), "approval_required");
  EXPECT_EQ(Attr(*decide, "interlock.code"), "APPROVAL_REQUIRED");
  EXPECT_EQ(Attr(*decide, "interlock.approval.id").rfind("apr_", 0), 0u) << *decide;
  // The wait for the person at the client is an approval-wait span under the call's, and
  // the call's span ends with the verdict given there.
  const json::object* wait = SpanIn(spans, kTraceId, "interlock.approval.wait", kInternal);
  ASSERT_NE(wait, nullptr) << otlp.Raw();
  EXPECT_EQ(Parent(*wait), server_id);
  EXPECT_EQ(Attr(*wait, "interlock.approval.id"), Attr(*decide, "interlock.approval.id"));
  EXPECT_EQ(Attr(*server, "interlock.verdict"), "allow") << *server;
}

// Tests that an argument the policy redacts never reaches the collector: the decision span
// carries only the arguments' digest, and no export holds the value in plain text.
TEST_F(McpTelemetryTest, RedactedArgumentNeverReachesTheCollector) {
  OtlpReceiver otlp(dir_.path());
  Session s = RunGateway({"OTEL_EXPORTER_OTLP_ENDPOINT=" + otlp.url()},
                         {ToolCall(2, "echo", {{"message", "sk-LEAK-4242"}}, kTraceparent)});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  const json::object* echo = s.Response(2);
  ASSERT_NE(echo, nullptr) << s.out;
  // The call itself went through with the value: only what leaves for the collector is cut.
  EXPECT_EQ(echo->at("result").at("content").at(0).at("text"), "Echo: sk-LEAK-4242");
  auto spans = otlp.WaitFor("traces", [](const auto& sp) {
    return SpanIn(sp, kTraceId, "interlock.decide", kInternal) != nullptr;
  });
  const json::object* decide = SpanIn(spans, kTraceId, "interlock.decide", kInternal);
  ASSERT_NE(decide, nullptr) << otlp.Raw() << s.err;
  EXPECT_EQ(Attr(*decide, "interlock.args.sha256").size(), 64u);
  EXPECT_EQ(Attr(*decide, "interlock.args"), "");
  EXPECT_EQ(otlp.Raw().find("sk-LEAK-4242"), std::string::npos) << otlp.Raw();
  // The policy's redaction is in force: the audit records the argument as its HMAC.
  const json::object call = ReplayedCall(s.run_id, Attr(*decide, "interlock.call.id"));
  EXPECT_EQ(Str(call.at("args"), "message").rfind("hmac-sha256:", 0), 0u) << call;
}

// Tests that with the collector down every call is still decided and answered at once
// (allowed, denied and approved alike) and the spans that cannot go are dropped and logged.
TEST_F(McpTelemetryTest, CollectorDownNeverDelaysOrFailsADecision) {
  const int port = ClosedPort();
  Session s = RunGateway(
      {"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:" + std::to_string(port),
       "OTEL_EXPORTER_OTLP_TIMEOUT=3000"},
      {ToolCall(2, "echo", {{"message", "one"}}, kTraceparent), ToolCall(3, "get-env", {}),
       Pause(1300), ToolCall(4, "get-sum", {{"a", 2}, {"b", 3}}),
       ToolCall(5, "echo", {{"message", "two"}})});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_EQ(s.gateway_exit, 0) << s.err;
  const json::object* one = s.Response(2);
  const json::object* denied = s.Response(3);
  const json::object* sum = s.Response(4);
  const json::object* two = s.Response(5);
  ASSERT_TRUE(one && denied && sum && two) << s.out << s.err;
  EXPECT_EQ(one->at("result").at("content").at(0).at("text"), "Echo: one");
  EXPECT_EQ(denied->at("result").at("structuredContent").at("code"), "TOOL_BLOCKED");
  EXPECT_NE(json::serialize(sum->at("result")).find("5"), std::string::npos) << *sum;
  EXPECT_EQ(two->at("result").at("content").at(0).at("text"), "Echo: two");
  for (int id : {2, 3, 4, 5}) {
    // A decision that waited for the exporter would take its 3 s timeout.
    EXPECT_LT(s.Elapsed(id), 2000) << "request " << id << ": " << json::serialize(s.elapsed_ms);
  }
  EXPECT_NE(s.err.find("interlock: telemetry: dropped"), std::string::npos) << s.err;
  EXPECT_NE(s.err.find("traces item(s)"), std::string::npos) << s.err;
}

// Tests that a collector that accepts connections and never answers (hung) does not delay
// a decision either: calls made while an export waits out its timeout are answered at once,
// the batch is dropped and logged, and the session still ends in bounded time.
TEST_F(McpTelemetryTest, HungCollectorNeverDelaysADecision) {
  HungCollector hung;
  ASSERT_GT(hung.port(), 0);
  const auto t0 = std::chrono::steady_clock::now();
  Session s =
      RunGateway({"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:" + std::to_string(hung.port()),
                  "OTEL_EXPORTER_OTLP_TIMEOUT=2500"},
                 // The first batch goes after ~1 s (the default batch interval) and hangs for 2.5
                 // s: the later calls are decided while it does.
                 {ToolCall(2, "echo", {{"message", "one"}}), Pause(1500),
                  ToolCall(3, "echo", {{"message", "two"}}), ToolCall(4, "get-env", {}), Pause(500),
                  ToolCall(5, "echo", {{"message", "three"}})});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  for (int id : {2, 3, 4, 5}) {
    ASSERT_NE(s.Response(id), nullptr) << id << s.out << s.err;
    EXPECT_LT(s.Elapsed(id), 1000) << "request " << id << ": " << json::serialize(s.elapsed_ms);
  }
  EXPECT_EQ(s.Response(5)->at("result").at("content").at(0).at("text"), "Echo: three");
  EXPECT_NE(s.err.find("interlock: telemetry: dropped"), std::string::npos) << s.err;
  // Start-up, 2 s of pauses, the hung export and the bounded final flush (2 s).
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 30s);
}

// Tests that spans the collector could not take are counted: with the traces endpoint
// down and the metrics endpoint up, the gateway's last metrics export reports every span
// of the session in interlock_telemetry_dropped_total{signal="traces"}.
TEST_F(McpTelemetryTest, DroppedSpansAreCountedInTheExportedMetrics) {
  OtlpReceiver otlp(dir_.path());
  const int down = ClosedPort();
  Session s = RunGateway(
      {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://127.0.0.1:" + std::to_string(down) + "/v1/traces",
       "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=" + otlp.url() + "/v1/metrics"},
      {ToolCall(2, "echo", {{"message", "one"}}), ToolCall(3, "get-env", {})});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  ASSERT_NE(s.Response(2), nullptr) << s.out << s.err;
  ASSERT_NE(s.Response(3), nullptr) << s.out << s.err;
  // echo: tools/call, decide and upstream spans; get-env: tools/call and decide.
  constexpr double kSpans = 5;
  double dropped = -1, exported = -1;
  otlp.WaitFor("metrics", [&](const std::vector<json::object>& metrics) {
    for (const json::object& m : metrics) {
      const std::string name(m.at("name").as_string());
      if (name != "interlock_telemetry_dropped_total" &&
          name != "interlock_telemetry_exported_total") {
        continue;
      }
      for (const json::value& p : m.at("sum").at("dataPoints").as_array()) {
        if (Attr(p.as_object(), "signal") != "traces") continue;
        (name == "interlock_telemetry_dropped_total" ? dropped : exported) =
            PointValue(p.as_object());
      }
    }
    return dropped >= kSpans;
  });
  EXPECT_EQ(dropped, kSpans) << otlp.Raw() << s.err;
  EXPECT_EQ(exported, 0) << otlp.Raw();
  EXPECT_TRUE(otlp.Items("traces").empty());
  EXPECT_NE(s.err.find("interlock: telemetry: dropped"), std::string::npos) << s.err;
}

// Tests that the standalone egress proxy (`interlock egress`), configured by the OTEL_*
// variables only, exports a decision span for a connection it refuses.
TEST_F(McpTelemetryTest, EgressProxyExportsADecisionSpanPerConnection) {
  OtlpReceiver otlp(dir_.path());
  const std::string script = dir_.Write("egress.sh", R"SH(
out="$1"; shift
"$@" > "$out.out" 2> "$out.err" & pid=$!
port=""
for i in $(seq 150); do
  port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$out.out" | head -n 1)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { kill -9 $pid; echo "no port"; exit 1; }
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'CONNECT 127.0.0.1:9 HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\r\n' >&3
head -c 12 <&3
exec 3>&-
kill -TERM $pid
wait $pid
echo " exit=$?"
)SH");
  std::vector<std::string> argv = {"/usr/bin/env"};
  for (const std::string& v : kOtelVariables) {
    argv.push_back("-u");
    argv.push_back(v);
  }
  for (const std::string& a : {"OTEL_EXPORTER_OTLP_ENDPOINT=" + otlp.url(), std::string("bash"),
                               script, dir_.path() + "/egress", kInterlock, std::string("egress"),
                               std::string("--policy"), policy_, std::string("--store"), store_,
                               std::string("--listen"), std::string("127.0.0.1:0")}) {
    argv.push_back(a);
  }
  ProcessResult r = RunProcess(argv, "", 60s);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << ReadFile(dir_.path() + "/egress.err");
  EXPECT_EQ(r.out.rfind("HTTP/1.1 403", 0), 0u) << r.out;
  auto spans = otlp.WaitFor("traces", [](const std::vector<json::object>& sp) {
    for (const json::object& s : sp) {
      if (s.at("name").as_string() == "interlock.decide") return true;
    }
    return false;
  });
  const json::object* decide = nullptr;
  for (const json::object& s : spans) {
    if (s.at("name").as_string() == "interlock.decide") decide = &s;
  }
  ASSERT_NE(decide, nullptr) << otlp.Raw() << ReadFile(dir_.path() + "/egress.err");
  EXPECT_EQ(Attr(*decide, "interlock.verdict"), "deny") << *decide;
  EXPECT_EQ(Attr(*decide, "gen_ai.agent.id"), "otel-mcp") << *decide;
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::testing
