#include "doors/mcp_http/mcp_http.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>

#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "common/crypto.h"
#include "common/json.h"
#include "common/text.h"
#include "doors/mcp_http/mcp_credentials.h"
#include "doors/mcp_http/mcp_enforcer.h"
#include "doors/mcp_http/mcp_http_internal.h"
#include "mcp/framing.h"
#include "mcp/gateway.h"
#include "mcp/http_upstream.h"
#include "mcp/request_headers.h"
#include "mcp/revision.h"
#include "mcp/sandbox.h"
#include "mcp/server_env.h"
#include "mcp/sse.h"
#include "mcp/staging.h"
#include "mcp/tool_view.h"
#include "mcp/upstream.h"

namespace interlock::server {

namespace http = boost::beast::http;
namespace json = boost::json;
using Steady = std::chrono::steady_clock;

using mcp_http_internal::Accepts;
using mcp_http_internal::Exchange;
using mcp_http_internal::Header;
using mcp_http_internal::ModernRequest;
using mcp_http_internal::ModernStatus;
using mcp_http_internal::ParamHeadersOf;
using mcp_http_internal::ParseAccept;
using mcp_http_internal::ProgressKey;
using mcp_http_internal::RefusedPostHeaders;
using mcp_http_internal::RpcError;
using mcp_http_internal::RpcJson;
using mcp_http_internal::SseHead;
using mcp_http_internal::SubscriptionOf;
using mcp_http_internal::ValidSessionId;
using mcp_http_internal::WithClientId;

namespace {

constexpr size_t kMaxBacklog = 1000;  // server messages waiting for a GET stream

// While an upstream's callback thread runs Gateway::OnServerLine: the id of the request
// whose upstream reply stream carried the message (UpstreamCallbacks::on_message), else
// null. Per thread, so Deliver calls from other threads never see it.
thread_local const boost::json::value* t_related = nullptr;

void Log(std::string_view what) { std::cerr << "interlock mcp-http: " << what << '\n'; }

}  // namespace

// ---------------------------------------------------------------------------------------
// Session

class McpHttpService::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(McpHttpService* service, std::string id, core::Principal agent,
          core::CallerIdentity identity, const ResolvedUpstream* upstream, bool stateless = false)
      : service_(service),
        id_(std::move(id)),
        agent_(std::move(agent)),
        identity_(std::move(identity)),
        up_(upstream),
        stateless_(stateless) {
    Touch();
    if (up_->config.has_credentials && service_->deps_.credentials != nullptr) {
      creds_ = std::make_unique<SessionCredentials>(service_->deps_.credentials,
                                                    service_->deps_.policies, up_->config.name,
                                                    agent_.agent_id, identity_);
    }
  }
  // The caller's bearer token of this request: the subject of a token exchange.
  void SetSubjectToken(const HttpRequest& req) {
    if (creds_ == nullptr) return;
    const std::string auth = Header(req, "authorization");
    if (auth.size() > 7 && AsciiLower(auth.substr(0, 7)) == "bearer ")
      creds_->SetSubjectToken(auth.substr(7));
  }
  ~Session() { Teardown("destroyed"); }

