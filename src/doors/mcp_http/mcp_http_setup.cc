// McpHttpService (mcp_http.h): what is settled before any session: the upstreams resolved
// from the configuration (secrets read, credentials checked), each sandboxed upstream's
// request, the protocol versions the transport accepts, and the Host and Origin checks
// every request passes first (DNS rebinding), and the stateless helpers of
// mcp_http_internal.h. No session state here.
#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include <boost/beast/http.hpp>

#include "common/file.h"
#include "common/json.h"
#include "common/text.h"
#include "doors/mcp_http/mcp_http.h"
#include "doors/mcp_http/mcp_http_internal.h"
#include "mcp/framing.h"
#include "mcp/gateway.h"
#include "mcp/request_headers.h"
#include "mcp/revision.h"
#include "mcp/sandbox.h"
#include "mcp/server_env.h"

namespace interlock::server {

namespace http = boost::beast::http;
namespace json = boost::json;

namespace mcp_http_internal {

std::string Header(const HttpRequest& req, std::string_view name) {
  auto it = req.find(name);
  return it == req.end() ? std::string() : std::string(it->value());
}

// The status with a whole JSON-RPC message as the body.
HttpResponse RpcJson(unsigned status, const json::object& message) {
  HttpResponse res{static_cast<http::status>(status), 11};
  res.set(http::field::content_type, "application/json");
  res.body() = ToJsonText(message);
  return res;
}

std::optional<std::string> OptionalHeader(const HttpRequest& req, std::string_view name) {
  auto it = req.find(name);
  if (it == req.end()) return std::nullopt;
  return std::string(it->value());
}

// A request under the modern revision: MCP-Protocol-Version or params._meta names it.
bool ModernRequest(std::string_view header_version, const mcp::Message& msg) {
  if (mcp::ModernVersion(header_version)) return true;
  if (msg.kind != mcp::MessageKind::kRequest && msg.kind != mcp::MessageKind::kNotification) {
    return false;
  }
  auto named = mcp::MetaProtocolVersion(msg.doc.get_object());
  return named && mcp::ModernVersion(*named);
}

HttpResponse SseHead(const std::string& session_header) {
  HttpResponse res{http::status::ok, 11};
  res.set(http::field::content_type, "text/event-stream");
  res.set(http::field::cache_control, "no-cache, no-transform");
  res.set("X-Accel-Buffering", "no");
  if (!session_header.empty()) res.set("Mcp-Session-Id", session_header);
  return res;
}

// The subscription a notification belongs to (params._meta's subscriptionId), or null.
const json::value* SubscriptionOf(const json::object& notification) {
  const json::object* meta = mcp::MetaOf(notification);
  return meta != nullptr ? meta->if_contains(mcp::kMetaSubscriptionId) : nullptr;
}

// The request's Mcp-Param-{Name} headers: lower-cased {Name} -> the value as received.
std::map<std::string, std::string, std::less<>> ParamHeadersOf(const HttpRequest& req) {
  std::map<std::string, std::string, std::less<>> out;
  for (const auto& field : req) {
    std::string name = AsciiLower(field.name_string());
    if (name.rfind("mcp-param-", 0) == 0) out[name.substr(10)] = field.value();
  }
  return out;
}

std::optional<std::string> RepeatedMcpHeader(const HttpRequest& req) {
  std::set<std::string, std::less<>> seen;
  for (const auto& field : req) {
    std::string name = AsciiLower(field.name_string());
    const bool metadata = name == "mcp-protocol-version" || name == "mcp-method" ||
                          name == "mcp-name" || name == "mcp-session-id" ||
                          name.rfind("mcp-param-", 0) == 0;
    if (metadata && !seen.insert(name).second) return name;
  }
  return std::nullopt;
}

bool ValidSessionId(std::string_view id) {
  constexpr size_t kMaxSessionIdBytes = 128;
  return !id.empty() && id.size() <= kMaxSessionIdBytes &&
         std::all_of(id.begin(), id.end(), [](char c) { return c >= 0x21 && c <= 0x7e; });
}

Accepts ParseAccept(std::string_view header) {
  Accepts a;
  if (header.empty()) {
    a.json = a.sse = true;  // no Accept: anything goes (RFC 9110)
    return a;
  }
  size_t start = 0;
  while (start <= header.size()) {
    size_t comma = header.find(',', start);
    if (comma == std::string_view::npos) comma = header.size();
    std::string item = AsciiLower(header.substr(start, comma - start));
    if (size_t semi = item.find(';'); semi != std::string::npos) item.resize(semi);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (item == "application/json" || item == "application/*" || item == "*/*") a.json = true;
    if (item == "text/event-stream" || item == "text/*" || item == "*/*") a.sse = true;
    start = comma + 1;
  }
  return a;
}

// A transport-level refusal: the status with a JSON-RPC error that has no id.
HttpResponse RpcError(unsigned status, int code, std::string_view message) {
  HttpResponse res{static_cast<http::status>(status), 11};
  res.set(http::field::content_type, "application/json");
  res.body() = ToJsonText(mcp::ErrorResponse(nullptr, code, message));
  return res;
}

unsigned ModernStatus(const json::object& response) {
  const json::value* e = response.if_contains("error");
  const json::value* code =
      e != nullptr && e->is_object() ? e->get_object().if_contains("code") : nullptr;
  if (code == nullptr || !code->is_int64()) return 200;
  const int64_t c = code->get_int64();
  if (c == mcp::kMethodNotFound) return 404;
  if (c == mcp::kHeaderMismatch || c == mcp::kUnsupportedProtocolVersion ||
      c == mcp::kMissingRequiredClientCapability) {
    return 400;
  }
  return 200;
}

std::string ProgressKey(const json::value& request) {
  const json::object* meta = mcp::MetaOf(request.get_object());
  const json::value* token = meta != nullptr ? meta->if_contains("progressToken") : nullptr;
  return token != nullptr ? mcp::IdKey(*token) : "";
}

json::value WithClientId(const json::value& msg, const std::string& door_key,
                         const json::value& client_id) {
  json::value out = msg;
  json::object& o = out.get_object();
  auto parsed = ParseJsonStrict(door_key);
  const json::value door_id = parsed.ok() ? *parsed : json::value();
  if (json::value* id = o.if_contains("id"); id != nullptr && *id == door_id) *id = client_id;
  for (const char* field : {"params", "result"}) {
    json::value* part = o.if_contains(field);
    json::value* meta =
        part != nullptr && part->is_object() ? part->get_object().if_contains("_meta") : nullptr;
    json::value* sub = meta != nullptr && meta->is_object()
                           ? meta->get_object().if_contains(mcp::kMetaSubscriptionId)
                           : nullptr;
    if (sub != nullptr && *sub == door_id) *sub = client_id;
  }
  return out;
}

std::optional<HttpResponse> MissingModernMeta(const mcp::Message& msg) {
  if (msg.kind != mcp::MessageKind::kRequest) return std::nullopt;
  const json::object& body = msg.doc.get_object();
  std::string missing;
  if (!mcp::MetaProtocolVersion(body)) missing = std::string(mcp::kMetaProtocolVersion);
  if (mcp::MetaClientCapabilities(body) == nullptr) {
    missing += (missing.empty() ? "" : ", ") + std::string(mcp::kMetaClientCapabilities);
  }
  if (missing.empty()) return std::nullopt;
  return RpcJson(400, mcp::ErrorResponse(msg.id, mcp::kInvalidParams,
                                         "Invalid params: missing _meta keys: " + missing));
}

std::optional<HttpResponse> RefusedPostHeaders(const HttpRequest& req, const mcp::Message& msg,
                                               bool modern) {
  const json::value id = msg.kind == mcp::MessageKind::kRequest ? msg.id : json::value();
  if (std::optional<std::string> repeated = RepeatedMcpHeader(req)) {
    return RpcJson(400, mcp::ErrorResponse(id, mcp::kInvalidRequest,
                                           "Invalid Request: the header " + *repeated +
                                               " is repeated; send it once"));
  }
  const mcp::RequestHeaders headers{OptionalHeader(req, "mcp-protocol-version"),
                                    OptionalHeader(req, "mcp-method"),
                                    OptionalHeader(req, "mcp-name")};
  if (modern && headers.protocol_version) {
    // Without its version and the client's capabilities in _meta a 2026-07-28 request is
    // malformed, before any header is compared.
    if (auto bad = MissingModernMeta(msg)) return std::move(*bad);
  }
  if (Status hs = mcp::CheckRequestHeaders(headers, msg, modern); !hs.ok()) {
    return RpcJson(400, mcp::ErrorResponse(id, mcp::kHeaderMismatch, hs.error().message));
  }
  if (msg.kind == mcp::MessageKind::kRequest) {
    if (auto named = mcp::MetaProtocolVersion(msg.doc.get_object());
        named && !SupportedMcpProtocolVersion(*named)) {
      return RpcJson(400, mcp::UnsupportedVersionError(msg.id, *named));
    }
  }
  return std::nullopt;
}

}  // namespace mcp_http_internal

using mcp_http_internal::Header;
using mcp_http_internal::RpcError;

bool SupportedMcpProtocolVersion(std::string_view v) {
  // The revisions served (mcp/revision.h), and two older ones whose clients are served as
  // 2025-06-18's (the transport rules are the same for them).
  return mcp::ServedVersion(v) || v == "2025-03-26" || v == "2024-11-05";
}

Result<ResolvedUpstream> ResolveUpstream(const McpHttpUpstream& config) {
  ResolvedUpstream r;
  r.config = config;
  const std::string where = "mcp.upstreams." + config.name;
  mcp::ServerEnvSpec env;
  env.pass = config.pass_env;
  env.pass.insert(env.pass.end(), config.sandbox_env.begin(), config.sandbox_env.end());
  env.literals = config.env;
  env.forbidden = {std::string(mcp::kInterlockTokenVariable)};
  for (const std::string& name : config.secret_env) {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr || *v == '\0') {
      return Error::Invalid(where + ".secret_env: variable " + name + " is not set");
    }
    env.secrets[name] = v;
    r.secrets.emplace_back(v);
  }
  for (const auto& [name, path] : config.secret_files) {
    auto v = ReadSecretFile(path, where + ".secret_files." + name);
    if (!v.ok()) return v.error();
    env.secrets[name] = *v;
    r.secrets.push_back(*v);
  }
  if (!config.command.empty()) {
    auto built = mcp::BuildServerEnv(env, mcp::ProcessEnvLookup());
    if (!built.ok()) return Error::Invalid(where + ": " + built.error().message);
    r.child_env = std::move(*built);
  }
  for (const auto& [h, v] : config.headers) r.headers[h] = v;
  for (const auto& [h, name] : config.secret_headers) {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr || *v == '\0') {
      return Error::Invalid(where + ".secret_headers." + h + ": variable " + name + " is not set");
    }
    r.headers[h] = v;
    r.secrets.emplace_back(v);
  }
  return r;
}

