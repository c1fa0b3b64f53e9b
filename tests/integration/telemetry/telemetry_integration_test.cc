// `interlock serve` exporting traces, logs and metrics over OTLP/HTTP to a real receiver
// (otlp_receiver.cjs decodes with the official OpenTelemetry protobuf definitions), with
// a caller's W3C trace context from the HTTP header and from MCP params._meta.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "daemon_harness.h"
#include "mcp_headers.h"
#include "node_suite.h"
#include "open_run.h"
#include "otlp_receiver.h"
#include "subprocess.h"
#include "temp_dir.h"
#include "wait.h"

namespace interlock::testing {
namespace INTERLOCK_TEST_NS {

using interlock::testing::WaitUntil;

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr char kTraceparent[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

constexpr char kPolicy[] = R"(agent:
  id: "otel-agent"
tools:
  allowed:
    - name: "ping"
    - name: "call_api"
      redact: ["api_key"]
    - name: "send_email"
      requires_approval: true
  blocked:
    - "drop_table"
execution:
  max_steps: 6
  on_budget_exceeded:
    action: "halt_and_escalate"
    notify: "#oncall"
)";

constexpr char kMcpPolicy[] = R"(agent:
  id: "ev"
tools:
  allowed:
    - name: "echo"
    - name: "get-sum"
      requires_approval: true
)";

const json::object* SpanOfCall(const std::vector<json::object>& spans, const std::string& call) {
  for (const json::object& s : spans) {
    if (Attr(s, "interlock.call.id") == call) return &s;
  }
  return nullptr;
}

class TelemetryTest : public testing::NodeSuite {
 protected:
  void SetUp() override {
    ASSERT_EQ(setup_error_, "") << "scripts/setup-node-tests.sh failed";
    policies_ = dir_.path() + "/policies";
    std::filesystem::create_directories(policies_);
    std::ofstream(policies_ + "/otel.yaml") << kPolicy;
    std::ofstream(policies_ + "/ev.yaml") << kMcpPolicy;
  }

  void TearDown() override {
    client_.reset();
    if (daemon_) daemon_->Stop();
  }

  // Starts the daemon with `telemetry` as the config's telemetry: section (indented) and
  // server-everything as the MCP upstream "everything".
  void StartDaemon(const std::string& telemetry) {
    const std::string modules = std::string(INTERLOCK_SOURCE_DIR) +
                                "/tests/integration/mcp/node/node_modules/@modelcontextprotocol";
    const std::string config = dir_.Write(
        "interlock.yaml", "telemetry:\n" + telemetry +
                              "limits:\n  max_wait_seconds: 1\napprovals:\n  sweep_ms: 100\n"
                              "mcp:\n  upstreams:\n    everything:\n      command: [\"node\", \"" +
                              modules + "/server-everything/dist/index.js\", \"stdio\"]\n");
    daemon_ = std::make_unique<Daemon>(dir_.path(), policies_, config);
    agent_ = CreateToken(daemon_->store(), "--agent", "otel-agent");
    reviewer_ = CreateToken(daemon_->store(), "--reviewer", "rita");
    ev_ = CreateToken(daemon_->store(), "--agent", "ev");
    ASSERT_TRUE(daemon_->Start()) << daemon_->log();
    client_ = std::make_unique<HttpClient>(daemon_->port());
  }

  std::string NewRun() { return OpenRun(*client_, agent_); }

  HttpResult Call(const std::string& run, const std::string& body,
                  const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    return client_->Request("POST", "/v1/runs/" + run + "/calls", body, agent_, 10s, headers);
  }

  // The audit record of a decided call (its data object).
  json::object AuditOf(const std::string& run, const std::string& call_id) {
    HttpResult r = client_->Request("GET", "/v1/audit?run_id=" + run + "&limit=100", "", reviewer_);
    EXPECT_EQ(r.status, 200) << r.body;
    for (const auto& rec : r.json.at("records").as_array()) {
      if (Str(rec, "call_id") == call_id) return rec.at("data").as_object();
    }
    ADD_FAILURE() << "no audit record for " << call_id << ": " << r.body;
    return {};
  }