  const std::string& id() const { return id_; }
  const std::string& agent_id() const { return agent_.agent_id; }
  // A 2026-07-28 client's requests (no MCP-Session-Id): found by agent and token only.
  bool stateless() const { return stateless_; }
  // The session's identity: a later request must present the same one (another human
  // authorized for the same upstream, hence the same agent, cannot join this session).
  bool SameIdentity(const core::CallerIdentity& o) const {
    return identity_.issuer == o.issuer && identity_.subject == o.subject &&
           identity_.on_behalf_of == o.on_behalf_of;
  }
  const std::string& upstream_name() const { return up_->config.name; }
  bool closed() const { return closed_.load(); }
  // No request in flight (none held for a decision, an approval or the upstream's answer).
  bool Idle() {
    std::lock_guard lock(mu_);
    return exchanges_.empty();
  }
  int64_t last_active_ms() const { return last_active_ms_.load(); }
  // Ended to admit a newer session of its agent (McpHttpService::AdmitSessionLocked): the
  // teardown records it in the audit trail.
  void MarkEvicted() { evicted_.store(true); }
  void Touch() {
    last_active_ms_.store(
        std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now().time_since_epoch())
            .count());
  }

  void StartWorker() {
    worker_ = std::thread([this] { WorkerLoop(); });
  }

  // Queues work for the worker thread (never blocks the caller).
  void Post(std::function<void()> task) {
    std::lock_guard lock(task_mu_);
    if (stop_worker_) return;
    tasks_.push_back(std::move(task));
    task_cv_.notify_one();
  }

  // Worker: run id, enforcer, upstream, gateway. On failure answers `init_key` and closes.
  void Setup(const std::string& init_key) {
    std::lock_guard setup_lock(setup_mu_);  // Teardown reads what this builds
    if (closed()) return;
    const McpHttpDeps& d = service_->deps_;
    auto run = service_->calls_.StartRun(agent_.agent_id);
    if (!run.ok()) return SetupFailed(init_key, 503, "cannot start a run: " + run.error().message);
    run_id_ = run->run_id;
    enforcer_ = std::make_unique<McpEnforcer>(d.guard, &service_->calls_, d.waiters,
                                              agent_.agent_id, agent_.name, run_id_,
                                              std::chrono::seconds(1), d.approval_url);
    if (!identity_.issuer.empty()) enforcer_->SetIdentity(identity_);
    tool_view_ = std::make_unique<mcp::PolicyToolView>(d.policies, agent_.agent_id);
    if (!up_->config.command.empty()) {
      std::optional<mcp::SandboxSpec> sandbox;
      if (up_->config.sandbox) {
        auto prepared = PrepareSandboxFor(d, service_->SandboxRequestFor(up_->config));
        if (!prepared.ok()) return SetupFailed(init_key, 502, prepared.error().message);
        sandbox = std::move(*prepared);
      }
      // SpawnServer checks the real bwrap run (mcp/sandbox.h).
      std::map<std::string, std::string> env = up_->child_env;
      if (creds_ != nullptr) {
        // One credential per session, in the server's environment; renewed by ending the
        // session before it expires (Tick).
        auto c = creds_->ForStart();
        if (!c.ok()) return SetupFailed(init_key, 502, c.error().message);
        const UpstreamCredentialTerms* terms = service_->deps_.credentials->Terms(up_->config.name);
        env[terms->env] = c->access_token;
        start_credential_ = c->record_json;
        start_expires_ = c->expires_at - terms->renew_before;
      }
      auto child = mcp::StdioUpstream::Spawn(
          up_->config.command, env, service_->config_.child_grace, sandbox ? &*sandbox : nullptr);
      if (!child.ok()) {
        if (!sandbox) return SetupFailed(init_key, 502, child.error().message);
        return SetupFailed(init_key, 502,
                           "upstream " + up_->config.name + ": " + child.error().message +
                               "; the server is not started");
      }
      upstream_ = std::move(*child);
    } else {
      mcp::HttpUpstreamOptions o;
      o.connector = d.connector;
      o.url = up_->config.url;
      o.headers = up_->headers;
      o.ca_file = up_->config.ca_file;
      o.idle_timeout = up_->config.keep_alive;
      if (creds_ != nullptr)
        o.authorization = [c = creds_.get()] { return c->SessionAuthorization(); };
      auto client = mcp::HttpUpstream::Create(std::move(o));
      if (!client.ok()) return SetupFailed(init_key, 502, client.error().message);
      http_ = client->get();
      upstream_ = std::move(*client);
    }
    mcp::GatewayOptions g;
    for (const auto& [name, other] : service_->upstreams_) {
      mcp::ServerSpec spec;
      spec.command = other.config.command;
      spec.env = other.child_env;
      spec.url = other.config.url;
      spec.connector = d.connector;
      spec.headers = other.headers;
      spec.ca_file = other.config.ca_file;
      if (!other.config.command.empty()) ContainStaging(d, other.config, &spec);
      auto& staging = staging_[name];
      staging = mcp::MakeStagingUpstream(std::move(spec));
      g.rehearsal_upstreams.emplace(name, staging.get());
    }
    g.agent_id = agent_.agent_id;
    g.tools = tool_view_.get();
    g.enforcer = enforcer_.get();
    g.pins = d.pins;
    // Every secret the daemon holds, whichever upstream it belongs to: a server that got
    // another's (a file it could read, a value an agent passed on) cannot echo it out.
    g.secrets = service_->masked_;
    g.forward_methods = up_->config.forward_methods;
    // Approvals over MRTR: a stateless client's retry may reach this daemon after a restart
    // or another daemon of the fleet, in a new run of the same scope; its approval is not
    // withdrawn when this session ends, it ends at its own timeout (docs/mcp.md).
    g.request_states = d.request_states;
    g.mrtr_wait = service_->config_.approval_retry_wait;
    if (stateless_) {
      g.state_scope = id_;
      g.withdraw_open_states_on_close = false;
    }
    if (creds_ != nullptr) AttachCredentials(&g);
    if (egress_ != nullptr) {
      g.egress_receipts = [egress = egress_.get()](const std::string& call_id) {
        return egress->TakeReceiptsJson(call_id);
      };
    }
    gateway_ = std::make_unique<mcp::Gateway>(
        std::move(g), [this](const json::value& v) { Deliver(v); },
        [this](const json::value& v) { upstream_->Send(v); });
    mcp::UpstreamCallbacks cb;
    cb.on_message = [this](std::string_view line, const json::value* related) {
      // Gateway::OnServerLine passes server requests and notifications to Deliver on this
      // thread, before it returns: the hint reaches Deliver through t_related. The
      // upstream names the request by the gateway's id; the exchange is the client's.
      std::optional<json::value> client_id;
      if (related != nullptr) client_id = gateway_->ClientIdOf(*related);
      t_related = client_id ? &*client_id : nullptr;
      gateway_->OnServerLine(line, related);
      t_related = nullptr;
    };
    cb.on_oversized = [this] { gateway_->OnServerOversized(); };
    cb.on_closed = [this](std::string why) {
      Log("session " + id_.substr(0, 8) + ": upstream " + up_->config.name + ": " + why);
      gateway_->OnUpstreamClosed(why);
      service_->CloseSession(shared_from_this(), why);
    };
    if (Status st = upstream_->Start(std::move(cb)); !st.ok()) {
      return SetupFailed(init_key, 502, st.error().message);
    }
    ready_ = true;
    std::lock_guard gw_lock(gw_mu_);
    live_gateway_ = gateway_.get();
  }

  // Worker: the stream of `exchange` closed. While the request is unanswered the
  // client stopped listening for it: a call held for approval is withdrawn.
  void StreamClosed(const std::weak_ptr<Exchange>& exchange) {
    std::string key;
    {
      std::shared_ptr<Exchange> ex = exchange.lock();
      if (ex == nullptr) return;  // answered and gone
      key = ex->key;
      std::lock_guard lock(mu_);
      auto it = exchanges_.find(key);
      // Answered (the normal end of the stream), or the id reused by a later request.
      if (it == exchanges_.end() || it->second != ex) return;
    }
    auto id = ParseJsonStrict(key);
    if (!id.ok()) return;
    std::lock_guard gw_lock(gw_mu_);
    if (live_gateway_ != nullptr) {
      live_gateway_->CancelHeld(*id, "the MCP client closed the request's HTTP stream");
    }
  }

  // Worker: one client message.
  void ClientMessage(const std::string& body) {
    if (!ready_ || closed()) return;
    gateway_->OnClientLine(body);
  }

  // Worker: a request (exchange `key`) that must pass the Mcp-Param-* check first: every
  // 2026-07-28 request, and a legacy one that sent such headers. Its headers are checked
  // against the tool's x-mcp-header arguments (400 -32020, nothing decided).
  void ModernMessage(const std::string& key, const std::string& body,
                     const std::map<std::string, std::string, std::less<>>& param_headers) {
    if (!ready_ || closed()) return;
    auto doc = ParseJsonStrict(body);
    if (doc.ok() && doc->is_object()) {
      if (auto why = gateway_->ParamHeaderMismatch(doc->get_object(), param_headers)) {
        if (std::shared_ptr<Exchange> ex = TakeExchange(key)) {
          const json::value* id = doc->get_object().if_contains("id");
          const json::value client_id = !ex->client_id.is_null() ? ex->client_id
                                        : id != nullptr          ? *id
                                                                 : json::value();
          ex->responder.Send(
              RpcJson(400, mcp::ErrorResponse(client_id, mcp::kHeaderMismatch, *why)));
        }
        return;
      }
    }
    gateway_->OnClientLine(body);
  }

  // A new id of the door's for a 2026-07-28 request (Exchange::client_id): unique in this
  // session, an integer no client-side id space reserves.
  json::value NextDoorId() { return json::value(next_door_id_.fetch_add(1)); }

  // Registers a POSTed request before the gateway sees it. False: the id is in use.
  bool AddExchange(const std::string& key, std::shared_ptr<Exchange> ex) {
    std::lock_guard lock(mu_);
    if (exchanges_.count(key) != 0) return false;
    if (!ex->progress_key.empty()) progress_[ex->progress_key] = key;
    ex->key = key;
    exchanges_.emplace(key, std::move(ex));
    return true;
  }

  // The client cancelled request `key`: its POST ends without a response.
  void CancelExchange(const std::string& key) {
    std::shared_ptr<Exchange> ex = TakeExchange(key);
    if (ex == nullptr) return;
    if (ex->stream) {
      ex->stream->End();
    } else if (ex->accept_sse) {
      ex->responder.StartStream(SseHead(ex->session_header), {})->End();
    } else {
      ex->responder.Send(RpcError(200, mcp::kInternalError, "request cancelled by the client"));
    }
  }

  // GET: the stream for server-initiated messages. False when one is open already.
  bool OpenListen(Responder r) {
    std::lock_guard lock(mu_);
    if (listen_ && listen_->open()) return false;
    listen_ = r.StartStream(SseHead(""), {});
    listen_last_write_ = Steady::now();
    while (!backlog_.empty()) {
      listen_->Write(std::move(backlog_.front()));
      backlog_.pop_front();
    }
    return true;
  }

  // Gateway -> client (any gateway thread).
  void Deliver(const json::value& msg) {
    if (closed()) return;
    const std::string text = ToJsonText(msg);
    const json::object* o = msg.is_object() ? &msg.get_object() : nullptr;
    if (o == nullptr) return;
    const json::value* method = o->if_contains("method");
    const json::value* id = o->if_contains("id");
    if (method == nullptr) {
      if (id == nullptr) return;
      std::shared_ptr<Exchange> ex = TakeExchange(mcp::IdKey(*id));
      if (ex == nullptr) {
        // A response must go on its request's stream; that stream is gone.
        Log("session " + id_.substr(0, 8) + ": dropped a response with no open request");
        return;
      }
      Finish(*ex,
             ex->client_id.is_null() ? text : ToJsonText(WithClientId(msg, ex->key, ex->client_id)),
             o->contains("error"), ex->modern ? ModernStatus(*o) : 200);
      return;
    }
    std::lock_guard lock(mu_);
    if (const json::value* sub = stateless_ ? SubscriptionOf(*o) : nullptr) {
      // subscriptions/listen (2026-07-28 clients, whose sessions are the stateless ones): on
      // the stream of the request that opened it, never on another request's (the gateway
      // put the client's own id here).
      auto e = exchanges_.find(mcp::IdKey(*sub));
      if (e != exchanges_.end() && e->second->accept_sse) {
        WriteLocked(e->second,
                    e->second->client_id.is_null()
                        ? text
                        : ToJsonText(WithClientId(msg, e->second->key, e->second->client_id)));
      } else {
        Log("session " + id_.substr(0, 8) + ": dropped a notification of a closed subscription");
      }
      return;
    }
    if (method->is_string() && method->get_string() == "notifications/progress") {
      // Progress belongs to one request: it goes on that request's stream only, never on the
      // GET stream or another request's (clients sharing a stateless session would read each
      // other's). Progress for no open request stream is dropped and counted.
      const json::value* params = o->if_contains("params");
      const json::value* token = params != nullptr && params->is_object()
                                     ? params->get_object().if_contains("progressToken")
                                     : nullptr;
      if (token != nullptr) {
        auto p = progress_.find(mcp::IdKey(*token));
        if (p != progress_.end()) {
          auto e = exchanges_.find(p->second);
          if (e != exchanges_.end() && e->second->accept_sse) {
            const Exchange& ex = *e->second;
            if (!ex.client_progress_token) {
              WriteLocked(e->second, text);
            } else {
              json::value own = msg;
              own.get_object()["params"].get_object()["progressToken"] = *ex.client_progress_token;
              WriteLocked(e->second, ToJsonText(own));
            }
            return;
          }
        }
      }
      ++dropped_progress_;
      Log("session " + id_.substr(0, 8) + ": dropped a progress notification for no open " +
          "request stream (" + std::to_string(dropped_progress_) + " this session)");
      return;
    }
    // Came on the upstream's reply stream for one of this client's requests (HTTP
    // upstreams): it relates to that request, so it goes on that request's stream (the
    // spec's SHOULD), not the GET stream.
    if (t_related != nullptr) {
      auto e = exchanges_.find(mcp::IdKey(*t_related));
      if (e != exchanges_.end() && e->second->accept_sse) {
        WriteLocked(e->second, text);
        return;
      }
    }
    // Not tied to a request we can name: the GET stream, else an open request stream,
    // else kept for the next GET stream.
    if (listen_ && listen_->open()) {
      listen_->Write(mcp::FormatSseEvent(text));
      listen_last_write_ = Steady::now();
      return;
    }
    for (auto& [key, ex] : exchanges_) {
      if (ex->accept_sse && (!ex->stream || ex->stream->open())) {
        WriteLocked(ex, text);
        return;
      }
    }
    if (backlog_.size() >= kMaxBacklog) backlog_.pop_front();
    backlog_.push_back(mcp::FormatSseEvent(text));
  }

  // Service thread: SSE upgrade of held answers, keep-alives. True when idle too long.
  bool Tick(Steady::time_point now) {
    const McpHttpConfig& c = service_->config_;
    std::lock_guard lock(mu_);
    for (auto& [key, ex] : exchanges_) {
      if (!ex->stream && ex->accept_sse && now - ex->started >= c.sse_after) {
        ex->stream = ex->responder.StartStream(SseHead(ex->session_header), OnStreamClose(ex));
        ex->stream->Write(mcp::FormatSseComment("interlock: waiting"));
        ex->last_write = now;
      } else if (ex->stream && now - ex->last_write >= c.keepalive) {
        ex->stream->Write(mcp::FormatSseComment("keep-alive"));
        ex->last_write = now;
      }
    }
    if (listen_ && listen_->open() && now - listen_last_write_ >= c.keepalive) {
      listen_->Write(mcp::FormatSseComment("keep-alive"));
      listen_last_write_ = now;
    }
    const auto idle = std::chrono::milliseconds(
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() -
        last_active_ms_.load());
    return exchanges_.empty() && (idle >= c.session_idle_timeout || StartCredentialDue());
  }

  // command: upstreams holding a credential: it is due for renewal, which ends the session
  // (the client starts a new one, whose server gets a fresh credential).
  bool StartCredentialDue() const {
    return !start_credential_.empty() && service_->deps_.clock->Now() >= start_expires_;
  }

  // The gateway asks for each allowed call's credential (url: a token per call with the
  // tool's scopes; command: the session's own, if the tool names its scopes).
  void AttachCredentials(mcp::GatewayOptions* g) {
    SessionCredentials* c = creds_.get();
    g->more_secrets = [c] { return c->Issued(); };
    if (http_ != nullptr) {
      g->credential_for = [c](const Decision& d) { return c->ForCall(d); };
      g->to_server_authorized = [h = http_](const json::value& v, const std::string& a) {
        h->SendAuthorized(v, a);
      };
      return;
    }
    g->credential_for = [this,
                         c](const Decision& d) -> Result<mcp::GatewayOptions::ForwardCredential> {
      if (StartCredentialDue()) {
        return Error::Unavailable(
            "the session's credential is due for renewal; start a new MCP session");
      }
      if (Status st = c->CheckStartScopes(d); !st.ok()) return st.error();
      return mcp::GatewayOptions::ForwardCredential{"", start_credential_};
    };
    g->to_server_authorized = [this](const json::value& v, const std::string&) {
      upstream_->Send(v);
    };
  }

  void MarkClosed(const std::string& why) {
    std::lock_guard lock(why_mu_);
    if (close_why_.empty()) close_why_ = why;
    closed_.store(true);
  }

  // Service thread (or destructor): stops everything the session owns. Idempotent.
  void Teardown(const std::string& why) {
    std::call_once(teardown_once_, [&] {
      closed_.store(true);
      mcp::Upstream* up = nullptr;
      mcp::Gateway* gw = nullptr;
      {
        std::lock_guard setup_lock(setup_mu_);
        up = upstream_.get();
        gw = ready_ ? gateway_.get() : nullptr;
      }
      if (up != nullptr) up->Close();                // no upstream callback runs after this
      if (gw != nullptr) gw->OnUpstreamClosed(why);  // wakes a worker waiting on the catalog
      {
        std::lock_guard lock(task_mu_);
        stop_worker_ = true;
        task_cv_.notify_all();
      }
      if (worker_.joinable()) worker_.join();
      {
        std::lock_guard gw_lock(gw_mu_);
        live_gateway_ = nullptr;
      }
      if (gw != nullptr) {
        std::string ended;
        {
          std::lock_guard lock(why_mu_);
          ended = close_why_.empty() ? why : close_why_;
        }
        if (evicted_.load() && !run_id_.empty()) {
          // The eviction on record before what it withdraws and the run's end.
          if (Status st = service_->calls_.RecordMcpSessionEvicted(
                  run_id_, agent_.agent_id, id_.substr(0, 8), up_->config.name, ended);
              !st.ok()) {
            Log("session " + id_.substr(0, 8) +
                ": the eviction was not recorded: " + st.error().message);
          }
        }
        // Withdraws the approvals of calls still held (the client will never hear back).
        gw->OnClientClosed("the MCP session ended: " + ended);
      }
      // A stateless client holding a requestState retries in a later session (perhaps on
      // another daemon of the fleet): the run its call was decided in stays open for it.
      const bool keep_run = stateless_ && gw != nullptr && gw->HasOpenStates();
      gateway_.reset();
      upstream_.reset();
      if (!run_id_.empty() && !keep_run) {
        (void)service_->calls_.EndRun(run_id_, agent_.agent_id);
      }
      std::map<std::string, std::shared_ptr<Exchange>, std::less<>> left;
      std::shared_ptr<ResponseStream> listen;
      {
        std::lock_guard lock(mu_);
        left.swap(exchanges_);
        progress_.clear();
        listen.swap(listen_);
      }
      for (auto& [key, ex] : left) {
        auto id = ParseJsonStrict(key);
        const std::string text = ToJsonText(mcp::ErrorResponse(
            id.ok() ? *id : json::value(nullptr), mcp::kInternalError,
            "Interlock: the MCP session ended (" + why + ") before the server answered"));
        Finish(*ex, text, true);
      }
      if (listen) listen->End();
    });
  }

 private:
  void WorkerLoop() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock lock(task_mu_);
        task_cv_.wait(lock, [&] { return stop_worker_ || !tasks_.empty(); });
        if (stop_worker_) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

  void SetupFailed(const std::string& init_key, unsigned status, const std::string& why) {
    Log("session for agent " + agent_.agent_id + ", upstream " + up_->config.name +
        " could not start: " + why);
    std::shared_ptr<Exchange> ex = TakeExchange(init_key);
    if (ex != nullptr) {
      ex->responder.Send(
          RpcError(status, mcp::kInternalError,
                   "Interlock could not start the MCP server " + up_->config.name + ": " + why));
    }
    service_->CloseSession(shared_from_this(), "setup failed");
  }

  std::shared_ptr<Exchange> TakeExchange(const std::string& key) {
    std::lock_guard lock(mu_);
    auto it = exchanges_.find(key);
    if (it == exchanges_.end()) return nullptr;
    std::shared_ptr<Exchange> ex = std::move(it->second);
    exchanges_.erase(it);
    if (!ex->progress_key.empty()) progress_.erase(ex->progress_key);
    return ex;
  }

  // Sends the response of an exchange: on its stream if it has one, else as JSON (or a
  // one-event stream for clients that accept only SSE).
  void Finish(Exchange& ex, const std::string& text, bool is_error, unsigned status = 200) {
    if (!ex.session_header.empty() && is_error) {
      // initialize failed: the session is of no use.
      service_->CloseSession(shared_from_this(), "initialize failed");
    }
    if (ex.stream) {
      ex.stream->Write(mcp::FormatSseEvent(text));
      ex.stream->End();
      return;
    }
    if (ex.accept_json) {
      HttpResponse res{static_cast<http::status>(status), 11};
      res.set(http::field::content_type, "application/json");
      if (!ex.session_header.empty() && !is_error) res.set("Mcp-Session-Id", ex.session_header);
      res.body() = text;
      ex.responder.Send(std::move(res));
      return;
    }
    auto stream = ex.responder.StartStream(SseHead(is_error ? "" : ex.session_header), {});
    stream->Write(mcp::FormatSseEvent(text));
    stream->End();
  }

  void WriteLocked(const std::shared_ptr<Exchange>& exchange, const std::string& text) {
    Exchange& ex = *exchange;
    if (!ex.stream) {
      ex.stream = ex.responder.StartStream(SseHead(ex.session_header), OnStreamClose(exchange));
    }
    ex.stream->Write(mcp::FormatSseEvent(text));
    ex.last_write = Steady::now();
  }

  // Runs StreamClosed(key) on the worker when a request's stream closes (on_close may
  // run at once, inside StartStream, with mu_ held).
  std::function<void()> OnStreamClose(const std::shared_ptr<Exchange>& ex) {
    return [weak = weak_from_this(), exchange = std::weak_ptr<Exchange>(ex)] {
      if (auto s = weak.lock()) {
        s->Post([weak, exchange] {
          if (auto t = weak.lock()) t->StreamClosed(exchange);
        });
      }
    };
  }

  // The sandbox of `request` (a `sandbox:` upstream, mcp/sandbox.h), its proxy socket
  // this session's egress proxy (EgressProxyLocked): its connections are decided for this
  // session's agent and run, whichever server of the session makes them.
  Result<mcp::SandboxSpec> PrepareSandboxFor(const McpHttpDeps& d,
                                             const mcp::SandboxRequest& request) {
    auto prepared = mcp::PrepareSandbox(request);
    if (!prepared.ok()) {
      return Error::Unavailable(request.what + ": " + prepared.error().message +
                                "; the server is not started");
    }
    if (Status s = EgressProxyLocked(d); !s.ok()) {
      return Error::Unavailable(request.what + ": " + s.error().message +
                                "; the server is not started");
    }
    prepared->socket_dir = socket_dir_->path();
    return prepared;
  }

  // A staging server (`rehearse: {upstream: NAME}`) is the same kind of code as a real
  // one: when it is the staging of `staged` and either upstream runs sandboxed, it runs
  // sandboxed too, with `staged`'s own `sandbox:` (read, write, env) when it has one,
  // else with this session's upstream's, and egress through this session's proxy. A
  // sandbox that cannot be prepared refuses the rehearsals, never runs them uncontained.
  void ContainStaging(const McpHttpDeps& d, const McpHttpUpstream& staged, mcp::ServerSpec* spec) {
    if (!staged.sandbox && !up_->config.sandbox) return;
    mcp::SandboxRequest request =
        service_->SandboxRequestFor(staged.sandbox ? staged : up_->config);
    request.what = "staging upstream " + staged.name;
    if (!staged.sandbox) request.what += " (contained like upstream " + up_->config.name + ")";
    auto prepared = PrepareSandboxFor(d, request);
    if (!prepared.ok()) {
      spec->refused = prepared.error();
      return;
    }
    spec->sandbox = std::move(*prepared);
  }

  // This session's egress proxy on a Unix socket in socket_dir_, started on first use (a
  // sandboxed upstream or staging server) by the daemon (McpHttpDeps::sandbox_egress);
  // deciding for this session's agent and run.
  Status EgressProxyLocked(const McpHttpDeps& d) {
    if (egress_ != nullptr) return Status::Ok();
    if (!d.sandbox_egress) return Error::Unavailable("this daemon has no egress proxy");
    socket_dir_ = std::make_unique<mcp::SandboxSocketDir>();
    if (!socket_dir_->Create()) return Error::Unavailable("cannot create a socket directory");
    core::SessionEgressRequest request;
    request.socket_path = socket_dir_->path() + "/" + mcp::kSandboxSocketName;
    request.agent_id = agent_.agent_id;
    request.run_id = run_id_;
    request.call_in_flight = [this]() -> std::string {
      std::lock_guard lock(gw_mu_);
      if (live_gateway_ == nullptr) return {};
      auto ids = live_gateway_->InFlightCallIds();
      return ids.size() == 1 ? ids.front() : std::string();
    };
    auto egress = d.sandbox_egress(std::move(request));
    if (!egress.ok()) return egress.error();
    egress_ = std::move(*egress);
    return Status::Ok();
  }

  McpHttpService* service_;
  const std::string id_;
  const core::Principal agent_;
  const core::CallerIdentity identity_;
  const ResolvedUpstream* up_;
  const bool stateless_;
  std::atomic<int64_t> last_active_ms_{0};
  std::atomic<bool> evicted_{false};
  std::atomic<bool> closed_{false};
  std::mutex setup_mu_;  // upstream_, gateway_, ready_ while Setup runs
  bool ready_ = false;
  std::string run_id_;
  std::unique_ptr<McpEnforcer> enforcer_;
  std::unique_ptr<mcp::PolicyToolView> tool_view_;
  std::mutex gw_mu_;                      // live_gateway_
  mcp::Gateway* live_gateway_ = nullptr;  // set once ready, cleared before teardown
  std::mutex why_mu_;
  std::string close_why_;  // why CloseSession ended it (guarded by why_mu_)
  // Sandboxed upstreams and staging servers (EgressProxyLocked).
  std::unique_ptr<mcp::SandboxSocketDir> socket_dir_;
  std::unique_ptr<mcp::Upstream> upstream_;
  mcp::HttpUpstream* http_ = nullptr;          // upstream_ when it is a url: upstream
  std::unique_ptr<SessionCredentials> creds_;  // set when the upstream has credentials
  std::string start_credential_;  // command: the record of the credential it started with
  TimePoint start_expires_;       // ... and when it is due for renewal
  // Staging servers for `rehearse: {upstream: NAME}`: every configured upstream, by name,
  // opened on a session's first rehearsal to it. Declared before gateway_, which uses them.
  std::map<std::string, std::unique_ptr<mcp::RehearsalUpstream>> staging_;
  std::unique_ptr<mcp::Gateway> gateway_;
  // The egress proxy and its receipts (EgressProxyLocked). Declared after the gateway:
  // stopped before it; the gateway, which reads the receipts, is gone by then (Teardown).
  std::unique_ptr<core::SessionEgress> egress_;

  std::mutex task_mu_;
  std::condition_variable task_cv_;
  std::deque<std::function<void()>> tasks_;
  bool stop_worker_ = false;
  std::thread worker_;
  std::once_flag teardown_once_;

  std::mutex mu_;  // exchanges, progress, listen, backlog
  std::map<std::string, std::shared_ptr<Exchange>, std::less<>> exchanges_;  // by IdKey
  std::atomic<uint64_t> next_door_id_{1};                                    // NextDoorId
  std::map<std::string, std::string, std::less<>> progress_;  // progress token -> exchange
  uint64_t dropped_progress_ = 0;  // progress for no open request stream (mu_)
  std::shared_ptr<ResponseStream> listen_;
  Steady::time_point listen_last_write_;
  std::deque<std::string> backlog_;  // framed SSE events
};