mcp::SandboxRequest McpHttpService::SandboxRequestFor(const McpHttpConfig& config,
                                                      const McpHttpUpstream& u) {
  mcp::SandboxRequest r;
  r.what = "upstream " + u.name;
  r.write_flag = "mcp.upstreams." + u.name + ".sandbox.write";
  r.read_flag = "mcp.upstreams." + u.name + ".sandbox.read";
  r.write = u.sandbox_write;
  r.read = u.sandbox_read;
  r.store_path = config.sandbox_store;
  // Every upstream's secret files, not only its own: where a bind shows one, it is masked.
  for (const auto& [other_name, other] : config.upstreams) {
    for (const auto& [var, file] : other.secret_files) r.hide.push_back(file);
  }
  for (const auto& [what, path] : config.sandbox_trusted) r.trusted.push_back({what, path});
  return r;
}

namespace {

// "host" of "host:port" / "[v6]:port" / "host" (lower-cased).
std::string HostOnly(std::string_view authority) {
  std::string a = AsciiLower(authority);
  if (!a.empty() && a.front() == '[') {
    const size_t close = a.find(']');
    return close == std::string::npos ? a : a.substr(0, close + 1);
  }
  const size_t colon = a.rfind(':');
  return colon == std::string::npos ? a : a.substr(0, colon);
}

bool LoopbackHost(std::string_view host) {
  return host == "localhost" || host == "127.0.0.1" || host == "[::1]";
}

}  // namespace