  TempDir dir_;
  std::string policies_;
  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<HttpClient> client_;
  std::string agent_, reviewer_, ev_;
};

// Tests that a decision becomes one span in the caller's trace (parent: the caller's span
// from the traceparent header) with the decision's attributes, decoded by the official
// protobuf definitions, and that the audit record names the same trace.
TEST_F(TelemetryTest, DecisionSpanIsAChildOfTheHttpCallersTraceparent) {
  OtlpReceiver otlp(dir_.path());
  ASSERT_GT(otlp.port(), 0);
  StartDaemon("  endpoint: " + otlp.url() + "\n  batch_interval_ms: 50\n");
  const std::string run = NewRun();
  HttpResult c = Call(run, R"({"tool":"drop_table","args":{"name":"users"}})",
                      {{"traceparent", kTraceparent}});
  ASSERT_EQ(c.status, 200) << c.body;
  const std::string call_id = Str(c.json, "call_id");
  ASSERT_FALSE(call_id.empty()) << c.body;

  auto spans = otlp.WaitFor("traces", [&](const auto& s) { return SpanOfCall(s, call_id); });
  const json::object* span = SpanOfCall(spans, call_id);
  ASSERT_NE(span, nullptr) << otlp.Raw() << daemon_->log();
  EXPECT_EQ(span->at("traceId").as_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(span->at("parentSpanId").as_string(), "00f067aa0ba902b7");
  EXPECT_EQ(span->at("name").as_string(), "interlock.decide");
  EXPECT_EQ(Attr(*span, "gen_ai.tool.name"), "drop_table");
  EXPECT_EQ(Attr(*span, "gen_ai.agent.id"), "otel-agent");
  EXPECT_EQ(Attr(*span, "interlock.run.id"), run);
  EXPECT_EQ(Attr(*span, "interlock.verdict"), "deny");
  EXPECT_EQ(Attr(*span, "interlock.code"), "TOOL_BLOCKED");
  EXPECT_FALSE(Attr(*span, "interlock.rule").empty());
  EXPECT_EQ(Attr(*span, "interlock.args.sha256").size(), 64u);
  EXPECT_EQ(otlp.Requests().front().at("content_type").as_string(), "application/x-protobuf");
  for (const json::object& r : otlp.Requests()) EXPECT_FALSE(r.contains("error")) << r;

  EXPECT_EQ(Str(AuditOf(run, call_id), "traceparent"), kTraceparent);
}

// Tests that a call sent without trace context is recorded under its decision span's own
// trace and span ids, so an incident can go from the audit record to the trace.
TEST_F(TelemetryTest, CallWithoutTraceparentIsRecordedUnderItsSpansTrace) {
  OtlpReceiver otlp(dir_.path());
  StartDaemon("  endpoint: " + otlp.url() + "\n  batch_interval_ms: 50\n");
  const std::string run = NewRun();
  HttpResult c = Call(run, R"({"tool":"ping"})");
  const std::string call_id = Str(c.json, "call_id");
  auto spans = otlp.WaitFor("traces", [&](const auto& s) { return SpanOfCall(s, call_id); });
  const json::object* span = SpanOfCall(spans, call_id);
  ASSERT_NE(span, nullptr) << otlp.Raw();
  EXPECT_FALSE(span->contains("parentSpanId") && !span->at("parentSpanId").as_string().empty());
  const std::string want = "00-" + std::string(span->at("traceId").as_string()) + "-" +
                           std::string(span->at("spanId").as_string()) + "-01";
  EXPECT_EQ(Str(AuditOf(run, call_id), "traceparent"), want);
}

// Tests that an argument the policy redacts never reaches the collector in plain text:
// by default no argument values leave at all (only the digest), and with
// send_arguments: true only the audit trail's redacted form does.
TEST_F(TelemetryTest, RedactedArgumentNeverReachesTheCollector) {
  OtlpReceiver otlp(dir_.path());
  StartDaemon("  endpoint: " + otlp.url() + "\n  batch_interval_ms: 50\n  send_arguments: true\n");
  const std::string run = NewRun();
  HttpResult c =
      Call(run, R"({"tool":"call_api","args":{"api_key":"sk-LEAK-4242","q":"weather"}})");
  const std::string call_id = Str(c.json, "call_id");
  auto spans = otlp.WaitFor("traces", [&](const auto& s) { return SpanOfCall(s, call_id); });
  const json::object* span = SpanOfCall(spans, call_id);
  ASSERT_NE(span, nullptr) << otlp.Raw();
  const std::string args = Attr(*span, "interlock.args");
  EXPECT_NE(args.find("weather"), std::string::npos) << args;  // opted in: the rest is sent
  EXPECT_EQ(args.find("sk-LEAK-4242"), std::string::npos) << args;
  daemon_->Stop();  // flushes everything
  EXPECT_EQ(otlp.Raw().find("sk-LEAK-4242"), std::string::npos);
}

// Tests that OTLP/JSON chosen by OTEL_EXPORTER_OTLP_PROTOCOL (the environment over the
// config) is accepted by the official schema, with the endpoint from the environment too.
TEST_F(TelemetryTest, JsonProtocolFromTheEnvironmentMatchesTheOfficialSchema) {
  OtlpReceiver otlp(dir_.path());
  ::setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", 1);
  ::setenv("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.url().c_str(), 1);
  ::setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=sk-HEADER-77", 1);
  ::setenv("OTEL_SERVICE_NAME", "guard-east", 1);
  StartDaemon("  batch_interval_ms: 50\n");
  ::unsetenv("OTEL_EXPORTER_OTLP_PROTOCOL");
  ::unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT");
  ::unsetenv("OTEL_EXPORTER_OTLP_HEADERS");
  ::unsetenv("OTEL_SERVICE_NAME");
  const std::string run = NewRun();
  HttpResult c = Call(run, R"({"tool":"ping"})", {{"traceparent", kTraceparent}});
  const std::string call_id = Str(c.json, "call_id");
  auto spans = otlp.WaitFor("traces", [&](const auto& s) { return SpanOfCall(s, call_id); });
  ASSERT_NE(SpanOfCall(spans, call_id), nullptr) << otlp.Raw();
  const json::object req = otlp.Requests().front();
  EXPECT_EQ(req.at("content_type").as_string(), "application/json");
  EXPECT_EQ(req.at("headers").at("x-api-key").as_string(), "sk-HEADER-77");
  EXPECT_EQ(
      Attr(req.at("body").at("resourceSpans").at(0).at("resource").as_object(), "service.name"),
      "guard-east");
  for (const json::object& r : otlp.Requests()) EXPECT_FALSE(r.contains("error")) << r;
  // The header is a credential: the daemon's log names it, never its value.
  EXPECT_EQ(daemon_->log().find("sk-HEADER-77"), std::string::npos) << daemon_->log();
  EXPECT_NE(daemon_->log().find("x-api-key: ****"), std::string::npos) << daemon_->log();
}

// Tests that the daemon's notices (the JSON lines it logs) arrive as OTLP log records
// carrying the trace and span ids of the decision that raised them.
TEST_F(TelemetryTest, NoticesArriveAsLogsWithTheDecisionsTraceIds) {
  OtlpReceiver otlp(dir_.path());
  StartDaemon("  endpoint: " + otlp.url() + "\n  batch_interval_ms: 50\n");
  const std::string run = NewRun();
  std::string last_call;
  for (int i = 0; i < 8; ++i) {  // max_steps: 6, then halt_and_escalate notifies #oncall
    HttpResult c = Call(run, R"({"tool":"ping"})", {{"traceparent", kTraceparent}});
    if (Str(c.json, "code") == "BUDGET_EXCEEDED" || Str(c.json, "code") == "RUN_HALTED") {
      last_call = Str(c.json, "call_id");
      break;
    }
  }
  ASSERT_FALSE(last_call.empty());
  auto logs = otlp.WaitFor("logs", [](const auto& l) { return !l.empty(); });
  ASSERT_FALSE(logs.empty()) << otlp.Raw() << daemon_->log();
  const json::object& log = logs.front();
  EXPECT_EQ(log.at("traceId").as_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
  auto spans = otlp.WaitFor("traces", [&](const auto& s) { return SpanOfCall(s, last_call); });
  const json::object* span = SpanOfCall(spans, last_call);
  ASSERT_NE(span, nullptr);
  EXPECT_EQ(log.at("spanId").as_string(), span->at("spanId").as_string());
  EXPECT_EQ(Attr(log, "interlock.channel"), "#oncall");
  json::value body = json::parse(log.at("body").at("stringValue").as_string());
  EXPECT_EQ(Str(body, "channel"), "#oncall");
}

// Tests that the Prometheus metrics arrive as OTLP metrics: counters as cumulative
// monotonic sums, the latency histogram with its buckets, gauges as gauges.
TEST_F(TelemetryTest, MetricsArriveAsSumsHistogramsAndGauges) {
  OtlpReceiver otlp(dir_.path());
  StartDaemon("  endpoint: " + otlp.url() + "\n  metrics_interval_ms: 200\n");
  const std::string run = NewRun();
  Call(run, R"({"tool":"ping"})");
  auto has = [](const std::vector<json::object>& ms,
                const std::string& name) -> const json::object* {
    for (const auto& m : ms) {
      if (m.at("name").as_string() == name) return &m;
    }
    return nullptr;
  };
  auto metrics = otlp.WaitFor("metrics", [&](const auto& ms) {
    const json::object* d = has(ms, "interlock_decisions_total");
    return d != nullptr && d->at("sum").as_object().contains("dataPoints");
  });
  const json::object* decisions = has(metrics, "interlock_decisions_total");
  ASSERT_NE(decisions, nullptr) << otlp.Raw();
  EXPECT_TRUE(decisions->at("sum").at("isMonotonic").as_bool());
  EXPECT_EQ(decisions->at("sum").at("aggregationTemporality").to_number<int64_t>(), 2);
  const json::object* latency = has(metrics, "interlock_decision_latency_seconds");
  ASSERT_NE(latency, nullptr);
  const json::object& point = latency->at("histogram").at("dataPoints").at(0).as_object();
  EXPECT_EQ(point.at("bucketCounts").as_array().size(),
            point.at("explicitBounds").as_array().size() + 1);
  EXPECT_NE(has(metrics, "interlock_runs_active"), nullptr);
  EXPECT_NE(has(metrics, "interlock_telemetry_dropped_total"), nullptr);
}

// Tests that an MCP tools/call carrying params._meta.traceparent becomes a SERVER span in
// the caller's trace whose children are the core's decision span, the wait for the human
// approval and the CLIENT span of the upstream call, and that the audit names the trace.
TEST_F(TelemetryTest, McpMetaTraceparentParentsTheCallDecisionApprovalAndUpstreamSpans) {
  OtlpReceiver otlp(dir_.path());
  StartDaemon("  endpoint: " + otlp.url() + "\n  batch_interval_ms: 50\n");
  HttpClient c(daemon_->port());
  HttpResult init = c.Request(
      "POST", "/mcp/everything",
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}})",
      ev_, 30s, McpHeaders());
  ASSERT_EQ(init.status, 200) << init.body << daemon_->log();
  const std::string session = init.headers["mcp-session-id"];
  c.Request("POST", "/mcp/everything", R"({"jsonrpc":"2.0","method":"notifications/initialized"})",
            ev_, 10s, McpHeaders(session, "2025-06-18"));
  // Approve the held get-sum call as soon as it is pending.
  std::thread reviewer([&] {
    HttpClient r(daemon_->port());
    std::string id;
    WaitUntil(
        [&] {
          HttpResult p = r.Request("GET", "/v1/approvals?state=pending", "", reviewer_);
          const json::value* list =
              p.json.is_object() ? p.json.as_object().if_contains("approvals") : nullptr;
          if (list == nullptr || !list->is_array() || list->as_array().empty()) return false;
          id = Str(list->as_array()[0], "approval_id");
          return true;
        },
        10s, 50ms);
    if (!id.empty()) {
      r.Request("POST", "/v1/approvals/" + id, R"({"verdict":"approve"})", reviewer_);
    }
  });
  HttpResult call = c.Request(
      "POST", "/mcp/everything",
      R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"get-sum","arguments":{"a":2,"b":3},"_meta":{"traceparent":")" +
          std::string(kTraceparent) + R"("}}})",
      ev_, 30s, McpHeaders(session, "2025-06-18"));
  reviewer.join();
  ASSERT_EQ(call.status, 200) << call.body << daemon_->log();
  EXPECT_NE(call.body.find("5"), std::string::npos) << call.body;

  auto spans = otlp.WaitFor(
      "traces", [](const auto& s) { return SpanNamed(s, "tools/call get-sum", 2) != nullptr; });
  const json::object* server = SpanNamed(spans, "tools/call get-sum", 2);
  ASSERT_NE(server, nullptr) << otlp.Raw() << daemon_->log();
  EXPECT_EQ(server->at("traceId").as_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(server->at("parentSpanId").as_string(), "00f067aa0ba902b7");
  EXPECT_EQ(Attr(*server, "mcp.method.name"), "tools/call");
  EXPECT_EQ(Attr(*server, "interlock.verdict"), "allow");
  const std::string parent = std::string(server->at("spanId").as_string());
  const json::object* decide = SpanNamed(spans, "interlock.decide", 1);
  const json::object* wait = SpanNamed(spans, "interlock.approval.wait", 1);
  const json::object* upstream = SpanNamed(spans, "tools/call get-sum", 3);
  ASSERT_NE(decide, nullptr) << otlp.Raw();
  ASSERT_NE(wait, nullptr) << otlp.Raw();
  ASSERT_NE(upstream, nullptr) << otlp.Raw();
  EXPECT_EQ(decide->at("parentSpanId").as_string(), parent);
  EXPECT_EQ(wait->at("parentSpanId").as_string(), parent);
  EXPECT_EQ(upstream->at("parentSpanId").as_string(), parent);
  EXPECT_EQ(Attr(*decide, "interlock.code"), "APPROVAL_REQUIRED");
  EXPECT_FALSE(Attr(*wait, "interlock.approval.id").empty());
  EXPECT_EQ(Attr(*wait, "interlock.verdict"), "allow");
  // The audit record carries the gateway span's context: the caller's trace id.
  const std::string call_id = Attr(*decide, "interlock.call.id");
  HttpResult audit = client_->Request("GET", "/v1/audit?limit=100", "", reviewer_);
  bool found = false;
  for (const auto& rec : audit.json.at("records").as_array()) {
    if (Str(rec, "call_id") != call_id) continue;
    const json::object& data = rec.at("data").as_object();
    found = true;
    EXPECT_EQ(Str(data, "traceparent").substr(3, 32), "4bf92f3577b34da6a3ce929d0e0e4736");
    break;
  }
  EXPECT_TRUE(found) << audit.body;
}

