#include "telemetry/setup.h"

#include <cstdlib>
#include <iostream>

#include "common/url_text.h"

namespace interlock::telemetry {

Result<std::unique_ptr<OtlpExporter>> StartExporter(TelemetryOptions config,
                                                    std::function<std::string()> metrics_text,
                                                    const std::string& who) {
  Status st = ApplyEnvironment(
      [](const char* name) -> std::optional<std::string> {
        const char* v = std::getenv(name);
        if (v == nullptr) return std::nullopt;
        return std::string(v);
      },
      &config);
  if (!st.ok()) return Error::Invalid("telemetry: " + st.error().message);
  if (!config.enabled) return std::unique_ptr<OtlpExporter>();
  std::string where;
  for (const char* signal : {"traces", "logs", "metrics"}) {
    const bool on = std::string_view(signal) == "traces" ? config.traces
                    : std::string_view(signal) == "logs" ? config.logs
                                                         : config.metrics;
    const std::string url = SignalUrl(config, signal);
    if (!on || url.empty()) continue;
    // Never the userinfo of a URL (Create refuses it after this line is written).
    where += std::string(where.empty() ? "" : ", ") + signal + " to " + UrlForLog(url);
  }
  std::cerr << who << ": telemetry: exporting " << (where.empty() ? "nothing" : where) << " ("
            << (config.protocol == Encoding::kJson ? "http/json" : "http/protobuf")
            << (config.headers.empty() ? "" : "; headers " + MaskedHeaders(config.headers))
            << ")\n";
  return OtlpExporter::Create(std::move(config), std::move(metrics_text));
}

}  // namespace interlock::telemetry