bool McpHttpService::HostAllowed(std::string_view authority) const {
  if (authority.empty()) return false;
  const std::string host = HostOnly(authority);
  if (LoopbackHost(host)) return true;
  for (const std::string& allowed : config_.allowed_hosts) {
    if (allowed == "*" || AsciiLower(allowed) == AsciiLower(authority) ||
        AsciiLower(allowed) == host) {
      return true;
    }
  }
  return false;
}

std::optional<HttpResponse> McpHttpService::CheckOrigin(const HttpRequest& req) const {
  // DNS rebinding: a page on evil.example whose name now resolves to 127.0.0.1 reaches
  // the daemon with Host: evil.example (and Origin: http://evil.example). Both are
  // checked before authentication.
  const std::string host(req[http::field::host]);
  if (!HostAllowed(host)) {
    return RpcError(403, -32000,
                    "Host " + host + " is not allowed (loopback names or mcp.allowed_hosts)");
  }
  auto it = req.find(http::field::origin);
  if (it == req.end()) return std::nullopt;  // not a browser: nothing to rebind
  std::string origin(it->value());
  while (origin.size() > 1 && origin.back() == '/') origin.pop_back();
  for (const std::string& allowed : config_.allowed_origins) {
    if (allowed == "*" || AsciiLower(allowed) == AsciiLower(origin)) return std::nullopt;
  }
  // Same origin: a page served by this very host (already checked above) may call it.
  for (std::string_view scheme : {"http://", "https://"}) {
    if (AsciiLower(origin) == std::string(scheme) + AsciiLower(host)) return std::nullopt;
  }
  return RpcError(403, -32000, "Origin " + origin + " is not allowed (mcp.allowed_origins)");
}

