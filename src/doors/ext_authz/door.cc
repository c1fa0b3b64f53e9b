#include "doors/ext_authz/door.h"

#include <algorithm>
#include <optional>
#include <utility>

#include <boost/json.hpp>

#include "common/await.h"
#include "common/crypto.h"
#include "common/json.h"
#include "core/app/tool_views.h"

namespace interlock::doors::ext_authz {

namespace json = boost::json;

namespace {

// The rule a refused request is recorded under (the MCP gateway's is "mcp.gateway").
constexpr char kRefusalRule[] = "ext_authz.request";
// The tool name recorded for a refusal that names no valid tool (the MCP gateway's too).
constexpr char kUnnamedTool[] = "(invalid tool name)";
// Where the decision rides in a denial's result (the MCP gateway's kDecisionMetaKey).
constexpr char kDecisionMetaKey[] = "interlock.dev/decision";
constexpr char kApprovalMetaKey[] = "interlock.dev/approval";
constexpr size_t kMaxRunKeyBytes = 512;

json::object RpcError(const json::value& id, int code, std::string_view message) {
  return json::object{{"jsonrpc", "2.0"},
                      {"id", id},
                      {"error", json::object{{"code", code}, {"message", message}}}};
}

// The MCP door's denial (mcp::Gateway::DenialResult): a tool result with isError.
json::object ToolResultError(const json::value& id, const std::string& text, json::object meta) {
  return json::object{
      {"jsonrpc", "2.0"},
      {"id", id},
      {"result",
       json::object{{"content", json::array{json::object{{"type", "text"}, {"text", text}}}},
                    {"isError", true},
                    {"_meta", std::move(meta)}}}};
}

// The bearer token of an Authorization header ("Bearer x", scheme without case).
std::optional<std::string> BearerOf(const Headers& h) {
  auto v = HeaderOf(h, "authorization");
  if (!v || v->size() < 7) return std::nullopt;
  std::string scheme = v->substr(0, 7);
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme != "bearer ") return std::nullopt;
  std::string token = v->substr(7);
  while (!token.empty() && token.front() == ' ') token.erase(token.begin());
  if (token.empty()) return std::nullopt;
  return token;
}

std::string PathOnly(std::string_view path) { return std::string(path.substr(0, path.find('?'))); }

std::string HostOnly(std::string_view host) {
  if (host.starts_with("[")) return std::string(host.substr(0, host.find(']') + 1));
  return std::string(host.substr(0, host.find(':')));
}

CheckAnswer Plain(RpcCode code, unsigned status, std::string message, std::string body) {
  CheckAnswer a;
  a.code = code;
  a.http_status = status;
  a.message = std::move(message);
  a.body = std::move(body);
  a.headers.emplace_back("content-type", "application/json");
  return a;
}

// Sets up the decision of a refused request: decided (and audited) INVALID_REQUEST by the
// core, answered by Door::RefusedAnswer. Always false (the request is to be decided).
bool ExtAuthzRefuse(McpRefusal refusal, ToolCall* call, std::optional<McpRefusal>* slot) {
  call->tool = core::ValidToolName(refusal.tool) ? refusal.tool : std::string(kUnnamedTool);
  call->refusal_reason = refusal.message;
  call->refusal_rule = kRefusalRule;
  *slot = std::move(refusal);
  return false;
}

std::string ExtAuthzTooLarge(size_t max_body_bytes) {
  return "the request body is over " + std::to_string(max_body_bytes) +
         " bytes or was cut by the gateway; it is refused, never decided on a part";
}

}  // namespace

RpcCode CheckCodeOf(const Outcome& o) {
  switch (o.kind) {
    case OutcomeKind::kAllow:
      return RpcCode::kOk;
    case OutcomeKind::kDeny:
    case OutcomeKind::kApprovalRequired:
    case OutcomeKind::kRehearsalRequired:
      return RpcCode::kPermissionDenied;
    case OutcomeKind::kError:
      break;
  }
  switch (o.cause) {
    case ErrorKind::kInvalidArgument:  // decided INVALID_REQUEST: the request's fault
      return RpcCode::kPermissionDenied;
    case ErrorKind::kNotFound:
    case ErrorKind::kAlreadyExists:
    case ErrorKind::kPermissionDenied:
    case ErrorKind::kUnavailable:
    case ErrorKind::kTimeout:
    case ErrorKind::kCorrupt:
    case ErrorKind::kInternal:
      break;
  }
  return RpcCode::kUnavailable;
}

