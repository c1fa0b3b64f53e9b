// HttpServer: the async HTTP/1.1 listener (Boost.Beast) the daemon's API is served on.
//
// N io threads, each running its own io_context (no cross-thread wakeups between them);
// connections are spread round-robin and each lives on its own strand. The server
// owns transport concerns only (keep-alive, TLS, limits, timeouts, connection cap,
// graceful shutdown) and hands every complete request to a RequestHandler. Hostile
// clients get answers instead of resources: 413 for a body over max_body_bytes, 431 for
// headers over max_header_bytes, 408 and close for a request not complete within
// read_timeout (slowloris), 503 and close beyond max_connections.
//
// Streamed responses (Server-Sent Events for MCP): Responder::StartStream writes the
// header at once and returns a ResponseStream; each Write() goes out as one chunk
// (Transfer-Encoding: chunked) as soon as the connection can take it. A live stream has no
// idle or overall timeout (each chunk write still has write_timeout); it ends with End(),
// when the client disconnects (seen at once on plain TCP, at the next write on TLS), on a
// write error or timeout, or at shutdown (Shutdown() ends every stream and lets the last
// chunk out). The stream's on_close callback runs exactly once in every one of these cases.
//
// Threading: Handle() is called on the connection's strand and must not block; a
// Responder may be used from any thread, exactly once (Send or StartStream), and posts the
// write back to the strand. ResponseStream methods are safe from any thread; on_close runs
// on the strand and must not block. Start() and Shutdown() are called from a non-io thread
// (main). The exchange types (HttpRequest, Responder, ResponseStream, RequestHandler) are
// http/exchange.h's, the library both HTTP doors share.
#ifndef INTERLOCK_DOORS_HTTP_API_HTTP_SERVER_H_
#define INTERLOCK_DOORS_HTTP_API_HTTP_SERVER_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "core/app/door_metrics.h"
#include "http/exchange.h"
#include "interlock/result.h"

namespace interlock::server {

struct ServerLimits {
  size_t max_body_bytes = 1 << 20;
  size_t max_header_bytes = 8 * 1024;
  std::chrono::milliseconds read_timeout{10'000};  // whole request, first byte to last
  std::chrono::milliseconds idle_timeout{60'000};  // keep-alive wait between requests
  std::chrono::milliseconds write_timeout{10'000};
  int max_connections = 4096;
  std::chrono::milliseconds shutdown_grace{10'000};  // in-flight requests at SIGTERM
};

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8181;  // 0: any free port (tests)
  int threads = 0;       // 0: hardware concurrency
  ServerLimits limits;
  std::string tls_cert_file;  // PEM; TLS is on when both are set
  std::string tls_key_file;
};

// Request framing (RFC 9112 section 6): the only transfer coding a request may carry is
// exactly "chunked" (one Transfer-Encoding field; the name compared case-insensitively, as
// transfer-coding names are), never together with Content-Length and never on HTTP/1.0.
// Anything else (`gzip, chunked`, `chunked, identity`, `identity`, a repeated field) leaves
// the body's length to guesswork, the ground request smuggling grows on: the server answers
// 400 with the returned reason and closes the connection (section 6.3). nullopt: framed.
std::optional<std::string> RequestFramingError(const HttpRequest& request);

// Appends `res`'s status line and header fields, with the blank line that ends them: the
// bytes beast::http's serializer writes before the body of a response that is not chunked
// (HttpServerTest.ResponseHeadIsTheSerializersHead). The server writes these and the body.
void AppendResponseHead(const HttpResponse& res, std::string* out);

// A JSON error body {"code": ..., "reason": ...} with the given status.
HttpResponse JsonError(unsigned status, std::string_view code, std::string_view reason,
                       unsigned version = 11);

class HttpServer {
 public:
  // `handler` and `metrics` must outlive the server.
  HttpServer(HttpServerOptions options, RequestHandler* handler, core::DoorMetrics* metrics);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Loads TLS material, binds, listens and starts the io threads.
  Status Start();
  boost::asio::ip::tcp::endpoint local_endpoint() const { return endpoint_; }
  // The first io thread's context (signals, the acceptor).
  boost::asio::io_context& io_context() { return *iocs_.front(); }
  bool tls() const { return !options_.tls_cert_file.empty(); }

  // Stops accepting, closes idle connections, lets in-flight requests finish for up to
  // shutdown_grace, then stops the io threads. Idempotent; never call from an io thread.
  void Shutdown();

  struct Shared;  // state shared with connections (defined in the .cc)

 private:
  HttpServerOptions options_;
  std::vector<std::unique_ptr<boost::asio::io_context>> iocs_;  // one per io thread
  std::shared_ptr<Shared> shared_;
  boost::asio::ip::tcp::endpoint endpoint_;
  std::vector<std::thread> threads_;
  std::atomic<bool> shut_down_{false};
};

}  // namespace interlock::server

#endif  // INTERLOCK_DOORS_HTTP_API_HTTP_SERVER_H_
