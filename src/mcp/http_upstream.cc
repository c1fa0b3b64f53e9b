#include "mcp/http_upstream.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <future>
#include <iostream>
#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>

#include "common/json.h"
#include "common/url_text.h"
#include "mcp/framing.h"
#include "mcp/request_headers.h"
#include "mcp/sse.h"
#include "mcp/upstream_revision.h"

namespace interlock::mcp {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = net::ip::tcp;

namespace {

void Log(std::string_view what) { std::cerr << "interlock mcp upstream: " << what << '\n'; }

bool Contains(std::string_view haystack, std::string_view needle) {
  auto lower = [](std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  };
  return lower(haystack).find(lower(needle)) != std::string::npos;
}

// True when nothing arrived on an idle connection: no end of stream, no reset, no stray
// bytes (which would otherwise be read as the next request's reply).
bool QuietAndOpen(tcp::socket& socket) {
  char b;
  const ssize_t n = ::recv(socket.native_handle(), &b, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

// How long the server's `Keep-Alive: timeout=N` lets a connection wait, a second less than
// N (it closes first otherwise, racing the next POST); a parameter name in any case (RFC 9110).
// A negative N keeps nothing; none, or one that cannot be read, leaves the daemon's own bound.
std::optional<std::chrono::milliseconds> ServerKeepAlive(std::string_view header) {
  std::string lower(header);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const size_t at = lower.find("timeout=");
  if (at == std::string::npos) return std::nullopt;
  int64_t n = 0;
  const char* first = lower.data() + at + 8;
  const auto [end, ec] = std::from_chars(first, lower.data() + lower.size(), n);
  if (ec != std::errc() || end == first) return std::nullopt;
  return std::chrono::seconds(std::max<int64_t>(n, 1) - 1);
}

// Moves a stream (move-constructible, not assignable) from one holder to another.
template <class Stream>
void MoveStream(std::optional<Stream>& from, std::optional<Stream>& to) {
  to.reset();
  if (from) to.emplace(std::move(*from));
  from.reset();
}

}  // namespace

struct HttpUpstream::Idle {
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  std::chrono::steady_clock::time_point expires;
  tcp::socket& Socket() {
    return secure ? beast::get_lowest_layer(*secure).socket() : plain->socket();
  }
};

struct HttpUpstream::Op : std::enable_shared_from_this<HttpUpstream::Op> {
  enum class Kind { kPost, kListen, kDelete };
  Op(HttpUpstream* o, Kind k) : owner(o), kind(k), resolver(o->ioc_), sse(kMaxServerMessageBytes) {
    if (o->tls_) {
      secure.emplace(o->ioc_, *o->tls_);
    } else {
      plain.emplace(o->ioc_);
    }
  }

  HttpUpstream* owner;
  Kind kind;
  tcp::resolver resolver;
  // Exactly one carries the exchange: plain TCP for http://, TLS over TCP for https://.
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;
  http::request<http::string_body> req;
  std::optional<http::response_parser<http::buffer_body>> parser;
  char chunk[16 * 1024];
  bool is_sse = false;
  std::string body;
  SseParser sse;
  // The request this POST carries (null for notifications and responses).
  json::value id;
  std::string method;
  bool answered = false;
  std::function<void()> done;                // kDelete: signals Close()
  std::optional<std::string> authorization;  // kPost: this message's Authorization
  bool per_call = false;  // `authorization` is one tool call's own (SendAuthorized)
  // A request of the 2026-07-28 revision (its `_meta` names the version): sent with that
  // MCP-Protocol-Version, Mcp-Method and Mcp-Name, and no session.
  std::string modern_version;
  std::optional<std::string> mcp_name;  // the header value, encoded
  std::string tool;                     // a modern tools/call: the tool and its arguments
  json::value arguments;
  // notifications/cancelled: the request it cancels. A modern request's is not posted: its
  // reply stream is closed instead (2026-07-28 cancels by closing; a subscription's stream
  // would otherwise stay open at the server).
  json::value cancels;
  // A non-2xx reply to a request, read to pass the server's own JSON-RPC error on.
  unsigned error_status = 0;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  beast::tcp_stream& Lowest() { return secure ? beast::get_lowest_layer(*secure) : *plain; }
  // Calls f with the stream the HTTP exchange runs on.
  template <class F>
  void With(F&& f) {
    if (secure) {
      f(*secure);
    } else {
      f(*plain);
    }
  }

  void Run() {
    if (kind == Kind::kPost && owner->TakeIdle(*this)) {
      reused = true;
      return Exchange();
    }
    Connect();
  }

  // A kept connection the server closed before a byte of its reply (an idle timeout of its
  // own): the message once more over a new connection. Never a tools/call: it may have
  // reached the server, and a tool call is not sent twice (it fails closed instead).
  bool RetryFresh(const beast::error_code& ec) {
    if (!reused || got_header || aborted || owner->closing_.load() || method == "tools/call") {
      return false;
    }
    if (ec != http::error::end_of_stream && ec != net::error::eof &&
        ec != net::error::connection_reset && ec != net::error::broken_pipe &&
        ec != net::ssl::error::stream_truncated) {
      return false;
    }
    reused = false;
    buffer.clear();
    parser.reset();
    if (owner->tls_) {
      secure.emplace(owner->ioc_, *owner->tls_);
    } else {
      plain.emplace(owner->ioc_);
    }
    Connect();
    return true;
  }

  // A failure's words, saying when the connection was a kept one.
  std::string Why(std::string what, const beast::error_code& ec) const {
    what += ec.message();
    if (reused) what += " (on a kept-alive connection)";
    return what;
  }

  void Connect() {
    auto self = shared_from_this();
    resolver.async_resolve(
        owner->host_, owner->port_,
        [self](beast::error_code ec, const tcp::resolver::results_type& results) {
          if (ec) return self->Fail("cannot resolve the upstream host: " + ec.message());
          self->Lowest().expires_after(self->owner->options_.connect_timeout);
          self->Lowest().async_connect(results, [self](beast::error_code ec, const tcp::endpoint&) {
            if (ec) return self->Fail("cannot connect to the upstream: " + ec.message());
            if (!self->secure) return self->Exchange();
            if (Status s = self->owner->options_.connector->ExpectPeerName(
                    self->secure->native_handle(), self->owner->host_);
                !s.ok()) {
              return self->Fail(s.error().message);
            }
            self->secure->async_handshake(net::ssl::stream_base::client, [self](
                                                                             beast::error_code ec) {
              if (ec) {
                return self->Fail("the TLS handshake with the upstream failed: " + ec.message());
              }
              self->Exchange();
            });
          });
        });
  }

  void Exchange() {
    auto self = shared_from_this();
    Lowest().expires_after(owner->options_.header_timeout);
    With([self](auto& stream) {
      http::async_write(stream, self->req, [self, &stream](beast::error_code ec, size_t) {
        if (ec) {
          if (self->RetryFresh(ec)) return;
          return self->Fail(self->Why("sending to the upstream failed: ", ec));
        }
        self->parser.emplace();
        self->parser->body_limit(boost::none);  // bounded by the message caps below
        self->parser->header_limit(64 * 1024);
        http::async_read_header(
            stream, self->buffer, *self->parser, [self](beast::error_code ec, size_t) {
              if (ec) {
                if (self->RetryFresh(ec)) return;
                return self->Fail(self->Why("no reply from the upstream: ", ec));
              }
              self->OnHeader();
            });
      });
    });
  }

  void OnHeader() {
    got_header = true;
    auto& res = parser->get();
    const unsigned status = res.result_int();
    if (auto it = res.find("mcp-session-id");
        it != res.end() && owner->session_id_.empty() && method == "initialize") {
      owner->session_id_ = std::string(it->value());
    }
    if (kind == Kind::kDelete) return Finish();
    if (status == 404 && !owner->session_id_.empty() && method != "initialize") {
      owner->ReportClosed("the upstream MCP session ended (HTTP 404)");
      return;
    }
    if (kind == Kind::kListen && status == 405) return;  // no server stream offered
    if (status / 100 != 2) {
      auto ct = res.find(http::field::content_type);
      if (kind == Kind::kPost && !id.is_null() && status / 100 == 4 && ct != res.end() &&
          Contains(ct->value(), "application/json")) {
        // A modern server answers an unsupported version (-32022), a header mismatch and the
        // like with 400 and its JSON-RPC error: the client is owed that error as it came.
        error_status = status;
        return ReadBody();
      }
      return Fail("the upstream answered HTTP " + std::to_string(status));
    }
    if (status == 202 || status == 204) {
      if (kind == Kind::kPost && method == "notifications/initialized") owner->StartListening();
      return Finish();
    }
    auto ct = res.find(http::field::content_type);
    const std::string_view type =
        ct == res.end() ? std::string_view() : std::string_view(ct->value());
    is_sse = Contains(type, "text/event-stream");
    if (!is_sse && !Contains(type, "application/json")) {
      return Fail("the upstream's reply has content type '" + std::string(type) + "'");
    }
    if (is_sse) Lowest().expires_never();  // a live stream may be quiet for a long time
    ReadBody();
  }

  void ReadBody() {
    if (parser->is_done()) return Finish();
    parser->get().body().data = chunk;
    parser->get().body().size = sizeof(chunk);
    auto self = shared_from_this();
    With([self](auto& stream) {
      http::async_read_some(
          stream, self->buffer, *self->parser, [self](beast::error_code ec, size_t) {
            if (ec == http::error::need_buffer) ec = {};
            if (ec) {
              return self->Fail("the upstream's reply broke off: " + ec.message());
            }
            const size_t n = sizeof(self->chunk) - self->parser->get().body().size;
            if (!self->Consume(std::string_view(self->chunk, n))) return;
            self->ReadBody();
          });
    });
  }

  bool Consume(std::string_view bytes) {
    if (!is_sse) {
      if (body.size() + bytes.size() > kMaxServerMessageBytes) {
        if (owner->cb_.on_oversized) owner->cb_.on_oversized();
        Fail("the upstream's reply exceeds " + std::to_string(kMaxServerMessageBytes) + " bytes");
        return false;
      }
      body.append(bytes);
      return true;
    }
    std::vector<SseEvent> events;
    Status st = sse.Feed(bytes, &events);
    for (const SseEvent& e : events) {
      if (e.type == "message" && !e.data.empty()) Message(e.data);
    }
    if (!st.ok()) {
      if (owner->cb_.on_oversized) owner->cb_.on_oversized();
      Fail("the upstream's event stream is unusable: " + st.error().message);
      return false;
    }
    return true;
  }

  // One message from the upstream: note what the transport needs, then deliver.
  void Message(std::string_view text) {
    if (!id.is_null() || method == "initialize") {
      auto doc = ParseJsonStrict(text, JsonLimits{kMaxServerMessageBytes, kMaxMessageDepth});
      if (doc.ok() && doc->is_object()) {
        const json::object& o = doc->get_object();
        const json::value* rid = o.if_contains("id");
        if (rid != nullptr && !o.contains("method") && *rid == id) {
          answered = true;
          const json::value* result = o.if_contains("result");
          const json::value* v = method == "initialize" && result != nullptr && result->is_object()
                                     ? result->get_object().if_contains("protocolVersion")
                                     : nullptr;
          if (v != nullptr && v->is_string())
            owner->protocol_version_ = std::string(v->get_string());
          if (method == "tools/list" && result != nullptr && result->is_object()) {
            owner->LearnParamHeaders(result->get_object());
          }
        }
      }
    }
    owner->Deliver(text, kind == Kind::kPost && !id.is_null() ? &id : nullptr);
  }

  // The modern request this exchange carries was cancelled: nothing more is delivered for
  // it and its connection is closed (the server sees the stream end).
  void Abort() {
    answered = true;
    aborted = true;
    if (!plain && !secure) return;  // finished, its connection handed back (KeepIdle)
    beast::error_code ignored;
    Lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    Lowest().socket().close(ignored);
  }
  bool aborted = false;
  bool reused = false;      // the connection was a kept one (TakeIdle)
  bool got_header = false;  // the reply's header arrived

  void Forget() {
    if (id.is_null() || modern_version.empty()) return;
    auto it = owner->modern_ops_.find(IdKey(id));
    if (it != owner->modern_ops_.end() && it->second.lock().get() == this) {
      owner->modern_ops_.erase(it);
    }
  }

  void Finish() {
    Forget();
    if (kind == Kind::kDelete) {
      if (done) done();
      return;
    }
    if (error_status != 0) {
      PassError();
    } else if (!is_sse && !body.empty()) {
      Message(body);
    }
    if (!id.is_null() && !answered) {
      Answer("the upstream's reply holds no response to the request");
    }
    if (kind == Kind::kPost && owner->KeepIdle(*this)) return;
    beast::error_code ignored;
    Lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    if (kind == Kind::kListen) owner->ListenEnded(started);
  }

  void Fail(const std::string& why) {
    Forget();
    if (aborted) return;
    if (kind == Kind::kDelete) {
      if (done) done();
      return;
    }
    if (kind == Kind::kListen) {
      Log("the upstream's server stream ended: " + why);
      owner->ListenEnded(started);
      return;
    }
    if (!id.is_null() && !answered) {
      Answer(why);
    } else if (id.is_null()) {
      Log("a message to the upstream failed: " + why);
    }
  }

  // The server's JSON-RPC error in a non-2xx reply, for this request's id (its own id may be
  // null: the server may not have read the request); anything else fails the request.
  void PassError() {
    auto doc = ParseJsonStrict(body, JsonLimits{kMaxServerMessageBytes, kMaxMessageDepth});
    const json::object* o = doc.ok() && doc->is_object() ? &doc->get_object() : nullptr;
    const json::value* error = o != nullptr ? o->if_contains("error") : nullptr;
    const json::value* code =
        error != nullptr && error->is_object() ? error->get_object().if_contains("code") : nullptr;
    if (code == nullptr || !code->is_int64()) {
      return Answer("the upstream answered HTTP " + std::to_string(error_status));
    }
    answered = true;
    owner->Deliver(ToJsonText(json::object{{"jsonrpc", "2.0"}, {"id", id}, {"error", *error}}),
                   &id);
  }

  // The gateway must not wait forever for an answer that cannot come (fail closed).
  void Answer(const std::string& why) {
    answered = true;
    owner->Deliver(ToJsonText(ErrorResponse(
        id, kInternalError,
        "Interlock: the upstream MCP server failed before answering (" + why +
            "); a tool call may or may not have run and Interlock does not retry it")));
  }
};

void HttpUpstream::LearnParamHeaders(const json::object& result) {
  const json::value* tools = result.if_contains("tools");
  if (tools == nullptr || !tools->is_array()) return;
  for (const json::value& t : tools->get_array()) {
    const json::object* o = t.if_object();
    const json::value* name = o != nullptr ? o->if_contains("name") : nullptr;
    if (name == nullptr || !name->is_string()) continue;
    const json::value* schema = o->if_contains("inputSchema");
    auto declared = schema != nullptr
                        ? ParamHeadersOf(*schema)
                        : Result<std::vector<ParamHeader>>(std::vector<ParamHeader>{});
    // Invalid declarations mirror nothing (the gateway hides and refuses such a tool).
    if (declared.ok() && !declared->empty()) {
      param_headers_[std::string(name->get_string())] = std::move(*declared);
    } else {
      param_headers_.erase(std::string(name->get_string()));
    }
  }
}

void HttpUpstream::NoteModern(const json::object& message, Op& op) {
  if (op.id.is_null()) return;
  const json::value* params = message.if_contains("params");
  const json::object* p =
      params != nullptr && params->is_object() ? &params->get_object() : nullptr;
  const json::value* meta = p != nullptr ? p->if_contains("_meta") : nullptr;
  const json::value* v = meta != nullptr && meta->is_object()
                             ? meta->get_object().if_contains(kMetaProtocolVersion)
                             : nullptr;
  if (v == nullptr || !v->is_string() || IsLegacyRevision(v->get_string())) return;
  op.modern_version = EncodeHeaderValue(v->get_string());
  const char* field = McpNameField(op.method);
  const json::value* name = field != nullptr ? p->if_contains(field) : nullptr;
  if (name != nullptr && name->is_string()) op.mcp_name = EncodeHeaderValue(name->get_string());
  if (op.method == "tools/call" && name != nullptr && name->is_string()) {
    // Its Mcp-Param-* headers are made in Begin from these, the arguments this very body
    // carries (a reviewer's edit included), so a header never disagrees with the body.
    op.tool = std::string(name->get_string());
    if (const json::value* a = p->if_contains("arguments")) op.arguments = *a;
  }
  op.method = EncodeHeaderValue(op.method);
}

Result<std::unique_ptr<HttpUpstream>> HttpUpstream::Create(HttpUpstreamOptions options) {
  if (options.connector == nullptr) {
    return Error::Invalid("upstream: no outbound connector was handed to the HTTP client");
  }
  Result<HttpTarget> url = options.connector->Target(options.url);
  // What errors say of the URL: never its userinfo.
  const std::string shown = UrlForLog(options.url);
  if (!url.ok()) {
    return Error::Invalid("upstream url must be http(s)://HOST[:PORT][/PATH], not '" + shown +
                          "': " + url.error().message);
  }
  if (url->has_userinfo) {
    return Error::Invalid("upstream " + shown +
                          ": credentials in the URL are never sent; use headers: or "
                          "secret_headers:");
  }
  std::unique_ptr<net::ssl::context> tls;
  if (url->tls) {
    auto ctx = options.connector->TlsContext(options.ca_file);
    if (!ctx.ok()) return Error::Invalid("upstream " + shown + ": " + ctx.error().message);
    tls = std::move(ctx).value();
  } else if (!options.ca_file.empty()) {
    return Error::Invalid("upstream " + shown + ": ca_file applies to https:// only");
  }
  return std::unique_ptr<HttpUpstream>(
      new HttpUpstream(std::move(options), std::move(*url), std::move(tls)));
}

HttpUpstream::HttpUpstream(HttpUpstreamOptions options, HttpTarget target,
                           std::unique_ptr<net::ssl::context> tls)
    : options_(std::move(options)),
      host_(std::move(target.host)),
      port_(std::move(target.port)),
      target_(std::move(target.target)),
      host_header_(std::move(target.host_header)),
      tls_(std::move(tls)),
      listen_retry_(ioc_),
      idle_timer_(ioc_) {}

HttpUpstream::~HttpUpstream() { Close(); }

Status HttpUpstream::Start(UpstreamCallbacks callbacks) {
  cb_ = std::move(callbacks);
  work_ = std::make_unique<net::executor_work_guard<net::io_context::executor_type>>(
      ioc_.get_executor());
  thread_ = std::thread([this] {
    for (;;) {
      try {
        ioc_.run();
        return;
      } catch (const std::exception& e) {
        Log(std::string("error in the upstream client: ") + e.what());
      }
    }
  });
  return Status::Ok();
}

void HttpUpstream::Deliver(std::string_view message, const json::value* related) {
  if (closing_.load() || closed_reported_) return;
  cb_.on_message(message, related);
}

void HttpUpstream::ReportClosed(std::string why) {
  if (closing_.load() || closed_reported_) return;
  closed_reported_ = true;
  cb_.on_closed(std::move(why));
}

void HttpUpstream::Begin(std::shared_ptr<Op> op) {
  auto& req = op->req;
  req.version(11);
  req.target(target_);
  req.set(http::field::host, host_header_);
  req.set(http::field::user_agent, "interlock");
  for (const auto& [name, value] : options_.headers) req.set(name, value);
  // The GET stream and the DELETE reuse the session's credential, never a call's.
  if (op->authorization && !op->per_call) last_authorization_ = *op->authorization;
  if (options_.authorization && !last_authorization_.empty()) {
    req.set(http::field::authorization,
            op->authorization ? *op->authorization : last_authorization_);
  }
  if (!op->modern_version.empty()) {
    // 2026-07-28: no session; the version, method and name of each request in headers.
    req.set("MCP-Protocol-Version", op->modern_version);
    req.set("Mcp-Method", op->method);
    if (op->mcp_name) req.set("Mcp-Name", *op->mcp_name);
    // A subscription's reply stream lasts until cancelled (other requests' answers are
    // still awaited and recorded after a cancellation).
    if (!op->id.is_null() && op->method == "subscriptions/listen") {
      modern_ops_[IdKey(op->id)] = op;
    }
    if (auto d = op->tool.empty() ? param_headers_.end() : param_headers_.find(op->tool);
        d != param_headers_.end()) {
      for (const auto& [name, value] : MirrorParamHeaders(d->second, &op->arguments)) {
        req.set(name, value);
      }
    }
  } else {
    if (!session_id_.empty()) req.set("Mcp-Session-Id", session_id_);
    if (!protocol_version_.empty()) req.set("MCP-Protocol-Version", protocol_version_);
  }
  op->Run();
}

bool HttpUpstream::TakeIdle(Op& op) {
  const auto now = std::chrono::steady_clock::now();
  while (!idle_.empty()) {
    std::unique_ptr<Idle> c = std::move(idle_.back());
    idle_.pop_back();
    if (now >= c->expires || !QuietAndOpen(c->Socket())) continue;  // closed as c goes
    MoveStream(c->plain, op.plain);
    MoveStream(c->secure, op.secure);
    return true;
  }
  return false;
}

bool HttpUpstream::KeepIdle(Op& op) {
  if (closing_.load() || closed_reported_ || op.aborted || !op.parser || !op.parser->is_done() ||
      !op.parser->get().keep_alive() || op.buffer.size() != 0) {
    return false;
  }
  std::chrono::milliseconds idle = options_.idle_timeout;
  const auto& res = op.parser->get();
  if (auto it = res.find("keep-alive"); it != res.end()) {
    if (std::optional<std::chrono::milliseconds> server = ServerKeepAlive(it->value())) {
      idle = std::min(idle, *server);
    }
  }
  if (idle <= std::chrono::milliseconds::zero()) return false;
  auto c = std::make_unique<Idle>();
  op.Lowest().expires_never();
  MoveStream(op.plain, c->plain);
  MoveStream(op.secure, c->secure);
  c->expires = std::chrono::steady_clock::now() + idle;
  if (idle_.size() >= kMaxIdle) idle_.erase(idle_.begin());  // the oldest is closed
  idle_.push_back(std::move(c));
  CloseExpiredIdle();
  return true;
}

void HttpUpstream::CloseExpiredIdle() {
  const auto now = std::chrono::steady_clock::now();
  std::erase_if(idle_, [&](const std::unique_ptr<Idle>& c) { return c->expires <= now; });
  if (idle_.empty() || idle_timer_armed_) return;
  auto first = idle_.front()->expires;
  for (const auto& c : idle_) first = std::min(first, c->expires);
  idle_timer_armed_ = true;
  idle_timer_.expires_at(first);
  idle_timer_.async_wait([this](beast::error_code ec) {
    idle_timer_armed_ = false;
    if (!ec) CloseExpiredIdle();
  });
}

void HttpUpstream::ListenEnded(std::chrono::steady_clock::time_point started) {
  listening_ = false;
  if (closing_.load() || closed_reported_) return;
  // A stream that stayed up a while was healthy: start over at the shortest delay.
  if (std::chrono::steady_clock::now() - started >= kListenHealthy) {
    listen_backoff_ = kListenRetryMin;
  }
  const std::chrono::milliseconds delay = listen_backoff_;
  listen_backoff_ = std::min(listen_backoff_ * 2, kListenRetryMax);
  Log("reopening the upstream's server stream in " + std::to_string(delay.count()) + " ms");
  listen_retry_.expires_after(delay);
  listen_retry_.async_wait([this](beast::error_code ec) {
    if (!ec) StartListening();
  });
}

void HttpUpstream::StartListening() {
  if (listening_ || !options_.listen || closed_reported_ || closing_.load()) return;
  listening_ = true;
  auto op = std::make_shared<Op>(this, Op::Kind::kListen);
  op->req.method(http::verb::get);
  op->req.set(http::field::accept, "text/event-stream");
  Begin(op);
}

void HttpUpstream::Send(const json::value& message) {
  std::optional<std::string> authorization;
  std::string refused;
  if (options_.authorization) {
    const json::value* m =
        message.is_object() ? message.get_object().if_contains("method") : nullptr;
    if (m != nullptr && m->is_string() && m->get_string() == "tools/call") {
      refused = "a tool call to this upstream needs its own credential; it was not sent";
    } else if (auto a = options_.authorization(); a.ok()) {
      authorization = std::move(*a);
    } else {
      refused = a.error().message;
    }
  }
  Post(message, std::move(authorization), std::move(refused), false);
}

void HttpUpstream::SendAuthorized(const json::value& message, std::string authorization) {
  Post(message, std::move(authorization), "", true);
}

void HttpUpstream::Post(const json::value& message, std::optional<std::string> authorization,
                        std::string refused, bool per_call) {
  if (closing_.load()) return;
  auto op = std::make_shared<Op>(this, Op::Kind::kPost);
  if (message.is_object()) {
    const json::object& o = message.get_object();
    if (const json::value* m = o.if_contains("method"); m != nullptr && m->is_string()) {
      op->method = std::string(m->get_string());
      if (const json::value* id = o.if_contains("id")) op->id = *id;
      NoteModern(o, *op);
      if (op->method == "notifications/cancelled") {
        const json::value* params = o.if_contains("params");
        const json::value* rid = params != nullptr && params->is_object()
                                     ? params->get_object().if_contains("requestId")
                                     : nullptr;
        if (rid != nullptr) op->cancels = *rid;
      }
    }
  }
  if (!refused.empty()) {
    // Fail closed: nothing reaches the upstream without its credential.
    net::post(ioc_, [this, op, refused] {
      if (!op->id.is_null()) {
        op->answered = true;
        Deliver(ToJsonText(ErrorResponse(op->id, kInternalError,
                                         "Interlock: not sent to the upstream: " + refused)));
      } else {
        Log("a message to the upstream was not sent: " + refused);
      }
    });
    return;
  }
  op->authorization = std::move(authorization);
  op->per_call = per_call;
  op->req.method(http::verb::post);
  op->req.set(http::field::content_type, "application/json");
  op->req.set(http::field::accept, "application/json, text/event-stream");
  op->req.body() = ToJsonText(message);
  op->req.prepare_payload();
  net::post(ioc_, [this, op] {
    if (closed_reported_) {
      if (!op->id.is_null()) op->Answer("the upstream MCP session ended");
      return;
    }
    if (!op->cancels.is_null()) {
      if (auto it = modern_ops_.find(IdKey(op->cancels)); it != modern_ops_.end()) {
        std::shared_ptr<Op> cancelled = it->second.lock();
        modern_ops_.erase(it);
        if (cancelled) cancelled->Abort();
        return;
      }
    }
    Begin(op);
  });
}

void HttpUpstream::Close() {
  std::call_once(close_once_, [this] {
    closing_.store(true);
    if (thread_.joinable()) {
      // End the upstream's session (best effort, bounded), then stop every exchange.
      auto ended = std::make_shared<std::promise<void>>();
      auto future = ended->get_future();
      net::post(ioc_, [this, ended] {
        if (session_id_.empty()) return ended->set_value();
        auto op = std::make_shared<Op>(this, Op::Kind::kDelete);
        op->done = [ended] { ended->set_value(); };
        op->req.method(http::verb::delete_);
        Begin(op);
      });
      (void)future.wait_for(options_.close_timeout);
      work_.reset();
      ioc_.stop();
      thread_.join();
    }
  });
}

}  // namespace interlock::mcp