struct Door::Ask {
  core::Caller caller;
  std::string token;
  std::string run_id;
  bool mcp = false;
  json::value id;  // the JSON-RPC request's id (MCP)
};

struct Door::Pending {
  Ask ask;
  ToolCall call;
  std::optional<McpRefusal> refusal;  // set: a refused request, answered by RefusedAnswer
  CheckDone done;
};

Door::Door(ExtAuthzConfig config, DoorDeps deps)
    : config_(std::move(config)), deps_(std::move(deps)) {}

const RouteRule* Door::Match(const HttpAttributes& req) const {
  static const RouteRule kEverythingMcp{.mcp = true};
  if (config_.routes.empty()) return &kEverythingMcp;
  const std::string path = PathOnly(req.path);
  const std::string host = HostOnly(req.host);
  for (const RouteRule& r : config_.routes) {
    if (!r.host.empty() && r.host != host) continue;
    if (!r.method.empty() && r.method != req.method) continue;
    if (!path.starts_with(r.path_prefix)) continue;
    return &r;
  }
  return nullptr;
}

Door::ReadStep Door::Read(const HttpAttributes& req, Pending& p, CheckAnswer* now,
                          bool may_wait) const {
  const RouteRule* route = Match(req);
  if (route == nullptr) {
    const std::string why = "no ext_authz route covers " + req.method + " " + PathOnly(req.path);
    *now = Plain(RpcCode::kPermissionDenied, 403, why,
                 json::serialize(json::object{{"error", "PERMISSION_DENIED"}, {"message", why}}));
    return ReadStep::kAnswered;
  }
  Ask& ask = p.ask;
  ask.mcp = route->mcp;
  const std::optional<std::string> token = BearerOf(req.headers);
  const bool header = req.headers.count("authorization") != 0;
  std::optional<core::AuthnResult> checked = may_wait
                                                 ? std::optional(deps_.authn->Bearer(token, header))
                                                 : deps_.authn->BearerWithoutWaiting(token, header);
  if (!checked) return ReadStep::kMustWait;
  core::AuthnResult& who = *checked;
  if (!who.ok()) {
    const bool down = who.refusal.outcome == core::AuthnOutcome::kUnavailable;
    const bool forbidden = who.refusal.outcome == core::AuthnOutcome::kForbidden;
    const RpcCode code = down        ? RpcCode::kUnavailable
                         : forbidden ? RpcCode::kPermissionDenied
                                     : RpcCode::kUnauthenticated;
    const unsigned status = down ? 503 : forbidden ? 403 : 401;
    *now = Plain(code, status, who.refusal.message,
                 json::serialize(RpcError(nullptr, -32001, who.refusal.message)));
    if (status == 401) {
      now->headers.emplace_back("www-authenticate", who.refusal.invalid_jwt
                                                        ? "Bearer error=\"invalid_token\""
                                                        : "Bearer");
    }
    return ReadStep::kAnswered;
  }
  ask.caller = std::move(*who.caller);
  ask.token = token.value_or("");
  if (ask.caller.principal.role != core::Role::kAgent) {
    const std::string why = "only agent tokens may make tool calls";
    *now = Plain(RpcCode::kPermissionDenied, 403, why,
                 json::serialize(RpcError(nullptr, -32001, why)));
    return ReadStep::kAnswered;
  }
  if (route->mcp ? ReadMcp(req, p, now) : ReadRoute(*route, req, p, now)) {
    return ReadStep::kAnswered;
  }
  ask.run_id = RunIdOf(ask, req);
  return ReadStep::kRead;
}

void Door::CheckAsync(HttpAttributes req, CheckDone done, const Offload& offload) {
  auto p = std::make_shared<Pending>();
  p->done = std::move(done);
  CheckAnswer now;
  switch (Read(req, *p, &now, /*may_wait=*/!offload)) {
    case ReadStep::kAnswered:
      return p->done(std::move(now));
    case ReadStep::kRead:
      return JoinThenDecide(std::move(p), offload);
    case ReadStep::kMustWait:
      break;
  }
  // A bearer token no cache holds: the token table is read on `offload`'s thread, and the
  // request read again there from the start (a fresh Pending: nothing of the first read
  // is kept).
  offload([this, done = std::move(p->done), req = std::move(req)]() mutable {
    auto fresh = std::make_shared<Pending>();
    fresh->done = std::move(done);
    CheckAnswer later;
    if (Read(req, *fresh, &later, /*may_wait=*/true) != ReadStep::kRead) {
      return fresh->done(std::move(later));
    }
    JoinThenDecide(std::move(fresh), {});  // already on a thread that may block
  });
}

