// Gateway (gateway.h): clients of the modern revision (2026-07-28, mcp/revision.h) in front
// of a legacy (2025-11-25) upstream: server/discover answered by the gateway, the
// version in _meta checked (-32022), the upstream initialized by the gateway, modern _meta
// kept from the legacy server, and results given resultType and caching hints.
#include <cctype>
#include <map>
#include <vector>

#include <boost/json.hpp>

#include "mcp/framing.h"
#include "mcp/gateway.h"
#include "mcp/gateway_internal.h"
#include "mcp/param_headers.h"
#include "mcp/request_headers.h"
#include "mcp/revision.h"
#include "mcp/upstream_revision.h"

namespace interlock::mcp {

namespace json = boost::json;

using gateway_internal::Log;
using gateway_internal::Quoted;

namespace {

// The results 2026-07-28 requires caching hints on (server/utilities/caching).
bool Cacheable(std::string_view method) {
  return method == "tools/list" || method == "prompts/list" || method == "resources/list" ||
         method == "resources/templates/list" || method == "resources/read" ||
         method == "server/discover";
}

}  // namespace

json::object Gateway::CarriedCapabilities(const json::object* declared) {
  json::object out;
  if (declared == nullptr) return out;
  const gateway_internal::ElicitModes modes = gateway_internal::ElicitModesOf(declared);
  if (modes.form || modes.url) {
    json::object e;
    if (modes.form) e["form"] = json::object{};
    if (modes.url) e["url"] = json::object{};
    out["elicitation"] = std::move(e);
  }
  if (const json::value* s = declared->if_contains("sampling"); s != nullptr && s->is_object()) {
    json::object sampling;
    for (const char* k : {"context", "tools"}) {
      if (const json::value* v = s->get_object().if_contains(k); v != nullptr && v->is_object()) {
        sampling[k] = json::object{};
      }
    }
    out["sampling"] = std::move(sampling);
  }
  // roots without listChanged: 2026-07-28 has no notification to carry it.
  if (const json::value* r = declared->if_contains("roots"); r != nullptr && r->is_object()) {
    out["roots"] = json::object{};
  }
  return out;
}

std::optional<std::string> Gateway::ParamHeaderMismatch(
    const json::object& request,
    const std::map<std::string, std::string, std::less<>>& param_headers) {
  const json::value* method = request.if_contains("method");
  if (method == nullptr || !method->is_string() || method->get_string() != "tools/call") {
    return std::nullopt;
  }
  const json::value* params = request.if_contains("params");
  const json::value* name =
      params != nullptr && params->is_object() ? params->get_object().if_contains("name") : nullptr;
  if (name == nullptr || !name->is_string()) return std::nullopt;  // refused as malformed later
  const json::value* args = params->get_object().if_contains("arguments");
  (void)EnsureUpstreamInitialized(&request);
  // Without a catalog the call is refused after its decision anyway (ContinueAllowed).
  if (!EnsureCatalog()) return std::nullopt;
  json::value schema;
  {
    std::lock_guard lock(mu_);
    const ToolCatalog::Entry* e = catalog_.Find(std::string_view(name->get_string()));
    if (e == nullptr || !e->definition.is_object()) return std::nullopt;
    if (const json::value* s = e->definition.get_object().if_contains("inputSchema")) {
      schema = *s;
    }
  }
  auto marked = ParamHeadersOf(schema);
  if (!marked.ok()) {
    // The tool is not offered (FilterToolList) and its calls are refused after their
    // decision; no header can agree with declarations that are themselves invalid.
    return "Header mismatch: the tool's x-mcp-header declarations are invalid (" +
           marked.error().message + ")";
  }
  for (const ParamHeader& declared : *marked) {
    std::string header = declared.name;
    for (char& c : header) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const json::value* v = ParamArgument(declared, args);
    auto h = param_headers.find(header);
    if (v == nullptr) {
      if (h != param_headers.end()) {
        return "Header mismatch: Mcp-Param-" + header + " was sent but the argument is absent";
      }
      continue;
    }
    if (h == param_headers.end()) {
      return "Header mismatch: the Mcp-Param-" + header + " header is missing";
    }
    auto decoded = DecodeHeaderValue(h->second);
    std::optional<std::string> expected = ParamHeaderForm(*v);
    if (!decoded.ok() || !expected || *decoded != *expected) {
      return "Header mismatch: Mcp-Param-" + header + " does not match the argument";
    }
  }
  return std::nullopt;
}

json::object Gateway::DiscoverResult() {
  // The gateway's own answer, the same for every agent and without asking the upstream
  // (a probe starts nothing): what the gateway serves, not what the server behind it has.
  // listChanged: subscriptions/listen is served (gateway_listen.cc); a server that never
  // announces a change leaves a subscription quiet. Resource subscriptions are passed to a
  // modern server only, so `subscribe` is not claimed for every server.
  const json::object listed{{"listChanged", true}};
  return json::object{
      {"resultType", "complete"},
      {"supportedVersions", SupportedVersionsJson()},
      // Tasks (io.modelcontextprotocol/tasks) are followed (gateway_tasks.cc): a server that
      // makes one for a client that declared the extension is polled through the gateway.
      {"capabilities",
       json::object{{"tools", listed},
                    {"resources", listed},
                    {"prompts", listed},
                    {"extensions", json::object{{kTasksExtension, json::object{}}}}}},
      {"_meta",
       json::object{{kMetaServerInfo, json::object{{"name", "interlock"}, {"version", "1.0.0"}}}}},
      {"ttlMs", 0},
      {"cacheScope", "public"}};
}

bool Gateway::HandleRevision(const Message& msg) {
  const json::object& o = msg.doc.get_object();
  const std::optional<std::string> named = MetaProtocolVersion(o);
  if (named && !ServedVersion(*named)) {
    // Not decided and not recorded: the request is refused before it means anything, like
    // a parse error; the client retries with a version from the list.
    SendToClient(UnsupportedVersionError(msg.id, *named));
    return true;
  }
  const bool modern = named && ModernVersion(*named);
  if (modern) {
    client_revision_.store(McpRevision::k2026_07_28);  // the one modern revision served
    // Capabilities come with every modern request (no initialize): the hold path reads
    // the ones of the request at hand, so an approval is asked, not withdrawn unasked.
    options_.enforcer->SetClientElicitation(
        gateway_internal::ElicitModesOf(MetaClientCapabilities(o)).form);
  }
  if (msg.method == "server/discover") {
    SendToClient(ResultResponse(msg.id, DiscoverResult()));
    return true;
  }
  if (modern && msg.method == "initialize") {
    // No handshake in 2026-07-28: an initialize naming it is no 2025 client's, and must not
    // make this gateway treat the client as one (NoteInitialize).
    SendToClient(ErrorResponse(msg.id, kMethodNotFound,
                               "Method not found: initialize is not a method of MCP 2026-07-28 "
                               "(there is no handshake)"));
    return true;
  }
  return false;
}

bool Gateway::EnsureUpstreamInitialized(const json::object* request) {
  std::unique_lock lock(mu_);
  if (upstream_init_ == UpstreamInit::kNone && !upstream_closed_) {
    // What the 2026-07-28 client declared and the gateway can carry to it as an input_required
    // round (gateway_relay.cc): the server asks only what the client can answer.
    json::object caps =
        CarriedCapabilities(request != nullptr ? MetaClientCapabilities(*request) : nullptr);
    upstream_init_ = UpstreamInit::kPending;
    const json::value id = IssueServerIdLocked();
    pending_.emplace(IdKey(id), Pending::Internal("initialize"));
    lock.unlock();
    to_server_(json::object{
        {"jsonrpc", "2.0"},
        {"id", id},
        {"method", "initialize"},
        {"params",
         json::object{{"protocolVersion", RevisionName(McpRevision::k2025_11_25)},
                      {"capabilities", std::move(caps)},
                      {"clientInfo", json::object{{"name", "interlock"}, {"version", "1.0.0"}}}}}});
    lock.lock();
  }
  catalog_cv_.wait_for(lock, options_.catalog_timeout, [this] {
    return upstream_init_ != UpstreamInit::kPending || upstream_closed_;
  });
  const bool ok = upstream_init_ == UpstreamInit::kDone || upstream_init_ == UpstreamInit::kClient;
  if (!ok && upstream_init_ == UpstreamInit::kPending) {
    // Timed out: a later request asks again (a late answer is dropped as unmatched).
    upstream_init_ = UpstreamInit::kNone;
  }
  return ok;
}

bool Gateway::AnswerInitializeFromUpstream(const json::value& id) {
  UpstreamInit state;
  {
    std::lock_guard lock(mu_);
    if (upstream_init_ == UpstreamInit::kNone) {
      upstream_init_ = UpstreamInit::kClient;
      return false;
    }
    state = upstream_init_;
  }
  if (state == UpstreamInit::kPending) (void)EnsureUpstreamInitialized();
  json::object result;
  {
    std::lock_guard lock(mu_);
    result = upstream_init_result_;
  }
  if (result.empty()) {
    // The first initialize is still on its way (or failed): the server is not asked twice.
    AnswerClient(ErrorResponse(id, kInternalError,
                               "Interlock: the MCP server is being initialized for this "
                               "session; try again"));
    return true;
  }
  // Task-augmented tools/call is refused (gateway.h): not offered, as on the first answer.
  if (json::value* caps = result.if_contains("capabilities");
      caps != nullptr && caps->is_object()) {
    json::value* tasks = caps->get_object().if_contains("tasks");
    json::value* requests = tasks != nullptr && tasks->is_object()
                                ? tasks->get_object().if_contains("requests")
                                : nullptr;
    if (requests != nullptr && requests->is_object()) requests->get_object().erase("tools");
  }
  Log("answered a client's initialize from the MCP server's first answer (the server is "
      "initialized once)");
  AnswerClient(ResultResponse(id, std::move(result)));
  return true;
}

void Gateway::UpstreamInitialized(const json::object& response) {
  const json::value* result = response.if_contains("result");
  const json::value* v = result != nullptr && result->is_object()
                             ? result->get_object().if_contains("protocolVersion")
                             : nullptr;
  const bool ok = v != nullptr && v->is_string();
  // notifications/initialized goes before anything the waiting requests forward: a server
  // takes no request before it (the handshake's order).
  if (ok) {
    upstream_notified_ = true;
    to_server_(json::object{{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
  }
  {
    std::lock_guard lock(mu_);
    if (ok) {
      negotiated_version_ = std::string(v->get_string());
      upstream_init_result_ = result->get_object();
    }
    upstream_init_ = ok ? UpstreamInit::kDone : UpstreamInit::kNone;
    catalog_cv_.notify_all();
  }
  if (!ok) Log("the MCP server did not accept the gateway's initialize");
}

void Gateway::StripModernMeta(json::value& doc) {
  json::object* meta = doc.is_object() ? MetaOf(doc.get_object()) : nullptr;
  if (meta == nullptr) return;
  json::object& m = *meta;
  for (std::string_view k : {kMetaProtocolVersion, kMetaClientCapabilities, kMetaClientInfo,
                             std::string_view("io.modelcontextprotocol/logLevel")}) {
    m.erase(k);
  }
  if (m.empty()) doc.get_object().at("params").get_object().erase("_meta");
}

void Gateway::ToModernResult(std::string_view method, json::object& result) {
  if (method == "tools/list") {
    // Filtered per agent: never for a shared cache; sorted so the same view reads the same.
    if (json::value* tools = result.if_contains("tools"); tools != nullptr && tools->is_array()) {
      json::array& a = tools->get_array();
      std::stable_sort(a.begin(), a.end(), [](const json::value& x, const json::value& y) {
        return x.at("name").get_string() < y.at("name").get_string();
      });
    }
  }
  if (Cacheable(method)) {
    // What this gateway answers depends on the agent (its view, its session's upstream)
    // and may change with the policy at any time.
    result["cacheScope"] = "private";
    result["ttlMs"] = 0;
  }
}

void Gateway::SendToClient(const json::value& v) {
  if (!ClientSpeaksModern()) return to_client_(v);
  const json::object* o = v.if_object();
  const json::value* result = o != nullptr ? o->if_contains("result") : nullptr;
  if (result == nullptr || !result->is_object() || result->get_object().contains("resultType")) {
    return to_client_(v);
  }
  // Every result of 2026-07-28 says what it is; a 2.x client refuses one that does not
  // (denials included: they must be read, not thrown).
  json::value copy = v;
  copy.get_object()["result"].get_object()["resultType"] = "complete";
  to_client_(copy);
}

}  // namespace interlock::mcp
