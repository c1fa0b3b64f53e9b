// The daemon's Prometheus exposition text (daemon/metrics.cc Render) read back as OTLP
// metrics, so the OTLP export carries exactly the counters /metrics shows without a
// second set of instruments: counter -> cumulative monotonic Sum, gauge -> Gauge,
// histogram (_bucket{le}, _sum, _count) -> cumulative Histogram. Lines that are not
// understood (untyped families, malformed samples) are skipped, never fatal.
// Thread-safety: a pure function.
#ifndef INTERLOCK_TELEMETRY_PROM_TEXT_H_
#define INTERLOCK_TELEMETRY_PROM_TEXT_H_

#include <string_view>
#include <vector>

#include "telemetry/otlp_encode.h"

namespace interlock::telemetry {

std::vector<MetricData> ParsePrometheusText(std::string_view text);

}  // namespace interlock::telemetry

#endif  // INTERLOCK_TELEMETRY_PROM_TEXT_H_