void Door::JoinThenDecide(std::shared_ptr<Pending> p, const Offload& offload) {
  if (Joined(p->ask.run_id)) return Decide(std::move(p));
  // The run's first Check: joining it is a store write (a commit), off the caller's thread.
  auto join = [this, p]() mutable {
    CheckAnswer failed;
    if (!JoinRun(p->ask, &failed)) return p->done(std::move(failed));
    Decide(std::move(p));
  };
  if (offload) return offload(std::move(join));
  join();
}

CheckAnswer Door::Check(HttpAttributes req) {
  return AwaitCallback<CheckAnswer>(
      [&](auto done) { CheckAsync(std::move(req), std::move(done)); });
}

std::string Door::RunIdOf(const Ask& ask, const HttpAttributes& req) const {
  const core::Caller& c = ask.caller;
  std::string key;
  if (auto v = HeaderOf(req.headers, config_.run_header); v && !v->empty()) {
    key = "header:" + v->substr(0, kMaxRunKeyBytes);
  } else {
    key = "bearer:" + Sha256Hex(ask.token);
  }
  return "ea-" + Sha256Hex(c.principal.agent_id + "\n" + c.identity.issuer + "\n" +
                           c.identity.subject + "\n" + key)
                     .substr(0, 32);
}

bool JoinedRuns::Contains(const std::string& run_id) {
  std::lock_guard lock(mu_);
  auto it = index_.find(run_id);
  if (it == index_.end()) return false;
  order_.splice(order_.begin(), order_, it->second);
  return true;
}

void JoinedRuns::Add(const std::string& run_id) {
  std::lock_guard lock(mu_);
  if (auto it = index_.find(run_id); it != index_.end()) {
    order_.splice(order_.begin(), order_, it->second);
    return;
  }
  order_.push_front(run_id);
  index_.emplace(run_id, order_.begin());
  while (index_.size() > capacity_) {
    index_.erase(order_.back());
    order_.pop_back();
  }
}

size_t JoinedRuns::size() {
  std::lock_guard lock(mu_);
  return index_.size();
}

bool Door::Joined(const std::string& run_id) { return joined_.Contains(run_id); }

bool Door::JoinRun(const Ask& ask, CheckAnswer* failed) {
  Result<core::RunInfo> run = deps_.calls->JoinRun(ask.caller.principal.agent_id, ask.run_id);
  if (!run.ok()) {
    const std::string why = "Interlock could not open the run: " + run.error().message +
                            "; the request is denied (fail closed)";
    json::value body = ask.mcp
                           ? json::value(RpcError(ask.id, -32603, why))
                           : json::value(json::object{{"error", "UNAVAILABLE"}, {"message", why}});
    *failed = Plain(RpcCode::kUnavailable, 503, why, json::serialize(body));
    return false;
  }
  joined_.Add(ask.run_id);
  return true;
}

void Door::Decide(std::shared_ptr<Pending> p) {
  const core::Caller& c = p->ask.caller;
  const core::CallerIdentity* identity = c.identity.issuer.empty() ? nullptr : &c.identity;
  // The answer is built where the store answers (its thread, once the decision is
  // durable) and handed to `done`: no thread waits for the commit.
  deps_.guard->DecideAsync(
      c.principal.agent_id, c.principal.name, p->ask.run_id, std::move(p->call),
      [this, p](core::GuardResponse&& g) {
        p->done(p->refusal ? RefusedAnswer(p->ask, *p->refusal, g) : Answer(p->ask, g));
      },
      {}, {}, identity);
}

