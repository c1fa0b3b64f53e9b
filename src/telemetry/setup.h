// Start-up of telemetry for a serving command (`interlock serve`, `interlock mcp`): the
// config's `telemetry:` section overlaid by the OTEL_* environment, an exporter when that
// turns export on. (The notices as OTLP logs: cli/notice_logger.h.)
// Thread-safety: at start-up only.
#ifndef INTERLOCK_TELEMETRY_SETUP_H_
#define INTERLOCK_TELEMETRY_SETUP_H_

#include <functional>
#include <memory>
#include <string>

#include "interlock/result.h"
#include "telemetry/exporter.h"
#include "telemetry/options.h"

namespace interlock::telemetry {

// The exporter for `config` with the process environment applied, or null when export is
// off (no endpoint, or OTEL_SDK_DISABLED=true). Logs one line naming where each signal goes
// (header values masked, a URL's userinfo never shown) prefixed by `who` ("interlock serve").
// Errors: a bad variable or endpoint, named.
Result<std::unique_ptr<OtlpExporter>> StartExporter(TelemetryOptions config,
                                                    std::function<std::string()> metrics_text,
                                                    const std::string& who);

}  // namespace interlock::telemetry

#endif  // INTERLOCK_TELEMETRY_SETUP_H_