uint64_t Dropped(HttpClient& client, const std::string& signal) {
  const std::string text = client.Request("GET", "/metrics").body;
  const std::string key = "interlock_telemetry_dropped_total{signal=\"" + signal + "\"} ";
  const size_t at = text.find(key);
  return at == std::string::npos ? 0 : std::stoull(text.substr(at + key.size()));
}

// Tests that with the collector down every decision is still answered at once (never
// waiting for the export) and the spans that cannot go are dropped and counted.
TEST_F(TelemetryTest, CollectorDownNeverDelaysADecision) {
  StartDaemon("  endpoint: http://127.0.0.1:" + std::to_string(ClosedPort()) +
              "\n  queue_size: 4\n  batch_interval_ms: 20\n  timeout_ms: 3000\n");
  const std::string run = NewRun();
  for (int i = 0; i < 5; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    HttpResult c = Call(run, R"({"tool":"ping"})");
    EXPECT_EQ(Str(c.json, "code"), "ALLOWED") << c.body;
    // A decision that waited for the exporter would take its 3 s timeout.
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  }
  WaitUntil([&] { return Dropped(*client_, "traces") >= 5; }, 10s, 50ms);
  EXPECT_GE(Dropped(*client_, "traces"), 5u);
  EXPECT_NE(daemon_->log().find("interlock: telemetry: dropped"), std::string::npos)
      << daemon_->log();
}