// ---------------------------------------------------------------------------------------
// Service

McpHttpService::~McpHttpService() { Shutdown(); }

size_t McpHttpService::session_count() const {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

void McpHttpService::Handle(std::string upstream, const core::Principal& agent,
                            const core::CallerIdentity& identity, HttpRequest req, Responder r) {
  const Asker who{agent, identity};
  if (upstreams_.count(upstream) == 0) {
    return r.Send(RpcError(404, -32000, "no MCP upstream named \"" + upstream + "\""));
  }
  const std::string version = Header(req, "mcp-protocol-version");
  if (!version.empty() && !SupportedMcpProtocolVersion(version)) {
    // UnsupportedProtocolVersion with the list, so a client can pick another and retry
    // (the request's id when the body has one).
    json::value id;
    if (auto m = mcp::ParseMessage(req.body(), mcp::kMaxClientMessageBytes);
        m.ok() && m->kind == mcp::MessageKind::kRequest) {
      id = m->id;
    }
    return r.Send(RpcJson(400, mcp::UnsupportedVersionError(id, version)));
  }
  if (mcp::ModernVersion(version) && req.method() != http::verb::post) {
    return r.Send(RpcError(405, -32000,
                           "method not allowed: MCP 2026-07-28 has no GET stream and no "
                           "session to DELETE"));
  }
  switch (req.method()) {
    case http::verb::post:
      return HandlePost(upstream, who, std::move(req), std::move(r));
    case http::verb::get:
      return HandleGet(who, upstream, std::move(req), std::move(r));
    case http::verb::delete_:
      return HandleDelete(who, upstream, req, std::move(r));
    default:
      return r.Send(RpcError(405, -32000, "method not allowed"));
  }
}

std::shared_ptr<McpHttpService::Session> McpHttpService::Find(const HttpRequest& req,
                                                              const Asker& who,
                                                              const std::string& upstream,
                                                              HttpResponse* error) {
  const std::string id = Header(req, "mcp-session-id");
  if (id.empty()) {
    *error = RpcError(400, -32000, "Bad Request: MCP-Session-Id header is required");
    return nullptr;
  }
  std::shared_ptr<Session> s;
  if (ValidSessionId(id)) {
    std::lock_guard lock(mu_);
    if (auto it = sessions_.find(id); it != sessions_.end()) s = it->second;
  }
  // Another agent's session, or another upstream's, is indistinguishable from none.
  if (s == nullptr || s->closed() || s->stateless() || s->agent_id() != who.agent.agent_id ||
      !s->SameIdentity(who.identity) || s->upstream_name() != upstream) {
    *error = RpcError(404, -32001, "Session not found");
    return nullptr;
  }
  s->Touch();
  return s;
}

void McpHttpService::HandlePost(const std::string& upstream, const Asker& who, HttpRequest req,
                                Responder r) {
  const Accepts accepts = ParseAccept(Header(req, "accept"));
  if (!accepts.json && !accepts.sse) {
    return r.Send(RpcError(406, -32000,
                           "Not Acceptable: Accept must list application/json and "
                           "text/event-stream"));
  }
  const std::string ctype = AsciiLower(Header(req, "content-type"));
  if (!ctype.empty() && ctype.rfind("application/json", 0) != 0) {
    return r.Send(RpcError(415, -32000, "Unsupported Media Type: the body must be JSON"));
  }
  int code = mcp::kParseError;
  auto msg = mcp::ParseMessage(req.body(), mcp::kMaxClientMessageBytes, &code);
  if (!msg.ok()) {
    // An id outside +-(2^53-1) is refused here, before its exchange is registered
    // (mcp/framing.h): the answer could not be told apart from a neighbour's.
    return r.Send(
        RpcError(400, code,
                 std::string(code == mcp::kParseError ? "Parse error: " : "Invalid Request: ") +
                     msg.error().message));
  }
  if (msg->kind == mcp::MessageKind::kBatch) {
    return r.Send(RpcError(400, mcp::kInvalidRequest,
                           "JSON-RPC batches are not part of MCP 2025-06-18 and later"));
  }
  const bool modern = ModernRequest(Header(req, "mcp-protocol-version"), *msg);
  if (std::optional<HttpResponse> refused = RefusedPostHeaders(req, *msg, modern)) {
    return r.Send(std::move(*refused));
  }
  if (modern) {
    return HandleModernPost(upstream, who, *msg, accepts.json, accepts.sse, std::move(req),
                            std::move(r));
  }
  HandleLegacyPost(upstream, who, *msg, accepts.json, accepts.sse, std::move(req), std::move(r));
}

void McpHttpService::HandleLegacyPost(const std::string& upstream, const Asker& who,
                                      const mcp::Message& msg, bool accept_json, bool accept_sse,
                                      HttpRequest req, Responder r) {
  const bool initialize = msg.kind == mcp::MessageKind::kRequest && msg.method == "initialize";
  if (initialize && Header(req, "mcp-session-id").empty()) {
    return OpenLegacySession(upstream, who, msg, accept_json, accept_sse, std::move(req),
                             std::move(r));
  }
  HttpResponse error;
  std::shared_ptr<Session> session = Find(req, who, upstream, &error);
  if (session == nullptr) return r.Send(std::move(error));
  session->SetSubjectToken(req);
  if (initialize) {
    return r.Send(RpcError(400, mcp::kInvalidRequest,
                           "the session is initialized already; start a new one without "
                           "MCP-Session-Id"));
  }
  std::weak_ptr<Session> weak = session;
  if (msg.kind != mcp::MessageKind::kRequest) {
    std::string cancelled;
    if (msg.method == "notifications/cancelled") {
      const json::value* params = msg.doc.get_object().if_contains("params");
      const json::value* rid = params != nullptr && params->is_object()
                                   ? params->get_object().if_contains("requestId")
                                   : nullptr;
      if (rid != nullptr) cancelled = mcp::IdKey(*rid);
    }
    session->Post([weak, body = std::move(req.body()), cancelled] {
      auto s = weak.lock();
      if (!s) return;
      s->ClientMessage(body);
      if (!cancelled.empty()) s->CancelExchange(cancelled);
    });
    HttpResponse res{http::status::accepted, 11};
    return r.Send(std::move(res));
  }
  auto ex = std::make_shared<Exchange>(std::move(r));
  ex->accept_json = accept_json;
  ex->accept_sse = accept_sse;
  ex->progress_key = ProgressKey(msg.doc);
  const std::string key = mcp::IdKey(msg.id);
  if (!session->AddExchange(key, ex)) {
    return ex->responder.Send(
        RpcError(400, mcp::kInvalidRequest, "a request with this id is still in progress"));
  }
  // Mcp-Param-* headers present on a legacy request are checked like Mcp-Method/Mcp-Name: a
  // router in front may have acted on them.
  auto param_headers = ParamHeadersOf(req);
  if (!param_headers.empty()) {
    return session->Post(
        [weak, key, body = std::move(req.body()), param_headers = std::move(param_headers)] {
          if (auto s = weak.lock()) s->ModernMessage(key, body, param_headers);
        });
  }
  session->Post([weak, body = std::move(req.body())] {
    if (auto s = weak.lock()) s->ClientMessage(body);
  });
}

void McpHttpService::OpenLegacySession(const std::string& upstream, const Asker& who,
                                       const mcp::Message& msg, bool accept_json, bool accept_sse,
                                       HttpRequest req, Responder r) {
  std::string id = HexEncode(reinterpret_cast<const uint8_t*>(RandomBytes(16).data()), 16);
  std::shared_ptr<Session> session;
  {
    std::lock_guard lock(mu_);
    HttpResponse refused;
    if (!AdmitSessionLocked(who.agent.agent_id, &refused)) return r.Send(std::move(refused));
    session =
        std::make_shared<Session>(this, id, who.agent, who.identity, &upstreams_.at(upstream));
    session->SetSubjectToken(req);
    sessions_.emplace(id, session);
    if (deps_.metrics != nullptr) deps_.metrics->McpSessionOpened();
  }
  session->StartWorker();
  auto ex = std::make_shared<Exchange>(std::move(r));
  ex->accept_json = accept_json;
  ex->accept_sse = accept_sse;
  ex->session_header = id;
  const std::string key = mcp::IdKey(msg.id);
  session->AddExchange(key, ex);
  std::weak_ptr<Session> weak = session;
  session->Post([weak, key, body = std::move(req.body())] {
    auto s = weak.lock();
    if (!s) return;
    s->Setup(key);
    s->ClientMessage(body);
  });
}

bool McpHttpService::AdmitSessionLocked(const std::string& agent_id, HttpResponse* refused) {
  if (stopping_) {
    *refused = RpcError(503, -32000, "the daemon is shutting down");
    return false;
  }
  if (static_cast<int>(sessions_.size()) >= config_.max_sessions) {
    if (deps_.metrics != nullptr) deps_.metrics->McpSessionRefused();
    *refused = RpcError(503, -32000, "too many MCP sessions; retry later");
    refused->set(http::field::retry_after, "5");
    return false;
  }
  if (per_agent_[agent_id] >= config_.max_sessions_per_agent) {
    // No lockout: a client that never DELETEs its sessions (the SDK's does not unless
    // asked) would otherwise be refused until they idle out. The agent's least recently
    // used session with no request in flight makes room; a busy one is never ended so.
    std::shared_ptr<Session> lru;
    for (const auto& [id, s] : sessions_) {
      if (s->agent_id() != agent_id || s->closed() || !s->Idle()) continue;
      if (lru == nullptr || s->last_active_ms() < lru->last_active_ms()) lru = s;
    }
    if (lru == nullptr) {
      if (deps_.metrics != nullptr) deps_.metrics->McpSessionRefused();
      *refused =
          RpcError(429, -32000,
                   "agent " + agent_id + " has " + std::to_string(per_agent_[agent_id]) +
                       " MCP sessions (mcp.max_sessions_per_agent), each with a request in flight; "
                       "retry when one is answered, or end one with DELETE");
      refused->set(http::field::retry_after, "5");
      return false;
    }
    lru->MarkEvicted();
    CloseSessionLocked(lru,
                       "ended to admit a newer session of agent " + agent_id +
                           " (mcp.max_sessions_per_agent: its least recently used idle session)");
  }
  ++per_agent_[agent_id];
  return true;
}

std::shared_ptr<McpHttpService::Session> McpHttpService::StatelessSession(
    const std::string& upstream, const Asker& who, const HttpRequest& req, bool* created,
    HttpResponse* error) {
  // One session, so one run, per agent, identity, upstream and bearer token: the client
  // cannot name it, and nothing in _meta takes part.
  const core::CallerIdentity& c = who.identity;
  const std::string id = "stateless-" + Sha256Hex(who.agent.agent_id + '\n' + c.issuer + '\n' +
                                                  c.subject + '\n' + c.on_behalf_of + '\n' +
                                                  upstream + '\n' + Header(req, "authorization"))
                                            .substr(0, 48);
  std::shared_ptr<Session> session;
  {
    std::lock_guard lock(mu_);
    if (auto it = sessions_.find(id); it != sessions_.end() && !it->second->closed()) {
      it->second->Touch();
      *created = false;
      return it->second;
    }
    if (!AdmitSessionLocked(who.agent.agent_id, error)) return nullptr;
    session = std::make_shared<Session>(this, id, who.agent, who.identity, &upstreams_.at(upstream),
                                        /*stateless=*/true);
    sessions_[id] = session;
    if (deps_.metrics != nullptr) deps_.metrics->McpSessionOpened();
  }
  Log("stateless session " + id.substr(10, 8) + " of agent " + who.agent.agent_id +
      " (MCP 2026-07-28) started");
  session->StartWorker();
  *created = true;
  return session;
}

void McpHttpService::HandleModernPost(const std::string& upstream, const Asker& who,
                                      const mcp::Message& msg, bool accept_json, bool accept_sse,
                                      HttpRequest req, Responder r) {
  if (msg.kind == mcp::MessageKind::kResponse) {
    return r.Send(
        RpcError(400, mcp::kInvalidRequest, "MCP 2026-07-28 clients send no JSON-RPC responses"));
  }
  if (msg.kind == mcp::MessageKind::kNotification) {
    // 2026-07-28 defines no client notification over HTTP (closing a request's stream
    // cancels it): accepted and dropped.
    return r.Send(HttpResponse{http::status::accepted, 11});
  }
  if (msg.method == "server/discover") {
    // A probe starts nothing: no session, no run, no upstream.
    return r.Send(RpcJson(200, mcp::ResultResponse(msg.id, mcp::Gateway::DiscoverResult())));
  }
  if (msg.method == "initialize") {
    // Not a method of 2026-07-28 (no handshake): never taken for a 2025 client's, which
    // would make the token's stateless session a legacy one for every later request.
    return r.Send(RpcJson(404, mcp::ErrorResponse(msg.id, mcp::kMethodNotFound,
                                                  "Method not found: initialize is not a method "
                                                  "of MCP 2026-07-28 (there is no handshake)")));
  }
  bool created = false;
  HttpResponse error;
  std::shared_ptr<Session> session = StatelessSession(upstream, who, req, &created, &error);
  if (session == nullptr) return r.Send(std::move(error));
  session->SetSubjectToken(req);
  auto ex = std::make_shared<Exchange>(std::move(r));
  ex->accept_json = accept_json;
  ex->accept_sse = accept_sse;
  ex->modern = true;
  // Every POST is a request of its own: clients sharing this session (one token, several
  // processes) choose ids independently, so the gateway sees an id of the door's and the
  // client gets its own back (Exchange::client_id); its progress token likewise.
  ex->client_id = msg.id;
  const json::value door_id = session->NextDoorId();
  const std::string key = mcp::IdKey(door_id);
  json::value doc = msg.doc;
  doc.get_object()["id"] = door_id;
  if (json::object* meta = mcp::MetaOf(doc.get_object())) {
    if (json::value* token = meta->if_contains("progressToken")) {
      ex->client_progress_token = *token;
      *token = door_id;
      ex->progress_key = key;
    }
  }
  if (!session->AddExchange(key, ex)) {
    return ex->responder.Send(
        RpcError(400, mcp::kInvalidRequest, "a request with this id is still in progress"));
  }
  auto param_headers = ParamHeadersOf(req);
  std::weak_ptr<Session> weak = session;
  session->Post(
      [weak, key, created, body = ToJsonText(doc), param_headers = std::move(param_headers)] {
        auto s = weak.lock();
        if (!s) return;
        if (created) s->Setup(key);
        s->ModernMessage(key, body, param_headers);
      });
}

void McpHttpService::HandleGet(const Asker& who, const std::string& upstream, HttpRequest req,
                               Responder r) {
  if (!ParseAccept(Header(req, "accept")).sse || Header(req, "accept").empty()) {
    return r.Send(RpcError(406, -32000, "Not Acceptable: GET needs Accept: text/event-stream"));
  }
  HttpResponse error;
  auto session = Find(req, who, upstream, &error);
  if (session == nullptr) return r.Send(std::move(error));
  Responder keep = r;
  if (!session->OpenListen(std::move(r))) {
    keep.Send(RpcError(409, -32000, "Conflict: this session has an open GET stream already"));
  }
}

void McpHttpService::HandleDelete(const Asker& who, const std::string& upstream,
                                  const HttpRequest& req, Responder r) {
  HttpResponse error;
  auto session = Find(req, who, upstream, &error);
  if (session == nullptr) return r.Send(std::move(error));
  CloseSession(session, "ended by the client (DELETE)");
  r.Send(HttpResponse{http::status::no_content, 11});
}

void McpHttpService::CloseSession(const std::shared_ptr<Session>& s, const std::string& why) {
  std::lock_guard lock(mu_);
  CloseSessionLocked(s, why);
}

void McpHttpService::CloseSessionLocked(const std::shared_ptr<Session>& s, const std::string& why) {
  auto it = sessions_.find(s->id());
  if (it == sessions_.end() || it->second != s) return;  // closed already
  s->MarkClosed(why);
  sessions_.erase(it);
  if (deps_.metrics != nullptr) deps_.metrics->McpSessionClosed();
  if (auto a = per_agent_.find(s->agent_id()); a != per_agent_.end() && --a->second <= 0) {
    per_agent_.erase(a);
  }
  Log("session " + s->id().substr(0, 8) + " of agent " + s->agent_id() + " ended: " + why);
  teardown_.push_back(s);
  cv_.notify_all();
}

void McpHttpService::ServiceLoop() {
  for (;;) {
    std::vector<std::shared_ptr<Session>> down;
    std::vector<std::shared_ptr<Session>> live;
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(250),
                   [&] { return stopped_ || !teardown_.empty(); });
      down.assign(teardown_.begin(), teardown_.end());
      teardown_.clear();
      for (auto& [id, s] : sessions_) live.push_back(s);
      if (stopped_ && down.empty()) return;
    }
    for (auto& s : down) s->Teardown("the session ended");
    down.clear();
    const auto now = Steady::now();
    for (auto& s : live) {
      if (s->Tick(now)) CloseSession(s, "idle for longer than mcp.session_idle_timeout");
    }
  }
}

void McpHttpService::Shutdown() {
  std::vector<std::shared_ptr<Session>> all;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    for (auto& [id, s] : sessions_) all.push_back(s);
  }
  for (auto& s : all) CloseSession(s, "the daemon is shutting down");
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
    cv_.notify_all();
  }
  if (service_thread_.joinable()) service_thread_.join();
  // Sessions queued after the loop's last pass (none are accepted once stopping).
  std::deque<std::shared_ptr<Session>> left;
  {
    std::lock_guard lock(mu_);
    left.swap(teardown_);
  }
  for (auto& s : left) s->Teardown("the daemon is shutting down");
}

}  // namespace interlock::server
