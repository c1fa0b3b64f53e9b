#include "mcp/upstream_revision.h"

#include <boost/json.hpp>

namespace interlock::mcp {

namespace json = boost::json;

namespace {

const json::object* ObjectAt(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_object() ? &v->get_object() : nullptr;
}

bool ListsVersion(const json::value* list, bool (*match)(std::string_view)) {
  if (list == nullptr || !list->is_array()) return false;
  for (const json::value& v : list->get_array()) {
    if (v.is_string() && match(v.get_string())) return true;
  }
  return false;
}

bool IsModern(std::string_view v) { return v == kModernRevision; }

}  // namespace

bool IsLegacyRevision(std::string_view version) {
  return version == "2025-11-25" || version == "2025-06-18" || version == "2025-03-26";
}

ProbeVerdict ClassifyDiscoverResponse(const json::value& response) {
  ProbeVerdict out;
  if (!response.is_object()) return out;  // no answer in time: legacy
  const json::object& o = response.get_object();
  if (const json::object* result = ObjectAt(o, "result")) {
    // Only a DiscoverResult naming our revision makes a modern server; a legacy server that
    // answers any method with some result is not one.
    if (ListsVersion(result->if_contains("supportedVersions"), IsModern)) {
      out.kind = ProbeVerdict::Kind::kModern;
    }
    return out;
  }
  const json::object* error = ObjectAt(o, "error");
  const json::value* code = error != nullptr ? error->if_contains("code") : nullptr;
  if (code == nullptr || !code->is_int64() || code->get_int64() != kUnsupportedProtocolVersion) {
    return out;  // any other error: legacy (never keyed to one code, stdio.mdx)
  }
  const json::object* data = ObjectAt(*error, "data");
  const json::value* supported = data != nullptr ? data->if_contains("supported") : nullptr;
  if (ListsVersion(supported, IsModern)) {
    out.kind = ProbeVerdict::Kind::kModern;  // it asked for another spelling; still ours
  } else if (!ListsVersion(supported, IsLegacyRevision)) {
    // A modern server (a recognized modern error) that speaks nothing the gateway does: do
    // not fall back to initialize (stdio.mdx), tell the client what the server said.
    out.kind = ProbeVerdict::Kind::kUnsupported;
    out.error = *error;
  }
  return out;
}

json::object DiscoverRequest(const json::value& id, const json::object& client_capabilities,
                             const json::value& client_info) {
  json::object request{{"jsonrpc", "2.0"}, {"id", id}, {"method", "server/discover"}};
  StampModernMeta(request, client_capabilities, client_info);
  return request;
}

void StampModernMeta(json::object& request, const json::object& client_capabilities,
                     const json::value& client_info) {
  json::value& params = request["params"];
  if (!params.is_object()) params = json::object();
  json::value& meta = params.get_object()["_meta"];
  if (!meta.is_object()) meta = json::object();
  json::object& m = meta.get_object();
  // The request's own version stays (a modern client's); a legacy request gets ours.
  if (!m.contains(kMetaProtocolVersion)) m[kMetaProtocolVersion] = kModernRevision;
  if (!m.contains(kMetaClientCapabilities)) m[kMetaClientCapabilities] = client_capabilities;
  if (!m.contains(kMetaClientInfo)) {
    m[kMetaClientInfo] = client_info.is_object()
                             ? client_info
                             : json::value(json::object{{"name", "interlock"}, {"version", "1"}});
  }
}

json::object ModernCapabilitiesOfLegacyClient(const json::object& capabilities) {
  json::object out = capabilities;
  out.erase("tasks");
  return out;
}

json::object InitializeResultFromDiscover(const json::object& discover_result,
                                          std::string_view client_version) {
  json::object caps;
  if (const json::object* c = ObjectAt(discover_result, "capabilities")) caps = *c;
  // Task-augmented tools/call is refused by the gateway (gateway.h): never offered.
  caps.erase("tasks");
  if (json::value* ext = caps.if_contains("extensions"); ext != nullptr && ext->is_object()) {
    ext->get_object().erase(kTasksExtension);
  }
  json::value server_info = json::object{{"name", "unknown"}, {"version", "0"}};
  if (const json::object* meta = ObjectAt(discover_result, "_meta")) {
    if (const json::object* si = ObjectAt(*meta, kMetaServerInfo)) {
      const json::value* n = si->if_contains("name");
      const json::value* v = si->if_contains("version");
      if (n != nullptr && n->is_string() && v != nullptr && v->is_string()) server_info = *si;
    }
  }
  json::object out{
      {"protocolVersion", IsLegacyRevision(client_version) ? json::string(client_version)
                                                           : json::string(kLatestLegacyRevision)},
      {"capabilities", std::move(caps)},
      {"serverInfo", std::move(server_info)}};
  if (const json::value* i = discover_result.if_contains("instructions");
      i != nullptr && i->is_string()) {
    out["instructions"] = *i;
  }
  return out;
}

void ToLegacyResult(json::object& result) {
  result.erase("resultType");
  result.erase("ttlMs");
  result.erase("cacheScope");
}

bool IsTaskResult(const json::object& result) {
  const json::value* t = result.if_contains("resultType");
  return t != nullptr && t->is_string() && t->get_string() == "task";
}

void WithoutTasksExtension(json::object& request) {
  json::object* meta = MetaOf(request);
  json::value* caps = meta != nullptr ? meta->if_contains(kMetaClientCapabilities) : nullptr;
  if (caps == nullptr || !caps->is_object()) return;
  caps->get_object().erase("tasks");
  if (json::value* ext = caps->get_object().if_contains("extensions");
      ext != nullptr && ext->is_object()) {
    ext->get_object().erase(kTasksExtension);
  }
}

bool DeclaresTasksExtension(const json::object& request) {
  const json::object* meta = MetaOf(request);
  const json::value* caps = meta != nullptr ? meta->if_contains(kMetaClientCapabilities) : nullptr;
  const json::value* ext =
      caps != nullptr && caps->is_object() ? caps->get_object().if_contains("extensions") : nullptr;
  const json::value* tasks =
      ext != nullptr && ext->is_object() ? ext->get_object().if_contains(kTasksExtension) : nullptr;
  return tasks != nullptr && tasks->is_object();
}

bool IsInputRequired(const json::object& result) {
  const json::value* t = result.if_contains("resultType");
  return t != nullptr && t->is_string() && t->get_string() == "input_required";
}

}  // namespace interlock::mcp