// Tests that a collector slower than the export timeout never delays a decision either:
// the queue stays bounded and what does not fit is dropped and counted.
TEST_F(TelemetryTest, SlowCollectorNeverDelaysADecision) {
  OtlpReceiver otlp(dir_.path(), /*delay_ms=*/3000);
  StartDaemon("  endpoint: " + otlp.url() +
              "\n  queue_size: 2\n  batch_size: 1\n  batch_interval_ms: 10\n  timeout_ms: 1500\n");
  const std::string run = NewRun();
  for (int i = 0; i < 6; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    HttpResult c = Call(run, R"({"tool":"ping"})");
    EXPECT_EQ(Str(c.json, "code"), "ALLOWED") << c.body;
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  }
  WaitUntil([&] { return Dropped(*client_, "traces") >= 3; }, 15s, 100ms);
  EXPECT_GE(Dropped(*client_, "traces"), 3u);
}

// Tests that SIGTERM while an export hangs on a collector that accepted and never answers
// stops the daemon within shutdown_timeout_ms (plus the rest of the drain), not after the
// export's timeout_ms, and that the final signed checkpoint still covers the whole trail.
TEST_F(TelemetryTest, HungCollectorCannotHoldSigtermPastTheBoundOrLoseTheFinalCheckpoint) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 16), 0);  // accepts (the kernel's backlog); never answers
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  StartDaemon("  endpoint: http://127.0.0.1:" + std::to_string(ntohs(a.sin_port)) +
              "\n  batch_size: 1\n  batch_interval_ms: 10\n  timeout_ms: 30000\n"
              "  shutdown_timeout_ms: 1000\n");
  const std::string run = NewRun();
  HttpResult c = Call(run, R"({"tool":"ping"})");
  ASSERT_EQ(Str(c.json, "code"), "ALLOWED") << c.body;
  // The span's export is under way once the stand-in has the connection.
  pollfd p{fd, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 10000), 1) << "the daemon never connected to the collector";
  const int conn = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
  ASSERT_GE(conn, 0);
  client_.reset();
  const std::string store = daemon_->store();
  const auto t0 = std::chrono::steady_clock::now();
  const int code = daemon_->Stop(std::chrono::seconds(40));
  const auto took = std::chrono::steady_clock::now() - t0;
  daemon_.reset();
  ::close(conn);
  ::close(fd);
  EXPECT_EQ(code, 0);
  EXPECT_LT(took, 6s) << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                      << " ms (timeout_ms is 30000, shutdown_timeout_ms 1000)";
  // The final checkpoint is of the head: the whole trail verifies against the file.
  ProcessResult v =
      RunProcess({std::string(INTERLOCK_BINARY_DIR) + "/interlock", "audit", "verify", "--store",
                  store, "--checkpoints", store + ".keys/checkpoints.jsonl", "--pubkey",
                  store + ".keys/checkpoint-ed25519.pub.pem"});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  std::ifstream cps(store + ".keys/checkpoints.jsonl");
  std::string line, last;
  while (std::getline(cps, line)) last = line;
  ASSERT_FALSE(last.empty());
  const uint64_t head_seq = json::parse(last).as_object().at("seq").to_number<uint64_t>();
  const std::string records = v.out.substr(v.out.find("ok: ") + 4);
  EXPECT_EQ(std::to_string(head_seq), records.substr(0, records.find(' '))) << v.out << last;
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::testing
