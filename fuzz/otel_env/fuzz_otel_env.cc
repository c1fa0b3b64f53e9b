// Fuzzes telemetry's parsers of outside input: any bytes must give a value or a clear
// error, never a crash or a hang. A parsed header list never holds a control character (a
// header value must stay one line: no CR/LF injection into the export request); a
// traceparent that parses formats back to a traceparent that parses to the same ids; a
// tracestate taken is at most 512 printable ASCII characters; the Prometheus reader gives
// histograms with one bucket more than bounds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "telemetry/options.h"
#include "telemetry/prom_text.h"
#include "telemetry/sink.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace interlock::telemetry;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto list = ParseKeyValueList(in); list.ok()) {
    for (const auto& [k, v] : *list) {
      if (k.empty()) std::abort();
      for (char c : k + v) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) std::abort();
      }
    }
  }
  if (auto ctx = ParseTraceparent(in)) {
    auto again = ParseTraceparent(FormatTraceparent(*ctx));
    if (!again || again->trace_id != ctx->trace_id || again->span_id != ctx->span_id) std::abort();
  }
  if (ValidTracestate(in)) {
    if (in.size() > 512) std::abort();
    for (char c : in) {
      if (c != '\t' && (c < 0x20 || c > 0x7e)) std::abort();
    }
  }
  for (const MetricData& m : ParsePrometheusText(in)) {
    for (const HistogramPoint& h : m.histogram_points) {
      if (h.bucket_counts.size() != h.bounds.size() + 1) std::abort();
    }
  }
  return 0;
}
