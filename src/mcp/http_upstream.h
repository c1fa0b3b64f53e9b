// HttpUpstream: an upstream MCP server spoken to over Streamable HTTP (MCP 2025-06-18 /
// 2025-11-25), for `url:` upstreams of the daemon (docs/mcp.md#streamable-http).
//
// Each message from the gateway is one POST to the configured URL with
// `Accept: application/json, text/event-stream`, the configured headers (credentials live
// in the daemon's config, never come from the agent), the upstream's own `Mcp-Session-Id`
// (taken from its initialize response) and `MCP-Protocol-Version` (from its
// InitializeResult). A JSON reply is one message; an SSE reply is parsed incrementally
// (SseParser) and every event's data is a message, delivered as it arrives. After the
// `notifications/initialized` POST is accepted, one GET stream is opened for the server's
// own messages (405 means it has none); when it ends or fails it is opened again after 1 s,
// doubling up to 30 s (back to 1 s after a stream that lasted 30 s), until the session
// ends. Close() sends DELETE with the session id (bounded).
//
// A request whose params._meta names the 2026-07-28 revision (the gateway stamps it for a
// modern upstream, upstream_revision.h) is sent without the session, with that
// MCP-Protocol-Version and with Mcp-Method and Mcp-Name (the tool or prompt name, the
// resource URI; Base64 sentinel where not plain ASCII) and, for tools/call, an
// `Mcp-Param-{Name}` header for every argument the tool's inputSchema marks `x-mcp-header`
// (param_headers.h), made from the arguments in the body being sent; the declarations are
// those of the latest tools/list answer this transport carried. A 4xx reply to a request whose body
// is a JSON-RPC error (a modern server's -32022, -32020, ...) is delivered as that error for
// the request's id, as it came. notifications/cancelled for a subscriptions/listen still open
// is not posted: that request's connection is closed, which is how 2026-07-28 cancels over
// HTTP.
//
// Connections are kept alive (HTTP/1.1): a POST whose reply was read to its end, with no
// `Connection: close` and nothing after it, leaves its connection idle for the next POST, at
// most `idle_timeout` (or one second less than the server's `Keep-Alive: timeout=N`, which
// Node's servers send), at most kMaxIdle of them; a connection is taken only if nothing
// arrived on it while idle (no end of stream, no stray bytes), and idle ones are closed when
// their time passes and at Close(). A message sent over a kept connection that the server
// closed before answering a byte is sent once more over a new connection, except a
// tools/call, which is never sent twice: it fails as below. The GET stream and the DELETE
// use connections of their own.
//
// Fail closed: a request whose POST fails (connect error, non-2xx, a reply cut short,
// oversized) is answered with a JSON-RPC error for its id, saying the call may or may not
// have run; a 404 once a session exists means the upstream session ended, reported as
// on_closed. https:// verifies the upstream's certificate chain (system CAs, or only
// `ca_file`) and its name, through the HttpConnector its maker hands it (Interlock's one
// outbound client, common/http_connector.h); a failed handshake fails the exchange like any
// other connection error.
// Threading: one io thread per upstream runs every exchange and every callback; Send() may
// be called from any thread and only posts to it.
#ifndef INTERLOCK_MCP_HTTP_UPSTREAM_H_
#define INTERLOCK_MCP_HTTP_UPSTREAM_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>

#include "common/http_connector.h"
#include "mcp/param_headers.h"
#include "mcp/upstream.h"

namespace interlock::mcp {

struct HttpUpstreamOptions {
  // Required (not owned; outlives the upstream): reads the URL, makes the TLS client and
  // checks the peer's name (the composition root's outbound::Connector()).
  const HttpConnector* connector = nullptr;
  std::string url;                             // http(s)://HOST[:PORT][/PATH]
  std::string ca_file;                         // https: trust only these CAs (PEM)
  std::map<std::string, std::string> headers;  // sent with every request
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds header_timeout{300000};  // until the reply's headers arrive
  std::chrono::milliseconds close_timeout{2000};     // the DELETE at Close()
  bool listen = true;                                // open the GET stream
  std::chrono::milliseconds idle_timeout{2000};      // a kept connection's idle time; 0: none
  // Upstream credentials (docs/identity.md#upstream-credentials): when set, the
  // Authorization header of every POST sent with Send() (initialize, tools/list, ...), called
  // on the sender's thread; the GET stream and the DELETE reuse the last value it gave.
  // An error fails the message closed (a request is answered with a JSON-RPC error, nothing
  // is sent). A tools/call must then come through SendAuthorized (its own credential):
  // one sent with Send() is answered with an error and not sent.
  std::function<Result<std::string>()> authorization;
};

class HttpUpstream final : public Upstream {
 public:
  // Validates the URL (http:// or https:// with a host) and loads the CAs for https;
  // connects to nothing yet.
  static Result<std::unique_ptr<HttpUpstream>> Create(HttpUpstreamOptions options);
  ~HttpUpstream() override;

