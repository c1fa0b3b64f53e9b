// Unit tests of the OpenTelemetry export (src/telemetry): trace context, the OTEL_*
// environment, the OTLP encodings, the Prometheus text reader and the exporter's queue.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "loopback.h"
#include "telemetry/decision_span.h"
#include "telemetry/exporter.h"
#include "telemetry/options.h"
#include "telemetry/otlp_encode.h"
#include "telemetry/prom_text.h"
#include "telemetry/setup.h"
#include "telemetry/sink.h"

namespace interlock::telemetry {
namespace INTERLOCK_TEST_NS {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr char kTraceparent[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

// Tests that a W3C traceparent is parsed into its ids and formatted back unchanged.
TEST(TraceparentTest, RoundTripsAWellFormedHeader) {
  std::optional<TraceContext> ctx = ParseTraceparent(kTraceparent);
  ASSERT_TRUE(ctx);
  EXPECT_EQ(Hex(ctx->trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(Hex(ctx->span_id), "00f067aa0ba902b7");
  EXPECT_EQ(ctx->flags, 1);
  EXPECT_EQ(FormatTraceparent(*ctx), kTraceparent);
}

// Tests that malformed or all-zero trace contexts are refused (an attacker's header
// cannot make a span claim an invalid trace).
TEST(TraceparentTest, RefusesMalformedAndZeroIds) {
  for (std::string_view bad : {"", "00", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",
                               "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
                               "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                               "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
                               "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                               "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
                               "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
                               "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}) {
    EXPECT_FALSE(ParseTraceparent(bad)) << bad;
  }
  // A later version may append fields after a dash.
  EXPECT_TRUE(ParseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-xyz"));
}

// Tests that fresh ids are never zero and differ.
// Tests that a tracestate is taken only as a well-formed W3C list: key grammar (simple and
// tenant@system keys), value characters, at most 32 members, unique keys, 512 characters.
TEST(TracestateTest, MalformedTracestateIsRefused) {
  for (const char* ok : {"", "congo=t61rcWkgMzE", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
                         " a=1 , ,b=2\t", "fw529a3039@dt=Zm9v", "0tenant@sys=x", "a/b*_-=v a l"}) {
    EXPECT_TRUE(ValidTracestate(ok)) << ok;
  }
  for (const char* bad :
       {"Upper=1", "=v", "a", "a=", "a=1,a=2", "a=b=c", "9x=1", "a=1 ,b", "t@Sys=1", "t@=1", "@s=1",
        "a=\x01", "a=\xc3\xa9", "a=v ,b=1=", "a=1;b=2"}) {
    EXPECT_FALSE(ValidTracestate(bad)) << bad;
  }
  std::string many;
  for (int i = 0; i < 32; ++i) many += (i ? "," : "") + std::string("k") + std::to_string(i) + "=v";
  EXPECT_TRUE(ValidTracestate(many));
  EXPECT_FALSE(ValidTracestate(many + ",k32=v"));
  EXPECT_FALSE(ValidTracestate("a=" + std::string(511, 'x')));  // 513 characters
  EXPECT_FALSE(ValidTracestate("a=" + std::string(257, 'x')));  // a value of 257
  EXPECT_TRUE(ValidTracestate("a=" + std::string(256, 'x')));
}

TEST(TraceparentTest, NewIdsAreNonZeroAndDistinct) {
  EXPECT_NE(Hex(NewTraceId()), Hex(NewTraceId()));
  EXPECT_NE(Hex(NewSpanId()), std::string(16, '0'));
}

using Env = std::map<std::string, std::string>;
Status Apply(const Env& env, TelemetryOptions* o) {
  return ApplyEnvironment(
      [&](const char* name) -> std::optional<std::string> {
        auto it = env.find(name);
        if (it == env.end()) return std::nullopt;
        return it->second;
      },
      o);
}

// Tests that the standard variables override the config and turn export on.
TEST(OptionsTest, EnvironmentOverridesTheConfig) {
  TelemetryOptions o;
  o.endpoint = "http://config:4318";
  o.headers = {{"x-tenant", "from-config"}};
  ASSERT_TRUE(
      Apply({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://env:4318/"},
             {"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "http://logs:9999/custom"},
             {"OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"},
             {"OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=a%20b, authorization=Bearer%20t"},
             {"OTEL_SERVICE_NAME", "guard-1"},
             {"OTEL_RESOURCE_ATTRIBUTES", "service.name=ignored,deployment.environment=prod"}},
            &o)
          .ok());
  EXPECT_TRUE(o.enabled);
  EXPECT_EQ(SignalUrl(o, "traces"), "http://env:4318/v1/traces");
  EXPECT_EQ(SignalUrl(o, "logs"), "http://logs:9999/custom");
  EXPECT_EQ(o.protocol, Encoding::kJson);
  ASSERT_EQ(o.headers.size(), 2u);
  EXPECT_EQ(o.headers[0], (std::pair<std::string, std::string>{"x-tenant", "a b"}));
  EXPECT_EQ(o.headers[1].second, "Bearer t");
  EXPECT_EQ(o.service_name, "guard-1");
  ASSERT_EQ(o.resource_attributes.size(), 1u);
  EXPECT_EQ(std::get<std::string>(o.resource_attributes[0].second), "prod");
}

// Tests that OTEL_SDK_DISABLED=true turns export off even with an endpoint.
TEST(OptionsTest, SdkDisabledWins) {
  TelemetryOptions o;
  ASSERT_TRUE(
      Apply({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://env:4318"}, {"OTEL_SDK_DISABLED", "TRUE"}}, &o)
          .ok());
  EXPECT_FALSE(o.enabled);
  TelemetryOptions none;
  ASSERT_TRUE(Apply({}, &none).ok());
  EXPECT_FALSE(none.enabled);
}

// Tests that a malformed header list is refused naming the entry, never its value (header
// values are credentials).
TEST(OptionsTest, BadHeadersAreRefusedWithoutShowingTheSecret) {
  TelemetryOptions o;
  Status st = Apply({{"OTEL_EXPORTER_OTLP_HEADERS", "ok=1,authorization=sk-SECRET%zz"}}, &o);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("OTEL_EXPORTER_OTLP_HEADERS"), std::string::npos);
  EXPECT_EQ(st.error().message.find("sk-SECRET"), std::string::npos) << st.error().message;
  EXPECT_FALSE(Apply({{"OTEL_EXPORTER_OTLP_HEADERS", "novalue"}}, &o).ok());
  EXPECT_FALSE(Apply({{"OTEL_EXPORTER_OTLP_HEADERS", "a=b%0d%0aX-Injected: 1"}}, &o).ok());
  EXPECT_FALSE(Apply({{"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"}}, &o).ok());
  EXPECT_FALSE(Apply({{"OTEL_SDK_DISABLED", "maybe"}}, &o).ok());
}

// Tests that the start-up line shows header names only.
TEST(OptionsTest, MaskedHeadersShowNoValue) {
  EXPECT_EQ(MaskedHeaders({{"authorization", "Bearer sk-1"}, {"x-empty", ""}}),
            "authorization: ****, x-empty: (empty)");
}

SpanData SampleSpan() {
  SpanData s;
  s.trace_id = ParseTraceparent(kTraceparent)->trace_id;
  s.span_id = NewSpanId();
  s.parent_span_id = ParseTraceparent(kTraceparent)->span_id;
  s.name = "interlock.decide";
  s.start_unix_ns = 1700000000000000000;
  s.end_unix_ns = 1700000000000500000;
  s.attributes = {
      {"gen_ai.tool.name", std::string("send_email")}, {"n", int64_t{-3}}, {"d", 0.5}, {"b", true}};
  s.status = StatusCode::kError;
  s.status_message = "STORE_UNAVAILABLE";
  return s;
}

// Tests that OTLP/JSON spells ids as hex, 64-bit integers as strings and enums as
// numbers (the OTLP JSON encoding, not the generic protobuf JSON mapping).
TEST(EncodeTest, JsonSpansFollowTheOtlpJsonEncoding) {
  ResourceInfo r;
  r.attributes = {{"service.name", std::string("interlock")}};
  const std::string body = EncodeTraces(Encoding::kJson, r, {SampleSpan()});
  json::value v = json::parse(body);
  const json::object& span =
      v.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").at(0).as_object();
  EXPECT_EQ(span.at("traceId").as_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(span.at("parentSpanId").as_string(), "00f067aa0ba902b7");
  EXPECT_EQ(span.at("startTimeUnixNano").as_string(), "1700000000000000000");
  EXPECT_EQ(span.at("kind").as_int64(), 1);
  EXPECT_EQ(span.at("status").at("code").as_int64(), 2);
  EXPECT_EQ(span.at("attributes").at(1).at("value").at("intValue").as_string(), "-3");
}

// Tests the protobuf encoding of a span against hand-decoded wire bytes: the request's
// field 1 (resource_spans) wraps field 2 (scope_spans) wraps field 2 (spans), whose
// trace_id is field 1 with 16 bytes.
TEST(EncodeTest, ProtobufSpanNestsAsTheProtoDefinitionsSay) {
  ResourceInfo r;
  const std::string b = EncodeTraces(Encoding::kProtobuf, r, {SampleSpan()});
  ASSERT_GT(b.size(), 40u);
  EXPECT_EQ(static_cast<uint8_t>(b[0]), (1 << 3) | 2);  // ExportTraceServiceRequest.resource_spans
  // The trace id's 16 bytes appear right after the tag 0x0a and length 0x10.
  const std::string id_field =
      std::string("\x0a\x10", 2) +
      std::string("\x4b\xf9\x2f\x35\x77\xb3\x4d\xa6\xa3\xce\x92\x9d\x0e\x0e\x47\x36", 16);
  EXPECT_NE(b.find(id_field), std::string::npos);
}

constexpr char kPromText[] =
    "# HELP interlock_decisions_total Decisions made.\n"
    "# TYPE interlock_decisions_total counter\n"
    "interlock_decisions_total{agent=\"a\\\"b\",code=\"ALLOWED\"} 3\n"
    "# TYPE interlock_decision_latency_seconds histogram\n"
    "interlock_decision_latency_seconds_bucket{le=\"0.001\"} 2\n"
    "interlock_decision_latency_seconds_bucket{le=\"0.01\"} 5\n"
    "interlock_decision_latency_seconds_bucket{le=\"+Inf\"} 6\n"
    "interlock_decision_latency_seconds_sum 0.25\n"
    "interlock_decision_latency_seconds_count 6\n"
    "# TYPE interlock_runs_active gauge\n"
    "interlock_runs_active -1\n"
    "garbage line {\n";

// Tests that counters become monotonic sums, gauges gauges and histograms per-bucket
// counts (Prometheus buckets are cumulative, OTLP's are not).
TEST(PromTextTest, ReadsCountersGaugesAndHistograms) {
  std::vector<MetricData> m = ParsePrometheusText(kPromText);
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0].kind, MetricData::Kind::kSum);
  EXPECT_TRUE(m[0].monotonic);
  EXPECT_EQ(m[0].description, "Decisions made.");
  ASSERT_EQ(m[0].points.size(), 1u);
  EXPECT_EQ(std::get<std::string>(m[0].points[0].attributes[0].second), "a\"b");
  EXPECT_EQ(m[0].points[0].value, 3);
  ASSERT_EQ(m[1].histogram_points.size(), 1u);
  const HistogramPoint& h = m[1].histogram_points[0];
  EXPECT_EQ(h.bounds, (std::vector<double>{0.001, 0.01}));
  EXPECT_EQ(h.bucket_counts, (std::vector<uint64_t>{2, 3, 1}));
  EXPECT_EQ(h.count, 6u);
  EXPECT_EQ(m[1].unit, "s");
  EXPECT_EQ(m[2].kind, MetricData::Kind::kGauge);
  EXPECT_EQ(m[2].points[0].value, -1);
}

// Tests that histogram counts that are no count (infinite, negative, past 2^64) are
// read as 0 or saturated, never cast (undefined behaviour; found by fuzz/otel_env).
TEST(PromTextTest, CountsOutOfRangeAreClampedNotCast) {
  std::vector<MetricData> m = ParsePrometheusText(
      "# TYPE h histogram\n"
      "h_bucket{le=\"1\"} 20e473\n"
      "h_bucket{le=\"+Inf\"} -3\n"
      "h_sum 0.3\n"
      "h_count 1e30\n"
      "# TYPE g histogram\n"
      "g_bucket{le=\"+Inf\"} 1\n"
      "g_count -7\n");
  ASSERT_EQ(m.size(), 2u);
  ASSERT_EQ(m[0].histogram_points.size(), 1u);
  const HistogramPoint& h = m[0].histogram_points[0];
  EXPECT_EQ(h.count, UINT64_MAX);
  EXPECT_EQ(h.bucket_counts, (std::vector<uint64_t>{UINT64_MAX, 0}));
  ASSERT_EQ(m[1].histogram_points.size(), 1u);
  EXPECT_EQ(m[1].histogram_points[0].count, 0u);
}

// Tests that a full queue drops and counts spans instead of blocking the caller, and that
// the drop shows in the exporter's Prometheus counters.
TEST(ExporterTest, FullQueueDropsAndCountsWithoutBlocking) {
  TelemetryOptions o;
  o.enabled = true;
  o.endpoint = "http://127.0.0.1:" + std::to_string(testing::ClosedPort());
  o.queue_size = 4;
  o.batch_interval = std::chrono::milliseconds(60000);  // nothing leaves the queue meanwhile
  o.shutdown_timeout = std::chrono::milliseconds(200);
  std::vector<std::string> lines;
  auto e = OtlpExporter::Create(o, {}, [&](const std::string& l) { lines.push_back(l); });
  ASSERT_TRUE(e.ok()) << e.error().message;
  for (int i = 0; i < 50; ++i) (*e)->Span(SampleSpan());
  EXPECT_EQ((*e)->dropped(OtlpExporter::kTraces), 46u);
  (*e)->Shutdown();
  // The four queued spans could not be sent either (nobody listens).
  EXPECT_EQ((*e)->dropped(OtlpExporter::kTraces), 50u);
  EXPECT_NE(
      (*e)->RenderPrometheus().find("interlock_telemetry_dropped_total{signal=\"traces\"} 50"),
      std::string::npos);
  ASSERT_FALSE(lines.empty());
  EXPECT_NE(lines[0].find("dropped"), std::string::npos);
  EXPECT_LE(lines.size(), 2u);  // rate-limited, not one line per span
}

// Tests that shutting down with a collector that accepts and never answers is bounded by
// shutdown_timeout instead of hanging the daemon's exit.
TEST(ExporterTest, ShutdownIsBoundedWhenTheCollectorHangs) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 16), 0);  // the kernel accepts; nobody reads or answers
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  TelemetryOptions o;
  o.enabled = true;
  o.endpoint = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  o.timeout = std::chrono::milliseconds(30000);
  o.shutdown_timeout = std::chrono::milliseconds(300);
  auto e = OtlpExporter::Create(o, {}, [](const std::string&) {});
  ASSERT_TRUE(e.ok());
  for (int i = 0; i < 10; ++i) (*e)->Span(SampleSpan());
  const auto t0 = std::chrono::steady_clock::now();
  (*e)->Shutdown();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_EQ((*e)->dropped(OtlpExporter::kTraces), 10u);
  ::close(fd);
}

// Tests that SIGTERM while an export is under way to a collector that accepted the
// connection and never answers stops within shutdown_timeout, not after the export's own
// timeout plus a metrics export plus the final flush (~12 s with the defaults, past a
// unit's TimeoutStopSec when timeout_ms is raised: the daemon's final checkpoint comes
// after this).
TEST(ExporterTest, HungCollectorMidExportCannotStretchShutdownPastItsBound) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 16), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  TelemetryOptions o;
  o.enabled = true;
  o.endpoint = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  o.batch_size = 1;  // the first span leaves at once
  o.timeout = std::chrono::milliseconds(8000);
  o.metrics_interval = std::chrono::milliseconds(1);  // a metrics export is due after it
  o.shutdown_timeout = std::chrono::milliseconds(300);
  auto e = OtlpExporter::Create(o, {}, [](const std::string&) {});
  ASSERT_TRUE(e.ok());
  (*e)->Span(SampleSpan());
  // The export is under way once the collector stand-in has its connection.
  pollfd p{fd, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 5000), 1) << "the exporter never connected";
  const int conn = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
  ASSERT_GE(conn, 0);
  const auto t0 = std::chrono::steady_clock::now();
  (*e)->Shutdown();
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(took, 1500ms) << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                          << " ms";
  ::close(conn);
  ::close(fd);
}

// Tests that an endpoint carrying a password (OTEL_EXPORTER_OTLP_ENDPOINT=
// http://user:password@...) is refused without the password being printed, in the
// start-up line or in the refusal.
TEST(ExporterTest, EndpointPasswordIsNeverPrintedBeforeTheRefusal) {
  ::setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel-user:hunter2-otlp@127.0.0.1:1", 1);
  std::ostringstream captured;
  std::streambuf* old = std::cerr.rdbuf(captured.rdbuf());
  auto e = StartExporter({}, {}, "interlock test");
  std::cerr.rdbuf(old);
  ::unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(captured.str().find("hunter2"), std::string::npos) << captured.str();
  EXPECT_EQ(e.error().message.find("hunter2"), std::string::npos) << e.error().message;
  EXPECT_EQ(captured.str().find("otel-user"), std::string::npos) << captured.str();
  EXPECT_NE(captured.str().find("****@127.0.0.1:1"), std::string::npos) << captured.str();
}

class RecordingSink : public Sink {
 public:
  bool enabled() const override { return true; }
  bool send_arguments() const override { return send_args; }
  void Span(SpanData s) override { spans.push_back(std::move(s)); }
  bool send_args = false;
  std::vector<SpanData> spans;
};

const AttrValue* Attr(const SpanData& s, const std::string& key) {
  for (const auto& [k, v] : s.attributes) {
    if (k == key) return &v;
  }
  return nullptr;
}

// Tests that a decision span is the child of the caller's span in the caller's trace, and
// carries the decision's attributes but not the arguments unless asked for.
TEST(DecisionSpanTest, ParentsOnTheCallerAndNamesTheDecision) {
  RecordingSink sink;
  DecisionSpan span;
  span.Start(&sink, kTraceparent);
  ASSERT_TRUE(span.active());
  EXPECT_EQ(span.AuditTraceparent(), kTraceparent);
  Decision d;
  d.verdict = Verdict::kApprovalRequired;
  d.code = Code::kApprovalRequired;
  d.rule = "tools.allowed[\"send_email\"].requires_approval";
  d.tool = "send_email";
  d.agent_id = "a";
  json::object args{{"to", "x@example.com"}};
  span.End(d, {.run_id = "run_1", .call_id = "call_abc", .principal = "a", .recorded_args = &args});
  ASSERT_EQ(sink.spans.size(), 1u);
  const SpanData& s = sink.spans[0];
  EXPECT_EQ(Hex(s.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
  ASSERT_TRUE(s.parent_span_id);
  EXPECT_EQ(Hex(*s.parent_span_id), "00f067aa0ba902b7");
  EXPECT_EQ(std::get<std::string>(*Attr(s, "interlock.approval.id")), "apr_abc");
  EXPECT_EQ(std::get<std::string>(*Attr(s, "interlock.code")), "APPROVAL_REQUIRED");
  EXPECT_EQ(Attr(s, "interlock.args"), nullptr);
}

// Tests that without a caller's context the span is a root and the audit keeps its own
// traceparent, so the record still names the trace.
TEST(DecisionSpanTest, WithoutACallerTheAuditNamesTheSpansOwnTrace) {
  RecordingSink sink;
  DecisionSpan span;
  span.Start(&sink, "garbage");
  auto tp = ParseTraceparent(span.AuditTraceparent());
  ASSERT_TRUE(tp);
  Decision d;
  span.End(d, {});
  ASSERT_EQ(sink.spans.size(), 1u);
  EXPECT_FALSE(sink.spans[0].parent_span_id);
  EXPECT_EQ(Hex(tp->trace_id), Hex(sink.spans[0].trace_id));
  EXPECT_EQ(Hex(tp->span_id), Hex(sink.spans[0].span_id));
}

// Tests that the no-op sink makes a decision span inactive (telemetry off costs nothing).
TEST(DecisionSpanTest, NoopSinkStartsNothing) {
  DecisionSpan span;
  span.Start(NoopSink(), kTraceparent);
  EXPECT_FALSE(span.active());
  EXPECT_EQ(span.AuditTraceparent(), "");
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::telemetry