bool Door::ReadMcp(const HttpAttributes& req, Pending& p, CheckAnswer* now) const {
  Ask& ask = p.ask;
  if (req.method == "GET" || req.method == "DELETE") {
    // The session's stream and its end carry no tool call (the MCP door's GET and DELETE).
    now->code = RpcCode::kOk;
    now->headers.emplace_back("x-interlock-agent", ask.caller.principal.agent_id);
    return true;
  }
  McpRefusal refusal;
  if (req.method != "POST") {
    refusal.message = req.method + " is not an MCP method (POST, GET, DELETE)";
    *now = Plain(RpcCode::kInvalidArgument, 405, refusal.message,
                 json::serialize(RpcError(nullptr, -32600, refusal.message)));
    return true;
  }
  if (auto name = HeaderOf(req.headers, "mcp-name")) refusal.tool = name->substr(0, 128);
  if (req.partial_body || req.body.size() > config_.max_body_bytes) {
    refusal.http_status = 413;
    refusal.message = ExtAuthzTooLarge(config_.max_body_bytes);
    return ExtAuthzRefuse(std::move(refusal), &p.call, &p.refusal);
  }
  if (req.body.empty()) {
    refusal.message =
        "the gateway sent no request body: an MCP request is decided on its body (configure "
        "ext_authz with_request_body; docs/gateways.md)";
    return ExtAuthzRefuse(std::move(refusal), &p.call, &p.refusal);
  }
  McpMessage msg;
  if (!ReadMcpMessage(req.body, req.headers, config_.max_body_bytes, &msg, &refusal)) {
    ask.id = refusal.id;
    return ExtAuthzRefuse(std::move(refusal), &p.call, &p.refusal);
  }
  ask.id = msg.id;
  if (msg.kind != McpMessage::Kind::kToolCall) {
    if (msg.kind == McpMessage::Kind::kResponse || ForwardedClientMethod(msg.method)) {
      now->code = RpcCode::kOk;
      now->headers.emplace_back("x-interlock-agent", ask.caller.principal.agent_id);
      return true;
    }
    const std::string why = "method not found: " + msg.method.substr(0, 64);
    *now = Plain(RpcCode::kPermissionDenied, msg.modern ? 404 : 200, why,
                 json::serialize(RpcError(msg.id, -32601, why)));
    return true;
  }
  p.call.tool = std::move(msg.tool);
  p.call.args = std::move(msg.args);
  return false;
}

bool Door::ReadRoute(const RouteRule& route, const HttpAttributes& req, Pending& p,
                     CheckAnswer*) const {
  if (req.partial_body || req.body.size() > config_.max_body_bytes) {
    McpRefusal refusal;
    refusal.http_status = 413;
    refusal.tool = route.tool;
    refusal.message = ExtAuthzTooLarge(config_.max_body_bytes);
    return ExtAuthzRefuse(std::move(refusal), &p.call, &p.refusal);
  }
  ToolCall& call = p.call;
  call.tool = route.tool;
  const size_t q = req.path.find('?');
  call.args["method"] = req.method;
  call.args["path"] = PathOnly(req.path);
  call.args["query"] = q == std::string::npos ? std::string() : req.path.substr(q + 1);
  if (!req.body.empty()) {
    Result<json::value> body = ParseJsonStrict(req.body, {.max_bytes = config_.max_body_bytes});
    call.args["body"] = body.ok() ? std::move(*body) : json::value(req.body);
  }
  return false;
}

CheckAnswer Door::RefusedAnswer(const Ask& ask, const McpRefusal& refusal,
                                const core::GuardResponse& g) const {
  if (CheckCodeOf(g.outcome()) == RpcCode::kUnavailable) return Answer(ask, g);
  json::value body =
      ask.mcp
          ? json::value(RpcError(ask.id, refusal.rpc_code, refusal.message))
          : json::value(json::object{{"error", "INVALID_REQUEST"}, {"message", refusal.message}});
  CheckAnswer a =
      Plain(RpcCode::kInvalidArgument, refusal.http_status, refusal.message, json::serialize(body));
  a.call_id = g.call_id;
  if (!g.call_id.empty()) a.headers.emplace_back("x-interlock-decision-id", g.call_id);
  return a;
}

