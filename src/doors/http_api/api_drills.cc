// Kill-switch drills (docs/drill.md): POST /v1/drills runs one through every door this
// daemon serves, GET /v1/drills says when the last was and whether one is overdue. The
// drill itself (canary run, switch, record) is core::Drills; this file holds the doors'
// probes: each asks its door for one call of the drill agent as a client would and reads
// the answer the client would read.
//
//   http_api          POST /v1/runs/{canary}/calls through this Api's router
//   claude_code_hook  POST /v1/hooks/claude-code (a PreToolUse event) through the router
//   + the probes the other doors add (Api::AddDrillProbe): /mcp/{upstream}'s
//     (server::McpDrillProbe) when upstreams are served, the ext_authz listener's
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "common/crypto.h"
#include "common/json.h"
#include "doors/http_api/api.h"
#include "doors/http_api/api_internal.h"

namespace interlock::server {

namespace net = boost::asio;
namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

// How long one door may take to answer the drill (a door slower than this fails it).
constexpr std::chrono::milliseconds kProbeBound{5000};
constexpr std::string_view kDrillTool = "interlock.drill";

class FnProbe final : public core::DrillProbe {
 public:
  using Fn = std::function<core::DoorAnswer(const core::DrillTarget&)>;
  FnProbe(std::string door, Fn fn) : door_(std::move(door)), fn_(std::move(fn)) {}
  std::string door() const override { return door_; }
  core::DoorAnswer Probe(const core::DrillTarget& t) override { return fn_(t); }

 private:
  std::string door_;
  Fn fn_;
};

HttpRequest DrillRequest(std::string target, const std::string& credential, json::object body) {
  HttpRequest req{http::verb::post, std::move(target), 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::authorization, "Bearer " + credential);
  req.set(http::field::content_type, "application/json");
  req.body() = json::serialize(body);
  req.prepare_payload();
  return req;
}

core::DoorAnswer NoAnswer() {
  return {"no answer",
          "the door did not answer within " + std::to_string(kProbeBound.count()) + " ms"};
}

// POST /v1/runs/{id}/calls: the decision object's code.
core::DoorAnswer ReadApiAnswer(const std::optional<HttpResponse>& res) {
  if (!res) return NoAnswer();
  auto body = ParseJsonStrict(res->body());
  const json::object* o = body.ok() ? body->if_object() : nullptr;
  const json::value* code = o != nullptr ? o->if_contains("code") : nullptr;
  const json::value* reason = o != nullptr ? o->if_contains("reason") : nullptr;
  if (code == nullptr || !code->is_string()) {
    return {"HTTP " + std::to_string(res->result_int()), res->body().substr(0, 300)};
  }
  return {std::string(code->as_string()),
          reason != nullptr && reason->is_string() ? std::string(reason->as_string()) : ""};
}

// The Claude Code hook's answer: a PreToolUse deny whose reason reads "Interlock: CODE: ...".
core::DoorAnswer ReadHookAnswer(const std::optional<HttpResponse>& res) {
  if (!res) return NoAnswer();
  auto body = ParseJsonStrict(res->body());
  const json::object* o = body.ok() ? body->if_object() : nullptr;
  const json::value* out = o != nullptr ? o->if_contains("hookSpecificOutput") : nullptr;
  const json::object* h = out != nullptr ? out->if_object() : nullptr;
  const json::value* decision = h != nullptr ? h->if_contains("permissionDecision") : nullptr;
  const json::value* reason = h != nullptr ? h->if_contains("permissionDecisionReason") : nullptr;
  if (decision == nullptr || !decision->is_string() || reason == nullptr || !reason->is_string()) {
    return {"HTTP " + std::to_string(res->result_int()), res->body().substr(0, 300)};
  }
  const std::string text(reason->as_string());
  if (decision->as_string() != "deny") return {std::string(decision->as_string()), text};
  constexpr std::string_view kPrefix = "Interlock: ";
  if (text.rfind(kPrefix, 0) != 0) return {"deny", text};
  const size_t end = text.find(':', kPrefix.size());
  if (end == std::string::npos) return {"deny", text};
  return {text.substr(kPrefix.size(), end - kPrefix.size()), text};
}

}  // namespace