  Status Start(UpstreamCallbacks callbacks) override;
  void Send(const boost::json::value& message) override;
  // As Send, with this message's own Authorization header value (a tool call's credential).
  void SendAuthorized(const boost::json::value& message, std::string authorization);
  void Close() override;

  struct Op;    // one HTTP exchange (defined in the .cc)
  struct Idle;  // a kept-alive connection waiting for the next POST (defined in the .cc)

 private:
  HttpUpstream(HttpUpstreamOptions options, HttpTarget target,
               std::unique_ptr<boost::asio::ssl::context> tls);
  friend struct Op;

  void Begin(std::shared_ptr<Op> op);  // io thread
  // A request of the 2026-07-28 revision gets its own headers (Begin) and no session.
  static void NoteModern(const boost::json::object& message, Op& op);
  // A tools/list result passed to the gateway: each tool's x-mcp-header declarations (io
  // thread).
  void LearnParamHeaders(const boost::json::object& result);
  void StartListening();  // io thread
  // Keep-alive (io thread): hands `op` the newest idle connection still open (false: none),
  // or keeps the finished `op`'s connection for the next POST (false: it is to be closed).
  bool TakeIdle(Op& op);
  bool KeepIdle(Op& op);
  void CloseExpiredIdle();
  // The GET stream opened at `started` ended or failed: schedule the next one (io thread).
  void ListenEnded(std::chrono::steady_clock::time_point started);
  void Deliver(std::string_view message, const boost::json::value* related = nullptr);
  void ReportClosed(std::string why);
  // Queues one POST: `authorization` for its header (per_call: a tool call's own), or
  // `refused` (not empty) answers it with that error instead of sending it.
  void Post(const boost::json::value& message, std::optional<std::string> authorization,
            std::string refused, bool per_call);

  const HttpUpstreamOptions options_;
  const std::string host_;
  const std::string port_;
  const std::string target_;
  const std::string host_header_;
  const std::unique_ptr<boost::asio::ssl::context> tls_;  // null for http://
  boost::asio::io_context ioc_;
  std::unique_ptr<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread thread_;
  UpstreamCallbacks cb_;
  std::atomic<bool> closing_{false};
  bool closed_reported_ = false;  // io thread
  bool listening_ = false;        // io thread
  static constexpr std::chrono::milliseconds kListenRetryMin{1000};
  static constexpr std::chrono::milliseconds kListenRetryMax{30000};
  static constexpr std::chrono::seconds kListenHealthy{30};
  std::chrono::milliseconds listen_backoff_{kListenRetryMin};      // io thread
  boost::asio::steady_timer listen_retry_;                         // io thread
  std::string session_id_;                                         // io thread
  std::string protocol_version_;                                   // io thread
  std::string last_authorization_;                                 // io thread
  std::map<std::string, std::vector<ParamHeader>> param_headers_;  // io thread, by tool
  // Modern subscriptions/listen requests open, by IdKey of their id: notifications/cancelled
  // for one closes its exchange instead of being posted (io thread).
  std::map<std::string, std::weak_ptr<Op>> modern_ops_;
  static constexpr size_t kMaxIdle = 4;
  std::vector<std::unique_ptr<Idle>> idle_;  // io thread, oldest first
  boost::asio::steady_timer idle_timer_;     // io thread: closes the idle ones that expired
  bool idle_timer_armed_ = false;            // io thread
  std::once_flag close_once_;
};

}  // namespace interlock::mcp

#endif  // INTERLOCK_MCP_HTTP_UPSTREAM_H_
