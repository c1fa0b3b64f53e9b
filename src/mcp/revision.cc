#include "mcp/revision.h"

#include <algorithm>
#include <array>
#include <utility>

#include "mcp/framing.h"

namespace interlock::mcp {

namespace json = boost::json;

namespace {

constexpr std::array<std::pair<McpRevision, std::string_view>, 5> kNames{{
    {McpRevision::k2024_11_05, "2024-11-05"},
    {McpRevision::k2025_03_26, "2025-03-26"},
    {McpRevision::k2025_06_18, "2025-06-18"},
    {McpRevision::k2025_11_25, "2025-11-25"},
    {McpRevision::k2026_07_28, "2026-07-28"},
}};

constexpr std::array<McpRevision, 3> kSupported{McpRevision::k2026_07_28, McpRevision::k2025_11_25,
                                                McpRevision::k2025_06_18};

}  // namespace

const json::object* MetaOf(const json::object& message) {
  const json::value* params = message.if_contains("params");
  if (params == nullptr || !params->is_object()) return nullptr;
  const json::value* meta = params->get_object().if_contains("_meta");
  return meta != nullptr && meta->is_object() ? &meta->get_object() : nullptr;
}

json::object* MetaOf(json::object& message) {
  return const_cast<json::object*>(MetaOf(std::as_const(message)));
}

std::optional<McpRevision> ParseRevision(std::string_view text) {
  for (const auto& [r, name] : kNames) {
    if (name == text) return r;
  }
  return std::nullopt;
}

std::string_view RevisionName(McpRevision r) {
  for (const auto& [rev, name] : kNames) {
    if (rev == r) return name;
  }
  return "unknown";
}

std::span<const McpRevision> SupportedRevisions() { return kSupported; }

json::array SupportedVersionsJson() {
  json::array out;
  for (McpRevision r : kSupported) out.emplace_back(RevisionName(r));
  return out;
}

bool ServedVersion(std::string_view version) {
  return std::any_of(kSupported.begin(), kSupported.end(),
                     [version](McpRevision r) { return RevisionName(r) == version; });
}

bool ModernVersion(std::string_view version) {
  return version == RevisionName(McpRevision::k2026_07_28);
}

std::optional<std::string> MetaProtocolVersion(const json::object& request) {
  const json::object* meta = MetaOf(request);
  const json::value* v = meta != nullptr ? meta->if_contains(kMetaProtocolVersion) : nullptr;
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return std::string(v->get_string());
}

McpRevision ClientRevisionOf(const json::object& request) {
  std::optional<std::string> v = MetaProtocolVersion(request);
  return v && ModernVersion(*v) ? McpRevision::k2026_07_28 : McpRevision::k2025_11_25;
}

const json::object* MetaClientCapabilities(const json::object& request) {
  const json::object* meta = MetaOf(request);
  const json::value* c = meta != nullptr ? meta->if_contains(kMetaClientCapabilities) : nullptr;
  return c != nullptr && c->is_object() ? &c->get_object() : nullptr;
}

json::object UnsupportedVersionError(const json::value& id, std::string_view requested) {
  json::object out = ErrorResponse(id, kUnsupportedProtocolVersion, "Unsupported protocol version");
  out["error"].get_object()["data"] =
      json::object{{"supported", SupportedVersionsJson()}, {"requested", requested.substr(0, 64)}};
  return out;
}

}  // namespace interlock::mcp
