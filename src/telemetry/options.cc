#include "telemetry/options.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "common/text.h"

namespace interlock::telemetry {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool TokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Percent-decoding; nullopt on a bad escape or a decoded control character (a header
// value must stay one line).
std::optional<std::string> PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int hi = HexDigitValue(s[i + 1]);
      const int lo = HexDigitValue(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return std::nullopt;
    out.push_back(c);
  }
  return out;
}

bool ParseBool(std::string_view v, bool* out) {
  const std::string lower = AsciiLower(Trim(v));
  if (lower == "true") {
    *out = true;
    return true;
  }
  if (lower == "false" || lower.empty()) {
    *out = false;
    return true;
  }
  return false;
}

}  // namespace

Result<std::vector<std::pair<std::string, std::string>>> ParseKeyValueList(std::string_view s) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t index = 0;
  while (!s.empty()) {
    ++index;
    const size_t comma = s.find(',');
    std::string_view item = s.substr(0, comma);
    s = comma == std::string_view::npos ? std::string_view() : s.substr(comma + 1);
    if (Trim(item).empty()) continue;
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      return Error::Invalid("entry " + std::to_string(index) + " has no '='");
    }
    std::string_view key = Trim(item.substr(0, eq));
    if (key.empty() || !std::all_of(key.begin(), key.end(), TokenChar)) {
      return Error::Invalid("entry " + std::to_string(index) + " has no valid key");
    }
    std::optional<std::string> value = PercentDecode(Trim(item.substr(eq + 1)));
    if (!value) {
      return Error::Invalid("entry " + std::to_string(index) + " (key " + std::string(key) +
                            ") has a malformed value");
    }
    out.emplace_back(std::string(key), std::move(*value));
  }
  return out;
}

std::string MaskedHeaders(const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string out;
  for (const auto& [name, value] : headers) {
    if (!out.empty()) out += ", ";
    out += name + ": " + (value.empty() ? "(empty)" : "****");
  }
  return out;
}

Status ApplyEnvironment(const std::function<std::optional<std::string>(const char*)>& getenv,
                        TelemetryOptions* o) {
  auto bad = [](const char* var, const std::string& why) {
    return Error::Invalid(std::string(var) + ": " + why);
  };
  if (auto v = getenv("OTEL_EXPORTER_OTLP_ENDPOINT"); v && !v->empty()) o->endpoint = *v;
  if (auto v = getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"); v && !v->empty())
    o->traces_endpoint = *v;
  if (auto v = getenv("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"); v && !v->empty()) o->logs_endpoint = *v;
  if (auto v = getenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"); v && !v->empty())
    o->metrics_endpoint = *v;
  if (auto v = getenv("OTEL_EXPORTER_OTLP_PROTOCOL"); v && !v->empty()) {
    if (*v == "http/protobuf") {
      o->protocol = Encoding::kProtobuf;
    } else if (*v == "http/json") {
      o->protocol = Encoding::kJson;
    } else {
      return bad("OTEL_EXPORTER_OTLP_PROTOCOL",
                 "'" + *v + "' is not supported (http/protobuf or http/json; grpc is not)");
    }
  }
  if (auto v = getenv("OTEL_EXPORTER_OTLP_HEADERS"); v && !v->empty()) {
    auto h = ParseKeyValueList(*v);
    if (!h.ok()) return bad("OTEL_EXPORTER_OTLP_HEADERS", h.error().message);
    for (auto& kv : *h) {
      // The variable wins over a config header of the same name.
      std::erase_if(o->headers, [&](const auto& e) { return e.first == kv.first; });
      o->headers.push_back(std::move(kv));
    }
  }
  if (auto v = getenv("OTEL_EXPORTER_OTLP_TIMEOUT"); v && !v->empty()) {
    int64_t ms = 0;
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), ms);
    if (ec != std::errc() || p != v->data() + v->size() || ms < 1 || ms > 600000) {
      return bad("OTEL_EXPORTER_OTLP_TIMEOUT", "must be milliseconds between 1 and 600000");
    }
    o->timeout = std::chrono::milliseconds(ms);
  }
  if (auto v = getenv("OTEL_SERVICE_NAME"); v && !v->empty()) o->service_name = *v;
  if (auto v = getenv("OTEL_RESOURCE_ATTRIBUTES"); v && !v->empty()) {
    auto attrs = ParseKeyValueList(*v);
    if (!attrs.ok()) return bad("OTEL_RESOURCE_ATTRIBUTES", attrs.error().message);
    for (auto& kv : *attrs) {
      // service.name from OTEL_RESOURCE_ATTRIBUTES applies unless OTEL_SERVICE_NAME is set.
      if (kv.first == "service.name") {
        if (auto sn = getenv("OTEL_SERVICE_NAME"); !sn || sn->empty()) o->service_name = kv.second;
        continue;
      }
      const std::string& key = kv.first;
      std::erase_if(o->resource_attributes, [&](const auto& e) { return e.first == key; });
      o->resource_attributes.emplace_back(kv.first, std::move(kv.second));
    }
  }
  if (!o->endpoint.empty() || !o->traces_endpoint.empty() || !o->logs_endpoint.empty() ||
      !o->metrics_endpoint.empty()) {
    o->enabled = true;
  }
  if (auto v = getenv("OTEL_SDK_DISABLED"); v) {
    bool disabled = false;
    if (!ParseBool(*v, &disabled)) return bad("OTEL_SDK_DISABLED", "must be true or false");
    if (disabled) o->enabled = false;
  }
  return Status::Ok();
}

std::string SignalUrl(const TelemetryOptions& o, std::string_view signal) {
  const std::string& own = signal == "traces" ? o.traces_endpoint
                           : signal == "logs" ? o.logs_endpoint
                                              : o.metrics_endpoint;
  if (!own.empty()) return own;
  if (o.endpoint.empty()) return "";
  std::string base = o.endpoint;
  if (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/v1/" + std::string(signal);
}

}  // namespace interlock::telemetry