CheckAnswer Door::Answer(const Ask& ask, const core::GuardResponse& g) const {
  const Decision& d = g.decision;
  const RpcCode code = CheckCodeOf(g.outcome());
  const bool down = code == RpcCode::kUnavailable;
  CheckAnswer a;
  a.call_id = g.call_id;
  a.decision_code = std::string(CodeName(d.code));
  if (code == RpcCode::kOk && !d.arguments) {
    a.code = RpcCode::kOk;
    a.headers = {{"x-interlock-decision-id", g.call_id},
                 {"x-interlock-run-id", ask.run_id},
                 {"x-interlock-agent", ask.caller.principal.agent_id}};
    return a;
  }
  json::object meta{{kDecisionMetaKey, DecisionToJson(d)}};
  std::string text =
      "Interlock denied " + d.tool + " (" + std::string(CodeName(d.code)) + "): " + d.reason;
  if (code == RpcCode::kOk) {
    // A grant with a reviewer's edited arguments: the gateway forwards the body as sent, so
    // the edit could not be honoured; the agent calls again with the edited arguments.
    text = "Interlock approved " + d.tool +
           " with edited arguments, which a gateway cannot apply to the request it holds: "
           "call it again with the arguments the reviewer set";
    meta["interlock.dev/arguments"] = *d.arguments;
  }
  a.code = down ? RpcCode::kUnavailable : RpcCode::kPermissionDenied;
  a.message = text;
  if (d.verdict == Verdict::kApprovalRequired && !g.call_id.empty()) {
    const std::string approval = core::ApprovalIdOf(g.call_id);
    const std::string url = deps_.approval_url ? deps_.approval_url(approval) : std::string();
    text = "Interlock is holding " + d.tool + " for a reviewer's approval: " + d.reason +
           ". Approval " + approval + (url.empty() ? "" : " at " + url) +
           ". Retry the identical call (same tool and arguments, same run) once it is granted: "
           "the retry is allowed once; a reviewer's deny answers it APPROVAL_DENIED.";
    meta[kApprovalMetaKey] = json::object{{"approval_id", approval},
                                          {"approval_url", url},
                                          {"call_id", g.call_id},
                                          {"retry", "identical-call"}};
    a.headers.emplace_back("x-interlock-approval-id", approval);
    if (!url.empty()) a.headers.emplace_back("x-interlock-approval-url", url);
    a.message = text;
  }
  a.headers.emplace_back("content-type", "application/json");
  if (!g.call_id.empty()) a.headers.emplace_back("x-interlock-decision-id", g.call_id);
  if (ask.mcp) {
    a.http_status = 200;  // a tool result the MCP client reads, as the MCP door answers
    a.body = json::serialize(ToolResultError(ask.id, text, std::move(meta)));
  } else {
    a.http_status = down ? 503 : 403;
    json::object body{
        {"error", CodeName(d.code)}, {"message", text}, {"decision", meta[kDecisionMetaKey]}};
    if (const json::value* ap = meta.if_contains(kApprovalMetaKey)) body["approval"] = *ap;
    a.body = json::serialize(body);
  }
  return a;
}

core::DoorAnswer DoorDrillProbe::Probe(const core::DrillTarget& target) {
  HttpAttributes req;
  req.method = "POST";
  req.path = "/mcp";
  req.host = "interlock-drill.invalid";
  const std::vector<RouteRule>& routes = door_->config().routes;
  const auto mcp =
      std::find_if(routes.begin(), routes.end(), [](const RouteRule& r) { return r.mcp; });
  if (const RouteRule* r = mcp != routes.end() ? &*mcp : routes.empty() ? nullptr : &routes[0]) {
    if (!r->method.empty()) req.method = r->method;
    req.path = r->path_prefix;
    if (!r->host.empty()) req.host = r->host;
  }
  req.headers["authorization"] = "Bearer " + target.credential;
  req.headers["content-type"] = "application/json";
  req.headers[door_->config().run_header] = target.drill_id;
  req.body = json::serialize(json::object{
      {"jsonrpc", "2.0"},
      {"id", 1},
      {"method", "tools/call"},
      {"params", json::object{{"name", "interlock.drill"},
                              {"arguments", json::object{{"drill_id", target.drill_id}}}}}});
  const CheckAnswer a = door_->Check(req);
  if (a.code == RpcCode::kPermissionDenied && !a.decision_code.empty()) {
    return {a.decision_code, a.message};
  }
  return {"gRPC " + std::to_string(static_cast<int>(a.code)) +
              (a.decision_code.empty() ? "" : " " + a.decision_code),
          a.message};
}

}  // namespace interlock::doors::ext_authz