std::optional<HttpResponse> Api::Dispatch(HttpRequest req, const Responder& like,
                                          std::chrono::milliseconds bound) {
  auto answer = std::make_shared<std::promise<HttpResponse>>();
  std::future<HttpResponse> got = answer->get_future();
  Responder to(like.executor(),
               [answer](HttpResponse res, Responder::WrittenFn written) {
                 answer->set_value(std::move(res));
                 if (written) written(true);
               },
               {});
  Handle(std::move(req), std::move(to));
  if (got.wait_for(bound) != std::future_status::ready) return std::nullopt;
  return got.get();
}

void Api::HandleRunDrill(const Caller& c, const HttpRequest& req, Responder r) {
  // No options: an empty body or {}; anything else is refused, never silently ignored.
  auto body = ParseObjectBody(req, options_.max_body_bytes, /*allow_empty=*/true);
  if (!body.ok()) return r.Send(InvalidRequest(body.error().message));
  if (!body->empty()) {
    return r.Send(InvalidRequest("POST /v1/drills takes no fields (unknown field '" +
                                 std::string(body->begin()->key()) + "')"));
  }
  if (drill_busy_.exchange(true)) {
    return r.Send(JsonError(409, "CONFLICT", "a drill is running on this daemon"));
  }
  net::post(drill_pool_, [this, actor = c.principal.name, r] {
    // The drill agent's credential: 256 random bits, accepted by every door only while
    // this drill runs (core::Authenticator::ArmDrill).
    const std::string raw = RandomBytes(32);
    const std::string credential =
        "ild_" + HexEncode(reinterpret_cast<const uint8_t*>(raw.data()), raw.size());
    authn_->ArmDrill(credential);
    FnProbe api("http_api", [&](const core::DrillTarget& t) {
      json::object body{{"tool", kDrillTool}, {"args", json::object{{"drill_id", t.drill_id}}}};
      return ReadApiAnswer(Dispatch(
          DrillRequest("/v1/runs/" + t.canary_run + "/calls", t.credential, std::move(body)), r,
          kProbeBound));
    });
    FnProbe hook("claude_code_hook", [&](const core::DrillTarget& t) {
      json::object event{{"session_id", t.drill_id},
                         {"transcript_path", ""},
                         {"cwd", "/"},
                         {"permission_mode", "default"},
                         {"hook_event_name", "PreToolUse"},
                         {"tool_name", "Bash"},
                         {"tool_input", json::object{{"command", "true"}}},
                         {"tool_use_id", "toolu_" + t.drill_id}};
      return ReadHookAnswer(Dispatch(
          DrillRequest("/v1/hooks/claude-code", t.credential, std::move(event)), r, kProbeBound));
    });
    std::vector<core::DrillProbe*> probes{&api, &hook};
    probes.insert(probes.end(), extra_probes_.begin(), extra_probes_.end());
    Result<core::DrillReport> report = drills_.Run(actor, credential, probes);
    authn_->DisarmDrill();
    drill_busy_.store(false);
    if (!report.ok()) return r.Send(StoreError(report.error()));
    json::object out = report->ToJson();
    out["recorded"] = report->recorded;
    r.Send(JsonResponse(200, std::move(out)));
  });
}

void Api::HandleDrillStatus(Responder r) {
  Blocking([this, r] {
    auto last = drills_.Last();
    if (!last.ok()) return r.Send(StoreError(last.error()));
    const auto warn = options_.drill_warn_after;
    json::object out{{"warn_after_s", warn.count()}};
    bool overdue = warn.count() > 0;
    if (*last) {
      const json::object& rec = **last;
      const json::value* time = rec.if_contains("time");
      if (warn.count() > 0 && time != nullptr && time->is_string()) {
        if (auto at = ParseRfc3339(time->as_string()); at.ok()) {
          overdue = clock_->Now() - *at > warn;
        }
      }
      out["last"] = rec;
    } else {
      out["last"] = nullptr;
    }
    out["overdue"] = overdue;
    r.Send(JsonResponse(200, std::move(out)));
  });
}

}  // namespace interlock::server
