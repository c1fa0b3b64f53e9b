#include "mcp/gateway.h"

#include <iostream>

#include <boost/json.hpp>

#include "audit/redact.h"
#include "common/crypto.h"
#include "common/json.h"
#include "mcp/framing.h"

namespace interlock::mcp {

namespace json = boost::json;

namespace {

constexpr size_t kMaxRecordedOutputBytes = 64 * 1024;
constexpr char kGatewayRule[] = "mcp.gateway";

void Log(std::string_view what) { std::cerr << "interlock mcp: " << what << '\n'; }

void MaskStrings(json::value& v, const std::vector<std::string>& secrets) {
  if (v.is_string()) {
    std::string s(v.get_string());
    std::string masked = audit::Redactor::MaskSecrets(s, secrets);
    if (masked != s) v = masked;
  } else if (v.is_array()) {
    for (json::value& e : v.get_array()) MaskStrings(e, secrets);
  } else if (v.is_object()) {
    for (auto& kv : v.get_object()) MaskStrings(kv.value(), secrets);
  }
}

std::string CapOutput(const json::value& v) {
  std::string text = CanonicalJson(v);
  if (text.size() <= kMaxRecordedOutputBytes) return text;
  return CanonicalJson(json::object{{"truncated", true},
                                    {"bytes", text.size()},
                                    {"sha256", Sha256Hex(text)},
                                    {"prefix", text.substr(0, 1024)}});
}

}  // namespace

Gateway::Gateway(GatewayOptions options, SendFn to_client, SendFn to_server)
    : options_(std::move(options)),
      to_client_(std::move(to_client)),
      to_server_(std::move(to_server)),
      internal_prefix_("interlock-" +
                       HexEncode(reinterpret_cast<const uint8_t*>(RandomBytes(8).data()), 8) +
                       "-") {}

Gateway::~Gateway() { CancelAllHeld("the MCP gateway stopped"); }

void Gateway::CancelAllHeld(std::string_view why) {
  std::vector<std::shared_ptr<Held>> all;
  {
    std::lock_guard lock(mu_);
    for (auto& [key, h] : held_) all.push_back(h);
    all.insert(all.end(), finished_held_.begin(), finished_held_.end());
  }
  for (auto& h : all) h->Cancel(why);
  for (auto& h : all) {
    if (h->thread.joinable()) h->thread.join();
  }
}

void Gateway::OnClientClosed(std::string_view why) { CancelAllHeld(why); }

void Gateway::CancelHeld(const json::value& id, std::string_view why) {
  std::lock_guard lock(mu_);
  if (auto it = held_.find(IdKey(id)); it != held_.end()) it->second->Cancel(why);
}

std::string Gateway::negotiated_version() const {
  std::lock_guard lock(mu_);
  return negotiated_version_;
}

json::object Gateway::DenialResult(const Decision& d) {
  std::string text =
      "Interlock denied " + d.tool + " (" + std::string(CodeName(d.code)) + "): " + d.reason;
  return json::object{{"content", json::array{json::object{{"type", "text"}, {"text", text}}}},
                      {"isError", true},
                      {"structuredContent", DecisionToJson(d)}};
}

void Gateway::OnClientOversized() {
  SendToClient(ErrorResponse(nullptr, kInvalidRequest,
                             "message exceeds " + std::to_string(kMaxClientMessageBytes) +
                                 " bytes; dropped by Interlock"));
}

void Gateway::OnServerOversized() { Log("dropped an oversized message from the server"); }

void Gateway::OnClientLine(std::string_view line) {
  if (line.find_first_not_of(" \t\r") == std::string_view::npos) return;
  auto msg = ParseMessage(line, kMaxClientMessageBytes);
  if (!msg.ok()) {
    SendToClient(ErrorResponse(nullptr, kParseError, "Interlock: " + msg.error().message));
    return;
  }
  switch (msg->kind) {
    case MessageKind::kBatch:
      SendToClient(ErrorResponse(nullptr, kInvalidRequest,
                                 "JSON-RPC batches are not part of MCP 2025-06-18 and later"));
      return;
    case MessageKind::kNotification:
      if (msg->method == "notifications/cancelled") {
        const json::value* params = msg->doc.get_object().if_contains("params");
        const json::value* rid = params != nullptr && params->is_object()
                                     ? params->get_object().if_contains("requestId")
                                     : nullptr;
        if (rid != nullptr) {
          std::string why = "the MCP client cancelled the request";
          const json::value* r = params->get_object().if_contains("reason");
          if (r != nullptr && r->is_string() && !r->get_string().empty()) {
            why += ": " + std::string(r->get_string().subview(0, 200));
          }
          std::lock_guard lock(mu_);
          if (auto it = held_.find(IdKey(*rid)); it != held_.end()) {
            it->second->Cancel(why);
            return;  // the upstream never saw this request
          }
        }
      }
      to_server_(msg->doc);
      return;
    case MessageKind::kResponse:  // to a request of the server (sampling, roots, ...)
      to_server_(msg->doc);
      return;
    case MessageKind::kRequest:
      HandleClientRequest(std::move(msg->doc), msg->id, msg->method);
      return;
  }
}

void Gateway::HandleClientRequest(json::value doc, const json::value& id,
                                  const std::string& method) {
  const std::string key = IdKey(id);
  {
    std::lock_guard lock(mu_);
    if (upstream_closed_) {
      SendToClient(ErrorResponse(
          id, kInternalError, "Interlock: the MCP server is gone (" + upstream_closed_why_ + ")"));
      return;
    }
    if (pending_.count(key) != 0 || held_.count(key) != 0) {
      SendToClient(ErrorResponse(id, kInvalidRequest, "Interlock: request id already in use"));
      return;
    }
  }
  if (method == "tools/call") {
    HandleToolsCall(std::move(doc), id);
    return;
  }
  Pending p;
  p.method = method;
  if (method == "tools/list") {
    const json::value* params = doc.get_object().if_contains("params");
    p.list_first_page =
        params == nullptr || !params->is_object() || !params->get_object().contains("cursor");
  }
  {
    std::lock_guard lock(mu_);
    pending_.emplace(key, std::move(p));
  }
  to_server_(doc);
}

void Gateway::HandleToolsCall(json::value doc, const json::value& id) {
  const json::value* params = doc.get_object().if_contains("params");
  const json::value* name =
      params != nullptr && params->is_object() ? params->get_object().if_contains("name") : nullptr;
  if (name == nullptr || !name->is_string()) {
    SendToClient(ErrorResponse(id, kInvalidParams, "Interlock: tools/call needs params.name"));
    return;
  }
  const json::value* arguments = params->get_object().if_contains("arguments");
  if (arguments != nullptr && !arguments->is_object()) {
    SendToClient(ErrorResponse(id, kInvalidParams,
                               "Interlock: tools/call params.arguments must be an object"));
    return;
  }
  ToolCall call;
  call.tool = std::string(name->get_string());
  if (arguments != nullptr) call.args = arguments->get_object();
  const std::string tool = call.tool;
  const json::object args = call.args;
  std::optional<json::value> progress_token;
  if (const json::value* meta = params->get_object().if_contains("_meta");
      meta != nullptr && meta->is_object()) {
    if (const json::value* t = meta->get_object().if_contains("progressToken")) progress_token = *t;
  }

  Enforcer::Outcome outcome = options_.enforcer->Decide(std::move(call));
  outcome.decision.tool = tool;
  switch (outcome.decision.verdict) {
    case Verdict::kAllow:
      ContinueAllowed(std::move(doc), id, tool, args, outcome);
      return;
    case Verdict::kDeny:
      SendToClient(ResultResponse(id, DenialResult(outcome.decision)));
      return;
    case Verdict::kApprovalRequired: {
      auto held = std::make_shared<Held>();
      std::lock_guard lock(mu_);
      held_.emplace(IdKey(id), held);
      held->thread = std::thread(&Gateway::FinishHeld, this, std::move(doc), id, tool, args,
                                 std::move(outcome), std::move(progress_token), held);
      return;
    }
  }
}

void Gateway::FinishHeld(json::value doc, json::value id, std::string tool, json::object args,
                         Enforcer::Outcome pending, std::optional<json::value> progress_token,
                         std::shared_ptr<Held> held) {
  int ticks = 0;
  std::string waiting = "Interlock: waiting for human approval of " + tool;
  if (!pending.approval_id.empty()) {
    waiting += " (approval " + pending.approval_id;
    if (!pending.approval_url.empty()) waiting += ", review at " + pending.approval_url;
    waiting += ")";
  }
  auto progress = [&] {
    if (!progress_token || held->cancelled) return;
    ++ticks;
    SendToClient(json::object{{"jsonrpc", "2.0"},
                              {"method", "notifications/progress"},
                              {"params", json::object{{"progressToken", *progress_token},
                                                      {"progress", ticks},
                                                      {"message", waiting}}}});
  };
  Enforcer::Outcome final = options_.enforcer->AwaitApproval(
      pending, [&held] { return held->cancelled.load(); }, progress);
  final.decision.tool = tool;
  if (final.call_id.empty()) final.call_id = pending.call_id;
  const bool cancelled = held->cancelled.load();
  // Stopped waiting without a verdict: withdraw, so no reviewer decides a call nobody
  // waits for (an approval decided meanwhile answers kAlreadyExists and stays).
  if (cancelled || final.decision.verdict == Verdict::kApprovalRequired ||
      final.decision.code == Code::kStoreUnavailable) {
    const std::string why =
        cancelled ? held->Why()
                  : "the MCP gateway could not wait for the verdict: " + final.decision.reason;
    if (Status s = options_.enforcer->Withdraw(pending, why);
        !s.ok() && s.error().kind != ErrorKind::kAlreadyExists) {
      Log("could not withdraw approval " + pending.approval_id + ": " + s.error().message);
    }
  }
  {
    // Keep the Held alive (the destructor joins it) but free the id for reuse.
    std::lock_guard lock(mu_);
    held_.erase(IdKey(id));
    finished_held_.push_back(held);
  }
  if (cancelled) return;  // the client no longer wants an answer (MCP cancellation)
  if (final.decision.verdict == Verdict::kAllow) {
    ContinueAllowed(std::move(doc), id, tool, args, final);
  } else {
    if (final.decision.verdict == Verdict::kApprovalRequired) {
      final.decision = DenyDecision(Code::kApprovalTimeout, "approval still pending", kGatewayRule);
      final.decision.agent_id = options_.agent_id;
      final.decision.tool = tool;
    }
    SendToClient(ResultResponse(id, DenialResult(final.decision)));
  }
}

void Gateway::RefuseCall(const json::value& id, const std::string& tool, const std::string& call_id,
                         Code code, const std::string& reason) {
  if (!call_id.empty()) {
    ToolResult r;
    r.ok = false;
    r.output_json = "null";
    r.error = "not forwarded by the MCP gateway: " + reason;
    if (Status s = options_.enforcer->RecordResult(call_id, r); !s.ok()) {
      Log("could not record the refusal of " + call_id + ": " + s.error().message);
    }
  }
  Decision d = DenyDecision(code, reason, kGatewayRule);
  d.agent_id = options_.agent_id;
  d.tool = tool;
  SendToClient(ResultResponse(id, DenialResult(d)));
}

void Gateway::ContinueAllowed(json::value doc, const json::value& id, const std::string& tool,
                              const json::object& args, const Enforcer::Outcome& outcome) {
  if (!EnsureCatalog()) {
    RefuseCall(id, tool, outcome.call_id, Code::kInvalidRequest,
               "the MCP server's tool list could not be loaded, so the call cannot be checked "
               "against the tool's declared schema");
    return;
  }
  std::optional<JsonSchema> schema;
  {
    std::lock_guard lock(mu_);
    auto it = catalog_.find(tool);
    if (it == catalog_.end()) {
      RefuseCall(id, tool, outcome.call_id, Code::kToolNotAllowed,
                 "the MCP server does not declare a tool named \"" + tool + "\"");
      return;
    }
    if (!it->second.pin_ok) {
      RefuseCall(id, tool, outcome.call_id, Code::kToolNotAllowed,
                 "the definition of " + tool +
                     " changed since it was pinned (possible rug pull); an operator must review "
                     "it with `interlock mcp pins show " +
                     tool + "` and `interlock mcp pins accept " + tool + "`");
      return;
    }
    schema = it->second.schema;
  }
  if (schema) {
    if (Status s = schema->Validate(args); !s.ok()) {
      RefuseCall(id, tool, outcome.call_id, Code::kInvalidRequest,
                 "arguments do not match the tool's inputSchema: " + s.error().message);
      return;
    }
  }
  {
    std::lock_guard lock(mu_);
    if (upstream_closed_) {
      RefuseCall(id, tool, outcome.call_id, Code::kInvalidRequest,
                 "the MCP server is gone (" + upstream_closed_why_ + ")");
      return;
    }
    Pending p;
    p.method = "tools/call";
    p.tool = tool;
    p.call_id = outcome.call_id;
    pending_.emplace(IdKey(id), std::move(p));
  }
  to_server_(doc);
}

bool Gateway::EnsureCatalog() {
  std::unique_lock lock(mu_);
  if (catalog_complete_) return true;
  if (upstream_closed_) return false;
  if (!catalog_loading_) {
    catalog_loading_ = true;
    const std::string id = internal_prefix_ + std::to_string(next_internal_++);
    Pending p;
    p.method = "tools/list";
    p.internal = true;
    p.list_first_page = true;
    pending_.emplace(IdKey(json::value(id)), std::move(p));
    lock.unlock();
    to_server_(json::object{{"jsonrpc", "2.0"}, {"id", id}, {"method", "tools/list"}});
    lock.lock();
  }
  catalog_cv_.wait_for(lock, options_.catalog_timeout, [this] {
    return catalog_complete_ || upstream_closed_ || !catalog_loading_;
  });
  return catalog_complete_;
}

void Gateway::FilterToolList(json::object& result, bool first_page) {
  json::value* tools = result.if_contains("tools");
  if (tools == nullptr || !tools->is_array()) return;
  std::vector<std::string> names;
  for (const json::value& t : tools->get_array()) {
    const json::value* name = t.is_object() ? t.get_object().if_contains("name") : nullptr;
    if (name != nullptr && name->is_string()) names.emplace_back(name->get_string());
  }
  // Fail closed: without the agent's view no tool is shown.
  Result<ToolViewSource::View> view = options_.tools->ViewTools(names);
  if (!view.ok()) Log("no tool is shown: the agent's tool view failed: " + view.error().message);
  auto visible = [&view](const std::string& n) {
    if (!view.ok()) return false;
    auto it = view->find(n);
    return it != view->end() && it->second.visible;
  };
  std::vector<std::pair<std::string, CatalogEntry>> seen;
  json::array kept;
  for (json::value& t : tools->get_array()) {
    const json::value* name = t.is_object() ? t.get_object().if_contains("name") : nullptr;
    if (name == nullptr || !name->is_string()) continue;  // malformed: never shown
    const std::string tool_name(name->get_string());
    CatalogEntry e;
    e.definition = t;
    if (const json::value* s = t.get_object().if_contains("inputSchema")) {
      if (auto compiled = JsonSchema::Compile(*s); compiled.ok()) {
        e.schema = std::move(compiled).value();
      } else {
        // An input schema the gateway cannot read: accept no arguments rather than any.
        e.schema = JsonSchema::Compile(json::value(false)).value();
      }
    }
    auto pin = options_.pins->Check(options_.agent_id, tool_name, t);
    if (!pin.ok()) {
      Log(pin.error().message);
    } else if (*pin == PinState::kChanged) {
      Log("tool " + tool_name +
          " changed since it was pinned; hidden and blocked until `interlock mcp pins accept`");
    }
    e.pin_ok = pin.ok() && *pin != PinState::kChanged;
    if (e.pin_ok && visible(tool_name)) kept.push_back(t);
    seen.emplace_back(tool_name, std::move(e));
  }
  *tools = std::move(kept);
  const json::value* cursor = result.if_contains("nextCursor");
  const bool last = cursor == nullptr || cursor->is_null();
  std::lock_guard lock(mu_);
  if (first_page) catalog_next_.clear();
  for (auto& [n, e] : seen) catalog_next_[n] = std::move(e);
  if (last) {
    catalog_ = std::move(catalog_next_);
    catalog_next_.clear();
    catalog_complete_ = true;
    catalog_cv_.notify_all();
  }
}

void Gateway::HandleToolResult(json::object& msg, const Pending& p) {
  ToolResult r;
  if (json::value* result = msg.if_contains("result"); result != nullptr && result->is_object()) {
    if (!options_.secrets.empty()) MaskStrings(*result, options_.secrets);
    const json::value* is_error = result->get_object().if_contains("isError");
    r.ok = !(is_error != nullptr && is_error->is_bool() && is_error->get_bool());
    r.output_json = CapOutput(*result);
    // scope: the client sees only the allowed top-level fields of structuredContent.
    if (json::value* sc = result->get_object().if_contains("structuredContent");
        sc != nullptr && sc->is_object()) {
      ReduceToScope(p.tool, sc->get_object());
    }
  } else {
    r.ok = false;
    r.output_json = "null";
    json::value* error = msg.if_contains("error");
    if (error != nullptr && !options_.secrets.empty()) MaskStrings(*error, options_.secrets);
    const json::value* m = error != nullptr && error->is_object()
                               ? error->get_object().if_contains("message")
                               : nullptr;
    r.error = m != nullptr && m->is_string() ? std::string(m->get_string()) : "JSON-RPC error";
  }
  if (!p.call_id.empty()) {
    if (Status s = options_.enforcer->RecordResult(p.call_id, r); !s.ok()) {
      Log("could not record the result of " + p.call_id + ": " + s.error().message);
    }
  }
}

void Gateway::ReduceToScope(const std::string& tool, json::object& structured) {
  Result<ToolViewSource::View> view = options_.tools->ViewTools({tool});
  if (!view.ok()) {
    // Fail closed: without the scope the agent sees none of the structured content.
    Log("structuredContent of " + tool +
        " withheld: the agent's tool view failed: " + view.error().message);
    structured.clear();
    return;
  }
  auto it = view->find(tool);
  if (it == view->end() || !it->second.scope) return;
  const std::vector<std::string>& scope = *it->second.scope;
  json::object reduced;
  for (const auto& kv : structured) {
    if (std::find(scope.begin(), scope.end(), kv.key()) != scope.end()) {
      reduced.emplace(kv.key(), kv.value());
    }
  }
  structured = std::move(reduced);
}

void Gateway::OnServerLine(std::string_view line) {
  if (line.find_first_not_of(" \t\r") == std::string_view::npos) return;
  auto msg = ParseMessage(line, kMaxServerMessageBytes);
  if (!msg.ok()) {
    Log("dropped a malformed message from the server: " + msg.error().message);
    return;
  }
  if (msg->kind == MessageKind::kBatch) {
    Log("dropped a JSON-RPC batch from the server (not part of MCP 2025-06-18 and later)");
    return;
  }
  if (msg->kind == MessageKind::kNotification) {
    if (msg->method == "notifications/tools/list_changed") {
      std::lock_guard lock(mu_);
      catalog_complete_ = false;
    }
    SendToClient(msg->doc);
    return;
  }
  if (msg->kind == MessageKind::kRequest) {  // sampling, elicitation, roots, ping
    SendToClient(msg->doc);
    return;
  }
  std::optional<Pending> p;
  {
    std::lock_guard lock(mu_);
    if (auto it = pending_.find(IdKey(msg->id)); it != pending_.end()) {
      p = std::move(it->second);
      pending_.erase(it);
    }
  }
  json::object& o = msg->doc.get_object();
  if (!p) {
    SendToClient(msg->doc);
    return;
  }
  if (p->method == "tools/list") {
    json::value* result = o.if_contains("result");
    if (result != nullptr && result->is_object()) {
      FilterToolList(result->get_object(), p->list_first_page);
      if (p->internal) {
        const json::value* cursor = result->get_object().if_contains("nextCursor");
        if (cursor != nullptr && !cursor->is_null()) {
          const std::string id = internal_prefix_ + std::to_string(next_internal_++);
          Pending next;
          next.method = "tools/list";
          next.internal = true;
          {
            std::lock_guard lock(mu_);
            pending_.emplace(IdKey(json::value(id)), std::move(next));
          }
          to_server_(json::object{{"jsonrpc", "2.0"},
                                  {"id", id},
                                  {"method", "tools/list"},
                                  {"params", json::object{{"cursor", *cursor}}}});
          return;
        }
      }
    }
    if (p->internal) {
      std::lock_guard lock(mu_);
      catalog_loading_ = false;
      catalog_cv_.notify_all();
      return;
    }
  } else if (p->method == "tools/call") {
    HandleToolResult(o, *p);
  } else if (p->method == "initialize") {
    const json::value* result = o.if_contains("result");
    const json::value* v = result != nullptr && result->is_object()
                               ? result->get_object().if_contains("protocolVersion")
                               : nullptr;
    if (v != nullptr && v->is_string()) {
      std::lock_guard lock(mu_);
      negotiated_version_ = std::string(v->get_string());
    }
  }
  SendToClient(msg->doc);
}

void Gateway::OnUpstreamClosed(std::string_view why) {
  std::map<std::string, Pending, std::less<>> pending;
  {
    std::lock_guard lock(mu_);
    upstream_closed_ = true;
    upstream_closed_why_ = std::string(why);
    pending.swap(pending_);
    catalog_loading_ = false;
    catalog_cv_.notify_all();
  }
  for (auto& [key, p] : pending) {
    if (p.internal) continue;
    auto id = ParseJsonStrict(key);
    if (!id.ok()) continue;
    if (p.method == "tools/call") {
      const std::string reason = "the MCP server exited before answering (" + std::string(why) +
                                 "); the call may or may not have run and Interlock does not "
                                 "retry it";
      ToolResult r;
      r.ok = false;
      r.output_json = "null";
      r.error = reason;
      if (!p.call_id.empty()) (void)options_.enforcer->RecordResult(p.call_id, r);
      SendToClient(ResultResponse(
          *id, json::object{{"content", json::array{json::object{
                                            {"type", "text"}, {"text", "Interlock: " + reason}}}},
                            {"isError", true}}));
    } else {
      SendToClient(ErrorResponse(*id, kInternalError,
                                 "Interlock: the MCP server exited (" + std::string(why) + ")"));
    }
  }
}

}  // namespace interlock::mcp