// The service is made here (its configuration checked first); its sessions live in
// mcp_http.cc.
Result<std::unique_ptr<McpHttpService>> McpHttpService::Create(McpHttpConfig config,
                                                               McpHttpDeps deps) {
  std::map<std::string, ResolvedUpstream> ups;
  for (const auto& [name, u] : config.upstreams) {
    for (const std::string& m : u.forward_methods) {
      if (Status s = mcp::ValidForwardMethod(m); !s.ok()) {
        return Error::Invalid("mcp.upstreams." + name + ".forward_methods: " + s.error().message);
      }
    }
    if (u.has_credentials && (deps.credentials == nullptr || !deps.credentials->Terms(name))) {
      return Error::Invalid("mcp.upstreams." + name + ".credentials: no credentials configured");
    }
    if (!u.url.empty() && deps.connector == nullptr) {
      return Error::Invalid("mcp.upstreams." + name + ": no outbound client to reach its url");
    }
    auto r = ResolveUpstream(u);
    if (!r.ok()) return r.error();
    ups.emplace(name, std::move(*r));
    if (u.sandbox) {
      // Checked at start too: a daemon that would hand a server Interlock's own files
      // does not start (and each session checks again, the directories as they are then).
      if (Status s = mcp::CheckSandboxRequest(SandboxRequestFor(config, u)); !s.ok()) {
        return s.error();
      }
    }
  }
  return std::unique_ptr<McpHttpService>(
      new McpHttpService(std::move(config), deps, std::move(ups)));
}

McpHttpService::McpHttpService(McpHttpConfig config, McpHttpDeps deps,
                               std::map<std::string, ResolvedUpstream> ups)
    : config_(std::move(config)),
      deps_(deps),
      calls_(deps.store, deps.policies, deps.clock),
      upstreams_(std::move(ups)) {
  masked_ = config_.masked_values;
  for (const auto& [name, up] : upstreams_) {
    masked_.insert(masked_.end(), up.secrets.begin(), up.secrets.end());
  }
  service_thread_ = std::thread([this] { ServiceLoop(); });
}

}  // namespace interlock::server
