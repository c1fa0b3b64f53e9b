// OTLP request bodies (ExportTraceServiceRequest, ExportLogsServiceRequest,
// ExportMetricsServiceRequest) in the two encodings of OTLP/HTTP: binary protobuf (the
// OTLP default, "application/x-protobuf") and JSON ("application/json": lowerCamelCase
// field names, trace and span ids as hex, 64-bit integers as decimal strings, enums as
// numbers; OTLP specification, "JSON Protobuf Encoding").
//
// Field numbers are those of open-telemetry/opentelemetry-proto (common/v1, resource/v1,
// trace/v1, logs/v1, metrics/v1); the integration test decodes what we send with the
// official definitions. Pure functions; only the exporter's thread calls them.
#ifndef INTERLOCK_TELEMETRY_OTLP_ENCODE_H_
#define INTERLOCK_TELEMETRY_OTLP_ENCODE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "telemetry/sink.h"

namespace interlock::telemetry {

// Who sends (OTLP Resource and InstrumentationScope).
struct ResourceInfo {
  Attributes attributes;  // service.name first, then the rest
  std::string scope_name = "interlock";
  std::string scope_version;
};

struct NumberPoint {
  Attributes attributes;
  double value = 0;
  bool is_int = false;  // as_int (counters) rather than as_double
};

struct HistogramPoint {
  Attributes attributes;
  uint64_t count = 0;
  double sum = 0;
  std::vector<double> bounds;           // explicit upper bounds, +Inf implied
  std::vector<uint64_t> bucket_counts;  // bounds.size() + 1, per bucket (not cumulative)
};

struct MetricData {
  enum class Kind { kGauge, kSum, kHistogram } kind = Kind::kGauge;
  std::string name;
  std::string description;
  std::string unit;
  bool monotonic = false;  // kSum
  std::vector<NumberPoint> points;
  std::vector<HistogramPoint> histogram_points;
};

enum class Encoding { kProtobuf, kJson };

std::string EncodeTraces(Encoding e, const ResourceInfo& r, const std::vector<SpanData>& spans);
std::string EncodeLogs(Encoding e, const ResourceInfo& r, const std::vector<LogData>& logs);
// Cumulative points from `start_unix_ns` (the process start) to `time_unix_ns`.
std::string EncodeMetrics(Encoding e, const ResourceInfo& r, const std::vector<MetricData>& metrics,
                          int64_t start_unix_ns, int64_t time_unix_ns);

}  // namespace interlock::telemetry

#endif  // INTERLOCK_TELEMETRY_OTLP_ENCODE_H_
