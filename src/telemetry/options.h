// TelemetryOptions: where and how the OTLP exporter sends (docs/telemetry.md), from the
// daemon's `telemetry:` config section (daemon/config.cc) overlaid by the standard
// OpenTelemetry environment variables (OTEL_SDK_DISABLED, OTEL_SERVICE_NAME,
// OTEL_RESOURCE_ATTRIBUTES, OTEL_EXPORTER_OTLP_{,TRACES_,LOGS_,METRICS_}ENDPOINT,
// OTEL_EXPORTER_OTLP_HEADERS, OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_EXPORTER_OTLP_TIMEOUT).
// Values: parsed and validated once at start-up; errors name the variable.
// Thread-safety: free functions on values.
#ifndef INTERLOCK_TELEMETRY_OPTIONS_H_
#define INTERLOCK_TELEMETRY_OPTIONS_H_

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "interlock/result.h"
#include "telemetry/otlp_encode.h"

namespace interlock::telemetry {

struct TelemetryOptions {
  // Off unless an endpoint is configured (config or OTEL_EXPORTER_OTLP_*ENDPOINT).
  bool enabled = false;
  // The base URL ("http://collector:4318"): each signal goes to <base>/v1/<signal>.
  std::string endpoint;
  // Per-signal URLs, used as given (OTLP spec): empty means <endpoint>/v1/<signal>.
  std::string traces_endpoint;
  std::string logs_endpoint;
  std::string metrics_endpoint;
  Encoding protocol = Encoding::kProtobuf;                   // "http/protobuf" | "http/json"
  std::vector<std::pair<std::string, std::string>> headers;  // secrets: never logged
  std::string ca_file;                                       // https: trust only these CAs
  bool traces = true;
  bool logs = true;
  bool metrics = true;
  size_t queue_size = 2048;  // per signal; beyond it new items are dropped and counted
  size_t batch_size = 512;   // items per request
  std::chrono::milliseconds batch_interval{1000};     // the longest an item waits to go
  std::chrono::milliseconds metrics_interval{10000};  // metrics are read this often
  std::chrono::milliseconds timeout{5000};            // one export request, connect included
  std::chrono::milliseconds shutdown_timeout{2000};   // the final flush, at most
  std::string service_name = "interlock";
  Attributes resource_attributes;  // besides service.name (OTEL_RESOURCE_ATTRIBUTES)
  // Send tool-call arguments as the audit trail records them (redacted); off: only the
  // arguments' digest (interlock.args.sha256) leaves the process.
  bool send_arguments = false;
};

// "k1=v1,k2=v2" (W3C Baggage-like, values percent-decoded) as used by
// OTEL_EXPORTER_OTLP_HEADERS and OTEL_RESOURCE_ATTRIBUTES. Keys are trimmed and must be
// non-empty tokens; a value may be empty. kInvalidArgument names the bad entry's position
// (never its value: headers are secrets).
Result<std::vector<std::pair<std::string, std::string>>> ParseKeyValueList(std::string_view s);

// "Authorization: ****", one line per header, for the start-up log.
std::string MaskedHeaders(const std::vector<std::pair<std::string, std::string>>& headers);

// Overlays the environment (`getenv` returns nullopt for an unset variable) on `opts`:
// a set variable wins over the config file, as the OpenTelemetry SDKs do.
// OTEL_SDK_DISABLED=true turns everything off.
Status ApplyEnvironment(const std::function<std::optional<std::string>(const char*)>& getenv,
                        TelemetryOptions* opts);

// The URL a signal ("traces", "logs", "metrics") is posted to.
std::string SignalUrl(const TelemetryOptions& opts, std::string_view signal);

}  // namespace interlock::telemetry

#endif  // INTERLOCK_TELEMETRY_OPTIONS_H_
