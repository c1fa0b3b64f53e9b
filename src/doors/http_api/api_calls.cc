// Calls: decisions (POST /v1/runs/{id}/calls), egress decisions and their results, a
// call's state and long poll, results and rehearsals, the agent's tool view.
#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "common/host_name.h"
#include "common/json.h"
#include "common/json_write.h"
#include "core/app/outcome_status.h"
#include "core/app/tool_calls.h"
#include "core/app/tool_views.h"
#include "doors/http_api/api.h"
#include "doors/http_api/api_internal.h"

namespace interlock::server {

namespace net = boost::asio;
namespace http = boost::beast::http;
namespace json = boost::json;

// POST /v1/tools/view asks about at most this many tools at once.
constexpr size_t kMaxViewTools = 1000;

namespace {

// The request's W3C trace context (at most 128 bytes), for the Guard, which validates and
// records it; empty without one.
std::string Traceparent(const HttpRequest& req) {
  auto it = req.find("traceparent");
  if (it == req.end() || it->value().size() > 128) return {};
  return std::string(it->value());
}

}  // namespace

void Api::HandleDecide(const Caller& c, HttpRequest req, Responder r, std::string run_id) {
  const auto start = std::chrono::steady_clock::now();
  const std::string& agent_id = c.principal.agent_id;
  // A body without an Idempotency-Key (whose binding needs the body's document): read into
  // the call (the common shape straight, with no document), the call the path below would
  // build from the document. A body the call reader refuses takes that path, which words
  // the HTTP API's error for it.
  if (req.find("Idempotency-Key") == req.end()) {
    ToolCall call;
    if (core::ReadToolCall(req.body(), {.max_bytes = options_.max_body_bytes}, &call).ok()) {
      call.elapsed_s.reset();  // run age comes from the server's clock only
      return DecideAndReply(c, std::move(run_id), std::move(call), std::move(r), Traceparent(req));
    }
  }
  auto body = ParseObjectBody(req, options_.max_body_bytes, /*allow_empty=*/false);
  Result<std::optional<core::IdempotencyKey>> key =
      body.ok() ? ReadIdempotencyKey(req, {"POST /v1/runs/", run_id, "/calls"}, *body)
                : Result<std::optional<core::IdempotencyKey>>(std::nullopt);
  if (!key.ok()) return r.Send(InvalidRequest(key.error().message));
  Result<ToolCall> call =
      body.ok() ? core::ReadToolCall(json::value(std::move(*body))) : body.error();
  if (!call.ok()) {
    metrics_->RecordDecision(agent_id, Code::kInvalidRequest,
                             std::chrono::steady_clock::now() - start);
    return r.Send(InvalidRequest(call.error().message));
  }
  call->elapsed_s.reset();  // run age comes from the server's clock only
  DecideAndReply(c, std::move(run_id), std::move(call).value(), std::move(r), Traceparent(req), {},
                 key->value_or(core::IdempotencyKey{}));
}

namespace {

// One decision's way back to its client, made once on the io thread: the store's thread
// puts the Guard's answer in it and the connection's strand reads it there, so neither the
// answer nor the Responder is copied or moved again on the way.
struct PendingReply {
  PendingReply(Responder responder, const core::Principal& p,
               std::function<void(const core::GuardResponse&)> see)
      : r(std::move(responder)), agent_id(p.agent_id), principal(p.name), observe(std::move(see)) {}
  Responder r;
  std::string agent_id;
  std::string principal;
  std::function<void(const core::GuardResponse&)> observe;
  std::optional<core::GuardResponse> g;  // set once, on the store's thread
};

// The body of a decide route's answer that is not a decision (HttpStatusOf's refusals).
HttpResponse RefusedDecideReply(unsigned status, const std::string& reason) {
  switch (status) {
    case 404:
      return JsonError(404, "NOT_FOUND", "unknown run");
    case 403:
      return Forbidden("the run belongs to another agent");
    case 409:  // the Idempotency-Key with another request
      return IdempotencyConflict(reason);
    default:
      return InvalidRequest(reason);
  }
}

}  // namespace

void Api::DecideAndReply(const Caller& c, std::string run_id, ToolCall&& call, Responder r,
                         std::string traceparent,
                         std::function<void(const core::GuardResponse&)> observe,
                         core::IdempotencyKey idempotency) {
  auto pending = std::make_shared<PendingReply>(std::move(r), c.principal, std::move(observe));
  guard_->DecideAsync(
      c.principal.agent_id, c.principal.name, run_id, std::move(call),
      [this, pending](core::GuardResponse&& answer) mutable {
        PendingReply& p = *pending;
        if (p.observe) p.observe(answer);
        p.g.emplace(std::move(answer));
        // Runs on the store's thread: hand the work to the connection strand. (`done`
        // runs once: the pointer is moved into the post.)
        const net::any_io_executor& strand = p.r.executor();
        net::post(strand, [this, pending = std::move(pending)] {
          const Responder& r = pending->r;
          const std::string& agent_id = pending->agent_id;
          const core::GuardResponse& g = *pending->g;
          // Counted by the core's observer (daemon/decision_metrics.h), as every door's.
          if (const unsigned status = core::HttpStatusOf(g.outcome()); status != 200) {
            return r.SendFromStrand(RefusedDecideReply(status, g.decision.reason));
          }
          HttpResponse res = JsonTextResponse(200, DecideReply(g));
          if (g.replayed) res.set("Idempotent-Replayed", "true");
          if (g.decision.verdict != Verdict::kApprovalRequired || g.call_id.empty() ||
              g.existing_call || g.replayed) {
            return r.SendFromStrand(std::move(res));
          }
          // This request queued the approval: if its answer (the only place the approval
          // id is given) cannot reach the client, nobody will collect it.
          r.SendFromStrand(std::move(res), [this, agent_id, principal = pending->principal,
                                            call_id = g.call_id](bool delivered) {
            if (!delivered) WithdrawUnheard(agent_id, principal, call_id);
          });
        });
      },
      traceparent, std::move(idempotency), c.identity.issuer.empty() ? nullptr : &c.identity);
}

namespace {

// The receipt book's key of an egress decision: its call id's hash (ids are random 128-bit
// values, so two of the book's at most 1024 x 256 entries never share one in practice); 0 is
// the book's "none".
uint64_t EgressSerial(std::string_view egress_call_id) {
  return std::hash<std::string_view>{}(egress_call_id) | 1u;
}

// The egress request body: {"host","port","address"[,"tunnel"][,"in_flight_call_id"]},
// strictly.
struct EgressRequestBody {
  std::string host;  // normalised (NormalizeHostName)
  int64_t port = 0;
  std::string address;  // the IP literal's canonical text
  bool tunnel = false;  // CONNECT: allowed only where an entry allows tunnels to the port
  std::string in_flight_call_id;
};

Result<EgressRequestBody> ParseEgressBody(const json::object& o) {
  for (const auto& kv : o) {
    const std::string_view k = kv.key();
    if (k != "host" && k != "port" && k != "address" && k != "tunnel" && k != "in_flight_call_id") {
      return Error::Invalid("unknown field '" + std::string(k) +
                            "' (an egress request has host, port, address, tunnel and "
                            "in_flight_call_id only; the agent comes from the token)");
    }
  }
  EgressRequestBody b;
  const json::value* host = o.if_contains("host");
  if (host == nullptr || !host->is_string()) return Error::Invalid("host (a string) is required");
  auto normal = NormalizeHostName(std::string_view(host->get_string()));
  if (!normal) return Error::Invalid("host is not a DNS name or an IP literal");
  b.host = std::move(*normal);
  const json::value* port = o.if_contains("port");
  if (port == nullptr || !port->is_int64() || port->get_int64() < 1 || port->get_int64() > 65535) {
    return Error::Invalid("port (an integer 1-65535) is required");
  }
  b.port = port->get_int64();
  const json::value* address = o.if_contains("address");
  if (address == nullptr || !address->is_string()) {
    return Error::Invalid("address (the IP literal connected to) is required");
  }
  auto ip = ParseIpLiteral(std::string_view(address->get_string()));
  if (!ip) return Error::Invalid("address is not an IP literal");
  b.address = ip->ToString();
  if (const json::value* t = o.if_contains("tunnel"); t != nullptr) {
    if (!t->is_bool()) return Error::Invalid("tunnel must be true or false");
    b.tunnel = t->get_bool();
  }
  if (const json::value* f = o.if_contains("in_flight_call_id"); f != nullptr && !f->is_null()) {
    if (!f->is_string() || !ValidId(std::string_view(f->get_string()))) {
      return Error::Invalid("in_flight_call_id must be a call id");
    }
    b.in_flight_call_id = std::string(f->get_string());
  }
  return b;
}

}  // namespace

void Api::HandleEgress(const Caller& c, const HttpRequest& req, Responder r, std::string run_id) {
  const auto start = std::chrono::steady_clock::now();
  auto body = ParseObjectBody(req, options_.max_body_bytes, /*allow_empty=*/false);
  Result<EgressRequestBody> parsed = body.ok() ? ParseEgressBody(*body) : body.error();
  if (!parsed.ok()) {
    metrics_->RecordDecision(c.principal.agent_id, Code::kInvalidRequest,
                             std::chrono::steady_clock::now() - start);
    return r.Send(InvalidRequest(parsed.error().message));
  }
  // The kind is set here, for this route only: a request body never sets it. The engine
  // classifies the address itself (policy::MatchEgress): a private, loopback, link-local
  // or metadata address is refused unless an entry names it literally, whatever the
  // proxy claims the name resolved to.
  ToolCall call;
  call.kind = CallKind::kEgress;
  call.tool = kEgressToolName;
  call.args = {{"host", parsed->host}, {"port", parsed->port}, {"address", parsed->address}};
  if (parsed->tunnel) call.args["tunnel"] = true;
  if (parsed->in_flight_call_id.empty()) {
    return DecideAndReply(c, std::move(run_id), std::move(call), std::move(r), "");
  }
  Blocking([this, c, r, run_id = std::move(run_id), call = std::move(call),
            in_flight = parsed->in_flight_call_id]() mutable {
    // The call in flight must be one of this run's (and so this agent's) calls, made by
    // this identity: another person's token for the same agent attaches nothing to it.
    auto rec = calls_.GetCall(in_flight);
    if (!rec.ok() || rec->record.run_id != run_id || rec->record.agent_id != c.principal.agent_id) {
      return r.Send(InvalidRequest("in_flight_call_id is not a call of run " + run_id));
    }
    if (std::string why =
            core::PrincipalRefusal("call " + in_flight, rec->record.principal, c.principal.name);
        !why.empty()) {
      return r.Send(Forbidden(why));
    }
    call.args["call_id"] = in_flight;
    core::EgressDecided decided{.host = std::string(call.args.at("host").as_string()),
                                .port = static_cast<uint16_t>(call.args.at("port").as_int64()),
                                .address = std::string(call.args.at("address").as_string()),
                                .tunnel = call.args.contains("tunnel"),
                                .in_flight_call_id = in_flight};
    // Listed on the in-flight call's result record when its agent posts it.
    auto observe = [book = options_.egress_receipts,
                    decided = std::move(decided)](const core::GuardResponse& g) mutable {
      if (book == nullptr || g.call_id.empty() || g.error) return;
      decided.decision = g.decision;
      decided.call_id = g.call_id;
      decided.serial = EgressSerial(g.call_id);
      decided.open = g.decision.allowed();  // until its egress-result says what it carried
      book->Decided(decided);
    };
    DecideAndReply(c, std::move(run_id), std::move(call), r, "", std::move(observe));
  });
}

void Api::HandleEgressResult(const Caller& c, const HttpRequest& req, std::string call_id,
                             Responder r) {
  auto body = ParseObjectBody(req, options_.max_body_bytes, false);
  if (!body.ok()) return r.Send(InvalidRequest(body.error().message));
  core::CallResult result;
  uint64_t up = 0, down = 0;
  bool have_ok = false, have_up = false, have_down = false;
  for (const auto& kv : *body) {
    const std::string_view k = kv.key();
    const json::value& v = kv.value();
    if (k == "ok") {
      if (!v.is_bool()) return r.Send(InvalidRequest("ok must be a boolean"));
      result.ok = v.get_bool();
      have_ok = true;
    } else if (k == "bytes_up" || k == "bytes_down") {
      if (!(v.is_int64() && v.get_int64() >= 0) && !v.is_uint64()) {
        return r.Send(InvalidRequest(std::string(k) + " must be an integer >= 0"));
      }
      const uint64_t n = v.is_uint64() ? v.get_uint64() : static_cast<uint64_t>(v.get_int64());
      (k == "bytes_up" ? up : down) = n;
      (k == "bytes_up" ? have_up : have_down) = true;
    } else if (k == "error") {
      if (v.is_null()) continue;
      if (!v.is_string()) return r.Send(InvalidRequest("error must be a string"));
      result.error = std::string(
          v.get_string().subview(0, std::min<size_t>(v.get_string().size(), kMaxReasonBytes)));
    } else {
      return r.Send(InvalidRequest("unknown field '" + std::string(k) +
                                   "' (an egress result has ok, bytes_up, bytes_down and error)"));
    }
  }
  if (!have_ok || !have_up || !have_down) {
    return r.Send(InvalidRequest("ok, bytes_up and bytes_down are required"));
  }
  result.output_json = json::serialize(json::object{{"bytes_up", up}, {"bytes_down", down}});
  Blocking([this, c, r, call_id, up, down, result = std::move(result)] {
    // Only an egress decision (made by POST /v1/runs/{id}/egress or a proxy of the daemon's
    // own) takes an egress result; another agent's call is refused before anything is read
    // back to the caller.
    auto call = calls_.GetCall(call_id);
    if (!call.ok()) return r.Send(StoreError(call.error()));
    if (call->record.agent_id != c.principal.agent_id) {
      return r.Send(Forbidden("the call belongs to another agent"));
    }
    if (call->record.call.tool != kEgressToolName ||
        call->record.decision.rule.rfind("egress", 0) != 0) {
      return r.Send(InvalidRequest("call " + call_id + " is not an egress decision"));
    }
    Status s = calls_.RecordEgressResult(call_id, c.principal.agent_id, c.principal.name, result);
    if (s.ok() && options_.egress_receipts != nullptr) {
      options_.egress_receipts->Closed(EgressSerial(call_id), up, down);
    }
    r.Send(s.ok() ? NoContent() : StoreError(s.error()));
  });
}

std::string Api::DecideReply(const core::GuardResponse& g) const {
  // Written as text, member by member: the tree it used to build and print cost a sixth
  // of an io thread's work per decision (callgrind, session 19). The bytes are those of
  // the tree (ApiTest.DecideReplyTextIsTheTreesText).
  std::string out;
  out.reserve(512);
  AppendDecisionJson(g.decision, JsonStyle::kReadable, &out, "agent_id");
  out.pop_back();  // the decision's '}': the reply's own members follow its members
  JsonObjectWriter w = JsonObjectWriter::Continuing(&out, /*has_members=*/true);
  if (!g.call_id.empty()) w.String("call_id", g.call_id);
  if (!g.call_id.empty() && (g.decision.verdict == Verdict::kApprovalRequired ||
                             (g.existing_call && g.decision.rule == "approval"))) {
    const std::string approval_id = core::ApprovalIdForCall(g.call_id);
    w.String("approval_id", approval_id);
    if (std::string url = ApprovalUrl(approval_id); !url.empty()) w.String("approval_url", url);
  }
  if (g.existing_call) w.Bool("existing_call", true);
  if (!g.error) AppendRunStateJson(g.state, w.Key("run"));
  w.End();
  out.push_back('}');
  return out;
}

HttpResponse Api::CallResponse(const Caller& c, const std::string& call_id, bool* pending) {
  *pending = false;
  // The agent's read delivers the outcome: the store releases an approved call then
  // (or denies it if a kill switch or halt came first). Reviewers and admins only look.
  const bool agent = c.principal.role == core::Role::kAgent;
  // Only to the identity it was decided for (the principal its decision records). Anyone
  // else sees a reviewer's edit of a redacted argument as its hash, never its value.
  auto call = agent ? calls_.approvals().Release(call_id, c.principal.agent_id, c.principal.name,
                                                 policies_->Current())
                    : calls_.ViewCall(call_id);
  if (!call.ok()) {
    if (call.error().kind == ErrorKind::kPermissionDenied) {
      return Forbidden(call.error().message);
    }
    return StoreError(call.error());
  }
  const core::CallRecord& rec = call->record;
  *pending = rec.decision.verdict == Verdict::kApprovalRequired;
  json::object out = DecisionJson(rec.decision);
  out["call_id"] = rec.call_id;
  if (*pending || rec.decision.rule == "approval") {
    const std::string approval_id = core::ApprovalIdForCall(rec.call_id);
    if (*pending || calls_.approvals().Get(approval_id).ok()) {
      out["approval_id"] = approval_id;
      if (std::string url = ApprovalUrl(approval_id); !url.empty()) {
        out["approval_url"] = std::move(url);
      }
    }
  }
  out["run_id"] = rec.run_id;
  out["at"] = FormatRfc3339(rec.at);
  out["pending"] = *pending;
  // An approved call an earlier read released: a door that runs calls itself does not run
  // it again (one grant, one execution; core::Approvals::ReleaseToRun).
  if (agent && !call->released_now && rec.decision.verdict == Verdict::kAllow &&
      rec.decision.rule == "approval") {
    out["released_before"] = true;
  }
  if (call->result) {
    json::object res{{"ok", call->result->ok},
                     {"error", call->result->error},
                     {"tokens", call->result->usage.tokens},
                     {"cost_usd", static_cast<double>(call->result->usage.cost_micros) / 1e6}};
    out["result"] = std::move(res);
  }
  return JsonResponse(200, out);
}

namespace {

// One long poll: a timer on the connection strand, woken by CallWaiters or expiry.
struct LongPoll {
  LongPoll(net::any_io_executor ex, Responder resp, std::string id)
      : timer(std::move(ex)), responder(std::move(resp)), call_id(std::move(id)) {}
  net::steady_timer timer;
  Responder responder;
  std::string call_id;
  uint64_t waiter_id = 0;
  std::atomic<bool> woken{false};
  std::atomic<bool> answered{false};
};

}  // namespace

void Api::HandleGetCall(const Caller& c, std::string call_id, int wait_seconds, Responder r) {
  const int wait = std::min(wait_seconds, options_.max_wait_seconds);
  Blocking([this, c, r, call_id, wait] {
    if (wait <= 0) {
      bool pending = false;
      return r.Send(CallResponse(c, call_id, &pending));
    }
    // Register before reading, so a verdict landing in between still wakes us.
    auto poll = std::make_shared<LongPoll>(r.executor(), r, call_id);
    poll->waiter_id = waiters_.Add(call_id, [poll] {
      poll->woken.store(true);
      net::post(poll->timer.get_executor(), [poll] { poll->timer.cancel(); });
    });
    bool pending = false;
    HttpResponse first = CallResponse(c, call_id, &pending);
    // Woken while that read ran: the verdict may have landed after it, so read again
    // (answering the first read would give a granted call back as still pending).
    if (pending && poll->woken.load()) first = CallResponse(c, call_id, &pending);
    if (!pending || poll->woken.load()) {
      waiters_.Remove(call_id, poll->waiter_id);
      poll->answered.store(true);
      return r.Send(std::move(first));
    }
    net::post(poll->timer.get_executor(), [this, c, poll, wait] {
      poll->timer.expires_after(std::chrono::seconds(wait));
      poll->timer.async_wait([this, c, poll](boost::system::error_code) {
        waiters_.Remove(poll->call_id, poll->waiter_id);
        if (poll->answered.exchange(true)) return;
        Blocking([this, c, poll] {
          bool still_pending = false;
          poll->responder.Send(CallResponse(c, poll->call_id, &still_pending));
        });
      });
      if (poll->woken.load()) poll->timer.cancel();
    });
  });
}

Result<core::CallResult> Api::ParseResultBody(const json::object& o) const {
  auto invalid = [](std::string m) { return Error::Invalid(std::move(m)); };
  core::CallResult result;
  if (auto* ok = o.if_contains("ok")) {
    if (!ok->is_bool()) return invalid(("ok must be a boolean"));
    result.ok = ok->as_bool();
  } else {
    return invalid(("ok is required"));
  }
  if (auto* err = o.if_contains("error"); err && !err->is_null()) {
    if (!err->is_string()) return invalid(("error must be a string"));
    result.error = std::string(err->as_string().subview(
        0, std::min<size_t>(err->as_string().size(), kMaxReasonBytes * 4)));
  }
  if (auto* out = o.if_contains("output"); out && !out->is_null()) {
    // Cut by the core once masked (limits.max_output_bytes; core::ResultJson).
    result.output_json = CanonicalJson(*out);
  }
  result.max_output_bytes = options_.max_output_bytes;
  if (auto* u = o.if_contains("usage"); u && !u->is_null()) {
    auto usage = core::ReadUsage(*u);
    if (!usage.ok()) return usage.error();
    result.usage = *usage;
  }
  return result;
}

void Api::HandleResult(const Caller& c, const HttpRequest& req, std::string call_id, Responder r) {
  auto body = ParseObjectBody(req, options_.max_body_bytes, false);
  if (!body.ok()) return r.Send(InvalidRequest(body.error().message));
  auto key = ReadIdempotencyKey(req, {"POST /v1/calls/", call_id, "/result"}, *body);
  if (!key.ok()) return r.Send(InvalidRequest(key.error().message));
  auto parsed = ParseResultBody(*body);
  if (!parsed.ok()) return r.Send(InvalidRequest(parsed.error().message));
  core::CallResult result = std::move(parsed).value();
  result.policies = policies_->Current();  // a result may move the run's workflow
  if (*key) result.idempotency = std::move(**key);
  Blocking([this, c, r, call_id, result = std::move(result)]() mutable {
    // Receipts of this daemon's egress decisions made while the call was in flight: taken
    // only for the call's own agent and identity (another agent's token, or another
    // identity of the same agent, whose report the store refuses, cannot make them vanish).
    if (options_.egress_receipts != nullptr && options_.egress_receipts->Has(call_id)) {
      auto call = calls_.GetCall(call_id);
      if (call.ok() && call->record.agent_id == c.principal.agent_id &&
          call->record.principal == c.principal.name) {
        result.egress_json = options_.egress_receipts->TakeJson(call_id);
      }
    }
    Status s = calls_.RecordResult(call_id, c.principal.agent_id, c.principal.name, result);
    if (!s.ok() && s.error().kind == ErrorKind::kAlreadyExists && !result.idempotency.key.empty() &&
        s.error().message.rfind("Idempotency-Key", 0) == 0) {
      return r.Send(IdempotencyConflict(s.error().message));
    }
    r.Send(s.ok() ? NoContent() : StoreError(s.error()));
  });
}

void Api::HandleRehearsal(const Caller& c, const HttpRequest& req, std::string call_id,
                          Responder r) {
  auto body = ParseObjectBody(req, options_.max_body_bytes, false);
  if (!body.ok()) return r.Send(InvalidRequest(body.error().message));
  for (const auto& kv : *body) {
    const std::string_view k = kv.key();
    if (k != "ok" && k != "output" && k != "error" && k != "usage" && k != "args") {
      return r.Send(InvalidRequest("unknown field '" + std::string(k) + "'"));
    }
  }
  auto parsed = ParseResultBody(*body);
  if (!parsed.ok()) return r.Send(InvalidRequest(parsed.error().message));
  std::optional<json::object> args;
  if (const json::value* a = body->if_contains("args"); a != nullptr && !a->is_null()) {
    if (!a->is_object()) return r.Send(InvalidRequest("args must be an object"));
    args = a->get_object();
  }
  Blocking([this, c, r, call_id, result = std::move(parsed).value(), args = std::move(args)] {
    core::GuardResponse g =
        guard_->CompleteRehearsal(c.principal.agent_id, c.principal.name, call_id, result, args);
    if (g.error && *g.error != ErrorKind::kUnavailable && *g.error != ErrorKind::kInternal) {
      return r.Send(StoreError(Error{*g.error, g.decision.reason}));
    }
    r.Send(JsonTextResponse(200, DecideReply(g)));
  });
}

void Api::HandleToolView(const Caller& c, const HttpRequest& req, Responder r) {
  auto body = ParseObjectBody(req, options_.max_body_bytes, /*allow_empty=*/false);
  if (!body.ok()) return r.Send(InvalidRequest(body.error().message));
  for (const auto& kv : *body) {
    if (kv.key() != "tools") {
      return r.Send(InvalidRequest("unknown field '" + std::string(kv.key()) + "'"));
    }
  }
  const json::value* tools = body->if_contains("tools");
  if (tools == nullptr || !tools->is_array() || tools->as_array().size() > kMaxViewTools) {
    return r.Send(InvalidRequest("tools must be an array of at most 1000 tool names"));
  }
  std::shared_ptr<const policy::PolicySet> set = policies_->Current();
  json::object view;
  for (const json::value& t : tools->as_array()) {
    if (!t.is_string() || t.as_string().empty() || t.as_string().size() > core::kMaxToolNameBytes) {
      return r.Send(InvalidRequest("each tool name must be a string of 1 to 256 bytes"));
    }
    core::ToolView v = core::ViewTool(set.get(), c.principal.agent_id, t.as_string());
    json::object entry{{"visible", v.visible}};
    if (v.scope) {
      json::array scope;
      for (const std::string& f : *v.scope) scope.emplace_back(f);
      entry["scope"] = std::move(scope);
    }
    view[t.as_string()] = std::move(entry);
  }
  json::object out{{"agent_id", c.principal.agent_id}, {"tools", std::move(view)}};
  if (set) out["policy_sha256"] = set->sha256;
  r.Send(JsonResponse(200, out));
}
}  // namespace interlock::server
