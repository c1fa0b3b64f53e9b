#include "mcp/daemon_enforcer.h"

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <thread>
#include <utility>

#include <boost/json.hpp>

#include "common/decision_json.h"
#include "common/json.h"
#include "core/app/approvals.h"
#include "core/app/calls.h"
#include "core/app/secret_mask.h"

namespace interlock::mcp {
namespace {

namespace json = boost::json;

constexpr size_t kMaxReplyBytes = 8 << 20;

// Ids go into request paths: accept the daemon's id alphabet only.
bool SafeId(std::string_view id) {
  return !id.empty() && id.size() <= 200 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

std::string Str(const json::object& o, std::string_view key) { return StringMember(o, key); }

// "HTTP 503 (STORE_UNAVAILABLE: database is locked)" from an error reply.
std::string DescribeStatus(const DaemonEnforcer::Reply& r) {
  return DescribeDaemonReply(r.status, r.body);
}

// The daemon's reviewer-page link, shown to the MCP client: an http(s) URL of printable
// ASCII, else "" (never relayed as is).
std::string SafeUrl(const std::string& url) {
  if (url.size() > 2048 || (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)) {
    return "";
  }
  for (char c : url) {
    if (c <= 0x20 || c >= 0x7f) return "";
  }
  return url;
}

// The decision object of a daemon reply; nullopt when it is not one, or is one this gateway
// cannot follow.
std::optional<Decision> DecisionFromReply(const json::object& o) {
  std::optional<Decision> parsed = DecisionFromJson(o);
  if (!parsed) return std::nullopt;
  Decision& d = *parsed;
  if (d.verdict == Verdict::kRehearsalRequired && (!d.rehearsal || d.rehearsal->reported)) {
    return std::nullopt;  // nothing to rehearse: not a decision this gateway can follow
  }
  // An approved call an earlier read released (another identical call of this gateway
  // attached to the same approval): one grant runs one call.
  if (const json::value* b = o.if_contains("released_before");
      b != nullptr && b->is_bool() && b->get_bool() && d.verdict == Verdict::kAllow) {
    const json::value* id = o.if_contains("call_id");
    d = core::ReleasedBeforeDecision(id != nullptr && id->is_string() ? id->get_string() : "", d);
  }
  return parsed;
}

// A call's output (or a rehearsal's) as sent to the daemon: whole up to what the daemon
// keeps, else the transport marker the daemon's core masks (its body limit is 1 MiB).
json::value OutputForDaemon(const std::string& output_json) {
  const std::string sent = core::OutputCutForTransport(output_json, core::kMaxResultOutputBytes);
  auto out = ParseJsonStrict(sent, JsonLimits{kMaxReplyBytes, 128});
  return out.ok() ? std::move(*out) : json::value(sent);
}

}  // namespace

Result<std::unique_ptr<DaemonEnforcer>> DaemonEnforcer::Create(
    const core::DaemonConnector& connector, DaemonOptions options) {
  Result<std::unique_ptr<core::DaemonChannel>> channel =
      connector.Connect(static_cast<const core::DaemonAddress&>(options));
  if (!channel.ok()) return channel.error();
  if (options.wait_seconds < 1) options.wait_seconds = 1;
  return std::unique_ptr<DaemonEnforcer>(
      new DaemonEnforcer(std::move(options), std::move(channel).value()));
}

DaemonEnforcer::DaemonEnforcer(DaemonOptions options, std::unique_ptr<core::DaemonChannel> channel)
    : options_(std::move(options)), channel_(std::move(channel)) {}

DaemonEnforcer::~DaemonEnforcer() = default;

Decision DaemonEnforcer::Unavailable(std::string_view tool, const std::string& what) const {
  Decision d = DenyDecision(Code::kStoreUnavailable,
                            "Interlock could not get a decision from the daemon: " + what +
                                "; the call is denied (fail closed)",
                            "daemon");
  d.tool = std::string(tool);
  return d;
}

Result<DaemonRun> DaemonEnforcer::StartRun(std::string_view claude_code_session,
                                           std::string_view cwd) {
  boost::json::object o;
  if (!claude_code_session.empty()) {
    o["claude_code_session"] = boost::json::string(claude_code_session);
    if (!cwd.empty()) o["cwd"] = boost::json::string(cwd);
  }
  const std::string body = o.empty() ? std::string("{}") : CanonicalJson(boost::json::value(o));
  auto r = Exchange("POST", "/v1/runs", body, options_.request_timeout);
  if (!r.ok()) return r.error();
  if (r->status != 201 && r->status != 200) return Error::Unavailable(DescribeStatus(*r));
  auto doc = ParseJsonStrict(r->body);
  if (!doc.ok() || !doc->is_object()) {
    return Error::Unavailable("the daemon's run reply is not a JSON object");
  }
  DaemonRun run{Str(doc->get_object(), "run_id"), Str(doc->get_object(), "agent_id")};
  if (!SafeId(run.run_id)) return Error::Unavailable("the daemon's run reply has no valid run_id");
  UseRun(run.run_id);
  return run;
}

Result<std::string> DaemonEnforcer::EnsureRun() {
  if (std::string run = run_id(); !run.empty()) return run;
  std::lock_guard start_lock(start_mu_);
  if (std::string run = run_id(); !run.empty()) return run;  // started meanwhile
  auto started = StartRun();
  if (!started.ok()) return started.error();
  return std::move(started->run_id);
}

void DaemonEnforcer::UseRun(std::string run_id) {
  std::lock_guard lock(mu_);
  run_id_ = std::move(run_id);
}

std::string DaemonEnforcer::run_id() const {
  std::lock_guard lock(mu_);
  return run_id_;
}

Status DaemonEnforcer::EndRun() {
  const std::string run = run_id();
  if (!SafeId(run)) return Status::Ok();
  auto r = Exchange("POST", "/v1/runs/" + run + "/end", "{}", options_.request_timeout);
  if (!r.ok()) return r.error();
  if (r->status / 100 != 2) return Error::Unavailable(DescribeStatus(*r));
  return Status::Ok();
}

Enforcer::Outcome DaemonEnforcer::Decide(ToolCall call, std::string_view idempotency_key) {
  Result<std::string> ensured = EnsureRun();
  if (!ensured.ok()) {
    return {Unavailable(call.tool, "cannot start a run: " + ensured.error().message), ""};
  }
  const std::string run = std::move(ensured).value();
  if (!SafeId(run)) return {Unavailable(call.tool, "the run id is not valid"), ""};
  // The daemon does not know this gateway's upstream secrets: they are masked before the
  // arguments leave (the daemon decides on, and records, the masked arguments).
  json::value args(std::move(call.args));
  core::SecretMask(call.mask_values).MaskJson(&args);
  json::object body{{"tool", call.tool}, {"args", std::move(args)}};
  if (!call.approval_id.empty()) body["approval_id"] = call.approval_id;
  if (!call.declared_labels.empty()) {
    json::array labels;
    for (const std::string& l : call.declared_labels) labels.emplace_back(l);
    body["declared_labels"] = std::move(labels);
  }
  if (!call.refusal_reason.empty()) {
    body["refusal"] = json::object{{"rule", call.refusal_rule}, {"reason", call.refusal_reason}};
  }
  auto r = Exchange("POST", "/v1/runs/" + run + "/calls", ToJsonText(body),
                    options_.request_timeout, {}, call.traceparent, idempotency_key);
  return DecisionOutcome(call.tool, r);
}

Enforcer::Outcome DaemonEnforcer::Rehearsed(const Outcome& pending, ToolCall call,
                                            const ToolResult& result) {
  if (!SafeId(pending.call_id)) return {Unavailable(call.tool, "no call was rehearsed"), ""};
  json::value args(std::move(call.args));
  core::SecretMask(call.mask_values).MaskJson(&args);  // as Decide sent them
  json::object body{{"ok", result.ok}, {"args", std::move(args)}};
  if (!result.output_json.empty()) body["output"] = OutputForDaemon(result.output_json);
  if (!result.error.empty()) body["error"] = result.error;
  auto r = Exchange("POST", "/v1/calls/" + pending.call_id + "/rehearsal", ToJsonText(body),
                    options_.request_timeout);
  return DecisionOutcome(call.tool, r);
}

Enforcer::Outcome DaemonEnforcer::DecisionOutcome(const std::string& tool, const Result<Reply>& r) {
  if (!r.ok()) return {Unavailable(tool, r.error().message), ""};
  auto doc = ParseOwnJson(r->body);
  if (r->status == 400 && doc.ok() && doc->is_object()) {
    // A malformed request is answered with a deny decision object; keep it (a deny).
    auto d = DecisionFromReply(doc->get_object());
    if (d && d->verdict == Verdict::kDeny)
      return {std::move(*d), Str(doc->get_object(), "call_id")};
  }
  if (r->status != 200) return {Unavailable(tool, DescribeStatus(*r)), ""};
  if (!doc.ok() || !doc->is_object()) {
    return {Unavailable(tool, "the daemon's decision is not a JSON object"), ""};
  }
  const json::object& o = doc->get_object();
  auto d = DecisionFromReply(o);
  if (!d) return {Unavailable(tool, "the daemon's reply holds no decision"), ""};
  Outcome out{std::move(*d), Str(o, "call_id")};
  if (out.decision.verdict != Verdict::kDeny && !SafeId(out.call_id)) {
    // Without a call id the result cannot be recorded nor the approval awaited.
    return {Unavailable(tool, "the daemon's decision has no call_id"), ""};
  }
  if (out.decision.verdict == Verdict::kApprovalRequired) {
    out.approval_id = Str(o, "approval_id");
    if (!SafeId(out.approval_id)) out.approval_id.clear();
    out.approval_url = SafeUrl(Str(o, "approval_url"));
  }
  if (out.decision.tool.empty()) out.decision.tool = tool;
  return out;
}

Enforcer::Outcome DaemonEnforcer::AwaitApproval(const Outcome& pending,
                                                const std::function<bool()>& cancelled,
                                                const std::function<void()>& progress) {
  const std::string& tool = pending.decision.tool;
  if (!SafeId(pending.call_id)) return {Unavailable(tool, "no call to wait for"), pending.call_id};
  const std::string target =
      "/v1/calls/" + pending.call_id + "?wait=" + std::to_string(options_.wait_seconds);
  const auto timeout = std::chrono::seconds(options_.wait_seconds) + options_.request_timeout;
  auto keep_going = [&] {
    if (cancelled && cancelled()) return false;
    if (progress) progress();
    return true;
  };
  for (;;) {
    if (cancelled && cancelled()) return pending;
    const auto started = std::chrono::steady_clock::now();
    auto r = Exchange("GET", target, "",
                      std::chrono::duration_cast<std::chrono::milliseconds>(timeout), keep_going);
    if (!r.ok()) {
      if (cancelled && cancelled()) return pending;
      return {Unavailable(tool, "while waiting for approval: " + r.error().message),
              pending.call_id};
    }
    if (r->status != 200) {
      return {Unavailable(tool, "while waiting for approval: " + DescribeStatus(*r)),
              pending.call_id};
    }
    auto doc = ParseOwnJson(r->body);
    if (!doc.ok() || !doc->is_object()) {
      return {Unavailable(tool, "while waiting for approval: the reply is not a JSON object"),
              pending.call_id};
    }
    auto d = DecisionFromReply(doc->get_object());
    if (!d) {
      return {Unavailable(tool, "while waiting for approval: the reply holds no decision"),
              pending.call_id};
    }
    if (d->verdict != Verdict::kApprovalRequired) {
      if (d->tool.empty()) d->tool = tool;
      return {std::move(*d), pending.call_id};
    }
    // Still pending: poll again, never faster than once per progress interval (a daemon
    // that answers a long poll at once must not make this a busy loop).
    while (std::chrono::steady_clock::now() - started < options_.poll_interval) {
      if (!keep_going()) return pending;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

Enforcer::Outcome DaemonEnforcer::CheckApproval(const Outcome& pending) {
  const std::string& tool = pending.decision.tool;
  if (!SafeId(pending.call_id)) return {Unavailable(tool, "no call to look up"), pending.call_id};
  Outcome out = DecisionOutcome(
      tool, Exchange("GET", "/v1/calls/" + pending.call_id, "", options_.request_timeout));
  if (out.call_id.empty()) out.call_id = pending.call_id;
  if (out.decision.verdict == Verdict::kApprovalRequired && out.approval_id.empty()) {
    out.approval_id = pending.approval_id;
  }
  return out;
}

Status DaemonEnforcer::KillSwitchClear() {
  const std::string run = run_id();
  if (!SafeId(run)) return Error::Unavailable("no run to look the kill switch up for");
  auto r = Exchange("GET", "/v1/runs/" + run, "", options_.request_timeout);
  if (!r.ok()) return Error::Unavailable(r.error().message);
  if (r->status != 200) return Error::Unavailable(DescribeStatus(*r));
  auto doc = ParseJsonStrict(r->body, JsonLimits{kMaxReplyBytes, 64});
  const json::value* k =
      doc.ok() && doc->is_object() ? doc->get_object().if_contains("kill_switch") : nullptr;
  if (k == nullptr)
    return Error::Unavailable("the daemon's run reply does not say its kill switch");
  if (k->is_null()) return Status::Ok();
  std::string scope = "?", reason;
  if (k->is_object()) {
    if (const auto* s = k->get_object().if_contains("scope"); s && s->is_string()) {
      scope = std::string(s->get_string());
    }
    if (const auto* s = k->get_object().if_contains("reason"); s && s->is_string()) {
      reason = std::string(s->get_string());
    }
  }
  return Error::Denied("kill switch engaged (" + scope + "): " + reason);
}

Status DaemonEnforcer::RecordResult(std::string_view call_id, const ToolResult& result) {
  if (!SafeId(call_id)) return Error::Invalid("no valid call id to record a result for");
  json::object body;
  body["ok"] = result.ok;
  if (!result.output_json.empty()) body["output"] = OutputForDaemon(result.output_json);
  if (!result.error.empty()) body["error"] = result.error;
  auto r = Exchange("POST", "/v1/calls/" + std::string(call_id) + "/result", ToJsonText(body),
                    options_.request_timeout);
  if (!r.ok()) return r.error();
  if (r->status / 100 != 2) return Error::Unavailable(DescribeStatus(*r));
  return Status::Ok();
}

Status DaemonEnforcer::Withdraw(const Outcome& pending, std::string_view reason) {
  if (!SafeId(pending.approval_id)) return Error::Invalid("no valid approval id to withdraw");
  json::object body{{"reason", std::string(reason.substr(0, 1024))}};
  auto r = Exchange("POST", "/v1/approvals/" + pending.approval_id + "/withdraw", ToJsonText(body),
                    options_.request_timeout);
  if (!r.ok()) return r.error();
  if (r->status == 409) return Error{ErrorKind::kAlreadyExists, DescribeStatus(*r)};
  if (r->status / 100 != 2) return Error::Unavailable(DescribeStatus(*r));
  return Status::Ok();
}

Result<ToolViewSource::View> DaemonEnforcer::ViewTools(const std::vector<std::string>& tools) {
  json::array names;
  for (const std::string& t : tools) names.emplace_back(t);
  auto r = Exchange("POST", "/v1/tools/view", ToJsonText(json::object{{"tools", std::move(names)}}),
                    options_.request_timeout);
  if (!r.ok()) return r.error();
  if (r->status != 200) return Error::Unavailable(DescribeStatus(*r));
  auto doc = ParseJsonStrict(r->body);
  const json::value* listed =
      doc.ok() && doc->is_object() ? doc->get_object().if_contains("tools") : nullptr;
  if (listed == nullptr || !listed->is_object()) {
    return Error::Unavailable("the daemon's tool view is not a JSON object with \"tools\"");
  }
  View view;
  for (const auto& kv : listed->get_object()) {
    if (!kv.value().is_object()) continue;
    const json::object& e = kv.value().get_object();
    const json::value* visible = e.if_contains("visible");
    Entry entry;
    entry.visible = visible != nullptr && visible->is_bool() && visible->get_bool();
    if (const json::value* scope = e.if_contains("scope"); scope != nullptr) {
      // A scope that cannot be read shows no field rather than every field.
      entry.scope.emplace();
      if (scope->is_array()) {
        for (const json::value& f : scope->get_array()) {
          if (f.is_string()) entry.scope->emplace_back(f.get_string());
        }
      }
    }
    view[std::string(kv.key())] = std::move(entry);
  }
  return view;
}

Result<std::unique_ptr<DaemonEnforcer>> DaemonEnforcerFromEnv(
    const core::DaemonConnector& connector, const std::string& url, const std::string& token_env,
    const std::string& ca_file) {
  if (token_env.empty()) {
    return Error::Invalid("--daemon needs --token-env NAME (the variable holding the token)");
  }
  const char* token = std::getenv(token_env.c_str());
  if (token == nullptr || *token == '\0') {
    return Error::Invalid("--token-env " + token_env + ": the variable is not set or empty");
  }
  DaemonOptions options;
  options.url = url;
  options.token = token;
  options.ca_file = ca_file;
  return DaemonEnforcer::Create(connector, std::move(options));
}

}  // namespace interlock::mcp
