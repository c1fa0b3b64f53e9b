// telemetry::Sink: the one small interface through which the rest of Interlock hands
// spans and log records to an OpenTelemetry exporter (docs/telemetry.md).
//
// The core and the doors hold a `Sink*` that is never null: NoopSink() when telemetry is
// off, an OtlpExporter (telemetry/exporter.h) when it is on. Every method must return at
// once and never fail: an implementation queues (bounded) and exports on its own thread,
// dropping and counting what does not fit, so a decision never waits for a collector.
// Values are copied in; the caller keeps nothing alive for the sink.
// Thread-safety: every method may be called from any thread concurrently.
#ifndef INTERLOCK_TELEMETRY_SINK_H_
#define INTERLOCK_TELEMETRY_SINK_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace interlock::telemetry {

using TraceId = std::array<uint8_t, 16>;
using SpanId = std::array<uint8_t, 8>;

// A W3C trace context (https://www.w3.org/TR/trace-context/): which trace, which span.
struct TraceContext {
  TraceId trace_id{};
  SpanId span_id{};
  uint8_t flags = 0;       // bit 0: sampled
  std::string tracestate;  // as received (opaque, bounded by the parser)
};

// "00-<32 hex>-<16 hex>-<2 hex>" with lower-case hex and non-zero ids; any other version
// is accepted when its first four fields have that shape (W3C "future versions"), as long
// as what follows them starts with '-'. nullopt otherwise.
std::optional<TraceContext> ParseTraceparent(std::string_view v);
// A W3C tracestate list (trace-context#tracestate-header): at most 32 list-members of
// key "=" value (simple-key or tenant@system keys, values of printable ASCII not ending in a
// space, no "," or "="), unique keys, optional whitespace around commas, empty members
// allowed, at most 512 characters. False otherwise (the caller drops it).
bool ValidTracestate(std::string_view v);
// The header value for `ctx` (version 00).
std::string FormatTraceparent(const TraceContext& ctx);
std::string HexId(const uint8_t* data, size_t n);
inline std::string Hex(const TraceId& id) { return HexId(id.data(), id.size()); }
inline std::string Hex(const SpanId& id) { return HexId(id.data(), id.size()); }
// Fresh random ids (never all zero). Not secret: ids only need to be unique.
TraceId NewTraceId();
SpanId NewSpanId();

// An attribute value (OTLP AnyValue: the scalar kinds we send).
using AttrValue = std::variant<std::string, int64_t, double, bool>;
using Attributes = std::vector<std::pair<std::string, AttrValue>>;

enum class SpanKind : int { kInternal = 1, kServer = 2, kClient = 3 };
enum class StatusCode : int { kUnset = 0, kOk = 1, kError = 2 };

struct SpanData {
  TraceId trace_id{};
  SpanId span_id{};
  std::optional<SpanId> parent_span_id;  // none: a root span
  std::string tracestate;
  uint8_t flags = 1;
  std::string name;
  SpanKind kind = SpanKind::kInternal;
  int64_t start_unix_ns = 0;
  int64_t end_unix_ns = 0;
  Attributes attributes;
  StatusCode status = StatusCode::kUnset;
  std::string status_message;
  // Links to other traces (OTLP Span.links): a caller's context we did not parent on.
  std::vector<TraceContext> links;
};

// OTLP severity numbers (logs data model): INFO 9, WARN 13, ERROR 17.
enum class Severity : int { kInfo = 9, kWarn = 13, kError = 17 };

struct LogData {
  int64_t time_unix_ns = 0;
  Severity severity = Severity::kInfo;
  std::string body;  // the JSON line as the daemon writes it
  Attributes attributes;
  std::optional<TraceId> trace_id;
  std::optional<SpanId> span_id;
};

class Sink {
 public:
  virtual ~Sink() = default;
  // False for the no-op sink: callers skip building spans (ids, attributes) when off.
  virtual bool enabled() const { return false; }
  // Whether spans may carry the call's arguments as recorded (redacted); otherwise only
  // their digest leaves the process.
  virtual bool send_arguments() const { return false; }
  virtual void Span(SpanData span) { (void)span; }
  virtual void Log(LogData log) { (void)log; }
};

// The shared sink that drops everything (telemetry off).
Sink* NoopSink();
// The process's sink, for objects made deep inside a door (an MCP session's gateway): set
// once by the serving command at start-up, before any door runs; NoopSink() until then.
Sink* DefaultSink();
void SetDefaultSink(Sink* sink);

// The span a thread is working for, so that what it logs meanwhile (a notice) carries the
// span's trace and span ids: set for a scope, restored after. Not owned.
const TraceContext* CurrentContext();
class ScopedContext {
 public:
  explicit ScopedContext(const TraceContext* ctx);
  ~ScopedContext();
  ScopedContext(const ScopedContext&) = delete;
  ScopedContext& operator=(const ScopedContext&) = delete;

 private:
  const TraceContext* previous_;
};

int64_t UnixNanosNow();

}  // namespace interlock::telemetry

#endif  // INTERLOCK_TELEMETRY_SINK_H_
